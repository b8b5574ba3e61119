//! 取り込み through the page (issue 14, item 9): a file is checked first (every problem by row
//! and column, nothing written), the check's page carries the file on to the import, a column
//! the header does not name is mapped on the page and the mapping is kept, and the same file
//! again adds nothing. Only lead workers import.

use crate::common::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let start = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&start)
        .unwrap_or_else(|| panic!("no {name}: {html}"))
        + start.len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn post(api: &Api, form: Form) -> (StatusCode, String) {
    let res = api
        .client
        .post(format!("{}/import", api.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

fn upload(api: &Api, name: &str, csv: &str) -> Form {
    Form::new()
        .text("csrf_token", api.csrf.clone())
        .text("action", "check")
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name(name.to_owned()),
        )
}

/// The form the check's page offers next, as the browser sends it: the carried file, each
/// column's choice (changed where `change` says), and the button pressed.
fn next(api: &Api, html: &str, action: &str, change: &[(&str, &str)], confirm: bool) -> Form {
    let mut form = Form::new()
        .text("csrf_token", api.csrf.clone())
        .text("file_name", hidden(html, "file_name"))
        .text("file_data", hidden(html, "file_data"))
        .text("action", action.to_owned());
    for i in 0..10 {
        let name = format!("col_{i}");
        if !html.contains(&format!("name=\"{name}\"")) {
            continue;
        }
        let chosen = change
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| {
                // The option selected in the page.
                let select = html.split(&format!("name=\"{name}\">")).nth(1).unwrap();
                let select = select.split("</select>").next().unwrap();
                select
                    .split("<option value=\"")
                    .find(|o| o.contains("\" selected>"))
                    .map(|o| o.split('"').next().unwrap().to_owned())
                    .unwrap_or_default()
            });
        form = form.text(name, chosen);
    }
    if confirm {
        form = form.text("confirm_duplicates", "on");
    }
    form
}

async fn persons_named(api: &Api, name: &str) -> usize {
    let (_, found) = api.get(&format!("/api/persons?name={name}")).await;
    found.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_file_is_checked_mapped_imported_once_through_the_page() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let lead = w.login("lead").await;
        let (s, html) = lead.page("/import").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("href=\"/import\">取り込み</a>"),
            "the menu offers it"
        );
        assert!(html.contains("id=\"f-file\""));

        // A row with a problem: listed by row and column; no import button; nothing written.
        // The page's script sent a token: the rows checked can be asked for under it.
        assert!(
            html.contains("data-progress-url=\"/import/progress\""),
            "{html}"
        );
        let with_error =
            "お客様,生年月日,受付日\r\n頁取込　一子,H2.3.4,R8.4.1\r\n頁取込　二子,2.3.4,\r\n";
        let (s, html) = post(&lead, upload(&lead, "一覧.csv", with_error)).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        // 「お客様」 names no field: the whole file lacks its names.
        assert!(html.contains("import.name_column_missing"), "{html}");
        assert!(!html.contains("id=\"import-go\""));

        // Mapped on the page: 「お客様」 is the name. Row 3's date is still wrong.
        let (s, html) = post(
            &lead,
            next(&lead, &html, "check", &[("col_0", "name")], false),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(
            html.contains(
                "<th scope=\"row\">3行目</th><td>生年月日</td><td>生年月日に元号を付けてください"
            ),
            "{html}"
        );
        assert!(!html.contains("id=\"import-go\""));
        // An import forced past the check is refused, the reasons shown again.
        let (s, again) = post(&lead, next(&lead, &html, "import", &[], false)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.contains("import.has_problems") && again.contains("取り込みませんでした。"));
        assert_eq!(persons_named(&lead, "頁取込").await, 0);

        // Corrected. The mapping is kept only by an import, so it is chosen again; then the
        // import button imports both rows.
        let corrected =
            "お客様,生年月日,受付日\r\n頁取込　一子,H2.3.4,R8.4.1\r\n頁取込　二子,H2.3.4,\r\n";
        let (_, html) = post(&lead, upload(&lead, "一覧.csv", corrected)).await;
        let (s, html) = post(
            &lead,
            next(&lead, &html, "check", &[("col_0", "name")], false),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("id=\"import-go\""), "{html}");
        assert!(html.contains("2人を取り込む"), "{html}");
        let token = "page-progress-0001";
        let (s, html) = post(
            &lead,
            next(&lead, &html, "import", &[], false).text("progress_token", token),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"import-done\""), "{html}");
        // How far it went, as the page's script asked while it waited: both rows checked,
        // then written.
        let (s, progress) = lead.get(&format!("/import/progress?token={token}")).await;
        assert_eq!(s, StatusCode::OK, "{progress}");
        assert_eq!(progress["done"], 2, "{progress}");
        assert_eq!(progress["total"], 2, "{progress}");
        assert_eq!(progress["writing"], true, "{progress}");
        assert_eq!(progress["finished"], true, "{progress}");
        let worker = w.login("worker").await;
        let (s, _) = worker.get(&format!("/import/progress?token={token}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(html.contains("相談者 2人を登録し、ケース 1件"), "{html}");
        assert_eq!(persons_named(&lead, "頁取込").await, 2);
        // Each record names its file and row: the person's history and the case's timeline.
        let (_, found) = lead.get("/api/persons?name=頁取込一子").await;
        let person = found[0]["id"].as_str().unwrap().to_owned();
        let (_, history) = lead.page(&format!("/persons/{person}/history")).await;
        assert!(history.contains("取り込み: 一覧.csv の2行目"), "{history}");
        let (_, view) = lead.get(&format!("/api/persons/{person}")).await;
        let case = view["cases"][0]["id"].as_str().unwrap().to_owned();
        let (_, page) = lead.page(&format!("/cases/{case}")).await;
        assert!(page.contains("取り込み: 一覧.csv の2行目"), "{page}");

        // The mapping is kept: the same header is read as the name without choosing, and the
        // rows are named as imported before; nothing more is offered to import.
        let (s, html) = post(&lead, upload(&lead, "一覧.csv", corrected)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!html.contains("import.name_column_missing"), "{html}");
        assert!(html.contains("<dt>取込済み</dt><dd>2行</dd>"), "{html}");
        assert!(!html.contains("id=\"import-go\""));
        assert_eq!(persons_named(&lead, "頁取込").await, 2);

        // A file that is no table: the reason beside the file field.
        let bad = Form::new()
            .text("csrf_token", lead.csrf.clone())
            .text("action", "check")
            .part("file", Part::bytes(vec![0, 1, 2]).file_name("x.xlsx"));
        let (s, html) = post(&lead, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"f-file-err\"") && html.contains("Excel（xlsx）か CSV"),
            "{html}"
        );
        // No file chosen.
        let none = Form::new()
            .text("csrf_token", lead.csrf.clone())
            .text("action", "check");
        let (s, html) = post(&lead, none).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("取り込むファイルを選んでください。"),
            "{html}"
        );

        // The API: the check as JSON, the import 201 once, then nothing new; a file with a
        // problem 422 with its code.
        let api = |path: &'static str, csv: &'static str| {
            let form = Form::new().part(
                "file",
                Part::bytes(csv.as_bytes().to_vec()).file_name("api.csv"),
            );
            lead.client
                .post(format!("{}{path}", lead.base))
                .header("x-csrf-token", &lead.csrf)
                .multipart(form)
                .send()
        };
        let good = "氏名,生年月日\nAPI取込　一子,1990-01-02\n";
        let res = api("/api/imports/check", good).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let report: serde_json::Value = res.json().await.unwrap();
        assert_eq!(report["new_persons"], 1, "{report}");
        assert_eq!(report["layout"]["columns"][0]["field"], "name", "{report}");
        let res = api("/api/imports", good).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = api("/api/imports", good).await.unwrap();
        let report: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (
                report["new_persons"].as_u64(),
                report["already_imported"][0].as_u64()
            ),
            (Some(0), Some(2)),
            "{report}"
        );
        let res = api("/api/imports", "氏名,生年月日\nAPI取込　二子,1.2.3\n")
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "import.has_problems");
        assert_eq!(persons_named(&lead, "API取込").await, 1);

        // A support worker neither sees nor uses it.
        let worker = w.login("worker").await;
        let (_, html) = worker.page("/").await;
        assert!(!html.contains("href=\"/import\""));
        let (s, _) = post(&worker, upload(&worker, "一覧.csv", corrected)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}
