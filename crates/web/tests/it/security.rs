//! Accounts and the audit trail through HTTP, on every backend: the tamper-evident chain,
//! fail-closed auditing, login throttling, session expiry and revocation, TOTP, CSRF, scoped
//! API tokens, security headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_person(api: &Api, name: &str) -> String {
    let (s, body) = api
        .post(
            "/api/persons",
            json!({"details": {"name": name, "kana": "テスト"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn new_case(api: &Api, person: &str) -> String {
    let (s, body) = api
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {
            "received_on": day(-10), "route": "municipal_department",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "high"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Some activity, so that the chain has a few dozen entries.
async fn activity(w: &World) {
    let worker = w.login("worker").await;
    let person = new_person(&worker, "監査 太郎").await;
    let case = new_case(&worker, &person).await;
    for _ in 0..3 {
        worker.get(&format!("/api/cases/{case}")).await;
        worker.get(&format!("/api/persons/{person}")).await;
    }
}

async fn chain_error(db: &TestDb) -> String {
    db.store.audit_verify().await.unwrap().unwrap_err()
}

#[tokio::test]
async fn the_audit_chain_names_the_first_tampered_entry() {
    // Modified.
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        let n = db.store.audit_verify().await.unwrap().unwrap();
        assert!(n >= 10, "{n}");
        db.drop_audit_triggers().await;
        db.exec("UPDATE audit_log SET detail = 'edited' WHERE seq = 7")
            .await
            .unwrap();
        let e = chain_error(&db).await;
        assert!(
            e.contains("entry 7") && e.contains("modified"),
            "{}: {e}",
            db.name
        );
        db.discard().await;
    }
    // Deleted (middle, and the tail).
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        db.drop_audit_triggers().await;
        db.exec("DELETE FROM audit_log WHERE seq = 5")
            .await
            .unwrap();
        let e = chain_error(&db).await;
        assert!(e.contains("entry 5 is missing"), "{}: {e}", db.name);
        db.discard().await;
    }
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        db.drop_audit_triggers().await;
        db.exec("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
            .await
            .unwrap();
        let e = chain_error(&db).await;
        assert!(e.contains("missing"), "{}: {e}", db.name);
        db.discard().await;
    }
    // Inserted: later entries renumbered to make room for a forged one at 6.
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        db.drop_audit_triggers().await;
        db.exec("UPDATE audit_log SET seq = seq + 1000000 WHERE seq >= 6")
            .await
            .unwrap();
        db.exec("UPDATE audit_log SET seq = seq - 999999 WHERE seq >= 1000000")
            .await
            .unwrap();
        db.exec(
            "INSERT INTO audit_log (seq, at, action, subjects, prev_hash, hash) \
             SELECT 6, at, 'case.read', '[]', hash, hash FROM audit_log WHERE seq = 5",
        )
        .await
        .unwrap();
        let e = chain_error(&db).await;
        assert!(e.contains("entry 6"), "{}: {e}", db.name);
        db.discard().await;
    }
    // Reordered: entries 8 and 9 swapped.
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        db.drop_audit_triggers().await;
        db.exec("UPDATE audit_log SET seq = 1000008 WHERE seq = 8")
            .await
            .unwrap();
        db.exec("UPDATE audit_log SET seq = 8 WHERE seq = 9")
            .await
            .unwrap();
        db.exec("UPDATE audit_log SET seq = 9 WHERE seq = 1000008")
            .await
            .unwrap();
        let e = chain_error(&db).await;
        assert!(e.contains("entry 8"), "{}: {e}", db.name);
        db.discard().await;
    }
}

#[tokio::test]
async fn the_audit_log_refuses_changes_and_an_untouched_chain_verifies() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        assert!(db.exec("UPDATE audit_log SET detail = 'x'").await.is_err());
        assert!(db.exec("DELETE FROM audit_log").await.is_err());
        db.finish().await;
    }
}

#[tokio::test]
async fn retention_purges_old_entries_and_the_rest_still_verifies() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        activity(&w).await;
        let cut = jiff::Timestamp::now();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        activity(&w).await;
        let before = db
            .store
            .audit_query(&tsunagu_store::AuditQuery {
                limit: 100_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .len();
        let purged = db
            .store
            .audit_purge(cut, &tsunagu_store::AuditEntry::new("audit.purged"))
            .await
            .unwrap();
        assert!(purged > 0);
        let rows = db
            .store
            .audit_query(&tsunagu_store::AuditQuery {
                limit: 100_000,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            rows.len() as u64,
            before as u64 - purged + 1,
            "the purge itself is recorded"
        );
        assert!(
            rows.iter()
                .all(|r| r.row.at.as_str() >= tsunagu_store::timestamp_text(cut).as_str())
        );
        assert_eq!(rows.last().unwrap().row.action, "audit.purged");
        assert!(
            db.store.audit_verify().await.unwrap().is_ok(),
            "the rest of the chain verifies"
        );
        // Only purged entries may go: the newest cannot be deleted, the anchor cannot go back.
        assert!(
            db.exec("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
                .await
                .is_err()
        );
        assert!(db.exec("UPDATE audit_anchor SET seq = 1").await.is_err());
        activity(&w).await;
        assert!(db.store.audit_verify().await.unwrap().is_ok());

        // Removing entries by moving the anchor by hand, without a recorded purge, is found.
        db.drop_audit_triggers().await;
        let first = rows.first().unwrap().row.seq + 2;
        db.exec(&format!("UPDATE audit_anchor SET seq = {first}, hash = (SELECT hash FROM audit_log WHERE seq = {first})")).await.unwrap();
        db.exec(&format!("DELETE FROM audit_log WHERE seq <= {first}"))
            .await
            .unwrap();
        let finding = chain_error(&db).await;
        assert!(finding.contains("without a recorded purge"), "{finding}");
        db.discard().await;
    }
}

#[tokio::test]
async fn reads_and_writes_are_audited_with_identifiers_only() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let hw = w.login("hw").await;
        let admin = w.login("admin").await;
        let person = new_person(&worker, "秘密 花子").await;
        let case = new_case(&worker, &person).await;
        // Consent to Hello Work, then Hello Work joins the team and reads on that basis.
        worker
            .consent(&person, &[w.hellowork], &day(-1), None)
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        let (s, _) = hw.get(&format!("/api/cases/{case}")).await;
        assert_eq!(s, StatusCode::OK);
        worker.get(&format!("/api/persons?name={}", "秘密")).await;

        let (s, rows) = admin.get(&format!("/api/audit?person={person}")).await;
        assert_eq!(s, StatusCode::OK, "{rows}");
        let rows = rows.as_array().unwrap();
        let find = |action: &str, user: tsunagu_core::UserId| {
            rows.iter()
                .find(|r| r["action"] == action && r["user_id"] == user.to_string())
                .cloned()
        };
        let read = find("case.read", w.user_id("hw")).expect("the partner's read is audited");
        assert_eq!(read["basis"], "consent");
        assert_eq!(read["object_id"], case.as_str());
        let command = find("case.command", w.user_id("worker")).expect("the write is audited");
        assert_eq!(command["basis"], "team");
        assert!(
            command["session_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert!(
            command["address"]
                .as_str()
                .is_some_and(|a| a.starts_with("127."))
        );
        let search = find("person.search", w.user_id("worker")).expect("the search is audited");
        assert_eq!(search["detail"], "fields=name results=1");
        // No personal data in the audit trail: neither the name nor the search term.
        let all = serde_json::to_string(&rows).unwrap();
        assert!(!all.contains("秘密"), "{all}");
        // Everything one user did in a time window.
        let from = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_mins(5))
            .unwrap();
        let (_, mine) = admin
            .get(&format!("/api/audit?user={}&from={from}", w.user_id("hw")))
            .await;
        assert!(
            mine.as_array()
                .unwrap()
                .iter()
                .any(|r| r["action"] == "login.succeeded")
        );
        assert!(
            mine.as_array()
                .unwrap()
                .iter()
                .all(|r| r["user_id"] == w.user_id("hw").to_string())
        );
        // Case workers cannot read the audit trail.
        let (s, _) = worker.get("/api/audit").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        db.finish().await;
    }
}

#[tokio::test]
async fn when_the_audit_cannot_be_written_the_action_fails() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let person = new_person(&worker, "失敗 次郎").await;
        let case = new_case(&worker, &person).await;
        let (_, before) = worker.get(&format!("/api/cases/{case}")).await;
        // Make every audit insert fail.
        if db.name == "sqlite" {
            db.exec("CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                .await
                .unwrap();
        } else {
            db.exec("ALTER TABLE audit_log ADD CONSTRAINT audit_broken CHECK (seq < 0) NOT VALID")
                .await
                .unwrap();
        }
        let (s, body) = worker
            .post(
                &format!("/api/cases/{case}/commands"),
                json!({"expected_version": before["version"], "command": {"action": "triage", "triaged_on": day(-9), "outcome": {"outcome": "continue"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let (s, body) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(
            s,
            StatusCode::INTERNAL_SERVER_ERROR,
            "a read is not answered unaudited: {body}"
        );
        assert!(body.get("state").is_none());
        if db.name == "sqlite" {
            db.exec("DROP TRIGGER audit_broken").await.unwrap();
        } else {
            db.exec("ALTER TABLE audit_log DROP CONSTRAINT audit_broken")
                .await
                .unwrap();
        }
        // Nothing was half-written: the case is where it was.
        let (_, after) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(after["version"], before["version"]);
        assert_eq!(after["state"]["stage"], before["state"]["stage"]);
        db.finish().await;
    }
}

fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn try_login(
    w: &World,
    client: &reqwest::Client,
    role: &str,
    password: &str,
    totp: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let login = w
        .users
        .iter()
        .find(|(l, _)| l.starts_with(&format!("{role}-")))
        .unwrap()
        .0
        .clone();
    let res = client
        .post(format!("{}/api/login", w.base))
        .json(&json!({"login": login, "password": password, "totp": totp}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().await.unwrap_or(Value::Null), retry)
}

#[tokio::test]
async fn failed_logins_are_slowed_but_the_real_user_gets_in() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let client = raw_client();
        for _ in 0..5 {
            let (s, body, _) = try_login(&w, &client, "worker", "wrong password!", None).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("auth.invalid_credentials"))
            );
        }
        // The sixth attempt, even with the right password, must wait.
        let (s, body, retry) = try_login(&w, &client, "worker", PASSWORD, None).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("auth.throttled"))
        );
        let secs: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=2).contains(&secs), "{secs}");
        // Another account is not affected.
        let (s, _, _) = try_login(&w, &client, "lead", PASSWORD, None).await;
        assert_eq!(s, StatusCode::OK);
        // After the wait, the real user logs in.
        tokio::time::sleep(std::time::Duration::from_millis(secs * 1000 + 100)).await;
        let (s, body, _) = try_login(&w, &client, "worker", PASSWORD, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        // Failed and throttled attempts are in the audit trail.
        let rows = db
            .store
            .audit_query(&tsunagu_store::AuditQuery {
                user: Some(w.user_id("worker")),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            rows.iter()
                .filter(|r| r.row.action == "login.failed")
                .count(),
            5
        );
        assert_eq!(
            rows.iter()
                .filter(|r| r.row.action == "login.throttled")
                .count(),
            1
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn sessions_expire_rotate_and_can_be_ended() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        // Rotation: every login gets a new session token.
        let plain = reqwest::Client::new();
        let mut cookies = vec![];
        for _ in 0..2 {
            let login = w
                .users
                .iter()
                .find(|(l, _)| l.starts_with("lead-"))
                .unwrap()
                .0
                .clone();
            let res = plain
                .post(format!("{}/api/login", w.base))
                .json(&json!({"login": login, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            let cookie = res
                .headers()
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
                "{cookie}"
            );
            cookies.push(cookie);
        }
        assert_ne!(cookies[0], cookies[1]);

        // Idle timeout: a session untouched for longer than the tenant's idle minutes ends.
        let a = w.login("worker").await;
        let b = w.login("worker").await;
        let (_, sessions) = a.get("/api/me/sessions").await;
        let sessions = sessions.as_array().unwrap().clone();
        assert!(sessions.len() >= 2);
        let current = sessions.iter().find(|s| s["current"] == true).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let stale = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_mins(31))
            .unwrap();
        db.exec(&format!(
            "UPDATE sessions SET last_seen_at = '{stale}' WHERE id = '{current}'"
        ))
        .await
        .unwrap();
        let (s, body) = a.get("/api/me").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("auth.session_expired"))
        );
        // Absolute lifetime.
        let (_, me) = b.get("/api/me").await;
        assert_eq!(me["role"], "support_worker");
        let past = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap();
        let (_, list) = b.get("/api/me/sessions").await;
        let b_id = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        db.exec(&format!(
            "UPDATE sessions SET expires_at = '{past}' WHERE id = '{b_id}'"
        ))
        .await
        .unwrap();
        let (s, _) = b.get("/api/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // A user ends another of their sessions; then all of them.
        let c = w.login("worker").await;
        let d = w.login("worker").await;
        let (_, list) = c.get("/api/me/sessions").await;
        let d_id = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == false)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, _) = c
            .send(
                reqwest::Method::DELETE,
                &format!("/api/me/sessions/{d_id}"),
                json!(null),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(d.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(c.get("/api/me").await.0, StatusCode::OK);
        let (s, _) = c
            .send(reqwest::Method::DELETE, "/api/me/sessions", json!(null))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(c.get("/api/me").await.0, StatusCode::UNAUTHORIZED);

        // Logout ends the session; an administrator ends all of a user's sessions.
        let e = w.login("worker").await;
        let (s, _) = e.post("/api/logout", json!(null)).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(e.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        let f = w.login("worker").await;
        let admin = w.login("admin").await;
        let (s, list) = admin
            .get(&format!("/api/users/{}/sessions", w.user_id("worker")))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(!list.as_array().unwrap().is_empty());
        let (s, _) = admin
            .send(
                reqwest::Method::DELETE,
                &format!("/api/users/{}/sessions", w.user_id("worker")),
                json!(null),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(f.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
        let worker = w.login("worker").await;
        let (s, _) = worker
            .get(&format!("/api/users/{}/sessions", w.user_id("lead")))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        db.finish().await;
    }
}

fn code_at(secret: &str, login: &str, offset_steps: i64) -> String {
    let now = jiff::Timestamp::now().as_second() + offset_steps * 30;
    tsunagu_web::auth::totp(secret, login)
        .unwrap()
        .generate(u64::try_from(now).unwrap())
}

#[tokio::test]
async fn totp_is_enrolled_then_required_and_codes_cannot_be_replayed() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let admin = w.login("admin").await;
        // Require the second factor for every role (the default of a real tenant).
        let (_, mut settings) = admin.get("/api/settings").await;
        settings["totp_required_roles"] = json!([
            "administrator",
            "lead_support_worker",
            "support_worker",
            "employment_support_worker",
            "municipal_officer",
            "related_agency_member",
            "auditor"
        ]);
        let (s, body) = admin
            .send(reqwest::Method::PUT, "/api/settings", settings)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");

        // First login: the session may only enrol.
        let client = raw_client();
        let (s, me, _) = try_login(&w, &client, "worker", PASSWORD, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["totp_setup_required"], true);
        let csrf = me["csrf_token"].as_str().unwrap().to_owned();
        let api = Api {
            client: client.clone(),
            base: w.base.clone(),
            csrf,
        };
        let (s, body) = api.get("/api/cases").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("auth.totp_setup_required"))
        );
        let (s, setup) = api.post("/api/me/totp", json!(null)).await;
        assert_eq!(s, StatusCode::OK, "{setup}");
        let secret = setup["secret"].as_str().unwrap().to_owned();
        let login = w
            .users
            .iter()
            .find(|(l, _)| l.starts_with("worker-"))
            .unwrap()
            .0
            .clone();
        let (s, body) = api
            .post("/api/me/totp/confirm", json!({"code": "000000"}))
            .await;
        assert_eq!(body["code"], "totp.invalid_code", "{s}");
        let (s, body) = api
            .post(
                "/api/me/totp/confirm",
                json!({"code": code_at(&secret, &login, -1)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["totp_enabled"], true);
        let (s, _) = api.get("/api/cases").await;
        assert_eq!(s, StatusCode::OK, "enrolling completes this session");

        // The secret is sealed at rest: the column holds no base32 secret, and a server with
        // another key cannot check codes against it.
        let stored = db
            .store
            .user(w.user_id("worker"))
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .unwrap();
        assert!(
            stored.starts_with("v1:") && !stored.contains(&secret),
            "{stored}"
        );
        let other_key = serve(tsunagu_web::AppState::new(db.store.clone())).await;
        let res = raw_client()
            .post(format!("{other_key}/api/login"))
            .json(
                &json!({"login": login, "password": PASSWORD, "totp": code_at(&secret, &login, 1)}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // From now on the code is required, must be right, and works once.
        let fresh = raw_client();
        let (s, body, _) = try_login(&w, &fresh, "worker", PASSWORD, None).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("auth.totp_required"))
        );
        let (s, body, _) = try_login(&w, &fresh, "worker", PASSWORD, Some("123456")).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("auth.totp_invalid"))
        );
        let code = code_at(&secret, &login, 0);
        let (s, body, _) = try_login(&w, &fresh, "worker", PASSWORD, Some(&code)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["totp_setup_required"], false);
        let (s, body, _) = try_login(&w, &raw_client(), "worker", PASSWORD, Some(&code)).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("auth.totp_invalid")),
            "replayed code"
        );
        // A wrong password with a right code still fails.
        let (s, _, _) = try_login(
            &w,
            &raw_client(),
            "worker",
            "not the password",
            Some(&code_at(&secret, &login, 1)),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // The administrator resets a lost second factor: the user enrols again.
        let admin_code = {
            // The admin's own session predates the setting and stays valid.
            admin
                .send(
                    reqwest::Method::DELETE,
                    &format!("/api/users/{}/totp", w.user_id("worker")),
                    json!(null),
                )
                .await
        };
        assert_eq!(admin_code.0, StatusCode::NO_CONTENT);
        let (s, me, _) = try_login(&w, &raw_client(), "worker", PASSWORD, None).await;
        assert_eq!(
            (s, me["totp_setup_required"].as_bool()),
            (StatusCode::OK, Some(true))
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_tokens_are_scoped() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let forged = Api {
            csrf: String::new(),
            ..worker.clone()
        };
        let (s, body) = forged
            .post("/api/persons", json!({"details": {"name": "偽造"}}))
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("auth.csrf"))
        );
        let wrong = Api {
            csrf: "0".repeat(64),
            ..worker.clone()
        };
        let (s, _) = wrong
            .post("/api/persons", json!({"details": {"name": "偽造"}}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, found) = worker.get("/api/persons?name=偽造").await;
        assert_eq!(found.as_array().unwrap().len(), 0, "nothing was written");
        // A refused forgery keeps no session alive; the user's own next request does.
        let (_, sessions) = worker.get("/api/me/sessions").await;
        let current = sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let earlier = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_mins(5))
            .unwrap();
        db.exec(&format!(
            "UPDATE sessions SET last_seen_at = '{earlier}' WHERE id = '{current}'"
        ))
        .await
        .unwrap();
        // Whether the session still shows the activity set above (a no-op update that matches
        // only then).
        let unchanged = format!(
            "UPDATE sessions SET last_seen_at = last_seen_at \
             WHERE id = '{current}' AND last_seen_at = '{earlier}'"
        );
        let untouched = || db.exec(&unchanged);
        let (s, _) = forged
            .post("/api/persons", json!({"details": {"name": "偽造"}}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            untouched().await.unwrap(),
            1,
            "the forgery touched the session"
        );
        let (s, _) = worker.get("/api/me").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            untouched().await.unwrap(),
            0,
            "a real request records activity"
        );

        // Tokens: at most the caller's role, bound to the organisation, revocable.
        let (_, body) = worker
            .post(
                "/api/me/tokens",
                json!({"label": "連携", "role": "administrator"}),
            )
            .await;
        assert_eq!(body["code"], "token.role_too_high");
        let (s, token) = worker
            .post("/api/me/tokens", json!({"label": "連携"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{token}");
        let bearer = token["token"].as_str().unwrap().to_owned();
        let client = reqwest::Client::new();
        let call = |method: reqwest::Method, path: &str| {
            client
                .request(method, format!("{}{path}", w.base))
                .bearer_auth(&bearer)
                .json(&json!({"details": {"name": "トークン 登録"}}))
                .send()
        };
        // No CSRF token needed: a bearer token is not sent by browsers on their own.
        let res = call(reqwest::Method::POST, "/api/persons").await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        // A token cannot mint tokens.
        let minted = client
            .post(format!("{}/api/me/tokens", w.base))
            .bearer_auth(&bearer)
            .json(&json!({"label": "二次発行"}))
            .send()
            .await
            .unwrap();
        assert_eq!(minted.status(), StatusCode::FORBIDDEN);
        // Moving the user to another organisation voids the token.
        let admin = w.login("admin").await;
        let (s, _) = admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{}", w.user_id("worker")),
                json!({"org_id": w.other_agency}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            call(reqwest::Method::GET, "/api/me")
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        admin
            .send(
                reqwest::Method::PATCH,
                &format!("/api/users/{}", w.user_id("worker")),
                json!({"org_id": w.agency}),
            )
            .await;
        // Moving back does not revive it: the move revoked it for good.
        assert_eq!(
            call(reqwest::Method::GET, "/api/me")
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        let worker = w.login("worker").await;
        let (s, token) = worker
            .post("/api/me/tokens", json!({"label": "連携"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{token}");
        let bearer = token["token"].as_str().unwrap().to_owned();
        let call = |method: reqwest::Method, path: &str| {
            client
                .request(method, format!("{}{path}", w.base))
                .bearer_auth(&bearer)
                .send()
        };
        assert_eq!(
            call(reqwest::Method::GET, "/api/me")
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        let id = token["id"].as_str().unwrap();
        let (s, _) = worker
            .send(
                reqwest::Method::DELETE,
                &format!("/api/me/tokens/{id}"),
                json!(null),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            call(reqwest::Method::GET, "/api/me")
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );

        // Common passwords are refused.
        let (_, body) = admin
            .post("/api/users", json!({"login": format!("weak-{}", uuid::Uuid::now_v7().simple()), "display_name": "弱い", "role": "support_worker", "org_id": w.agency, "password": "password123"}))
            .await;
        assert_eq!(body["code"], "password.too_common");
        db.finish().await;
    }
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let db = TestDb::sqlite().await;
    let w = world(&db).await;
    let worker = w.login("worker").await;
    for path in ["/api/me", "/api/cases", "/healthz", "/no-such-page"] {
        let res = worker
            .client
            .get(format!("{}{path}", w.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    }
    db.finish().await;
}
