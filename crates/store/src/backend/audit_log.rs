//! The audit trail's SQL: writing entries to the chain, checking it, purging and querying.

use super::*;

pub(super) const AUDIT_COLUMNS: &str = "seq, at, tenant_id, user_id, org_id, session_id, address, action, object_type, object_id, subjects, basis, detail, prev_hash, hash, events";

impl Db {
    /// Records entries on their own (reads, refusals, failed logins), sharing the
    /// commit with whatever else is being written at the moment.
    pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.queue
            .submit(crate::group::Job::Audit(entries.to_vec()))
            .await
            .map(|_| ())
    }

    /// Checks the whole chain; returns the number of entries or the first break.
    pub async fn audit_verify(&self) -> Result<Result<u64, String>, StoreError> {
        let head = query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(self.read.ex())
            .await?;
        let Some(head) = head else {
            return Ok(Err("the audit head is missing".into()));
        };
        let head = (
            to_u64(head.try_get("seq")?),
            head.try_get::<String, _>("hash")?,
        );
        let anchor = query("SELECT seq, hash FROM audit_anchor WHERE id = 1")
            .fetch_optional(self.read.ex())
            .await?
            .map(|r| {
                Ok::<_, StoreError>((to_u64(r.try_get("seq")?), r.try_get::<String, _>("hash")?))
            })
            .transpose()?;
        // A purge is recorded in the chain; an anchor without that record means
        // entries were removed outside `audit purge`.
        if let Some((seq, _)) = &anchor {
            let recorded = query(
                "SELECT 1 AS one FROM audit_log WHERE action = 'audit.purged' AND detail LIKE $1 LIMIT 1",
            )
            .bind(format!("through={seq} %"))
            .fetch_optional(self.read.ex())
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
            let rows = query(sqlx::AssertSqlSafe(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {VERIFY_PAGE}"
            )))
            .bind(after)
            .fetch_all(self.read.ex())
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
    pub async fn audit_purge(
        &self,
        before: Timestamp,
        entry: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let last: Option<i64> = query("SELECT MAX(seq) AS seq FROM audit_log WHERE at < $1")
            .bind(crate::audit::timestamp_text(before))
            .fetch_one(tx.ex())
            .await?
            .try_get("seq")?;
        let Some(last) = last else {
            return Ok(0);
        };
        let hash: String = query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(last)
            .fetch_one(tx.ex())
            .await?
            .try_get("hash")?;
        query(
            "INSERT INTO audit_anchor (id, seq, hash, purged_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at",
        )
        .bind(last)
        .bind(&hash)
        .bind(crate::audit::timestamp_text(Timestamp::now()))
        .execute(tx.ex())
        .await?;
        let purged = query("DELETE FROM audit_log WHERE seq <= $1")
            .bind(last)
            .execute(tx.ex())
            .await?
            .rows_affected();
        let entry = entry
            .clone()
            .detail(format!("through={last} removed={purged}"));
        write_audit(&mut tx, &[entry]).await?;
        tx.commit().await?;
        Ok(purged)
    }

    pub async fn audit_query(&self, q: &AuditQuery) -> Result<Vec<ChainedRow>, StoreError> {
        let rows = query(sqlx::AssertSqlSafe(format!(
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
        .fetch_all(self.read.ex())
        .await?;
        rows.iter().map(chained_row).collect()
    }
}

/// Appends entries to the audit chain inside the caller's transaction. The first
/// statement moves the head and locks it until commit, so chains never fork.
pub(super) async fn write_audit(tx: &mut Tx<'_>, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let place = reserve_audit(tx, entries.len()).await?;
    write_audit_at(tx, place, entries).await
}

/// Where reserved audit entries go in the chain: the sequence number before the first, and
/// the hash they chain from.
pub(super) struct AuditPlace {
    before: i64,
    prev: String,
}

/// Reserves the next `n` sequence numbers of the chain (the head row is locked until the
/// transaction ends, so entries are chained in commit order).
pub(super) async fn reserve_audit(tx: &mut Tx<'_>, n: usize) -> Result<AuditPlace, StoreError> {
    if n == 0 {
        return Ok(AuditPlace {
            before: 0,
            prev: String::new(),
        });
    }
    let n = n as i64;
    let head = query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(tx.ex())
        .await?;
    let last: i64 = head.try_get("seq")?;
    Ok(AuditPlace {
        before: last - n,
        prev: head.try_get("hash")?,
    })
}

/// Writes the entries into the places `reserve_audit` reserved for them.
pub(super) async fn write_audit_at(
    tx: &mut Tx<'_>,
    place: AuditPlace,
    entries: &[AuditEntry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let AuditPlace { before, mut prev } = place;
    let now = Timestamp::now();
    let mut rows = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let seq = to_u64(before + 1 + i as i64);
        let row = entry.to_row(seq, now);
        let hash = row.hash(&prev);
        rows.push((row, std::mem::replace(&mut prev, hash.clone()), hash));
    }
    // Many rows to a statement, 16 parameters each.
    for chunk in rows.chunks(MAX_PARAMS / 16) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, tenant_id, user_id, org_id, session_id, address, action, object_type, object_id, subjects, basis, detail, prev_hash, hash, events) VALUES {}",
            placeholders(chunk.len(), 16, tx.anonymous())
        );
        let mut q = query(sqlx::AssertSqlSafe(sql));
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
        q.execute_queued(tx.ex()).await?;
    }
    query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute_queued(tx.ex())
        .await?;
    Ok(())
}

pub(super) fn chained_row(r: &Row) -> Result<ChainedRow, StoreError> {
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
