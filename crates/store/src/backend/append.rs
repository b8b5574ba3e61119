//! Appends: one request's streams under the expected-version check (`append`, in group
//! commit), and many writes in one transaction (`append_all`, for bulk loading).

use super::*;

impl Db {
    pub async fn idempotent_replay(
        &self,
        tenant: TenantId,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        Self::replay_of(self.read.ex(), tenant, key, request_hash).await
    }

    /// The stream an idempotency key made, read through `db` (a pool, or a
    /// transaction that may hold the key's own claim): `None` when the key is
    /// unknown, a mismatch when it was used for a different request.
    pub(super) async fn replay_of(
        db: Exec<'_>,
        tenant: TenantId,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let row = query(
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
            crate::group::Done::Audit => Err(StoreError::Corrupt(
                "group commit: a mismatched answer".into(),
            )),
        }
    }

    /// The work of `append` inside a round's transaction (under its savepoint).
    pub(super) async fn append_job(
        &self,
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
    ) -> Result<Vec<u64>, StoreError> {
        if let Some(idem) = &batch.idempotency {
            // Under a savepoint of its own: a key seen before is a unique violation,
            // which PostgreSQL answers by aborting the (sub)transaction.
            let mut claim = tx.savepoint().await?;
            let inserted = query(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash, stream_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(batch.tenant.to_string())
            .bind(&idem.key)
            .bind(&idem.request_hash)
            .bind(idem.stream_id.to_string())
            .bind(batch.recorded_at.to_string())
            .execute(claim.ex())
            .await;
            match inserted {
                Ok(_) => claim.commit().await?,
                Err(e) if is_unique_violation(&e) => {
                    claim.rollback().await?;
                    // Read in the round's transaction: the key may have been claimed
                    // by an earlier job of the same round.
                    return match Self::replay_of(
                        tx.ex(),
                        batch.tenant,
                        &idem.key,
                        &idem.request_hash,
                    )
                    .await?
                    {
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
    pub async fn append_all(&self, batches: Vec<AppendBatch>) -> Result<Vec<Vec<u64>>, StoreError> {
        self.append_all_sent(batches).await?.committed().await
    }

    /// `append_all`, returning once the transaction is sent rather than committed, so that a
    /// bulk loader prepares its next one meanwhile. On SQLite the statements go to the bulk
    /// writer (`crate::direct`: a connection and thread of its own, outside group commit;
    /// SQLite's write lock orders it with the server's writes), which runs them in the order
    /// they were sent: a transaction sent after this one reads what this one wrote, and fails
    /// (a version conflict) if it built on this one and this one did not commit. The writer
    /// remembers the streams it last wrote, with their folded state, so the next transaction
    /// need not read them back (what it remembers is used only at the version the caller
    /// expects; the stored version is checked when the stream is written). On PostgreSQL it
    /// commits before it returns.
    pub async fn append_all_sent(&self, batches: Vec<AppendBatch>) -> Result<BulkSent, StoreError> {
        let Some(slot) = &self.direct else {
            let mut tx = self.begin().await?;
            let (versions, _) = Self::append_all_in(&mut tx, &batches, None).await?;
            tx.commit().await?;
            return Ok(BulkSent(Sent::Done(versions)));
        };
        let _turn = slot.turn.lock().await;
        let writer = slot.writer()?;
        let mut tx = Tx::Direct(crate::direct::DirectTx::begin(writer).await?);
        let (versions, streams) =
            match Self::append_all_in(&mut tx, &batches, Some(&self.recent)).await {
                Ok(written) => written,
                Err(e) => {
                    // Rolled back before the lock is given up, so no one waits on it.
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            };
        let Tx::Direct(direct) = tx else {
            return Err(StoreError::Corrupt(
                "bulk writer: not its transaction".into(),
            ));
        };
        let commit = direct.commit_sent().await?;
        self.recent_remember(streams);
        Ok(BulkSent(Sent::Writing {
            versions,
            commit,
            db: self.clone(),
        }))
    }

    /// Lets the bulk writer finish what it was sent and close its connection (after the
    /// bulk transaction in progress, if one is).
    pub(crate) async fn close_bulk_writer(&self) {
        if let Some(slot) = &self.direct {
            let _turn = slot.turn.lock().await;
            slot.close().await;
        }
        self.recent_forget();
    }

    fn recent_remember(&self, streams: Vec<Bulk>) {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for mut w in streams {
            w.base = w.version;
            match &mut w.state {
                BulkState::Person {
                    new,
                    consents_changed,
                    ..
                } => {
                    *new = false;
                    *consents_changed = false;
                }
                BulkState::Case { .. } | BulkState::Meeting(_) => {}
            }
            recent.put(w);
        }
    }

    fn recent_forget(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Copies the log into the database on the write pool's connection (its own thread)
    /// while the bulk writer goes on, unless a copy is already running. A passive checkpoint
    /// waits for no one and blocks no writer; one that fails is left to the next (the log
    /// keeps every committed transaction until one succeeds).
    fn checkpoint_beside(&self) {
        let Some(slot) = &self.direct else { return };
        let Ok(running) = slot.checkpointing.clone().try_lock_owned() else {
            return;
        };
        let pool = self.write.clone();
        tokio::spawn(async move {
            if let Err(e) = query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_optional(pool.ex())
                .await
            {
                tracing::warn!(error = %e, "checkpoint beside the bulk writer failed");
            }
            drop(running);
        });
    }

    /// The work of `append_all` inside its transaction, short of the commit: the versions
    /// each batch's streams reached, and the streams as they now stand.
    async fn append_all_in(
        tx: &mut Tx<'_>,
        batches: &[AppendBatch],
        recent: Option<&std::sync::Mutex<RecentStreams>>,
    ) -> Result<(Vec<Vec<u64>>, Vec<Bulk>), StoreError> {
        let mut streams: Vec<Bulk> = Vec::new();
        let mut index: HashMap<Uuid, usize> = HashMap::new();
        let mut events: Vec<EventRow> = Vec::new();
        let mut audit: Vec<AuditEntry> = Vec::new();
        let mut out = Vec::with_capacity(batches.len());
        // The stored streams this call meets, read before the first write.
        let mut seen = std::collections::HashSet::new();
        let wanted: Vec<(TenantId, StreamKind, Uuid, u64)> = batches
            .iter()
            .flat_map(|batch| {
                batch.streams.iter().map(|stream| {
                    let (id, kind, expected) = stream.key();
                    (batch.tenant, kind, id, expected)
                })
            })
            .filter(|w| seen.insert(w.2) && w.3 > 0)
            .collect();
        let mut remembered = HashMap::new();
        let wanted = match recent {
            None => wanted,
            Some(recent) => {
                let mut recent = recent
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                wanted
                    .into_iter()
                    .filter(|&(tenant, kind, id, expected)| {
                        match recent.take(id, tenant, kind, expected) {
                            Some(w) => {
                                remembered.insert(id, w);
                                false
                            }
                            None => true,
                        }
                    })
                    .collect()
            }
        };
        let mut stored = Self::bulk_load_many(tx, &wanted).await?;
        stored.extend(remembered);
        for batch in batches {
            let tenant = batch.tenant.to_string();
            let (user, org) = (
                batch.actor.user_id.to_string(),
                batch.actor.org_id.to_string(),
            );
            let recorded_at = batch.recorded_at.to_string();
            let mut versions = Vec::with_capacity(batch.streams.len());
            let mut heads = Vec::with_capacity(batch.streams.len());
            for stream in &batch.streams {
                let (id, kind, expected) = stream.key();
                let i = match index.get(&id) {
                    Some(i) => *i,
                    None => {
                        let loaded = match stored.remove(&id) {
                            Some(loaded) => loaded,
                            None => Self::bulk_new(batch.tenant, kind, id, expected),
                        };
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
                    return Err(StoreError::Conflict {
                        expected,
                        actual: w.version,
                    });
                }
                let payloads = w.evolve(stream, &recorded_at)?;
                let sid = id.to_string();
                for (event_type, payload) in payloads {
                    w.version += 1;
                    let hash = crate::audit::event_hash(
                        &w.head,
                        &sid,
                        w.version,
                        &tenant,
                        event_type,
                        &payload,
                        &user,
                        &org,
                        &recorded_at,
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
        // Persons first: a case's access rows follow the person's consents.
        let persons: Vec<PersonRows<'_>> = streams
            .iter()
            .filter_map(|w| match &w.state {
                BulkState::Person {
                    state: Some(state),
                    new,
                    consents_changed,
                } => Some(PersonRows {
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
        let meetings: Vec<_> = streams
            .iter()
            .filter_map(|w| match &w.state {
                BulkState::Meeting(Some(state)) => {
                    Some((w.tenant, MeetingId(w.id), w.version, state))
                }
                _ => None,
            })
            .collect();
        let cases: Vec<CaseRows<'_>> = streams
            .iter()
            .filter_map(|w| match &w.state {
                BulkState::Case {
                    state: Some(state),
                    stage_changed_at,
                    ..
                } => Some(CaseRows {
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
        // Everything the writes need to read is read before the first of them, so that on
        // the bulk writer they are all sent on without waiting (see `Query::execute_queued`).
        let stored_cases = Self::person_rows_stored(tx, &persons).await?;
        let known: HashMap<PersonId, Vec<tsunagu_core::person::Consent>> = persons
            .iter()
            .map(|p| (p.id, p.state.consents.clone()))
            .collect();
        let case_rows = Self::case_rows_stored(tx, &cases, &known).await?;
        let place = reserve_audit(tx, audit.len()).await?;
        Self::insert_new_streams(tx, &streams).await?;
        Self::bulk_streams(tx, &streams).await?;
        Self::insert_event_rows(tx, events).await?;
        let files = batches
            .iter()
            .flat_map(|batch| {
                batch.files.iter().map(|file| {
                    vec![
                        Val::text(file.id.to_string()),
                        Val::text(batch.tenant.to_string()),
                        Val::text(file.case_id.to_string()),
                        Val::text(file.sha256.clone()),
                        Val::Bytes(file.content.to_vec()),
                        Val::text(batch.recorded_at.to_string()),
                    ]
                })
            })
            .collect();
        Self::insert_rows_(
            tx,
            "INSERT INTO attachment_files (id, tenant_id, case_id, sha256, content, created_at) VALUES",
            "",
            6,
            files,
        )
        .await?;
        Self::write_person_rows_over(tx, &persons, stored_cases).await?;
        Self::write_meeting_rows_many(tx, &meetings).await?;
        Self::write_case_rows_over(tx, &cases, case_rows).await?;
        write_audit_at(tx, place, &audit).await?;
        Ok((out, streams))
    }

    /// A stream as `append_all` first meets it, before anything stored is read.
    fn bulk_new(tenant: TenantId, kind: StreamKind, id: Uuid, expected: u64) -> Bulk {
        Bulk {
            id,
            kind,
            tenant,
            base: expected,
            version: expected,
            head: crate::audit::GENESIS_HASH.to_owned(),
            updated_at: String::new(),
            state: match kind {
                StreamKind::Case => BulkState::Case {
                    state: None,
                    stage: None,
                    stage_changed_at: String::new(),
                },
                StreamKind::Person => BulkState::Person {
                    state: None,
                    new: expected == 0,
                    consents_changed: false,
                },
                StreamKind::Meeting => BulkState::Meeting(None),
            },
        }
    }

    /// The stored streams `append_all` meets (tenant, kind, id, the version the caller
    /// expects), each with its version, head and folded state, read a few statements per
    /// kind: a stream of another tenant or kind, or none, is not found; one at another
    /// version is a conflict.
    pub(super) async fn bulk_load_many(
        tx: &mut Tx<'_>,
        wanted: &[(TenantId, StreamKind, Uuid, u64)],
    ) -> Result<HashMap<Uuid, Bulk>, StoreError> {
        let mut heads: HashMap<String, (String, String, i64, Option<String>)> = HashMap::new();
        let ids: Vec<String> = wanted.iter().map(|w| w.2.to_string()).collect();
        let sql = "SELECT stream_id, tenant_id, stream_type, version, head_hash FROM streams WHERE stream_id IN ({ids})";
        for r in fetch_in(tx, sql, &ids).await? {
            heads.insert(
                r.try_get("stream_id")?,
                (
                    r.try_get("tenant_id")?,
                    r.try_get("stream_type")?,
                    r.try_get("version")?,
                    r.try_get("head_hash")?,
                ),
            );
        }
        let mut states: HashMap<String, (String, String)> = HashMap::new();
        for kind in StreamKind::ALL {
            let of_kind: Vec<String> = wanted
                .iter()
                .filter(|w| w.1 == kind)
                .map(|w| w.2.to_string())
                .collect();
            let sql = format!(
                "SELECT id, state, {} AS extra FROM {} WHERE id IN ({{ids}})",
                state_extra(kind),
                kind.table()
            );
            for r in fetch_in(tx, &sql, &of_kind).await? {
                states.insert(r.try_get("id")?, (r.try_get("state")?, r.try_get("extra")?));
            }
        }
        let mut out = HashMap::with_capacity(wanted.len());
        for &(tenant, kind, id, expected) in wanted {
            let key = id.to_string();
            let (stored_tenant, stored_kind, version, head) =
                heads.remove(&key).ok_or(StoreError::NotFound)?;
            if stored_tenant != tenant.to_string() || stored_kind != kind.as_str() {
                return Err(StoreError::NotFound);
            }
            let actual = to_u64(version);
            if actual != expected {
                return Err(StoreError::Conflict { expected, actual });
            }
            let (raw, extra) = states.remove(&key).ok_or(StoreError::NotFound)?;
            let mut bulk = Self::bulk_new(tenant, kind, id, expected);
            if let Some(head) = head {
                bulk.head = head;
            }
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
            out.insert(id, bulk);
        }
        Ok(out)
    }

    /// Creates the streams `append_all` starts, many to a statement; one that
    /// another writer created meanwhile is a conflict.
    pub(super) async fn insert_new_streams(
        tx: &mut Tx<'_>,
        streams: &[Bulk],
    ) -> Result<(), StoreError> {
        let new: Vec<&Bulk> = streams.iter().filter(|w| w.base == 0).collect();
        for chunk in new.chunks(MAX_PARAMS / 5) {
            let sql = format!(
                "INSERT INTO streams (stream_id, stream_type, tenant_id, version, head_hash) VALUES {}",
                placeholders(chunk.len(), 5, tx.anonymous())
            );
            let mut q = query(sqlx::AssertSqlSafe(sql));
            for w in chunk {
                q = q
                    .bind(w.id.to_string())
                    .bind(w.kind.as_str())
                    .bind(w.tenant.to_string())
                    .bind(to_i64(w.version))
                    .bind(&w.head);
            }
            match q.execute(tx.ex()).await {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict {
                        expected: 0,
                        actual: 1,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Moves the streams `append_all` found stored from the version it found to their new
    /// version and head, many to a statement; when another writer moved one meanwhile, fewer
    /// rows change and the whole append is a conflict.
    pub(super) async fn bulk_streams(tx: &mut Tx<'_>, streams: &[Bulk]) -> Result<(), StoreError> {
        const COLUMNS: usize = 6;
        let moved: Vec<&Bulk> = streams.iter().filter(|w| w.base > 0).collect();
        for chunk in moved.chunks(MAX_PARAMS / COLUMNS) {
            // A VALUES list names its columns column1, column2, … on both backends.
            let sql = format!(
                "UPDATE streams SET version = v.column1, head_hash = v.column2 FROM (VALUES {}) AS v \
                 WHERE streams.stream_id = v.column3 AND streams.tenant_id = v.column4 \
                 AND streams.stream_type = v.column5 AND streams.version = v.column6",
                placeholders(chunk.len(), COLUMNS, tx.anonymous())
            );
            let mut q = query(sqlx::AssertSqlSafe(sql));
            for w in chunk {
                q = q
                    .bind(to_i64(w.version))
                    .bind(&w.head)
                    .bind(w.id.to_string())
                    .bind(w.tenant.to_string())
                    .bind(w.kind.as_str())
                    .bind(to_i64(w.base));
            }
            let done = q.execute(tx.ex()).await?;
            if done.rows_affected() != chunk.len() as u64 {
                return Err(StoreError::Conflict {
                    expected: chunk[0].base,
                    actual: chunk[0].base + 1,
                });
            }
        }
        Ok(())
    }

    /// Inserts event rows many to a statement.
    pub(super) async fn insert_event_rows(
        tx: &mut Tx<'_>,
        rows: Vec<EventRow>,
    ) -> Result<(), StoreError> {
        const COLUMNS: usize = 10;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<EventRow> = rows.by_ref().take(MAX_PARAMS / COLUMNS).collect();
            let sql = format!(
                "INSERT INTO events (stream_id, version, tenant_id, event_type, payload, actor_user, actor_org, recorded_at, reason, hash) VALUES {}",
                placeholders(chunk.len(), COLUMNS, tx.anonymous())
            );
            let mut q = query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(r.stream_id)
                    .bind(to_i64(r.version))
                    .bind(r.tenant_id)
                    .bind(r.event_type)
                    .bind(r.payload)
                    .bind(r.actor_user)
                    .bind(r.actor_org)
                    .bind(r.recorded_at)
                    .bind(r.reason)
                    .bind(r.hash);
            }
            q.execute_queued(tx.ex()).await?;
        }
        Ok(())
    }

    pub(super) async fn append_in(
        &self,
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
    ) -> Result<Vec<u64>, StoreError> {
        let mut versions = Vec::with_capacity(batch.streams.len());
        let mut heads: Vec<String> = Vec::with_capacity(batch.streams.len());
        // The audit head's row lock before any event is inserted: on PostgreSQL writers then
        // take event positions (a sequence) in the order they commit, so a reader following
        // positions never passes one that commits later (`event_positions`).
        query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(tx.ex())
            .await?;
        for stream in &batch.streams {
            let (version, head) = match stream {
                StreamAppend::Case {
                    id,
                    expected_version,
                    events,
                } => {
                    self.append_case(tx, batch, *id, *expected_version, events)
                        .await?
                }
                StreamAppend::Person {
                    id,
                    expected_version,
                    events,
                } => {
                    self.append_person(tx, batch, *id, *expected_version, events)
                        .await?
                }
                StreamAppend::Meeting {
                    id,
                    expected_version,
                    events,
                } => {
                    self.append_meeting(tx, batch, *id, *expected_version, events)
                        .await?
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
            query(
                "INSERT INTO attachment_files (id, tenant_id, case_id, sha256, content, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(file.id.to_string())
            .bind(batch.tenant.to_string())
            .bind(file.case_id.to_string())
            .bind(&file.sha256)
            .bind(&file.content[..])
            .bind(batch.recorded_at.to_string())
            .execute(tx.ex())
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
    pub(super) async fn bump(
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
        stream_type: StreamKind,
        id: Uuid,
        expected: u64,
        n: usize,
    ) -> Result<u64, StoreError> {
        let new_version = expected + n as u64;
        if expected == 0 {
            let inserted = query(
                "INSERT INTO streams (stream_id, stream_type, tenant_id, version) VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(stream_type.as_str())
            .bind(batch.tenant.to_string())
            .bind(to_i64(new_version))
            .execute(tx.ex())
            .await;
            return match inserted {
                Ok(_) => Ok(new_version),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                    expected,
                    actual: 1,
                }),
                Err(e) => Err(e.into()),
            };
        }
        let done = query(
            "UPDATE streams SET version = $1 WHERE stream_id = $2 AND tenant_id = $3 AND stream_type = $4 AND version = $5",
        )
        .bind(to_i64(new_version))
        .bind(id.to_string())
        .bind(batch.tenant.to_string())
        .bind(stream_type.as_str())
        .bind(to_i64(expected))
        .execute(tx.ex())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(new_version);
        }
        let actual = query(
            "SELECT version FROM streams WHERE stream_id = $1 AND tenant_id = $2 AND stream_type = $3",
        )
        .bind(id.to_string())
        .bind(batch.tenant.to_string())
        .bind(stream_type.as_str())
        .fetch_optional(tx.ex())
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
    pub(super) async fn insert_events(
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
            query("SELECT head_hash FROM streams WHERE stream_id = $1")
                .bind(&sid)
                .fetch_one(tx.ex())
                .await?
                .try_get::<Option<String>, _>("head_hash")?
                .unwrap_or_else(|| crate::audit::GENESIS_HASH.to_owned())
        };
        let tenant = batch.tenant.to_string();
        let (user, org) = (
            batch.actor.user_id.to_string(),
            batch.actor.org_id.to_string(),
        );
        let recorded_at = batch.recorded_at.to_string();
        for (i, (event_type, payload)) in events.into_iter().enumerate() {
            let version = expected + i as u64 + 1;
            let hash = crate::audit::event_hash(
                &prev,
                &sid,
                version,
                &tenant,
                event_type,
                &payload,
                &user,
                &org,
                &recorded_at,
                batch.reason.as_deref(),
            );
            query(
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
            .execute(tx.ex())
            .await?;
            prev = hash;
        }
        query("UPDATE streams SET head_hash = $1 WHERE stream_id = $2")
            .bind(&prev)
            .bind(&sid)
            .execute(tx.ex())
            .await?;
        Ok(prev)
    }

    pub(super) async fn stored_state(
        tx: &mut Tx<'_>,
        kind: StreamKind,
        id: Uuid,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT state, {} AS extra FROM {} WHERE id = $1",
            state_extra(kind),
            kind.table()
        )))
        .bind(id.to_string())
        .fetch_optional(tx.ex())
        .await?;
        row.map(|r| {
            Ok((
                r.try_get::<String, _>("state")?,
                r.try_get::<String, _>("extra")?,
            ))
        })
        .transpose()
    }

    pub(super) async fn append_case(
        &self,
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
        id: CaseId,
        expected: u64,
        events: &[CaseEvent],
    ) -> Result<(u64, String), StoreError> {
        let version = Self::bump(tx, batch, StreamKind::Case, id.0, expected, events.len()).await?;
        let (mut state, previous_stage, stage_changed_at) = if expected == 0 {
            let state = CaseState::fold(events.iter()).ok_or_else(|| {
                StoreError::Corrupt("a case stream must start with case_opened".into())
            })?;
            (state, None, batch.recorded_at.to_string())
        } else {
            let (raw, extra) = Self::stored_state(tx, StreamKind::Case, id.0)
                .await?
                .ok_or(StoreError::NotFound)?;
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
            &[CaseRows {
                tenant: batch.tenant,
                id,
                version,
                state: &state,
                stage_changed_at: &stage_changed_at,
                updated_at: &updated_at,
            }],
        )
        .await?;
        Ok((version, head))
    }

    pub(super) async fn append_person(
        &self,
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
        id: PersonId,
        expected: u64,
        events: &[PersonEvent],
    ) -> Result<(u64, String), StoreError> {
        let version =
            Self::bump(tx, batch, StreamKind::Person, id.0, expected, events.len()).await?;
        let state = if expected == 0 {
            PersonState::fold(events.iter())
        } else {
            let (raw, _) = Self::stored_state(tx, StreamKind::Person, id.0)
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut stored: PersonState = from_json(&raw)?;
            for e in events {
                stored.evolve(e);
            }
            Some(stored)
        }
        .ok_or_else(|| {
            StoreError::Corrupt("a person stream must start with person_registered".into())
        })?;
        let payloads = events
            .iter()
            .map(|e| Ok((e.type_name(), json(e)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let head = Self::insert_events(tx, batch, id.0, expected, payloads).await?;
        let consents_changed = events.iter().any(consent_event);
        Self::write_person_rows(
            tx,
            &[PersonRows {
                tenant: batch.tenant,
                id,
                version,
                state: &state,
                new: expected == 0,
                consents_changed,
            }],
        )
        .await?;
        Ok((version, head))
    }

    pub(super) async fn append_meeting(
        &self,
        tx: &mut Tx<'_>,
        batch: &AppendBatch,
        id: MeetingId,
        expected: u64,
        events: &[MeetingEvent],
    ) -> Result<(u64, String), StoreError> {
        let version =
            Self::bump(tx, batch, StreamKind::Meeting, id.0, expected, events.len()).await?;
        let state = if expected == 0 {
            MeetingState::fold(events.iter()).ok_or_else(|| {
                StoreError::Corrupt("a meeting stream must start with meeting_scheduled".into())
            })?
        } else {
            let (raw, _) = Self::stored_state(tx, StreamKind::Meeting, id.0)
                .await?
                .ok_or(StoreError::NotFound)?;
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
}

/// One event row as `append_all` writes it.
pub(super) struct EventRow {
    pub(super) stream_id: String,
    pub(super) version: u64,
    pub(super) tenant_id: String,
    pub(super) event_type: &'static str,
    pub(super) payload: String,
    pub(super) actor_user: String,
    pub(super) actor_org: String,
    pub(super) recorded_at: String,
    pub(super) reason: Option<String>,
    pub(super) hash: String,
}

/// A stream `append_all` writes to: where it started, where it is, and its folded state.
pub(super) struct Bulk {
    pub(super) id: Uuid,
    pub(super) kind: StreamKind,
    pub(super) tenant: tsunagu_core::TenantId,
    /// The version stored before this call (0: a new stream).
    pub(super) base: u64,
    pub(super) version: u64,
    pub(super) head: String,
    /// When the last batch that touched it was recorded.
    pub(super) updated_at: String,
    pub(super) state: BulkState,
}

pub(super) enum BulkState {
    Case {
        state: Option<Box<CaseState>>,
        /// The stage before the current batch, to keep `stage_changed_at` as `append` does.
        stage: Option<String>,
        stage_changed_at: String,
    },
    Person {
        state: Option<Box<PersonState>>,
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
                    None => PersonState::fold(events.iter()).map(Box::new),
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
pub(super) fn consent_event(e: &tsunagu_core::person::PersonEvent) -> bool {
    use tsunagu_core::person::PersonEvent;
    matches!(
        e,
        PersonEvent::ConsentRecorded { .. } | PersonEvent::ConsentWithdrawn { .. }
    )
}

pub(super) fn stored_event(r: &Row) -> Result<StoredEvent, StoreError> {
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

/// A bulk transaction sent (`Db::append_all_sent`), committed or on its way.
pub struct BulkSent(Sent);

enum Sent {
    Done(Vec<Vec<u64>>),
    Writing {
        versions: Vec<Vec<u64>>,
        commit: crate::direct::CommitSent,
        db: Db,
    },
}

impl BulkSent {
    /// Waits for the commit: the versions each batch's streams reached, or why nothing of
    /// the transaction was written.
    pub async fn committed(self) -> Result<Vec<Vec<u64>>, StoreError> {
        match self.0 {
            Sent::Done(versions) => Ok(versions),
            Sent::Writing {
                versions,
                commit,
                db,
            } => match commit.done().await {
                Ok(()) => {
                    db.checkpoint_beside();
                    Ok(versions)
                }
                Err(e) => {
                    // What the writer remembers of this transaction never was.
                    db.recent_forget();
                    Err(e.into())
                }
            },
        }
    }
}

/// The streams the bulk writer last wrote, as they stood after it: two generations of at
/// most `RECENT / 2` streams each, the older dropped when the newer fills (a stream met again
/// moves to the newer).
#[derive(Default)]
pub(crate) struct RecentStreams {
    newer: HashMap<Uuid, Bulk>,
    older: HashMap<Uuid, Bulk>,
}

const RECENT: usize = 20_000;

impl std::fmt::Debug for RecentStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentStreams")
            .field("streams", &(self.newer.len() + self.older.len()))
            .finish()
    }
}

impl RecentStreams {
    fn put(&mut self, w: Bulk) {
        if self.newer.len() >= RECENT / 2 {
            self.older = std::mem::take(&mut self.newer);
        }
        self.older.remove(&w.id);
        self.newer.insert(w.id, w);
    }

    /// The stream as last written, when it is the tenant's stream of that kind at the version
    /// the caller expects.
    fn take(
        &mut self,
        id: Uuid,
        tenant: TenantId,
        kind: StreamKind,
        expected: u64,
    ) -> Option<Bulk> {
        let w = self.newer.remove(&id).or_else(|| self.older.remove(&id))?;
        (w.tenant == tenant && w.kind == kind && w.version == expected).then_some(w)
    }

    fn clear(&mut self) {
        self.newer.clear();
        self.older.clear();
    }
}
