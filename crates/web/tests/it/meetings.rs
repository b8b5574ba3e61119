//! The meeting page (issue 13): a meeting says whether it is to come, today, held or closed;
//! the plan version of a conclusion is chosen from the case's versions; a conclusion can be
//! recorded on the meeting's own day; an item already concluded keeps its form folded away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_meeting_tells_where_it_stands_and_offers_the_plan_versions() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let status = |html: &str| {
            let at = html.find("<dt>状態</dt><dd>").unwrap() + "<dt>状態</dt><dd>".len();
            html[at..at + html[at..].find("</dd>").unwrap()].to_owned()
        };
        let mut meetings = Vec::new();
        for (days, expected) in [
            (3, "予定"),
            (0, "本日開催"),
            (-2, "開催済み（終了の記録がまだです）"),
        ] {
            let (s, m) = worker
                .post(
                    "/api/meetings",
                    json!({"kind": "support_meeting", "title": format!("会議{days}"), "scheduled_on": day(days)}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{m}");
            let id = m["id"].as_str().unwrap().to_owned();
            let (_, html) = worker.page(&format!("/meetings/{id}")).await;
            assert_eq!(status(&html), expected, "{days}");
            meetings.push(id);
        }

        // A case with its second plan version waiting for approval.
        let (_, p) = worker
            .post("/api/persons", json!({"details": {"name": "会議 四郎"}}))
            .await;
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": p["id"], "intake": {"received_on": day(-20),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        worker
            .ok(&case, json!({"action": "triage", "triaged_on": day(-19), "outcome": {"outcome": "continue"}}))
            .await;
        worker
            .ok(&case, json!({"action": "record_assessment", "assessment": {"assessed_on": day(-18), "baseline": "生活の状況", "main_issues": "家賃の滞納"}}))
            .await;
        worker
            .ok(&case, json!({"action": "screen", "screened_on": day(-17), "outcome": {"outcome": "continue"}}))
            .await;
        for _ in 0..2 {
            worker
                .ok(&case, json!({"action": "draft_plan", "plan": {
                    "drafted_on": day(-16), "goals": ["住まいを確保する"],
                    "items": [{"description": "住居確保給付金の申請を支援する", "goal": 0,
                        "provider": "自立相談支援機関", "responsible": "相談 一郎", "deadline": day(30)}],
                    "period_from": day(-16), "period_to": day(150)}}))
                .await;
        }
        // Today's meeting, with the city present: the plan is taken to it.
        let today = &meetings[1];
        for command in [
            json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            json!({"action": "add_agenda_item", "case_id": case, "purpose": "plan_review"}),
        ] {
            let (s, b) = worker.meeting_cmd(today, command).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        let (_, html) = worker.page(&format!("/meetings/{today}")).await;
        // The versions offered, the one waiting chosen; nothing to type.
        assert!(
            html.contains("<option value=\"2\" selected>第2版（了承を待つ最新の版）</option>"),
            "{html}"
        );
        assert!(
            html.contains("<option value=\"1\">第1版</option>"),
            "{html}"
        );
        assert!(!html.contains("type=\"number\""), "{html}");
        // Recorded on the meeting's own day.
        let (s, b) = worker
            .meeting_cmd(
                today,
                json!({"action": "record_conclusion", "case_id": case,
                "conclusion": {"kind": "plan_approved", "plan_version": 2}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, html) = worker.page(&format!("/meetings/{today}")).await;
        assert!(html.contains("結論: プラン第2版を了承"), "{html}");
        assert!(
            html.contains("<details class=\"more\"><summary>さらに結論を記録する</summary>"),
            "the concluded item's form is folded away: {html}"
        );
        db.finish().await;
    }
}
