//! 就労支援 and its outcomes through the pages (issue 14, item 1): a plan marks the person a
//! subject of employment support (就労支援対象), the employment support worker's work and the
//! outcomes (就労・増収) are recorded on the case's forms, each outcome naming its plan on the
//! timeline, and a form missing what its choice needs says so beside the field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_plan_marks_employment_support_and_outcomes_are_recorded_through_the_pages() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let case = worker.planning_case("就労 七海").await;
        let version = || async {
            worker.get(&format!("/api/cases/{case}")).await.1["version"]
                .as_u64()
                .unwrap()
        };

        // The plan editor offers 就労支援対象; ticked, the plan carries it.
        let path = format!("/cases/{case}/act/draft_plan");
        let (_, html) = worker.page(&path).await;
        assert!(
            html.contains("name=\"employment_support\" value=\"1\">"),
            "offered, not ticked: {html}"
        );
        let plan = |ticked: bool| {
            let mut v: Vec<(&str, String)> = vec![
                ("drafted_on", day(-16)),
                ("period_from", day(-16)),
                ("period_to", day(150)),
                ("goal1", "就職活動を始める".into()),
                ("item1_description", "ハローワークへ同行する".into()),
                ("item1_goal", "1".into()),
                ("item1_provider", "ハローワーク".into()),
                ("item1_responsible", "就労 次郎".into()),
                ("item1_deadline", day(30)),
            ];
            if ticked {
                v.push(("employment_support", "1".into()));
            }
            v
        };
        let mut fields = plan(true);
        fields.push(("expected_version", version().await.to_string()));
        let (s, at, html) = worker.form(&path, &fields).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(at, format!("/cases/{case}"), "{html}");
        let (_, plans) = worker.get(&format!("/api/cases/{case}/plans")).await;
        assert_eq!(plans[0]["plan"]["employment_support"], true, "{plans}");
        // A new version opens ticked as the plan is; unticked, the new version is not.
        let (_, html) = worker.page(&path).await;
        assert!(
            html.contains("name=\"employment_support\" value=\"1\" checked>"),
            "{html}"
        );
        let mut fields = plan(false);
        fields.push(("expected_version", version().await.to_string()));
        let (s, _, html) = worker.form(&path, &fields).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        let (_, plans) = worker.get(&format!("/api/cases/{case}/plans")).await;
        assert_eq!(plans[1]["plan"]["version"], 2, "{plans}");
        assert!(
            plans[1]["plan"].get("employment_support").is_none(),
            "{plans}"
        );

        // The employment support worker's work, on its form.
        let (s, at, html) = worker
            .form(
                &format!("/cases/{case}/act/record_employment_support"),
                &[
                    ("expected_version", version().await.to_string()),
                    ("kind", "interview_preparation".into()),
                    ("provided_on", day(-10)),
                    ("note", "模擬面接をした".into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(at, format!("/cases/{case}"), "{html}");

        // 就労 without its form: said beside the field, nothing written.
        let outcome_path = format!("/cases/{case}/act/record_employment_outcome");
        let before = version().await;
        let (s, _, html) = worker
            .form(
                &outcome_path,
                &[
                    ("expected_version", before.to_string()),
                    ("outcome", "employed".into()),
                    ("achieved_on", day(-5)),
                    ("band", String::new()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let err = html.find("id=\"f-form-err\"").expect("beside 就労の形態");
        assert!(html[err..].contains("就労の形態"), "{html}");
        assert!(!html.contains("id=\"f-band-err\""), "{html}");
        assert_eq!(version().await, before);
        let (s, _, html) = worker
            .form(
                &outcome_path,
                &[
                    ("expected_version", before.to_string()),
                    ("outcome", "employed".into()),
                    ("achieved_on", day(-5)),
                    ("form", "part_time".into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        // The API refuses a form it does not know, with a code.
        let (s, body) = worker
            .cmd(
                &case,
                json!({"action": "record_employment_outcome", "achieved_on": day(-4),
                    "outcome": {"kind": "employed", "form": "full_time"}}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["code"].as_str().unwrap().starts_with("request."),
            "{body}"
        );

        // The timeline names both, the outcome with the plan it belongs to (the draft in force
        // here is version 2, which is not an employment-support plan).
        let (_, page) = worker.page(&format!("/cases/{case}")).await;
        assert!(page.contains("面接の準備・練習 模擬面接をした"), "{page}");
        assert!(
            page.contains("就労（パート・アルバイト）（第2版のプラン）"),
            "{page}"
        );
        // The case's facts list its outcomes.
        assert!(
            page.contains("<dt>就労・増収</dt><dd>就労（パート・アルバイト） "),
            "{page}"
        );
        // The plan print says whether the plan is an employment-support plan.
        let (_, print) = worker.page(&format!("/cases/{case}/print/plan")).await;
        assert!(print.contains("就労支援対象"), "{print}");
        db.finish().await;
    }
}

/// The national indicators through the API and the page (issue 14, item 2): counts without
/// names for the lead (and the city), refused to a support worker; the page shows the year's
/// table with the outcome just recorded.
#[tokio::test]
async fn the_national_indicators_are_served_as_json_and_as_a_table() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let case = worker.planning_case("統計 八雲").await;
        worker
            .ok(
                &case,
                json!({"action": "record_employment_outcome", "achieved_on": day(-1),
                    "outcome": {"kind": "employed", "form": "general"}}),
            )
            .await;
        let (s, report) = lead.get("/api/stats/national").await;
        assert_eq!(s, StatusCode::OK, "{report}");
        let year = &report["year"]["counts"];
        assert!(year["employed"].as_u64().unwrap() >= 1, "{report}");
        assert!(year["new_consultations"].as_u64().unwrap() >= 1, "{report}");
        let (s, _) = worker.get("/api/stats/national").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = lead.get("/api/stats/national?fiscal_year=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        let (s, html) = lead.page("/stats").await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("<th scope=\"col\">就労者数</th>"), "{html}");
        assert!(html.contains("<th scope=\"row\">年度計</th>"), "{html}");
        assert!(html.contains("<a href=\"/stats\">統計</a>"), "{html}");
        // New consultations broken down, with its files.
        assert!(html.contains("新規相談の内訳"), "{html}");
        assert!(
            html.contains("aria-label=\"新規相談の主訴別件数\""),
            "{html}"
        );
        let (s, csv) = lead.page("/stats/consultations.csv").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            csv.starts_with("\u{feff}区分,項目,新規相談受付件数"),
            "{csv}"
        );
        assert!(
            csv.contains("\r\n年代,不明,") && csv.contains("\r\n性別,未記入,"),
            "{csv}"
        );
        let (s, _) = worker.page("/stats/consultations.csv").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // The process figures (R11–R14): the case just planned left 相談受付 and アセスメント.
        assert!(
            html.contains("<th scope=\"row\">相談受付・振り分け</th>"),
            "{html}"
        );
        assert!(
            html.contains("<svg class=\"chart\" id=\"chart-stages\""),
            "{html}"
        );
        let (s, process) = lead.get("/api/stats/process").await;
        assert_eq!(s, StatusCode::OK, "{process}");
        let left = |stage: &str| {
            process["stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x[0] == stage)
                .map_or(0, |x| x[1]["count"].as_u64().unwrap())
        };
        assert!(left("intake") >= 1 && left("assessment") >= 1, "{process}");
        assert!(
            process["open_cases_per_worker"][0].as_u64().unwrap() >= 1,
            "{process}"
        );
        let (s, csv) = lead.page("/stats/process.csv").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            csv.starts_with(
                "\u{feff}区分,項目,件数,中央値,最長・最多\r\n段階の滞在日数,相談受付・振り分け,"
            ),
            "{csv}"
        );
        let (s, _) = worker.get("/api/stats/process").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // The charts, drawn on the server: the counts, and the outcomes with this month's
        // employment as a bar of its own.
        assert!(
            html.contains("<svg class=\"chart\" id=\"chart-counts\""),
            "{html}"
        );
        let this_month = format!("{}月 就労者数: ", tsunagu_app::today().month());
        let bar = html
            .split(&this_month)
            .nth(1)
            .unwrap_or_else(|| panic!("{html}"));
        let employed: u64 = bar.split('<').next().unwrap().parse().unwrap();
        assert!(employed >= 1, "{bar}");
        // A month's name leads to the cases opened in it, as far as the lead may read them.
        let (_, view) = lead.get(&format!("/api/cases/{case}")).await;
        let opened = view["state"]["opened_on"].as_str().unwrap()[..7].to_owned();
        let link = format!("/cases?month={opened}&#38;status=all");
        assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
        let (s, list) = lead.page(&link.replace("&#38;", "&")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(list.contains(&format!("href=\"/cases/{case}\"")), "{list}");
        let (_, none) = lead.page("/cases?month=2015-04&status=all").await;
        assert!(!none.contains(&format!("href=\"/cases/{case}\"")));
        let (_, html) = worker.page("/").await;
        assert!(!html.contains("<a href=\"/stats\">"), "{html}");

        // The same table as CSV for Excel: a byte-order mark, the headers, a row a month and
        // the year's; refused to a support worker.
        let (s, csv) = lead.page("/stats/national.csv").await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        assert!(
            csv.starts_with("\u{feff}月,新規相談受付件数,プラン作成件数,"),
            "{csv}"
        );
        let year = csv.lines().last().unwrap();
        assert!(year.starts_with("年度計,"), "{csv}");
        let employed: u64 = year.split(',').nth(4).unwrap().parse().unwrap();
        assert!(employed >= 1, "{csv}");
        let (s, _) = worker.page("/stats/national.csv").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // And as an xlsx workbook, the counts as numbers.
        use calamine::Reader;
        let mut book = lead.workbook("/stats/national.xlsx").await;
        let sheet = book.worksheet_range("支援状況調査").unwrap();
        let last = sheet.height() - 1;
        assert_eq!(
            sheet.get((last, 0)),
            Some(&calamine::Data::String("年度計".into()))
        );
        match sheet.get((last, 4)) {
            Some(calamine::Data::Float(n)) => assert!(*n >= 1.0),
            other => panic!("就労者数: {other:?}"),
        }
        let (s, _) = worker.page("/stats/national.xlsx").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        db.finish().await;
    }
}

/// 報告の受付 (issue 14, item 8): the municipal department's officer finds the page in the
/// menu and the list through the API; an agency's worker gets 403; a month that cannot be read
/// is refused by code.
#[tokio::test]
async fn the_municipal_officer_reads_the_plans_reported() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let city = w.login("city").await;
        let worker = w.login("worker").await;
        let (s, html) = city.page("/reports").await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("<h1>報告の受付</h1>"), "{html}");
        assert!(
            html.contains("<a href=\"/reports\">報告の受付</a>"),
            "{html}"
        );
        let (s, list) = city.get("/api/reports").await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert!(list.is_array(), "{list}");
        let (s, body) = city.get("/api/reports?month=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "reports.invalid_month");
        let (s, _) = worker.get("/api/reports").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // The page offers the month shown as files; the workbook has the page's columns.
        assert!(html.contains("href=\"/reports.xlsx?month="), "{html}");
        use calamine::Reader;
        let mut book = city.workbook("/reports.xlsx?month=year").await;
        let sheet = book.worksheet_range("報告の受付").unwrap();
        assert_eq!(
            sheet.get((0, 3)),
            Some(&calamine::Data::String("氏名".into()))
        );
        let (s, csv) = city.page("/reports.csv?month=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{csv}");
        // On the page, said beside the field; this month is shown.
        let (s, html) = city.page("/reports?month=abc").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(
            html.contains("id=\"f-month-err\"") && html.contains("aria-invalid=\"true\""),
            "{html}"
        );
        let (s, _) = worker.page("/reports.csv").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, page) = worker.page("/").await;
        assert!(!page.contains("href=\"/reports\""));
        db.finish().await;
    }
}
