//! Roles that fit the work (issue 13): a related agency on the team records contacts and
//! referrals and reads, and never assesses, plans, suspends or terminates; a municipal officer
//! records intake, triage and support decisions, not the agency's assessment or support start.
//! The API refuses with `case.action_not_for_role` and writes nothing; the case page offers only
//! what the role may do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

fn assessment() -> serde_json::Value {
    json!({"action": "record_assessment", "assessment": {"assessed_on": day(0),
        "baseline": "家賃の滞納が続いている", "main_issues": "収入の減少"}})
}

#[tokio::test]
async fn a_partner_and_the_city_are_offered_and_allowed_only_their_part() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post("/api/persons", json!({"details": {"name": "役割 太郎"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let person = p["id"].as_str().unwrap().to_owned();
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": {"received_on": day(-5),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        worker
            .ok(
                &case,
                json!({"action": "triage", "triaged_on": day(-4), "outcome": {"outcome": "continue"}}),
            )
            .await;
        worker
            .consent(&person, &[w.hellowork, w.city], &day(-4), None)
            .await;
        for org in [w.hellowork, w.city] {
            worker
                .ok(&case, json!({"action": "add_team_member", "org_id": org}))
                .await;
        }
        let hw = w.login("hw").await;
        let city = w.login("city").await;
        let (_, before) = worker.get(&format!("/api/cases/{case}")).await;

        // The assessment stage: both partners can read the case, neither may assess it.
        for (api, role_label) in [(&hw, "関係機関職員"), (&city, "自治体職員")] {
            let (s, body) = api.cmd(&case, assessment()).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("case.action_not_for_role")),
                "{body}"
            );
            let message = body["message"].as_str().unwrap();
            assert!(
                message.contains("アセスメントシートの記録") && message.contains(role_label),
                "{message}"
            );
        }
        let (_, after) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(after["version"], before["version"], "nothing was written");
        assert_eq!(after["state"]["assessment_versions"], 0);
        // Hello Work records its contact with the person.
        hw.ok(
            &case,
            json!({"action": "record_contact", "kind": "accompaniment", "contacted_on": day(0),
            "reached": true, "summary": "ハローワークに同行した"}),
        )
        .await;
        // Terminating and suspending are the agency's, refused to Hello Work.
        let (s, body) = hw
            .cmd(
                &case,
                json!({"action": "suspend", "suspended_on": day(0), "reason": "連絡がつかない"}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("case.action_not_for_role")),
            "{body}"
        );
        // The worker assesses; the forms of what a partner may not do are not even shown.
        worker.ok(&case, assessment()).await;
        let (s, html) = hw
            .page(&format!("/cases/{case}/act/record_assessment"))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // The error page keeps the way around and shows the code only as a small detail.
        assert!(
            html.contains("エラーコード: <code>case.action_not_for_role</code>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"/cases\">ケース一覧</a>"), "{html}");
        // A form opened in the wrong stage says so, not that a save failed.
        let (s, html) = worker.page(&format!("/cases/{case}/act/resume")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("いまはこの記録はできません。"), "{html}");
        assert!(!html.contains("保存できませんでした"), "{html}");
        let (s, html) = hw.page(&format!("/cases/{case}")).await;
        assert_eq!(s, StatusCode::OK);
        for offered in ["/act/record_assessment", "/act/suspend", "/act/screen"] {
            assert!(!html.contains(offered), "{offered} offered to Hello Work");
        }
        assert!(html.contains("/act/make_referral"), "{html}");
        let (_, html) = city.page(&format!("/cases/{case}")).await;
        assert!(!html.contains("/act/record_assessment") && !html.contains("/act/screen"));
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        for offered in ["/act/record_assessment", "/act/suspend", "/act/screen"] {
            assert!(
                html.contains(offered),
                "{offered} not offered to the worker"
            );
        }
        db.finish().await;
    }
}
