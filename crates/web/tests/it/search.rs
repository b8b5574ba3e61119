//! Full-text search over case records (記録の検索, issue 13): words found in any script or width,
//! every word required, only in the cases the caller may read, and a record written a moment
//! before found by the next search. On every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn case_with_contact(api: &Api, name: &str, summary: &str) -> String {
    let (s, p) = api
        .post("/api/persons", json!({"details": {"name": name}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, c) = api
        .post(
            "/api/cases",
            json!({"person_id": p["id"], "intake": {"received_on": day(-10),
            "route": "self_visit", "urgency": "normal"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let case = c["id"].as_str().unwrap().to_owned();
    api.ok(
        &case,
        json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-2),
        "reached": true, "summary": summary}),
    )
    .await;
    case
}

async fn found(api: &Api, words: &str) -> Vec<String> {
    let (s, body) = api
        .client
        .get(format!("{}/api/search/records", api.base))
        .query(&[("q", words)])
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let body: Value = body.json().await.unwrap();
    assert_eq!(s, StatusCode::OK, "{words}: {body}");
    body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn records_are_found_by_their_words_only_where_the_caller_may_read() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let stranger = w.login("stranger").await;
        let ours = case_with_contact(
            &worker,
            "検索 一郎",
            "家賃を３か月滞納している。ガス代も払えていない。",
        )
        .await;
        let theirs = case_with_contact(&stranger, "検索 二郎", "家賃の滞納が続いている").await;

        // Each finds the word in its own case only: the other organisation's case is neither
        // shown nor hinted at.
        assert_eq!(found(&worker, "滞納").await, vec![ours.clone()]);
        assert_eq!(found(&stranger, "滞納").await, vec![theirs.clone()]);
        // Any script and width; every word must occur; a phrase is the words as written.
        assert_eq!(found(&worker, "ｶﾞｽ代").await, vec![ours.clone()]);
        assert_eq!(found(&worker, "がす代").await, vec![ours.clone()]);
        assert_eq!(found(&worker, "家賃　ガス代").await, vec![ours.clone()]);
        assert!(found(&worker, "家賃 同行").await.is_empty());
        // The intake's words are records too (相談経路 is a code, the referrer words).
        assert!(found(&worker, "電気代").await.is_empty());

        // A record written now is found by the next search.
        worker
            .ok(
                &ours,
                json!({"action": "record_contact", "kind": "accompaniment", "contacted_on": day(-1),
                "reached": true, "summary": "ハローワークに同行した"}),
            )
            .await;
        assert_eq!(found(&worker, "はろーわーく").await, vec![ours.clone()]);

        // The page marks the words found and links the case.
        let (s, html) = worker.page("/search?q=%E6%BB%9E%E7%B4%8D").await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("<mark>滞納</mark>"), "{html}");
        assert!(html.contains(&format!("href=\"/cases/{ours}\"")), "{html}");
        assert!(!html.contains(&theirs), "{html}");
        assert!(html.contains("支援経過"), "{html}");

        // The results as a file: a row a record found, in the caller's cases only, audited
        // as an export with the persons in it (never the words).
        assert!(
            html.contains("href=\"/search.csv?q=%E6%BB%9E%E7%B4%8D\""),
            "{html}"
        );
        let (s, csv) = worker.page("/search.csv?q=%E6%BB%9E%E7%B4%8D").await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "the header and the one record: {csv}");
        assert!(lines[0].starts_with("\u{feff}ケース番号,氏名,"), "{csv}");
        assert!(
            lines[1].contains("検索 一郎") && lines[1].contains(",支援経過,"),
            "{csv}"
        );
        assert!(lines[1].contains("家賃を３か月滞納している"), "{csv}");
        assert!(!csv.contains("検索 二郎"), "{csv}");
        use calamine::Reader;
        let mut book = worker.workbook("/search.xlsx?q=%E6%BB%9E%E7%B4%8D").await;
        let sheet = book.worksheet_range("記録の検索").unwrap();
        assert_eq!(
            sheet.get((1, 1)),
            Some(&calamine::Data::String("検索 一郎".into()))
        );
        let (s, _) = worker.page("/search.csv?q=%20").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        // No words: said beside the box (page) and with a code (API); nothing searched.
        let (s, body) = worker.get("/api/search/records?q=%20").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "search.words_invalid");
        let long = "あ".repeat(201);
        let (s, html) = worker.page(&format!("/search?q={long}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("200文字以内"), "{html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");

        // Each search is in the audit trail with the persons it showed, never the words.
        let entries: Vec<tsunagu_store::ChainedRow> = db
            .store
            .audit_query(&tsunagu_store::AuditQuery {
                tenant: Some(w.tenant),
                user: Some(w.user_id("worker")),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.row.action.starts_with("case.search_"))
            .collect();
        assert!(
            entries
                .iter()
                .any(|e| e.row.action == "case.search_exported"
                    && serde_json::from_str::<Vec<String>>(&e.row.subjects)
                        .is_ok_and(|s| s.len() == 1)),
            "the export audited with its person"
        );
        for e in &entries {
            let text = serde_json::to_string(e).unwrap();
            assert!(!text.contains("滞納") && !text.contains("ガス"), "{text}");
        }
        db.finish().await;
    }
}
