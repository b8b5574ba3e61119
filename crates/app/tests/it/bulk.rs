//! Bulk loading (`Store::append_all_sent`, the generator's and an import's way in): on SQLite
//! the bulk writer runs a transaction while the loader prepares the next, and remembers the
//! streams it wrote. What a loader relies on: transactions take effect in the order they were
//! sent, one that builds on a failed one fails too, nothing of a failed one is written, and a
//! stream another writer moved meanwhile is a conflict, never overwritten.

use serde_json::json;
use tsunagu_core::case::{self, CaseCommand, CaseEvent, CaseState, OpenCase};
use tsunagu_core::person::{self, PersonDetails, PersonEvent};
use tsunagu_core::{Actor, AttachmentId, CaseId, Context, HouseholdId, PersonId, TenantSettings};
use tsunagu_store::{AppendBatch, AttachmentFile, AuditEntry, Store, StoreError, StreamAppend};
use uuid::Uuid;

use crate::harness::*;

struct Loader {
    store: Store,
    actor: Actor,
    settings: TenantSettings,
}

impl Loader {
    async fn new(db: &TestDb) -> Loader {
        let seeded = seed(&db.store).await;
        let (actor, settings) = actor(&db.store, seeded.user_id("worker")).await;
        Loader {
            store: db.store.clone(),
            actor,
            settings,
        }
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            today: tsunagu_app::today(),
            actor: &self.actor,
            settings: &self.settings,
            consents: &[],
        }
    }

    fn batch(&self, streams: Vec<StreamAppend>) -> AppendBatch {
        AppendBatch {
            tenant: self.actor.tenant_id,
            actor: self.actor.actor_ref(),
            recorded_at: jiff::Timestamp::now(),
            reason: None,
            idempotency: None,
            streams,
            audit: vec![AuditEntry::by(&self.actor, "test.bulk")],
            files: Vec::new(),
        }
    }

    /// A person registered with a case opened: the write, the case's id and its state.
    fn person_with_case(&self, name: &str) -> (AppendBatch, PersonId, CaseId, CaseState) {
        let details: PersonDetails = serde_json::from_value(json!({ "name": name })).unwrap();
        let person = PersonId(Uuid::now_v7());
        let registered: Vec<PersonEvent> =
            person::register(details, HouseholdId(Uuid::now_v7()), &self.ctx()).unwrap();
        let open: OpenCase = serde_json::from_value(json!({
            "person_id": person, "intake": {"received_on": day(0), "route": "self_visit",
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}))
        .unwrap();
        let opened = case::open(open, &self.ctx()).unwrap();
        let state = CaseState::fold(opened.iter()).unwrap();
        let id = CaseId(Uuid::now_v7());
        let batch = self.batch(vec![
            StreamAppend::Person {
                id: person,
                expected_version: 0,
                events: registered,
            },
            StreamAppend::Case {
                id,
                expected_version: 0,
                events: opened,
            },
        ]);
        (batch, person, id, state)
    }

    /// A contact record on the case, decided by core over `state` (which it moves on).
    fn contact(&self, id: CaseId, state: &mut CaseState, expected: u64) -> AppendBatch {
        let command: CaseCommand = serde_json::from_value(json!({"action": "record_contact",
            "kind": "phone", "contacted_on": day(0), "reached": true, "summary": "電話で話した"}))
        .unwrap();
        let events: Vec<CaseEvent> =
            case::decide(state, command, &self.ctx(), Uuid::now_v7()).unwrap();
        for e in &events {
            state.evolve(e);
        }
        self.batch(vec![StreamAppend::Case {
            id,
            expected_version: expected,
            events,
        }])
    }

    async fn version(&self, id: CaseId) -> Option<u64> {
        self.store
            .case(self.actor.tenant_id, id)
            .await
            .unwrap()
            .map(|c| c.version)
    }
}

#[tokio::test]
async fn a_transaction_sent_before_the_one_it_builds_on_committed_finds_its_writes() {
    for db in TestDb::all().await {
        let loader = Loader::new(&db).await;
        let (first, _, case_id, mut state) = loader.person_with_case("一括 一郎");
        let (registered, opened) = match &first.streams[..] {
            [
                StreamAppend::Person { events: p, .. },
                StreamAppend::Case { events: c, .. },
            ] => (p.len() as u64, c.len() as u64),
            _ => unreachable!(),
        };
        // The second and third are sent before the first is known to be committed.
        let sent_first = loader.store.append_all_sent(vec![first]).await.unwrap();
        let second = loader.contact(case_id, &mut state, opened);
        let sent_second = loader.store.append_all_sent(vec![second]).await.unwrap();
        let third = loader.contact(case_id, &mut state, opened + 1);
        let sent_third = loader.store.append_all_sent(vec![third]).await.unwrap();
        assert_eq!(
            sent_first.committed().await.unwrap(),
            vec![vec![registered, opened]]
        );
        assert_eq!(
            sent_second.committed().await.unwrap(),
            vec![vec![opened + 1]]
        );
        assert_eq!(
            sent_third.committed().await.unwrap(),
            vec![vec![opened + 2]]
        );
        assert_eq!(
            loader.version(case_id).await,
            Some(opened + 2),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn nothing_of_a_failed_bulk_transaction_is_written_and_one_built_on_it_fails_too() {
    for db in TestDb::all().await {
        let loader = Loader::new(&db).await;
        let (mut first, person, case_id, mut state) = loader.person_with_case("一括 二郎");
        let opened = match &first.streams[1] {
            StreamAppend::Case { events, .. } => events.len() as u64,
            _ => unreachable!(),
        };
        // Two files under one id: the second insert fails inside the database, after the
        // person, the case and their events were sent.
        let file = AttachmentFile {
            id: AttachmentId(Uuid::now_v7()),
            case_id,
            sha256: "0".repeat(64),
            content: b"%PDF-1.4".to_vec(),
        };
        first.files = vec![file.clone(), file];
        let failed = match loader.store.append_all_sent(vec![first]).await {
            Ok(sent) => sent.committed().await,
            Err(e) => Err(e),
        };
        assert!(
            failed.is_err(),
            "{}: a duplicate file id must fail",
            db.name
        );
        // Built on the failed one (the case at the version it would have had).
        let second = loader.contact(case_id, &mut state, opened);
        let built_on = match loader.store.append_all_sent(vec![second]).await {
            Ok(sent) => sent.committed().await,
            Err(e) => Err(e),
        };
        assert!(
            matches!(
                built_on,
                Err(StoreError::Conflict { .. } | StoreError::NotFound)
            ),
            "{}: {built_on:?}",
            db.name
        );
        assert_eq!(loader.version(case_id).await, None, "{}", db.name);
        assert!(
            loader
                .store
                .person(loader.actor.tenant_id, person)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.name
        );
        // The writer goes on with the next transaction.
        let (next, _, next_case, _) = loader.person_with_case("一括 三郎");
        loader.store.append_all(vec![next]).await.unwrap();
        assert_eq!(loader.version(next_case).await, Some(opened), "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn a_bulk_write_over_a_stream_another_writer_moved_is_a_conflict_and_overwrites_nothing() {
    for db in TestDb::all().await {
        let loader = Loader::new(&db).await;
        let (first, _, case_id, state) = loader.person_with_case("一括 四郎");
        let opened = match &first.streams[1] {
            StreamAppend::Case { events, .. } => events.len() as u64,
            _ => unreachable!(),
        };
        loader.store.append_all(vec![first]).await.unwrap();
        // A worker records a contact through the server meanwhile; the loader, told of it,
        // goes on from what the server wrote (not from what it wrote itself before).
        let mut theirs = state.clone();
        let by_server = loader.contact(case_id, &mut theirs, opened);
        loader.store.append(by_server).await.unwrap();
        let fresh = loader.contact(case_id, &mut theirs, opened + 1);
        loader.store.append_all(vec![fresh]).await.unwrap();
        assert_eq!(
            loader.version(case_id).await,
            Some(opened + 2),
            "{}",
            db.name
        );
        // The server writes again; a loader that still believes its own last write is refused.
        let mut ours = theirs.clone();
        let again = loader.contact(case_id, &mut theirs, opened + 2);
        loader.store.append(again).await.unwrap();
        let stale = loader.contact(case_id, &mut ours, opened + 2);
        let answer = loader.store.append_all(vec![stale]).await;
        assert!(
            matches!(answer, Err(StoreError::Conflict { .. })),
            "{}: {answer:?}",
            db.name
        );
        assert_eq!(
            loader.version(case_id).await,
            Some(opened + 3),
            "{}",
            db.name
        );
        db.finish().await;
    }
}
