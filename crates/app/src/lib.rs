//! Tsunagu's use cases: one async function per thing a user does (`cases::command`,
//! `persons::search`, …), called alike by the pages, the JSON API and the CLI. Each one
//! authorises through [`access`] — still the one enforcement point — decides in core, appends
//! through the store and writes the audit entry of the request before any data leaves.
//! No HTTP here: a surface turns a request into a [`Caller`] and renders [`Error`] its own way.

pub mod access;

/// The file an export is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// CSV for Excel (`tsunagu_report::csv`).
    Csv,
    /// An xlsx workbook (`tsunagu_report::xlsx`).
    Xlsx,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The table as this file: `sheet` names the workbook's one sheet.
    pub fn write(self, sheet: &str, table: &tsunagu_report::csv::Table) -> Result<Vec<u8>> {
        match self {
            FileFormat::Csv => Ok(tsunagu_report::csv::write(table)),
            FileFormat::Xlsx => tsunagu_report::xlsx::write(sheet, table).map_err(|e| {
                tracing::error!(error = %e, "xlsx not written");
                Error::internal()
            }),
        }
    }
}
pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod caseload;
pub mod cases;
pub mod disclosure;
pub mod due;
pub mod error;
pub mod import;
pub mod meetings;
pub mod persons;
pub mod reports;
pub mod search;
pub mod secrets;
pub mod stats;

/// The rows the use cases answer with, as the store reads them: a surface names them from here,
/// never from the store. Account rows (with their secrets) are not among them.
pub mod rows {
    pub use tsunagu_store::{
        CaseListRow, CaseListSort, CaseSummary, ChainedRow, MeetingSummary, Organisation,
        PersonSummary, TokenInfo,
    };
}

use jiff::civil::Date;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tsunagu_core::person::Consent;
use tsunagu_core::{Actor, Context, OrgId, TenantSettings, UserId};
use tsunagu_store::{AppendBatch, AuditEntry, Idempotency, Reader, StoreError, StreamAppend};
use uuid::Uuid;

pub use error::{Error, Kind, Result};
/// The store a surface opens and hands to [`App::new`]; its methods are for the use cases.
pub use tsunagu_store::Store;

/// What every use case runs against: the store, the clock and the key ring that seals TOTP
/// secrets at rest.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub clock: Clock,
    pub secrets: secrets::Secrets,
    /// The full-text index of case records (a cache of the store).
    pub search: std::sync::Arc<search::Records>,
}

impl App {
    /// An app with a key that lives as long as the process (`tsunagu serve` sets the ring from
    /// the key file) and a search index in memory (`serve` keeps one on disk).
    pub fn new(store: Store) -> App {
        App {
            store,
            clock: Clock::default(),
            secrets: secrets::Secrets::ephemeral(),
            search: std::sync::Arc::new(search::Records::new(None)),
        }
    }

    /// The app with its search index kept in `dir`.
    pub fn with_search_dir(mut self, dir: std::path::PathBuf) -> App {
        self.search = std::sync::Arc::new(search::Records::new(Some(dir)));
        self
    }
}

/// Who asks: the actor (user, organisation, role) with the tenant's settings, and for the audit
/// trail the session or token and the client's address. It carries no secret.
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Actor,
    pub settings: TenantSettings,
    /// `session id` or `token:<id>`, as the audit trail records it.
    pub session: Option<String>,
    pub address: Option<String>,
}

impl Caller {
    /// An audit entry for this request: who, from which session and address.
    pub fn audit(&self, action: &str) -> AuditEntry {
        let mut e = AuditEntry::by(&self.actor, action);
        e.session_id = self.session.clone();
        e.address = self.address.clone();
        e
    }

    pub fn user_id(&self) -> UserId {
        self.actor.user_id
    }

    pub fn org_id(&self) -> OrgId {
        self.actor.org_id
    }

    /// The caller as a reader of lists on `day`: the relations in which their role has
    /// `access`, from core's policy table, for the store to filter by in the query.
    pub fn reader(&self, day: Date, access: tsunagu_core::policy::Access) -> Reader {
        Reader {
            org: self.actor.org_id,
            user: self.actor.user_id,
            day,
            relations: tsunagu_core::policy::relations_allowing(self.actor.role, access),
        }
    }
}

/// The calendar day the rules use ("today in Japan"). Consent expiry, due dates and "not in
/// the future" checks all read it here, so a test can move the days forward; the server never
/// shifts it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    shift_days: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn today(&self) -> Date {
        let shift = self.shift_days.load(std::sync::atomic::Ordering::Relaxed);
        let day = today();
        day.checked_add(jiff::Span::new().days(shift))
            .unwrap_or(day)
    }

    /// Moves the calendar `days` forward (tests).
    pub fn advance_days(&self, days: i64) {
        self.shift_days
            .fetch_add(days, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Today in Japan (UTC+9, no daylight saving).
pub fn today() -> Date {
    let offset = jiff::tz::Offset::constant(9);
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(offset))
        .date()
}

/// A timestamp as a time in Japan (UTC+9, no daylight saving).
pub fn in_japan(t: jiff::Timestamp) -> jiff::Zoned {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(9)))
}

/// The day of a timestamp in Japan.
pub fn japan_date(t: jiff::Timestamp) -> Date {
    in_japan(t).date()
}

/// The context core's decisions read: today, the actor, the settings, the person's consents.
pub fn ctx<'a>(app: &App, caller: &'a Caller, consents: &'a [Consent]) -> Context<'a> {
    Context {
        today: app.clock.today(),
        actor: &caller.actor,
        settings: &caller.settings,
        consents,
    }
}

/// One write with its audit entry: both commit together or not at all.
pub fn batch(
    caller: &Caller,
    audit: AuditEntry,
    reason: Option<String>,
    streams: Vec<StreamAppend>,
) -> AppendBatch {
    AppendBatch {
        tenant: caller.actor.tenant_id,
        actor: caller.actor.actor_ref(),
        recorded_at: jiff::Timestamp::now(),
        reason: reason.filter(|r| !r.trim().is_empty()),
        idempotency: None,
        streams,
        audit: vec![audit],
        files: Vec::new(),
    }
}

/// The optimistic-concurrency check of a command: the version the user saw must be current.
pub fn expect_version(actual: u64, expected: u64) -> Result<()> {
    if actual != expected {
        return Err(StoreError::Conflict { expected, actual }.into());
    }
    Ok(())
}

/// Records a read before its data leaves the server; if the audit write fails, so does the
/// request (fail-closed).
pub async fn record(app: &App, entry: AuditEntry) -> Result<()> {
    app.store.audit(&[entry]).await?;
    Ok(())
}

/// The `action` name of a tagged command, for the audit trail.
pub fn action_name(command: &impl Serialize) -> String {
    serde_json::to_value(command)
        .ok()
        .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// A create that came with an idempotency key (`Idempotency-Key` over HTTP).
pub fn idempotency(key: Option<String>, body: &impl Serialize) -> Result<Option<(String, String)>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let bytes = serde_json::to_vec(body).map_err(|_| Error::internal())?;
    Ok(Some((key, hex::encode(Sha256::digest(&bytes)))))
}

/// What a create made: the new record's id, and whether this was a replay of an earlier
/// request with the same idempotency key (nothing new written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Created {
    pub id: Uuid,
    pub replayed: bool,
}

/// Runs a create with an optional idempotency key (key, hash of the request): a retry of the
/// same request returns what the first one made; the same key with another request is refused.
pub async fn create_once(
    app: &App,
    caller: &Caller,
    key: Option<(String, String)>,
    make: impl FnOnce(Uuid) -> Result<AppendBatch>,
) -> Result<Created> {
    if let Some((key, hash)) = &key
        && let Some(existing) = app
            .store
            .idempotent_replay(caller.actor.tenant_id, key, hash)
            .await?
    {
        return Ok(Created {
            id: existing,
            replayed: true,
        });
    }
    let id = Uuid::now_v7();
    let mut batch = make(id)?;
    batch.idempotency = key.map(|(key, request_hash)| Idempotency {
        key,
        request_hash,
        stream_id: id,
    });
    match app.store.append(batch).await {
        Ok(_) => Ok(Created {
            id,
            replayed: false,
        }),
        Err(StoreError::IdempotentReplay { stream_id }) => Ok(Created {
            id: stream_id,
            replayed: true,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Decodes a stored event; a row that does not decode is a defect, never shown.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| {
        tracing::error!(error = %e, "stored event cannot be decoded");
        Error::internal()
    })
}
