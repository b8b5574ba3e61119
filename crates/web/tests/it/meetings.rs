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

#[tokio::test]
async fn a_plan_is_taken_to_a_coming_meeting_from_the_case_page() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, m) = worker
            .post(
                "/api/meetings",
                json!({"kind": "coordination_meeting", "title": "定例の支援調整会議", "scheduled_on": day(2)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let meeting = m["id"].as_str().unwrap().to_owned();
        let case = worker.new_case("議題 五郎").await;
        // Nothing waits for a meeting yet: no form, and a post says so.
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        assert!(!html.contains("id=\"take-to-meeting\""), "{html}");
        let (s, _, html) = worker
            .form(
                &format!("/cases/{case}/agenda"),
                &[("meeting", format!("{meeting}@1"))],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("agenda.nothing_to_take"), "{html}");

        for command in [
            json!({"action": "triage", "triaged_on": day(-19), "outcome": {"outcome": "continue"}}),
            json!({"action": "record_assessment", "assessment": {"assessed_on": day(-18), "baseline": "生活の状況", "main_issues": "家賃の滞納"}}),
            json!({"action": "screen", "screened_on": day(-17), "outcome": {"outcome": "continue"}}),
            json!({"action": "draft_plan", "plan": {
                "drafted_on": day(-16), "goals": ["住まいを確保する"],
                "items": [{"description": "住居確保給付金の申請を支援する", "goal": 0,
                    "provider": "自立相談支援機関", "responsible": "相談 一郎", "deadline": day(30)}],
                "period_from": day(-16), "period_to": day(150)}}),
        ] {
            worker.ok(&case, command).await;
        }
        // The to-do offers the coming meeting, for the plan's review.
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        assert!(html.contains("id=\"take-to-meeting\""), "{html}");
        assert!(html.contains("定例の支援調整会議"), "{html}");
        assert!(html.contains(&format!("value=\"{meeting}@1\"")), "{html}");

        let (s, at, html) = worker
            .form(
                &format!("/cases/{case}/agenda"),
                &[("meeting", format!("{meeting}@1"))],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(at, format!("/meetings/{meeting}"));
        let (_, m) = worker.get(&format!("/api/meetings/{meeting}")).await;
        let agenda = m["state"]["agenda"].as_array().unwrap();
        assert_eq!(agenda.len(), 1, "{m}");
        assert_eq!(agenda[0]["case_id"], case.as_str());
        assert_eq!(agenda[0]["purpose"], "plan_review");

        // Again from a page opened before: the meeting changed meanwhile (409), nothing added.
        let (s, _, html) = worker
            .form(
                &format!("/cases/{case}/agenda"),
                &[("meeting", format!("{meeting}@1"))],
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{html}");
        assert!(html.contains("議題にできませんでした。"), "{html}");
        // And at its current version: already on the agenda.
        let version = m["version"].as_u64().unwrap();
        let (s, _, html) = worker
            .form(
                &format!("/cases/{case}/agenda"),
                &[("meeting", format!("{meeting}@{version}"))],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("meeting.case_already_on_agenda"), "{html}");
        let (_, m) = worker.get(&format!("/api/meetings/{meeting}")).await;
        assert_eq!(m["state"]["agenda"].as_array().unwrap().len(), 1);
    }
}
