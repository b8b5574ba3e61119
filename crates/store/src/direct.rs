//! SQLite's bulk writer: a connection of our own (rusqlite, linking the same SQLite as sqlx)
//! owned by a thread of its own, which runs the statements of `crate::sql` in the order they
//! are sent. A statement sent with [`crate::sql::Query::execute_queued`] does not wait for its
//! answer: the caller prepares the next rows (folds, hashes, JSON, values) while this thread
//! writes the previous ones, so bulk loading uses both cores. Its failure is kept and answered
//! to the next statement that waits (a read, `execute`, the commit), and the transaction then
//! rolls back: nothing of a failed bulk write is committed. Statements are prepared once and
//! cached, and bound as sqlx binds them on SQLite, so the SQL is the SQL of every other write.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::sql::Val;

/// What the writer thread is asked to do.
enum Msg {
    /// Run a statement and answer with the rows it changed (or the kept failure).
    Execute {
        sql: String,
        args: Vec<Val>,
        reply: oneshot::Sender<Result<u64, Failure>>,
    },
    /// Run a statement without answering; a failure is kept for the next answer.
    Queued { sql: String, args: Vec<Val> },
    /// Run a statement and answer with at most `limit` rows.
    Fetch {
        sql: String,
        args: Vec<Val>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<DirectRow>, Failure>>,
    },
    /// Roll back what is open, close the connection and end the thread.
    Stop { reply: oneshot::Sender<()> },
    /// Begin, commit, roll back, or work with a savepoint.
    Control {
        control: Control,
        reply: Option<oneshot::Sender<Result<(), Failure>>>,
    },
}

#[derive(Clone, Copy, Debug)]
enum Control {
    Begin,
    Commit { depth: usize },
    Rollback { depth: usize },
    Savepoint { depth: usize },
}

impl Control {
    fn sql(self) -> String {
        match self {
            Control::Begin => "BEGIN IMMEDIATE".to_owned(),
            Control::Commit { depth: 0 } => "COMMIT".to_owned(),
            Control::Rollback { depth: 0 } => "ROLLBACK".to_owned(),
            Control::Commit { depth } => format!("RELEASE s{depth}"),
            Control::Rollback { depth } => format!("ROLLBACK TO s{depth}; RELEASE s{depth}"),
            Control::Savepoint { depth } => format!("SAVEPOINT s{depth}"),
        }
    }
}

/// A failure on the writer thread, kept until it is answered.
#[derive(Clone, Debug)]
struct Failure {
    message: String,
    extended: i32,
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Failure {
        match e {
            rusqlite::Error::SqliteFailure(f, message) => Failure {
                message: message.unwrap_or_else(|| f.to_string()),
                extended: f.extended_code,
            },
            other => Failure {
                message: other.to_string(),
                extended: 0,
            },
        }
    }
}

impl From<Failure> for sqlx::Error {
    fn from(f: Failure) -> sqlx::Error {
        sqlx::Error::Database(Box::new(DirectError {
            message: f.message,
            extended: f.extended,
        }))
    }
}

fn stopped() -> sqlx::Error {
    sqlx::Error::WorkerCrashed
}

/// A failure of the direct connection, as an sqlx database error (so that callers classify it,
/// e.g. a unique violation or a busy database, the same way whichever way the statement ran).
#[derive(Debug)]
pub(crate) struct DirectError {
    message: String,
    extended: i32,
}

impl std::fmt::Display for DirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DirectError {}

impl sqlx::error::DatabaseError for DirectError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.extended.to_string().into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        match self.extended {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                sqlx::error::ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => sqlx::error::ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => sqlx::error::ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

/// The way to the writer thread; the thread ends when the last one is dropped.
#[derive(Clone)]
pub(crate) struct Direct {
    tx: mpsc::Sender<Msg>,
}

impl Direct {
    async fn send(&self, msg: Msg) -> Result<(), sqlx::Error> {
        self.tx.send(msg).await.map_err(|_| stopped())
    }

    pub(crate) async fn execute(&self, sql: &str, args: Vec<Val>) -> Result<u64, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Execute {
            sql: sql.to_owned(),
            args,
            reply,
        })
        .await?;
        Ok(answer.await.map_err(|_| stopped())??)
    }

    pub(crate) async fn queue(&self, sql: &str, args: Vec<Val>) -> Result<(), sqlx::Error> {
        self.send(Msg::Queued {
            sql: sql.to_owned(),
            args,
        })
        .await
    }

    pub(crate) async fn fetch(
        &self,
        sql: &str,
        args: Vec<Val>,
        limit: usize,
    ) -> Result<Vec<DirectRow>, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Fetch {
            sql: sql.to_owned(),
            args,
            limit,
            reply,
        })
        .await?;
        Ok(answer.await.map_err(|_| stopped())??)
    }

    async fn control(&self, control: Control) -> Result<(), sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Control {
            control,
            reply: Some(reply),
        })
        .await?;
        Ok(answer.await.map_err(|_| stopped())??)
    }
}

/// A transaction (depth 0) or a savepoint on the writer thread's connection. Dropped
/// unfinished it asks for its rollback, as sqlx's transactions do; the writer also rolls back
/// whatever is left open before it begins the next transaction.
pub(crate) struct DirectTx {
    pub(crate) conn: Direct,
    depth: usize,
    finished: bool,
}

impl DirectTx {
    /// `BEGIN IMMEDIATE`: the write lock at once, as the pool's write transactions take it.
    /// Sent without waiting (the writer may still be writing the transaction before): when it
    /// fails, the failure is answered to the first statement that waits.
    pub(crate) async fn begin(conn: Direct) -> Result<DirectTx, sqlx::Error> {
        conn.send(Msg::Control {
            control: Control::Begin,
            reply: None,
        })
        .await?;
        Ok(DirectTx {
            conn,
            depth: 0,
            finished: false,
        })
    }

    pub(crate) async fn savepoint(&mut self) -> Result<DirectTx, sqlx::Error> {
        let depth = self.depth + 1;
        self.conn.control(Control::Savepoint { depth }).await?;
        Ok(DirectTx {
            conn: self.conn.clone(),
            depth,
            finished: false,
        })
    }

    /// Sends the commit and returns without waiting for it: the writer runs what was sent
    /// before it, then commits (or, when any of it failed, rolls back).
    pub(crate) async fn commit_sent(mut self) -> Result<CommitSent, sqlx::Error> {
        self.finished = true;
        let (reply, answer) = oneshot::channel();
        self.conn
            .send(Msg::Control {
                control: Control::Commit { depth: self.depth },
                reply: Some(reply),
            })
            .await?;
        Ok(CommitSent { answer })
    }

    pub(crate) async fn finish(mut self, commit: bool) -> Result<(), sqlx::Error> {
        self.finished = true;
        let depth = self.depth;
        self.conn
            .control(if commit {
                Control::Commit { depth }
            } else {
                Control::Rollback { depth }
            })
            .await
    }
}

impl Drop for DirectTx {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: when the queue is full the writer rolls back at its next begin.
            let _ = self.conn.tx.try_send(Msg::Control {
                control: Control::Rollback { depth: self.depth },
                reply: None,
            });
        }
    }
}

/// A commit sent to the writer, not yet known to be done.
pub(crate) struct CommitSent {
    answer: oneshot::Receiver<Result<(), Failure>>,
}

impl CommitSent {
    pub(crate) async fn done(self) -> Result<(), sqlx::Error> {
        Ok(self.answer.await.map_err(|_| stopped())??)
    }
}

/// A row read on the direct connection: its column names and values.
pub(crate) struct DirectRow {
    pub(crate) names: Arc<[String]>,
    pub(crate) values: Vec<rusqlite::types::Value>,
}

/// A column type read from a value of the direct connection (`None` when the value is not of
/// that type).
pub(crate) trait FromDirect: Sized {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self>;
}

impl FromDirect for String {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        match v {
            rusqlite::types::Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromDirect for i64 {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        match v {
            rusqlite::types::Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromDirect for i32 {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        i64::from_direct(v).and_then(|i| i32::try_from(i).ok())
    }
}
impl FromDirect for bool {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        i64::from_direct(v).map(|i| i != 0)
    }
}
impl FromDirect for Vec<u8> {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        match v {
            rusqlite::types::Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}
impl<T: FromDirect> FromDirect for Option<T> {
    fn from_direct(v: &rusqlite::types::Value) -> Option<Self> {
        match v {
            rusqlite::types::Value::Null => Some(None),
            v => T::from_direct(v).map(Some),
        }
    }
}

/// A column's position among the direct row's columns.
pub(crate) trait DirectIdx: std::fmt::Debug {
    fn position(&self, names: &[String]) -> Option<usize>;
}
impl DirectIdx for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}
impl DirectIdx for usize {
    fn position(&self, names: &[String]) -> Option<usize> {
        (*self < names.len()).then_some(*self)
    }
}

/// The bulk writer's page cache, in KiB: a bulk transaction touches many pages, and a cache
/// that spills writes them to the log more than once.
const CACHE_KIB: u64 = 256 * 1024;
/// Statements sent and not yet run, at most.
const QUEUE: usize = 64;

/// Where the bulk writer is kept between bulk writes: started at the first, on the file the
/// pools open and with their pragmas. `turn` is held for a whole bulk transaction, so bulk
/// writes of several callers take turns.
pub(crate) struct DirectSlot {
    path: std::path::PathBuf,
    mmap_bytes: u64,
    writer: std::sync::Mutex<Option<Direct>>,
    pub(crate) turn: tokio::sync::Mutex<()>,
    /// Held while a checkpoint runs beside the bulk writer (at most one runs).
    pub(crate) checkpointing: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for DirectSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSlot")
            .field("path", &self.path)
            .finish()
    }
}

impl DirectSlot {
    pub(crate) fn new(path: std::path::PathBuf, mmap_bytes: u64) -> DirectSlot {
        DirectSlot {
            path,
            mmap_bytes,
            writer: std::sync::Mutex::new(None),
            turn: Default::default(),
            checkpointing: Default::default(),
        }
    }

    /// Stops the writer: it runs what it was sent, then closes its connection; waits for that.
    pub(crate) async fn close(&self) {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(Direct { tx }) = writer {
            let (reply, answer) = oneshot::channel();
            if tx.send(Msg::Stop { reply }).await.is_ok() {
                let _ = answer.await;
            }
        }
    }

    /// The writer, started when there is none (or the last one stopped).
    pub(crate) fn writer(&self) -> Result<Direct, sqlx::Error> {
        let mut slot = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(direct) = slot.as_ref().filter(|d| !d.tx.is_closed()) {
            return Ok(direct.clone());
        }
        let conn = self
            .open()
            .map_err(|e| sqlx::Error::from(Failure::from(e)))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let log = log_path(&self.path);
        std::thread::Builder::new()
            .name("tsunagu-bulk-writer".into())
            .spawn(move || run(conn, rx, log))
            .map_err(sqlx::Error::Io)?;
        let direct = Direct { tx };
        *slot = Some(direct.clone());
        Ok(direct)
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // The log is copied into the database by a checkpoint on another connection while
        // the next bulk transaction is written (`Db::append_all`), not by this one after
        // each commit.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA mmap_size = {}; \
             PRAGMA wal_autocheckpoint = 0",
            self.mmap_bytes
        ))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

fn log_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut log = db.to_path_buf().into_os_string();
    log.push("-wal");
    log.into()
}

/// Past this size the writer copies the rest of the log into the database itself after a
/// commit. A checkpoint beside the writer (`Db::append_all`) copies most of it meanwhile, but
/// a log copied while the writer adds to it is never wholly copied, and only a wholly copied
/// log starts again from its beginning at the next transaction.
const LOG_RESTART_BYTES: u64 = 1 << 30;

/// The writer thread: runs what it is sent, in order, until every sender is gone.
fn run(conn: rusqlite::Connection, mut rx: mpsc::Receiver<Msg>, log: std::path::PathBuf) {
    // The first failure since the transaction began, answered to whoever waits next.
    let mut failed: Option<Failure> = None;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Stop { reply } => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                drop(conn);
                let _ = reply.send(());
                return;
            }
            Msg::Queued { sql, args } => {
                if failed.is_none()
                    && let Err(e) = execute(&conn, &sql, &args)
                {
                    failed = Some(e.into());
                }
            }
            Msg::Execute { sql, args, reply } => {
                // Its own failure is answered to it (the caller may go on, as on the pools'
                // connections); a kept one is answered again.
                let answer = match &failed {
                    Some(f) => Err(f.clone()),
                    None => execute(&conn, &sql, &args).map_err(Failure::from),
                };
                let _ = reply.send(answer);
            }
            Msg::Fetch {
                sql,
                args,
                limit,
                reply,
            } => {
                let answer = match &failed {
                    Some(f) => Err(f.clone()),
                    None => fetch(&conn, &sql, &args, limit).map_err(Failure::from),
                };
                let _ = reply.send(answer);
            }
            Msg::Control { control, reply } => {
                let answer = match control {
                    Control::Begin => {
                        if !conn.is_autocommit() {
                            let _ = conn.execute_batch("ROLLBACK");
                        }
                        let begun = conn.execute_batch(&control.sql()).map_err(Failure::from);
                        // Nothing runs outside the transaction: a failed begin fails what
                        // follows until the commit answers it.
                        failed = begun.as_ref().err().cloned();
                        begun
                    }
                    Control::Commit { depth } => match failed.take() {
                        // Nothing of a failed transaction is committed.
                        Some(f) => {
                            let _ = conn.execute_batch(&Control::Rollback { depth }.sql());
                            Err(f)
                        }
                        None => {
                            let done = conn.execute_batch(&control.sql()).map_err(Failure::from);
                            if depth == 0
                                && done.is_ok()
                                && std::fs::metadata(&log)
                                    .is_ok_and(|m| m.len() > LOG_RESTART_BYTES)
                            {
                                // Committed already; a checkpoint that fails is left to the
                                // next (the log keeps every committed transaction).
                                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                                {
                                    tracing::warn!(error = %e, "checkpoint of the bulk writer failed");
                                }
                            }
                            done
                        }
                    },
                    Control::Rollback { depth } => {
                        if depth == 0 {
                            failed = None;
                        }
                        if conn.is_autocommit() {
                            Ok(())
                        } else {
                            conn.execute_batch(&control.sql()).map_err(Failure::from)
                        }
                    }
                    Control::Savepoint { .. } => match &failed {
                        Some(f) => Err(f.clone()),
                        None => conn.execute_batch(&control.sql()).map_err(Failure::from),
                    },
                };
                if let Some(reply) = reply {
                    let _ = reply.send(answer);
                }
            }
        }
    }
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Prepares (from the connection's cache) and binds as sqlx does on SQLite: a parameter named
/// `$n` or `?n` takes the n-th value, any other the value at its position.
fn statement<'c>(
    c: &'c rusqlite::Connection,
    sql: &str,
    args: &[Val],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut st = c.prepare_cached(sql)?;
    for i in 1..=st.parameter_count() {
        let n = st
            .parameter_name(i)
            .and_then(|name| name.get(1..))
            .and_then(|digits| digits.parse::<usize>().ok())
            .unwrap_or(i);
        let Some(v) = n.checked_sub(1).and_then(|k| args.get(k)) else {
            return Err(rusqlite::Error::InvalidParameterCount(n, args.len()));
        };
        match v {
            Val::Text(v) => st.raw_bind_parameter(i, v.as_deref())?,
            Val::Int(v) => st.raw_bind_parameter(i, v)?,
            Val::OptInt(v) => st.raw_bind_parameter(i, v)?,
            Val::Bool(v) => st.raw_bind_parameter(i, i64::from(*v))?,
            Val::Bytes(v) => st.raw_bind_parameter(i, &v[..])?,
        }
    }
    Ok(st)
}

fn execute(c: &rusqlite::Connection, sql: &str, args: &[Val]) -> rusqlite::Result<u64> {
    let mut st = statement(c, sql, args)?;
    // A statement that returns rows (`… RETURNING`) is stepped to its end as well.
    let mut rows = st.raw_query();
    while rows.next()?.is_some() {}
    drop(rows);
    Ok(c.changes())
}

fn fetch(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[Val],
    limit: usize,
) -> rusqlite::Result<Vec<DirectRow>> {
    let mut st = statement(c, sql, args)?;
    let names: Arc<[String]> = st.column_names().into_iter().map(str::to_owned).collect();
    let width = names.len();
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next()? else { break };
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(row.get::<_, rusqlite::types::Value>(i)?);
        }
        out.push(DirectRow {
            names: names.clone(),
            values,
        });
    }
    Ok(out)
}
