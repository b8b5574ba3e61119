//! The lifecycle at the use-case boundary, on every backend: one case through every stage, and
//! each rule of DOMAIN.md broken on purpose, refused with its code and nothing written.

use serde_json::{Value, json};
use tsunagu_app::Kind;
use tsunagu_app::due::Scope;

use crate::harness::*;

#[tokio::test]
async fn one_case_through_every_stage() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let person = worker.new_person("山田 太郎").await;
        let case = worker.new_case(&person, -300).await;
        let c = worker.case(&case).await.unwrap();
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
        for org in [w.hellowork, w.city] {
            worker
                .ok(&case, json!({"action": "add_team_member", "org_id": org}))
                .await;
        }
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
        let m1 = worker.meeting_with_city(w, -270).await;
        worker
            .conclude(
                &m1,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 1}),
            )
            .await
            .unwrap();
        assert_eq!(
            worker.case(&case).await.unwrap()["state"]["stage"],
            "decision"
        );
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
        let m2 = worker.meeting_with_city(w, -95).await;
        worker
            .conclude(
                &m2,
                &case,
                "evaluation",
                json!({"kind": "termination_approved"}),
            )
            .await
            .unwrap();
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

        let timeline = worker.timeline(&case).await;
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
                .all(|e| { e["actor"]["user_id"].is_string() && e["recorded_at"].is_string() })
        );
        let assessments = worker.assessments(&case).await;
        let a = assessments.as_array().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0]["assessment"]["baseline"], "版1: 家賃を滞納している");
        assert_eq!(a[1]["version"], 2);
        let plans = worker.plans(&case).await;
        assert_eq!(plans.as_array().unwrap().len(), 1);
        assert_eq!(plans[0]["approved_by"], m1.as_str());
        db.finish().await;
    }
}

#[tokio::test]
async fn every_rule_refuses_with_its_code_and_writes_nothing() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let hw = t.user("hw").await;
        let admin = t.user("admin").await;
        let person = worker.new_person("鈴木 花子").await;
        let case = worker.new_case(&person, -200).await;
        worker.ok(&case, json!({"action": "triage", "triaged_on": day(-199), "outcome": {"outcome": "continue"}})).await;

        // Rule 4: a referral carries a follow-up date.
        worker.refused(&case, json!({"action": "make_referral", "referral": {"to_name": "法テラス", "purpose": "債務整理", "referred_on": day(-198)}}), "referral.needs_follow_up_date").await;
        worker.ok(&case, json!({"action": "make_referral", "referral": {"to_name": "法テラス", "purpose": "債務整理", "referred_on": day(-198), "follow_up_on": day(-190)}})).await;

        // Rule 5: no partner on the team without consent; without it, the partner sees nothing
        // (the same answer as a case that does not exist).
        worker
            .refused(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
                "team.needs_consent",
            )
            .await;
        assert_eq!(hw.case(&case).await.unwrap_err().kind, Kind::NotFound);
        let consent_id = worker
            .consent(&person, &[w.hellowork], &day(-198), None)
            .await;
        worker
            .ok(
                &case,
                json!({"action": "add_team_member", "org_id": w.hellowork}),
            )
            .await;
        assert!(hw.case(&case).await.is_ok());
        worker.person_cmd(&person, json!({"action": "withdraw_consent", "consent_id": consent_id, "withdrawn_on": day(0)})).await.unwrap();
        assert_eq!(hw.case(&case).await.unwrap_err().kind, Kind::NotFound);

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
        // Rule 2: statutory services are tenant data, which only an administrator changes.
        worker
            .refused(
                &case,
                plan(-190, Some("new_local_service")),
                "plan.unknown_statutory_service",
            )
            .await;
        let mut settings = serde_json::to_value(&admin.caller.settings).unwrap();
        settings["statutory_services"].as_array_mut().unwrap().push(json!({"code": "new_local_service", "name": "新しい法定事業", "needs_decision": true, "quick_procedure": false}));
        assert_eq!(
            worker
                .put_settings(settings.clone())
                .await
                .unwrap_err()
                .kind,
            Kind::Forbidden
        );
        admin.put_settings(settings).await.unwrap();
        // The worker's next request reads the settings as they are now.
        let worker = t.user("worker").await;
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
        let m = worker.schedule(w.agency, -180).await;
        // ... a coordination meeting with the municipality present ...
        let e = worker
            .conclude(
                &m,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 1}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (Kind::Invalid, "meeting.needs_municipality")
        );
        worker
            .meeting_cmd(
                &m,
                json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
            )
            .await
            .unwrap();
        worker
            .conclude(
                &m,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 1}),
            )
            .await
            .unwrap();
        // Meeting records are seen only by the meeting's members.
        assert_eq!(hw.meeting(&m).await.unwrap_err().kind, Kind::NotFound);
        assert!(city.meeting(&m).await.is_ok());
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
        let due = worker.due(&day(0), Scope::Mine).await;
        let items = due["items"].as_array().unwrap();
        for kind in ["monitoring", "referral_follow_up"] {
            assert!(
                items.iter().any(|i| i["case_id"] == case.as_str()
                    && i["kind"] == kind
                    && i["overdue"] == true),
                "{kind}: {due}"
            );
        }
        let early = worker.due(&day(-180), Scope::Mine).await;
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
        let lead = t.user("lead").await;
        let counts = lead.due_counts().await.unwrap();
        assert!(counts.get("items").is_none(), "{counts}");
        let org = lead.due(&day(0), Scope::Org).await;
        assert_eq!(counts["counts"], org["counts"], "{counts} {org}");
        assert!(
            counts["counts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["due"].as_u64() > Some(0)),
            "{counts}"
        );
        assert_eq!(worker.due_counts().await.unwrap_err().kind, Kind::Forbidden);

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
        let m2 = worker.meeting_with_city(w, -115).await;
        worker
            .conclude(
                &m2,
                &case,
                "evaluation",
                json!({"kind": "termination_approved"}),
            )
            .await
            .unwrap();
        let mut no_intention = term.clone();
        no_intention["termination"]["person_intention"] = Value::Null;
        worker
            .refused(&case, no_intention, "termination.needs_intention")
            .await;
        worker
            .refused(&case, term.clone(), "termination.open_referrals")
            .await;
        let c = worker.case(&case).await.unwrap();
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
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let person = worker.new_person("高橋 誠").await;
        let case = worker.new_case(&person, -300).await;
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
        let m = worker.meeting_with_city(w, -270).await;
        // Termination for lost contact without the meeting's confirmation is refused.
        let e = worker
            .conclude(
                &m,
                &case,
                "suspension_review",
                json!({"kind": "termination_approved"}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, "meeting.unexpected_conclusion", "{e:?}");
        worker.meeting_cmd(&m, json!({"action": "record_conclusion", "case_id": case, "conclusion": {"kind": "suspension_confirmed"}})).await.unwrap();
        let c = worker
            .ok(&case, json!({"action": "resume", "resumed_on": day(-200)}))
            .await;
        assert_eq!(c["state"]["stage"], "assessment");
        db.finish().await;
    }
}

/// Finding 7 of the trust review: rules that let wrong data in are core rules, each with its
/// code and a Japanese message, on both backends.
#[tokio::test]
async fn wrong_data_is_refused_by_core_rules() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let person = worker.new_person("規則 花子").await;
        let invalid = |e: Refused, code: &str| {
            assert_eq!((e.kind, e.code.as_str()), (Kind::Invalid, code), "{e:?}");
        };
        // Born before 1900, or consenting before being born.
        invalid(
            worker
                .register(json!({"name": "古い 人", "date_of_birth": "1800-01-01"}))
                .await
                .unwrap_err(),
            "date.too_early",
        );
        invalid(
            worker
                .person_cmd(&person, json!({"action": "record_consent", "organisations": [w.city], "purpose": "共有", "given_on": "1979-01-01"}))
                .await
                .unwrap_err(),
            "date.order",
        );
        // A 主訴 code not in the tenant's list.
        invalid(
            worker
                .open(json!({"person_id": person, "intake": {"received_on": day(-200), "route": "self_visit",
                    "presenting_problems": [{"code": "家賃・住居", "main": true}], "urgency": "normal"}}))
                .await
                .unwrap_err(),
            "intake.unknown_problem",
        );
        let case = worker.new_case(&person, -200).await;
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
        let approve = async |on: i64, version: u64| {
            let m = worker.meeting_with_city(w, on).await;
            worker
                .conclude(
                    &m,
                    &case,
                    "plan_review",
                    json!({"kind": "plan_approved", "plan_version": version}),
                )
                .await
                .unwrap();
        };
        approve(-185, 1).await;
        // A rejected support decision does not count as decided: support cannot start with the
        // rejected service in the plan; the plan is revised and approved again first.
        city.ok(&case, json!({"action": "record_support_decision", "service": "housing_security_benefit", "outcome": "rejected", "decided_on": day(-180)})).await;
        let e = worker
            .cmd(
                &case,
                json!({"action": "start_support", "started_on": day(-179)}),
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("住居確保給付金"), "{e:?}");
        invalid(e, "support.service_rejected");
        worker.ok(&case, plan(-178, None)).await;
        approve(-175, 2).await;
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
        let m3 = worker.meeting_with_city(w, -95).await;
        worker
            .conclude(
                &m3,
                &case,
                "evaluation",
                json!({"kind": "termination_approved"}),
            )
            .await
            .unwrap();
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

/// プランの修正 (seed 001 §11): during support a small change is a new plan version in force at
/// once, reported to the next coordination meeting; a change of the services that need the
/// municipality's decision is a re-plan; a meeting that finds the change too big sends the case
/// back to planning.
#[tokio::test]
async fn a_plan_modification_is_in_force_at_once_and_reported_to_the_next_meeting() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let hw = t.user("hw").await;
        let person = worker.new_person("修正 花子").await;
        worker
            .consent(&person, &[w.hellowork, w.city], &day(-299), None)
            .await;
        let case = worker.new_case(&person, -300).await;
        for org in [w.hellowork, w.city] {
            worker
                .ok(&case, json!({"action": "add_team_member", "org_id": org}))
                .await;
        }
        let modify = |plan: Value, reason: &str| {
            let mut p = plan;
            p["action"] = json!("modify_plan");
            p["reason"] = json!(reason);
            p
        };
        // Not before support: a plan not yet in force is redrafted, not modified.
        worker
            .refused(
                &case,
                modify(plan(-280, Some("housing_security_benefit")), "早すぎる"),
                "case.wrong_stage",
            )
            .await;
        worker.to_planning(&case).await;
        worker
            .to_support(w, &city, &case, "housing_security_benefit")
            .await;

        // The plan in force, as modified on day -250.
        let base = || {
            let mut p = plan(-280, Some("housing_security_benefit"));
            p["plan"]["drafted_on"] = json!(day(-250));
            p
        };
        // The same plan again changes nothing.
        worker
            .refused(&case, modify(base(), "同じ"), "plan.unchanged")
            .await;
        // A new service that needs the municipality's decision is a re-plan.
        let mut more = base();
        more["plan"]["items"][1]["statutory_service"] = json!("employment_preparation");
        worker
            .refused(
                &case,
                modify(more, "就労準備を加える"),
                "plan.modification_changes_services",
            )
            .await;
        // Rule 3 still holds, and the refusal points at the item.
        let mut incomplete = base();
        incomplete["plan"]["items"][1]["responsible"] = Value::Null;
        let e = worker
            .cmd(&case, modify(incomplete, "担当者を外す"))
            .await
            .unwrap_err();
        assert_eq!(e.code, "plan.item_incomplete");
        assert_eq!(e.field.as_deref(), Some("plan.items.1.responsible"));
        // A related agency on the team does not change the plan.
        let mut small = base();
        small["plan"]["items"][1]["deadline"] = json!(day(-150));
        small["plan"]["items"]
            .as_array_mut()
            .unwrap()
            .push(json!({"description": "家計簿を一緒につける", "goal": 0, "provider": "本人", "responsible": "本人", "deadline": day(-200)}));
        let e = hw
            .cmd(&case, modify(small.clone(), "ハローワークの都合"))
            .await
            .unwrap_err();
        assert_eq!(e.code, "case.action_not_for_role");

        // The small change: in force at once as version 2, support goes on.
        let c = worker
            .ok(
                &case,
                modify(small, "面接の日程がずれたため期限を延ばし、家計簿を加えた"),
            )
            .await;
        let s = &c["state"];
        assert_eq!(s["stage"], "support");
        assert_eq!(s["current_plan"]["version"], 2);
        assert_eq!(s["current_plan"]["modified"], true);
        assert_eq!(s["current_plan"]["items"].as_array().unwrap().len(), 3);
        assert!(s["current_plan"]["approved_on"].is_null());
        let todos = |c: &Value| -> Vec<String> {
            c["todos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["code"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(todos(&c).contains(&"report_plan_modification".to_owned()));
        let plans = worker.plans(&case).await;
        let v2 = &plans.as_array().unwrap()[1];
        assert_eq!(
            v2["modification_reason"],
            "面接の日程がずれたため期限を延ばし、家計簿を加えた"
        );
        // Monitoring goes on against the modified plan.
        worker.ok(&case, json!({"action": "record_monitoring", "monitored_on": day(-240), "kind": "scheduled", "progress": "家計簿を始めた", "outcome": "continue"})).await;

        // Reported to the next meeting, which takes note: the version it approved is recorded
        // and support goes on.
        let m2 = worker.meeting_with_city(w, -230).await;
        worker
            .conclude(
                &m2,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 2}),
            )
            .await
            .unwrap();
        let c = worker.case(&case).await.unwrap();
        assert_eq!(c["state"]["stage"], "support");
        assert_eq!(c["state"]["current_plan"]["approved_on"], day(-230));
        assert!(!todos(&c).contains(&"report_plan_modification".to_owned()));

        // A second modification the meeting finds too big: back to planning (re-plan).
        let mut again = plan(-220, Some("housing_security_benefit"));
        again["plan"]["goals"][1] = json!("職業訓練を受ける");
        worker.ok(&case, modify(again, "目標を変えた")).await;
        let m3 = worker.meeting_with_city(w, -210).await;
        let e = worker
            .conclude(
                &m3,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 2}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, "plan.version_not_latest");
        worker
            .conclude(
                &m3,
                &case,
                "plan_review",
                json!({"kind": "plan_returned", "plan_version": 3, "reason": "目標が変わるので再プランにする"}),
            )
            .await
            .unwrap();
        let c = worker.case(&case).await.unwrap();
        assert_eq!(c["state"]["stage"], "planning");
        assert_eq!(c["state"]["current_plan"]["version"], 3);
    }
}

/// 就労支援 and its outcomes (issue 14, item 1): each outcome carries the plan it belongs to
/// and whether that plan made the person a subject of employment support, which the national
/// statistics count apart; Hello Work and the city record neither.
#[tokio::test]
async fn employment_support_and_outcomes_are_recorded_with_the_plan_they_belong_to() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let hw = t.user("hw").await;
        let person = worker.new_person("就労 一花").await;
        worker
            .consent(&person, &[w.hellowork, w.city], &day(-299), None)
            .await;
        let case = worker.new_case(&person, -300).await;
        for org in [w.hellowork, w.city] {
            worker
                .ok(&case, json!({"action": "add_team_member", "org_id": org}))
                .await;
        }
        let outcome = |achieved: i64, outcome: Value| json!({"action": "record_employment_outcome", "outcome": outcome, "achieved_on": day(achieved)});
        let employed = json!({"kind": "employed", "form": "part_time"});
        // Not at intake: nothing is known of the person's work yet.
        worker
            .refused(&case, outcome(-299, employed.clone()), "case.wrong_stage")
            .await;
        worker
            .ok(&case, json!({"action": "triage", "triaged_on": day(-299), "outcome": {"outcome": "continue"}}))
            .await;
        // Before the first plan: counted without one.
        let v = worker
            .ok(
                &case,
                outcome(
                    -295,
                    json!({"kind": "income_increased", "band": "under_10k"}),
                ),
            )
            .await;
        let record = &v["state"]["employment_outcomes"][0];
        assert_eq!(record["plan_version"], Value::Null, "{}", db.name);
        assert_eq!(record["under_employment_support_plan"], false);
        // Not before the case opened, not in the future.
        worker
            .refused(
                &case,
                outcome(-400, employed.clone()),
                "date.before_case_opened",
            )
            .await;
        worker
            .refused(&case, outcome(3, employed.clone()), "date.in_future")
            .await;
        // Neither Hello Work on the team nor the city records them.
        hw.refused(
            &case,
            outcome(-290, employed.clone()),
            "case.action_not_for_role",
        )
        .await;
        hw.refused(
            &case,
            json!({"action": "record_employment_support", "kind": "hello_work_accompaniment", "provided_on": day(-290)}),
            "case.action_not_for_role",
        )
        .await;
        city.refused(
            &case,
            outcome(-290, employed.clone()),
            "case.action_not_for_role",
        )
        .await;

        // A plan that makes the person a subject of employment support, in force from -270.
        worker
            .ok(
                &case,
                json!({"action": "record_assessment", "assessment": {
            "assessed_on": day(-290), "baseline": "仕事を探している", "main_issues": "就労"}}),
            )
            .await;
        worker
            .ok(&case, json!({"action": "screen", "screened_on": day(-284), "outcome": {"outcome": "continue"}}))
            .await;
        let mut p = plan(-280, Some("housing_security_benefit"));
        p["plan"]["employment_support"] = json!(true);
        worker.ok(&case, p).await;
        let m = worker.meeting_with_city(w, -270).await;
        worker
            .conclude(
                &m,
                &case,
                "plan_review",
                json!({"kind": "plan_approved", "plan_version": 1}),
            )
            .await
            .unwrap();
        city.ok(&case, json!({"action": "record_support_decision", "service": "housing_security_benefit", "outcome": "approved", "decided_on": day(-265)})).await;
        worker
            .ok(
                &case,
                json!({"action": "start_support", "started_on": day(-260)}),
            )
            .await;
        worker
            .ok(
                &case,
                json!({"action": "record_employment_support", "kind": "hello_work_accompaniment",
                "provided_on": day(-250), "note": "求人を3件一緒に見た"}),
            )
            .await;
        let v = worker.ok(&case, outcome(-240, employed.clone())).await;
        assert_eq!(v["state"]["employment_supports"], 1, "{}", db.name);
        let record = &v["state"]["employment_outcomes"][1];
        assert_eq!(record["outcome"], employed);
        assert_eq!(record["achieved_on"], day(-240));
        assert_eq!(record["plan_version"], 1);
        assert_eq!(record["under_employment_support_plan"], true);
        assert_eq!(
            worker.plans(&case).await[0]["plan"]["employment_support"],
            true
        );

        // On the timeline, as recorded.
        let timeline = worker.timeline(&case).await;
        let kinds: Vec<&str> = timeline
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"]["type"].as_str())
            .filter(|t| t.starts_with("employment"))
            .collect();
        assert_eq!(
            kinds,
            [
                "employment_outcome_recorded",
                "employment_support_recorded",
                "employment_outcome_recorded"
            ],
            "{}",
            db.name
        );
        db.finish().await;
    }
}
