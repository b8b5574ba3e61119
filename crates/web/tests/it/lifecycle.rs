//! Behaviour tests through the HTTP API, on every backend: one case through every stage, each
//! rule of DOMAIN.md broken on purpose, conflicts, idempotency and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_person(api: &Api, name: &str) -> String {
    let (s, body) = api
        .post("/api/persons", json!({"details": {"name": name, "kana": "テスト", "date_of_birth": "1980-04-01", "phone": "090-1111-2222"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn new_case(api: &Api, person: &str, received: i64) -> String {
    let (s, body) = api
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {
            "received_on": day(received), "route": "municipal_department", "referrer": "税務課",
            "presenting_problems": [{"code": "housing", "main": true}, {"code": "job_search"}],
            "urgency": "high"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn plan(days: i64, statutory: Option<&str>) -> Value {
    json!({"action": "draft_plan", "plan": {
        "drafted_on": day(days),
        "goals": ["住まいを確保する", "就職活動を始める"],
        "items": [
            {"description": "住居確保給付金の申請を支援する", "goal": 0, "provider": "自立相談支援機関", "responsible": "相談 一郎", "deadline": day(days + 30), "statutory_service": statutory},
            {"description": "ハローワークへ同行する", "goal": 1, "provider": "ハローワーク", "responsible": "就労 次郎", "deadline": day(days + 60)}
        ],
        "person_role": "週1回求人を確認する",
        "period_from": day(days), "period_to": day(days + 180)}})
}

async fn schedule(api: &Api, w: &World, on: i64) -> String {
    let (s, body) = api
        .post("/api/meetings", json!({"kind": "coordination_meeting", "title": "定例支援調整会議", "scheduled_on": day(on)}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (s, body) = api
        .meeting_cmd(
            &id,
            json!({"action": "record_attendee", "org_id": w.agency, "name": "主任"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    id
}

async fn conclude(
    api: &Api,
    meeting: &str,
    case: &str,
    purpose: &str,
    conclusion: Value,
) -> (StatusCode, Value) {
    let (_, m) = api.get(&format!("/api/meetings/{meeting}")).await;
    let on_agenda = m["state"]["agenda"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["case_id"] == case);
    if !on_agenda {
        let (s, b) = api
            .meeting_cmd(
                meeting,
                json!({"action": "add_agenda_item", "case_id": case, "purpose": purpose}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    api.meeting_cmd(
        meeting,
        json!({"action": "record_conclusion", "case_id": case, "conclusion": conclusion}),
    )
    .await
}

#[tokio::test]
async fn one_case_through_every_stage() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let city = w.login("city").await;
        let person = new_person(&worker, "山田 太郎").await;
        let case = new_case(&worker, &person, -300).await;
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["stage"], "intake");
        // The application and consent may come later: shown as to-dos, not refusals.
        let todos: Vec<&str> = c["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["code"].as_str().unwrap())
            .collect();
        assert!(
            todos.contains(&"receive_application") && todos.contains(&"obtain_consent"),
            "{todos:?}"
        );

        worker
            .consent(&person, &[w.hellowork, w.city], &day(-299), None)
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;
        worker.ok(&case, json!({"action": "record_emergency_support", "kind": "housing_security_benefit", "provided_on": day(-299)})).await;
        worker.ok(&case, json!({"action": "triage", "triaged_on": day(-299), "outcome": {"outcome": "continue"}})).await;
        for (v, days) in [(1, -290), (2, -285)] {
            worker.ok(&case, json!({"action": "record_assessment", "assessment": {
                "assessed_on": day(days), "baseline": format!("版{v}: 家賃を滞納している"), "main_issues": "住まいと仕事",
                "domains": {"housing": "退去を求められている"}}})).await;
        }
        worker.ok(&case, json!({"action": "screen", "screened_on": day(-284), "outcome": {"outcome": "continue"}})).await;
        worker
            .ok(&case, plan(-280, Some("housing_security_benefit")))
            .await;
        let m1 = schedule(&worker, &w, -270).await;
        let (s, b) = worker
            .meeting_cmd(
                &m1,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = conclude(
            &worker,
            &m1,
            &case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 1}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        assert_eq!(c["state"]["stage"], "decision");
        // The municipality decides the statutory service.
        city.ok(&case, json!({"action": "record_support_decision", "service": "housing_security_benefit", "outcome": "approved", "decided_on": day(-265)})).await;
        worker
            .ok(
                &case,
                json!({"action": "start_support", "started_on": day(-260)}),
            )
            .await;
        worker.ok(&case, json!({"action": "record_contact", "kind": "accompaniment", "contacted_on": day(-255), "reached": true, "summary": "ハローワークに同行した"})).await;
        worker.ok(&case, json!({"action": "record_monitoring", "monitored_on": day(-250), "kind": "scheduled", "progress": "給付金の支給が決まった", "outcome": "continue"})).await;
        worker.ok(&case, json!({"action": "record_evaluation", "evaluated_on": day(-100),
            "goals": [{"goal": 0, "attainment": "achieved"}, {"goal": 1, "attainment": "achieved"}], "summary": "就職し、家賃を払えている"})).await;
        let m2 = schedule(&worker, &w, -95).await;
        worker
            .meeting_cmd(
                &m2,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m2,
            &case,
            "evaluation",
            json!({"kind": "termination_approved"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        worker.ok(&case, json!({"action": "terminate", "termination": {
            "terminated_on": day(-94), "pattern": "resolved", "person_intention": "もう大丈夫と本人が話した",
            "follow_up": {"kind": "planned", "first_check_on": day(-60), "method": "電話"}, "lead_department": "社会福祉課"}})).await;
        worker.ok(&case, json!({"action": "record_follow_up", "checked_on": day(-60), "summary": "仕事は続いている", "next_check_on": day(30)})).await;
        let c = worker
            .ok(
                &case,
                json!({"action": "reopen", "reopened_on": day(-10), "reason": "再び失職した"}),
            )
            .await;
        assert_eq!(c["state"]["stage"], "assessment");

        let (s, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
        assert_eq!(s, StatusCode::OK);
        let types: Vec<&str> = timeline
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["type"].as_str().unwrap())
            .collect();
        for expected in [
            "case_opened",
            "intake_recorded",
            "team_member_added",
            "emergency_support_recorded",
            "triaged_to_continue",
            "assessment_recorded",
            "screened_to_handle_here",
            "plan_drafted",
            "plan_approved",
            "support_decision_recorded",
            "support_started",
            "contact_recorded",
            "monitoring_recorded",
            "evaluation_recorded",
            "termination_approved",
            "closed",
            "follow_up_recorded",
            "reopened",
        ] {
            assert!(
                types.contains(&expected),
                "{}: timeline lacks {expected}: {types:?}",
                db.name
            );
        }
        let versions: Vec<u64> = timeline
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
        assert!(
            timeline
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"]["user_id"].is_string() && e["recorded_at"].is_string())
        );
        let (_, assessments) = worker.get(&format!("/api/cases/{case}/assessments")).await;
        let a = assessments.as_array().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0]["assessment"]["baseline"], "版1: 家賃を滞納している");
        assert_eq!(a[1]["version"], 2);
        let (_, plans) = worker.get(&format!("/api/cases/{case}/plans")).await;
        assert_eq!(plans.as_array().unwrap().len(), 1);
        assert_eq!(plans[0]["approved_by"], m1.as_str());
        db.finish().await;
    }
}

#[tokio::test]
async fn every_rule_refuses_through_the_api() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let city = w.login("city").await;
        let hw = w.login("hw").await;
        let admin = w.login("admin").await;
        let person = new_person(&worker, "鈴木 花子").await;
        let case = new_case(&worker, &person, -200).await;
        worker.ok(&case, json!({"action": "triage", "triaged_on": day(-199), "outcome": {"outcome": "continue"}})).await;

        // Rule 4: a referral carries a follow-up date.
        worker.refused(&case, json!({"action": "make_referral", "referral": {"to_name": "法テラス", "purpose": "債務整理", "referred_on": day(-198)}}), "referral.needs_follow_up_date").await;
        worker.ok(&case, json!({"action": "make_referral", "referral": {"to_name": "法テラス", "purpose": "債務整理", "referred_on": day(-198), "follow_up_on": day(-190)}})).await;

        // Rule 5: no partner on the team without consent; without it, the partner sees nothing.
        worker
            .refused(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
                "team.needs_consent",
            )
            .await;
        assert_eq!(
            hw.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::NOT_FOUND
        );
        let consent_id = worker
            .consent(&person, &[w.hellowork], &day(-198), None)
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
        let (s, b) = worker.person_cmd(&person, json!({"action": "withdraw_consent", "consent_id": consent_id, "withdrawn_on": day(0)})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(
            hw.get(&format!("/api/cases/{case}")).await.0,
            StatusCode::NOT_FOUND
        );

        worker.consent(&person, &[w.city], &day(-197), None).await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;
        worker.ok(&case, json!({"action": "record_assessment", "assessment": {"assessed_on": day(-195), "baseline": "b", "main_issues": "m"}})).await;
        worker.ok(&case, json!({"action": "screen", "screened_on": day(-194), "outcome": {"outcome": "continue"}})).await;

        // Rule 3: an item without a responsible party or deadline is not a plan item.
        let mut bad = plan(-190, None);
        bad["plan"]["items"][1]["deadline"] = Value::Null;
        worker.refused(&case, bad, "plan.item_incomplete").await;
        // Rule 2: statutory services are tenant data.
        worker
            .refused(
                &case,
                plan(-190, Some("new_local_service")),
                "plan.unknown_statutory_service",
            )
            .await;
        let (_, mut settings) = admin.get("/api/settings").await;
        settings["statutory_services"].as_array_mut().unwrap().push(json!({"code": "new_local_service", "name": "新しい法定事業", "needs_decision": true, "quick_procedure": false}));
        let (s, b) = admin
            .send(reqwest::Method::PUT, "/api/settings", settings)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(
            worker
                .send(reqwest::Method::PUT, "/api/settings", b)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        worker
            .ok(&case, plan(-190, Some("new_local_service")))
            .await;

        // Rule 1: no plan in force before a meeting approved it ...
        worker
            .refused(
                &case,
                json!({"action": "start_support", "started_on": day(-185)}),
                "plan.needs_meeting_approval",
            )
            .await;
        let m = schedule(&worker, &w, -180).await;
        // ... a coordination meeting with the municipality present ...
        let (s, b) = conclude(
            &worker,
            &m,
            &case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 1}),
        )
        .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("meeting.needs_municipality")
            )
        );
        worker
            .meeting_cmd(
                &m,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m,
            &case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 1}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        // Meeting records are seen only by the meeting's members.
        assert_eq!(
            hw.get(&format!("/api/meetings/{m}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            city.get(&format!("/api/meetings/{m}")).await.0,
            StatusCode::OK
        );
        // ... and statutory services need the municipality's decision, made by the municipality.
        worker
            .refused(
                &case,
                json!({"action": "start_support", "started_on": day(-175)}),
                "support.awaiting_decision",
            )
            .await;
        worker.refused(&case, json!({"action": "record_support_decision", "service": "new_local_service", "outcome": "approved", "decided_on": day(-176)}), "decision.requires_municipality").await;
        city.ok(&case, json!({"action": "record_support_decision", "service": "new_local_service", "outcome": "approved", "decided_on": day(-176)})).await;
        worker
            .ok(
                &case,
                json!({"action": "start_support", "started_on": day(-175)}),
            )
            .await;

        // Rule 7: monitoring due and not done shows as overdue.
        let (s, due) = worker.get(&format!("/api/due?date={}", day(0))).await;
        assert_eq!(s, StatusCode::OK, "{due}");
        let items = due["items"].as_array().unwrap();
        assert!(
            items.iter().any(|i| i["case_id"] == case.as_str()
                && i["kind"] == "monitoring"
                && i["overdue"] == true),
            "{due}"
        );
        assert!(
            items.iter().any(|i| i["case_id"] == case.as_str()
                && i["kind"] == "referral_follow_up"
                && i["overdue"] == true),
            "{due}"
        );
        let (_, early) = worker.get(&format!("/api/due?date={}", day(-180))).await;
        assert!(
            !early["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["kind"] == "monitoring"),
            "{early}"
        );
        // The tenant's counts (no names) are counted in the query; here every case is the
        // lead's organisation's, so they equal the counts of the organisation's due list.
        let lead = w.login("lead").await;
        let (s, counts) = lead.get("/api/due/counts").await;
        assert_eq!(s, StatusCode::OK);
        assert!(counts.get("items").is_none(), "{counts}");
        let (_, org) = lead.get("/api/due?scope=org").await;
        assert_eq!(counts["counts"], org["counts"], "{counts} {org}");
        assert!(
            counts["counts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["due"].as_u64() > Some(0)),
            "{counts}"
        );

        // Rule 6: suspension needs recorded attempts and a meeting; termination needs intention,
        // approval, evaluation and no open referral.
        worker
            .refused(
                &case,
                json!({"action": "suspend", "suspended_on": day(-150), "reason": "連絡がない"}),
                "suspension.needs_contact_attempts",
            )
            .await;
        worker.ok(&case, json!({"action": "record_evaluation", "evaluated_on": day(-120), "goals": [], "summary": "おおむね達成"})).await;
        let term = json!({"action": "terminate", "termination": {"terminated_on": day(-110), "pattern": "resolved", "person_intention": "終わりにしたい", "follow_up": {"kind": "not_needed", "reason": "他機関が継続"}}});
        worker
            .refused(&case, term.clone(), "termination.needs_meeting_approval")
            .await;
        let m2 = schedule(&worker, &w, -115).await;
        worker
            .meeting_cmd(
                &m2,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m2,
            &case,
            "evaluation",
            json!({"kind": "termination_approved"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let mut no_intention = term.clone();
        no_intention["termination"]["person_intention"] = Value::Null;
        worker
            .refused(&case, no_intention, "termination.needs_intention")
            .await;
        worker
            .refused(&case, term.clone(), "termination.open_referrals")
            .await;
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        let referral = c["state"]["referrals"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        worker.ok(&case, json!({"action": "confirm_referral", "referral_id": referral, "confirmed_on": day(-112)})).await;
        let c = worker.ok(&case, term).await;
        assert_eq!(c["state"]["stage"], "closed");
        db.finish().await;
    }
}

#[tokio::test]
async fn suspension_needs_attempts_and_a_meeting() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let person = new_person(&worker, "高橋 誠").await;
        let case = new_case(&worker, &person, -300).await;
        worker.ok(&case, json!({"action": "triage", "triaged_on": day(-299), "outcome": {"outcome": "continue"}})).await;
        for d in [-290, -280] {
            worker.ok(&case, json!({"action": "record_contact", "kind": "phone", "contacted_on": day(d), "reached": false, "summary": "電話に出ない"})).await;
        }
        worker
            .ok(
                &case,
                json!({"action": "suspend", "suspended_on": day(-279), "reason": "連絡が取れない"}),
            )
            .await;
        let m = schedule(&worker, &w, -270).await;
        worker
            .meeting_cmd(
                &m,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        // Termination for lost contact without the meeting's confirmation is refused.
        let (s, b) = conclude(
            &worker,
            &m,
            &case,
            "suspension_review",
            json!({"kind": "termination_approved"}),
        )
        .await;
        assert_eq!(b["code"], "meeting.unexpected_conclusion", "{s} {b}");
        let (s, b) = worker.meeting_cmd(&m, json!({"action": "record_conclusion", "case_id": case, "conclusion": {"kind": "suspension_confirmed"}})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let c = worker
            .ok(&case, json!({"action": "resume", "resumed_on": day(-200)}))
            .await;
        assert_eq!(c["state"]["stage"], "assessment");
        db.finish().await;
    }
}

/// Holds the database's write side, so the committing task's next round waits: SQLite's one
/// write connection, or PostgreSQL's audit head (every round writes it), until dropped.
async fn hold_writes(store: &tsunagu_store::Store) -> Box<dyn std::any::Any + Send> {
    match (store.sqlite_pools(), store.postgres_pool()) {
        (Some((_, write)), _) => Box::new(write.acquire().await.unwrap()),
        (None, Some(pool)) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await
                .unwrap();
            Box::new(tx)
        }
        (None, None) => unreachable!("a store is SQLite or PostgreSQL"),
    }
}

/// Waits (never a fixed sleep) until group commit has seen this many jobs submitted, or taken.
async fn until_jobs(store: &tsunagu_store::Store, n: u64, taken: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let g = store.group_commit();
        if (if taken { g.taken } else { g.submitted }) >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the requests never reached the store: {g:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// Group commit: requests that arrive while a commit is under way share the next one, and a
/// refused one among them (a stale version) costs the others nothing: each hears its own
/// answer, the shared commit holds exactly the accepted writes and the read's audit entry, and
/// the audit chain and every projection verify afterwards.
#[tokio::test]
async fn writes_arriving_together_share_a_commit_and_a_refusal_rolls_back_only_itself() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = std::sync::Arc::new(w.login("worker").await);
        let (a, b) = (
            new_case(&worker, &new_person(&worker, "一番 花子").await, -10).await,
            new_case(&worker, &new_person(&worker, "二番 次郎").await, -10).await,
        );
        let version = |v: &Value| v["version"].as_u64().unwrap();
        let va = version(&worker.get(&format!("/api/cases/{a}")).await.1);
        let vb = version(&worker.get(&format!("/api/cases/{b}")).await.1);
        let contact = |v: u64, summary: &str| json!({"expected_version": v, "command": {"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": summary}});
        let send = |case: &str, body: Value| {
            let (api, path) = (worker.clone(), format!("/api/cases/{case}/commands"));
            tokio::spawn(async move { api.post(&path, body).await })
        };
        let before = db.store.group_commit();
        let held = hold_writes(&db.store).await;
        // The first write opens a round, which waits on the held database ...
        let first = send(&a, contact(va, "先に届いた連絡"));
        until_jobs(&db.store, before.taken + 1, true).await;
        // ... while a stale write, a good one and a read's audit entry arrive.
        let stale = send(&a, contact(va, "古い版への連絡"));
        let good = send(&b, contact(vb, "別のケースへの連絡"));
        let read = {
            let (api, path) = (worker.clone(), format!("/api/cases/{b}"));
            tokio::spawn(async move { api.get(&path).await })
        };
        until_jobs(&db.store, before.submitted + 4, false).await;
        drop(held);
        let (first, stale, good, read) = (
            first.await.unwrap(),
            stale.await.unwrap(),
            good.await.unwrap(),
            read.await.unwrap(),
        );
        assert_eq!(first.0, StatusCode::OK, "{}: {first:?}", db.name);
        assert_eq!(stale.0, StatusCode::CONFLICT, "{}: {stale:?}", db.name);
        assert_eq!(stale.1["code"], "conflict.stale_version");
        assert_eq!(good.0, StatusCode::OK, "{}: {good:?}", db.name);
        assert_eq!(read.0, StatusCode::OK, "{}: {read:?}", db.name);
        let after = db.store.group_commit();
        assert_eq!(
            (after.taken - before.taken, after.rounds - before.rounds),
            (4, 2),
            "{}: the three that arrived together shared one round",
            db.name
        );
        // Exactly the accepted contacts are stored.
        for (case, expected) in [(&a, "先に届いた連絡"), (&b, "別のケースへの連絡")]
        {
            let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
            let summaries: Vec<&str> = timeline
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["type"] == "contact_recorded")
                .filter_map(|e| e["event"]["summary"].as_str())
                .collect();
            assert_eq!(summaries, [expected], "{}", db.name);
        }
        assert!(
            db.store.audit_verify().await.unwrap().is_ok(),
            "{}",
            db.name
        );
        assert_eq!(
            db.store.verify().await.unwrap(),
            Vec::<String>::new(),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn concurrent_writes_conflict_and_retries_are_idempotent() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let person = new_person(&worker, "伊藤 恵子").await;
        let case = new_case(&worker, &person, -30).await;
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        let v = c["version"].as_u64().unwrap();
        let contact = |summary: &str| json!({"expected_version": v, "command": {"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": summary}});
        let path = format!("/api/cases/{case}/commands");
        let (a, b) = tokio::join!(
            worker.post(&path, contact("一人目")),
            worker.post(&path, contact("二人目"))
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::CONFLICT {
            a.1
        } else {
            b.1
        };
        assert_eq!(loser["code"], "conflict.stale_version");
        let (_, timeline) = worker.get(&format!("/api/cases/{case}/timeline")).await;
        assert_eq!(
            timeline
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["type"] == "contact_recorded")
                .count(),
            1
        );

        // A retried create with the same key creates one record.
        let body = json!({"details": {"name": "渡辺 陽子", "kana": "ワタナベ ヨウコ"}});
        let send = || {
            worker
                .client
                .post(format!("{}/api/persons", w.base))
                .header("x-csrf-token", &worker.csrf)
                .header("Idempotency-Key", "k-123")
                .json(&body)
                .send()
        };
        let (r1, r2) = tokio::join!(send(), send());
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        let mut codes = [r1.status().as_u16(), r2.status().as_u16()];
        codes.sort();
        assert!(codes == [200, 201] || codes == [201, 409], "{codes:?}");
        let r3 = send().await.unwrap();
        assert_eq!(r3.status(), StatusCode::OK);
        let (_, found) = worker.get("/api/persons?name=渡辺").await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
        let other = worker
            .client
            .post(format!("{}/api/persons", w.base))
            .header("x-csrf-token", &worker.csrf)
            .header("Idempotency-Key", "k-123")
            .json(&json!({"details": {"name": "別人"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
        db.finish().await;
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let raw = |body: &'static str| {
            worker
                .client
                .post(format!("{}/api/persons", w.base))
                .header("x-csrf-token", &worker.csrf)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let r = raw("{not json").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "request.malformed_json"
        );
        for body in [
            r#"{"details": {"name": "a", "sex": "unknown_value"}}"#,
            r#"{"details": {"name": "a", "date_of_birth": "2025-02-30"}}"#,
            r#"{"details": {"name": ""}}"#,
            r#"{"details": {}}"#,
        ] {
            let r = raw(body).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "request.invalid",
                "{body}"
            );
        }
        let long = "あ".repeat(201);
        let (s, b) = worker
            .post("/api/persons", json!({"details": {"name": long}}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("request.invalid"))
        );
        let huge = "x".repeat(2 * 1024 * 1024);
        let (s, b) = worker
            .post("/api/persons", json!({"details": {"name": huge}}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("request.too_large"))
        );
        let (s, b) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "未来", "date_of_birth": day(3)}}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date.in_future"))
        );
        assert_eq!(
            worker.get("/api/cases/not-a-uuid").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            worker.get("/api/due?date=yesterday").await.0,
            StatusCode::BAD_REQUEST
        );
        // Another organisation's case is invisible, exactly like a missing one.
        let person = new_person(&worker, "松本 誠").await;
        let case = new_case(&worker, &person, -5).await;
        let stranger = w.login("stranger").await;
        let (s, b) = stranger.get(&format!("/api/cases/{case}")).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        assert_eq!(
            stranger.get(&format!("/api/persons/{person}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert!(
            stranger
                .get("/api/persons?name=松本")
                .await
                .1
                .as_array()
                .unwrap()
                .is_empty()
        );
        let anonymous = reqwest::Client::new();
        let r = anonymous
            .get(format!("{}/api/cases", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = anonymous
            .get(format!("{}/api/openapi.json", w.base))
            .send()
            .await
            .unwrap();
        let doc: Value = r.json().await.unwrap();
        assert!(doc["paths"]["/api/cases/{id}/commands"]["post"].is_object());
        db.finish().await;
    }
}

/// The consent given at intake is recorded with the case in one transaction: both or neither.
#[tokio::test]
async fn consent_given_at_intake_is_recorded_with_the_case_or_not_at_all() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let (s, p) = worker
            .post("/api/persons", json!({"details": {"name": "同意 太郎"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let person = p["id"].as_str().unwrap().to_owned();
        let intake = json!({"received_on": day(0), "route": "self_visit",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"});
        let person_version = |p: &Value| p["version"].as_u64().unwrap();
        let before = person_version(&worker.get(&format!("/api/persons/{person}")).await.1);

        // No organisation named: refused, and neither the case nor the consent is written.
        let (s, body) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": intake,
                "consent": {"organisations": [], "purpose": "情報共有", "given_on": day(0)}}),
            )
            .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("consent.no_organisations")
            )
        );
        let (_, cases) = worker.get(&format!("/api/cases?person={person}")).await;
        assert_eq!(cases, json!([]));
        let (_, p) = worker.get(&format!("/api/persons/{person}")).await;
        assert_eq!(person_version(&p), before);
        assert_eq!(p["consents"], json!([]));

        // With the city named: the case opens and the consent stands, so the city can join
        // the team straight away.
        let (s, c) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": intake,
                "consent": {"organisations": [w.city], "purpose": "情報共有", "given_on": day(0),
                    "written_form_received": true}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        let (_, p) = worker.get(&format!("/api/persons/{person}")).await;
        assert_eq!(p["consents"][0]["organisations"], json!([w.city]));
        assert_eq!(p["consents"][0]["written_form_received"], true);
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;
        db.finish().await;
    }
}

/// Finding 7 of the trust review: rules that let wrong data in are core rules now, each with
/// its code and a Japanese message, on both backends.
#[tokio::test]
async fn wrong_data_is_refused_by_core_rules() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let city = w.login("city").await;
        let person = new_person(&worker, "規則 花子").await;
        // Born before 1900, or consenting before being born.
        let (s, b) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": "古い 人", "date_of_birth": "1800-01-01"}}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date.too_early")),
            "{b}"
        );
        let (s, b) = worker
            .person_cmd(&person, json!({"action": "record_consent", "organisations": [w.city], "purpose": "共有", "given_on": "1979-01-01"}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date.order")),
            "{b}"
        );
        // A 主訴 code not in the tenant's list.
        let (s, b) = worker
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": {"received_on": day(-200), "route": "self_visit",
                    "presenting_problems": [{"code": "家賃・住居", "main": true}], "urgency": "normal"}}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("intake.unknown_problem")
            ),
            "{b}"
        );
        let case = new_case(&worker, &person, -200).await;
        // A contact dated 0000-01-01, and one before the case was opened.
        worker
            .refused(&case, json!({"action": "record_contact", "kind": "phone", "contacted_on": "0000-01-01", "reached": true, "summary": "電話"}), "date.too_early")
            .await;
        worker
            .refused(&case, json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-201), "reached": true, "summary": "電話"}), "date.before_case_opened")
            .await;
        worker.consent(&person, &[w.city], &day(-199), None).await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.city}),
            )
            .await;
        worker.ok(&case, json!({"action": "triage", "triaged_on": day(-199), "outcome": {"outcome": "continue"}})).await;
        worker
            .ok(
                &case,
                json!({"action": "record_assessment", "assessment": {
            "assessed_on": day(-198), "baseline": "家賃を滞納", "main_issues": "住まい"}}),
            )
            .await;
        worker.ok(&case, json!({"action": "screen", "screened_on": day(-197), "outcome": {"outcome": "continue"}})).await;
        // A plan item due before the plan was drafted.
        let mut early = plan(-190, Some("housing_security_benefit"));
        early["plan"]["items"][1]["deadline"] = json!(day(-191));
        worker
            .refused(&case, early, "plan.item_deadline_before_draft")
            .await;
        worker
            .ok(&case, plan(-190, Some("housing_security_benefit")))
            .await;
        let m = schedule(&worker, &w, -185).await;
        worker
            .meeting_cmd(
                &m,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m,
            &case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 1}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        // A rejected support decision does not count as decided: support cannot start with the
        // rejected service in the plan; the plan is revised and approved again first.
        city.ok(&case, json!({"action": "record_support_decision", "service": "housing_security_benefit", "outcome": "rejected", "decided_on": day(-180)})).await;
        let (s, b) = worker
            .cmd(
                &case,
                json!({"action": "start_support", "started_on": day(-179)}),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("support.service_rejected")
            ),
            "{b}"
        );
        assert!(
            b["message"].as_str().unwrap().contains("住居確保給付金"),
            "{b}"
        );
        worker.ok(&case, plan(-178, None)).await;
        let m2 = schedule(&worker, &w, -175).await;
        worker
            .meeting_cmd(
                &m2,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m2,
            &case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 2}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        worker
            .ok(
                &case,
                json!({"action": "start_support", "started_on": day(-174)}),
            )
            .await;
        worker
            .ok(
                &case,
                json!({"action": "record_evaluation", "evaluated_on": day(-100),
            "goals": [{"goal": 0, "attainment": "achieved"}], "summary": "住まいが安定した"}),
            )
            .await;
        let m3 = schedule(&worker, &w, -95).await;
        worker
            .meeting_cmd(
                &m3,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await;
        let (s, b) = conclude(
            &worker,
            &m3,
            &case,
            "evaluation",
            json!({"kind": "termination_approved"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        // A termination without its follow-up decision: a rule, not the JSON parser.
        worker
            .refused(
                &case,
                json!({"action": "terminate", "termination": {
                "terminated_on": day(-94), "pattern": "resolved", "person_intention": "大丈夫"}}),
                "termination.needs_follow_up",
            )
            .await;
        db.finish().await;
    }
}
