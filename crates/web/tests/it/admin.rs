//! Administration through the HTTP API on every backend: organisations, staff accounts, and
//! households.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn administrators_manage_organisations_and_users() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        let worker = w.login("worker").await;

        // Organisations: created by administrators only, names unique within the tenant.
        let (s, body) = admin
            .post(
                "/api/organisations",
                json!({"name": "地域包括支援センター", "kind": "related_agency"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let org = body["id"].as_str().unwrap().to_owned();
        let (s, body) = admin
            .post(
                "/api/organisations",
                json!({"name": "地域包括支援センター", "kind": "related_agency"}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("organisation.name_taken"))
        );
        let (s, body) = admin
            .post(
                "/api/organisations",
                json!({"name": "  ", "kind": "related_agency"}),
            )
            .await;
        assert_eq!(body["code"], "organisation.invalid_name", "{s}");
        let (s, body) = worker
            .post(
                "/api/organisations",
                json!({"name": "勝手な組織", "kind": "related_agency"}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("auth.forbidden"))
        );
        let (_, orgs) = worker.get("/api/organisations").await;
        assert!(
            orgs.as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == org.as_str())
        );

        // Users: checked login, password and organisation; logins unique.
        let login = format!("houkatsu-{}", uuid::Uuid::now_v7().simple());
        let new_user = json!({"login": login, "display_name": "包括 三郎", "role": "related_agency_member",
            "org_id": org, "password": "long enough password"});
        let mut short = new_user.clone();
        short["password"] = json!("short");
        let (_, body) = admin.post("/api/users", short).await;
        assert_eq!(body["code"], "password.too_short");
        let mut bad_org = new_user.clone();
        bad_org["org_id"] = json!(uuid::Uuid::now_v7());
        let (_, body) = admin.post("/api/users", bad_org).await;
        assert_eq!(body["code"], "organisation.unknown");
        let mut bad_login = new_user.clone();
        bad_login["login"] = json!("名前");
        let (_, body) = admin.post("/api/users", bad_login).await;
        assert_eq!(body["code"], "user.invalid_login");
        let (s, _) = worker.post("/api/users", new_user.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, body) = admin.post("/api/users", new_user.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let user_id = body["id"].as_str().unwrap().to_owned();
        let (s, body) = admin.post("/api/users", new_user.clone()).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("user.login_taken"))
        );
        let (s, users) = admin.get("/api/users").await;
        assert_eq!(s, StatusCode::OK);
        let listed = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == user_id.as_str())
            .unwrap();
        assert_eq!(listed["role"], "related_agency_member");
        assert!(
            listed.get("password_hash").is_none(),
            "no hash leaves the server"
        );
        let (s, _) = worker.get("/api/users").await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // The new user can log in and acts in the new organisation.
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = client
            .post(format!("{}/api/login", w.base))
            .json(&json!({"login": login, "password": "long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let me: serde_json::Value = client
            .get(format!("{}/api/me", w.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["org_id"], org.as_str());

        // Changing the role takes effect; disabling ends the user's sessions at once.
        let (s, body) = admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{user_id}"),
                json!({"role": "support_worker"}),
            )
            .await;
        assert_eq!(
            (s, body["role"].as_str()),
            (StatusCode::OK, Some("support_worker"))
        );
        let me: serde_json::Value = client
            .get(format!("{}/api/me", w.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["role"], "support_worker");
        let (s, _) = admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{user_id}"),
                json!({"disabled": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let res = client
            .get(format!("{}/api/me", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = client
            .post(format!("{}/api/login", w.base))
            .json(&json!({"login": login, "password": "long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // An administrator cannot lock themselves out, and cannot reach another tenant's users.
        let me = w.user_id("admin");
        let (_, body) = admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{me}"),
                json!({"disabled": true}),
            )
            .await;
        assert_eq!(body["code"], "user.cannot_change_self");
        let (s, _) = admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{}", uuid::Uuid::now_v7()),
                json!({"disabled": true}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        db.finish().await;
    }
}

#[tokio::test]
async fn households_show_visible_members() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let stranger = w.login("stranger").await;
        let (s, body) = worker
            .post("/api/persons", json!({"details": {"name": "世帯 一郎"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let first = body["id"].as_str().unwrap().to_owned();
        let (_, p) = worker.get(&format!("/api/persons/{first}")).await;
        let household = p["household_id"].as_str().unwrap().to_owned();
        let (s, body) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "世帯 花子"}, "household_id": household}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let (s, h) = worker.get(&format!("/api/households/{household}")).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        let names: Vec<&str> = h["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"世帯 花子"));
        // Another organisation neither sees the household nor can join it.
        let (s, _) = stranger.get(&format!("/api/households/{household}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, body) = stranger
            .post(
                "/api/persons",
                json!({"details": {"name": "他人"}, "household_id": household}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("household.not_found")
            )
        );
        db.finish().await;
    }
}

/// The administration page: its forms create organisations and accounts and change the
/// tenant's settings; a refusal comes back on the page with its reason, the password never
/// echoed.
#[tokio::test]
async fn the_administration_page_changes_organisations_users_and_settings() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        let page = |form: Vec<(&'static str, String)>| {
            let admin = admin.clone();
            let base = w.base.clone();
            async move {
                let mut pairs = form;
                pairs.push(("csrf_token", admin.csrf.clone()));
                let res = admin
                    .client
                    .post(format!("{base}/admin"))
                    .form(&pairs)
                    .send()
                    .await
                    .unwrap();
                (res.status(), res.text().await.unwrap())
            }
        };
        let (s, html) = page(vec![
            ("form", "organisation".into()),
            ("org_name", "地域包括支援センター".into()),
            ("org_kind", "related_agency".into()),
        ])
        .await;
        assert_eq!(s, StatusCode::OK, "followed the redirect to /admin");
        assert!(html.contains("地域包括支援センター"));
        let (_, orgs) = admin.get("/api/organisations").await;
        assert!(orgs.to_string().contains("地域包括支援センター"));

        // A password too short: refused with the reason, the other fields kept, the password not.
        let (s, html) = page(vec![
            ("form", "user".into()),
            ("login", "new-worker".into()),
            ("display_name", "新しい相談支援員".into()),
            ("role", "support_worker".into()),
            ("org_id", w.agency.to_string()),
            ("password", "short".into()),
        ])
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("パスワード") && html.contains("value=\"新しい相談支援員\""));
        assert!(!html.contains("value=\"short\""));

        let mut settings: Vec<(&'static str, String)> = vec![
            ("form", "settings".into()),
            ("monitoring_interval_months", "3".into()),
            ("first_monitoring_within_days", "14".into()),
            ("min_contact_attempts_before_suspension", "2".into()),
            ("suspension_days_before_termination", "90".into()),
            ("due_horizon_days", "14".into()),
            ("plan_end_warning_days", "30".into()),
            ("stuck_after_days", "45".into()),
            ("token_days", "30".into()),
        ];
        let (s, _) = page(settings.clone()).await;
        assert_eq!(s, StatusCode::OK);
        let (_, got) = admin.get("/api/settings").await;
        assert_eq!(got["monitoring_interval_months"], 3);
        assert_eq!(got["stuck_after_days"], 45);
        assert_eq!(got["token_days"], 30);
        // Out of range: the settings' own check answers on the page; nothing changes.
        settings[1].1 = "13".into();
        let (s, html) = page(settings).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("モニタリング間隔は1〜12か月"));
        let (_, got) = admin.get("/api/settings").await;
        assert_eq!(got["monitoring_interval_months"], 3);

        // An account's role changes on the page; stopping it ends its sessions at once.
        let worker = w.login("worker").await;
        let change = |user: String, role: &str, state: &str| {
            vec![
                ("form", "user_change".into()),
                ("change_user", user),
                ("change_role", role.to_owned()),
                ("change_org", String::new()),
                ("change_state", state.to_owned()),
            ]
        };
        let worker_id = w.user_id("worker").to_string();
        let (s, _) = page(change(worker_id.clone(), "lead_support_worker", "keep")).await;
        assert_eq!(s, StatusCode::OK);
        let (_, users) = admin.get("/api/users").await;
        let row = |users: &serde_json::Value| {
            users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["id"] == worker_id.as_str())
                .unwrap()
                .clone()
        };
        assert_eq!(row(&users)["role"], "lead_support_worker");
        assert_eq!(row(&users)["disabled"], false);
        assert_eq!(worker.get("/api/me").await.0, StatusCode::OK);
        let (s, _) = page(change(worker_id.clone(), "", "disabled")).await;
        assert_eq!(s, StatusCode::OK);
        let (_, users) = admin.get("/api/users").await;
        assert_eq!(row(&users)["disabled"], true);
        assert_eq!(row(&users)["role"], "lead_support_worker");
        assert_eq!(worker.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        // Not one's own account: the reason is on the page.
        let (s, html) = page(change(w.user_id("admin").to_string(), "", "disabled")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("user.cannot_change_self"), "{html}");
        db.finish().await;
    }
}

/// The code lists' form as the page posts it: each 主訴 and each statutory service as a row.
fn code_form(
    problems: &[(&str, &str)],
    services: &serde_json::Value,
) -> Vec<(&'static str, String)> {
    let mut form = vec![("form", "codes".to_owned())];
    for (code, name) in problems {
        form.push(("pp_code", (*code).to_owned()));
        form.push(("pp_name", (*name).to_owned()));
    }
    for (i, s) in services.as_array().unwrap().iter().enumerate() {
        form.push(("ss_code", s["code"].as_str().unwrap().to_owned()));
        form.push(("ss_name", s["name"].as_str().unwrap().to_owned()));
        if s["needs_decision"] == true {
            form.push(("ss_decision", i.to_string()));
        }
        if s["quick_procedure"] == true {
            form.push(("ss_quick", i.to_string()));
        }
    }
    form
}

#[tokio::test]
async fn administrators_rename_and_add_to_the_code_lists_but_never_remove_a_code() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        let (_, settings) = admin.get("/api/settings").await;
        let current: Vec<(String, String)> = settings["presenting_problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["code"].as_str().unwrap().to_owned(),
                    p["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let services = settings["statutory_services"].clone();
        let (s, page) = admin.page("/admin").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains(r#"name="pp_code" value="debt""#), "{page}");

        // Renamed and one added.
        let mut problems: Vec<(&str, &str)> = current
            .iter()
            .map(|(c, n)| {
                (
                    c.as_str(),
                    if c == "debt" {
                        "借金の返済"
                    } else {
                        n.as_str()
                    },
                )
            })
            .collect();
        problems.push(("gambling", "ギャンブルの問題"));
        problems.push(("", ""));
        let (s, _, page) = admin.form("/admin", &code_form(&problems, &services)).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let (_, after) = admin.get("/api/settings").await;
        let list = after["presenting_problems"].as_array().unwrap();
        assert_eq!(list.len(), current.len() + 1, "{after}");
        assert!(list.contains(&json!({"code": "debt", "name": "借金の返済"})));
        assert!(list.contains(&json!({"code": "gambling", "name": "ギャンブルの問題"})));
        assert_eq!(after["statutory_services"], services, "untouched");
        // The intake form offers the new one.
        let worker = w.login("worker").await;
        let person = worker.person(json!({"name": "選択 肢子"})).await;
        let (_, page) = worker.page(&format!("/persons/{person}/cases/new")).await;
        assert!(page.contains("ギャンブルの問題"), "{page}");
        assert!(page.contains("借金の返済"), "{page}");

        // A code left out: refused beside the lists, nothing changed.
        let without: Vec<(&str, &str)> = problems
            .iter()
            .copied()
            .filter(|(c, _)| *c != "other")
            .collect();
        let (s, _, page) = admin.form("/admin", &code_form(&without, &services)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("settings.code_removed"), "{page}");
        assert!(page.contains("（other）"), "{page}");
        // A code that is not one.
        let mut bad = problems.clone();
        bad.push(("ギャンブル", "全角のコード"));
        let (s, _, page) = admin.form("/admin", &code_form(&bad, &services)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("settings.invalid"), "{page}");
        let (_, last) = admin.get("/api/settings").await;
        assert_eq!(last, after);
    }
}
