//! The SQL, written once and compiled for each driver by `backend!`. Both schemas use the same
//! table and column names and portable types (text ids and dates, bigint versions), so the
//! statements are identical; what differs (pragmas, triggers, pools) lives in the migrations and
//! in `Store::open`.

use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tsunagu_core::case::{CaseState, due_items};
use tsunagu_core::meeting::MeetingState;
use tsunagu_core::person::PersonState;
use uuid::Uuid;

use crate::StoreError;

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

/// The condition "the reader may see the case in column `case`": the lowest-ranked row of the
/// access projection that matches the reader's organisation (`$org`), user (`$user`) and day
/// (`$day`) names a relation the reader's role may read. With no reader (`$org` NULL) every row
/// passes: counts without names and internal reads. The relation names are core's stable
/// `as_str` values, never input.
pub(crate) fn readable(
    case: &str,
    reader: Option<&crate::Reader>,
    org: u8,
    user: u8,
    day: u8,
) -> String {
    let relations = reader
        .map(|r| {
            r.relations
                .iter()
                .map(|x| format!("'{}'", x.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "''".to_owned());
    format!(
        "(${org} IS NULL OR (SELECT a.relation FROM case_access a WHERE a.case_id = {case} AND a.org_id = ${org} \
         AND (a.user_id IS NULL OR a.user_id = ${user}) AND (a.valid_from IS NULL OR a.valid_from <= ${day}) \
         AND (a.valid_until IS NULL OR a.valid_until >= ${day}) ORDER BY a.rank LIMIT 1) IN ({relations}))"
    )
}

/// The conditions of a case list (`CaseFilter`), on `cases c`, with its parameters numbered as
/// `cases` and `count_cases` bind them: $1 tenant, $2 team organisation, $3 stage, $4 worker,
/// $5 person, ($6 limit, $7 offset,) $8 owner, $9 stage unchanged since, $10–$12 the reader.
/// The stage set is written as literals of core's stable `as_str` values, never input.
pub(crate) fn case_filter_sql(f: &crate::CaseFilter) -> String {
    let stages = if f.stages.is_empty() {
        "1 = 1".to_owned()
    } else {
        let list: Vec<String> = f
            .stages
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("c.stage IN ({})", list.join(", "))
    };
    // A condition the filter does not use is written as `$n IS NULL` (its parameter is bound
    // NULL), one it uses as the bare comparison: `$n IS NULL OR col = $n` would keep the
    // planner from the column's index.
    let when = |on: bool, condition: &str, n: u8| {
        if on {
            condition.to_owned()
        } else {
            format!("${n} IS NULL")
        }
    };
    format!(
        "c.tenant_id = $1 AND {} AND {} AND {} AND {} AND {} AND {} AND {stages} AND {}",
        when(
            f.visible_to_org.is_some(),
            "EXISTS (SELECT 1 FROM case_team t WHERE t.case_id = c.id AND t.org_id = $2)",
            2
        ),
        when(f.stage.is_some(), "c.stage = $3", 3),
        when(f.assigned_worker.is_some(), "c.assigned_worker = $4", 4),
        when(f.person.is_some(), "c.person_id = $5", 5),
        when(f.owner_org.is_some(), "c.owner_org = $8", 8),
        when(
            f.stage_unchanged_since.is_some(),
            "c.stage_changed_at < $9",
            9
        ),
        readable("c.id", f.reader.as_ref(), 10, 11, 12)
    )
}

/// The reader's parameters, bound in the order `readable` names them.
pub(crate) fn reader_binds(
    reader: Option<&crate::Reader>,
) -> (Option<String>, Option<String>, Option<String>) {
    match reader {
        Some(r) => (
            Some(r.org.to_string()),
            Some(r.user.to_string()),
            Some(r.day.to_string()),
        ),
        None => (None, None, None),
    }
}

/// `($1, …, $k), ($k+1, …)`: the VALUES of a multi-row insert of `rows` rows of `columns`
/// (`(?, …), (?, …)` when `anonymous`: the values bound in the same order).
fn placeholders(rows: usize, columns: usize, anonymous: bool) -> String {
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

/// Audit entries read per page by `verify` and `audit verify`.
const VERIFY_PAGE: usize = 2000;
/// Streams read per page by `verify`, each with all its events and projection rows.
const VERIFY_STREAMS: usize = 250;

/// At most this many parameters to a multi-row statement.
const MAX_PARAMS: usize = 999;
/// At most this many ids to an `IN (…)` list.
const IN_CHUNK: usize = 200;

/// `$k+1, $k+2, …`: the list of an `IN (…)` of `n` parameters after the first `k` (`?, ?, …`
/// when `anonymous`).
fn placeholders_list(n: usize, k: usize, anonymous: bool) -> String {
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

/// One value of a multi-row insert.
enum Val {
    Text(Option<String>),
    Int(i64),
}

impl Val {
    fn text(s: impl Into<String>) -> Val {
        Val::Text(Some(s.into()))
    }
}

/// What a person's projection rows are written from.
struct PersonRows<'a> {
    tenant: tsunagu_core::TenantId,
    id: tsunagu_core::PersonId,
    version: u64,
    state: &'a PersonState,
    /// A new person: their person_access rows are written too.
    new: bool,
    /// Their consents changed: the access rows of all their cases are rewritten.
    consents_changed: bool,
}

/// What a case's projection rows are written from.
struct CaseRows<'a> {
    tenant: tsunagu_core::TenantId,
    id: tsunagu_core::CaseId,
    version: u64,
    state: &'a CaseState,
    stage_changed_at: &'a str,
    updated_at: &'a str,
}

/// A case's rows of the access projection (`policy::access_rows`) as insert values.
fn access_values(
    tenant: tsunagu_core::TenantId,
    id: tsunagu_core::CaseId,
    state: &CaseState,
    consents: &[tsunagu_core::person::Consent],
) -> Vec<Vec<Val>> {
    tsunagu_core::policy::access_rows(state, consents)
        .into_iter()
        .map(|row| {
            vec![
                Val::text(id.to_string()),
                Val::text(tenant.to_string()),
                Val::text(row.org.to_string()),
                Val::Text(row.user.map(|u| u.to_string())),
                Val::text(row.relation.as_str()),
                Val::Text(row.from.map(|d| d.to_string())),
                Val::Text(row.until.map(|d| d.to_string())),
                Val::Int(i64::from(row.rank)),
            ]
        })
        .collect()
}

/// One event row as `append_all` writes it.
struct EventRow {
    stream_id: String,
    version: u64,
    tenant_id: String,
    event_type: &'static str,
    payload: String,
    actor_user: String,
    actor_org: String,
    recorded_at: String,
    reason: Option<String>,
    hash: String,
}

/// A stream `append_all` writes to: where it started, where it is, and its folded state.
struct Bulk {
    id: Uuid,
    kind: &'static str,
    tenant: tsunagu_core::TenantId,
    /// The version stored before this call (0: a new stream).
    base: u64,
    version: u64,
    head: String,
    /// When the last batch that touched it was recorded.
    updated_at: String,
    state: BulkState,
}

enum BulkState {
    Case {
        state: Option<Box<CaseState>>,
        /// The stage before the current batch, to keep `stage_changed_at` as `append` does.
        stage: Option<String>,
        stage_changed_at: String,
    },
    Person {
        state: Option<PersonState>,
        new: bool,
        consents_changed: bool,
    },
    Meeting(Option<MeetingState>),
}

impl Bulk {
    /// Folds one batch's events of this stream into the state, as `append` would, and returns
    /// them as (type, JSON payload).
    fn evolve(
        &mut self,
        stream: &crate::StreamAppend,
        recorded_at: &str,
    ) -> Result<Vec<(&'static str, String)>, StoreError> {
        use crate::StreamAppend;
        match (stream, &mut self.state) {
            (
                StreamAppend::Case { events, .. },
                BulkState::Case {
                    state,
                    stage,
                    stage_changed_at,
                },
            ) => {
                let mut next = match state.take() {
                    None => Box::new(CaseState::fold(events.iter()).ok_or_else(|| {
                        StoreError::Corrupt("a case stream must start with case_opened".into())
                    })?),
                    Some(mut s) => {
                        for e in events {
                            s.evolve(e);
                        }
                        s
                    }
                };
                next.team.dedup();
                if stage.as_deref() != Some(next.stage.as_str()) {
                    *stage_changed_at = recorded_at.to_owned();
                }
                *stage = Some(next.stage.as_str().to_owned());
                *state = Some(next);
                events
                    .iter()
                    .map(|e| Ok((e.type_name(), json(e)?)))
                    .collect()
            }
            (
                StreamAppend::Person { events, .. },
                BulkState::Person {
                    state,
                    consents_changed,
                    ..
                },
            ) => {
                let next = match state.take() {
                    None => PersonState::fold(events.iter()),
                    Some(mut s) => {
                        for e in events {
                            s.evolve(e);
                        }
                        Some(s)
                    }
                }
                .ok_or_else(|| {
                    StoreError::Corrupt("a person stream must start with person_registered".into())
                })?;
                *consents_changed |= events.iter().any(consent_event);
                *state = Some(next);
                events
                    .iter()
                    .map(|e| Ok((e.type_name(), json(e)?)))
                    .collect()
            }
            (StreamAppend::Meeting { events, .. }, BulkState::Meeting(state)) => {
                let next = match state.take() {
                    None => MeetingState::fold(events.iter()).ok_or_else(|| {
                        StoreError::Corrupt(
                            "a meeting stream must start with meeting_scheduled".into(),
                        )
                    })?,
                    Some(mut s) => {
                        for e in events {
                            s.evolve(e);
                        }
                        s
                    }
                };
                *state = Some(next);
                events
                    .iter()
                    .map(|e| Ok((e.type_name(), json(e)?)))
                    .collect()
            }
            _ => Err(StoreError::NotFound),
        }
    }
}

/// When a case entered its current stage, as the append records it: the time of the write
/// (the events recorded together) after which the stage differed from the stage before it.
pub(crate) fn stage_entered_at(
    events: &[(tsunagu_core::case::CaseEvent, Timestamp)],
) -> Option<Timestamp> {
    let mut state: Option<CaseState> = None;
    let mut at = None;
    let mut i = 0;
    while i < events.len() {
        let write = events[i].1;
        let before = state.as_ref().map(|s| s.stage);
        while i < events.len() && events[i].1 == write {
            match &mut state {
                None => state = CaseState::fold(std::iter::once(&events[i].0)),
                Some(s) => s.evolve(&events[i].0),
            }
            i += 1;
        }
        if state.as_ref().map(|s| s.stage) != before {
            at = Some(write);
        }
    }
    at
}

/// Whether a person event changes the person's consents (and so the access rows of their cases).
fn consent_event(e: &tsunagu_core::person::PersonEvent) -> bool {
    use tsunagu_core::person::PersonEvent;
    matches!(
        e,
        PersonEvent::ConsentRecorded { .. } | PersonEvent::ConsentWithdrawn { .. }
    )
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Compares a stored projection with the fold of the stream's events.
/// One case's projection row as `verify` reads it.
struct VerifyCase {
    person_id: String,
    version: u64,
    state: String,
    stage: String,
    stage_changed_at: String,
}

/// A row of `case_access` as `verify` compares it: organisation, user, relation, valid from,
/// valid until, rank.
type AccessRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
);

/// One page of `verify`: the events and projection rows of a range of stream ids, keyed by id.
#[derive(Default)]
struct VerifyPage {
    /// Each stream's chain: (version, stored hash, recomputed hash) per event.
    chains: HashMap<String, Vec<(u64, Option<String>, String)>>,
    events: HashMap<String, Vec<crate::StoredEvent>>,
    unreadable: Vec<String>,
    cases: HashMap<String, VerifyCase>,
    persons: HashMap<String, (u64, String)>,
    meetings: HashMap<String, (u64, String)>,
    team: HashMap<String, BTreeSet<String>>,
    due: HashMap<String, BTreeSet<(String, String)>>,
    access: HashMap<String, BTreeSet<AccessRow>>,
    files: HashMap<String, BTreeSet<(String, String, i64)>>,
    person_access: HashMap<String, BTreeSet<String>>,
    /// The organisations on the teams of each person's cases.
    person_teams: HashMap<String, BTreeSet<String>>,
    meeting_members: HashMap<String, BTreeSet<String>>,
}

impl VerifyPage {
    /// Compares a case's projection rows with what its folded state makes of them: the stage
    /// columns, team, due items, access rows (with the person's `consents`) and attachment files.
    fn check_case(
        &mut self,
        findings: &mut Vec<String>,
        sid: &str,
        state: &CaseState,
        entered: Option<Timestamp>,
        consents: &[tsunagu_core::person::Consent],
    ) {
        if let Some(row) = self.cases.get(sid) {
            if row.stage != state.stage.as_str() {
                findings.push(format!("case {sid}: stage column differs from the fold"));
            }
            if parse_ts(&row.stage_changed_at).ok() != entered {
                findings.push(format!(
                    "case {sid}: stage_changed_at differs from the write that entered the stage"
                ));
            }
        }
        let expected: BTreeSet<String> = state.team.iter().map(|o| o.to_string()).collect();
        if self.team.remove(sid).unwrap_or_default() != expected {
            findings.push(format!("case {sid}: team rows differ from the fold"));
        }
        let expected: BTreeSet<(String, String)> = due_items(state)
            .iter()
            .map(|d| (d.kind.as_str().to_owned(), d.due_on.to_string()))
            .collect();
        if self.due.remove(sid).unwrap_or_default() != expected {
            findings.push(format!("case {sid}: due rows differ from the fold"));
        }
        let expected: BTreeSet<AccessRow> = tsunagu_core::policy::access_rows(state, consents)
            .into_iter()
            .map(|a| {
                (
                    a.org.to_string(),
                    a.user.map(|u| u.to_string()),
                    a.relation.as_str().to_owned(),
                    a.from.map(|d| d.to_string()),
                    a.until.map(|d| d.to_string()),
                    i64::from(a.rank),
                )
            })
            .collect();
        if self.access.remove(sid).unwrap_or_default() != expected {
            findings.push(format!(
                "case {sid}: rows of case_access differ from the fold"
            ));
        }
        let expected: BTreeSet<(String, String, i64)> = state
            .attachments
            .iter()
            .map(|a| (a.id.to_string(), a.sha256.clone(), to_i64(a.size)))
            .collect();
        if self.files.remove(sid).unwrap_or_default() != expected {
            findings.push(format!(
                "case {sid}: attachment files differ from the events"
            ));
        }
    }
}

/// The 32 bytes of a hex SHA-256.
fn hash_bytes(hex_text: &str) -> Option<[u8; 32]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

fn compare<T: serde::Serialize>(
    findings: &mut Vec<String>,
    what: &str,
    id: &str,
    folded: Option<&T>,
    stored: &str,
) {
    let folded = folded.and_then(|f| serde_json::to_value(f).ok());
    let stored: Option<serde_json::Value> = serde_json::from_str(stored).ok();
    if folded.is_none() || folded != stored {
        findings.push(format!(
            "{what} {id}: the stored projection differs from the fold of its events"
        ));
    }
}

/// What a stream's hash chain says: every event whose stored hash does not follow from the one
/// before (modified, inserted or reordered), an unhashed event after hashed ones (inserted), a
/// head that is not the last event's hash (the last events removed or replaced), and events the
/// audit trail recorded that are not there as recorded (removed, or rewritten with the chain).
fn chain_findings(
    stype: &str,
    sid: &str,
    version: u64,
    head: Option<&str>,
    chain: &[(u64, Option<String>, String)],
    recorded: Option<(u64, String)>,
) -> Vec<String> {
    let mut findings = Vec::new();
    let mut hashed = false;
    for (v, stored, computed) in chain {
        match stored {
            Some(h) => {
                hashed = true;
                if h != computed {
                    findings.push(format!(
                        "{stype} {sid} event {v}: modified, inserted or reordered outside the application (its hash does not follow the chain)"
                    ));
                }
            }
            None if hashed => findings.push(format!(
                "{stype} {sid} event {v}: carries no hash after hashed events (inserted outside the application)"
            )),
            None => {}
        }
    }
    let last = chain.last();
    if let (Some(head), Some((v, stored, _))) = (head, last)
        && stored.as_deref() != Some(head)
    {
        findings.push(format!(
            "{stype} {sid} event {v}: the stream's last recorded event is not this one (events after it were removed or replaced)"
        ));
    }
    if let Some((rv, rh)) = recorded {
        match chain.iter().find(|(v, _, _)| *v == rv) {
            None => findings.push(format!(
                "{stype} {sid} event {rv}: recorded in the audit trail but missing (deleted outside the application; the stream has {version})"
            )),
            Some((_, stored, computed)) if stored.as_deref() != Some(rh.as_str()) || *computed != rh => {
                findings.push(format!(
                    "{stype} {sid} event {rv}: differs from what the audit trail recorded when it was written"
                ))
            }
            Some(_) => {}
        }
    }
    findings
}

/// The caseload roll-ups (migration 0012): the worker of an organisation's row, and the stage
/// of every stage but closed.
const CASELOAD_ALL: &str = "*";
const CASELOAD_OPEN: &str = "open";

macro_rules! backend {
    ($module:ident, $Db:ty, $begin:literal, $anonymous:literal) => {
        pub mod $module {
            use super::*;
            /// Whether multi-row statements take anonymous `?` parameters: SQLite finds a
            /// numbered parameter by a linear search of its names, once per bound value.
            const ANONYMOUS: bool = $anonymous;
            /// A statement over an `IN (…)` list of `ids`, bound `uses` times in order.
            fn with_ids<'q>(
                sql: String,
                ids: &'q [String],
                uses: usize,
            ) -> sqlx::query::Query<'q, $Db, <$Db as sqlx::Database>::Arguments> {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for _ in 0..uses {
                    for id in ids {
                        q = q.bind(id);
                    }
                }
                q
            }

            use crate::types::*;
            use crate::audit::{AuditEntry, AuditQuery, ChainedRow};
            use sqlx::Row;
            use tsunagu_core::case::{CaseEvent, DueKind, Stage};
            use tsunagu_core::meeting::MeetingEvent;
            use tsunagu_core::person::PersonEvent;
            use tsunagu_core::{
                ActorRef, AttachmentId, CaseId, MeetingId, OrgId, OrgKind, PersonId, Role, TenantId,
                TenantSettings, UserId,
            };

            type Pool = sqlx::Pool<$Db>;
            type Tx<'a> = sqlx::Transaction<'a, $Db>;

            #[derive(Clone, Debug)]
            pub struct Db {
                pub read: Pool,
                pub write: Pool,
                /// Group commit of audit entries and appends (`crate::group`).
                queue: crate::group::Queue,
            }

            fn user_from_row(row: &<$Db as sqlx::Database>::Row) -> Result<User, StoreError> {
                let role: String = row.try_get("role")?;
                Ok(User {
                    id: UserId(parse_uuid(&row.try_get::<String, _>("id")?)?),
                    tenant_id: TenantId(parse_uuid(&row.try_get::<String, _>("tenant_id")?)?),
                    org_id: OrgId(parse_uuid(&row.try_get::<String, _>("org_id")?)?),
                    login: row.try_get("login")?,
                    display_name: row.try_get("display_name")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                    password_hash: row.try_get("password_hash")?,
                    disabled: row.try_get("disabled")?,
                    totp_secret: row.try_get("totp_secret")?,
                    totp_confirmed: row.try_get("totp_confirmed")?,
                })
            }

            const USER_COLUMNS: &str =
                "id, tenant_id, org_id, login, display_name, role, password_hash, disabled, totp_secret, totp_confirmed";
            const SESSION_COLUMNS: &str =
                "id, user_id, created_at, last_seen_at, expires_at, address, totp_setup_only, csrf_token";

            fn session_from_row(row: &<$Db as sqlx::Database>::Row) -> Result<Session, StoreError> {
                let created_at = parse_ts(&row.try_get::<String, _>("created_at")?)?;
                Ok(Session {
                    id: row.try_get::<Option<String>, _>("id")?.unwrap_or_default(),
                    user_id: UserId(parse_uuid(&row.try_get::<String, _>("user_id")?)?),
                    created_at,
                    last_seen_at: row
                        .try_get::<Option<String>, _>("last_seen_at")?
                        .map(|s| parse_ts(&s))
                        .transpose()?
                        .unwrap_or(created_at),
                    expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
                    address: row.try_get("address")?,
                    totp_setup_only: row.try_get("totp_setup_only")?,
                    csrf_token: row.try_get::<Option<String>, _>("csrf_token")?.unwrap_or_default(),
                })
            }

            /// Appends entries to the audit chain inside the caller's transaction. The first
            /// statement moves the head and locks it until commit, so chains never fork.
            async fn write_audit(tx: &mut Tx<'_>, entries: &[AuditEntry]) -> Result<(), StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let n = entries.len() as i64;
                let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
                    .bind(n)
                    .fetch_one(&mut **tx)
                    .await?;
                let last: i64 = head.try_get("seq")?;
                let mut prev: String = head.try_get("hash")?;
                let now = Timestamp::now();
                let mut rows = Vec::with_capacity(entries.len());
                for (i, entry) in entries.iter().enumerate() {
                    let seq = to_u64(last - n + 1 + i as i64);
                    let row = entry.to_row(seq, now);
                    let hash = row.hash(&prev);
                    rows.push((row, std::mem::replace(&mut prev, hash.clone()), hash));
                }
                // Many rows to a statement, 16 parameters each.
                for chunk in rows.chunks(MAX_PARAMS / 16) {
                    let sql = format!(
                        "INSERT INTO audit_log (seq, at, tenant_id, user_id, org_id, session_id, address, action, object_type, object_id, subjects, basis, detail, prev_hash, hash, events) VALUES {}",
                        placeholders(chunk.len(), 16, ANONYMOUS)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (row, prev_hash, hash) in chunk {
                        q = q
                            .bind(to_i64(row.seq))
                            .bind(&row.at)
                            .bind(&row.tenant_id)
                            .bind(&row.user_id)
                            .bind(&row.org_id)
                            .bind(&row.session_id)
                            .bind(&row.address)
                            .bind(&row.action)
                            .bind(&row.object_type)
                            .bind(&row.object_id)
                            .bind(&row.subjects)
                            .bind(&row.basis)
                            .bind(&row.detail)
                            .bind(prev_hash)
                            .bind(hash)
                            .bind(&row.events);
                    }
                    q.execute(&mut **tx).await?;
                }
                sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                    .bind(&prev)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            fn chained_row(r: &<$Db as sqlx::Database>::Row) -> Result<ChainedRow, StoreError> {
                Ok(ChainedRow {
                    row: crate::audit::AuditRow {
                        seq: to_u64(r.try_get("seq")?),
                        at: r.try_get("at")?,
                        tenant_id: r.try_get("tenant_id")?,
                        user_id: r.try_get("user_id")?,
                        org_id: r.try_get("org_id")?,
                        session_id: r.try_get("session_id")?,
                        address: r.try_get("address")?,
                        action: r.try_get("action")?,
                        object_type: r.try_get("object_type")?,
                        object_id: r.try_get("object_id")?,
                        subjects: r.try_get("subjects")?,
                        basis: r.try_get("basis")?,
                        detail: r.try_get("detail")?,
                        events: r.try_get("events")?,
                    },
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            }

            /// Created, expiry (legacy tokens: created + 90 days) and last use of a token row.
            fn token_times(r: &<$Db as sqlx::Database>::Row) -> Result<(Timestamp, Timestamp, Option<Timestamp>), StoreError> {
                let created = parse_ts(&r.try_get::<String, _>("created_at")?)?;
                let expires = match r.try_get::<Option<String>, _>("expires_at")? {
                    Some(t) => parse_ts(&t)?,
                    None => created
                        .checked_add(jiff::SignedDuration::from_hours(24 * LEGACY_TOKEN_DAYS))
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                };
                let used = r.try_get::<Option<String>, _>("last_used_at")?.map(|t| parse_ts(&t)).transpose()?;
                Ok((created, expires, used))
            }

            const AUDIT_COLUMNS: &str = "seq, at, tenant_id, user_id, org_id, session_id, address, action, object_type, object_id, subjects, basis, detail, prev_hash, hash, events";

            impl Db {
                /// A store over its pools, with its committing task (`crate::group`) started on
                /// the current runtime.
                pub fn new(read: Pool, write: Pool) -> Db {
                    let inner = Db { read: read.clone(), write: write.clone(), queue: Default::default() };
                    let queue = crate::group::Queue::spawn(move |jobs| {
                        let inner = inner.clone();
                        async move { inner.round(jobs).await }
                    });
                    Db { read, write, queue }
                }

                pub fn group_commit(&self) -> crate::group::GroupCommit {
                    self.queue.figures()
                }

                /// One round of group commit: every job under its own savepoint (a lone job
                /// needs none), then one commit for all.
                async fn round(&self, jobs: Vec<crate::group::Job>) -> Result<Vec<Result<crate::group::Done, StoreError>>, StoreError> {
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
                        let mut savepoint = sqlx::Acquire::begin(&mut tx).await?;
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
                async fn begin(&self) -> Result<Tx<'static>, StoreError> {
                    Ok(self.write.begin_with($begin).await?)
                }

                /// The failed logins recorded under `key` since `since`, oldest first.
                pub async fn login_failures(&self, key: &str, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
                    let rows = sqlx::query("SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at")
                        .bind(key)
                        .bind(crate::audit::timestamp_text(since))
                        .fetch_all(&self.read)
                        .await?;
                    rows.iter().map(|r| parse_ts(&r.try_get::<String, _>("at")?)).collect()
                }

                /// Records a failed login under each key, and forgets failures older than `forget_before`.
                pub async fn record_login_failure(&self, keys: &[String], at: Timestamp, forget_before: Timestamp) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query("DELETE FROM login_failures WHERE at < $1")
                        .bind(crate::audit::timestamp_text(forget_before))
                        .execute(&mut *tx)
                        .await?;
                    for key in keys {
                        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                            .bind(key)
                            .bind(crate::audit::timestamp_text(at))
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query("DELETE FROM login_failures WHERE key = $1")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Records entries on their own (reads, refusals, failed logins), sharing the
                /// commit with whatever else is being written at the moment.
                pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
                    if entries.is_empty() {
                        return Ok(());
                    }
                    self.queue.submit(crate::group::Job::Audit(entries.to_vec())).await.map(|_| ())
                }

                /// Records entries in a transaction of their own, outside group commit: one
                /// commit per call, the raw durable commit rate `tsunagu bench` measures.
                pub async fn raw_commit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    write_audit(&mut tx, entries).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Checks the whole chain; returns the number of entries or the first break.
                pub async fn audit_verify(&self) -> Result<Result<u64, String>, StoreError> {
                    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                        .fetch_optional(&self.read)
                        .await?;
                    let Some(head) = head else {
                        return Ok(Err("the audit head is missing".into()));
                    };
                    let head = (to_u64(head.try_get("seq")?), head.try_get::<String, _>("hash")?);
                    let anchor = sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1")
                        .fetch_optional(&self.read)
                        .await?
                        .map(|r| Ok::<_, StoreError>((to_u64(r.try_get("seq")?), r.try_get::<String, _>("hash")?)))
                        .transpose()?;
                    // A purge is recorded in the chain; an anchor without that record means
                    // entries were removed outside `audit purge`.
                    if let Some((seq, _)) = &anchor {
                        let recorded = sqlx::query(
                            "SELECT 1 AS one FROM audit_log WHERE action = 'audit.purged' AND detail LIKE $1 LIMIT 1",
                        )
                        .bind(format!("through={seq} %"))
                        .fetch_optional(&self.read)
                        .await?;
                        if recorded.is_none() {
                            return Ok(Err(format!(
                                "entries 1..{seq} were removed without a recorded purge"
                            )));
                        }
                    }
                    // Page by page in `seq` order: memory stays constant however long the log.
                    let mut check = crate::audit::ChainCheck::new(anchor);
                    let mut after: i64 = -1;
                    loop {
                        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {VERIFY_PAGE}"
                        )))
                        .bind(after)
                        .fetch_all(&self.read)
                        .await?;
                        let Some(last) = rows.last() else { break };
                        after = last.try_get("seq")?;
                        for r in &rows {
                            if let Err(e) = check.feed(chained_row(r)?) {
                                return Ok(Err(e));
                            }
                        }
                    }
                    Ok(check.finish(head))
                }

                /// Retention: removes the entries recorded before `before`, moves the anchor to
                /// the last of them (so the rest of the chain still verifies) and records the
                /// purge itself in the chain, all in one transaction. Returns how many went.
                pub async fn audit_purge(&self, before: Timestamp, entry: &AuditEntry) -> Result<u64, StoreError> {
                    let mut tx = self.begin().await?;
                    let last: Option<i64> = sqlx::query("SELECT MAX(seq) AS seq FROM audit_log WHERE at < $1")
                        .bind(crate::audit::timestamp_text(before))
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("seq")?;
                    let Some(last) = last else {
                        return Ok(0);
                    };
                    let hash: String = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
                        .bind(last)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("hash")?;
                    sqlx::query(
                        "INSERT INTO audit_anchor (id, seq, hash, purged_at) VALUES (1, $1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at",
                    )
                    .bind(last)
                    .bind(&hash)
                    .bind(crate::audit::timestamp_text(Timestamp::now()))
                    .execute(&mut *tx)
                    .await?;
                    let purged = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
                        .bind(last)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let entry = entry.clone().detail(format!("through={last} removed={purged}"));
                    write_audit(&mut tx, &[entry]).await?;
                    tx.commit().await?;
                    Ok(purged)
                }

                pub async fn audit_query(&self, q: &AuditQuery) -> Result<Vec<ChainedRow>, StoreError> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ($1 IS NULL OR tenant_id = $1) \
                         AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR session_id = $3) \
                         AND ($4 IS NULL OR subjects LIKE $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
                         ORDER BY seq LIMIT $7"
                    )))
                    .bind(q.tenant.map(|t| t.to_string()))
                    .bind(q.user.map(|u| u.to_string()))
                    .bind(q.session.clone())
                    .bind(q.person.map(|p| format!("%{p}%")))
                    .bind(q.from.map(crate::audit::timestamp_text))
                    .bind(q.until.map(crate::audit::timestamp_text))
                    .bind(i64::from(q.limit.clamp(1, 100_000)))
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter().map(chained_row).collect()
                }

                pub async fn create_tenant(&self, t: &Tenant, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO tenants (id, name, settings, is_demo, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(t.id.to_string())
                    .bind(&t.name)
                    .bind(json(&t.settings)?)
                    .bind(t.is_demo)
                    .bind(Timestamp::now().to_string())
                    .execute(&mut *tx)
                    .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
                    let rows = sqlx::query("SELECT id, name, settings, is_demo FROM tenants ORDER BY created_at")
                        .fetch_all(&self.read)
                        .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(Tenant {
                                id: TenantId(parse_uuid(&row.try_get::<String, _>("id")?)?),
                                name: row.try_get("name")?,
                                settings: from_json(&row.try_get::<String, _>("settings")?)?,
                                is_demo: row.try_get("is_demo")?,
                            })
                        })
                        .collect()
                }

                pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
                    let row = sqlx::query("SELECT id, name, settings, is_demo FROM tenants WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_optional(&self.read)
                        .await?;
                    row.map(|row| {
                        Ok(Tenant {
                            id,
                            name: row.try_get("name")?,
                            settings: from_json(&row.try_get::<String, _>("settings")?)?,
                            is_demo: row.try_get("is_demo")?,
                        })
                    })
                    .transpose()
                }

                /// A user with what a request needs of their organisation and tenant, in one
                /// read: `None` when the user, or their organisation, does not exist.
                pub async fn member(&self, id: UserId) -> Result<Option<Member>, StoreError> {
                    let row = sqlx::query(
                        "SELECT u.id, u.tenant_id, u.org_id, u.login, u.display_name, u.role, u.password_hash, \
                         u.disabled, u.totp_secret, u.totp_confirmed, o.kind AS org_kind, t.settings \
                         FROM users u JOIN organisations o ON o.id = u.org_id AND o.tenant_id = u.tenant_id \
                         JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&self.read)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let kind: String = row.try_get("org_kind")?;
                    Ok(Some(Member {
                        user: user_from_row(&row)?,
                        org_kind: OrgKind::parse(&kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("unknown organisation kind {kind}")))?,
                        settings: from_json(&row.try_get::<String, _>("settings")?)?,
                    }))
                }

                /// Whether the database answers a read.
                pub async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1").fetch_one(&self.read).await?;
                    Ok(())
                }

                pub async fn update_tenant_settings(
                    &self,
                    id: TenantId,
                    settings: &TenantSettings,
                    audit: &AuditEntry,
                ) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query("UPDATE tenants SET settings = $1 WHERE id = $2")
                        .bind(json(settings)?)
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn create_org(&self, org: &Organisation, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO organisations (id, tenant_id, name, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(org.id.to_string())
                    .bind(org.tenant_id.to_string())
                    .bind(&org.name)
                    .bind(org.kind.as_str())
                    .bind(Timestamp::now().to_string())
                    .execute(&mut *tx)
                    .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn orgs(&self, tenant: TenantId) -> Result<Vec<Organisation>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT id, name, kind FROM organisations WHERE tenant_id = $1 ORDER BY created_at, name",
                    )
                    .bind(tenant.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let kind: String = row.try_get("kind")?;
                            Ok(Organisation {
                                id: OrgId(parse_uuid(&row.try_get::<String, _>("id")?)?),
                                tenant_id: tenant,
                                name: row.try_get("name")?,
                                kind: OrgKind::parse(&kind).ok_or_else(|| {
                                    StoreError::Corrupt(format!("unknown organisation kind {kind}"))
                                })?,
                            })
                        })
                        .collect()
                }

                pub async fn create_user(&self, u: &User, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    let result = sqlx::query(
                        "INSERT INTO users (id, tenant_id, org_id, login, display_name, role, password_hash, disabled, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(u.id.to_string())
                    .bind(u.tenant_id.to_string())
                    .bind(u.org_id.to_string())
                    .bind(&u.login)
                    .bind(&u.display_name)
                    .bind(u.role.as_str())
                    .bind(&u.password_hash)
                    .bind(u.disabled)
                    .bind(Timestamp::now().to_string())
                    .execute(&mut *tx)
                    .await;
                    match result {
                        Err(e) if is_unique_violation(&e) => return Err(StoreError::Duplicate),
                        Err(e) => return Err(e.into()),
                        Ok(_) => {}
                    }
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                        .bind(id.to_string())
                        .fetch_optional(&self.read)
                        .await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE login = $1")))
                        .bind(login)
                        .fetch_optional(&self.read)
                        .await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY login"
                    )))
                    .bind(tenant.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter().map(user_from_row).collect()
                }

                /// The tenant's staff as other pages name them: no login, hash or secret read.
                pub async fn staff(&self, tenant: TenantId) -> Result<Vec<StaffRow>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT id, org_id, display_name, role, disabled FROM users WHERE tenant_id = $1 ORDER BY login",
                    )
                    .bind(tenant.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let role: String = r.try_get("role")?;
                            Ok(StaffRow {
                                id: UserId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                                org_id: OrgId(parse_uuid(&r.try_get::<String, _>("org_id")?)?),
                                display_name: r.try_get("display_name")?,
                                role: Role::parse(&role)
                                    .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                                disabled: r.try_get("disabled")?,
                            })
                        })
                        .collect()
                }

                /// Sets a new password and ends every session of the user (a changed credential
                /// must not leave old sessions alive).
                pub async fn set_password_hash(&self, user: UserId, hash: &str, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(hash)
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Self::revoke_all(&mut tx, user).await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Ends every session and revokes every API token of the user (a changed
                /// password, a suspension).
                async fn revoke_all(tx: &mut Tx<'_>, user: UserId) -> Result<(), StoreError> {
                    for table in ["sessions", "api_tokens"] {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE {table} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
                        )))
                        .bind(Timestamp::now().to_string())
                        .bind(user.to_string())
                        .execute(&mut **tx)
                        .await?;
                    }
                    Ok(())
                }

                /// Changes a user's name, organisation, role and disabled flag; disabling ends
                /// every session of the user in the same transaction.
                pub async fn update_user(&self, u: &User, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE users SET display_name = $1, org_id = $2, role = $3, disabled = $4 WHERE id = $5 AND tenant_id = $6",
                    )
                    .bind(&u.display_name)
                    .bind(u.org_id.to_string())
                    .bind(u.role.as_str())
                    .bind(u.disabled)
                    .bind(u.id.to_string())
                    .bind(u.tenant_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    if u.disabled {
                        Self::revoke_all(&mut tx, u.id).await?;
                    }
                    // A token is issued for one organisation: moving the user revokes it for good.
                    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND org_id <> $3 AND revoked_at IS NULL")
                        .bind(Timestamp::now().to_string())
                        .bind(u.id.to_string())
                        .bind(u.org_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Starts (secret, unconfirmed), confirms or removes (None) a user's TOTP.
                pub async fn set_totp(&self, user: UserId, secret: Option<&str>, confirmed: bool, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query("UPDATE users SET totp_secret = $1, totp_confirmed = $2, totp_last_step = NULL WHERE id = $3")
                        .bind(secret)
                        .bind(confirmed)
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await?;
                    if confirmed {
                        // Sessions opened only to enrol now become full sessions.
                        sqlx::query("UPDATE sessions SET totp_setup_only = $1 WHERE user_id = $2")
                            .bind(false)
                            .bind(user.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Accepts a TOTP time step once: a code cannot be replayed.
                pub async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                    )
                    .bind(to_i64(step))
                    .bind(user.to_string())
                    .execute(&self.write)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                pub async fn create_session(&self, token_hash: &str, s: &Session, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO sessions (token_hash, id, user_id, created_at, last_seen_at, expires_at, address, totp_setup_only, csrf_token) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(token_hash)
                    .bind(&s.id)
                    .bind(s.user_id.to_string())
                    .bind(s.created_at.to_string())
                    .bind(s.last_seen_at.to_string())
                    .bind(s.expires_at.to_string())
                    .bind(&s.address)
                    .bind(s.totp_setup_only)
                    .bind(&s.csrf_token)
                    .execute(&mut *tx)
                    .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// The live (not revoked, not past its absolute lifetime) session of a token.
                pub async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL"
                    )))
                    .bind(token_hash)
                    .fetch_optional(&self.read)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let s = session_from_row(&row)?;
                    Ok((s.expires_at > now).then_some(s))
                }

                pub async fn touch_session(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                        .bind(now.to_string())
                        .bind(id)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                /// The user's live sessions, newest first.
                pub async fn sessions_of(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>, StoreError> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
                    )))
                    .bind(user.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    let all = rows.iter().map(session_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(all.into_iter().filter(|s| s.expires_at > now).collect())
                }

                /// Ends one session of a user (by id), or all of them (None).
                pub async fn revoke_sessions(&self, user: UserId, id: Option<&str>, audit: &AuditEntry) -> Result<u64, StoreError> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND ($3 IS NULL OR id = $3) AND revoked_at IS NULL",
                    )
                    .bind(Timestamp::now().to_string())
                    .bind(user.to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(done.rows_affected())
                }

                pub async fn create_api_token(&self, t: &ApiToken, audit: &AuditEntry) -> Result<(), StoreError> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO api_tokens (id, token_hash, user_id, org_id, role, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(t.id.to_string())
                    .bind(&t.token_hash)
                    .bind(t.user_id.to_string())
                    .bind(t.org_id.to_string())
                    .bind(t.role.as_str())
                    .bind(&t.label)
                    .bind(t.created_at.to_string())
                    .bind(t.expires_at.to_string())
                    .execute(&mut *tx)
                    .await?;
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                pub async fn api_token(&self, token_hash: &str) -> Result<Option<TokenGrant>, StoreError> {
                    let row = sqlx::query(
                        "SELECT id, user_id, org_id, role, created_at, expires_at, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.read)
                    .await?;
                    let Some(r) = row else { return Ok(None) };
                    let (Some(org), Some(role)) = (
                        r.try_get::<Option<String>, _>("org_id")?,
                        r.try_get::<Option<String>, _>("role")?,
                    ) else {
                        // Tokens from before scoping carry no grant; they no longer work.
                        return Ok(None);
                    };
                    let info = token_times(&r)?;
                    Ok(Some(TokenGrant {
                        token_id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                        user_id: UserId(parse_uuid(&r.try_get::<String, _>("user_id")?)?),
                        org_id: OrgId(parse_uuid(&org)?),
                        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                        expires_at: info.1,
                        last_used_at: info.2,
                    }))
                }

                /// Records that a token was used (the caller limits this to once a minute).
                pub async fn touch_api_token(&self, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
                    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                        .bind(now.to_string())
                        .bind(id.to_string())
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                /// A user's tokens, newest first, revoked ones included.
                pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT id, label, org_id, role, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
                         WHERE user_id = $1 AND org_id IS NOT NULL AND role IS NOT NULL ORDER BY created_at DESC",
                    )
                    .bind(user.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let role: String = r.try_get("role")?;
                            let (created_at, expires_at, last_used_at) = token_times(r)?;
                            Ok(TokenInfo {
                                id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                                label: r.try_get("label")?,
                                org_id: OrgId(parse_uuid(&r.try_get::<String, _>("org_id")?)?),
                                role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                                created_at,
                                expires_at,
                                last_used_at,
                                revoked_at: r.try_get::<Option<String>, _>("revoked_at")?.map(|t| parse_ts(&t)).transpose()?,
                            })
                        })
                        .collect()
                }

                pub async fn revoke_api_token(&self, user: UserId, id: Uuid, audit: &AuditEntry) -> Result<bool, StoreError> {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query(
                        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                    )
                    .bind(Timestamp::now().to_string())
                    .bind(id.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    write_audit(&mut tx, std::slice::from_ref(audit)).await?;
                    tx.commit().await?;
                    Ok(true)
                }
                pub async fn idempotent_replay(
                    &self,
                    tenant: TenantId,
                    key: &str,
                    request_hash: &str,
                ) -> Result<Option<Uuid>, StoreError> {
                    Self::replay_of(&self.read, tenant, key, request_hash).await
                }

                /// The stream an idempotency key made, read through `db` (a pool, or a
                /// transaction that may hold the key's own claim): `None` when the key is
                /// unknown, a mismatch when it was used for a different request.
                async fn replay_of<'e, E>(db: E, tenant: TenantId, key: &str, request_hash: &str) -> Result<Option<Uuid>, StoreError>
                where
                    E: sqlx::Executor<'e, Database = $Db>,
                {
                    let row = sqlx::query(
                        "SELECT request_hash, stream_id FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
                    )
                    .bind(tenant.to_string())
                    .bind(key)
                    .fetch_optional(db)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let stored: String = row.try_get("request_hash")?;
                    if stored != request_hash {
                        return Err(StoreError::IdempotencyMismatch);
                    }
                    Ok(Some(parse_uuid(&row.try_get::<String, _>("stream_id")?)?))
                }

                /// Appends one request's streams, its files and its audit entry durably, sharing
                /// the commit with whatever else is being written at the moment.
                pub async fn append(&self, batch: AppendBatch) -> Result<Vec<u64>, StoreError> {
                    match self.queue.submit(crate::group::Job::Append(batch)).await? {
                        crate::group::Done::Append(versions) => Ok(versions),
                        crate::group::Done::Audit => Err(StoreError::Corrupt("group commit: a mismatched answer".into())),
                    }
                }

                /// The work of `append` inside a round's transaction (under its savepoint).
                async fn append_job(&self, tx: &mut Tx<'_>, batch: &AppendBatch) -> Result<Vec<u64>, StoreError> {
                    if let Some(idem) = &batch.idempotency {
                        // Under a savepoint of its own: a key seen before is a unique violation,
                        // which PostgreSQL answers by aborting the (sub)transaction.
                        let mut claim = sqlx::Acquire::begin(&mut *tx).await?;
                        let inserted = sqlx::query(
                            "INSERT INTO idempotency_keys (tenant_id, key, request_hash, stream_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(batch.tenant.to_string())
                        .bind(&idem.key)
                        .bind(&idem.request_hash)
                        .bind(idem.stream_id.to_string())
                        .bind(batch.recorded_at.to_string())
                        .execute(&mut *claim)
                        .await;
                        match inserted {
                            Ok(_) => claim.commit().await?,
                            Err(e) if is_unique_violation(&e) => {
                                claim.rollback().await?;
                                // Read in the round's transaction: the key may have been claimed
                                // by an earlier job of the same round.
                                return match Self::replay_of(&mut **tx, batch.tenant, &idem.key, &idem.request_hash).await? {
                                    Some(stream_id) => Err(StoreError::IdempotentReplay { stream_id }),
                                    None => Err(StoreError::IdempotencyMismatch),
                                };
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    self.append_in(tx, batch).await
                }

                /// Many writes in one transaction (bulk loading: the generator, imports): each
                /// batch is appended as by `append`, with its own version checks and audit entry,
                /// and all commit together or not at all. Idempotency keys are not honoured here.
                pub async fn append_all(&self, batches: &[AppendBatch]) -> Result<Vec<Vec<u64>>, StoreError> {
                    let mut tx = self.begin().await?;
                    let mut streams: Vec<Bulk> = Vec::new();
                    let mut index: HashMap<Uuid, usize> = HashMap::new();
                    let mut events: Vec<EventRow> = Vec::new();
                    let mut audit: Vec<AuditEntry> = Vec::new();
                    let mut out = Vec::with_capacity(batches.len());
                    for batch in batches {
                        let tenant = batch.tenant.to_string();
                        let (user, org) = (batch.actor.user_id.to_string(), batch.actor.org_id.to_string());
                        let recorded_at = batch.recorded_at.to_string();
                        let mut versions = Vec::with_capacity(batch.streams.len());
                        let mut heads = Vec::with_capacity(batch.streams.len());
                        for stream in &batch.streams {
                            let (id, kind, expected) = match stream {
                                StreamAppend::Case { id, expected_version, .. } => (id.0, "case", *expected_version),
                                StreamAppend::Person { id, expected_version, .. } => (id.0, "person", *expected_version),
                                StreamAppend::Meeting { id, expected_version, .. } => (id.0, "meeting", *expected_version),
                            };
                            let i = match index.get(&id) {
                                Some(i) => *i,
                                None => {
                                    let loaded = Self::bulk_load(&mut tx, batch.tenant, kind, id, expected).await?;
                                    streams.push(loaded);
                                    index.insert(id, streams.len() - 1);
                                    streams.len() - 1
                                }
                            };
                            let w = &mut streams[i];
                            if w.kind != kind || w.tenant != batch.tenant {
                                return Err(StoreError::NotFound);
                            }
                            if w.version != expected {
                                return Err(StoreError::Conflict { expected, actual: w.version });
                            }
                            let payloads = w.evolve(stream, &recorded_at)?;
                            let sid = id.to_string();
                            for (event_type, payload) in payloads {
                                w.version += 1;
                                let hash = crate::audit::event_hash(
                                    &w.head, &sid, w.version, &tenant, event_type, &payload, &user, &org, &recorded_at,
                                    batch.reason.as_deref(),
                                );
                                events.push(EventRow {
                                    stream_id: sid.clone(),
                                    version: w.version,
                                    tenant_id: tenant.clone(),
                                    event_type,
                                    payload,
                                    actor_user: user.clone(),
                                    actor_org: org.clone(),
                                    recorded_at: recorded_at.clone(),
                                    reason: batch.reason.clone(),
                                    hash: hash.clone(),
                                });
                                w.head = hash;
                            }
                            w.updated_at = recorded_at.clone();
                            heads.push(format!("{id}@{}={}", w.version, w.head));
                            versions.push(w.version);
                        }
                        let mut entries = batch.audit.clone();
                        if let Some(first) = entries.first_mut() {
                            first.events = Some(heads.join(" "));
                        }
                        audit.extend(entries);
                        out.push(versions);
                    }
                    Self::insert_new_streams(&mut tx, &streams).await?;
                    for w in streams.iter().filter(|w| w.base > 0) {
                        Self::bulk_stream(&mut tx, w).await?;
                    }
                    Self::insert_event_rows(&mut tx, &events).await?;
                    for batch in batches {
                        for file in &batch.files {
                            sqlx::query(
                                "INSERT INTO attachment_files (id, tenant_id, case_id, sha256, content, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6)",
                            )
                            .bind(file.id.to_string())
                            .bind(batch.tenant.to_string())
                            .bind(file.case_id.to_string())
                            .bind(&file.sha256)
                            .bind(&file.content[..])
                            .bind(batch.recorded_at.to_string())
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    // Persons first: a case's access rows read the person's consents as stored.
                    let persons: Vec<PersonRows<'_>> = streams
                        .iter()
                        .filter_map(|w| match &w.state {
                            BulkState::Person { state: Some(state), new, consents_changed } => Some(PersonRows {
                                tenant: w.tenant,
                                id: PersonId(w.id),
                                version: w.version,
                                state,
                                new: *new,
                                consents_changed: *consents_changed,
                            }),
                            _ => None,
                        })
                        .collect();
                    Self::write_person_rows(&mut tx, &persons).await?;
                    for w in &streams {
                        if let BulkState::Meeting(Some(state)) = &w.state {
                            Self::write_meeting_rows(&mut tx, w.tenant, MeetingId(w.id), w.version, state).await?;
                        }
                    }
                    let cases: Vec<CaseRows<'_>> = streams
                        .iter()
                        .filter_map(|w| match &w.state {
                            BulkState::Case { state: Some(state), stage_changed_at, .. } => Some(CaseRows {
                                tenant: w.tenant,
                                id: CaseId(w.id),
                                version: w.version,
                                state,
                                stage_changed_at,
                                updated_at: &w.updated_at,
                            }),
                            _ => None,
                        })
                        .collect();
                    Self::write_case_rows(&mut tx, &cases).await?;
                    write_audit(&mut tx, &audit).await?;
                    tx.commit().await?;
                    Ok(out)
                }

                /// A stream as `append_all` first meets it: new (`expected` 0), or its version,
                /// head and folded state as stored, the version checked against `expected`.
                async fn bulk_load(
                    tx: &mut Tx<'_>,
                    tenant: TenantId,
                    kind: &'static str,
                    id: Uuid,
                    expected: u64,
                ) -> Result<Bulk, StoreError> {
                    let mut bulk = Bulk {
                        id,
                        kind,
                        tenant,
                        base: expected,
                        version: expected,
                        head: crate::audit::GENESIS_HASH.to_owned(),
                        updated_at: String::new(),
                        state: match kind {
                            "case" => BulkState::Case { state: None, stage: None, stage_changed_at: String::new() },
                            "person" => BulkState::Person { state: None, new: expected == 0, consents_changed: false },
                            _ => BulkState::Meeting(None),
                        },
                    };
                    if expected == 0 {
                        return Ok(bulk);
                    }
                    let row = sqlx::query(
                        "SELECT version, head_hash FROM streams WHERE stream_id = $1 AND tenant_id = $2 AND stream_type = $3",
                    )
                    .bind(id.to_string())
                    .bind(tenant.to_string())
                    .bind(kind)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let actual = to_u64(row.try_get::<i64, _>("version")?);
                    if actual != expected {
                        return Err(StoreError::Conflict { expected, actual });
                    }
                    if let Some(head) = row.try_get::<Option<String>, _>("head_hash")? {
                        bulk.head = head;
                    }
                    let table = match kind {
                        "case" => "cases",
                        "person" => "persons",
                        _ => "meetings",
                    };
                    let (raw, extra) = Self::stored_state(tx, table, id).await?.ok_or(StoreError::NotFound)?;
                    bulk.state = match bulk.state {
                        BulkState::Case { .. } => {
                            let (stage, changed) = extra.split_once('|').unwrap_or(("", ""));
                            BulkState::Case {
                                state: Some(Box::new(from_json(&raw)?)),
                                stage: Some(stage.to_owned()),
                                stage_changed_at: changed.to_owned(),
                            }
                        }
                        BulkState::Person { new, .. } => BulkState::Person {
                            state: Some(from_json(&raw)?),
                            new,
                            consents_changed: false,
                        },
                        BulkState::Meeting(_) => BulkState::Meeting(Some(from_json(&raw)?)),
                    };
                    Ok(bulk)
                }

                /// Creates the streams `append_all` starts, many to a statement; one that
                /// another writer created meanwhile is a conflict.
                async fn insert_new_streams(tx: &mut Tx<'_>, streams: &[Bulk]) -> Result<(), StoreError> {
                    let new: Vec<&Bulk> = streams.iter().filter(|w| w.base == 0).collect();
                    for chunk in new.chunks(MAX_PARAMS / 5) {
                        let sql = format!(
                            "INSERT INTO streams (stream_id, stream_type, tenant_id, version, head_hash) VALUES {}",
                            placeholders(chunk.len(), 5, ANONYMOUS)
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for w in chunk {
                            q = q
                                .bind(w.id.to_string())
                                .bind(w.kind)
                                .bind(w.tenant.to_string())
                                .bind(to_i64(w.version))
                                .bind(&w.head);
                        }
                        match q.execute(&mut **tx).await {
                            Ok(_) => {}
                            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict { expected: 0, actual: 1 }),
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Ok(())
                }

                /// Moves a stream from the version `append_all` found to its new version and head,
                /// or reports the conflict when another writer moved it meanwhile.
                async fn bulk_stream(tx: &mut Tx<'_>, w: &Bulk) -> Result<(), StoreError> {
                    let done = sqlx::query(
                        "UPDATE streams SET version = $1, head_hash = $2 WHERE stream_id = $3 AND tenant_id = $4 AND stream_type = $5 AND version = $6",
                    )
                    .bind(to_i64(w.version))
                    .bind(&w.head)
                    .bind(w.id.to_string())
                    .bind(w.tenant.to_string())
                    .bind(w.kind)
                    .bind(to_i64(w.base))
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(StoreError::Conflict { expected: w.base, actual: w.base + 1 })
                    }
                }

                /// Inserts event rows many to a statement.
                async fn insert_event_rows(tx: &mut Tx<'_>, rows: &[EventRow]) -> Result<(), StoreError> {
                    const COLUMNS: usize = 10;
                    for chunk in rows.chunks(MAX_PARAMS / COLUMNS) {
                        let sql = format!(
                            "INSERT INTO events (stream_id, version, tenant_id, event_type, payload, actor_user, actor_org, recorded_at, reason, hash) VALUES {}",
                            placeholders(chunk.len(), COLUMNS, ANONYMOUS)
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for r in chunk {
                            q = q
                                .bind(&r.stream_id)
                                .bind(to_i64(r.version))
                                .bind(&r.tenant_id)
                                .bind(r.event_type)
                                .bind(&r.payload)
                                .bind(&r.actor_user)
                                .bind(&r.actor_org)
                                .bind(&r.recorded_at)
                                .bind(&r.reason)
                                .bind(&r.hash);
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                async fn append_in(&self, tx: &mut Tx<'_>, batch: &AppendBatch) -> Result<Vec<u64>, StoreError> {
                    let mut versions = Vec::with_capacity(batch.streams.len());
                    let mut heads: Vec<String> = Vec::with_capacity(batch.streams.len());
                    for stream in &batch.streams {
                        let (version, head) = match stream {
                            StreamAppend::Case { id, expected_version, events } => {
                                self.append_case(tx, batch, *id, *expected_version, events).await?
                            }
                            StreamAppend::Person { id, expected_version, events } => {
                                self.append_person(tx, batch, *id, *expected_version, events).await?
                            }
                            StreamAppend::Meeting { id, expected_version, events } => {
                                self.append_meeting(tx, batch, *id, *expected_version, events).await?
                            }
                        };
                        let id = match stream {
                            StreamAppend::Case { id, .. } => id.0,
                            StreamAppend::Person { id, .. } => id.0,
                            StreamAppend::Meeting { id, .. } => id.0,
                        };
                        heads.push(format!("{id}@{version}={head}"));
                        versions.push(version);
                    }
                    for file in &batch.files {
                        sqlx::query(
                            "INSERT INTO attachment_files (id, tenant_id, case_id, sha256, content, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(file.id.to_string())
                        .bind(batch.tenant.to_string())
                        .bind(file.case_id.to_string())
                        .bind(&file.sha256)
                        .bind(&file.content[..])
                        .bind(batch.recorded_at.to_string())
                        .execute(&mut **tx)
                        .await?;
                    }
                    let mut audit = batch.audit.clone();
                    if let Some(first) = audit.first_mut() {
                        first.events = Some(heads.join(" "));
                    }
                    write_audit(tx, &audit).await?;
                    Ok(versions)
                }

                /// Moves the stream's version from `expected` to `expected + n`, or reports the
                /// conflict. The conditional update is the optimistic lock on both backends.
                async fn bump(
                    tx: &mut Tx<'_>,
                    batch: &AppendBatch,
                    stream_type: &str,
                    id: Uuid,
                    expected: u64,
                    n: usize,
                ) -> Result<u64, StoreError> {
                    let new_version = expected + n as u64;
                    if expected == 0 {
                        let inserted = sqlx::query(
                            "INSERT INTO streams (stream_id, stream_type, tenant_id, version) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id.to_string())
                        .bind(stream_type)
                        .bind(batch.tenant.to_string())
                        .bind(to_i64(new_version))
                        .execute(&mut **tx)
                        .await;
                        return match inserted {
                            Ok(_) => Ok(new_version),
                            Err(e) if is_unique_violation(&e) => {
                                Err(StoreError::Conflict { expected, actual: 1 })
                            }
                            Err(e) => Err(e.into()),
                        };
                    }
                    let done = sqlx::query(
                        "UPDATE streams SET version = $1 WHERE stream_id = $2 AND tenant_id = $3 AND stream_type = $4 AND version = $5",
                    )
                    .bind(to_i64(new_version))
                    .bind(id.to_string())
                    .bind(batch.tenant.to_string())
                    .bind(stream_type)
                    .bind(to_i64(expected))
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        return Ok(new_version);
                    }
                    let actual = sqlx::query(
                        "SELECT version FROM streams WHERE stream_id = $1 AND tenant_id = $2 AND stream_type = $3",
                    )
                    .bind(id.to_string())
                    .bind(batch.tenant.to_string())
                    .bind(stream_type)
                    .fetch_optional(&mut **tx)
                    .await?;
                    match actual {
                        None => Err(StoreError::NotFound),
                        Some(row) => Err(StoreError::Conflict {
                            expected,
                            actual: to_u64(row.try_get::<i64, _>("version")?),
                        }),
                    }
                }

                /// Inserts the events, each hashed onto the previous event of the stream, and moves
                /// the stream's head hash.
                async fn insert_events(
                    tx: &mut Tx<'_>,
                    batch: &AppendBatch,
                    id: Uuid,
                    expected: u64,
                    events: Vec<(&'static str, String)>,
                ) -> Result<String, StoreError> {
                    let sid = id.to_string();
                    let mut prev = if expected == 0 {
                        crate::audit::GENESIS_HASH.to_owned()
                    } else {
                        sqlx::query("SELECT head_hash FROM streams WHERE stream_id = $1")
                            .bind(&sid)
                            .fetch_one(&mut **tx)
                            .await?
                            .try_get::<Option<String>, _>("head_hash")?
                            .unwrap_or_else(|| crate::audit::GENESIS_HASH.to_owned())
                    };
                    let tenant = batch.tenant.to_string();
                    let (user, org) = (batch.actor.user_id.to_string(), batch.actor.org_id.to_string());
                    let recorded_at = batch.recorded_at.to_string();
                    for (i, (event_type, payload)) in events.into_iter().enumerate() {
                        let version = expected + i as u64 + 1;
                        let hash = crate::audit::event_hash(
                            &prev, &sid, version, &tenant, event_type, &payload, &user, &org, &recorded_at,
                            batch.reason.as_deref(),
                        );
                        sqlx::query(
                            "INSERT INTO events (stream_id, version, tenant_id, event_type, payload, actor_user, actor_org, recorded_at, reason, hash) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(&sid)
                        .bind(to_i64(version))
                        .bind(&tenant)
                        .bind(event_type)
                        .bind(payload)
                        .bind(&user)
                        .bind(&org)
                        .bind(&recorded_at)
                        .bind(&batch.reason)
                        .bind(&hash)
                        .execute(&mut **tx)
                        .await?;
                        prev = hash;
                    }
                    sqlx::query("UPDATE streams SET head_hash = $1 WHERE stream_id = $2")
                        .bind(&prev)
                        .bind(&sid)
                        .execute(&mut **tx)
                        .await?;
                    Ok(prev)
                }

                async fn stored_state(
                    tx: &mut Tx<'_>,
                    table: &str,
                    id: Uuid,
                ) -> Result<Option<(String, String)>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT state, {} AS extra FROM {table} WHERE id = $1",
                        if table == "cases" { "stage || '|' || stage_changed_at" } else { "''" })))
                        .bind(id.to_string())
                        .fetch_optional(&mut **tx)
                        .await?;
                    row.map(|r| Ok((r.try_get::<String, _>("state")?, r.try_get::<String, _>("extra")?)))
                        .transpose()
                }

                async fn append_case(
                    &self,
                    tx: &mut Tx<'_>,
                    batch: &AppendBatch,
                    id: CaseId,
                    expected: u64,
                    events: &[CaseEvent],
                ) -> Result<(u64, String), StoreError> {
                    let version = Self::bump(tx, batch, "case", id.0, expected, events.len()).await?;
                    let (mut state, previous_stage, stage_changed_at) = if expected == 0 {
                        let state = CaseState::fold(events.iter())
                            .ok_or_else(|| StoreError::Corrupt("a case stream must start with case_opened".into()))?;
                        (state, None, batch.recorded_at.to_string())
                    } else {
                        let (raw, extra) = Self::stored_state(tx, "cases", id.0).await?.ok_or(StoreError::NotFound)?;
                        let mut state: CaseState = from_json(&raw)?;
                        for e in events {
                            state.evolve(e);
                        }
                        let (stage, changed) = extra.split_once('|').unwrap_or(("", ""));
                        (state, Some(stage.to_owned()), changed.to_owned())
                    };
                    state.team.dedup();
                    let stage_changed_at = if previous_stage.as_deref() == Some(state.stage.as_str()) {
                        stage_changed_at
                    } else {
                        batch.recorded_at.to_string()
                    };
                    let payloads = events
                        .iter()
                        .map(|e| Ok((e.type_name(), json(e)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let head = Self::insert_events(tx, batch, id.0, expected, payloads).await?;
                    let updated_at = batch.recorded_at.to_string();
                    Self::write_case_rows(
                        tx,
                        &[CaseRows { tenant: batch.tenant, id, version, state: &state, stage_changed_at: &stage_changed_at, updated_at: &updated_at }],
                    )
                    .await?;
                    Ok((version, head))
                }

                /// The rows of cases' projections (cases, case_team, case_due, the persons'
                /// person_access, case_access), each a function of the folded state, for many
                /// cases at once: a few statements per table, whatever the number of cases.
                async fn write_case_rows(tx: &mut Tx<'_>, items: &[CaseRows<'_>]) -> Result<(), StoreError> {
                    if items.is_empty() {
                        return Ok(());
                    }
                    let ids: Vec<String> = items.iter().map(|c| c.id.to_string()).collect();
                    let mut rows = Vec::with_capacity(items.len());
                    for c in items {
                        rows.push(vec![
                            Val::text(c.id.to_string()),
                            Val::text(c.tenant.to_string()),
                            Val::text(c.state.person_id.to_string()),
                            Val::text(c.state.stage.as_str()),
                            Val::text(c.state.owner_org.to_string()),
                            Val::text(c.state.assigned_worker.to_string()),
                            Val::text(c.state.opened_on.to_string()),
                            Val::text(c.stage_changed_at),
                            Val::text(c.updated_at),
                            Val::Int(to_i64(c.version)),
                            Val::text(json(c.state)?),
                        ]);
                    }
                    // Each case moves between rows of the caseload counts as its worker or
                    // stage changes: what `cases` holds now leaves, the new state arrives. The
                    // differences are applied in key order, so concurrent writers lock the
                    // count rows in one order and cannot deadlock on them.
                    let mut moves: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
                    for chunk in ids.chunks(IN_CHUNK) {
                        let sql = format!(
                            "SELECT tenant_id, owner_org, assigned_worker, stage FROM cases WHERE id IN ({})",
                            placeholders_list(chunk.len(), 0, ANONYMOUS)
                        );
                        for r in with_ids(sql, chunk, 1).fetch_all(&mut **tx).await? {
                            let key = (r.try_get("tenant_id")?, r.try_get("owner_org")?, r.try_get("assigned_worker")?, r.try_get("stage")?);
                            *moves.entry(key).or_default() -= 1;
                        }
                    }
                    for c in items {
                        let key = (
                            c.tenant.to_string(),
                            c.state.owner_org.to_string(),
                            c.state.assigned_worker.to_string(),
                            c.state.stage.as_str().to_owned(),
                        );
                        *moves.entry(key).or_default() += 1;
                    }
                    // Each move also moves the roll-ups (migration 0012): the organisation's
                    // row of the stage, and the open totals of the worker and the organisation.
                    let mut rolled: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
                    for ((tenant, org, worker, stage), n) in moves.into_iter().filter(|(_, n)| *n != 0) {
                        let open = stage != Stage::Closed.as_str();
                        for (w, st) in [(worker.as_str(), stage.as_str()), (CASELOAD_ALL, stage.as_str())] {
                            *rolled.entry((tenant.clone(), org.clone(), w.to_owned(), st.to_owned())).or_default() += n;
                            if open {
                                *rolled.entry((tenant.clone(), org.clone(), w.to_owned(), CASELOAD_OPEN.to_owned())).or_default() += n;
                            }
                        }
                    }
                    let counts = rolled
                        .into_iter()
                        .filter(|(_, n)| *n != 0)
                        .map(|((tenant, org, worker, stage), n)| vec![Val::text(tenant), Val::text(org), Val::text(worker), Val::text(stage), Val::Int(n)])
                        .collect();
                    Self::insert_rows_(
                        tx,
                        "INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases) VALUES",
                        " ON CONFLICT (tenant_id, org_id, worker, stage) DO UPDATE SET cases = caseload_counts.cases + excluded.cases",
                        5,
                        counts,
                    )
                    .await?;
                    Self::insert_rows_(
                        tx,
                        "INSERT INTO cases (id, tenant_id, person_id, stage, owner_org, assigned_worker, opened_on, stage_changed_at, updated_at, version, state) VALUES",
                        " ON CONFLICT (id) DO UPDATE SET stage = excluded.stage, assigned_worker = excluded.assigned_worker, \
                         stage_changed_at = excluded.stage_changed_at, updated_at = excluded.updated_at, version = excluded.version, state = excluded.state",
                        11,
                        rows,
                    )
                    .await?;
                    Self::delete_in_(tx, "case_team", "case_id", &ids).await?;
                    let team = items
                        .iter()
                        .flat_map(|c| c.state.team.iter().map(move |org| vec![Val::text(c.id.to_string()), Val::text(org.to_string())]))
                        .collect();
                    Self::insert_rows_(tx, "INSERT INTO case_team (case_id, org_id) VALUES", "", 2, team).await?;
                    Self::delete_in_(tx, "case_due", "case_id", &ids).await?;
                    let mut due = Vec::new();
                    for c in items {
                        for item in due_items(c.state) {
                            due.push(vec![
                                Val::text(c.id.to_string()),
                                Val::text(c.tenant.to_string()),
                                Val::text(item.kind.as_str()),
                                Val::text(item.due_on.to_string()),
                                Val::Text(item.reference.map(|r| r.to_string())),
                                Val::text(c.state.owner_org.to_string()),
                                Val::text(c.state.assigned_worker.to_string()),
                            ]);
                        }
                    }
                    Self::insert_rows_(
                        tx,
                        "INSERT INTO case_due (case_id, tenant_id, kind, due_on, reference, owner_org, assigned_worker) VALUES",
                        "",
                        7,
                        due,
                    )
                    .await?;
                    let mut persons: Vec<PersonId> = items.iter().map(|c| c.state.person_id).collect();
                    persons.sort_by_key(|p| p.0);
                    persons.dedup();
                    Self::refresh_person_access_many(tx, &persons).await?;
                    let consents = Self::consents_of_many(tx, &persons).await?;
                    Self::delete_in_(tx, "case_access", "case_id", &ids).await?;
                    let mut access = Vec::new();
                    for c in items {
                        let of_person = consents.get(&c.state.person_id).map_or(&[][..], Vec::as_slice);
                        access.extend(access_values(c.tenant, c.id, c.state, of_person));
                    }
                    Self::insert_access_rows(tx, access).await
                }

                /// Rewrites the person_access rows of these persons: each is visible to the
                /// organisation that registered them and to the teams of their cases.
                async fn refresh_person_access_many(tx: &mut Tx<'_>, persons: &[PersonId]) -> Result<(), StoreError> {
                    let ids: Vec<String> = persons.iter().map(|p| p.to_string()).collect();
                    Self::delete_in_(tx, "person_access", "person_id", &ids).await?;
                    for chunk in ids.chunks(IN_CHUNK) {
                        let list = placeholders_list(chunk.len(), 0, ANONYMOUS);
                        let sql = format!(
                            "INSERT INTO person_access (person_id, org_id) \
                             SELECT cases.person_id, case_team.org_id FROM case_team JOIN cases ON cases.id = case_team.case_id WHERE cases.person_id IN ({list}) \
                             UNION SELECT id, registered_by_org FROM persons WHERE id IN ({list})"
                        );
                        // The list appears twice: anonymous parameters are bound once per use.
                        let uses = if ANONYMOUS { 2 } else { 1 };
                        with_ids(sql, chunk, uses).execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// The consents of these persons, from their projection rows.
                async fn consents_of_many(
                    tx: &mut Tx<'_>,
                    persons: &[PersonId],
                ) -> Result<HashMap<PersonId, Vec<tsunagu_core::person::Consent>>, StoreError> {
                    let mut out = HashMap::new();
                    let ids: Vec<String> = persons.iter().map(|p| p.to_string()).collect();
                    for chunk in ids.chunks(IN_CHUNK) {
                        let sql = format!("SELECT id, state FROM persons WHERE id IN ({})", placeholders_list(chunk.len(), 0, ANONYMOUS));
                        for r in with_ids(sql, chunk, 1).fetch_all(&mut **tx).await? {
                            let id = PersonId(parse_uuid(&r.try_get::<String, _>("id")?)?);
                            let state: PersonState = from_json(&r.try_get::<String, _>("state")?)?;
                            out.insert(id, state.consents);
                        }
                    }
                    Ok(out)
                }

                /// Inserts access rows (`access_values`) many to a statement.
                async fn insert_access_rows(tx: &mut Tx<'_>, rows: Vec<Vec<Val>>) -> Result<(), StoreError> {
                    Self::insert_rows_(
                        tx,
                        "INSERT INTO case_access (case_id, tenant_id, org_id, user_id, relation, valid_from, valid_until, rank) VALUES",
                        "",
                        8,
                        rows,
                    )
                    .await
                }

                /// Deletes the rows of `table` whose `column` is one of `ids`.
                async fn delete_in_(tx: &mut Tx<'_>, table: &str, column: &str, ids: &[String]) -> Result<(), StoreError> {
                    for chunk in ids.chunks(IN_CHUNK) {
                        let sql = format!("DELETE FROM {table} WHERE {column} IN ({})", placeholders_list(chunk.len(), 0, ANONYMOUS));
                        with_ids(sql, chunk, 1).execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// Inserts `rows` of `columns` values each, many to a statement: `head` is the
                /// statement up to `VALUES`, `tail` what follows the values (a conflict clause).
                async fn insert_rows_(
                    tx: &mut Tx<'_>,
                    head: &str,
                    tail: &str,
                    columns: usize,
                    rows: Vec<Vec<Val>>,
                ) -> Result<(), StoreError> {
                    let per = (MAX_PARAMS / columns).max(1);
                    for chunk in rows.chunks(per) {
                        let sql = format!("{head} {}{tail}", placeholders(chunk.len(), columns, ANONYMOUS));
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for row in chunk {
                            for v in row {
                                q = match v {
                                    Val::Text(t) => q.bind(t.clone()),
                                    Val::Int(i) => q.bind(*i),
                                };
                            }
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Ok(())
                }


                /// Rewrites a case's rows of the access projection from its state and the
                /// person's consents (`policy::access_rows`).
                async fn write_case_access(
                    tx: &mut Tx<'_>,
                    tenant: TenantId,
                    id: CaseId,
                    state: &CaseState,
                    consents: &[tsunagu_core::person::Consent],
                ) -> Result<(), StoreError> {
                    Self::delete_in_(tx, "case_access", "case_id", &[id.to_string()]).await?;
                    Self::insert_access_rows(tx, access_values(tenant, id, state, consents)).await
                }


                /// Fills the access projection of cases that have none (a database from before
                /// it existed); run when the store is migrated.
                pub async fn fill_case_access(&self) -> Result<u64, StoreError> {
                    let rows = sqlx::query(
                        "SELECT c.id, c.tenant_id, c.state, p.state AS person_state FROM cases c JOIN persons p ON p.id = c.person_id \
                         WHERE NOT EXISTS (SELECT 1 FROM case_access a WHERE a.case_id = c.id)",
                    )
                    .fetch_all(&self.write)
                    .await?;
                    if rows.is_empty() {
                        return Ok(0);
                    }
                    let mut tx = self.begin().await?;
                    for r in &rows {
                        let id = CaseId(parse_uuid(&r.try_get::<String, _>("id")?)?);
                        let tenant = TenantId(parse_uuid(&r.try_get::<String, _>("tenant_id")?)?);
                        let state: CaseState = from_json(&r.try_get::<String, _>("state")?)?;
                        let person: PersonState = from_json(&r.try_get::<String, _>("person_state")?)?;
                        Self::write_case_access(&mut tx, tenant, id, &state, &person.consents).await?;
                    }
                    tx.commit().await?;
                    Ok(rows.len() as u64)
                }

                async fn append_person(
                    &self,
                    tx: &mut Tx<'_>,
                    batch: &AppendBatch,
                    id: PersonId,
                    expected: u64,
                    events: &[PersonEvent],
                ) -> Result<(u64, String), StoreError> {
                    let version = Self::bump(tx, batch, "person", id.0, expected, events.len()).await?;
                    let state = if expected == 0 {
                        PersonState::fold(events.iter())
                    } else {
                        let (raw, _) = Self::stored_state(tx, "persons", id.0).await?.ok_or(StoreError::NotFound)?;
                        let mut stored: PersonState = from_json(&raw)?;
                        for e in events {
                            stored.evolve(e);
                        }
                        Some(stored)
                    }
                    .ok_or_else(|| StoreError::Corrupt("a person stream must start with person_registered".into()))?;
                    let payloads = events
                        .iter()
                        .map(|e| Ok((e.type_name(), json(e)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let head = Self::insert_events(tx, batch, id.0, expected, payloads).await?;
                    let consents_changed = events.iter().any(consent_event);
                    Self::write_person_rows(
                        tx,
                        &[PersonRows { tenant: batch.tenant, id, version, state: &state, new: expected == 0, consents_changed }],
                    )
                    .await?;
                    Ok((version, head))
                }

                /// The rows of a person's projections: persons, and person_access when the person
                /// is new; when consents changed, the access rows of every case of the person.
                async fn write_person_rows(tx: &mut Tx<'_>, items: &[PersonRows<'_>]) -> Result<(), StoreError> {
                    let mut rows = Vec::with_capacity(items.len());
                    for p in items {
                        let d = &p.state.details;
                        rows.push(vec![
                            Val::text(p.id.to_string()),
                            Val::text(p.tenant.to_string()),
                            Val::text(d.name.as_str()),
                            Val::Text(d.kana.as_ref().map(|k| k.as_str().to_owned())),
                            Val::Text(d.date_of_birth.map(|b| b.to_string())),
                            Val::Text(d.phone.as_ref().map(|ph| normalise_phone(ph.as_str()))),
                            Val::text(p.state.household_id.to_string()),
                            Val::text(p.state.registered_by_org.to_string()),
                            Val::Int(to_i64(p.version)),
                            Val::text(json(p.state)?),
                        ]);
                    }
                    Self::insert_rows_(
                        tx,
                        "INSERT INTO persons (id, tenant_id, name, kana, date_of_birth, phone, household_id, registered_by_org, version, state) VALUES",
                        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kana = excluded.kana, date_of_birth = excluded.date_of_birth, \
                         phone = excluded.phone, household_id = excluded.household_id, version = excluded.version, state = excluded.state",
                        10,
                        rows,
                    )
                    .await?;
                    let new: Vec<PersonId> = items.iter().filter(|p| p.new).map(|p| p.id).collect();
                    Self::refresh_person_access_many(tx, &new).await?;
                    for p in items.iter().filter(|p| p.consents_changed) {
                        let cases = sqlx::query("SELECT id, state FROM cases WHERE person_id = $1")
                            .bind(p.id.to_string())
                            .fetch_all(&mut **tx)
                            .await?;
                        for c in &cases {
                            let case_id = CaseId(parse_uuid(&c.try_get::<String, _>("id")?)?);
                            let case_state: CaseState = from_json(&c.try_get::<String, _>("state")?)?;
                            Self::write_case_access(tx, p.tenant, case_id, &case_state, &p.state.consents).await?;
                        }
                    }
                    Ok(())
                }

                async fn append_meeting(
                    &self,
                    tx: &mut Tx<'_>,
                    batch: &AppendBatch,
                    id: MeetingId,
                    expected: u64,
                    events: &[MeetingEvent],
                ) -> Result<(u64, String), StoreError> {
                    let version = Self::bump(tx, batch, "meeting", id.0, expected, events.len()).await?;
                    let state = if expected == 0 {
                        MeetingState::fold(events.iter())
                            .ok_or_else(|| StoreError::Corrupt("a meeting stream must start with meeting_scheduled".into()))?
                    } else {
                        let (raw, _) = Self::stored_state(tx, "meetings", id.0).await?.ok_or(StoreError::NotFound)?;
                        let mut state: MeetingState = from_json(&raw)?;
                        for e in events {
                            state.evolve(e);
                        }
                        state
                    };
                    let payloads = events
                        .iter()
                        .map(|e| Ok((e.type_name(), json(e)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let head = Self::insert_events(tx, batch, id.0, expected, payloads).await?;
                    Self::write_meeting_rows(tx, batch.tenant, id, version, &state).await?;
                    Ok((version, head))
                }

                /// The rows of a meeting's projections: meetings and meeting_members.
                async fn write_meeting_rows(
                    tx: &mut Tx<'_>,
                    tenant: TenantId,
                    id: MeetingId,
                    version: u64,
                    state: &MeetingState,
                ) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO meetings (id, tenant_id, kind, scheduled_on, closed_on, version, state) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (id) DO UPDATE SET closed_on = excluded.closed_on, version = excluded.version, state = excluded.state",
                    )
                    .bind(id.to_string())
                    .bind(tenant.to_string())
                    .bind(json(&state.kind)?)
                    .bind(state.scheduled_on.to_string())
                    .bind(state.closed_on.map(|d| d.to_string()))
                    .bind(to_i64(version))
                    .bind(json(state)?)
                    .execute(&mut **tx)
                    .await?;
                    sqlx::query("DELETE FROM meeting_members WHERE meeting_id = $1")
                        .bind(id.to_string())
                        .execute(&mut **tx)
                        .await?;
                    for org in state.members() {
                        sqlx::query("INSERT INTO meeting_members (meeting_id, org_id) VALUES ($1, $2)")
                            .bind(id.to_string())
                            .bind(org.to_string())
                            .execute(&mut **tx)
                            .await?;
                    }
                    Ok(())
                }

                pub async fn projection<T: serde::de::DeserializeOwned>(
                    &self,
                    tenant: TenantId,
                    table: &'static str,
                    id: Uuid,
                ) -> Result<Option<Versioned<T>>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT version, state FROM {table} WHERE id = $1 AND tenant_id = $2"
                    )))
                    .bind(id.to_string())
                    .bind(tenant.to_string())
                    .fetch_optional(&self.read)
                    .await?;
                    row.map(|r| {
                        Ok(Versioned {
                            version: to_u64(r.try_get("version")?),
                            state: from_json(&r.try_get::<String, _>("state")?)?,
                        })
                    })
                    .transpose()
                }

                pub async fn events(&self, tenant: TenantId, stream: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT version, event_type, payload, actor_user, actor_org, recorded_at, reason FROM events \
                         WHERE stream_id = $1 AND tenant_id = $2 ORDER BY version",
                    )
                    .bind(stream.to_string())
                    .bind(tenant.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter().map(stored_event).collect()
                }

                pub async fn attachment_content(&self, tenant: TenantId, case: CaseId, id: AttachmentId) -> Result<Option<Vec<u8>>, StoreError> {
                    let row = sqlx::query("SELECT content FROM attachment_files WHERE id = $1 AND tenant_id = $2 AND case_id = $3")
                        .bind(id.to_string())
                        .bind(tenant.to_string())
                        .bind(case.to_string())
                        .fetch_optional(&self.read)
                        .await?;
                    row.map(|r| r.try_get::<Vec<u8>, _>("content").map_err(StoreError::from)).transpose()
                }

                pub async fn person_access(&self, person: PersonId) -> Result<Vec<OrgId>, StoreError> {
                    let rows = sqlx::query("SELECT org_id FROM person_access WHERE person_id = $1")
                        .bind(person.to_string())
                        .fetch_all(&self.read)
                        .await?;
                    rows.iter()
                        .map(|r| Ok(OrgId(parse_uuid(&r.try_get::<String, _>("org_id")?)?)))
                        .collect()
                }

                pub async fn search_persons(
                    &self,
                    tenant: TenantId,
                    org: OrgId,
                    q: &PersonQuery,
                ) -> Result<Vec<PersonSummary>, StoreError> {
                    let name = q.name.as_deref().map(|n| format!("%{}%", escape_like(n.trim())));
                    let phone = q.phone.as_deref().map(normalise_phone);
                    // A person is seen by the registering organisation, and through any of the
                    // person's cases the reader may see.
                    let sql = format!(
                        "SELECT p.id, p.name, p.kana, p.date_of_birth, p.household_id, p.version FROM persons p \
                         JOIN person_access pa ON pa.person_id = p.id AND pa.org_id = $2 \
                         WHERE p.tenant_id = $1 \
                         AND ($3 IS NULL OR p.name LIKE $3 ESCAPE '\\' OR p.kana LIKE $3 ESCAPE '\\') \
                         AND ($4 IS NULL OR p.date_of_birth = $4) \
                         AND ($5 IS NULL OR p.phone = $5) \
                         AND ($7 IS NULL OR p.household_id = $7) \
                         AND ($8 IS NULL OR p.registered_by_org = $8 OR EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND {})) \
                         ORDER BY p.kana, p.name LIMIT $6",
                        readable("c.id", q.reader.as_ref(), 8, 9, 10)
                    );
                    let (r_org, r_user, r_day) = reader_binds(q.reader.as_ref());
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.to_string())
                    .bind(org.to_string())
                    .bind(name)
                    .bind(q.date_of_birth.map(|d| d.to_string()))
                    .bind(phone)
                    .bind(i64::from(q.limit.clamp(1, 500)))
                    .bind(q.household.map(|h| h.to_string()))
                    .bind(r_org)
                    .bind(r_user)
                    .bind(r_day)
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(PersonSummary {
                                id: PersonId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                                name: r.try_get("name")?,
                                kana: r.try_get("kana")?,
                                date_of_birth: r
                                    .try_get::<Option<String>, _>("date_of_birth")?
                                    .map(|d| parse_date(&d))
                                    .transpose()?,
                                household_id: parse_uuid(&r.try_get::<String, _>("household_id")?)?,
                                version: to_u64(r.try_get("version")?),
                            })
                        })
                        .collect()
                }

                /// How many cases the filter matches (its limit and offset aside).
                pub async fn count_cases(&self, tenant: TenantId, f: &CaseFilter) -> Result<u64, StoreError> {
                    // The same numbered parameters as `cases`; $6 and $7 stay unused but bound.
                    let sql = format!(
                        "SELECT COUNT(*) AS n FROM cases c WHERE {} AND $6 >= 0 AND $7 >= 0",
                        case_filter_sql(f)
                    );
                    let (r_org, r_user, r_day) = reader_binds(f.reader.as_ref());
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant.to_string())
                        .bind(f.visible_to_org.map(|o| o.to_string()))
                        .bind(f.stage.map(|s| s.as_str()))
                        .bind(f.assigned_worker.map(|u| u.to_string()))
                        .bind(f.person.map(|p| p.to_string()))
                        .bind(0_i64)
                        .bind(0_i64)
                        .bind(f.owner_org.map(|o| o.to_string()))
                        .bind(f.stage_unchanged_since.map(|t| t.to_string()))
                        .bind(r_org)
                        .bind(r_user)
                        .bind(r_day)
                        .fetch_one(&self.read)
                        .await?;
                    Ok(to_u64(row.try_get("n")?))
                }

                /// One page of the organisation's workers with open cases (most first, then by
                /// name), read from the caseload counts: a row per worker and stage, never a case.
                pub async fn caseload(&self, tenant: TenantId, org: OrgId, offset: u32, limit: u32) -> Result<CaseloadPage, StoreError> {
                    let stage_of = |r: &<$Db as sqlx::Database>::Row| -> Result<Stage, StoreError> {
                        let stage: String = r.try_get("stage")?;
                        Stage::parse(&stage).ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))
                    };
                    let mut page = CaseloadPage::default();
                    for r in sqlx::query(
                        "SELECT stage, cases AS n FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 AND worker = $3 \
                         AND stage <> $4 AND cases > 0",
                    )
                    .bind(tenant.to_string())
                    .bind(org.to_string())
                    .bind(CASELOAD_ALL)
                    .bind(CASELOAD_OPEN)
                    .fetch_all(&self.read)
                    .await?
                    {
                        page.totals.push((stage_of(&r)?, to_u64(r.try_get("n")?)));
                    }
                    let rows = sqlx::query(
                        "WITH w AS (SELECT worker, cases AS open FROM caseload_counts \
                         WHERE tenant_id = $1 AND org_id = $2 AND stage = $5 AND worker <> $6 AND cases > 0) \
                         SELECT w.worker, COALESCE(u.display_name, '') AS worker_name, w.open, (SELECT COUNT(*) FROM w) AS total \
                         FROM w LEFT JOIN users u ON u.id = w.worker ORDER BY w.open DESC, worker_name, w.worker LIMIT $3 OFFSET $4",
                    )
                    .bind(tenant.to_string())
                    .bind(org.to_string())
                    .bind(i64::from(limit.clamp(1, 500)))
                    .bind(i64::from(offset))
                    .bind(CASELOAD_OPEN)
                    .bind(CASELOAD_ALL)
                    .fetch_all(&self.read)
                    .await?;
                    for r in &rows {
                        page.workers_total = to_u64(r.try_get("total")?);
                        page.workers.push((
                            UserId(parse_uuid(&r.try_get::<String, _>("worker")?)?),
                            r.try_get("worker_name")?,
                            to_u64(r.try_get("open")?),
                        ));
                    }
                    if rows.is_empty() && offset > 0 {
                        // Past the last page: still say how many there are.
                        page.workers_total = to_u64(
                            sqlx::query(
                                "SELECT COUNT(*) AS n FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 \
                                 AND stage = $3 AND worker <> $4 AND cases > 0",
                            )
                            .bind(tenant.to_string())
                            .bind(org.to_string())
                            .bind(CASELOAD_OPEN)
                            .bind(CASELOAD_ALL)
                            .fetch_one(&self.read)
                            .await?
                            .try_get("n")?,
                        );
                    }
                    let ids: Vec<String> = page.workers.iter().map(|(w, _, _)| w.to_string()).collect();
                    let names: HashMap<UserId, String> = page.workers.iter().map(|(w, n, _)| (*w, n.clone())).collect();
                    if !ids.is_empty() {
                        let sql = format!(
                            "SELECT worker, stage, cases FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 AND stage <> $3 AND cases > 0 AND worker IN ({})",
                            placeholders_list(ids.len(), 3, false)
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()).bind(org.to_string()).bind(CASELOAD_OPEN);
                        for id in &ids {
                            q = q.bind(id.clone());
                        }
                        for r in q.fetch_all(&self.read).await? {
                            let worker = UserId(parse_uuid(&r.try_get::<String, _>("worker")?)?);
                            page.stages.push(CaseloadRow {
                                worker,
                                worker_name: names.get(&worker).cloned().unwrap_or_default(),
                                stage: stage_of(&r)?,
                                cases: to_u64(r.try_get("cases")?),
                            });
                        }
                    }
                    Ok(page)
                }

                /// The display names of these users of the tenant (users not found left out).
                pub async fn display_names(&self, tenant: TenantId, users: &[UserId]) -> Result<HashMap<UserId, String>, StoreError> {
                    let mut out = HashMap::new();
                    let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
                    for chunk in ids.chunks(IN_CHUNK) {
                        let sql = format!(
                            "SELECT id, display_name FROM users WHERE tenant_id = $1 AND id IN ({})",
                            placeholders_list(chunk.len(), 1, false)
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string());
                        for id in chunk {
                            q = q.bind(id.clone());
                        }
                        for r in q.fetch_all(&self.read).await? {
                            out.insert(UserId(parse_uuid(&r.try_get::<String, _>("id")?)?), r.try_get("display_name")?);
                        }
                    }
                    Ok(out)
                }

                /// Due items past their date per worker, over an organisation's own cases, for
                /// the given workers (a page of the caseload): each worker's own index range.
                pub async fn overdue_by_worker(&self, tenant: TenantId, org: OrgId, workers: &[UserId], today: Date) -> Result<Vec<(UserId, u64)>, StoreError> {
                    if workers.is_empty() {
                        return Ok(Vec::new());
                    }
                    let sql = format!(
                        "SELECT assigned_worker, COUNT(*) AS n FROM case_due \
                         WHERE tenant_id = $1 AND owner_org = $2 AND due_on < $3 AND assigned_worker IN ({}) GROUP BY assigned_worker",
                        placeholders_list(workers.len(), 3, false)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant.to_string())
                        .bind(org.to_string())
                        .bind(today.to_string());
                    for w in workers {
                        q = q.bind(w.to_string());
                    }
                    q.fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok((
                                UserId(parse_uuid(&r.try_get::<String, _>("assigned_worker")?)?),
                                to_u64(r.try_get("n")?),
                            ))
                        })
                        .collect()
                }

                pub async fn cases(&self, tenant: TenantId, f: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
                    let sql = format!(
                        "SELECT c.id, c.person_id, p.name AS person_name, c.stage, c.owner_org, c.assigned_worker, c.opened_on, \
                         c.stage_changed_at, c.version FROM cases c JOIN persons p ON p.id = c.person_id \
                         WHERE {} ORDER BY c.stage_changed_at {}, c.id LIMIT $6 OFFSET $7",
                        case_filter_sql(f),
                        if f.oldest_first { "ASC" } else { "DESC" },
                    );
                    let (r_org, r_user, r_day) = reader_binds(f.reader.as_ref());
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.to_string())
                    .bind(f.visible_to_org.map(|o| o.to_string()))
                    .bind(f.stage.map(|s| s.as_str()))
                    .bind(f.assigned_worker.map(|u| u.to_string()))
                    .bind(f.person.map(|p| p.to_string()))
                    .bind(i64::from(f.limit.clamp(1, 1000)))
                    .bind(i64::from(f.offset))
                    .bind(f.owner_org.map(|o| o.to_string()))
                    .bind(f.stage_unchanged_since.map(|t| t.to_string()))
                    .bind(r_org)
                    .bind(r_user)
                    .bind(r_day)
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let stage: String = r.try_get("stage")?;
                            Ok(CaseSummary {
                                id: CaseId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                                person_id: PersonId(parse_uuid(&r.try_get::<String, _>("person_id")?)?),
                                person_name: r.try_get("person_name")?,
                                stage: Stage::parse(&stage)
                                    .ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))?,
                                owner_org: OrgId(parse_uuid(&r.try_get::<String, _>("owner_org")?)?),
                                assigned_worker: UserId(parse_uuid(&r.try_get::<String, _>("assigned_worker")?)?),
                                opened_on: parse_date(&r.try_get::<String, _>("opened_on")?)?,
                                stage_changed_at: parse_ts(&r.try_get::<String, _>("stage_changed_at")?)?,
                                version: to_u64(r.try_get("version")?),
                            })
                        })
                        .collect()
                }

                pub async fn due(
                    &self,
                    tenant: TenantId,
                    scope: &DueScope,
                    _today: Date,
                    horizon_until: Date,
                    plan_end_until: Date,
                    reader: Option<&crate::Reader>,
                ) -> Result<Vec<DueRow>, StoreError> {
                    let (worker, org) = match scope {
                        DueScope::Worker(u) => (Some(u.to_string()), None),
                        DueScope::Org(o) => (None, Some(o.to_string())),
                    };
                    // Bare comparisons for the scope used (see `case_filter_sql`), so a worker's
                    // list reads the worker's index range only.
                    let sql = format!(
                        "SELECT d.case_id, c.person_id, p.name AS person_name, d.kind, d.due_on, d.reference, d.owner_org, d.assigned_worker FROM case_due d \
                         JOIN cases c ON c.id = d.case_id JOIN persons p ON p.id = c.person_id \
                         WHERE d.tenant_id = $1 \
                         AND ((d.kind <> 'plan_period_end' AND d.due_on <= $2) OR (d.kind = 'plan_period_end' AND d.due_on <= $3)) \
                         AND {} AND {} AND {} \
                         ORDER BY d.due_on, d.case_id",
                        if worker.is_some() { "d.assigned_worker = $4" } else { "$4 IS NULL" },
                        if org.is_some() {
                            "EXISTS (SELECT 1 FROM case_team t WHERE t.case_id = d.case_id AND t.org_id = $5)"
                        } else {
                            "$5 IS NULL"
                        },
                        readable("d.case_id", reader, 6, 7, 8)
                    );
                    let (r_org, r_user, r_day) = reader_binds(reader);
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.to_string())
                    .bind(horizon_until.to_string())
                    .bind(plan_end_until.to_string())
                    .bind(worker)
                    .bind(org)
                    .bind(r_org)
                    .bind(r_user)
                    .bind(r_day)
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let kind: String = r.try_get("kind")?;
                            Ok(DueRow {
                                case_id: CaseId(parse_uuid(&r.try_get::<String, _>("case_id")?)?),
                                person_id: PersonId(parse_uuid(&r.try_get::<String, _>("person_id")?)?),
                                person_name: r.try_get("person_name")?,
                                kind: DueKind::parse(&kind)
                                    .ok_or_else(|| StoreError::Corrupt(format!("unknown due kind {kind}")))?,
                                due_on: parse_date(&r.try_get::<String, _>("due_on")?)?,
                                reference: r
                                    .try_get::<Option<String>, _>("reference")?
                                    .map(|s| parse_uuid(&s))
                                    .transpose()?,
                                owner_org: OrgId(parse_uuid(&r.try_get::<String, _>("owner_org")?)?),
                                assigned_worker: UserId(parse_uuid(&r.try_get::<String, _>("assigned_worker")?)?),
                            })
                        })
                        .collect()
                }

                /// How many items of each kind fall due in the tenant up to the horizons, and how
                /// many of them are overdue on `today`: counted in the query, no row leaves it.
                pub async fn due_counts(
                    &self,
                    tenant: TenantId,
                    today: Date,
                    horizon_until: Date,
                    plan_end_until: Date,
                ) -> Result<Vec<(DueKind, u64, u64)>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT kind, COUNT(*) AS due, SUM(CASE WHEN due_on < $4 THEN 1 ELSE 0 END) AS overdue \
                         FROM case_due WHERE tenant_id = $1 \
                         AND ((kind <> 'plan_period_end' AND due_on <= $2) OR (kind = 'plan_period_end' AND due_on <= $3)) \
                         GROUP BY kind",
                    )
                    .bind(tenant.to_string())
                    .bind(horizon_until.to_string())
                    .bind(plan_end_until.to_string())
                    .bind(today.to_string())
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let kind: String = r.try_get("kind")?;
                            let count = |name: &str| -> Result<u64, StoreError> {
                                let n: Option<i64> = r.try_get(name)?;
                                Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
                            };
                            Ok((
                                DueKind::parse(&kind)
                                    .ok_or_else(|| StoreError::Corrupt(format!("unknown due kind {kind}")))?,
                                count("due")?,
                                count("overdue")?,
                            ))
                        })
                        .collect()
                }

                pub async fn meetings(&self, tenant: TenantId, org: OrgId, q: &MeetingQuery) -> Result<Vec<MeetingSummary>, StoreError> {
                    // Only the conditions used, so the date range stays an index range.
                    let mut sql = String::from(
                        "SELECT m.id, m.version, m.state FROM meetings m \
                         JOIN meeting_members mm ON mm.meeting_id = m.id AND mm.org_id = $2 \
                         WHERE m.tenant_id = $1 AND m.scheduled_on >= $3",
                    );
                    if q.until.is_some() {
                        sql.push_str(" AND m.scheduled_on <= $4");
                    }
                    if q.open_only {
                        sql.push_str(" AND m.closed_on IS NULL");
                    }
                    sql.push_str(" ORDER BY m.scheduled_on, m.id");
                    if let Some(limit) = q.limit {
                        sql.push_str(&format!(" LIMIT {}", limit.clamp(1, 10_000)));
                    }
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant.to_string())
                        .bind(org.to_string())
                        .bind(q.from.to_string());
                    if let Some(until) = q.until {
                        query = query.bind(until.to_string());
                    }
                    let rows = query.fetch_all(&self.read).await?;
                    rows.iter()
                        .map(|r| {
                            let state: MeetingState = from_json(&r.try_get::<String, _>("state")?)?;
                            Ok(MeetingSummary {
                                id: MeetingId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                                kind: state.kind,
                                title: state.title.to_string(),
                                scheduled_on: state.scheduled_on,
                                closed_on: state.closed_on,
                                agenda_cases: state.agenda.len(),
                                version: to_u64(r.try_get("version")?),
                            })
                        })
                        .collect()
                }

                pub async fn has_non_demo_data(&self) -> Result<bool, StoreError> {
                    let row = sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE is_demo = $1")
                        .bind(false)
                        .fetch_one(&self.read)
                        .await?;
                    Ok(row.try_get::<i64, _>("n")? > 0)
                }

                pub async fn verify(&self) -> Result<Vec<String>, StoreError> {
                    let mut findings = self.engine_check().await?;
                    // What the audit trail recorded of each stream's writes (the last one wins),
                    // read page by page: one compact entry per stream, never the log itself.
                    let mut recorded: HashMap<Uuid, (u64, [u8; 32])> = HashMap::new();
                    let mut after_seq: i64 = -1;
                    loop {
                        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT seq, events FROM audit_log WHERE seq > $1 AND events IS NOT NULL ORDER BY seq LIMIT {VERIFY_PAGE}"
                        )))
                        .bind(after_seq)
                        .fetch_all(&self.read)
                        .await?;
                        let Some(last) = rows.last() else { break };
                        after_seq = last.try_get("seq")?;
                        for r in &rows {
                            let heads: String = r.try_get("events")?;
                            for head in heads.split_whitespace() {
                                let Some((sid, rest)) = head.split_once('@') else { continue };
                                let Some((version, hash)) = rest.split_once('=') else { continue };
                                let (Ok(sid), Ok(version), Some(hash)) = (Uuid::parse_str(sid), version.parse::<u64>(), hash_bytes(hash)) else {
                                    findings.push(format!("audit entry {after_seq}: a recorded stream head cannot be read"));
                                    continue;
                                };
                                recorded.insert(sid, (version, hash));
                            }
                        }
                    }
                    // The streams page by page in id order, each page with its events and every
                    // projection row of its records read by id range: memory stays bounded by a
                    // page, and each table is read once per page, not once per record.
                    let mut after = String::new();
                    loop {
                        let streams = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT stream_id, stream_type, version, head_hash FROM streams WHERE stream_id > $1 ORDER BY stream_id LIMIT {VERIFY_STREAMS}"
                        )))
                        .bind(&after)
                        .fetch_all(&self.read)
                        .await?;
                        let Some(last) = streams.last() else { break };
                        let until: String = last.try_get("stream_id")?;
                        let page = self.verify_load(&after, &until).await?;
                        self.verify_page(&mut findings, &streams, page, &mut recorded).await?;
                        after = until;
                    }
                    // The caseload counts are sums over `cases` (whose rows were checked with
                    // each case): a count row that differs, either way, is named.
                    let count_rows = "SELECT tenant_id, org_id, worker, stage, cases FROM caseload_counts WHERE cases <> 0";
                    let case_rows = format!(
                        "SELECT * FROM (\
                         SELECT tenant_id, owner_org, assigned_worker, stage, COUNT(*) AS n FROM cases GROUP BY tenant_id, owner_org, assigned_worker, stage \
                         UNION ALL SELECT tenant_id, owner_org, '{all}', stage, COUNT(*) FROM cases GROUP BY tenant_id, owner_org, stage \
                         UNION ALL SELECT tenant_id, owner_org, assigned_worker, '{open}', COUNT(*) FROM cases WHERE stage <> 'closed' GROUP BY tenant_id, owner_org, assigned_worker \
                         UNION ALL SELECT tenant_id, owner_org, '{all}', '{open}', COUNT(*) FROM cases WHERE stage <> 'closed' GROUP BY tenant_id, owner_org\
                         ) expected",
                        all = CASELOAD_ALL,
                        open = CASELOAD_OPEN
                    );
                    for (sql, what) in [
                        (format!("{count_rows} EXCEPT {case_rows}"), "differs from the cases it counts"),
                        (format!("{case_rows} EXCEPT {count_rows}"), "is missing or differs (the cases count otherwise)"),
                    ] {
                        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await? {
                            findings.push(format!(
                                "caseload_counts: the row of worker {} in stage {} of organisation {} {what}",
                                r.try_get::<String, _>(2)?,
                                r.try_get::<String, _>(3)?,
                                r.try_get::<String, _>(1)?,
                            ));
                        }
                    }
                    for r in sqlx::query("SELECT DISTINCT stream_id FROM events WHERE stream_id > $1")
                        .bind(&after)
                        .fetch_all(&self.read)
                        .await?
                    {
                        let sid: String = r.try_get("stream_id")?;
                        findings.push(format!("events of stream {sid} have no stream record"));
                    }
                    for (sid, (version, _)) in &recorded {
                        findings.push(format!(
                            "stream {sid}: the audit trail records a write up to event {version}, but the stream is gone"
                        ));
                    }
                    Ok(findings)
                }

                /// Checks one page of streams (`streams`, in id order) against their events and
                /// projection rows (`page`), taking each stream's recorded head out of `recorded`.
                async fn verify_page(
                    &self,
                    findings: &mut Vec<String>,
                    streams: &[<$Db as sqlx::Database>::Row],
                    mut page: VerifyPage,
                    recorded: &mut HashMap<Uuid, (u64, [u8; 32])>,
                ) -> Result<(), StoreError> {
                    findings.append(&mut page.unreadable);
                    // The consents of the persons of this page's cases (the access rows depend
                    // on them), wherever those persons' streams fall.
                    let persons: BTreeSet<String> = page.cases.values().map(|c| c.person_id.clone()).collect();
                    let persons: Vec<String> = persons.into_iter().collect();
                    let mut consents: HashMap<String, Vec<tsunagu_core::person::Consent>> = HashMap::new();
                    for chunk in persons.chunks(IN_CHUNK) {
                        let sql = format!("SELECT id, state FROM persons WHERE id IN ({})", placeholders_list(chunk.len(), 0, ANONYMOUS));
                        for r in with_ids(sql, chunk, 1).fetch_all(&self.read).await? {
                            let state: Option<PersonState> = from_json(&r.try_get::<String, _>("state")?).ok();
                            consents.insert(r.try_get("id")?, state.map(|s| s.consents).unwrap_or_default());
                        }
                    }
                    for s in streams {
                        let sid: String = s.try_get("stream_id")?;
                        let stype: String = s.try_get("stream_type")?;
                        let version = to_u64(s.try_get("version")?);
                        let head_hash: Option<String> = s.try_get("head_hash")?;
                        let chain = page.chains.remove(&sid).unwrap_or_default();
                        let recorded_head = Uuid::parse_str(&sid)
                            .ok()
                            .and_then(|id| recorded.remove(&id))
                            .map(|(v, h)| (v, hex::encode(h)));
                        findings.extend(chain_findings(&stype, &sid, version, head_hash.as_deref(), &chain, recorded_head));
                        let events = page.events.remove(&sid).unwrap_or_default();
                        let contiguous = events.iter().enumerate().all(|(i, e)| e.version == i as u64 + 1);
                        if !contiguous || events.len() as u64 != version {
                            findings.push(format!("{stype} {sid}: events are not numbered 1..{version}"));
                            continue;
                        }
                        let projection = match stype.as_str() {
                            "case" => page.cases.get(&sid).map(|c| (c.version, c.state.clone())),
                            "person" => page.persons.remove(&sid),
                            "meeting" => page.meetings.remove(&sid),
                            other => {
                                findings.push(format!("stream {sid}: unknown stream type {other}"));
                                continue;
                            }
                        };
                        let Some((stored_version, stored)) = projection else {
                            findings.push(format!("{stype} {sid}: no projection row"));
                            continue;
                        };
                        if stored_version != version {
                            findings.push(format!("{stype} {sid}: projection version differs from the stream"));
                        }
                        let payloads = events.iter().map(|e| e.payload.clone());
                        match stype.as_str() {
                            "case" => {
                                let evs: Result<Vec<CaseEvent>, _> = payloads.map(serde_json::from_value).collect();
                                let Ok(evs) = evs else {
                                    findings.push(format!("case {sid}: an event cannot be read"));
                                    continue;
                                };
                                let folded = CaseState::fold(evs.iter());
                                compare(findings, "case", &sid, folded.as_ref(), &stored);
                                let timed: Vec<(CaseEvent, Timestamp)> =
                                    evs.into_iter().zip(events.iter().map(|e| e.recorded_at)).collect();
                                if let Some(state) = folded {
                                    let consents = consents.get(&state.person_id.to_string()).cloned().unwrap_or_default();
                                    page.check_case(findings, &sid, &state, stage_entered_at(&timed), &consents);
                                }
                            }
                            "person" => {
                                let evs: Result<Vec<PersonEvent>, _> = payloads.map(serde_json::from_value).collect();
                                let Ok(evs) = evs else {
                                    findings.push(format!("person {sid}: an event cannot be read"));
                                    continue;
                                };
                                let folded = PersonState::fold(evs.iter());
                                compare(findings, "person", &sid, folded.as_ref(), &stored);
                                if let Some(state) = folded {
                                    // Seen by the registering organisation and the teams of the
                                    // person's cases (whose team rows are checked with the case).
                                    let mut expected = page.person_teams.remove(&sid).unwrap_or_default();
                                    expected.insert(state.registered_by_org.to_string());
                                    if page.person_access.remove(&sid).unwrap_or_default() != expected {
                                        findings.push(format!("person {sid}: rows of person_access differ from the fold"));
                                    }
                                }
                            }
                            _ => {
                                let evs: Result<Vec<MeetingEvent>, _> = payloads.map(serde_json::from_value).collect();
                                let Ok(evs) = evs else {
                                    findings.push(format!("meeting {sid}: an event cannot be read"));
                                    continue;
                                };
                                let folded = MeetingState::fold(evs.iter());
                                compare(findings, "meeting", &sid, folded.as_ref(), &stored);
                                if let Some(state) = folded {
                                    let expected: BTreeSet<String> = state.members().iter().map(|o| o.to_string()).collect();
                                    if page.meeting_members.remove(&sid).unwrap_or_default() != expected {
                                        findings.push(format!("meeting {sid}: rows of meeting_members differ from the fold"));
                                    }
                                }
                            }
                        }
                    }
                    for sid in page.chains.keys() {
                        findings.push(format!("events of stream {sid} have no stream record"));
                    }
                    Ok(())
                }

                /// Everything `verify` compares for the streams with ids in (`after`, `until`]:
                /// their events and the rows of every projection table, one range read each.
                async fn verify_load(&self, after: &str, until: &str) -> Result<VerifyPage, StoreError> {
                    let read = |sql: &'static str| {
                        sqlx::query(sql).bind(after.to_owned()).bind(until.to_owned()).fetch_all(&self.read)
                    };
                    let mut page = VerifyPage::default();
                    let rows = read(
                        "SELECT stream_id, version, tenant_id, event_type, payload, actor_user, actor_org, recorded_at, reason, hash \
                         FROM events WHERE stream_id > $1 AND stream_id <= $2 ORDER BY stream_id, version",
                    )
                    .await?;
                    for r in &rows {
                        let sid: String = r.try_get("stream_id")?;
                        let version = to_u64(r.try_get("version")?);
                        let stored_hash: Option<String> = r.try_get("hash")?;
                        let chain = page.chains.entry(sid.clone()).or_default();
                        // Events from before hashing carry none; the chain starts after them.
                        let prev = chain
                            .last()
                            .filter(|(_, h, _)| h.is_some())
                            .map_or(crate::audit::GENESIS_HASH.to_owned(), |(_, _, c)| c.clone());
                        let computed = crate::audit::event_hash(
                            &prev,
                            &sid,
                            version,
                            &r.try_get::<String, _>("tenant_id")?,
                            &r.try_get::<String, _>("event_type")?,
                            &r.try_get::<String, _>("payload")?,
                            &r.try_get::<String, _>("actor_user")?,
                            &r.try_get::<String, _>("actor_org")?,
                            &r.try_get::<String, _>("recorded_at")?,
                            r.try_get::<Option<String>, _>("reason")?.as_deref(),
                        );
                        chain.push((version, stored_hash, computed));
                        match stored_event(r) {
                            Ok(e) => page.events.entry(sid).or_default().push(e),
                            Err(_) => page.unreadable.push(format!("stream {sid} event {version}: the row cannot be read")),
                        }
                    }
                    for r in read("SELECT id, person_id, version, state, stage, stage_changed_at FROM cases WHERE id > $1 AND id <= $2").await? {
                        page.cases.insert(
                            r.try_get("id")?,
                            VerifyCase {
                                person_id: r.try_get("person_id")?,
                                version: to_u64(r.try_get("version")?),
                                state: r.try_get("state")?,
                                stage: r.try_get("stage")?,
                                stage_changed_at: r.try_get("stage_changed_at")?,
                            },
                        );
                    }
                    for r in read("SELECT id, version, state FROM persons WHERE id > $1 AND id <= $2").await? {
                        page.persons.insert(r.try_get("id")?, (to_u64(r.try_get("version")?), r.try_get("state")?));
                    }
                    for r in read("SELECT id, version, state FROM meetings WHERE id > $1 AND id <= $2").await? {
                        page.meetings.insert(r.try_get("id")?, (to_u64(r.try_get("version")?), r.try_get("state")?));
                    }
                    for r in read("SELECT case_id, org_id FROM case_team WHERE case_id > $1 AND case_id <= $2").await? {
                        page.team.entry(r.try_get("case_id")?).or_default().insert(r.try_get("org_id")?);
                    }
                    for r in read("SELECT case_id, kind, due_on FROM case_due WHERE case_id > $1 AND case_id <= $2").await? {
                        page.due.entry(r.try_get("case_id")?).or_default().insert((r.try_get("kind")?, r.try_get("due_on")?));
                    }
                    for r in read(
                        "SELECT case_id, org_id, user_id, relation, valid_from, valid_until, rank FROM case_access WHERE case_id > $1 AND case_id <= $2",
                    )
                    .await?
                    {
                        page.access.entry(r.try_get("case_id")?).or_default().insert((
                            r.try_get("org_id")?,
                            r.try_get("user_id")?,
                            r.try_get("relation")?,
                            r.try_get("valid_from")?,
                            r.try_get("valid_until")?,
                            r.try_get("rank")?,
                        ));
                    }
                    for r in read(
                        "SELECT case_id, id, sha256, CAST(length(content) AS BIGINT) AS size FROM attachment_files WHERE case_id > $1 AND case_id <= $2",
                    )
                    .await?
                    {
                        page.files
                            .entry(r.try_get("case_id")?)
                            .or_default()
                            .insert((r.try_get("id")?, r.try_get("sha256")?, r.try_get("size")?));
                    }
                    for r in read("SELECT person_id, org_id FROM person_access WHERE person_id > $1 AND person_id <= $2").await? {
                        page.person_access.entry(r.try_get("person_id")?).or_default().insert(r.try_get("org_id")?);
                    }
                    for r in read(
                        "SELECT DISTINCT c.person_id, t.org_id FROM case_team t JOIN cases c ON c.id = t.case_id \
                         WHERE c.person_id > $1 AND c.person_id <= $2",
                    )
                    .await?
                    {
                        page.person_teams.entry(r.try_get("person_id")?).or_default().insert(r.try_get("org_id")?);
                    }
                    for r in read("SELECT meeting_id, org_id FROM meeting_members WHERE meeting_id > $1 AND meeting_id <= $2").await? {
                        page.meeting_members.entry(r.try_get("meeting_id")?).or_default().insert(r.try_get("org_id")?);
                    }
                    Ok(page)
                }
            }

            fn stored_event(r: &<$Db as sqlx::Database>::Row) -> Result<StoredEvent, StoreError> {
                Ok(StoredEvent {
                    version: to_u64(r.try_get("version")?),
                    event_type: r.try_get("event_type")?,
                    payload: from_json(&r.try_get::<String, _>("payload")?)?,
                    actor: ActorRef {
                        user_id: UserId(parse_uuid(&r.try_get::<String, _>("actor_user")?)?),
                        org_id: OrgId(parse_uuid(&r.try_get::<String, _>("actor_org")?)?),
                    },
                    recorded_at: parse_ts(&r.try_get::<String, _>("recorded_at")?)?,
                    reason: r.try_get("reason")?,
                })
            }
        }
    };
}

/// Digits only, so that 090-1234-5678 and 09012345678 match.
pub(crate) fn normalise_phone(p: &str) -> String {
    p.chars()
        .filter_map(|c| {
            let c = match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32)?,
                c => c,
            };
            c.is_ascii_digit().then_some(c)
        })
        .collect()
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

backend!(sqlite, sqlx::Sqlite, "BEGIN IMMEDIATE", true);
backend!(pg, sqlx::Postgres, "BEGIN", false);

impl sqlite::Db {
    async fn engine_check(&self) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        let mut findings = Vec::new();
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&self.read)
            .await?;
        for r in rows {
            let line: String = r.try_get(0)?;
            if line != "ok" {
                findings.push(format!("sqlite integrity_check: {line}"));
            }
        }
        let fk = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&self.read)
            .await?;
        if !fk.is_empty() {
            findings.push(format!("sqlite foreign_key_check: {} violations", fk.len()));
        }
        Ok(findings)
    }
}

impl pg::Db {
    async fn engine_check(&self) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        // PostgreSQL checks constraints on write; make sure the schema is complete and readable.
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name IN ('events', 'streams', 'cases', 'persons', 'meetings')",
        )
        .fetch_one(&self.read)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(if n == 5 {
            Vec::new()
        } else {
            vec![format!("postgres: {n} of 5 core tables present")]
        })
    }
}
