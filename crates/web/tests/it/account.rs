//! The own account page (アカウント, issue 13): the password changed with the current one and
//! the same policy as everywhere, every mistake at once, every session ended by it; a second
//! factor enrolled from the page (QR code and key, confirmed by a code); a session that must
//! enrol first is sent there; API tokens created (shown once) and revoked; an administrator
//! resets a lost password. On every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

const NEW_PASSWORD: &str = "朝の散歩で見つけた長い合言葉";

async fn login_with(base: &str, login: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_password_is_changed_on_the_account_page_and_every_session_ends() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let here = w.login("worker").await;
        let elsewhere = w.login("worker").await;
        let (s, page) = here.page("/account").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("この端末"), "{page}");
        assert_eq!(page.matches("value=\"end_session\"").count(), 1, "{page}");

        // Two mistakes at once, each beside its field; nothing changes.
        let (s, _, page) = here
            .form(
                "/account",
                &[
                    ("form", "password".into()),
                    ("new_password", NEW_PASSWORD.into()),
                    ("new_password_again", "違う合言葉".into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(r#"id="f-current_password-err""#), "{page}");
        assert!(page.contains(r#"id="f-new_password_again-err""#), "{page}");
        assert!(page.contains("2か所の入力を直してください"), "{page}");

        // The wrong current password, beside its field.
        let (s, _, page) = here
            .form(
                "/account",
                &[
                    ("form", "password".into()),
                    ("current_password", "wrong password".into()),
                    ("new_password", NEW_PASSWORD.into()),
                    ("new_password_again", NEW_PASSWORD.into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(r#"id="f-current_password-err""#), "{page}");
        assert!(page.contains("現在のパスワードが違います。"), "{page}");

        // The policy of everywhere: a common password is refused beside the new one.
        let (s, _, page) = here
            .form(
                "/account",
                &[
                    ("form", "password".into()),
                    ("current_password", PASSWORD.into()),
                    ("new_password", "password1".into()),
                    ("new_password_again", "password1".into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(r#"id="f-new_password-err""#), "{page}");
        assert!(page.contains("password.too_common"), "{page}");
        // Nothing was typed back into a password field.
        assert!(!page.contains(r#"value="password1""#), "{page}");
        assert_eq!(
            login_with(&w.base, &w.login_name("worker"), PASSWORD).await,
            StatusCode::OK
        );

        let (s, at, page) = here
            .form(
                "/account",
                &[
                    ("form", "password".into()),
                    ("current_password", PASSWORD.into()),
                    ("new_password", NEW_PASSWORD.into()),
                    ("new_password_again", NEW_PASSWORD.into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(at, "/login?changed=password");
        assert!(
            page.contains("新しいパスワードでログインし直してください。"),
            "{page}"
        );
        // Every session has ended, elsewhere too; only the new password logs in.
        assert_eq!(here.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(elsewhere.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        let login = w.login_name("worker");
        assert_eq!(
            login_with(&w.base, &login, PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login_with(&w.base, &login, NEW_PASSWORD).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_second_factor_is_enrolled_from_the_account_page() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        // The tenant requires a second factor of support workers.
        let (_, mut settings) = admin.get("/api/settings").await;
        settings["totp_required_roles"] = json!(["support_worker"]);
        let (s, b) = admin
            .send(reqwest::Method::PUT, "/api/settings", settings)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");

        // Logged in without one, the worker is sent to the account page and may do only that.
        let worker = w.login("worker").await;
        let (s, page) = worker.page("/").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains(r#"id="setup-required""#), "{page}");
        assert!(!page.contains("パスワードの変更"), "{page}");
        let (s, _) = worker.page("/cases").await;
        assert_eq!(s, StatusCode::OK, "redirected to the account page");

        let (s, at, page) = worker
            .form("/account", &[("form", "totp_start".into())])
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(at, "/account");
        assert!(page.contains("<svg"), "a QR code: {page}");
        let secret = page
            .split(r#"<code id="totp-secret">"#)
            .nth(1)
            .and_then(|rest| rest.split("</code>").next())
            .unwrap()
            .to_owned();
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            30,
            totp_rs::Secret::Encoded(secret).to_bytes().unwrap(),
            None,
            "worker".into(),
        )
        .unwrap();

        // A wrong code: beside the field, the key still shown.
        let (s, _, page) = worker
            .form(
                "/account",
                &[("form", "totp_confirm".into()), ("code", "000000".into())],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(r#"id="f-code-err""#), "{page}");
        assert!(page.contains(r#"id="totp-secret""#), "{page}");

        let now = jiff::Timestamp::now().as_second() as u64;
        let (s, at, page) = worker
            .form(
                "/account",
                &[
                    ("form", "totp_confirm".into()),
                    ("code", totp.generate(now)),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(at, "/account?saved=totp");
        assert!(page.contains("設定済みです。"), "{page}");
        // The session is whole again.
        let (s, page) = worker.page("/cases").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("<h1>支援ケース一覧"), "{page}");
        let (_, me) = worker.get("/api/me").await;
        assert_eq!(me["totp_enabled"], true);
    }
}

#[tokio::test]
async fn an_api_token_is_shown_once_and_revoked_and_other_logins_end_from_the_account_page() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        // No purpose: refused beside the field.
        let (s, _, page) = worker
            .form("/account", &[("form", "create_token".into())])
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(r#"id="f-label-err""#), "{page}");

        let (s, _, page) = worker
            .form(
                "/account",
                &[("form", "create_token".into()), ("label", "集計用".into())],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let token = page
            .split(r#"<code class="wrap">"#)
            .nth(1)
            .and_then(|rest| rest.split("</code>").next())
            .unwrap()
            .to_owned();
        assert!(token.starts_with("tsu_"), "{token}");
        let bearer = |t: String| {
            let base = w.base.clone();
            async move {
                reqwest::Client::new()
                    .get(format!("{base}/api/me"))
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(bearer(token.clone()).await, StatusCode::OK);
        // Listed, and never shown again.
        let (_, page) = worker.page("/account").await;
        assert!(page.contains("集計用"), "{page}");
        assert!(!page.contains(&token), "{page}");

        let (_, tokens) = worker.get("/api/me/tokens").await;
        let id = tokens[0]["id"].as_str().unwrap().to_owned();
        let (s, at, _) = worker
            .form("/account", &[("form", "revoke_token".into()), ("id", id)])
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(at, "/account?saved=token");
        assert_eq!(bearer(token).await, StatusCode::UNAUTHORIZED);

        // The other logins end from here; this one goes on.
        let elsewhere = w.login("worker").await;
        let (s, at, page) = worker
            .form("/account", &[("form", "end_others".into())])
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(at, "/account?saved=session");
        assert_eq!(elsewhere.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(worker.get("/api/me").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn an_administrator_resets_a_lost_password() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        let worker = w.login("worker").await;
        let id = w.user_id("worker");
        // The policy applies.
        let (s, b) = admin
            .send(
                reqwest::Method::PUT,
                &format!("/api/users/{id}/password"),
                json!({"password": "abc"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["code"], "password.too_short");
        // Not for the administrator's own account (that needs the current password).
        let (s, b) = admin
            .send(
                reqwest::Method::PUT,
                &format!("/api/users/{}/password", w.user_id("admin")),
                json!({"password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["code"], "password.reset_self");

        // Through the administration page.
        let (s, _, page) = admin
            .form(
                "/admin",
                &[
                    ("form", "password_reset".into()),
                    ("reset_user", id.to_string()),
                    ("reset_password", NEW_PASSWORD.into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(worker.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        let login = w.login_name("worker");
        assert_eq!(
            login_with(&w.base, &login, PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login_with(&w.base, &login, NEW_PASSWORD).await,
            StatusCode::OK
        );
        let (_, audit) = admin.get("/api/audit?limit=50").await;
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["action"] == "password.reset" && r["object_id"] == id.to_string()),
            "{audit}"
        );

        // The audit view: the administrator's actions, as the auditor reads them.
        let auditor = w.login("auditor").await;
        let (s, page) = auditor
            .page(&format!("/admin/audit?user={}", w.user_id("admin")))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("パスワードのリセット <code>password.reset</code>"),
            "{page}"
        );
        // The worker's own actions are not the administrator's.
        assert!(!page.contains("<code>case.read</code>"), "{page}");
        // The same entries as a file for an inspection: the filters carried, the action in
        // words beside its code; the export is itself in the trail.
        let admin_id = w.user_id("admin").to_string();
        assert!(
            page.contains(&format!("href=\"/admin/audit.csv?user={admin_id}\"")),
            "{page}"
        );
        let (s, csv) = auditor
            .page(&format!("/admin/audit.csv?user={admin_id}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        assert!(
            csv.starts_with("\u{feff}日時,職員,操作,操作のコード,対象,相談者の数,根拠,詳細\r\n"),
            "{csv}"
        );
        assert!(
            csv.contains(",パスワードのリセット,password.reset,"),
            "{csv}"
        );
        assert!(!csv.contains(",case.read,"), "{csv}");
        let (s, _) = auditor.page("/admin/audit.csv?from=8年1月1日").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, trail) = auditor
            .get(&format!("/api/audit?user={}", w.user_id("auditor")))
            .await;
        assert!(
            trail
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["action"] == "audit.exported"),
            "{trail}"
        );
        let (s, page) = auditor.page(&format!("/admin/audit?user={id}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!page.contains("<code>password.reset</code>"), "{page}");
        assert!(page.contains("<code>login.succeeded</code>"), "{page}");
        // A day that is not one: said beside the field, nothing listed.
        let (s, page) = auditor.page("/admin/audit?from=8年1月1日").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains(r#"id="f-from-err""#), "{page}");
        assert!(page.contains(r#"id="audit-empty""#), "{page}");
        // Not for those who work cases.
        let lead = w.login("lead").await;
        let (s, _) = lead.page("/admin/audit").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = lead.page("/admin/audit.xlsx").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}
