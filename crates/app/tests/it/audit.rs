//! One audit entry per request, naming everything shown (the persons of every row of a list),
//! and none for a request that was refused before anything was shown or written.

use serde_json::json;
use tsunagu_app::cases::ListRequest;
use tsunagu_core::CaseId;
use tsunagu_store::audit::AuditRow;

use crate::harness::*;

/// The entries written by `request`.
async fn written_by<T>(u: &User, request: impl AsyncFnOnce() -> T) -> (T, Vec<AuditRow>) {
    let before = u.audit_entries().await.len();
    let out = request().await;
    let after = u.audit_entries().await;
    (out, after[before..].to_vec())
}

fn subjects(row: &AuditRow) -> Vec<String> {
    let mut s: Vec<String> = serde_json::from_str(&row.subjects).unwrap();
    s.sort();
    s
}

#[tokio::test]
async fn each_request_writes_one_entry_naming_what_it_showed() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let worker = t.user("worker").await;
        let stranger = t.user("stranger").await;
        let mut persons = vec![];
        let mut cases = vec![];
        for name in ["監査 一", "監査 二", "監査 三"] {
            let p = worker.new_person(name).await;
            cases.push(worker.new_case(&p, -30).await);
            persons.push(p);
        }
        persons.sort();

        // The case page: the case and its timeline, one access check, one entry.
        let (page, rows) = written_by(&worker, async || {
            tsunagu_app::cases::page(
                &worker.app,
                &worker.caller,
                CaseId(cases[0].parse().unwrap()),
            )
            .await
        })
        .await;
        let page = page.unwrap();
        assert!(!page.timeline.is_empty());
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(r.action, "case.read");
        assert_eq!(r.object_id.as_deref(), Some(cases[0].as_str()));
        assert_eq!(subjects(r), vec![page.case.state.person_id.to_string()]);
        assert_eq!(r.session_id.as_deref(), Some("test-worker"));

        // A list: one entry naming the person of every row shown.
        let (list, rows) = written_by(&worker, async || {
            tsunagu_app::cases::list(&worker.app, &worker.caller, ListRequest::default()).await
        })
        .await;
        assert_eq!(list.unwrap().len(), 3);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].action, "case.list");
        assert_eq!(subjects(&rows[0]), persons);

        // A write: one entry, with the stream and version it appended.
        let (c, rows) = written_by(&worker, async || {
            worker
                .cmd_at(&cases[1], 2, json!({"action": "triage", "triaged_on": day(-29), "outcome": {"outcome": "continue"}}))
                .await
        })
        .await;
        let version = c.unwrap()["version"].as_u64().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].action, "case.command");
        assert_eq!(rows[0].detail.as_deref(), Some("triage"));
        let events = rows[0].events.as_deref().unwrap();
        assert!(
            events.starts_with(&format!("{}@{version}=", cases[1])),
            "{events}"
        );

        // Refused before anything was shown or written: a stale version, a rule, no access.
        let (stale, rows) = written_by(&worker, async || {
            worker
                .cmd_at(&cases[1], 2, json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": "電話"}))
                .await
        })
        .await;
        assert_eq!(stale.unwrap_err().kind, tsunagu_app::Kind::Conflict);
        assert!(rows.is_empty(), "{rows:?}");
        let (rule, rows) = written_by(&worker, async || {
            worker
                .cmd(
                    &cases[1],
                    json!({"action": "start_support", "started_on": day(-1)}),
                )
                .await
        })
        .await;
        assert_eq!(rule.unwrap_err().kind, tsunagu_app::Kind::Invalid);
        // The version was read (an entry for that read), the refused command wrote nothing.
        assert_eq!(
            rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["case.read"]
        );
        let (hidden, rows) = written_by(&stranger, async || stranger.case(&cases[2]).await).await;
        assert_eq!(hidden.unwrap_err().kind, tsunagu_app::Kind::NotFound);
        assert!(rows.is_empty(), "{rows:?}");
        // The stranger's list shows nothing and names no one.
        let (list, rows) = written_by(&stranger, async || {
            tsunagu_app::cases::list(&stranger.app, &stranger.caller, ListRequest::default()).await
        })
        .await;
        assert!(list.unwrap().is_empty());
        assert_eq!(rows.len(), 1);
        assert!(subjects(&rows[0]).is_empty());
        db.finish().await;
    }
}
