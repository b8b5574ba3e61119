//! What the lifecycle needs of HTTP, on every backend: group commit of concurrent requests,
//! conflicts and idempotent retries, bad input answered with a clear 4xx, consent at intake.
//! The lifecycle's rules themselves are tested at the use-case boundary (`crates/app/tests`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_person(api: &Api, name: &str) -> String {
    let (s, body) = api
        .post("/api/persons", json!({"details": {"name": name, "kana": "テスト", "date_of_birth": "1980-04-01", "phone": "090-1111-2222"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn new_case(api: &Api, person: &str, received: i64) -> String {
    let (s, body) = api
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {
            "received_on": day(received), "route": "municipal_department", "referrer": "税務課",
            "presenting_problems": [{"code": "housing", "main": true}, {"code": "job_search"}],
            "urgency": "high"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Holds the database's write side, so the committing task's next round waits: SQLite's one
/// write connection, or PostgreSQL's audit head (every round writes it), until dropped.
async fn hold_writes(store: &tsunagu_store::Store) -> Box<dyn std::any::Any + Send> {
    match (store.sqlite_pools(), store.postgres_pool()) {
        (Some((_, write)), _) => Box::new(write.acquire().await.unwrap()),
        (None, Some(pool)) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
        (None, None) => unreachable!("a store is SQLite or PostgreSQL"),
    }
}

/// Waits (never a fixed sleep) until group commit has seen this many jobs submitted, or taken.
async fn until_jobs(store: &tsunagu_store::Store, n: u64, taken: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let g = store.group_commit();
        if (if taken { g.taken } else { g.submitted }) >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the requests never reached the store: {g:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// Group commit: requests that arrive while a commit is under way share the next one, and a
/// refused one among them (a stale version) costs the others nothing: each hears its own
/// answer, the shared commit holds exactly the accepted writes and the read's audit entry, and
/// the audit chain and every projection verify afterwards.
#[tokio::test]
async fn writes_arriving_together_share_a_commit_and_a_refusal_rolls_back_only_itself() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = std::sync::Arc::new(w.login("worker").await);
        let (a, b) = (
            new_case(&worker, &new_person(&worker, "一番 花子").await, -10).await,
            new_case(&worker, &new_person(&worker, "二番 次郎").await, -10).await,
        );
        let version = |v: &Value| v["version"].as_u64().unwrap();
        let va = version(&worker.get(&format!("/api/cases/{a}")).await.1);
        let vb = version(&worker.get(&format!("/api/cases/{b}")).await.1);
        let contact = |v: u64, summary: &str| json!({"expected_version": v, "command": {"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": summary}});
        let send = |case: &str, body: Value| {
            let (api, path) = (worker.clone(), format!("/api/cases/{case}/commands"));
            tokio::spawn(async move { api.post(&path, body).await })
        };
        let before = db.store.group_commit();
        let held = hold_writes(&db.store).await;
        // The first write opens a round, which waits on the held database ...
        let first = send(&a, contact(va, "先に届いた連絡"));
        until_jobs(&db.store, before.taken + 1, true).await;
        // ... while a stale write, a good one and a read's audit entry arrive.
        let stale = send(&a, contact(va, "古い版への連絡"));
        let good = send(&b, contact(vb, "別のケースへの連絡"));
        let read = {
            let (api, path) = (worker.clone(), format!("/api/cases/{b}"));
            tokio::spawn(async move { api.get(&path).await })
        };
        until_jobs(&db.store, before.submitted + 4, false).await;
        drop(held);
        let (first, stale, good, read) = (
            first.await.unwrap(),
            stale.await.unwrap(),
            good.await.unwrap(),
            read.await.unwrap(),
        );
        assert_eq!(first.0, StatusCode::OK, "{}: {first:?}", db.name);
        assert_eq!(stale.0, StatusCode::CONFLICT, "{}: {stale:?}", db.name);
        assert_eq!(stale.1["code"], "conflict.stale_version");
        assert_eq!(good.0, StatusCode::OK, "{}: {good:?}", db.name);
        assert_eq!(read.0, StatusCode::OK, "{}: {read:?}", db.name);
        let after = db.store.group_commit();
        assert_eq!(
            (after.taken - before.taken, after.rounds - before.rounds),
            (4, 2),
            "{}: the three that arrived together shared one round",
            db.name
        );
        // Exactly the accepted contacts are stored.
        for (case, expected) in [(&a, "先に届いた連絡"), (&b, "別のケースへの連絡")]
        {
            let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
            let summaries: Vec<&str> = timeline
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["type"] == "contact_recorded")
                .filter_map(|e| e["event"]["summary"].as_str())
                .collect();
            assert_eq!(summaries, [expected], "{}", db.name);
        }
        assert!(
            db.store.audit_verify().await.unwrap().is_ok(),
            "{}",
            db.name
        );
        assert_eq!(
            db.store.verify().await.unwrap(),
            Vec::<String>::new(),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn concurrent_writes_conflict_and_retries_are_idempotent() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let person = new_person(&worker, "伊藤 恵子").await;
        let case = new_case(&worker, &person, -30).await;
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        let v = c["version"].as_u64().unwrap();
        let contact = |summary: &str| json!({"expected_version": v, "command": {"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": summary}});
        let path = format!("/api/cases/{case}/commands");
        let (a, b) = tokio::join!(
            worker.post(&path, contact("一人目")),
            worker.post(&path, contact("二人目"))
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::CONFLICT {
            a.1
        } else {
            b.1
        };
        assert_eq!(loser["code"], "conflict.stale_version");
        let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
        assert_eq!(
            timeline
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["type"] == "contact_recorded")
                .count(),
            1
        );

        // A retried create with the same key creates one record.
        let body = json!({"details": {"name": "渡辺 陽子", "kana": "ワタナベ ヨウコ"}});
        let send = || {
            worker
                .client
                .post(format!("{}/api/persons", w.base))
                .header("x-csrf-token", &worker.csrf)
                .header("Idempotency-Key", "k-123")
                .json(&body)
                .send()
        };
        let (r1, r2) = tokio::join!(send(), send());
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        let mut codes = [r1.status().as_u16(), r2.status().as_u16()];
        codes.sort();
        assert!(codes == [200, 201] || codes == [201, 409], "{codes:?}");
        let r3 = send().await.unwrap();
        assert_eq!(r3.status(), StatusCode::OK);
        let (_, found) = worker.get("/api/persons?name=渡辺").await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
        let other = worker
            .client
            .post(format!("{}/api/persons", w.base))
            .header("x-csrf-token", &worker.csrf)
            .header("Idempotency-Key", "k-123")
            .json(&json!({"details": {"name": "別人"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
        db.finish().await;
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let raw = |body: &'static str| {
            worker
                .client
                .post(format!("{}/api/persons", w.base))
                .header("x-csrf-token", &worker.csrf)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let r = raw("{not json").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "request.malformed_json"
        );
        for body in [
            r#"{"details": {"name": "a", "sex": "unknown_value"}}"#,
            r#"{"details": {"name": "a", "date_of_birth": "2025-02-30"}}"#,
            r#"{"details": {"name": ""}}"#,
            r#"{"details": {}}"#,
        ] {
            let r = raw(body).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "request.invalid",
                "{body}"
            );
        }
        let long = "あ".repeat(201);
        let (s, b) = worker
            .post("/api/persons", json!({"details": {"name": long}}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("request.invalid"))
        );
        let huge = "x".repeat(2 * 1024 * 1024);
        let (s, b) = worker
            .post("/api/persons", json!({"details": {"name": huge}}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("request.too_large"))
        );
        let (s, b) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "未来", "date_of_birth": day(3)}}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date.in_future"))
        );
        assert_eq!(
            worker.get("/api/cases/not-a-uuid").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            worker.get("/api/due?date=yesterday").await.0,
            StatusCode::BAD_REQUEST
        );
        // Another organisation's case is invisible, exactly like a missing one.
        let person = new_person(&worker, "松本 誠").await;
        let case = new_case(&worker, &person, -5).await;
        let stranger = w.login("stranger").await;
        let (s, b) = stranger.get(&format!("/api/cases/{case}")).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        assert_eq!(
            stranger.get(&format!("/api/persons/{person}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert!(
            stranger
                .get("/api/persons?name=松本")
                .await
                .1
                .as_array()
                .unwrap()
                .is_empty()
        );
        let anonymous = reqwest::Client::new();
        let r = anonymous
            .get(format!("{}/api/cases", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = anonymous
            .get(format!("{}/api/openapi.json", w.base))
            .send()
            .await
            .unwrap();
        let doc: Value = r.json().await.unwrap();
        assert!(doc["paths"]["/api/cases/{id}/commands"]["post"].is_object());
        db.finish().await;
    }
}

/// The consent given at intake is recorded with the case in one transaction: both or neither.
#[tokio::test]
async fn consent_given_at_intake_is_recorded_with_the_case_or_not_at_all() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post("/api/persons", json!({"details": {"name": "同意 太郎"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let person = p["id"].as_str().unwrap().to_owned();
        let intake = json!({"received_on": day(0), "route": "self_visit",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"});
        let person_version = |p: &Value| p["version"].as_u64().unwrap();
        let before = person_version(&worker.get(&format!("/api/persons/{person}")).await.1);

        // No organisation named: refused, and neither the case nor the consent is written.
        let (s, body) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": intake,
                "consent": {"organisations": [], "purpose": "情報共有", "given_on": day(0)}}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("consent.no_organisations")
            )
        );
        let (_, cases) = worker.get(&format!("/api/cases?person={person}")).await;
        assert_eq!(cases, json!([]));
        let (_, p) = worker.get(&format!("/api/persons/{person}")).await;
        assert_eq!(person_version(&p), before);
        assert_eq!(p["consents"], json!([]));

        // With the city named: the case opens and the consent stands, so the city can join
        // the team straight away.
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": intake,
                "consent": {"organisations": [w.city], "purpose": "情報共有", "given_on": day(0),
                    "written_form_received": true}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        let (_, p) = worker.get(&format!("/api/persons/{person}")).await;
        assert_eq!(p["consents"][0]["organisations"], json!([w.city]));
        assert_eq!(p["consents"][0]["written_form_received"], true);
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;
        db.finish().await;
    }
}

/// Dates you can trust (issue 13): a year typed without its era is refused beside the field with
/// 「元号を付けてください」, not stored as the year 8; a contact dated before the case was opened
/// is refused with its code; eight digits are read. Nothing refused is written.
#[tokio::test]
async fn a_date_without_its_era_or_before_the_case_is_refused_beside_the_field() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "日付 太郎", "date_of_birth": "1980-04-01", "phone": "090-5555-6666"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": p["id"], "intake": {"received_on": day(-5),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        let contact = |date: String| {
            let worker = worker.clone();
            let case = case.clone();
            async move {
                let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
                let res = worker
                    .client
                    .post(format!("{}/cases/{case}/contacts", worker.base))
                    .form(&[
                        ("csrf_token", worker.csrf.clone()),
                        ("expected_version", c["version"].to_string()),
                        ("kind", "phone".to_owned()),
                        ("contacted_on", date),
                        ("summary", "電話で様子を聞いた".to_owned()),
                    ])
                    .send()
                    .await
                    .unwrap();
                (res.status(), res.text().await.unwrap())
            }
        };
        let (_, before) = worker.get(&format!("/api/cases/{case}")).await;
        let (s, html) = contact("８年１１月２４日".into()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("に元号を付けてください（例: 令和8年11月24日）。"),
            "{html}"
        );
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        let (s, html) = contact(day(-30).replace('-', "")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("ケースを開始した日より前の日付は指定できません"),
            "{html}"
        );
        let (_, after) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(
            after["version"], before["version"],
            "nothing refused was written"
        );
        // Eight digits within the case are read.
        let (s, html) = contact(day(-1).replace('-', "")).await;
        assert!(s.is_success() || s.is_redirection(), "{s}: {html}");
        // Without JavaScript the case page says it was saved.
        assert!(html.contains("保存しました。"), "{html}");
        let (_, after) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(after["state"]["contacts"], 1);
        // A contact typed later about an earlier day takes its place in the timeline by the
        // day it happened, not by when it was typed.
        let (s, _) = contact(day(-3)).await;
        assert!(s.is_success() || s.is_redirection(), "{s}");
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        let table = &html[html.find("<table class=\"timeline\"").unwrap()..];
        let at = |d: String| {
            let shown = tsunagu_core::wareki::format(d.parse().unwrap());
            table
                .find(&format!("<td>{shown}"))
                .unwrap_or_else(|| panic!("{shown} not in {table}"))
        };
        assert!(at(day(-1)) < at(day(-3)), "{table}");
        // The header tells the person's age and phone.
        let today: jiff::civil::Date = day(0).parse().unwrap();
        let age = today.year() - 1980 - i16::from((today.month(), today.day()) < (4, 1));
        assert!(
            html.contains(&format!("<dt>年齢</dt><dd>{age}歳</dd>")),
            "{html}"
        );
        assert!(
            html.contains("<dt>電話</dt><dd>090-5555-6666</dd>"),
            "{html}"
        );
        assert!(
            at(day(-3)) < at(day(-5)),
            "the intake is the oldest: {table}"
        );
        db.finish().await;
    }
}

/// Duplicates (issue 13): before a person is registered, persons already registered with the
/// same name or kana (in any script and spacing) and date of birth, or the same phone, are shown
/// (API and page); the page registers nothing until the worker says it is someone else.
#[tokio::test]
async fn a_likely_duplicate_is_shown_before_registering() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "林　優子", "kana": "ハヤシ ユウコ",
                "date_of_birth": "1980-04-01", "phone": "090-1234-5678"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let id = p["id"].as_str().unwrap().to_owned();
        let matches = |q: &'static str| {
            let worker = worker.clone();
            async move {
                let (s, body) = worker.get(&format!("/api/persons/matches?{q}")).await;
                assert_eq!(s, StatusCode::OK, "{q}: {body}");
                body.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        for q in [
            "name=%E6%9E%97%E5%84%AA%E5%AD%90&date_of_birth=1980-04-01",
            "name=%E6%9E%97%20%E7%A5%90%E5%AD%90&kana=%E3%81%AF%E3%82%84%E3%81%97%E3%82%86%E3%81%86%E3%81%93&date_of_birth=1980-04-01",
            "name=%E5%88%A5%E4%BA%BA&phone=%EF%BC%90%EF%BC%99%EF%BC%90%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98",
        ] {
            assert_eq!(matches(q).await, vec![id.clone()], "{q}");
        }
        // The same name born another day, or another name born the same day: no match.
        assert!(
            matches("name=%E6%9E%97%E5%84%AA%E5%AD%90&date_of_birth=1981-04-01")
                .await
                .is_empty()
        );
        assert!(
            matches("name=%E6%A3%AE%E5%A4%AA%E9%83%8E&date_of_birth=1980-04-01")
                .await
                .is_empty()
        );
        // Another organisation's worker is not shown the person.
        let stranger = w.login("stranger").await;
        let (_, none) = stranger
            .get("/api/persons/matches?name=%E6%9E%97%E5%84%AA%E5%AD%90&date_of_birth=1980-04-01")
            .await;
        assert_eq!(none, json!([]));

        // The page: the same person typed again is shown, not registered.
        let register = |confirm: bool| {
            let worker = worker.clone();
            async move {
                let mut form = vec![
                    ("csrf_token", worker.csrf.clone()),
                    ("name", "林優子".to_owned()),
                    ("kana", "はやし ゆうこ".to_owned()),
                    ("date_of_birth", "昭和55年4月1日".to_owned()),
                ];
                if confirm {
                    form.push(("confirm_new", "1".to_owned()));
                }
                let res = worker
                    .client
                    .post(format!("{}/persons", worker.base))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                (
                    res.status(),
                    res.url().path().to_owned(),
                    res.text().await.unwrap(),
                )
            }
        };
        let (s, _, html) = register(false).await;
        assert_eq!(s, StatusCode::CONFLICT, "{html}");
        assert!(
            html.contains("同じ方がすでに登録されている可能性があります"),
            "{html}"
        );
        assert!(html.contains(&format!("href=\"/persons/{id}\"")), "{html}");
        assert!(
            html.contains("value=\"林優子\""),
            "what was typed stays: {html}"
        );
        let (_, found) = worker.get("/api/persons?date_of_birth=1980-04-01").await;
        assert_eq!(found.as_array().unwrap().len(), 1, "nothing registered");
        // Ticked as someone else, it is registered.
        let (s, path, _) = register(true).await;
        assert!(s.is_success(), "{s}");
        assert!(
            path.starts_with("/persons/") && path != format!("/persons/{id}"),
            "{path}"
        );
        let (_, found) = worker.get("/api/persons?date_of_birth=1980-04-01").await;
        assert_eq!(found.as_array().unwrap().len(), 2);
        db.finish().await;
    }
}
