//! The store's own types: configuration records, append batches, list rows, errors.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tsunagu_core::case::{CaseEvent, DueKind, Stage};
use tsunagu_core::meeting::{MeetingEvent, MeetingKind};
use tsunagu_core::person::PersonEvent;
use tsunagu_core::{
    ActorRef, CaseId, MeetingId, OrgId, OrgKind, PersonId, Role, TenantId, TenantSettings, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream moved on since the caller read it.
    #[error("version conflict: expected {expected}, the stream is at {actual}")]
    Conflict { expected: u64, actual: u64 },
    #[error("not found")]
    NotFound,
    /// The same idempotency key was used before for the same request: here is what it made.
    #[error("idempotent replay")]
    IdempotentReplay { stream_id: uuid::Uuid },
    /// The same idempotency key was used before for a different request.
    #[error("idempotency key reused for a different request")]
    IdempotencyMismatch,
    #[error("a record with this identity already exists")]
    Duplicate,
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The database cannot take the request now (connection lost, server restarting, disk full,
    /// I/O error, busy): nothing was written; the caller may try again later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

/// Whether an error means the storage is (for now) unable to serve, rather than a defect:
/// transport and pool failures, SQLite's busy, full, I/O, read-only and cannot-open results,
/// and PostgreSQL's connection, resource, operator-intervention and system-error classes.
fn is_unavailable(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_)
        | E::Tls(_)
        | E::Protocol(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed => true,
        E::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                || db
                    .try_downcast_ref::<crate::direct::DirectError>()
                    .is_some()
            {
                // SQLite's primary result code is the low byte of the extended one.
                code.parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14))
            } else {
                ["08", "53", "57P", "58", "40001", "40P01"]
                    .iter()
                    .any(|class| code.starts_with(class))
            }
        }
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub settings: TenantSettings,
    pub is_demo: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: OrgKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub org_id: OrgId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub disabled: bool,
    /// Base32 TOTP secret, once the user has started enrolment.
    pub totp_secret: Option<String>,
    /// Whether the user confirmed the TOTP secret with a code.
    pub totp_confirmed: bool,
}

/// A user with what every request needs of their organisation and tenant (`Store::member`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub org_kind: OrgKind,
    pub settings: TenantSettings,
}

/// A server-side login session. The cookie carries a random token; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub address: Option<String>,
    /// A session that may only enrol a second factor (the role requires one, none is set up).
    pub totp_setup_only: bool,
    #[serde(skip)]
    pub csrf_token: String,
}

/// What a bearer token was issued for: its own organisation and role, fixed at creation. The
/// role it acts as at a request is the lower of this one and the user's current role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    pub token_id: uuid::Uuid,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A token as its owner and administrators see it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: uuid::Uuid,
    pub label: String,
    pub org_id: OrgId,
    pub role: Role,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Tokens stored before expiry existed expire this long after creation.
pub const LEGACY_TOKEN_DAYS: i64 = 90;

#[derive(Clone, Debug)]
pub struct ApiToken {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
    pub stream_id: uuid::Uuid,
}

/// The registry of stream kinds: each kind's name in `streams.stream_type` and the table of its
/// projection, named once here. A new kind of record is a new kind of stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Case,
    Person,
    Meeting,
}

impl StreamKind {
    pub const ALL: [StreamKind; 3] = [StreamKind::Case, StreamKind::Person, StreamKind::Meeting];

    /// The name stored in `streams.stream_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Case => "case",
            StreamKind::Person => "person",
            StreamKind::Meeting => "meeting",
        }
    }

    pub fn parse(name: &str) -> Option<StreamKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The projection table holding each stream's folded state.
    pub fn table(self) -> &'static str {
        match self {
            StreamKind::Case => "cases",
            StreamKind::Person => "persons",
            StreamKind::Meeting => "meetings",
        }
    }
}

#[derive(Clone, Debug)]
pub enum StreamAppend {
    Case {
        id: CaseId,
        expected_version: u64,
        events: Vec<CaseEvent>,
    },
    Person {
        id: PersonId,
        expected_version: u64,
        events: Vec<PersonEvent>,
    },
    Meeting {
        id: MeetingId,
        expected_version: u64,
        events: Vec<MeetingEvent>,
    },
}

impl StreamAppend {
    /// The stream's id, kind and the version the writer saw.
    pub fn key(&self) -> (uuid::Uuid, StreamKind, u64) {
        match self {
            StreamAppend::Case {
                id,
                expected_version,
                ..
            } => (id.0, StreamKind::Case, *expected_version),
            StreamAppend::Person {
                id,
                expected_version,
                ..
            } => (id.0, StreamKind::Person, *expected_version),
            StreamAppend::Meeting {
                id,
                expected_version,
                ..
            } => (id.0, StreamKind::Meeting, *expected_version),
        }
    }
}

/// One write: events for one or more streams, by one actor, at one time, for one reason.
#[derive(Clone, Debug)]
pub struct AppendBatch {
    pub tenant: TenantId,
    pub actor: ActorRef,
    pub recorded_at: Timestamp,
    pub reason: Option<String>,
    pub idempotency: Option<Idempotency>,
    pub streams: Vec<StreamAppend>,
    /// Recorded in the same transaction; the append fails if they cannot be written.
    pub audit: Vec<crate::AuditEntry>,
    /// Content of attachments the batch's events describe, stored in the same transaction.
    pub files: Vec<AttachmentFile>,
}

/// The content of one attachment, stored under the id its `attachment_added` event names.
#[derive(Clone, Debug)]
pub struct AttachmentFile {
    pub id: tsunagu_core::AttachmentId,
    pub case_id: CaseId,
    pub sha256: String,
    pub content: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub version: u64,
    pub state: T,
}

/// An event as stored, with its envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub version: u64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub actor: ActorRef,
    pub recorded_at: Timestamp,
    pub reason: Option<String>,
}

/// A case event with its place in the order events were committed (`event_positions`), for a
/// reader that follows the whole store.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionedEvent {
    pub position: i64,
    pub tenant_id: TenantId,
    pub case_id: CaseId,
    pub version: u64,
    pub event: tsunagu_core::case::CaseEvent,
}

#[derive(Clone, Debug, Default)]
pub struct PersonQuery {
    /// Matches name or kana (substring).
    pub name: Option<String>,
    pub date_of_birth: Option<Date>,
    pub phone: Option<String>,
    /// Members of one household.
    pub household: Option<tsunagu_core::HouseholdId>,
    /// Only persons this reader may see: registered by the reader's organisation, or with a
    /// case the reader may see.
    pub reader: Option<Reader>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonSummary {
    pub id: PersonId,
    pub name: String,
    pub kana: Option<String>,
    pub date_of_birth: Option<Date>,
    pub household_id: uuid::Uuid,
    pub version: u64,
}

#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    /// Cases whose team includes this organisation.
    pub visible_to_org: Option<OrgId>,
    pub stage: Option<Stage>,
    pub assigned_worker: Option<UserId>,
    pub person: Option<PersonId>,
    /// Cases this organisation is responsible for (not those it is a partner on).
    pub owner_org: Option<OrgId>,
    /// Cases whose stage has not changed since this moment.
    pub stage_unchanged_since: Option<Timestamp>,
    /// Cases in one of these stages (none: any stage).
    pub stages: Vec<Stage>,
    /// Oldest stage change first (default: newest first).
    pub oldest_first: bool,
    /// Only cases this reader may see (the access projection).
    pub reader: Option<Reader>,
    pub limit: u32,
    pub offset: u32,
}

/// How many of an organisation's cases a worker has in a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseloadRow {
    pub worker: UserId,
    /// The worker's display name (empty if the account is gone).
    pub worker_name: String,
    pub stage: Stage,
    pub cases: u64,
}

/// A member of staff as pages name them (no login, hash or secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRow {
    pub id: UserId,
    pub org_id: OrgId,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

/// One page of an organisation's workers with open cases, most open cases first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseloadPage {
    /// The page's workers: id, display name (empty if the account is gone) and open cases.
    pub workers: Vec<(UserId, String, u64)>,
    /// The page's workers' cases per stage (closed included).
    pub stages: Vec<CaseloadRow>,
    /// How many workers have open cases (on any page).
    pub workers_total: u64,
    /// The organisation's cases per stage (closed included).
    pub totals: Vec<(Stage, u64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSummary {
    pub id: CaseId,
    pub person_id: PersonId,
    pub person_name: String,
    pub stage: Stage,
    pub owner_org: OrgId,
    pub assigned_worker: UserId,
    pub opened_on: Date,
    pub stage_changed_at: Timestamp,
    pub version: u64,
}

/// Who reads a list, for the access projection: rows are shown only where the reader's relation
/// to the case (from `case_access`, on `day`) is one of `relations` — those in which the
/// reader's role may read, from core's policy table (`policy::relations_allowing`).
#[derive(Clone, Debug)]
pub struct Reader {
    pub org: OrgId,
    pub user: UserId,
    pub day: Date,
    pub relations: Vec<tsunagu_core::policy::Relation>,
}

#[derive(Clone, Debug)]
pub enum DueScope {
    Worker(UserId),
    /// Cases whose team includes the organisation.
    Org(OrgId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueRow {
    pub case_id: CaseId,
    pub person_id: PersonId,
    pub person_name: String,
    pub kind: DueKind,
    pub due_on: Date,
    pub reference: Option<uuid::Uuid>,
    pub owner_org: OrgId,
    pub assigned_worker: UserId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingSummary {
    pub id: MeetingId,
    pub kind: MeetingKind,
    pub title: String,
    pub scheduled_on: Date,
    pub closed_on: Option<Date>,
    pub agenda_cases: usize,
    pub version: u64,
}

/// Which meetings a list shows: scheduled from `from` (and up to `until`), the open ones only,
/// at most `limit`.
#[derive(Clone, Debug)]
pub struct MeetingQuery {
    pub from: jiff::civil::Date,
    pub until: Option<jiff::civil::Date>,
    pub open_only: bool,
    pub limit: Option<u32>,
}

/// The order of the caseload list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseListSort {
    /// Longest in the stage first (the business date the stage was entered).
    #[default]
    StageEnteredOldest,
    /// Newest in the stage first.
    StageEnteredNewest,
    /// Longest without contact first.
    LastContactOldest,
    /// Newest opened first.
    OpenedNewest,
    /// By the person's kana (name when none).
    Kana,
}

/// The conditions of the caseload list (支援ケース一覧); each `None` or empty condition is left
/// out. Every case in the answer is one the `reader` may read (the access projection); without
/// a reader only the number of matching cases is answered, never a row.
#[derive(Clone, Debug, Default)]
pub struct CaseListFilter {
    pub reader: Option<Reader>,
    /// Cases this organisation is responsible for.
    pub owner_org: Option<OrgId>,
    /// Cases whose team includes this organisation.
    pub team_org: Option<OrgId>,
    pub assigned_worker: Option<UserId>,
    pub person: Option<PersonId>,
    /// Only these cases (empty: any), e.g. the cases a full-text search found.
    pub case_ids: Vec<CaseId>,
    /// The case with this number.
    pub case_number: Option<tsunagu_core::case::CaseNumber>,
    /// Only cases waiting for a coordination meeting (`CaseState::awaiting_meeting`).
    pub awaiting_meeting: bool,
    /// Cases in one of these stages (empty: any).
    pub stages: Vec<Stage>,
    /// `Some(false)`: not closed; `Some(true)`: closed.
    pub closed: Option<bool>,
    /// 緊急度 code.
    pub urgency: Option<String>,
    /// Main 主訴 code.
    pub main_problem: Option<String>,
    /// 相談経路 code.
    pub intake_route: Option<String>,
    /// Cases with a due item dated before this day (overdue on it).
    pub due_before: Option<Date>,
    /// Cases whose person was last reached before this day (or never, since before it).
    pub contact_before: Option<Date>,
    /// Cases that entered their stage before this day.
    pub entered_before: Option<Date>,
    /// Cases opened on or after this day.
    pub opened_from: Option<Date>,
    /// Cases opened on or before this day.
    pub opened_until: Option<Date>,
    pub sort: CaseListSort,
    pub limit: u32,
    pub offset: u32,
    /// Only the page: no count (`total` 0, not exact), for a caller that counts otherwise.
    pub without_count: bool,
}

/// One case of the caseload list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseListRow {
    pub id: CaseId,
    /// ケース番号 (none for cases opened before numbering).
    pub case_number: Option<tsunagu_core::case::CaseNumber>,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_kana: Option<String>,
    pub stage: Stage,
    pub owner_org: OrgId,
    pub assigned_worker: UserId,
    pub opened_on: Date,
    /// The business date the case entered its stage.
    pub stage_entered_on: Date,
    /// The newest day the person was reached (the opening day when never).
    pub last_contact_on: Date,
    pub urgency: Option<String>,
    pub main_problem: Option<String>,
    pub intake_route: Option<String>,
    /// The agenda purpose the case waits for a coordination meeting for.
    pub awaiting_meeting: Option<String>,
    /// The oldest due item dated before the list's day, if any.
    pub overdue_since: Option<Date>,
    /// How many due items are dated before the list's day.
    pub overdue_items: u64,
    pub version: u64,
}

/// One page of the caseload list with the number of cases matching.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseListPage {
    pub rows: Vec<CaseListRow>,
    /// How many cases match; when `total_exact` is false, at least this many (the count
    /// stopped 1,000 cases past the page).
    pub total: u64,
    pub total_exact: bool,
}

/// A case with a plan reported to the municipality, and its person, as stored
/// (`Store::plan_reports`).
#[derive(Clone, Debug)]
pub struct ReportedCase {
    pub case_id: tsunagu_core::CaseId,
    pub case: tsunagu_core::case::CaseState,
    pub person: tsunagu_core::person::PersonState,
}
