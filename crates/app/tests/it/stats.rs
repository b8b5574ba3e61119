//! The national indicators (issue 14, item 2; `docs/COUNTING.md`): three synthetic months across
//! a fiscal year's boundary (March, April and May 2026), each answer worked out by hand below,
//! on SQLite and PostgreSQL.

use serde_json::{Value, json};
use tsunagu_app::stats;

use crate::harness::*;

/// Days from today to `date` (YYYY-MM-DD), as the harness's `day` offsets count.
fn at(date: &str) -> i64 {
    let d: jiff::civil::Date = date.parse().unwrap();
    (d - tsunagu_app::today()).get_days().into()
}

#[tokio::test]
async fn the_national_indicators_of_three_months_across_a_fiscal_year_are_worked_out_by_hand() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let admin = t.user("admin").await;
        let mut settings = serde_json::to_value(&admin.caller.settings).unwrap();
        settings["population"] = json!(50_000);
        admin.put_settings(settings).await.unwrap();
        // The lead reads the settings as they are now.
        let lead = t.user("lead").await;

        // A case received on `received`, triaged, assessed and screened the next days, its plan
        // (an employment-support plan when `es`) drafted on `drafted` and approved on
        // `approved`, support started on `approved` too.
        let planned = |name: &'static str,
                       received: &'static str,
                       drafted: &'static str,
                       approved: &'static str,
                       es: bool| {
            let worker = &worker;
            async move {
                let person = worker.new_person(name).await;
                let case = worker.new_case(&person, at(received)).await;
                let next = |n: i64| day(at(received) + n);
                worker.ok(&case, json!({"action": "triage", "triaged_on": next(1), "outcome": {"outcome": "continue"}})).await;
                worker.ok(&case, json!({"action": "record_assessment", "assessment": {
                    "assessed_on": next(2), "baseline": "仕事を探している", "main_issues": "就労"}})).await;
                worker.ok(&case, json!({"action": "screen", "screened_on": next(3), "outcome": {"outcome": "continue"}})).await;
                let mut p = plan(at(drafted), None);
                p["plan"]["employment_support"] = json!(es);
                worker.ok(&case, p).await;
                worker.approve_first_plan(w, &case, at(approved)).await;
                worker
                    .ok(
                        &case,
                        json!({"action": "start_support", "started_on": day(at(approved))}),
                    )
                    .await;
                case
            }
        };
        let outcome = |case: String, on: &'static str, outcome: Value| {
            let worker = &worker;
            async move {
                worker.ok(&case, json!({"action": "record_employment_outcome", "outcome": outcome, "achieved_on": day(at(on))})).await;
            }
        };
        let employed = json!({"kind": "employed", "form": "general"});
        let raised = json!({"kind": "income_increased", "band": "from_10k_to_30k"});

        // A: received 10 March, an employment-support plan approved 25 March (fiscal 2025);
        // employed 15 April and a higher income 10 May, both under that plan.
        let a = planned("統計 あ", "2026-03-10", "2026-03-20", "2026-03-25", true).await;
        outcome(a.clone(), "2026-04-15", employed.clone()).await;
        outcome(a.clone(), "2026-05-10", raised.clone()).await;
        // B: received 5 April, an employment-support plan approved 20 April; employed 25 April
        // and again (another job) 2 May.
        let b = planned("統計 い", "2026-04-05", "2026-04-10", "2026-04-20", true).await;
        outcome(b.clone(), "2026-04-25", employed.clone()).await;
        outcome(b.clone(), "2026-05-02", employed.clone()).await;
        // C: received 28 April, nothing more.
        let c = worker.new_person("統計 う").await;
        worker.new_case(&c, at("2026-04-28")).await;
        // D: received 3 May; a higher income 20 May before any plan.
        let d = worker.new_person("統計 え").await;
        let d = worker.new_case(&d, at("2026-05-03")).await;
        worker.ok(&d, json!({"action": "triage", "triaged_on": day(at("2026-05-04")), "outcome": {"outcome": "continue"}})).await;
        outcome(d, "2026-05-20", raised.clone()).await;

        // Evaluations (R8): A's on 28 April saw a change (住まいの確保・安定化); B's on 12 May
        // saw none.
        worker.ok(&a, json!({"action": "record_evaluation", "evaluated_on": day(at("2026-04-28")),
            "goals": [], "summary": "住まいが安定した", "observed_changes": ["housing"],
            "connection": {"motivation": 3, "self_esteem": 2, "relationships": 3, "participation": 2, "consultation": 4}})).await;
        worker
            .ok(
                &b,
                json!({"action": "record_evaluation", "evaluated_on": day(at("2026-05-12")),
            "goals": [], "summary": "変化はまだない"}),
            )
            .await;
        // A change the tenant's list does not have, or a score outside 1–4: refused.
        let c2 = planned("統計 お", "2026-04-06", "2026-04-07", "2026-04-08", false).await;
        worker
            .refused(
                &c2,
                json!({"action": "record_evaluation", "evaluated_on": day(at("2026-05-01")),
            "goals": [], "summary": "-", "observed_changes": ["no_such_change"]}),
                "evaluation.unknown_change",
            )
            .await;
        worker.refused(&c2, json!({"action": "record_evaluation", "evaluated_on": day(at("2026-05-01")),
            "goals": [], "summary": "-", "connection": {"motivation": 5, "self_esteem": 2, "relationships": 3, "participation": 2, "consultation": 4}}),
            "evaluation.score_out_of_range").await;

        let report = |fy: i16| {
            let lead = &lead;
            async move {
                serde_json::to_value(stats::national(&lead.app, &lead.caller, fy).await.unwrap())
                    .unwrap()
            }
        };
        let counts = |v: &Value| -> [u64; 7] {
            [
                "new_consultations",
                "plans",
                "employment_support_subjects",
                "employed",
                "employed_under_support",
                "income_increased",
                "income_increased_under_support",
            ]
            .map(|k| v["counts"][k].as_u64().unwrap())
        };

        // Fiscal 2025 ends in March: A's consultation and plan (an employment-support one).
        let fy25 = report(2025).await;
        let months = fy25["months"].as_array().unwrap();
        assert_eq!(months.len(), 12, "{}", db.name);
        assert_eq!(months[11]["month"], "2026-03");
        assert_eq!(counts(&months[11]), [1, 1, 1, 0, 0, 0, 0], "{}", db.name);
        assert_eq!(counts(&months[10]), [0; 7]);
        assert_eq!(counts(&fy25["year"]), [1, 1, 1, 0, 0, 0, 0]);
        // No outcome of the year's one subject: a rate of 0.
        assert_eq!(fy25["year"]["employment_or_income_rate"], 0.0);
        // 1 consultation in a month of 50,000 inhabitants: 2 per 100,000.
        assert_eq!(months[11]["per_100k_month"]["new_consultations"], 2.0);

        // Fiscal 2026 starts in April.
        let fy26 = report(2026).await;
        let months = fy26["months"].as_array().unwrap();
        assert_eq!(months[0]["month"], "2026-04");
        // April: B, C and E received; B's plan (employment support) and E's (not); A and B
        // employed, both under their plans.
        assert_eq!(counts(&months[0]), [3, 2, 1, 2, 2, 0, 0], "{}", db.name);
        // (2 + 0) / 1.
        assert_eq!(months[0]["employment_or_income_rate"], 2.0);
        // April: A evaluated, with a change: 1 of 1. May: B evaluated, without: 0 of 1.
        let improvement = |v: &Value| {
            (
                v["counts"]["evaluated"].as_u64().unwrap(),
                v["counts"]["improved"].as_u64().unwrap(),
                v["improvement_rate"].clone(),
            )
        };
        assert_eq!(improvement(&months[0]), (1, 1, json!(1.0)), "{}", db.name);
        assert_eq!(improvement(&months[1]), (1, 0, json!(0.0)), "{}", db.name);
        // The year: A and B evaluated, A improved.
        assert_eq!(
            improvement(&fy26["year"]),
            (2, 1, json!(0.5)),
            "{}",
            db.name
        );
        assert_eq!(improvement(&fy25["year"]), (0, 0, Value::Null));
        // May: D received; B employed again (under support); A's income (under support) and
        // D's (no plan).
        assert_eq!(counts(&months[1]), [1, 0, 0, 1, 1, 2, 1], "{}", db.name);
        assert_eq!(months[1]["employment_or_income_rate"], Value::Null);
        // The year so far: B employed in two months counts once; (2 + 1) / 1.
        assert_eq!(counts(&fy26["year"]), [4, 2, 1, 2, 2, 2, 1], "{}", db.name);
        assert_eq!(fy26["year"]["employment_or_income_rate"], 3.0);
        // 4 consultations over the months so far, per 100,000 and month.
        let n = months.len() as f64;
        let per = fy26["year"]["per_100k_month"]["new_consultations"]
            .as_f64()
            .unwrap();
        assert!((per - 4.0 * 2.0 / n).abs() < 1e-9, "{per} over {n} months");
        assert_eq!(fy26["benchmarks"]["new_consultations"], 24);

        // Counts only: a support worker gets none.
        assert!(
            stats::national(&worker.app, &worker.caller, 2026)
                .await
                .is_err()
        );
        db.finish().await;
    }
}

/// New consultations broken down (R9): three received in fiscal 2026 and one in March 2026
/// (fiscal 2025, not counted), each by hand.
#[tokio::test]
async fn new_consultations_are_broken_down_by_problem_route_age_sex_and_issue() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let worker = t.user("worker").await;
        let lead = t.user("lead").await;
        let consult =
            |details: Value, received: &'static str, route: &'static str, problem: &'static str| {
                let worker = &worker;
                async move {
                    let person = worker.register(details).await.unwrap();
                    worker
                        .open(json!({"person_id": person, "intake": {
                        "received_on": day(at(received)), "route": route,
                        "presenting_problems": [{"code": problem, "main": true}],
                        "urgency": "normal"}}))
                        .await
                        .unwrap()
                }
            };
        // The 課題 of an assessment on `on`.
        let assess = |case: String, on: &'static str, issues: Value| {
            let worker = &worker;
            async move {
                worker.ok(&case, json!({"action": "record_assessment", "assessment": {
                    "assessed_on": day(at(on)), "baseline": "-", "main_issues": "-", "issues": issues}})).await;
            }
        };
        // Aged 46 on 5 April, a woman, by phone, about debts; assessed with two 課題.
        let first = consult(
            json!({"name": "内訳 あ", "date_of_birth": "1980-01-01", "sex": "female"}),
            "2026-04-05",
            "self_phone",
            "debt",
        )
        .await;
        worker.ok(&first, json!({"action": "triage", "triaged_on": day(at("2026-04-06")), "outcome": {"outcome": "continue"}})).await;
        // Ticked in another order than the checklist's, and one twice: kept once, in order.
        assess(
            first.clone(),
            "2026-04-07",
            json!(["debt", "financial_hardship", "debt"]),
        )
        .await;
        let assessed = worker.assessments(&first).await;
        assert_eq!(
            assessed[0]["assessment"]["issues"],
            json!(["financial_hardship", "debt"]),
            "{}",
            db.name
        );
        worker
            .refused(
                &first,
                json!({"action": "record_assessment", "assessment": {
                    "assessed_on": day(at("2026-04-08")), "baseline": "-", "main_issues": "-", "issues": ["no_such_issue"]}}),
                "assessment.unknown_issue",
            )
            .await;
        // Aged 19 the day before turning 20, a man, sent by the tax office, about housing;
        // assessed twice: the newest assessment's 課題 count, not the first's.
        let second = consult(
            json!({"name": "内訳 い", "date_of_birth": "2006-05-11", "sex": "male"}),
            "2026-05-10",
            "municipal_department",
            "housing",
        )
        .await;
        worker.ok(&second, json!({"action": "triage", "triaged_on": day(at("2026-05-11")), "outcome": {"outcome": "continue"}})).await;
        assess(second.clone(), "2026-05-12", json!(["illness"])).await;
        assess(second.clone(), "2026-05-19", json!(["financial_hardship"])).await;
        // No date of birth, no sex, by phone, about housing.
        consult(
            json!({"name": "内訳 う"}),
            "2026-05-20",
            "self_phone",
            "housing",
        )
        .await;
        // March 2026 belongs to fiscal 2025.
        consult(
            json!({"name": "内訳 え", "sex": "female"}),
            "2026-03-31",
            "self_visit",
            "debt",
        )
        .await;

        let b = serde_json::to_value(
            stats::consultations(&lead.app, &lead.caller, 2026)
                .await
                .unwrap(),
        )
        .unwrap();
        let items = |k: &str| -> Vec<(String, u64)> {
            b[k].as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["label"].as_str().unwrap().to_owned(),
                        i["count"].as_u64().unwrap(),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        let s = |v: &[(&str, u64)]| {
            v.iter()
                .map(|(l, n)| ((*l).to_owned(), *n))
                .collect::<Vec<_>>()
        };
        assert_eq!(b["total"], 3, "{}", db.name);
        assert_eq!(
            items("by_main_problem"),
            s(&[("住まいについて", 2), ("債務について", 1)])
        );
        assert_eq!(
            items("by_route"),
            s(&[("本人（電話）", 2), ("自治体の他部署からの紹介", 1)])
        );
        assert_eq!(
            items("by_age_band"),
            s(&[("19歳以下", 1), ("40代", 1), ("不明", 1)])
        );
        assert_eq!(
            items("by_sex"),
            s(&[("未記入", 1), ("女性", 1), ("男性", 1)])
        );
        // 課題 (R9): a case under each of its newest assessment's 課題; the third has none.
        assert_eq!(
            items("by_issue"),
            s(&[
                ("経済的困窮", 2),
                ("課題の記録なし", 1),
                ("（多重・過重）債務", 1)
            ])
        );
        // Counts only: a support worker gets none.
        assert!(
            stats::consultations(&worker.app, &worker.caller, 2026)
                .await
                .is_err()
        );
        db.finish().await;
    }
}

/// The process figures (R11–R14): three cases of fiscal 2026 and one closed in fiscal 2025,
/// every figure worked out by hand.
#[tokio::test]
async fn process_figures_of_stages_monitoring_referrals_and_closures_are_worked_out_by_hand() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let lead = t.user("lead").await;
        let on = |d: &str| day(at(d));

        // P: received 1 April, triaged 4 April (相談受付: 3 days), assessed 6 April, screened
        // 10 April (アセスメント: 6 days), plan approved and support started 20 April
        // (プラン策定: 10 days; 支援決定 entered and left the same day: 0 days). The first
        // monitoring is due 14 days after the start, 4 May: done 1 May, on time. The next is
        // due a month later, 1 June: done 6 June, 5 days late.
        let p = worker.new_person("経過 あ").await;
        let p = worker.new_case(&p, at("2026-04-01")).await;
        worker.ok(&p, json!({"action": "triage", "triaged_on": on("2026-04-04"), "outcome": {"outcome": "continue"}})).await;
        worker
            .ok(
                &p,
                json!({"action": "record_assessment", "assessment": {
            "assessed_on": on("2026-04-06"), "baseline": "-", "main_issues": "-"}}),
            )
            .await;
        worker.ok(&p, json!({"action": "screen", "screened_on": on("2026-04-10"), "outcome": {"outcome": "continue"}})).await;
        worker.ok(&p, plan(at("2026-04-12"), None)).await;
        worker.approve_first_plan(w, &p, at("2026-04-20")).await;
        worker
            .ok(
                &p,
                json!({"action": "start_support", "started_on": on("2026-04-20")}),
            )
            .await;
        let monitor = |d: &str| json!({"action": "record_monitoring", "monitored_on": on(d), "kind": "scheduled", "progress": "-", "outcome": "continue"});
        worker.ok(&p, monitor("2026-05-01")).await;
        worker.ok(&p, monitor("2026-06-06")).await;

        // Q: received 10 April, triaged 19 April (相談受付: 9 days); two referrals, on 20 and
        // 21 April; the first confirmed 27 April (7 days), the second still open.
        let q = worker.new_person("経過 い").await;
        let q = worker.new_case(&q, at("2026-04-10")).await;
        worker.ok(&q, json!({"action": "triage", "triaged_on": on("2026-04-19"), "outcome": {"outcome": "continue"}})).await;
        for (d, to) in [("2026-04-20", "法テラス"), ("2026-04-21", "ハローワーク")] {
            worker.ok(&q, json!({"action": "make_referral", "referral": {"to_name": to, "purpose": "-", "referred_on": on(d), "follow_up_on": on("2026-05-31")}})).await;
        }
        let referral = worker.case(&q).await.unwrap()["state"]["referrals"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        worker.ok(&q, json!({"action": "confirm_referral", "referral_id": referral, "confirmed_on": on("2026-04-27")})).await;

        // R: received 1 May, closed at triage on 2 May with information only (相談受付: 1
        // day; 終結 情報提供のみ, 1 day after opening).
        let r = worker.new_person("経過 う").await;
        let r = worker.new_case(&r, at("2026-05-01")).await;
        worker.ok(&r, json!({"action": "triage", "triaged_on": on("2026-05-02"), "outcome": {"outcome": "information_only", "note": "制度の案内"}})).await;

        // S: received and closed in March 2026 (fiscal 2025): counted in neither figure of
        // fiscal 2026.
        let s = worker.new_person("経過 え").await;
        let s = worker.new_case(&s, at("2026-03-20")).await;
        worker.ok(&s, json!({"action": "triage", "triaged_on": on("2026-03-30"), "outcome": {"outcome": "information_only", "note": "-"}})).await;

        let report = stats::process(&lead.app, &lead.caller, 2026).await.unwrap();
        let f = &report.figures;
        let stage = |st: tsunagu_core::case::Stage| {
            f.stages
                .iter()
                .find(|(s, _)| *s == st)
                .map(|(_, d)| (d.count, d.median_days, d.max_days))
        };
        use tsunagu_core::case::Stage;
        assert_eq!(
            stage(Stage::Intake),
            Some((3, Some(3.0), Some(9))),
            "{}",
            db.name
        );
        assert_eq!(stage(Stage::Assessment), Some((1, Some(6.0), Some(6))));
        assert_eq!(stage(Stage::Planning), Some((1, Some(10.0), Some(10))));
        assert_eq!(stage(Stage::Decision), Some((1, Some(0.0), Some(0))));
        // Opened by an intake: no 把握・アウトリーチ stage; support not left yet.
        assert_eq!(stage(Stage::Identified), None);
        assert_eq!(stage(Stage::Support), None);
        assert_eq!(f.monitoring_on_time, 1);
        assert_eq!(
            (f.monitoring_late.count, f.monitoring_late.max_days),
            (1, Some(5))
        );
        assert_eq!(f.monitoring_unscheduled, 0);
        // P's next monitoring was due a month after 6 June: overdue now.
        assert_eq!(report.monitoring_overdue_now, 1);
        assert_eq!(f.referrals, 2);
        assert_eq!(
            (
                f.referrals_confirmed.count,
                f.referrals_confirmed.median_days
            ),
            (1, Some(7.0))
        );
        assert_eq!(f.referrals_open, 1);
        let closed: Vec<(&str, u64)> = f
            .closures
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| (p.as_str(), *n))
            .collect();
        assert_eq!(closed, vec![("information_only", 1)]);
        assert_eq!(f.closed_after.max_days, Some(1));
        // Every case is the worker's; two of the four are open (P and Q).
        assert_eq!(report.open_cases_per_worker, vec![2]);
        // The year before holds S alone: 10 days at intake, closed after 10.
        let before = stats::process(&lead.app, &lead.caller, 2025).await.unwrap();
        assert_eq!(
            before.figures.stages,
            vec![(
                Stage::Intake,
                tsunagu_core::stats::Durations {
                    count: 1,
                    median_days: Some(10.0),
                    max_days: Some(10)
                }
            )]
        );
        // Counts only: a support worker gets none.
        assert!(
            stats::process(&worker.app, &worker.caller, 2026)
                .await
                .is_err()
        );
        // `finish` verifies the process rows are as the fold gives them.
        db.finish().await;
    }
}
