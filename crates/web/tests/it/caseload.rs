//! The lead worker's overview on every backend: cases per worker with overdue items, and the
//! cases that stay too long in a stage, shown only where the lead may read them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn open_case(api: &Api, name: &str) -> String {
    let (s, p) = api
        .post("/api/persons", json!({"details": {"name": name}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, c) = api
        .post(
            "/api/cases",
            json!({"person_id": p["id"], "intake": {
            "received_on": day(0), "route": "self_visit",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

fn worker_row<'a>(load: &'a Value, w: &World, role: &str) -> &'a Value {
    let id = w.user_id(role).to_string();
    load["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["worker"] == id.as_str())
        .unwrap_or_else(|| panic!("no row for {role}: {load}"))
}

#[tokio::test]
async fn a_lead_sees_the_caseload_per_worker_and_the_cases_not_moving() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let first = open_case(&worker, "停滞 一郎").await;
        let second = open_case(&worker, "停滞 二郎").await;
        let _third = open_case(&lead, "停滞 三郎").await;
        // A referral whose follow-up falls due tomorrow; the second case is restricted to the
        // worker alone.
        worker
            .ok(
                &first,
                json!({"action": "make_referral", "referral": {"to_name": "法テラス",
                "purpose": "債務の相談", "referred_on": day(0), "follow_up_on": day(1)}}),
            )
            .await;
        worker
            .ok(
                &second,
                json!({"action": "restrict", "users": [w.user_id("worker")]}),
            )
            .await;

        let (s, load) = lead.get("/api/caseload").await;
        assert_eq!(s, StatusCode::OK, "{load}");
        assert_eq!(worker_row(&load, &w, "worker")["open"], 2);
        assert_eq!(worker_row(&load, &w, "worker")["overdue"], 0);
        assert_eq!(worker_row(&load, &w, "lead")["open"], 1);
        assert_eq!(load["stuck"], json!([]), "nothing has stayed long yet");
        assert_eq!(load["open_total"], 3, "{load}");
        assert_eq!(load["totals"], json!([{"stage": "intake", "cases": 3}]));
        assert_eq!(load["workers_total"], 2);
        assert_eq!(
            load["workers"][0]["worker"],
            w.user_id("worker").to_string().as_str(),
            "most open cases first"
        );
        // A later page of workers starts where it is asked to; the totals stay the
        // organisation's.
        let (s, page) = lead.get("/api/caseload?offset=1").await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["workers"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(
            page["workers"][0]["worker"],
            w.user_id("lead").to_string().as_str()
        );
        assert_eq!(
            (page["workers_total"].clone(), page["open_total"].clone()),
            (json!(2), json!(3))
        );
        let (s, page) = lead.get("/api/caseload?offset=9").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (page["workers"].clone(), page["workers_total"].clone()),
            (json!([]), json!(2))
        );
        let (s, body) = lead.get("/api/caseload?offset=x").await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request.invalid_query")),
            "{body}"
        );
        let (_, html) = lead.page("/?workers=1").await;
        assert!(html.contains("2〜2人目を表示"), "{html}");
        assert!(html.contains("href=\"/?workers=0#load-heading\""), "{html}");

        // Forty days on (the threshold is 30): every case is still at intake; the referral
        // check is overdue. The restricted case counts for its worker but is not named.
        w.clock.advance_days(40);
        let (_, load) = lead.get("/api/caseload").await;
        assert_eq!(worker_row(&load, &w, "worker")["open"], 2);
        assert_eq!(worker_row(&load, &w, "worker")["overdue"], 1);
        let stuck: Vec<&str> = load["stuck"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["person_name"].as_str().unwrap())
            .collect();
        assert_eq!(stuck.len(), 2, "{load}");
        assert_eq!(
            load["stuck_total"], 3,
            "the restricted case is counted (a count, like the workers' counts), not named"
        );
        assert!(stuck.contains(&"停滞 一郎") && stuck.contains(&"停滞 三郎"));
        assert!(!load.to_string().contains("不明な職員"), "{load}");
        assert!(!load.to_string().contains("停滞 二郎"));
        assert!(load["stuck"][0]["days"].as_i64().unwrap() >= 40);

        // Only lead workers: others are refused with the code, not given an empty list.
        for role in ["worker", "hw", "city", "admin"] {
            let (s, body) = w.login(role).await.get("/api/caseload").await;
            assert_eq!(
                (s, body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("auth.forbidden")),
                "{role}"
            );
        }

        // The dashboard shows both to the lead, and neither to the worker.
        let (_, html) = lead.page("/").await;
        assert!(html.contains("担当者別のケース数"), "{html}");
        assert!(html.contains("同じ段階に30日を超えてとどまっているケース"));
        assert!(
            html.contains("<p>3件（閲覧できるものから古い順に2件を表示）</p>"),
            "{html}"
        );
        assert!(html.contains(&format!("<a href=\"/cases/{first}\">停滞 一郎</a>")));
        assert!(!html.contains("停滞 二郎"));
        let (_, html) = worker.page("/").await;
        assert!(!html.contains("担当者別のケース数"));

        // The names shown are audited.
        let auditor = w.login("auditor").await;
        let (_, log) = auditor
            .get(&format!("/api/audit?user={}", w.user_id("lead")))
            .await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "caseload.read" && e["detail"] == "3 stuck"),
            "{log}"
        );
        db.finish().await;
    }
}

/// The lead manages a case through its pages: a new worker, a restriction (refused when it
/// would shut the lead out), and a partner taken off the team, who then no longer sees it.
#[tokio::test]
async fn a_lead_reassigns_restricts_and_changes_the_team_through_the_pages() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let city = w.login("city").await;
        let case = open_case(&worker, "管理 花子").await;
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        let person = c["state"]["person_id"].as_str().unwrap().to_owned();
        worker.consent(&person, &[w.city], &day(0), None).await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;

        // The management actions are offered to the lead, not to the partner.
        let (_, html) = lead.page(&format!("/cases/{case}")).await;
        for action in ["assign_worker", "restrict", "remove_team_member"] {
            assert!(html.contains(&format!("/act/{action}\"")), "{action}");
        }
        let (_, html) = city.page(&format!("/cases/{case}")).await;
        assert!(!html.contains("/act/assign_worker"));

        let act = |action: &str, fields: Vec<(&'static str, String)>| {
            let lead = lead.clone();
            let case = case.clone();
            let action = action.to_owned();
            async move {
                let (_, c) = lead.get(&format!("/api/cases/{case}")).await;
                let mut pairs: Vec<(String, String)> =
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                pairs.push(("csrf_token".into(), lead.csrf.clone()));
                pairs.push(("expected_version".into(), c["version"].to_string()));
                let res = lead
                    .client
                    .post(format!("{}/cases/{case}/act/{action}", lead.base))
                    .form(&pairs)
                    .send()
                    .await
                    .unwrap();
                (res.status(), res.text().await.unwrap())
            }
        };
        let lead_id = w.user_id("lead").to_string();
        let worker_id = w.user_id("worker").to_string();

        let (s, _) = act("assign_worker", vec![("user_id", lead_id.clone())]).await;
        assert_eq!(s, StatusCode::OK, "followed to the case page");
        let (_, c) = lead.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["assigned_worker"], lead_id.as_str());
        // The case page names the new worker, the change and each record's author (it reads
        // only the names it shows).
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        assert!(html.contains("leadに変更"), "{html}");
        assert!(html.contains("worker（"), "{html}");
        assert!(!html.contains("不明な職員"), "{html}");
        // The case moved in the counts from one worker to the other.
        let (_, load) = lead.get("/api/caseload").await;
        assert_eq!(load["workers_total"], 1, "{load}");
        assert_eq!(worker_row(&load, &w, "lead")["open"], 1);

        // A restriction without oneself: refused beside the list, nothing changes.
        let (s, html) = act("restrict", vec![("users", worker_id.clone())]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("restriction.excludes_self") && html.contains("f-users-err"));
        let (_, c) = lead.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["restricted_to"], json!([]));
        let (s, _) = act(
            "restrict",
            vec![("users", lead_id.clone()), ("users", worker_id.clone())],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (_, c) = lead.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["restricted_to"].as_array().unwrap().len(), 2);
        // Lifting it again: nobody chosen.
        let (s, _) = act("restrict", vec![]).await;
        assert_eq!(s, StatusCode::OK);

        assert_eq!(
            city.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        let (s, _) = act("remove_team_member", vec![("org_id", w.city.to_string())]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            city.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::NOT_FOUND
        );
        db.finish().await;
    }
}
