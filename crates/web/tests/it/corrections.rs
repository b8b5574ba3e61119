//! Correcting a mistaken contact record (支援経過の訂正, issue 13): the record reads as corrected
//! everywhere it is shown and counted, the original stays readable with who corrected it, when
//! and why, and a correction that names no record or gives no reason writes nothing. The
//! timeline can be narrowed to a kind of record. On every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Posts a page form with the case's current version; status and the page it answers with.
async fn post_form(
    api: &Api,
    case: &str,
    path: &str,
    fields: &[(&str, String)],
) -> (StatusCode, String) {
    let (_, c) = api.get(&format!("/api/cases/{case}")).await;
    let mut form: Vec<(String, String)> = vec![
        ("csrf_token".into(), api.csrf.clone()),
        ("expected_version".into(), c["version"].to_string()),
    ];
    form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let res = api
        .client
        .post(format!("{}{path}", api.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn state(api: &Api, case: &str) -> Value {
    let (s, c) = api.get(&format!("/api/cases/{case}")).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c
}

#[tokio::test]
async fn a_mistaken_contact_is_corrected_and_the_original_stays_readable() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "訂正 花子", "date_of_birth": "1975-06-01"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": p["id"], "intake": {"received_on": day(-10),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        worker
            .ok(
                &case,
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-2),
                "reached": true, "summary": "家賃の滞納について電話で聞いた"}),
            )
            .await;
        worker
            .ok(
                &case,
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1),
                "reached": false, "summary": "不在"}),
            )
            .await;
        let before = state(&worker, &case).await;
        assert_eq!(before["state"]["last_contact_on"], day(-2));
        assert_eq!(before["state"]["unreached_attempts"], 1);

        // The timeline names each contact record's number, the number a correction names.
        let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
        let numbers: Vec<Value> = timeline
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "contact_recorded")
            .map(|e| e["contact_record"].clone())
            .collect();
        assert_eq!(numbers, vec![json!(1), json!(2)]);

        // The form for No.1 opens with what No.1 says.
        let (s, html) = worker
            .page(&format!("/cases/{case}/act/correct_contact?record=1"))
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(
            html.contains("家賃の滞納について電話で聞いた</textarea>"),
            "{html}"
        );
        assert!(html.contains("<option value=\"1\" selected"), "{html}");

        // Without a reason nothing is written, and the form says so beside the field.
        let path = format!("/cases/{case}/act/correct_contact");
        let fields = |reason: &str| {
            vec![
                ("record", "1".to_owned()),
                ("kind", "visit".to_owned()),
                ("contacted_on", day(-4)),
                ("summary", "自宅を訪問し家賃の滞納について聞いた".to_owned()),
                ("reason", reason.to_owned()),
            ]
        };
        let (s, html) = post_form(&worker, &case, &path, &fields("")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("訂正の理由"), "{html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        assert_eq!(state(&worker, &case).await["version"], before["version"]);

        let (s, html) = post_form(
            &worker,
            &case,
            &path,
            &fields("訪問した日と方法を電話と取り違えていた"),
        )
        .await;
        assert!(s.is_success(), "{s}: {html}");
        // The corrected day counts: the person was last reached on the corrected day.
        let after = state(&worker, &case).await;
        assert_eq!(after["state"]["last_contact_on"], day(-4), "{after}");
        assert_eq!(
            after["state"]["contacts"], 2,
            "a correction is not a new contact"
        );

        // An attempt that did reach the person, corrected through the API: no longer counted
        // as unanswered.
        worker
            .ok(
                &case,
                json!({"action": "correct_contact", "record": 2, "kind": "phone",
                "contacted_on": day(-1), "reached": true, "summary": "電話で話せた",
                "reason": "話せたのに不在と記録していた"}),
            )
            .await;
        let after = state(&worker, &case).await;
        assert_eq!(after["state"]["unreached_attempts"], 0, "{after}");
        assert_eq!(after["state"]["last_contact_on"], day(-1), "{after}");

        // A record the case does not have, or no reason: refused with a code, nothing written.
        let version = after["version"].clone();
        worker
            .refused(
                &case,
                json!({"action": "correct_contact", "record": 3, "kind": "phone",
                "contacted_on": day(-1), "reached": true, "summary": "x", "reason": "y"}),
                "correction.no_such_record",
            )
            .await;
        let (s, body) = worker
            .cmd(
                &case,
                json!({"action": "correct_contact", "record": 1, "kind": "phone",
                "contacted_on": day(-1), "reached": true, "summary": "x"}),
            )
            .await;
        assert!(s.is_client_error(), "{s} {body}");
        assert_eq!(state(&worker, &case).await["version"], version);

        // The case page shows the record as corrected, the original under it with who, when
        // and why, and offers the correction of each contact record.
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        let table = &html[html.find("<table class=\"timeline\"").unwrap()..];
        assert!(
            table.contains("自宅を訪問し家賃の滞納について聞いた"),
            "{table}"
        );
        assert!(
            table.contains(&format!(
                "訂正前: {} 電話: 家賃の滞納について電話で聞いた",
                tsunagu_core::wareki::format(day(-2).parse().unwrap())
            )),
            "{table}"
        );
        assert!(
            table.contains("理由: 訪問した日と方法を電話と取り違えていた"),
            "{table}"
        );
        assert!(table.contains("訂正あり（1回）"), "{table}");
        assert!(table.contains("No.1を訂正"), "{table}");
        // The corrected record is listed once, on its corrected day.
        assert_eq!(table.matches("自宅を訪問し家賃").count(), 1, "{table}");
        // The print of 支援経過記録 prints it corrected, with the reason.
        let (_, print) = worker.page(&format!("/cases/{case}/print/timeline")).await;
        assert!(
            print.contains("自宅を訪問し家賃の滞納について聞いた"),
            "{print}"
        );
        assert!(
            print.contains("理由: 訪問した日と方法を電話と取り違えていた"),
            "{print}"
        );

        // The timeline narrowed to a kind of record.
        let (_, html) = worker.page(&format!("/cases/{case}?kind=contacts")).await;
        let table = &html[html.find("<table class=\"timeline\"").unwrap()..];
        assert!(table.contains("電話で話せた"), "{table}");
        assert!(!table.contains("相談受付"), "{table}");
        assert!(table.contains("2件／全4件"), "{table}");
        let (_, html) = worker.page(&format!("/cases/{case}?kind=records")).await;
        let table = &html[html.find("<table class=\"timeline\"").unwrap()..];
        assert!(!table.contains("電話で話せた"), "{table}");
        assert!(table.contains("相談受付"), "{table}");

        // `verify` folds the stream again and finds the stored state as the correction left it.
        let findings = db.store.verify().await.unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        db.finish().await;
    }
}

/// Opening a second open case for a person (issue 13): the intake form says so and links the
/// open case; for a person without one it says nothing.
#[tokio::test]
async fn a_second_open_case_for_a_person_is_warned_of() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (_, p) = worker
            .post("/api/persons", json!({"details": {"name": "二重 三郎"}}))
            .await;
        let person = p["id"].as_str().unwrap().to_owned();
        let (s, html) = worker.page(&format!("/persons/{person}/cases/new")).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(!html.contains("支援中のケースがあります"), "{html}");
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": {"received_on": day(-3),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let (_, html) = worker.page(&format!("/persons/{person}/cases/new")).await;
        assert!(
            html.contains("この方には支援中のケースがあります"),
            "{html}"
        );
        assert!(html.contains(&format!("href=\"/cases/{}\"", c["id"].as_str().unwrap())));
        db.finish().await;
    }
}

/// Quick contact entry (issue 13): the time of day, in any width, and the next appointment,
/// which is on the due list until a contact is recorded on or after its day.
#[tokio::test]
async fn a_contact_notes_its_time_and_the_next_appointment_goes_on_the_due_list() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (_, p) = worker
            .post("/api/persons", json!({"details": {"name": "約束 五郎"}}))
            .await;
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": p["id"], "intake": {"received_on": day(-10),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        let path = format!("/cases/{case}/contacts");
        let contact = |on: String, at: &str, next: String| {
            vec![
                ("kind", "interview".to_owned()),
                ("contacted_on", on),
                ("summary", "来所して家計の相談をした".to_owned()),
                ("at", at.to_owned()),
                ("next_appointment_on", next),
            ]
        };
        let appointments = |due: &Value| -> Vec<Value> {
            due["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["case_id"] == case.as_str() && i["kind"] == "appointment")
                .map(|i| i["due_on"].clone())
                .collect()
        };
        // Refused, nothing written: a time that is not one, an appointment before the contact.
        let before = state(&worker, &case).await["version"].clone();
        let (s, html) = post_form(&worker, &case, &path, &contact(day(-3), "25:99", day(-1))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("24時間制"), "{html}");
        let (s, html) = post_form(&worker, &case, &path, &contact(day(-3), "14:30", day(-4))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("次回の約束の日"), "{html}");
        assert_eq!(state(&worker, &case).await["version"], before);

        let (s, html) = post_form(
            &worker,
            &case,
            &path,
            &contact(day(-3), "１４：３０", day(-1)),
        )
        .await;
        assert!(s.is_success(), "{s}: {html}");
        let table = &html[html.find("<table class=\"timeline\"").unwrap()..];
        assert!(table.contains("14:30 来所して家計の相談をした"), "{table}");
        assert!(table.contains("次回の約束:"), "{table}");
        // The appointment (yesterday, missed) is on the due list, overdue.
        let (_, due) = worker.get(&format!("/api/due?date={}", day(0))).await;
        assert_eq!(appointments(&due), vec![json!(day(-1))], "{due}");
        // A contact on its day takes it off.
        let (s, _) = post_form(&worker, &case, &path, &contact(day(-1), "", String::new())).await;
        assert!(s.is_success(), "{s}");
        let (_, due) = worker.get(&format!("/api/due?date={}", day(0))).await;
        assert!(appointments(&due).is_empty(), "{due}");
        db.finish().await;
    }
}
