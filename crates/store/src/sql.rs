//! The one place that knows there are two drivers. Every statement of the store is written once
//! against this module's [`Query`], [`Exec`] and [`Row`] and runs on SQLite or PostgreSQL as the
//! pool is: both schemas use the same table and column names and portable types (text ids and
//! dates, bigint versions), so the SQL is identical. A statement's values are kept as [`Val`]s
//! and bound to the driver's own query when it runs (one `match` per statement).
//!
//! A third way to run the same statements is `Direct` (`crate::direct`): SQLite's bulk writer, a
//! connection and thread of our own on which statements run in the order they are sent, and
//! writes sent with [`Query::execute_queued`] do not wait for their answer. Bulk loading uses it
//! (`Store::append_all` on SQLite), so the generator's and an import's SQL is still the SQL
//! every other write runs.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Acquire, Postgres, Row as _, SqlSafeStr, SqlStr, Sqlite};

use crate::direct::{Direct, DirectIdx, DirectRow, DirectTx, FromDirect};

/// A pool of either driver.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(crate) fn ex(&self) -> Exec<'_> {
        match self {
            Pool::Sqlite(p) => Exec::SqlitePool(p),
            Pool::Postgres(p) => Exec::PgPool(p),
        }
    }

    /// Whether multi-row statements take anonymous `?` parameters (see [`Tx::anonymous`]).
    pub(crate) fn anonymous(&self) -> bool {
        matches!(self, Pool::Sqlite(_))
    }

    /// A write transaction opened with `sql` (`BEGIN IMMEDIATE` on SQLite).
    pub(crate) async fn begin_with(&self, sql: &'static str) -> Result<Tx<'static>, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with(sql).await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin_with(sql).await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A transaction, or a savepoint inside one.
pub(crate) enum Tx<'a> {
    Sqlite(sqlx::Transaction<'a, Sqlite>),
    Postgres(sqlx::Transaction<'a, Postgres>),
    Direct(DirectTx),
}

impl Tx<'_> {
    pub(crate) fn ex(&mut self) -> Exec<'_> {
        match self {
            Tx::Sqlite(t) => Exec::Sqlite(t),
            Tx::Postgres(t) => Exec::Pg(t),
            Tx::Direct(t) => Exec::Direct(&t.conn),
        }
    }

    /// Whether multi-row statements take anonymous `?` parameters: SQLite finds a numbered
    /// parameter by a linear search of its names, once per bound value.
    pub(crate) fn anonymous(&self) -> bool {
        matches!(self, Tx::Sqlite(_) | Tx::Direct(_))
    }

    /// A savepoint: what is written under it is undone alone by its rollback.
    pub(crate) async fn savepoint(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(t) => Tx::Sqlite(t.begin().await?),
            Tx::Postgres(t) => Tx::Postgres(t.begin().await?),
            Tx::Direct(t) => Tx::Direct(t.savepoint().await?),
        })
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
            Tx::Direct(t) => t.finish(true).await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
            Tx::Direct(t) => t.finish(false).await,
        }
    }
}

/// Where a statement runs: a pool (any connection) or one connection (inside a transaction).
pub(crate) enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
    Direct(&'a Direct),
}

/// One bound value.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Text(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Val {
    pub(crate) fn text(s: impl Into<String>) -> Val {
        Val::Text(Some(s.into()))
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(Some(v.clone()))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::Text(v)
    }
}
impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Val {
        Val::Text(v.clone())
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Val {
        Val::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::OptInt(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Bool(v)
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Val {
        Val::Bytes(v.to_vec())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Val {
        Val::Bytes(v)
    }
}

/// A statement and its values, bound when it runs.
pub(crate) struct Query {
    sql: SqlStr,
    args: Vec<Val>,
}

/// A statement (a literal, or dynamic SQL wrapped in `sqlx::AssertSqlSafe` after checking that
/// only parameters carry values).
pub(crate) fn query(sql: impl SqlSafeStr) -> Query {
    Query {
        sql: sql.into_sql_str(),
        args: Vec::new(),
    }
}

/// What an executed statement did.
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// Binds the values to the driver's own query (`$q`), in order.
macro_rules! bound {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query($sql);
        for v in $args {
            q = match v {
                Val::Text(v) => q.bind(v),
                Val::Int(v) => q.bind(v),
                Val::OptInt(v) => q.bind(v),
                Val::Bool(v) => q.bind(v),
                Val::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Query {
    pub(crate) fn bind(mut self, v: impl Into<Val>) -> Query {
        self.args.push(v.into());
        self
    }

    pub(crate) async fn execute(self, ex: Exec<'_>) -> Result<Done, sqlx::Error> {
        let Query { sql, args } = self;
        Ok(Done(match ex {
            Exec::Direct(c) => c.execute(sql.as_str(), args).await?,
            Exec::SqlitePool(p) => bound!(sql, args).execute(p).await?.rows_affected(),
            Exec::Sqlite(c) => bound!(sql, args).execute(c).await?.rows_affected(),
            Exec::PgPool(p) => bound!(sql, args).execute(p).await?.rows_affected(),
            Exec::Pg(c) => bound!(sql, args).execute(c).await?.rows_affected(),
        }))
    }

    /// Runs the statement, or on the bulk writer sends it to run while the caller goes on: its
    /// failure is then answered to the next statement that waits, and the transaction rolls
    /// back. For writes whose outcome the caller does not look at.
    pub(crate) async fn execute_queued(self, ex: Exec<'_>) -> Result<(), sqlx::Error> {
        match ex {
            Exec::Direct(c) => c.queue(self.sql.as_str(), self.args).await,
            ex => self.execute(ex).await.map(|_| ()),
        }
    }

    pub(crate) async fn fetch_all(self, ex: Exec<'_>) -> Result<Vec<Row>, sqlx::Error> {
        let Query { sql, args } = self;
        Ok(match ex {
            Exec::Direct(c) => c
                .fetch(sql.as_str(), args, usize::MAX)
                .await?
                .into_iter()
                .map(Row::Direct)
                .collect(),
            Exec::SqlitePool(p) => rows(bound!(sql, args).fetch_all(p).await?, Row::Sqlite),
            Exec::Sqlite(c) => rows(bound!(sql, args).fetch_all(c).await?, Row::Sqlite),
            Exec::PgPool(p) => rows(bound!(sql, args).fetch_all(p).await?, Row::Pg),
            Exec::Pg(c) => rows(bound!(sql, args).fetch_all(c).await?, Row::Pg),
        })
    }

    pub(crate) async fn fetch_optional(self, ex: Exec<'_>) -> Result<Option<Row>, sqlx::Error> {
        let Query { sql, args } = self;
        Ok(match ex {
            Exec::Direct(c) => c.fetch(sql.as_str(), args, 1).await?.pop().map(Row::Direct),
            Exec::SqlitePool(p) => bound!(sql, args).fetch_optional(p).await?.map(Row::Sqlite),
            Exec::Sqlite(c) => bound!(sql, args).fetch_optional(c).await?.map(Row::Sqlite),
            Exec::PgPool(p) => bound!(sql, args).fetch_optional(p).await?.map(Row::Pg),
            Exec::Pg(c) => bound!(sql, args).fetch_optional(c).await?.map(Row::Pg),
        })
    }

    pub(crate) async fn fetch_one(self, ex: Exec<'_>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(ex)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

fn rows<R>(v: Vec<R>, wrap: fn(R) -> Row) -> Vec<Row> {
    v.into_iter().map(wrap).collect()
}

/// A row of either driver (or of the direct connection).
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
    Direct(DirectRow),
}

/// A column type both drivers (and the direct connection) decode.
pub(crate) trait Col:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + FromDirect
{
}
impl<T> Col for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + FromDirect
{
}

/// A column index (a name or a position) both drivers (and the direct connection) take.
pub(crate) trait Idx:
    sqlx::ColumnIndex<SqliteRow> + sqlx::ColumnIndex<PgRow> + DirectIdx
{
}
impl<I> Idx for I where I: sqlx::ColumnIndex<SqliteRow> + sqlx::ColumnIndex<PgRow> + DirectIdx {}

impl Row {
    pub(crate) fn try_get<T: Col, I: Idx>(&self, index: I) -> Result<T, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(index),
            Row::Pg(r) => r.try_get(index),
            Row::Direct(r) => {
                let i = index
                    .position(&r.names)
                    .ok_or_else(|| sqlx::Error::ColumnNotFound(format!("{index:?}")))?;
                T::from_direct(&r.values[i]).ok_or_else(|| sqlx::Error::ColumnDecode {
                    index: format!("{index:?}"),
                    source: format!("unexpected {:?}", r.values[i].data_type()).into(),
                })
            }
        }
    }
}
