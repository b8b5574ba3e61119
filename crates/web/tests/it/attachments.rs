//! Attachments on a case, through HTTP on every backend: the upload keeps the file with the
//! case and its event; type (by content), size, date and version are checked with a clear
//! answer and nothing half-written; the download is served only through the case's access
//! check, byte for byte, and each download is audited; the stored files cannot be changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// A small but real PDF (header, one empty page, trailer).
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn form(version: u64, title: &str, filename: &str, content: Vec<u8>) -> Form {
    Form::new()
        .text("expected_version", version.to_string())
        .text("kind", "signed_application")
        .text("title", title.to_owned())
        .text("received_on", day(0))
        .part("file", Part::bytes(content).file_name(filename.to_owned()))
}

async fn version(api: &Api, case: &str) -> u64 {
    api.get(&format!("/api/cases/{case}")).await.1["version"]
        .as_u64()
        .unwrap()
}

async fn new_case(worker: &Api) -> (String, String) {
    let (s, p) = worker
        .post("/api/persons", json!({"details": {"name": "添付 花子"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let person = p["id"].as_str().unwrap().to_owned();
    let (s, c) = worker
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {
            "received_on": day(-3), "route": "self_visit",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (person, c["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_signed_application_is_kept_with_the_case_and_every_download_is_audited() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (person, case) = new_case(&worker).await;

        // The upload: a new case version, the event in the timeline, the description as sent.
        let v = version(&worker, &case).await;
        let (s, added) = worker
            .attach(
                &case,
                v,
                "プラン兼事業等利用申込書（署名済）",
                "C:\\scans\\申込書.pdf",
                pdf(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{added}");
        assert_eq!(added["version"], v + 1);
        let a = &added["attachment"];
        assert_eq!(a["file_type"], "pdf");
        assert_eq!(a["size"], pdf().len());
        assert_eq!(
            a["filename"], "申込書.pdf",
            "the client's folder is not kept"
        );
        let id = a["id"].as_str().unwrap().to_owned();
        let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
        assert!(
            timeline
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"]["type"] == "attachment_added"
                    && e["event"]["attachment"]["id"] == id.as_str())
        );
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["attachments"][0]["id"], id.as_str());

        // The download: the same bytes, as a download, and an audit entry naming the case and
        // the person, for each download.
        let path = format!("{}/api/cases/{case}/attachments/{id}", w.base);
        for _ in 0..2 {
            let res = worker.client.get(&path).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], "application/pdf");
            let disposition = res.headers()["content-disposition"].to_str().unwrap();
            assert!(disposition.starts_with("attachment;"), "{disposition}");
            assert!(
                disposition.contains("filename*=UTF-8''%E7%94%B3%E8%BE%BC%E6%9B%B8%2Epdf"),
                "{disposition}"
            );
            assert_eq!(res.headers()["cache-control"], "no-store");
            assert_eq!(res.bytes().await.unwrap().to_vec(), pdf());
        }
        // The page route serves the same file through the same check.
        let res = worker
            .client
            .get(format!("{}/cases/{case}/attachments/{id}", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().to_vec(), pdf());
        let auditor = w.login("auditor").await;
        let (s, log) = auditor.get(&format!("/api/audit?person={person}")).await;
        assert_eq!(s, StatusCode::OK, "{log}");
        let downloads: Vec<&Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "attachment.download")
            .collect();
        assert_eq!(downloads.len(), 3, "{log}");
        assert!(downloads.iter().all(|e| e["detail"] == id.as_str()
            && e["object_id"] == case.as_str()
            && e["user_id"] == w.user_id("worker").to_string()));

        // Others: an unrelated agency and Hello Work (not on the team) get 404 for the file and
        // the upload, exactly like a missing one; nothing is audited as a download for them.
        for who in ["stranger", "hw"] {
            let other = w.login(who).await;
            let res = other.client.get(&path).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "not_found");
            let (s, body) = other.attach(&case, v + 1, "x", "x.pdf", pdf()).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found"))
            );
        }
        // An attachment id of another case answers 404 too.
        let (_, other_case) = new_case(&worker).await;
        let res = worker
            .client
            .get(format!(
                "{}/api/cases/{other_case}/attachments/{id}",
                w.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let (_, log) = auditor.get(&format!("/api/audit?person={person}")).await;
        let count = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "attachment.download")
            .count();
        assert_eq!(count, 3);

        // A stored file cannot be changed or removed, even with database access.
        assert!(
            db.exec("UPDATE attachment_files SET sha256 = 'x'")
                .await
                .is_err()
        );
        assert!(db.exec("DELETE FROM attachment_files").await.is_err());
        db.finish().await;
    }
}

#[tokio::test]
async fn refused_uploads_say_why_and_write_nothing() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (_, case) = new_case(&worker).await;
        let v = version(&worker, &case).await;

        let refusals: Vec<(Form, StatusCode, &str)> = vec![
            // A text file renamed to .pdf: the type is read from the bytes.
            (
                form(v, "申込書", "申込書.pdf", b"just some text".to_vec()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.type_not_allowed",
            ),
            // An office document is not one of the accepted types either.
            (
                form(v, "申込書", "a.zip", b"PK\x03\x04\x14\x00\x00\x00".to_vec()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.type_not_allowed",
            ),
            (
                form(v, "申込書", "empty.pdf", Vec::new()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.empty",
            ),
            // Over 10 MiB: refused while the body is read.
            (
                form(v, "申込書", "big.pdf", {
                    let mut big = pdf();
                    big.resize(10 * 1024 * 1024 + 200 * 1024, b' ');
                    big
                }),
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment.too_large",
            ),
            (
                form(v - 1, "申込書", "a.pdf", pdf()),
                StatusCode::CONFLICT,
                "conflict.stale_version",
            ),
            (
                form(v, " ", "a.pdf", pdf()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid",
            ),
            (
                Form::new()
                    .text("expected_version", v.to_string())
                    .text("kind", "signed_application")
                    .text("title", "申込書")
                    .text("received_on", day(1))
                    .part("file", Part::bytes(pdf()).file_name("a.pdf")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "date.in_future",
            ),
            (
                Form::new()
                    .text("expected_version", v.to_string())
                    .text("kind", "signed_application")
                    .text("title", "申込書")
                    .text("received_on", day(0)),
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment.empty",
            ),
        ];
        for (form, status, code) in refusals {
            let (s, body) = worker.upload(&case, form).await;
            assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
            let message = body["message"].as_str().unwrap();
            assert!(
                message
                    .chars()
                    .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)),
                "{message}"
            );
        }
        // Not multipart at all: a clear 415.
        let (s, body) = worker
            .post(&format!("/api/cases/{case}/attachments"), json!({}))
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("request.content_type")
            )
        );
        // Nothing was written: the same version, no attachment, no file row (verify compares
        // the stored files with the events).
        assert_eq!(version(&worker, &case).await, v);
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["attachments"], json!([]));
        db.finish().await;
    }
}

/// The page: a multipart form carrying its CSRF token as a field, the list with the document,
/// and a refusal shown on the form with the Japanese reason beside the file field.
#[tokio::test]
async fn the_attachment_page_uploads_lists_and_refuses_inline() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (_, case) = new_case(&worker).await;
        let v = version(&worker, &case).await;
        let page_form = |csrf: &str, content: Vec<u8>| {
            Form::new()
                .text("csrf_token", csrf.to_owned())
                .text("expected_version", v.to_string())
                .text("kind", "consent_form")
                .text("title", "本人同意書（署名済）")
                .text("received_on", "令和7年4月1日")
                .part("file", Part::bytes(content).file_name("同意書.png"))
        };
        let png = {
            let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            p.extend_from_slice(&[0; 17]);
            p
        };
        let post = |form: Form| {
            worker
                .client
                .post(format!("{}/cases/{case}/attachments", w.base))
                .multipart(form)
                .send()
        };

        // Without the session's token (a forged cross-site form): refused, nothing written.
        let res = post(page_form("not-the-token", png.clone())).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(version(&worker, &case).await, v);

        // A text file: the page again (422) with the reason beside the file and the title kept.
        let res = post(page_form(&worker.csrf, b"hello".to_vec()))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("添付できるのはPDF・JPEG・PNGのファイルです"),
            "{html}"
        );
        assert!(html.contains("attachment.type_not_allowed"));
        assert!(html.contains("id=\"f-file-err\""));
        assert!(html.contains("value=\"本人同意書（署名済）\""));

        // Too large for the page form as well: the limit is named.
        let mut big = png.clone();
        big.resize(11 * 1024 * 1024, 0);
        let res = post(page_form(&worker.csrf, big)).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let html = res.text().await.unwrap();
        assert!(html.contains("1件10MBまで") && html.contains("attachment.too_large"));
        assert_eq!(version(&worker, &case).await, v);

        // The real upload: redirected to the list, which names it; the case page counts it.
        let res = post(page_form(&worker.csrf, png.clone())).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.url().path().ends_with("/attachments"));
        let html = res.text().await.unwrap();
        assert!(html.contains("本人同意書（署名済）"), "{html}");
        assert!(html.contains("令和7年4月1日"));
        assert!(html.contains("同意書.png（PNG、"));
        let (_, html) = worker.page(&format!("/cases/{case}")).await;
        assert!(html.contains("添付書類（1件）"));
        assert!(html.contains("書類の添付"), "the timeline shows it");

        // Hello Work is not on the team: the page is the not-found page.
        let hw = w.login("hw").await;
        let (s, _) = hw.page(&format!("/cases/{case}/attachments")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        db.finish().await;
    }
}
