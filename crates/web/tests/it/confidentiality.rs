//! Consent (本人同意) with expiry and withdrawal, the meeting's legal basis and members-only
//! minutes, and restricted records — through HTTP on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn person_and_case(api: &Api, name: &str, phone: &str) -> (String, String) {
    let (s, p) = api
        .post(
            "/api/persons",
            json!({"details": {"name": name, "address": "つなぐ市本町1-2-3", "phone": phone}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let person = p["id"].as_str().unwrap().to_owned();
    let (s, c) = api
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {
            "received_on": day(-10), "route": "self_visit",
            "presenting_problems": [{"code": "income", "main": true}], "urgency": "normal"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (person, c["id"].as_str().unwrap().to_owned())
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_partner_sees_the_case_only_while_consent_lasts() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let hw = w.login("hw").await;
        let admin = w.login("admin").await;
        let (person, case) = person_and_case(&worker, "期限 太郎", "090-0000-0001").await;
        // Consent for Hello Work for ten days.
        worker
            .consent(&person, &[w.hellowork], &day(-1), Some(&day(10)))
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        assert_eq!(
            hw.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            hw.get(&format!("/api/persons/{person}")).await.0,
            StatusCode::OK
        );
        assert!(ids(&hw.get("/api/cases").await.1).contains(&case));

        // Day 11: the consent has expired; the partner sees nothing, not even in lists.
        w.clock.advance_days(11);
        for path in [
            format!("/api/cases/{case}"),
            format!("/api/cases/{case}/timeline"),
            format!("/api/persons/{person}"),
            format!("/api/persons/{person}/history"),
        ] {
            let (s, body) = hw.get(&path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        }
        assert!(!ids(&hw.get("/api/cases").await.1).contains(&case));
        assert!(ids(&hw.get("/api/persons?name=期限").await.1).is_empty());
        // The case page tells the owner that consent is needed again.
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        assert!(
            c["todos"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["code"] == "obtain_consent"),
            "{c}"
        );
        // A new consent restores access; withdrawing it ends access from the next request.
        let renewed = worker.consent(&person, &[w.hellowork], &day(0), None).await;
        assert_eq!(
            hw.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        let (s, b) = worker
            .person_cmd(&person, json!({"action": "withdraw_consent", "consent_id": renewed, "withdrawn_on": day(0)}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["consents"].as_array().unwrap().len(), 2);
        assert_eq!(
            hw.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::NOT_FOUND
        );
        // Withdrawing twice, or an unknown consent, is refused with a reason.
        let (s, b) = worker
            .person_cmd(&person, json!({"action": "withdraw_consent", "consent_id": renewed, "withdrawn_on": day(0)}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("consent.already_withdrawn")
            )
        );
        // Every consent change is in the audit trail, with identifiers only.
        let (_, rows) = admin.get(&format!("/api/audit?person={person}")).await;
        let changes: Vec<&Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "person.command")
            .collect();
        let details: Vec<&str> = changes
            .iter()
            .map(|r| r["detail"].as_str().unwrap())
            .collect();
        assert_eq!(
            details,
            ["record_consent", "record_consent", "withdraw_consent"],
            "{details:?}"
        );
        let reads: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "case.read" && r["user_id"] == w.user_id("hw").to_string())
            .map(|r| r["basis"].as_str().unwrap())
            .collect();
        assert_eq!(reads, ["consent", "consent"]);
        db.finish().await;
    }
}

#[tokio::test]
async fn meeting_minutes_are_for_members_only_on_the_meetings_basis() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let hw = w.login("hw").await;
        let city = w.login("city").await;
        let admin = w.login("admin").await;
        let (person, case) = person_and_case(&worker, "会議 花子", "090-0000-0002").await;
        // Hello Work is on the team with consent but does not attend the meeting.
        worker
            .consent(&person, &[w.hellowork], &day(-1), None)
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        // A 支援会議 of the agency with the city: shared without consent, under secrecy.
        let (s, m) = worker
            .post(
                "/api/meetings",
                json!({"kind": "support_meeting", "title": "支援会議", "scheduled_on": day(0)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let meeting = m["id"].as_str().unwrap().to_owned();
        for command in [
            json!({"action": "record_attendee", "org_id": w.city, "name": "福祉課 担当"}),
            json!({"action": "add_agenda_item", "case_id": case, "purpose": "plan_sharing"}),
            json!({"action": "record_minutes", "minutes": "議事録の秘密事項：家族の事情について共有した。"}),
        ] {
            let (s, b) = worker.meeting_cmd(&meeting, command.clone()).await;
            assert_eq!(s, StatusCode::OK, "{command}: {b}");
        }
        // The city, a member, reads the minutes on the meeting's basis.
        let (s, m) = city.get(&format!("/api/meetings/{meeting}")).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert!(m["state"]["minutes"].as_str().unwrap().contains("秘密事項"));
        // …but membership of the meeting does not open the case itself.
        assert_eq!(
            city.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::NOT_FOUND
        );
        // Hello Work, on the team but not a member, never sees the minutes anywhere.
        assert_eq!(
            hw.get(&format!("/api/meetings/{meeting}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert!(!ids(&hw.get("/api/meetings").await.1).contains(&meeting));
        // The list as a file: the member's holds the meeting, the non-member's does not.
        let (s, csv) = worker.page("/meetings.csv").await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        assert!(
            csv.lines()
                .any(|l| l.contains(",支援会議,支援会議,1,予定・開催中,")),
            "{csv}"
        );
        let (s, csv) = hw.page("/meetings.csv").await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        assert!(!csv.contains("支援会議,"), "{csv}");
        for path in [
            format!("/api/cases/{case}"),
            format!("/api/cases/{case}/timeline"),
            format!("/api/persons/{person}"),
            format!("/api/persons/{person}/history"),
            "/api/cases".to_owned(),
            "/api/due?scope=org".to_owned(),
        ] {
            let (s, body) = hw.get(&path).await;
            assert_eq!(s, StatusCode::OK, "{path}");
            assert!(
                !body.to_string().contains("秘密事項"),
                "{path}: minutes leaked"
            );
        }
        let (_, rows) = admin
            .get(&format!("/api/audit?user={}", w.user_id("city")))
            .await;
        let read = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["action"] == "meeting.read")
            .expect("the member's read is audited");
        assert_eq!(read["basis"], "meeting");
        db.finish().await;
    }
}

#[tokio::test]
async fn restricted_fields_and_cases_are_shown_only_to_named_users() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let (person, case) = person_and_case(&worker, "避難 さくら", "090-7777-8888").await;
        // The address and phone of a person fleeing violence: only the assigned worker.
        let (s, b) = worker
            .person_cmd(&person, json!({"action": "restrict_fields", "fields": ["address", "phone"], "users": [w.user_id("lead")]}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("restriction.excludes_self")
            )
        );
        let (s, b) = worker
            .person_cmd(&person, json!({"action": "restrict_fields", "fields": ["address", "phone"], "users": [w.user_id("worker")]}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["details"]["address"], "つなぐ市本町1-2-3");

        let (s, p) = lead.get(&format!("/api/persons/{person}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            p["details"]["address"].is_null() && p["details"]["phone"].is_null(),
            "{p}"
        );
        assert_eq!(p["redacted"], json!(["address", "phone"]));
        assert!(
            p["restriction"].is_null(),
            "who is named is not shown to others"
        );
        let (_, history) = lead.get(&format!("/api/persons/{person}/history")).await;
        assert!(!history.to_string().contains("本町"), "{history}");
        assert!(!history.to_string().contains("7777"), "{history}");
        // Searching by the restricted phone number finds nothing for others.
        assert!(ids(&lead.get("/api/persons?phone=090-7777-8888").await.1).is_empty());
        assert_eq!(
            ids(&worker.get("/api/persons?phone=090-7777-8888").await.1),
            vec![person.clone()]
        );
        // An edit from the redacted view keeps the hidden values.
        let (s, b) = lead
            .send(reqwest::Method::PUT, &format!("/api/persons/{person}"), json!({"expected_version": p["version"], "details": {"name": "避難 さくら", "kana": "ヒナン サクラ"}}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, p) = worker.get(&format!("/api/persons/{person}")).await;
        assert_eq!(p["details"]["address"], "つなぐ市本町1-2-3");
        assert_eq!(p["details"]["kana"], "ヒナン サクラ");
        // Only a named user may lift it.
        let (s, b) = lead
            .person_cmd(
                &person,
                json!({"action": "restrict_fields", "fields": [], "users": []}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("restriction.not_named")
            )
        );

        // A restricted case: gone for everyone else in the organisation, lists included.
        assert_eq!(
            lead.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        worker
            .ok(
                &case,
                json!({"action": "restrict", "users": [w.user_id("worker")]}),
            )
            .await;
        for path in [
            format!("/api/cases/{case}"),
            format!("/api/cases/{case}/timeline"),
        ] {
            assert_eq!(lead.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        assert!(!ids(&lead.get("/api/cases").await.1).contains(&case));
        let (_, p) = lead.get(&format!("/api/persons/{person}")).await;
        assert!(p["cases"].as_array().unwrap().is_empty(), "{p}");
        assert_eq!(
            worker.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        worker
            .ok(&case, json!({"action": "restrict", "users": []}))
            .await;
        assert_eq!(
            lead.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::OK
        );
        db.finish().await;
    }
}

/// 開示請求: the lead prints everything the organisation holds on a person — details, consents,
/// the history, each case's whole timeline — and saves it as a workbook; a field restricted
/// from the lead is left out and named for review. Only lead workers; audited.
#[tokio::test]
async fn a_disclosure_holds_the_person_s_records_and_names_what_is_withheld() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let (person, case) = person_and_case(&worker, "開示 はるか", "090-5555-6666").await;
        worker
            .ok(
                &case,
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1),
                    "reached": true, "summary": "家賃の支払いについて電話で話した"}),
            )
            .await;
        let (s, _) = worker
            .person_cmd(&person, json!({"action": "restrict_fields", "fields": ["phone"], "users": [w.user_id("worker")]}))
            .await;
        assert_eq!(s, StatusCode::OK);

        let (s, html) = lead.page(&format!("/persons/{person}/disclosure")).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("保有個人情報の開示"), "{html}");
        assert!(html.contains("開示 はるか"));
        assert!(
            html.contains("家賃の支払いについて電話で話した"),
            "the timeline: {html}"
        );
        assert!(
            html.contains("要確認（閲覧制限）") && html.contains("電話番号"),
            "{html}"
        );
        assert!(
            !html.contains("090-5555-6666"),
            "withheld from the lead: {html}"
        );
        // The person page offers it to the lead, not to the worker.
        let (_, page) = lead.page(&format!("/persons/{person}")).await;
        assert!(page.contains(&format!("href=\"/persons/{person}/disclosure\"")));
        let (_, page) = worker.page(&format!("/persons/{person}")).await;
        assert!(!page.contains("/disclosure"));

        use calamine::Reader;
        let mut book = lead
            .workbook(&format!("/persons/{person}/disclosure.xlsx"))
            .await;
        let names = book.sheet_names();
        assert!(names.iter().any(|n| n.contains("支援経過")), "{names:?}");
        let timeline = names
            .iter()
            .find(|n| n.contains("支援経過"))
            .unwrap()
            .clone();
        let sheet = book.worksheet_range(&timeline).unwrap();
        let found = sheet.rows().any(|r| {
            r.iter()
                .any(|c| c.to_string().contains("家賃の支払いについて電話で話した"))
        });
        assert!(found, "the contact in the workbook");

        // A lead the restriction names has the phone included for the person, flagged.
        let restrict = |users: serde_json::Value| json!({"action": "restrict_fields", "fields": ["phone"], "users": users});
        let (s, _) = worker
            .person_cmd(
                &person,
                restrict(json!([w.user_id("worker"), w.user_id("lead")])),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, html) = lead.page(&format!("/persons/{person}/disclosure")).await;
        assert!(html.contains("090-5555-6666"), "included: {html}");
        assert!(
            html.contains("記載した制限項目") && !html.contains("記載していない項目"),
            "flagged for review: {html}"
        );
        let (s, _) = worker
            .person_cmd(&person, restrict(json!([w.user_id("worker")])))
            .await;
        assert_eq!(s, StatusCode::OK);

        // A tenant that has restricted fields included for any lead: the phone is there,
        // flagged for review, and the audit entry says it was included.
        let admin = w.login("admin").await;
        let (_, mut settings) = admin.get("/api/settings").await;
        assert_eq!(settings["disclosure_restricted"], "withhold");
        settings["disclosure_restricted"] = json!("include");
        let (s, b) = admin
            .send(reqwest::Method::PUT, "/api/settings", settings)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let lead = w.login("lead").await;
        let (_, html) = lead.page(&format!("/persons/{person}/disclosure")).await;
        assert!(html.contains("090-5555-6666"), "included: {html}");
        assert!(
            html.contains("記載した制限項目") && !html.contains("記載していない項目"),
            "{html}"
        );
        // The person page still hides it from the lead.
        let (_, page) = lead.page(&format!("/persons/{person}")).await;
        assert!(!page.contains("090-5555-6666"), "{page}");

        // Only lead workers.
        let (s, _) = worker.page(&format!("/persons/{person}/disclosure")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, log) = w
            .login("auditor")
            .await
            .get(&format!("/api/audit?person={person}"))
            .await;
        assert!(log.to_string().contains("person.disclosed"), "{log}");
        assert_eq!(
            log.to_string()
                .matches("included_restricted_fields=1")
                .count(),
            2,
            "the named lead's and the tenant's inclusion: {log}"
        );
        db.finish().await;
    }
}
