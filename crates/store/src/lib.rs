//! Tsunagu's storage: an append-only event store with read projections, on SQLite (embedded,
//! the default) and PostgreSQL. Every append checks the stream's expected version and updates the
//! projections in the same transaction. The SQL is written once, one file per concern under
//! `backend/`, against `sql` (the one module that knows there are two drivers); each backend has
//! its own migrations.

pub mod audit;
mod backend;
mod direct;
mod group;
mod sql;
pub use group::GroupCommit;
pub use sql::Pool;
mod types;

pub use audit::{AuditEntry, AuditQuery, Basis, ChainedRow, timestamp_text};
pub use types::*;

use jiff::civil::Date;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;
use tsunagu_core::case::CaseState;
use tsunagu_core::meeting::MeetingState;
use tsunagu_core::person::PersonState;
use tsunagu_core::{
    AttachmentId, CaseId, MeetingId, OrgId, PersonId, TenantId, TenantSettings, UserId,
};

pub use backend::{BulkSent, Db};

/// Decides, as a connection goes back to the pool, whether it may be reused. After a failed
/// statement or commit (a full disk, an I/O error) the engine may have ended the transaction on
/// its own, so the rollback on drop fails and the driver still counts a transaction as open; the
/// next `BEGIN` on that connection would then become a savepoint inside a transaction that is
/// never committed, and acknowledged writes would be lost. Such a connection is closed instead.
/// On SQLite the ping first lets the driver's worker finish the rollback that dropping the
/// transaction queued (PostgreSQL's driver counts it at once, and pings on release itself).
async fn discard_unfinished<C: sqlx::Connection>(
    conn: &mut C,
    flush: bool,
) -> Result<bool, sqlx::Error> {
    if flush {
        conn.ping().await?;
    }
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a database connection left inside a transaction");
    }
    Ok(clean)
}

/// How many bytes of a SQLite file its connections map: `TSUNAGU_SQLITE_MMAP_MIB`, else 4 GiB.
fn sqlite_mmap_bytes() -> u64 {
    std::env::var("TSUNAGU_SQLITE_MMAP_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(4096)
        .saturating_mul(1024 * 1024)
}

/// The default database: a file next to the program's working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tsunagu-data/tsunagu.db";

/// The database: SQLite or PostgreSQL, as the URL said.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

macro_rules! dispatch {
    ($self:ident, $db:ident => $body:expr) => {{
        let $db = &$self.db;
        $body
    }};
}

// After `dispatch!`, which it uses.
pub mod transfer;

impl Store {
    /// The SQLite pools (read, write), for tests and tools that reach under the store.
    pub fn sqlite_pools(&self) -> Option<(&sqlx::SqlitePool, &sqlx::SqlitePool)> {
        match (&self.db.read, &self.db.write) {
            (Pool::Sqlite(read), Pool::Sqlite(write)) => Some((read, write)),
            _ => None,
        }
    }

    /// The PostgreSQL pool, for tests and tools that reach under the store.
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.db.write {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }
}

impl Store {
    /// Opens the database the URL names (`sqlite://path` or `postgres://…`), creating a SQLite
    /// file and its folder if missing, and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens without migrating.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            Self::open_postgres(options).await
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?;
            let path = options.get_filename().to_path_buf();
            if let Some(dir) = path.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Every commit (the audit entry of every read) makes each reader drop its page
                // cache at its next transaction; mapped, the file's pages are read in place
                // instead of copied from the kernel again. TSUNAGU_SQLITE_MMAP_MIB sets how
                // much of the file (0: none).
                .pragma("mmap_size", sqlite_mmap_bytes().to_string());
            // One writer: SQLite serialises writes anyway, and a single write connection
            // avoids lock upgrades between deferred transactions.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .after_release(|conn, _| Box::pin(discard_unfinished(conn, true)))
                .connect_with(options.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(false))
                .await?;
            Ok(Store {
                db: Db::new(Pool::Sqlite(read), Pool::Sqlite(write))
                    .with_direct(path, sqlite_mmap_bytes()),
            })
        } else {
            Err(StoreError::Config(
                "database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    pub async fn open_postgres(options: PgConnectOptions) -> Result<Store, StoreError> {
        // No JIT compilation: the planner's cost of the access subqueries (a guess before the
        // tables are analysed) crosses `jit_above_cost`, and compiling then took half a second
        // of a query that runs in a third of a millisecond.
        let options = options.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .after_release(|conn, _| Box::pin(discard_unfinished(conn, false)))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Store {
            db: Db::new(Pool::Postgres(pool.clone()), Pool::Postgres(pool)),
        })
    }

    /// Brings the schema up to date, then fills derived rows a new migration introduced (the
    /// access projection of cases written before it existed).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db.write {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite")
                .run(pool)
                .await
                .map_err(|e| StoreError::Config(format!("migration failed: {e}")))?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres")
                .run(pool)
                .await
                .map_err(|e| StoreError::Config(format!("migration failed: {e}")))?,
        }
        let filled = dispatch!(self, db => db.fill_case_access().await)?;
        if filled > 0 {
            tracing::info!(cases = filled, "access projection filled");
        }
        let listed = dispatch!(self, db => db.fill_case_list_columns().await)?;
        if listed > 0 {
            tracing::info!(cases = listed, "caseload list columns filled");
        }
        let keyed = dispatch!(self, db => db.fill_person_search_keys().await)?;
        if keyed > 0 {
            tracing::info!(persons = keyed, "search keys filled");
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self.db.write {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        self.db.close_bulk_writer().await;
        self.db.write.close().await;
        self.db.read.close().await;
    }

    // --- tenants, organisations, users -------------------------------------------------

    /// How group commit has done since the store opened (jobs and rounds).
    pub fn group_commit(&self) -> GroupCommit {
        dispatch!(self, db => db.group_commit())
    }

    /// Entries in a transaction of their own (one commit per call, no group commit): the
    /// ceiling `tsunagu bench` measures writes against.
    pub async fn raw_commit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        dispatch!(self, db => db.raw_commit(entries).await)
    }

    pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        dispatch!(self, db => db.audit(entries).await)
    }
    /// Checks the audit chain: the number of entries, or the first break.
    pub async fn audit_verify(&self) -> Result<Result<u64, String>, StoreError> {
        dispatch!(self, db => db.audit_verify().await)
    }
    pub async fn audit_purge(
        &self,
        before: jiff::Timestamp,
        entry: &AuditEntry,
    ) -> Result<u64, StoreError> {
        dispatch!(self, db => db.audit_purge(before, entry).await)
    }
    pub async fn audit_query(&self, q: &AuditQuery) -> Result<Vec<ChainedRow>, StoreError> {
        dispatch!(self, db => db.audit_query(q).await)
    }
    pub async fn login_failures(
        &self,
        key: &str,
        since: jiff::Timestamp,
    ) -> Result<Vec<jiff::Timestamp>, StoreError> {
        dispatch!(self, db => db.login_failures(key, since).await)
    }
    pub async fn record_login_failure(
        &self,
        keys: &[String],
        at: jiff::Timestamp,
        forget_before: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.record_login_failure(keys, at, forget_before).await)
    }
    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        dispatch!(self, db => db.clear_login_failures(key).await)
    }
    pub async fn create_tenant(&self, t: &Tenant, audit: &AuditEntry) -> Result<(), StoreError> {
        dispatch!(self, db => db.create_tenant(t, audit).await)
    }
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        dispatch!(self, db => db.tenants().await)
    }
    pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        dispatch!(self, db => db.tenant(id).await)
    }
    pub async fn update_tenant_settings(
        &self,
        id: TenantId,
        settings: &TenantSettings,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.update_tenant_settings(id, settings, audit).await)
    }
    pub async fn create_org(
        &self,
        org: &Organisation,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.create_org(org, audit).await)
    }
    /// A live session with its member, in one read (every request that carries a cookie).
    pub async fn session_member(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<(Session, Member)>, StoreError> {
        dispatch!(self, db => db.session_member(token_hash, now).await)
    }
    pub async fn member(&self, id: UserId) -> Result<Option<Member>, StoreError> {
        dispatch!(self, db => db.member(id).await)
    }
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, db => db.ping().await)
    }
    pub async fn orgs(&self, tenant: TenantId) -> Result<Vec<Organisation>, StoreError> {
        dispatch!(self, db => db.orgs(tenant).await)
    }
    pub async fn create_user(&self, user: &User, audit: &AuditEntry) -> Result<(), StoreError> {
        dispatch!(self, db => db.create_user(user, audit).await)
    }
    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self, db => db.user(id).await)
    }
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        dispatch!(self, db => db.user_by_login(login).await)
    }
    /// The tenant's staff as pages name them (no login, hash or secret).
    pub async fn staff(&self, tenant: TenantId) -> Result<Vec<StaffRow>, StoreError> {
        dispatch!(self, db => db.staff(tenant).await)
    }
    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        dispatch!(self, db => db.users(tenant).await)
    }
    pub async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.set_password_hash(user, hash, audit).await)
    }
    pub async fn update_user(&self, user: &User, audit: &AuditEntry) -> Result<(), StoreError> {
        dispatch!(self, db => db.update_user(user, audit).await)
    }
    pub async fn set_totp(
        &self,
        user: UserId,
        secret: Option<&str>,
        confirmed: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.set_totp(user, secret, confirmed, audit).await)
    }
    pub async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
        dispatch!(self, db => db.use_totp_step(user, step).await)
    }
    pub async fn create_session(
        &self,
        token_hash: &str,
        session: &Session,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.create_session(token_hash, session, audit).await)
    }
    pub async fn touch_session(&self, id: &str, now: jiff::Timestamp) -> Result<(), StoreError> {
        dispatch!(self, db => db.touch_session(id, now).await)
    }
    pub async fn sessions_of(
        &self,
        user: UserId,
        now: jiff::Timestamp,
    ) -> Result<Vec<Session>, StoreError> {
        dispatch!(self, db => db.sessions_of(user, now).await)
    }
    pub async fn revoke_sessions(
        &self,
        user: UserId,
        id: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        dispatch!(self, db => db.revoke_sessions(user, id, audit).await)
    }
    pub async fn create_api_token(
        &self,
        token: &ApiToken,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.create_api_token(token, audit).await)
    }
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<TokenGrant>, StoreError> {
        dispatch!(self, db => db.api_token(token_hash).await)
    }
    pub async fn touch_api_token(
        &self,
        id: uuid::Uuid,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, db => db.touch_api_token(id, now).await)
    }
    pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        dispatch!(self, db => db.api_tokens_of(user).await)
    }
    pub async fn revoke_api_token(
        &self,
        user: UserId,
        id: uuid::Uuid,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        dispatch!(self, db => db.revoke_api_token(user, id, audit).await)
    }

    // --- streams ---------------------------------------------------------------------------

    /// Looks up an earlier create made with the same idempotency key.
    pub async fn idempotent_replay(
        &self,
        tenant: TenantId,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<uuid::Uuid>, StoreError> {
        dispatch!(self, db => db.idempotent_replay(tenant, key, request_hash).await)
    }

    /// Appends to one or more streams in one transaction, each at its expected version (0 for a
    /// new stream), and updates their projections. All or nothing.
    pub async fn append(&self, batch: AppendBatch) -> Result<Vec<u64>, StoreError> {
        dispatch!(self, db => db.append(batch).await)
    }

    /// Many writes in one transaction, each as by [`Store::append`] (bulk loading).
    pub async fn append_all(&self, batches: Vec<AppendBatch>) -> Result<Vec<Vec<u64>>, StoreError> {
        dispatch!(self, db => db.append_all(batches).await)
    }

    /// Stops SQLite's bulk writer when bulk loading is over, so that its connection and page
    /// cache (up to 256 MiB) do not stay with a server; the next bulk write starts another.
    pub async fn end_bulk(&self) {
        self.db.close_bulk_writer().await;
    }

    /// `append_all`, returning once the transaction is sent (on SQLite; PostgreSQL commits
    /// first): a bulk loader prepares the next while this one is written, then waits for
    /// `BulkSent::committed`.
    pub async fn append_all_sent(&self, batches: Vec<AppendBatch>) -> Result<BulkSent, StoreError> {
        dispatch!(self, db => db.append_all_sent(batches).await)
    }

    pub async fn case(
        &self,
        tenant: TenantId,
        id: CaseId,
    ) -> Result<Option<Versioned<CaseState>>, StoreError> {
        dispatch!(self, db => db.projection(tenant, StreamKind::Case, id.0).await)
    }
    /// A case with its person, in one read (every access check of one case).
    pub async fn case_with_person(
        &self,
        tenant: TenantId,
        id: CaseId,
    ) -> Result<Option<(Versioned<CaseState>, Versioned<PersonState>)>, StoreError> {
        dispatch!(self, db => db.case_with_person(tenant, id).await)
    }
    pub async fn person(
        &self,
        tenant: TenantId,
        id: PersonId,
    ) -> Result<Option<Versioned<PersonState>>, StoreError> {
        dispatch!(self, db => db.projection(tenant, StreamKind::Person, id.0).await)
    }
    pub async fn meeting(
        &self,
        tenant: TenantId,
        id: MeetingId,
    ) -> Result<Option<Versioned<MeetingState>>, StoreError> {
        dispatch!(self, db => db.projection(tenant, StreamKind::Meeting, id.0).await)
    }
    pub async fn events(
        &self,
        tenant: TenantId,
        stream: uuid::Uuid,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, db => db.events(tenant, stream).await)
    }
    /// Case events of the given types committed after the place `after`, oldest first, at
    /// most `limit`, and the place of the last one read: how the search index catches up.
    pub async fn case_events_after(
        &self,
        after: i64,
        types: &[&str],
        limit: u32,
    ) -> Result<(Vec<PositionedEvent>, i64), StoreError> {
        dispatch!(self, db => db.case_events_after(after, types, limit).await)
    }
    /// Every case the reader may read, by the access projection (as every list checks it).
    pub async fn readable_case_ids(&self, reader: &Reader) -> Result<Vec<CaseId>, StoreError> {
        dispatch!(self, db => db.readable_case_ids(reader).await)
    }
    /// Those of `ids` the reader may read (same check), in no particular order.
    pub async fn readable_among(
        &self,
        reader: &Reader,
        ids: &[CaseId],
    ) -> Result<Vec<CaseId>, StoreError> {
        dispatch!(self, db => db.readable_among(reader, ids).await)
    }
    /// The place of the newest event in the order of commits (0 when there is none).
    pub async fn last_event_position(&self) -> Result<i64, StoreError> {
        dispatch!(self, db => db.last_event_position().await)
    }
    /// The content of an attachment of the case, if both exist in the tenant.
    pub async fn attachment_content(
        &self,
        tenant: TenantId,
        case: CaseId,
        id: AttachmentId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self, db => db.attachment_content(tenant, case, id).await)
    }
    pub async fn person_access(&self, person: PersonId) -> Result<Vec<OrgId>, StoreError> {
        dispatch!(self, db => db.person_access(person).await)
    }
    pub async fn search_persons(
        &self,
        tenant: TenantId,
        org: OrgId,
        query: &PersonQuery,
    ) -> Result<Vec<PersonSummary>, StoreError> {
        dispatch!(self, db => db.search_persons(tenant, org, query).await)
    }
    pub async fn count_cases(&self, tenant: TenantId, f: &CaseFilter) -> Result<u64, StoreError> {
        dispatch!(self, db => db.count_cases(tenant, f).await)
    }
    pub async fn cases(
        &self,
        tenant: TenantId,
        filter: &CaseFilter,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        dispatch!(self, db => db.cases(tenant, filter).await)
    }
    /// One page of an organisation's workers with open cases, most first, with their counts
    /// per stage and the organisation's totals (counts, and the workers' names).
    /// Takes `count` case numbers of a tenant's fiscal year (`Db::take_case_numbers`); returns
    /// the first.
    pub async fn take_case_numbers(
        &self,
        tenant: TenantId,
        fiscal_year: i16,
        count: u32,
    ) -> Result<u32, StoreError> {
        dispatch!(self, db => db.take_case_numbers(tenant, fiscal_year, count).await)
    }

    /// The last case number given per fiscal year of a tenant.
    pub async fn case_number_counters(
        &self,
        tenant: TenantId,
    ) -> Result<std::collections::HashMap<i16, u32>, StoreError> {
        dispatch!(self, db => db.case_number_counters(tenant).await)
    }

    /// The counts behind the national indicators (`Db::milestone_counts`).
    pub async fn milestone_counts(
        &self,
        tenant: Option<TenantId>,
        from: jiff::civil::Date,
        until: jiff::civil::Date,
        by_month: bool,
        outcomes_only: bool,
    ) -> Result<Vec<(TenantId, Option<String>, tsunagu_core::stats::PeriodCounts)>, StoreError>
    {
        dispatch!(self, db => db.milestone_counts(tenant, from, until, by_month, outcomes_only).await)
    }

    /// Each new consultation of a tenant's period with what its breakdown needs
    /// (`Db::consultation_facts`).
    pub async fn consultation_facts(
        &self,
        tenant: TenantId,
        from: jiff::civil::Date,
        until: jiff::civil::Date,
    ) -> Result<Vec<tsunagu_core::stats::ConsultationFacts>, StoreError> {
        dispatch!(self, db => db.consultation_facts(tenant, from, until).await)
    }

    /// The process marks of a tenant's cases dated in the period (`Db::process_marks`).
    pub async fn process_marks(
        &self,
        tenant: TenantId,
        from: jiff::civil::Date,
        until: jiff::civil::Date,
    ) -> Result<Vec<tsunagu_core::stats::ProcessMark>, StoreError> {
        dispatch!(self, db => db.process_marks(tenant, from, until).await)
    }

    /// One page of the caseload list and how many cases match (`Db::case_list`).
    pub async fn case_list(
        &self,
        tenant: TenantId,
        filter: &CaseListFilter,
        today: jiff::civil::Date,
    ) -> Result<CaseListPage, StoreError> {
        dispatch!(self, db => db.case_list(tenant, filter, today).await)
    }

    /// The cases with a plan approved in the period, with their persons (`Db::plan_reports`).
    pub async fn plan_reports(
        &self,
        tenant: TenantId,
        from: jiff::civil::Date,
        until: jiff::civil::Date,
    ) -> Result<Vec<ReportedCase>, StoreError> {
        dispatch!(self, db => db.plan_reports(tenant, from, until).await)
    }

    /// The open cases of each worker of the tenant (`Db::open_cases_per_worker`).
    pub async fn open_cases_per_worker(&self, tenant: TenantId) -> Result<Vec<u64>, StoreError> {
        dispatch!(self, db => db.open_cases_per_worker(tenant).await)
    }

    pub async fn caseload(
        &self,
        tenant: TenantId,
        org: OrgId,
        offset: u32,
        limit: u32,
    ) -> Result<CaseloadPage, StoreError> {
        dispatch!(self, db => db.caseload(tenant, org, offset, limit).await)
    }
    /// The display names of these users of the tenant (users not found left out).
    pub async fn display_names(
        &self,
        tenant: TenantId,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
        dispatch!(self, db => db.display_names(tenant, users).await)
    }
    /// Due items past their date per worker (of `workers`), over an organisation's own cases.
    pub async fn overdue_by_worker(
        &self,
        tenant: TenantId,
        org: OrgId,
        workers: &[UserId],
        today: Date,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        dispatch!(self, db => db.overdue_by_worker(tenant, org, workers, today).await)
    }

    pub async fn due_counts(
        &self,
        tenant: TenantId,
        today: Date,
        horizon_until: Date,
        plan_end_until: Date,
    ) -> Result<Vec<(tsunagu_core::case::DueKind, u64, u64)>, StoreError> {
        dispatch!(self, db => db.due_counts(tenant, today, horizon_until, plan_end_until).await)
    }
    pub async fn due(
        &self,
        tenant: TenantId,
        scope: &DueScope,
        today: Date,
        horizon_until: Date,
        plan_end_until: Date,
        reader: Option<&Reader>,
    ) -> Result<Vec<DueRow>, StoreError> {
        dispatch!(self, db => db.due(tenant, scope, today, horizon_until, plan_end_until, reader).await)
    }
    /// The meetings of which `org` is a member, by date, as the query bounds them.
    pub async fn meetings(
        &self,
        tenant: TenantId,
        org: OrgId,
        q: &MeetingQuery,
    ) -> Result<Vec<MeetingSummary>, StoreError> {
        dispatch!(self, db => db.meetings(tenant, org, q).await)
    }
    /// Whether the database holds any data not made by the demo generator.
    /// Refreshes the planner's statistics after a bulk load (PostgreSQL; see `Db::analyze`).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        dispatch!(self, db => db.analyze().await)
    }

    pub async fn has_non_demo_data(&self) -> Result<bool, StoreError> {
        dispatch!(self, db => db.has_non_demo_data().await)
    }

    /// Checks the database: the engine's own integrity check, and that every projection equals
    /// the fold of its events. Returns the findings; empty means healthy.
    pub async fn verify(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, db => db.verify().await)
    }
}
