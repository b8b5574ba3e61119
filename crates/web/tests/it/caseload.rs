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
            html.contains("<p><a href=\"/cases?worker=org&amp;stuck=1\">3件</a>（閲覧できるものから古い順に2件を表示）</p>"),
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

async fn open_with(api: &Api, name: &str, intake: Value) -> (String, String) {
    let (s, p) = api
        .post(
            "/api/persons",
            json!({"details": {"name": name, "kana": name}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, c) = api
        .post(
            "/api/cases",
            json!({"person_id": p["id"], "intake": intake}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    (
        p["id"].as_str().unwrap().to_owned(),
        c["id"].as_str().unwrap().to_owned(),
    )
}

/// The names of a list's cases, in its order.
fn names(list: &Value) -> Vec<String> {
    list["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("no cases: {list}"))
        .iter()
        .map(|c| c["person_name"].as_str().unwrap().to_owned())
        .collect()
}

/// 支援ケース一覧: each filter selects the cases a worker would expect, in the order asked, and
/// only cases the caller may read (a restricted case is not the lead's; a partner sees only
/// the cases its organisation is on the team of); the page and the lead's figures lead into it;
/// a parameter that cannot be read is named.
#[tokio::test]
async fn the_caseload_list_filters_sorts_and_pages_what_the_caller_may_read() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        // A: at intake since 45 days ago, nobody has reached the person since, a referral
        // check overdue since 5 days ago.
        let (_, a) = open_with(
            &worker,
            "一覧 あき",
            json!({"received_on": day(-45), "route": "self_visit", "urgency": "high",
                "presenting_problems": [{"code": "housing", "main": true}]}),
        )
        .await;
        worker
            .ok(
                &a,
                json!({"action": "make_referral", "referral": {"to_name": "法テラス",
                "purpose": "債務の相談", "referred_on": day(-40), "follow_up_on": day(-5)}}),
            )
            .await;
        // B: an emergency referred by a related agency 3 days ago, reached yesterday.
        let (person_b, b) = open_with(
            &worker,
            "一覧 はる",
            json!({"received_on": day(-3), "route": "related_agency", "urgency": "emergency",
                "presenting_problems": [{"code": "housing"}, {"code": "income", "main": true}]}),
        )
        .await;
        worker
            .ok(
                &b,
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1),
                "reached": true, "summary": "電話で様子を聞いた"}),
            )
            .await;
        // C: the lead's own; D: the worker's, restricted to the worker alone.
        let _ = open_with(
            &lead,
            "一覧 ふゆ",
            json!({"received_on": day(-10), "route": "self_phone", "urgency": "normal"}),
        )
        .await;
        let (_, d) = open_with(
            &worker,
            "一覧 なつ",
            json!({"received_on": day(0), "route": "self_visit", "urgency": "low"}),
        )
        .await;
        worker
            .ok(
                &d,
                json!({"action": "restrict", "users": [w.user_id("worker")]}),
            )
            .await;

        // As a database from before the list's columns: migrating folds the cases again and
        // fills them, and verify finds them as the fold makes them.
        db.exec(
            "UPDATE cases SET stage_entered_on = NULL, last_contact_on = NULL, urgency = NULL, \
             main_problem = NULL, intake_route = NULL",
        )
        .await
        .unwrap();
        db.store.migrate().await.unwrap();
        assert_eq!(db.store.verify().await.unwrap(), Vec::<String>::new());

        // The worker's own cases, longest in their stage first.
        let (s, mine) = worker.get("/api/case-list").await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(names(&mine), ["一覧 あき", "一覧 はる", "一覧 なつ"]);
        assert_eq!(mine["total"], 3);
        let first = &mine["cases"][0];
        assert_eq!(first["stage"], "intake");
        assert_eq!(
            first["stage_entered_on"],
            day(-45).as_str(),
            "the business date"
        );
        assert_eq!(first["days_in_stage"], 45);
        assert_eq!(first["stuck"], true, "45 days at intake (threshold 30)");
        assert_eq!(first["urgency"], "high");
        assert_eq!(first["main_problem"], "housing");
        assert_eq!(
            (
                first["overdue_items"].clone(),
                first["overdue_since"].clone()
            ),
            (json!(1), json!(day(-5)))
        );
        assert_eq!(
            mine["cases"][1]["main_problem"], "income",
            "the one marked main"
        );
        assert_eq!(mine["cases"][1]["last_contact_on"], day(-1).as_str());

        for (query, expected) in [
            ("overdue=1", vec!["一覧 あき"]),
            ("urgency=emergency", vec!["一覧 はる"]),
            ("problem=income", vec!["一覧 はる"]),
            ("route=related_agency", vec!["一覧 はる"]),
            ("quiet=30", vec!["一覧 あき"]),
            ("quiet=2", vec!["一覧 あき"]),
            ("stuck=1", vec!["一覧 あき"]),
            (
                "stage=intake,assessment",
                vec!["一覧 あき", "一覧 はる", "一覧 なつ"],
            ),
            ("stage=planning", vec![]),
            ("status=closed", vec![]),
            (
                "status=all&sort=entered_newest",
                vec!["一覧 なつ", "一覧 はる", "一覧 あき"],
            ),
            (
                "sort=contact_oldest",
                vec!["一覧 あき", "一覧 はる", "一覧 なつ"],
            ),
            ("sort=kana", vec!["一覧 あき", "一覧 なつ", "一覧 はる"]),
            ("fy=1999", vec![]),
            ("meeting=1", vec![]),
        ] {
            let (s, list) = worker.get(&format!("/api/case-list?{query}")).await;
            assert_eq!(s, StatusCode::OK, "{query}: {list}");
            assert_eq!(names(&list), expected, "{query}");
            assert_eq!(list["total"], expected.len(), "{query}");
        }
        // The fiscal year a case was opened in (April to March).
        let fy_of = |d: &str| tsunagu_core::wareki::fiscal_year(d.parse().unwrap());
        let (_, list) = worker
            .get(&format!("/api/case-list?fy={}", fy_of(&day(-3))))
            .await;
        assert!(names(&list).contains(&"一覧 はる".to_owned()), "{list}");
        assert_eq!(
            names(&list).contains(&"一覧 あき".to_owned()),
            fy_of(&day(-45)) == fy_of(&day(-3))
        );
        // A later page keeps the count.
        let (_, page) = worker.get("/api/case-list?offset=1").await;
        assert_eq!(names(&page), ["一覧 はる", "一覧 なつ"]);
        assert_eq!(
            (page["total"].clone(), page["offset"].clone()),
            (json!(3), json!(1))
        );

        // The lead sees the organisation's cases but not the one restricted to the worker;
        // one worker's cases through the worker's id.
        let (_, org) = lead.get("/api/case-list").await;
        assert_eq!(names(&org), ["一覧 あき", "一覧 ふゆ", "一覧 はる"]);
        assert_eq!(
            org["total"], 3,
            "the restricted case is neither listed nor counted"
        );
        let (_, one) = lead
            .get(&format!(
                "/api/case-list?worker={}&overdue=1",
                w.user_id("worker")
            ))
            .await;
        assert_eq!(names(&one), ["一覧 あき"]);
        // A partner (Hello Work) sees only the case its organisation was added to.
        let hw = w.login("hw").await;
        let (_, none) = hw.get("/api/case-list?worker=team").await;
        assert_eq!(none["total"], 0, "{none}");
        worker
            .consent(&person_b, &[w.hellowork], &day(-1), None)
            .await;
        worker
            .ok(
                &b,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        let (_, team) = hw.get("/api/case-list?worker=team").await;
        assert_eq!(names(&team), ["一覧 はる"]);
        // The case page tells what the intake said, and that consent is in force.
        let (_, html) = worker.page(&format!("/cases/{b}")).await;
        for told in [
            "<dd>住まいについて、◎収入・生活費のこと</dd>",
            "<dt>緊急度</dt><dd>緊急</dd>",
            "<dd>関係機関からの紹介</dd>",
            "あり（1機関と共有）",
        ] {
            assert!(html.contains(told), "{told}: {html}");
        }

        // Parameters that cannot be read are each named, with the code.
        let (s, body) = worker
            .get("/api/case-list?quiet=abc&urgency=soon&stage=nowhere")
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request.invalid_query")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        for field in ["quiet:", "urgency:", "stage:"] {
            assert!(message.contains(field), "{message}");
        }

        // The page: the lead's overdue figure for the worker leads into the list of that
        // worker's overdue cases.
        let (_, dashboard) = lead.page("/").await;
        let link = format!("/cases?worker={}&amp;overdue=1", w.user_id("worker"));
        assert!(
            dashboard.contains(&format!("href=\"{link}\"")),
            "{dashboard}"
        );
        let (s, html) = lead.page(&link.replace("&amp;", "&")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("該当 1件"), "{html}");
        assert!(
            html.contains(&format!("<a href=\"/cases/{a}\">一覧 あき</a>")),
            "{html}"
        );
        assert!(html.contains("停滞"), "{html}");
        assert!(!html.contains("一覧 はる"));
        // A wrong value is named beside its field, and the list is not shown.
        let (s, html) = worker.page("/cases?quiet=abc&fy=x").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"f-quiet-err\""), "{html}");
        assert!(html.contains("接触のない日数は1〜3650の数字で入力してください"));
        assert!(html.contains("年度は「令和8」「R8」「2026」のように入力してください"));
        assert!(!html.contains("一覧 あき"));

        // What was listed is audited with the persons shown.
        let auditor = w.login("auditor").await;
        let (_, log) = auditor
            .get(&format!("/api/audit?user={}", w.user_id("lead")))
            .await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "case.list" && e["detail"] == "results=3 total=3"),
            "{log}"
        );
        db.finish().await;
    }
}

/// Case numbers (ケース番号): each case opened gets the next number of its tenant and of the
/// fiscal year it opened in, unique even when openings arrive together; the number is on the
/// case page, the prints and the list, and finds the case.
#[tokio::test]
async fn every_case_gets_a_number_of_its_fiscal_year_unique_under_concurrent_openings() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let mut persons = Vec::new();
        for i in 0..8 {
            let (s, p) = worker
                .post(
                    "/api/persons",
                    json!({"details": {"name": format!("番号 {i}")}}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{p}");
            persons.push(p["id"].as_str().unwrap().to_owned());
        }
        // Eight openings at once.
        let mut set = tokio::task::JoinSet::new();
        for p in &persons {
            let (worker, body) = (
                worker.clone(),
                json!({"person_id": p, "intake": {"received_on": day(0), "route": "self_visit",
                "urgency": "normal"}}),
            );
            set.spawn(async move { worker.post("/api/cases", body).await });
        }
        let opened = set.join_all().await;
        let mut seqs = Vec::new();
        let fy = tsunagu_core::wareki::fiscal_year(day(0).parse().unwrap());
        for (s, c) in &opened {
            assert_eq!(*s, StatusCode::CREATED, "{c}");
            let (_, case) = worker
                .get(&format!("/api/cases/{}", c["id"].as_str().unwrap()))
                .await;
            assert_eq!(case["state"]["number"]["fiscal_year"], fy, "{case}");
            seqs.push(case["state"]["number"]["seq"].as_u64().unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=8).collect::<Vec<u64>>(),
            "unique and without gaps"
        );
        // A case received in the previous fiscal year counts in that year's numbers.
        let last_year = tsunagu_core::wareki::fiscal_year(day(-400).parse().unwrap());
        let (_, p) = worker
            .post("/api/persons", json!({"details": {"name": "番号 前年度"}}))
            .await;
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": p["id"], "intake": {"received_on": day(-400),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let old = c["id"].as_str().unwrap().to_owned();
        let (_, case) = worker.get(&format!("/api/cases/{old}")).await;
        assert_eq!(
            case["state"]["number"],
            json!({"fiscal_year": last_year, "seq": 1}),
            "{case}"
        );
        // Shown as 令和…年度-0001 on the case page, its print and the list; found by it.
        let label = tsunagu_core::case::CaseNumber {
            fiscal_year: last_year,
            seq: 1,
        }
        .label();
        assert!(label.ends_with("年度-0001"), "{label}");
        let (_, html) = worker.page(&format!("/cases/{old}")).await;
        assert!(html.contains(&format!("<dd>{label}</dd>")), "{html}");
        let (_, html) = worker.page(&format!("/cases/{old}/print/intake")).await;
        assert!(html.contains(&label), "{html}");
        let typed = format!("R{}-1", last_year - 2018);
        let (s, found) = worker
            .get(&format!("/api/case-list?number={typed}&status=all"))
            .await;
        assert_eq!(s, StatusCode::OK, "{found}");
        assert_eq!(names(&found), ["番号 前年度"]);
        let (_, html) = worker
            .page(&format!("/cases?number={}&status=all", urlencode(&label)))
            .await;
        assert!(html.contains(&format!("<td>{label}</td>")), "{html}");
        let (s, body) = worker.get("/api/case-list?number=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        // verify holds the counters to the numbers given.
        assert_eq!(db.store.verify().await.unwrap(), Vec::<String>::new());
        db.exec("UPDATE case_numbers SET last = 0").await.unwrap();
        let findings = db.store.verify().await.unwrap();
        assert!(
            findings.iter().any(|f| f.starts_with("case_numbers:")),
            "{findings:?}"
        );
        db.exec("UPDATE case_numbers SET last = 100").await.unwrap();
        db.finish().await;
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The caseload list as CSV for Excel (issue 14, item 6): every case the filters select that
/// the caller may read (not one more), a cell that looks like a formula neutralised, a filter
/// that cannot be read refused.
#[tokio::test]
async fn the_caseload_list_exports_as_csv_only_what_the_caller_may_read() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let stranger = w.login("stranger").await;
        worker.new_case("=1+2 書出").await;
        worker.new_case("書出 二郎").await;
        stranger.new_case("他機関 花子").await;

        let res = worker
            .client
            .get(format!("{}/cases.csv?worker=me", worker.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/csv; charset=utf-8"
        );
        let csv = res.text().await.unwrap();
        assert!(
            csv.starts_with("\u{feff}ケース番号,氏名,ふりがな,段階,"),
            "{csv}"
        );
        let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 3, "a header and the worker's two cases: {csv}");
        assert!(csv.contains(",'=1+2 書出,"), "neutralised: {csv}");
        assert!(csv.contains(",書出 二郎,"), "{csv}");
        assert!(!csv.contains("他機関"), "another agency's case: {csv}");
        // The same as an xlsx workbook, read back: the header, the two cases, the name that
        // looks like a formula kept as text.
        use calamine::Reader;
        let mut book = worker.workbook("/cases.xlsx?worker=me&sort=kana").await;
        let sheet = book.worksheet_range("支援ケース一覧").unwrap();
        assert_eq!(sheet.height(), 3);
        assert_eq!(
            sheet.get((0, 1)),
            Some(&calamine::Data::String("氏名".into()))
        );
        let names: Vec<String> = (1..3)
            .map(|r| sheet.get((r, 1)).unwrap().to_string())
            .collect();
        assert!(names.contains(&"=1+2 書出".to_owned()), "{names:?}");
        assert!(names.contains(&"書出 二郎".to_owned()), "{names:?}");
        // 受付日 is a date cell Excel shows in 和暦 (it sorts and filters as a date).
        assert_eq!(
            sheet.get((0, 7)),
            Some(&calamine::Data::String("受付日".into()))
        );
        assert!(
            matches!(sheet.get((1, 7)), Some(calamine::Data::DateTime(_))),
            "{:?}",
            sheet.get((1, 7))
        );
        // The same list to print on A4, audited as printed.
        let (s, printed) = worker.page("/cases/print?worker=me&sort=kana").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            printed.contains("支援ケース一覧")
                && printed.contains("書出 二郎")
                && printed.contains("2件"),
            "{printed}"
        );
        assert!(!printed.contains("段階に入った日"), "{printed}");
        let auditor = w.login("auditor").await;
        let (_, log) = auditor
            .get(&format!("/api/audit?user={}", w.user_id("worker")))
            .await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "case.list_printed" && e["detail"] == "rows=2"),
            "{log}"
        );
        // The other agency's worker sees only their own.
        let (s, theirs) = stranger.page("/cases.csv?worker=org").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            theirs.contains("他機関 花子") && !theirs.contains("書出"),
            "{theirs}"
        );
        // A filter that cannot be read: refused, nothing exported.
        let (s, body) = worker.page("/cases.csv?stage=nowhere").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        db.finish().await;
    }
}

/// The dashboard's due list as CSV and xlsx: the worker's own items, dates in 和暦, nobody
/// else's.
#[tokio::test]
async fn the_due_list_exports_the_worker_s_own_items() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let stranger = w.login("stranger").await;
        let case = worker.new_case("期日 書出").await;
        let other = stranger.new_case("他機関 期日").await;
        // A next appointment agreed puts the case on its worker's due list.
        for (api, case) in [(&worker, &case), (&stranger, &other)] {
            api.ok(
                case,
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1),
                    "reached": true, "summary": "次回の面談を約束した", "next_appointment_on": day(3)}),
            )
            .await;
        }
        let (_, due) = worker.get("/api/due").await;
        assert!(
            due["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["case_id"] == case.as_str()),
            "the case has something due: {due}"
        );
        let (s, csv) = worker.page("/due.csv").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            csv.starts_with("\u{feff}期日,種類,相談者,状況\r\n"),
            "{csv}"
        );
        assert!(csv.contains(",期日 書出,") && csv.contains("令和"), "{csv}");
        assert!(!csv.contains("他機関"), "{csv}");
        use calamine::Reader;
        let mut book = worker.workbook("/due.xlsx").await;
        let sheet = book.worksheet_range("期日一覧").unwrap();
        assert!(sheet.height() >= 2, "a header and the item");
        let (_, html) = worker.page("/").await;
        assert!(
            html.contains("href=\"/due.xlsx\""),
            "offered on the dashboard"
        );
        db.finish().await;
    }
}
