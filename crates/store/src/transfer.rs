//! Moving a whole deployment: every table of Tsunagu's own, read in one consistent snapshot of
//! the source and written into an empty, migrated target, on either backend. Backups, restores
//! and `tsunagu copy` all go through `Store::copy_into`; the result is proven by `verify`,
//! `audit_verify`, the row counts of the snapshot and the streams' head hashes (each the end of
//! the stream's hash chain, so equal heads mean equal timelines).

use tokio::sync::mpsc;

use crate::{Pool, Store, StoreError};

/// Every table, parents before children (foreign keys), the audit head last.
pub const TABLES: &[&str] = &[
    "tenants",
    "organisations",
    "users",
    "sessions",
    "api_tokens",
    "streams",
    "events",
    "idempotency_keys",
    "persons",
    "person_access",
    "person_grams",
    "cases",
    "case_numbers",
    "caseload_counts",
    "case_team",
    "case_due",
    "case_milestones",
    "case_process",
    "case_access",
    "meetings",
    "meeting_members",
    "attachment_files",
    "audit_log",
    "audit_anchor",
    "audit_head",
];

/// How a column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    I32,
    I64,
    Bool,
    Blob,
}

/// One value in transit.
#[derive(Clone, Debug)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Blob(Option<Vec<u8>>),
}

impl Cell {
    fn size(&self) -> usize {
        match self {
            Cell::Text(t) => t.as_ref().map_or(0, String::len),
            Cell::Blob(b) => b.as_ref().map_or(0, Vec::len),
            _ => 8,
        }
    }
}

/// Rows of one table, in the source's column order.
pub struct Chunk {
    pub table: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// What a transfer moved.
#[derive(Debug, Default)]
pub struct Moved {
    /// Rows per table, as read from the snapshot.
    pub counts: Vec<(&'static str, u64)>,
}

const CHUNK_ROWS: usize = 500;
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Backup, restore and copy read and write raw columns with each driver's own types (and take
/// a snapshot each its own way), so this concern alone is compiled once per driver.
macro_rules! transfer {
    ($module:ident, $Db:ty, $snapshot:literal, $columns:literal, $int4:literal) => {
        mod $module {
        use super::*;
        /// One database's pools as this driver's own types.
        pub(crate) struct Db {
            pub read: sqlx::Pool<$Db>,
            pub write: sqlx::Pool<$Db>,
        }
        impl Db {
            pub(crate) async fn columns(&self, table: &str) -> Result<Vec<(String, Kind)>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query($columns).bind(table).fetch_all(&self.read).await?;
                rows.iter()
                    // An event's position is the target's own (PostgreSQL takes it from a
                    // sequence as rows arrive; SQLite's is the rowid): copying it would leave
                    // the sequence behind the positions copied.
                    .filter(|r| !(table == "events" && r.try_get::<String, _>("name").is_ok_and(|n| n == "position")))
                    .map(|r| {
                        let name: String = r.try_get("name")?;
                        let kind: String = r.try_get::<String, _>("kind")?.to_lowercase();
                        let kind = if !$int4.is_empty() && kind == $int4 {
                            Kind::I32
                        } else if kind.contains("int") {
                            Kind::I64
                        } else if kind.starts_with("bool") {
                            Kind::Bool
                        } else if kind == "blob" || kind == "bytea" {
                            Kind::Blob
                        } else {
                            Kind::Text
                        };
                        Ok((name, kind))
                    })
                    .collect()
            }

            /// Reads every table in one snapshot and sends it in chunks.
            pub(crate) async fn export(&self, out: mpsc::Sender<Chunk>) -> Result<Vec<(&'static str, u64)>, StoreError> {
                use futures_util::TryStreamExt;
                use sqlx::Row;
                let mut layouts = Vec::new();
                for table in TABLES {
                    layouts.push((*table, self.columns(table).await?));
                }
                let mut tx = self.read.begin_with($snapshot).await?;
                let mut counts = Vec::new();
                for (table, cols) in layouts {
                    let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
                    let sql = format!("SELECT {} FROM {table}", names.join(", "));
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                    let (mut chunk, mut bytes, mut count) = (Vec::new(), 0usize, 0u64);
                    while let Some(r) = rows.try_next().await? {
                        let mut row = Vec::with_capacity(cols.len());
                        for (i, (_, kind)) in cols.iter().enumerate() {
                            row.push(match kind {
                                Kind::Text => Cell::Text(r.try_get(i)?),
                                Kind::I32 => Cell::Int(r.try_get::<Option<i32>, _>(i)?.map(i64::from)),
                                Kind::I64 => Cell::Int(r.try_get(i)?),
                                Kind::Bool => Cell::Bool(r.try_get(i)?),
                                Kind::Blob => Cell::Blob(r.try_get(i)?),
                            });
                        }
                        bytes += row.iter().map(Cell::size).sum::<usize>();
                        chunk.push(row);
                        count += 1;
                        if chunk.len() >= CHUNK_ROWS || bytes >= CHUNK_BYTES {
                            let rows = std::mem::take(&mut chunk);
                            bytes = 0;
                            if out.send(Chunk { table, columns: names.clone(), rows }).await.is_err() {
                                return Err(StoreError::Config("the transfer's target stopped".into()));
                            }
                        }
                    }
                    drop(rows);
                    if !chunk.is_empty()
                        && out.send(Chunk { table, columns: names.clone(), rows: chunk }).await.is_err()
                    {
                        return Err(StoreError::Config("the transfer's target stopped".into()));
                    }
                    counts.push((table, count));
                }
                tx.commit().await?;
                Ok(counts)
            }

            /// Writes one chunk in one transaction, binding each value as the target stores it.
            pub(crate) async fn insert_rows(&self, chunk: &Chunk, kinds: &[(String, Kind)]) -> Result<(), StoreError> {
                let kind_of = |name: &str| kinds.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
                let targets: Vec<Kind> = chunk
                    .columns
                    .iter()
                    .map(|c| kind_of(c).ok_or_else(|| StoreError::Config(format!("the target has no column {}.{c}", chunk.table))))
                    .collect::<Result<_, _>>()?;
                let mut tx = self.write.begin().await?;
                if chunk.table == "audit_head" {
                    // Migrations seed the head; the source's replaces it.
                    sqlx::query("DELETE FROM audit_head").execute(&mut *tx).await?;
                }
                let per_row = chunk.columns.len();
                let mut sql = format!("INSERT INTO {} ({}) VALUES ", chunk.table, chunk.columns.join(", "));
                for i in 0..chunk.rows.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    let marks: Vec<String> = (1..=per_row).map(|j| format!("${}", i * per_row + j)).collect();
                    sql.push('(');
                    sql.push_str(&marks.join(", "));
                    sql.push(')');
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in &chunk.rows {
                    for (cell, kind) in row.iter().zip(&targets) {
                        q = match (cell, kind) {
                            (Cell::Int(v), Kind::I32) => q.bind(v.map(|v| i32::try_from(v).unwrap_or(i32::MAX))),
                            (Cell::Int(v), Kind::Bool) => q.bind(v.map(|v| v != 0)),
                            (Cell::Int(v), _) => q.bind(*v),
                            (Cell::Bool(v), Kind::I32 | Kind::I64) => q.bind(v.map(i64::from)),
                            (Cell::Bool(v), _) => q.bind(*v),
                            (Cell::Text(v), _) => q.bind(v.clone()),
                            (Cell::Blob(v), _) => q.bind(v.clone()),
                        };
                    }
                }
                q.execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Whether the database holds no tenant, stream or audit entry.
            pub(crate) async fn is_empty(&self) -> Result<bool, StoreError> {
                use sqlx::Row;
                let n: i64 = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM streams) + (SELECT COUNT(*) FROM audit_log) AS n",
                )
                .fetch_one(&self.read)
                .await?
                .try_get("n")?;
                Ok(n == 0)
            }

            /// Every stream with its version and head hash, in id order.
            pub(crate) async fn heads(&self) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT stream_id, version, head_hash FROM streams ORDER BY stream_id")
                    .fetch_all(&self.read)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("stream_id")?, r.try_get("version")?, r.try_get("head_hash")?)))
                    .collect()
            }

            pub(crate) async fn count(&self, table: &str) -> Result<u64, StoreError> {
                use sqlx::Row;
                let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
                    .fetch_one(&self.read)
                    .await?
                    .try_get("n")?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
        }
    };
}

/// A store's pools as the driver's own types.
enum Driver {
    Sqlite(sqlite::Db),
    Postgres(pg::Db),
}

impl Store {
    fn driver(&self) -> Driver {
        match (&self.db.write, &self.db.read) {
            (Pool::Sqlite(write), read) => Driver::Sqlite(sqlite::Db {
                read: match read {
                    Pool::Sqlite(read) => read.clone(),
                    Pool::Postgres(_) => write.clone(),
                },
                write: write.clone(),
            }),
            (Pool::Postgres(pool), _) => Driver::Postgres(pg::Db {
                read: pool.clone(),
                write: pool.clone(),
            }),
        }
    }
}

/// Runs `$body` with `$db` the store's pools as its driver's own types.
macro_rules! on_driver {
    ($store:expr, $db:ident => $body:expr) => {
        match $store.driver() {
            Driver::Sqlite($db) => $body,
            Driver::Postgres($db) => $body,
        }
    };
}

transfer!(
    sqlite,
    sqlx::Sqlite,
    "BEGIN",
    "SELECT name, type AS kind FROM pragma_table_info($1) ORDER BY cid",
    ""
);
transfer!(
    pg,
    sqlx::Postgres,
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
     WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position",
    "integer"
);

impl Store {
    /// Whether the database holds no tenant, stream or audit entry (a restore or copy target).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        on_driver!(self, db => db.is_empty().await)
    }

    /// Every stream's id, version and head hash: equal lists mean equal timelines.
    pub async fn stream_heads(&self) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        on_driver!(self, db => db.heads().await)
    }

    /// Rows per table now.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut out = Vec::new();
        for table in TABLES {
            out.push((*table, on_driver!(self, db => db.count(table).await)?));
        }
        Ok(out)
    }

    /// Copies every table from one consistent snapshot of this database into `target`, which
    /// must be migrated and empty. `progress` is told each chunk's table and row count.
    pub async fn copy_into(
        &self,
        target: &Store,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<Moved, StoreError> {
        if !target.is_empty().await? {
            return Err(StoreError::Config(
                "the target database is not empty".into(),
            ));
        }
        let mut kinds = Vec::new();
        for table in TABLES {
            kinds.push((*table, on_driver!(target, db => db.columns(table).await)?));
        }
        let (tx, mut rx) = mpsc::channel::<Chunk>(4);
        let export = async { on_driver!(self, db => db.export(tx).await) };
        let import = async {
            while let Some(chunk) = rx.recv().await {
                let layout = kinds
                    .iter()
                    .find(|(t, _)| *t == chunk.table)
                    .map(|(_, k)| k.as_slice())
                    .unwrap_or_default();
                on_driver!(target, db => db.insert_rows(&chunk, layout).await)?;
                progress(chunk.table, chunk.rows.len() as u64);
            }
            Ok::<(), StoreError>(())
        };
        let (exported, imported) = tokio::join!(export, import);
        imported?;
        Ok(Moved { counts: exported? })
    }

    /// An online, consistent copy of a SQLite database into a new file (`VACUUM INTO`).
    pub async fn sqlite_snapshot(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let Some((read, _)) = self.sqlite_pools() else {
            return Err(StoreError::Config("not a SQLite database".into()));
        };
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Config("the backup path is not valid text".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(read)
            .await?;
        Ok(())
    }
}
