//! 報告 (issue 14, item 8; seed 001 §8): each plan a coordination meeting approves is reported
//! to the municipality with the person's basic information; a plan without statutory services
//! is reported only. The municipal department's officer reads the reports; nobody else does.

use serde_json::json;
use tsunagu_app::reports;

use crate::harness::*;

#[tokio::test]
async fn plans_approved_are_reported_to_the_municipality_with_basic_information() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let w = &t.seeded;
        let worker = t.user("worker").await;
        let city = t.user("city").await;
        let today = tsunagu_app::today();
        let from = today.checked_sub(jiff::Span::new().days(400)).unwrap();

        // A: a plan without statutory services, approved 270 days ago: reported only.
        let a = worker
            .register(
                json!({"name": "報告 あ", "kana": "ほうこく あ", "date_of_birth": "1980-05-01",
                "sex": "female", "address": "つなぐ市本町1丁目"}),
            )
            .await
            .unwrap();
        let a = worker.new_case(&a, -300).await;
        worker.to_planning(&a).await;
        worker.ok(&a, plan(-280, None)).await;
        worker.approve_first_plan(w, &a, -270).await;
        // B: a plan with 住居確保給付金: decided by the city, the rest reported.
        let pb = worker.new_person("報告 い").await;
        let b = worker.new_case(&pb, -300).await;
        worker.consent(&pb, &[w.city], &day(-299), None).await;
        worker
            .ok(&b, json!({"action": "add_team_member", "org_id": w.city}))
            .await;
        worker.to_planning(&b).await;
        worker
            .to_support(w, &city, &b, "housing_security_benefit")
            .await;
        // C: restricted to its worker: listed without the person.
        let c = worker.new_person("報告 う").await;
        let c = worker.new_case(&c, -300).await;
        worker.to_planning(&c).await;
        worker.ok(&c, plan(-280, None)).await;
        worker.approve_first_plan(w, &c, -270).await;
        worker
            .ok(
                &c,
                json!({"action": "restrict", "users": [worker.caller.actor.user_id]}),
            )
            .await;
        // D: a plan drafted but not approved: nothing reported.
        let d = worker.new_person("報告 え").await;
        let d = worker.new_case(&d, -300).await;
        worker.to_planning(&d).await;
        worker.ok(&d, plan(-280, None)).await;

        let list = reports::received(&city.app, &city.caller, from, today)
            .await
            .unwrap();
        assert_eq!(list.len(), 3, "{}: {list:?}", db.name);
        let of = |case: &str| {
            list.iter()
                .find(|r| r.case_id.to_string() == case)
                .unwrap_or_else(|| panic!("{case} reported"))
        };
        let ra = of(&a);
        assert!(ra.report_only);
        assert!(ra.statutory_services.is_empty());
        assert_eq!(ra.reported_items.len(), 2, "{ra:?}");
        assert_eq!(ra.reported_items[1].provider, "ハローワーク");
        assert_eq!(
            ra.reported_on,
            tsunagu_app::today()
                .checked_add(jiff::Span::new().days(-270))
                .unwrap()
        );
        let pa = ra.person.as_ref().unwrap();
        assert_eq!(pa.name, "報告 あ");
        assert_eq!(pa.sex.as_deref(), Some("女性"));
        assert_eq!(pa.address.as_deref(), Some("つなぐ市本町1丁目"));
        assert_eq!(ra.main_problem.as_deref(), Some("住まいについて"));
        assert_eq!(ra.agency, "自立相談支援機関");
        assert!(ra.case_number.is_some());
        // B: the statutory service is decided, the other item reported.
        let rb = of(&b);
        assert!(!rb.report_only);
        assert_eq!(rb.statutory_services, vec!["住居確保給付金".to_owned()]);
        assert_eq!(rb.reported_items.len(), 1, "{rb:?}");
        // C: no name, no details of the person.
        assert!(of(&c).person.is_none());
        assert!(!list.iter().any(|r| r.case_id.to_string() == d));

        // A period before the approvals holds none.
        let early = today.checked_sub(jiff::Span::new().days(275)).unwrap();
        assert!(
            reports::received(&city.app, &city.caller, from, early)
                .await
                .unwrap()
                .is_empty()
        );
        // Audited with the persons named (A and B; not C, whose person was not shown).
        let rows = city.audit_entries().await;
        let read = rows
            .iter()
            .find(|r| {
                r.action == "plan_reports.read"
                    && r.detail.as_deref().is_some_and(|d| d.contains("reports=3"))
            })
            .expect("the reading audited");
        let subjects: Vec<String> = serde_json::from_str(&read.subjects).unwrap();
        assert_eq!(subjects.len(), 2, "{subjects:?}");

        // The same reports as a file: a row a plan, the restricted case without its person,
        // audited as an export with the same persons.
        let csv = reports::export_file(
            &city.app,
            &city.caller,
            from,
            today,
            tsunagu_app::FileFormat::Csv,
        )
        .await
        .unwrap();
        let csv = String::from_utf8(csv).unwrap();
        // (A cell may hold a line break, quoted; rows end in CRLF.)
        let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 4, "the header and three plans: {csv}");
        assert!(lines[0].starts_with("\u{feff}報告日（了承日）,ケース番号,プランの版,氏名,"));
        let row_a = lines
            .iter()
            .find(|l| l.contains("報告 あ"))
            .expect("A's row");
        assert!(
            row_a.contains("報告のみ") && row_a.contains("つなぐ市本町1丁目"),
            "{row_a}"
        );
        assert!(row_a.contains("ハローワーク"), "{row_a}");
        let row_b = lines
            .iter()
            .find(|l| l.contains("報告 い"))
            .expect("B's row");
        assert!(
            row_b.contains("支援決定あり") && row_b.contains("住居確保給付金"),
            "{row_b}"
        );
        assert!(
            !csv.contains("報告 う") && !csv.contains("報告 え"),
            "{csv}"
        );
        assert!(csv.contains("（閲覧制限のあるケース）"), "{csv}");
        let rows = city.audit_entries().await;
        let exported = rows
            .iter()
            .find(|r| r.action == "plan_reports.exported")
            .expect("the export audited");
        let exported: Vec<String> = serde_json::from_str(&exported.subjects).unwrap();
        assert_eq!(exported, subjects);
        // Only the municipal department's officers: the agency's worker and lead get 403.
        for role in ["worker", "lead", "hw"] {
            let u = t.user(role).await;
            let e = reports::received(&u.app, &u.caller, from, today)
                .await
                .unwrap_err();
            assert_eq!(e.code, "auth.forbidden", "{role}");
            let e = reports::export_file(
                &u.app,
                &u.caller,
                from,
                today,
                tsunagu_app::FileFormat::Xlsx,
            )
            .await
            .unwrap_err();
            assert_eq!(e.code, "auth.forbidden", "{role}");
        }
        db.finish().await;
    }
}
