//! The store's SQL, one ordinary Rust file per concern, each statement written once for both
//! drivers against `crate::sql` (the one place that knows there are two): accounts, the audit
//! trail, appends, the projections, lists and `verify`. What differs between the drivers
//! (pragmas, triggers, pools) lives in the migrations and in `Store::open`.

use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tsunagu_core::case::{CaseEvent, CaseState, DueKind, Stage, due_items};
use tsunagu_core::meeting::{MeetingEvent, MeetingState};
use tsunagu_core::person::{PersonEvent, PersonState};
use tsunagu_core::{
    ActorRef, AttachmentId, CaseId, MeetingId, OrgId, OrgKind, PersonId, Role, TenantId,
    TenantSettings, UserId,
};
use uuid::Uuid;

use crate::StoreError;
use crate::audit::{AuditEntry, AuditQuery, ChainedRow};
use crate::sql::{Exec, Pool, Query, Row, Tx, Val, query};
use crate::types::*;

mod accounts;
mod append;
mod audit_log;
mod lists;
mod projections;
mod stats;
mod verify;

use append::*;
use audit_log::*;
use projections::*;
use verify::*;

pub use append::BulkSent;
pub(crate) use lists::normalise_phone;

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad id: {e}")))
}
pub(crate) fn parse_date(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("bad date: {e}")))
}
pub(crate) fn parse_ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp: {e}")))
}
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `($1, …, $k), ($k+1, …)`: the VALUES of a multi-row insert of `rows` rows of `columns`
/// (`(?, …), (?, …)` when `anonymous`: the values bound in the same order).
pub(super) fn placeholders(rows: usize, columns: usize, anonymous: bool) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            if anonymous {
                out.push('?');
            } else {
                out.push('$');
                out.push_str(&(r * columns + c + 1).to_string());
            }
        }
        out.push(')');
    }
    out
}

/// At most this many parameters to a multi-row statement (SQLite takes 32,766 since 3.32,
/// PostgreSQL 65,535): fewer, larger statements, each a round trip to the driver's worker.
pub(super) const MAX_PARAMS: usize = 16_000;
/// At most this many ids to an `IN (…)` list.
pub(super) const IN_CHUNK: usize = 200;

/// `$k+1, $k+2, …`: the list of an `IN (…)` of `n` parameters after the first `k` (`?, ?, …`
/// when `anonymous`).
pub(super) fn placeholders_list(n: usize, k: usize, anonymous: bool) -> String {
    (1..=n)
        .map(|i| {
            if anonymous {
                "?".to_owned()
            } else {
                format!("${}", k + i)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The caseload roll-ups (migration 0012): the worker of an organisation's row, and the stage
/// of every stage but closed.
pub(super) const CASELOAD_ALL: &str = "*";
pub(super) const CASELOAD_OPEN: &str = "open";

/// The rows of `sql` for every id of `ids`, read `IN_CHUNK` ids to a statement: `sql` holds
/// `{ids}` where the list goes (`… WHERE id IN ({ids})`).
pub(super) async fn fetch_in(
    tx: &mut Tx<'_>,
    sql: &str,
    ids: &[String],
) -> Result<Vec<Row>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let list = placeholders_list(chunk.len(), 0, tx.anonymous());
        out.extend(
            with_ids(sql.replace("{ids}", &list), chunk, 1)
                .fetch_all(tx.ex())
                .await?,
        );
    }
    Ok(out)
}

/// The expression `stored_state` and `bulk_load_many` read beside a stream's state: a case's
/// stage and when it was entered (`stage|stage_changed_at`), nothing for the other kinds.
pub(super) fn state_extra(kind: StreamKind) -> &'static str {
    match kind {
        StreamKind::Case => "stage || '|' || stage_changed_at",
        StreamKind::Person | StreamKind::Meeting => "''",
    }
}

/// A statement over an `IN (…)` list of `ids`, bound `uses` times in order.
pub(super) fn with_ids(sql: String, ids: &[String], uses: usize) -> Query {
    let mut q = query(sqlx::AssertSqlSafe(sql));
    for _ in 0..uses {
        for id in ids {
            q = q.bind(id);
        }
    }
    q
}

/// The store over one database: its pools (on PostgreSQL both are the same pool) and its
/// committing task.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: Pool,
    pub write: Pool,
    /// How a write transaction starts (`BEGIN IMMEDIATE` on SQLite: the write lock at once).
    begin_sql: &'static str,
    /// Group commit of audit entries and appends (`crate::group`).
    queue: crate::group::Queue,
    /// SQLite's bulk writer (`append_all`): a connection of its own on which statements run
    /// without a hand-off to the driver's worker thread.
    direct: Option<std::sync::Arc<crate::direct::DirectSlot>>,
    /// The streams the bulk writer last wrote (`append::RecentStreams`).
    recent: std::sync::Arc<std::sync::Mutex<RecentStreams>>,
}

impl Db {
    /// A store over its pools, with its committing task (`crate::group`) started on
    /// the current runtime.
    pub fn new(read: Pool, write: Pool) -> Db {
        let begin_sql = match write {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        };
        let inner = Db {
            read: read.clone(),
            write: write.clone(),
            begin_sql,
            queue: Default::default(),
            direct: None,
            recent: Default::default(),
        };
        let queue = crate::group::Queue::spawn(move |jobs| {
            let inner = inner.clone();
            async move { inner.round(jobs).await }
        });
        Db {
            read,
            write,
            begin_sql,
            queue,
            direct: None,
            recent: Default::default(),
        }
    }

    /// Bulk writes (`append_all`) go through a direct connection to the SQLite file at `path`.
    pub(crate) fn with_direct(mut self, path: std::path::PathBuf, mmap_bytes: u64) -> Db {
        self.direct = Some(std::sync::Arc::new(crate::direct::DirectSlot::new(
            path, mmap_bytes,
        )));
        self
    }

    pub fn group_commit(&self) -> crate::group::GroupCommit {
        self.queue.figures()
    }

    /// One round of group commit: every job under its own savepoint (a lone job
    /// needs none), then one commit for all.
    pub(super) async fn round(
        &self,
        jobs: Vec<crate::group::Job>,
    ) -> Result<Vec<Result<crate::group::Done, StoreError>>, StoreError> {
        use crate::group::{Done, Job};
        async fn run(db: &Db, tx: &mut Tx<'_>, job: Job) -> Result<Done, StoreError> {
            match job {
                Job::Audit(entries) => write_audit(tx, &entries).await.map(|()| Done::Audit),
                Job::Append(batch) => db.append_job(tx, &batch).await.map(Done::Append),
            }
        }
        let mut tx = self.begin().await?;
        let mut answers = Vec::with_capacity(jobs.len());
        let lone = jobs.len() == 1;
        for job in jobs {
            if lone {
                let answer = run(self, &mut tx, job).await;
                if answer.is_err() {
                    tx.rollback().await?;
                    return Ok(vec![answer]);
                }
                answers.push(answer);
                continue;
            }
            let mut savepoint = tx.savepoint().await?;
            let answer = run(self, &mut savepoint, job).await;
            if answer.is_ok() {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            answers.push(answer);
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Starts a write transaction. A custom `BEGIN` is refused by sqlx when the
    /// connection still counts an open transaction, so a connection left in an unknown
    /// state can never turn the next write into a savepoint that is never committed;
    /// `crate::discard_unfinished` removes such connections from the pool.
    pub(super) async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        Ok(self.write.begin_with(self.begin_sql).await?)
    }

    /// Records entries in a transaction of their own, outside group commit: one
    /// commit per call, the raw durable commit rate `tsunagu bench` measures.
    pub async fn raw_commit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        write_audit(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics after a bulk load. Plans chosen from the
    /// statistics of a much smaller database scan whole tables: the national generator's
    /// projection refreshes ran at 1/15 of their speed until an ANALYZE. SQLite keeps no
    /// statistics unless asked, and its plans are measured without them, so it is left alone.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        if let Pool::Postgres(_) = self.write {
            query("ANALYZE").execute(self.write.ex()).await?;
        }
        Ok(())
    }

    /// Whether the database answers a read.
    pub async fn ping(&self) -> Result<(), StoreError> {
        query("SELECT 1").fetch_one(self.read.ex()).await?;
        Ok(())
    }

    pub async fn has_non_demo_data(&self) -> Result<bool, StoreError> {
        let row = query("SELECT COUNT(*) AS n FROM tenants WHERE is_demo = $1")
            .bind(false)
            .fetch_one(self.read.ex())
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
