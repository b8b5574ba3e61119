//! The read projections, each row a pure function of a stream's folded state, written by
//! `append` and `append_all` alike and recomputed by `verify`.

use super::*;

impl Db {
    /// The rows of cases' projections (cases, case_team, case_due, the persons'
    /// person_access, case_access), each a function of the folded state, for many
    /// cases at once: a few statements per table, whatever the number of cases.
    pub(super) async fn write_case_rows(
        tx: &mut Tx<'_>,
        items: &[CaseRows<'_>],
    ) -> Result<(), StoreError> {
        let stored = Self::case_rows_stored(tx, items, &HashMap::new()).await?;
        Self::write_case_rows_over(tx, items, stored).await
    }

    /// What writing these cases' rows reads first: where each case stood in the caseload
    /// counts, and the consents of their persons (`known`: those already at hand, as folded
    /// in the same transaction; the others as stored).
    pub(super) async fn case_rows_stored(
        tx: &mut Tx<'_>,
        items: &[CaseRows<'_>],
        known: &HashMap<PersonId, Vec<tsunagu_core::person::Consent>>,
    ) -> Result<CaseRowsStored, StoreError> {
        let ids: Vec<String> = items.iter().map(|c| c.id.to_string()).collect();
        let mut before = Vec::new();
        let mut existing = HashMap::new();
        let sql = "SELECT id, tenant_id, owner_org, assigned_worker, stage, stage_changed_at, stage_entered_on, earliest_due_on \
                   FROM cases WHERE id IN ({ids})";
        for r in fetch_in(tx, sql, &ids).await? {
            existing.insert(
                r.try_get::<String, _>("id")?,
                [
                    Some(r.try_get::<String, _>("assigned_worker")?),
                    Some(r.try_get::<String, _>("stage")?),
                    Some(r.try_get::<String, _>("stage_changed_at")?),
                    r.try_get::<Option<String>, _>("stage_entered_on")?,
                    r.try_get::<Option<String>, _>("earliest_due_on")?,
                ],
            );
            before.push((
                r.try_get("tenant_id")?,
                r.try_get("owner_org")?,
                r.try_get("assigned_worker")?,
                r.try_get("stage")?,
            ));
        }
        let mut persons: Vec<PersonId> = items
            .iter()
            .map(|c| c.state.person_id)
            .filter(|p| !known.contains_key(p))
            .collect();
        persons.sort_by_key(|p| p.0);
        persons.dedup();
        let mut consents = Self::consents_of_many(tx, &persons).await?;
        for c in items {
            if let Some(k) = known.get(&c.state.person_id) {
                consents.insert(c.state.person_id, k.clone());
            }
        }
        Ok(CaseRowsStored {
            before,
            existing,
            consents,
        })
    }

    /// Writes the cases' rows over what `case_rows_stored` read.
    pub(super) async fn write_case_rows_over(
        tx: &mut Tx<'_>,
        items: &[CaseRows<'_>],
        stored: CaseRowsStored,
    ) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = items.iter().map(|c| c.id.to_string()).collect();
        // Each case's due items, worked out once: the `case_due` rows and the earliest day.
        let due_of: Vec<Vec<tsunagu_core::case::DueItem>> =
            items.iter().map(|c| due_items(c.state)).collect();
        let mut rows = Vec::with_capacity(items.len());
        for (c, due) in items.iter().zip(&due_of) {
            let mut row = vec![
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
            ];
            row.extend(case_list_values(c.state, due));
            rows.push(row);
        }
        // Each case moves between rows of the caseload counts as its worker or
        // stage changes: what `cases` holds now leaves, the new state arrives. The
        // differences are applied in key order, so concurrent writers lock the
        // count rows in one order and cannot deadlock on them.
        let mut moves: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
        for key in stored.before {
            *moves.entry(key).or_default() -= 1;
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
            for (w, st) in [
                (worker.as_str(), stage.as_str()),
                (CASELOAD_ALL, stage.as_str()),
            ] {
                *rolled
                    .entry((tenant.clone(), org.clone(), w.to_owned(), st.to_owned()))
                    .or_default() += n;
                if open {
                    *rolled
                        .entry((
                            tenant.clone(),
                            org.clone(),
                            w.to_owned(),
                            CASELOAD_OPEN.to_owned(),
                        ))
                        .or_default() += n;
                }
            }
        }
        let counts = rolled
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((tenant, org, worker, stage), n)| {
                vec![
                    Val::text(tenant),
                    Val::text(org),
                    Val::text(worker),
                    Val::text(stage),
                    Val::Int(n),
                ]
            })
            .collect();
        // New numbered cases keep their year's counter at or above their number (bulk
        // loads and restores number cases themselves; `Store::take_case_numbers` moved it
        // already for the rest).
        let mut numbered: BTreeMap<(String, i16), u32> = BTreeMap::new();
        for c in items {
            if let Some(n) = c.state.number
                && !stored.existing.contains_key(&c.id.to_string())
            {
                let last = numbered
                    .entry((c.tenant.to_string(), n.fiscal_year))
                    .or_default();
                *last = (*last).max(n.seq);
            }
        }
        let numbered = numbered
            .into_iter()
            .map(|((tenant, fy), last)| {
                vec![
                    Val::text(tenant),
                    Val::Int(i64::from(fy)),
                    Val::Int(i64::from(last)),
                ]
            })
            .collect();
        Self::insert_rows_(
            tx,
            "INSERT INTO case_numbers (tenant_id, fiscal_year, last) VALUES",
            " ON CONFLICT (tenant_id, fiscal_year) DO UPDATE SET last = \
             CASE WHEN excluded.last > case_numbers.last THEN excluded.last ELSE case_numbers.last END",
            3,
            numbered,
        )
        .await?;
        Self::insert_rows_(
            tx,
            "INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases) VALUES",
            " ON CONFLICT (tenant_id, org_id, worker, stage) DO UPDATE SET cases = caseload_counts.cases + excluded.cases",
            5,
            counts,
        )
        .await?;
        // A stored case's row is rewritten without its indexed columns (most writes, a
        // contact, change none of them, and naming a column in the update rewrites every index
        // on it); those that changed are set by a statement of their own below.
        Self::insert_rows_(
            tx,
            "INSERT INTO cases (id, tenant_id, person_id, stage, owner_org, assigned_worker, opened_on, stage_changed_at, updated_at, version, state, \
             stage_entered_on, last_contact_on, urgency, main_problem, intake_route, case_number, awaiting_meeting, earliest_due_on, assessed_issues) VALUES",
            " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, version = excluded.version, state = excluded.state, \
             last_contact_on = excluded.last_contact_on, urgency = excluded.urgency, main_problem = excluded.main_problem, \
             intake_route = excluded.intake_route, awaiting_meeting = excluded.awaiting_meeting, assessed_issues = excluded.assessed_issues",
            20,
            rows,
        )
        .await?;
        for (c, due) in items.iter().zip(&due_of) {
            let Some(stored_cols) = stored.existing.get(&c.id.to_string()) else {
                continue;
            };
            let now = [
                Some(c.state.assigned_worker.to_string()),
                Some(c.state.stage.as_str().to_owned()),
                Some(c.stage_changed_at.to_owned()),
                Some(c.state.stage_since().to_string()),
                earliest_due(due),
            ];
            if &now != stored_cols {
                let [worker, stage, changed, entered, due] = now;
                query(
                    "UPDATE cases SET assigned_worker = $1, stage = $2, stage_changed_at = $3, stage_entered_on = $4, earliest_due_on = $5 WHERE id = $6",
                )
                .bind(Val::Text(worker))
                .bind(Val::Text(stage))
                .bind(Val::Text(changed))
                .bind(Val::Text(entered))
                .bind(Val::Text(due))
                .bind(Val::text(c.id.to_string()))
                .execute_queued(tx.ex())
                .await?;
            }
        }
        Self::delete_in_(tx, "case_team", "case_id", &ids).await?;
        let team = items
            .iter()
            .flat_map(|c| {
                c.state
                    .team
                    .iter()
                    .map(move |org| vec![Val::text(c.id.to_string()), Val::text(org.to_string())])
            })
            .collect();
        Self::insert_rows_(
            tx,
            "INSERT INTO case_team (case_id, org_id) VALUES",
            "",
            2,
            team,
        )
        .await?;
        Self::delete_in_(tx, "case_due", "case_id", &ids).await?;
        let mut due = Vec::new();
        for (c, items_due) in items.iter().zip(&due_of) {
            for item in items_due {
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
        Self::write_milestones(tx, items.iter().map(|c| (c.tenant, c.id, c.state))).await?;
        let mut persons: Vec<PersonId> = items.iter().map(|c| c.state.person_id).collect();
        persons.sort_by_key(|p| p.0);
        persons.dedup();
        Self::refresh_person_access_many(tx, &persons).await?;
        let consents = stored.consents;
        Self::delete_in_(tx, "case_access", "case_id", &ids).await?;
        let mut access = Vec::new();
        for c in items {
            let of_person = consents
                .get(&c.state.person_id)
                .map_or(&[][..], Vec::as_slice);
            access.extend(access_values(c.tenant, c.id, c.state, of_person));
        }
        Self::insert_access_rows(tx, access).await
    }

    /// Rewrites the person_access rows of these persons: each is visible to the
    /// organisation that registered them and to the teams of their cases.
    pub(super) async fn refresh_person_access_many(
        tx: &mut Tx<'_>,
        persons: &[PersonId],
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = persons.iter().map(|p| p.to_string()).collect();
        Self::delete_in_(tx, "person_access", "person_id", &ids).await?;
        for chunk in ids.chunks(IN_CHUNK) {
            let list = placeholders_list(chunk.len(), 0, tx.anonymous());
            let sql = format!(
                "INSERT INTO person_access (person_id, org_id) \
                 SELECT cases.person_id, case_team.org_id FROM case_team JOIN cases ON cases.id = case_team.case_id WHERE cases.person_id IN ({list}) \
                 UNION SELECT id, registered_by_org FROM persons WHERE id IN ({list})"
            );
            // The list appears twice: anonymous parameters are bound once per use.
            let uses = if tx.anonymous() { 2 } else { 1 };
            with_ids(sql, chunk, uses).execute_queued(tx.ex()).await?;
        }
        Ok(())
    }

    /// The consents of these persons, from their projection rows.
    pub(super) async fn consents_of_many(
        tx: &mut Tx<'_>,
        persons: &[PersonId],
    ) -> Result<HashMap<PersonId, Vec<tsunagu_core::person::Consent>>, StoreError> {
        let mut out = HashMap::new();
        let ids: Vec<String> = persons.iter().map(|p| p.to_string()).collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, state FROM persons WHERE id IN ({})",
                placeholders_list(chunk.len(), 0, tx.anonymous())
            );
            for r in with_ids(sql, chunk, 1).fetch_all(tx.ex()).await? {
                let id = PersonId(parse_uuid(&r.try_get::<String, _>("id")?)?);
                let state: PersonState = from_json(&r.try_get::<String, _>("state")?)?;
                out.insert(id, state.consents);
            }
        }
        Ok(out)
    }

    /// Inserts access rows (`access_values`) many to a statement.
    pub(super) async fn insert_access_rows(
        tx: &mut Tx<'_>,
        rows: Vec<Vec<Val>>,
    ) -> Result<(), StoreError> {
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
    pub(super) async fn delete_in_(
        tx: &mut Tx<'_>,
        table: &str,
        column: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} IN ({})",
                placeholders_list(chunk.len(), 0, tx.anonymous())
            );
            with_ids(sql, chunk, 1).execute_queued(tx.ex()).await?;
        }
        Ok(())
    }

    /// Inserts `rows` of `columns` values each, many to a statement: `head` is the
    /// statement up to `VALUES`, `tail` what follows the values (a conflict clause).
    pub(super) async fn insert_rows_(
        tx: &mut Tx<'_>,
        head: &str,
        tail: &str,
        columns: usize,
        rows: Vec<Vec<Val>>,
    ) -> Result<(), StoreError> {
        let per = (MAX_PARAMS / columns).max(1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Val>> = rows.by_ref().take(per).collect();
            let sql = format!(
                "{head} {}{tail}",
                placeholders(chunk.len(), columns, tx.anonymous())
            );
            let mut q = query(sqlx::AssertSqlSafe(sql));
            for v in chunk.into_iter().flatten() {
                q = q.bind(v);
            }
            q.execute_queued(tx.ex()).await?;
        }
        Ok(())
    }

    /// Rewrites a case's rows of the access projection from its state and the
    /// person's consents (`policy::access_rows`).
    pub(super) async fn write_case_access(
        tx: &mut Tx<'_>,
        tenant: TenantId,
        id: CaseId,
        state: &CaseState,
        consents: &[tsunagu_core::person::Consent],
    ) -> Result<(), StoreError> {
        Self::delete_in_(tx, "case_access", "case_id", &[id.to_string()]).await?;
        Self::insert_access_rows(tx, access_values(tenant, id, state, consents)).await
    }

    /// Rewrites what these cases contribute to the statistics from their folded states: the
    /// national indicators' milestones (`case_milestones`, migration 0019) and the process
    /// figures' marks (`case_process`, migration 0022).
    pub(super) async fn write_milestones<'s>(
        tx: &mut Tx<'_>,
        cases: impl Iterator<Item = (TenantId, CaseId, &'s CaseState)>,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        let mut rows = Vec::new();
        let mut process = Vec::new();
        for (tenant, id, state) in cases {
            for m in tsunagu_core::stats::milestones(state) {
                rows.push(vec![
                    Val::text(id.to_string()),
                    Val::text(tenant.to_string()),
                    Val::text(m.kind.as_str()),
                    Val::text(m.on.to_string()),
                    Val::Int(i64::from(m.employment_support)),
                ]);
            }
            for m in tsunagu_core::stats::process_marks(state) {
                process.push(vec![
                    Val::text(id.to_string()),
                    Val::text(tenant.to_string()),
                    Val::text(m.kind.as_str()),
                    Val::text(m.on.to_string()),
                    Val::text(m.detail),
                    Val::OptInt(m.days.map(i64::from)),
                ]);
            }
            ids.push(id.to_string());
        }
        Self::delete_in_(tx, "case_milestones", "case_id", &ids).await?;
        Self::insert_rows_(
            tx,
            "INSERT INTO case_milestones (case_id, tenant_id, kind, on_date, employment_support) VALUES",
            "",
            5,
            rows,
        )
        .await?;
        Self::delete_in_(tx, "case_process", "case_id", &ids).await?;
        Self::insert_rows_(
            tx,
            "INSERT INTO case_process (case_id, tenant_id, kind, on_date, detail, days) VALUES",
            "",
            6,
            process,
        )
        .await
    }

    /// Rewrites the name pairs (`person_grams`, migration 0018) of these persons from their
    /// search keys.
    pub(super) async fn write_person_grams(
        tx: &mut Tx<'_>,
        keys: impl Iterator<Item = (TenantId, PersonId, String)>,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        let mut rows = Vec::new();
        for (tenant, id, key) in keys {
            for gram in search_grams(&key) {
                rows.push(vec![
                    Val::text(tenant.to_string()),
                    Val::text(gram),
                    Val::text(id.to_string()),
                ]);
            }
            ids.push(id.to_string());
        }
        Self::delete_in_(tx, "person_grams", "person_id", &ids).await?;
        Self::insert_rows_(
            tx,
            "INSERT INTO person_grams (tenant_id, gram, person_id) VALUES",
            "",
            3,
            rows,
        )
        .await
    }

    /// Fills the search key and the name pairs of persons written before they existed
    /// (migrations 0013 and 0018), a page at a time; run when the store is migrated.
    pub async fn fill_person_search_keys(&self) -> Result<u64, StoreError> {
        let mut filled = 0;
        loop {
            let rows = query(
                "SELECT id, tenant_id, state FROM persons WHERE search_key IS NULL LIMIT 500",
            )
            .fetch_all(self.write.ex())
            .await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.begin().await?;
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                let state: PersonState = from_json(&r.try_get::<String, _>("state")?)?;
                let key = person_search_key(&state);
                query("UPDATE persons SET search_key = $1 WHERE id = $2")
                    .bind(key.clone())
                    .bind(r.try_get::<String, _>("id")?)
                    .execute(tx.ex())
                    .await?;
                keys.push((
                    TenantId(parse_uuid(&r.try_get::<String, _>("tenant_id")?)?),
                    PersonId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                    key,
                ));
            }
            Self::write_person_grams(&mut tx, keys.into_iter()).await?;
            tx.commit().await?;
            filled += rows.len() as u64;
        }
    }

    /// Takes `count` case numbers of a tenant's fiscal year, committed before they are used
    /// (so two openings never get the same number); returns the first.
    pub async fn take_case_numbers(
        &self,
        tenant: TenantId,
        fiscal_year: i16,
        count: u32,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO case_numbers (tenant_id, fiscal_year, last) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, fiscal_year) DO UPDATE SET last = case_numbers.last + excluded.last",
        )
        .bind(tenant.to_string())
        .bind(i64::from(fiscal_year))
        .bind(i64::from(count))
        .execute(tx.ex())
        .await?;
        let last: i64 =
            query("SELECT last FROM case_numbers WHERE tenant_id = $1 AND fiscal_year = $2")
                .bind(tenant.to_string())
                .bind(i64::from(fiscal_year))
                .fetch_one(tx.ex())
                .await?
                .try_get("last")?;
        tx.commit().await?;
        u32::try_from(last - i64::from(count) + 1)
            .map_err(|_| StoreError::Corrupt("case number counter out of range".into()))
    }

    /// The last case number given per fiscal year of a tenant.
    pub async fn case_number_counters(
        &self,
        tenant: TenantId,
    ) -> Result<HashMap<i16, u32>, StoreError> {
        let mut out = HashMap::new();
        for r in query("SELECT fiscal_year, last FROM case_numbers WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_all(self.read.ex())
            .await?
        {
            let (fy, last): (i64, i64) = (r.try_get("fiscal_year")?, r.try_get("last")?);
            if let (Ok(fy), Ok(last)) = (i16::try_from(fy), u32::try_from(last)) {
                out.insert(fy, last);
            }
        }
        Ok(out)
    }

    /// Fills the caseload list's columns of cases written before they existed (migrations
    /// 0014, 0017) and their milestones (0019): each such case's events are folded again (its
    /// stored state does not know the day its stage was entered, nor the plans it made), and
    /// the state, the columns and the milestones rewritten, a page at a time.
    pub async fn fill_case_list_columns(&self) -> Result<u64, StoreError> {
        let mut filled = 0;
        loop {
            let rows: Vec<(String, String)> =
                query("SELECT id, tenant_id FROM cases WHERE stage_entered_on IS NULL LIMIT 200")
                    .fetch_all(self.write.ex())
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("tenant_id")?)))
                    .collect::<Result<_, sqlx::Error>>()?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.begin().await?;
            let mut folded = Vec::with_capacity(rows.len());
            for (id, tenant) in &rows {
                let mut events = Vec::new();
                for r in query("SELECT payload FROM events WHERE stream_id = $1 ORDER BY version")
                    .bind(id.clone())
                    .fetch_all(tx.ex())
                    .await?
                {
                    let e: CaseEvent = from_json(&r.try_get::<String, _>("payload")?)?;
                    events.push(e);
                }
                let state = CaseState::fold(events.iter())
                    .ok_or_else(|| StoreError::Corrupt(format!("case {id} does not fold")))?;
                let sets: Vec<String> = CASE_LIST_COLUMNS
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ${}", i + 2))
                    .collect();
                let sql = format!(
                    "UPDATE cases SET state = $1, {} WHERE id = ${}",
                    sets.join(", "),
                    CASE_LIST_COLUMNS.len() + 2
                );
                let mut q = query(sqlx::AssertSqlSafe(sql)).bind(Val::text(json(&state)?));
                for v in case_list_values(&state, &due_items(&state)) {
                    q = q.bind(v);
                }
                q.bind(Val::text(id.clone())).execute(tx.ex()).await?;
                folded.push((
                    TenantId(parse_uuid(tenant)?),
                    CaseId(parse_uuid(id)?),
                    state,
                ));
            }
            Self::write_milestones(&mut tx, folded.iter().map(|(t, c, s)| (*t, *c, s))).await?;
            tx.commit().await?;
            filled += rows.len() as u64;
        }
    }

    /// Fills the access projection of cases that have none (a database from before
    /// it existed); run when the store is migrated.
    pub async fn fill_case_access(&self) -> Result<u64, StoreError> {
        let rows = query(
            "SELECT c.id, c.tenant_id, c.state, p.state AS person_state FROM cases c JOIN persons p ON p.id = c.person_id \
             WHERE NOT EXISTS (SELECT 1 FROM case_access a WHERE a.case_id = c.id)",
        )
        .fetch_all(self.write.ex())
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

    /// The rows of a person's projections: persons, and person_access when the person
    /// is new; when consents changed, the access rows of every case of the person.
    pub(super) async fn write_person_rows(
        tx: &mut Tx<'_>,
        items: &[PersonRows<'_>],
    ) -> Result<(), StoreError> {
        let stored = Self::person_rows_stored(tx, items).await?;
        Self::write_person_rows_over(tx, items, stored).await
    }

    /// What writing these persons' rows reads first: the stored cases of those whose consents
    /// changed (id, person, folded state), whose access rows follow the consents.
    pub(super) async fn person_rows_stored(
        tx: &mut Tx<'_>,
        items: &[PersonRows<'_>],
    ) -> Result<Vec<(CaseId, String, CaseState)>, StoreError> {
        let ids: Vec<String> = items
            .iter()
            .filter(|p| p.consents_changed)
            .map(|p| p.id.to_string())
            .collect();
        let mut out = Vec::new();
        let sql = "SELECT id, person_id, state FROM cases WHERE person_id IN ({ids})";
        for c in fetch_in(tx, sql, &ids).await? {
            out.push((
                CaseId(parse_uuid(&c.try_get::<String, _>("id")?)?),
                c.try_get::<String, _>("person_id")?,
                from_json(&c.try_get::<String, _>("state")?)?,
            ));
        }
        Ok(out)
    }

    /// Writes the persons' rows over what `person_rows_stored` read.
    pub(super) async fn write_person_rows_over(
        tx: &mut Tx<'_>,
        items: &[PersonRows<'_>],
        stored_cases: Vec<(CaseId, String, CaseState)>,
    ) -> Result<(), StoreError> {
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
                Val::text(person_search_key(p.state)),
            ]);
        }
        Self::insert_rows_(
            tx,
            "INSERT INTO persons (id, tenant_id, name, kana, date_of_birth, phone, household_id, registered_by_org, version, state, search_key) VALUES",
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kana = excluded.kana, date_of_birth = excluded.date_of_birth, \
             phone = excluded.phone, household_id = excluded.household_id, version = excluded.version, state = excluded.state, \
             search_key = excluded.search_key",
            11,
            rows,
        )
        .await?;
        Self::write_person_grams(
            tx,
            items
                .iter()
                .map(|p| (p.tenant, p.id, person_search_key(p.state))),
        )
        .await?;
        let new: Vec<PersonId> = items.iter().filter(|p| p.new).map(|p| p.id).collect();
        Self::refresh_person_access_many(tx, &new).await?;
        // The stored cases of the persons whose consents changed get their access rows anew
        // (cases written in this same transaction get theirs after the persons).
        let changed: std::collections::HashMap<String, &PersonRows<'_>> = items
            .iter()
            .filter(|p| p.consents_changed)
            .map(|p| (p.id.to_string(), p))
            .collect();
        for (case_id, person, case_state) in stored_cases {
            let Some(p) = changed.get(&person) else {
                continue;
            };
            Self::write_case_access(tx, p.tenant, case_id, &case_state, &p.state.consents).await?;
        }
        Ok(())
    }

    /// The rows of a meeting's projections: meetings and meeting_members.
    pub(super) async fn write_meeting_rows(
        tx: &mut Tx<'_>,
        tenant: TenantId,
        id: MeetingId,
        version: u64,
        state: &MeetingState,
    ) -> Result<(), StoreError> {
        Self::write_meeting_rows_many(tx, &[(tenant, id, version, state)]).await
    }

    /// Rewrites the rows of these meetings (their row and their members), many to a
    /// statement.
    pub(super) async fn write_meeting_rows_many(
        tx: &mut Tx<'_>,
        items: &[(TenantId, MeetingId, u64, &MeetingState)],
    ) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(items.len());
        let mut members = Vec::new();
        for (tenant, id, version, state) in items {
            rows.push(vec![
                Val::text(id.to_string()),
                Val::text(tenant.to_string()),
                Val::text(json(&state.kind)?),
                Val::text(state.scheduled_on.to_string()),
                Val::Text(state.closed_on.map(|d| d.to_string())),
                Val::Int(to_i64(*version)),
                Val::text(json(*state)?),
            ]);
            for org in state.members() {
                members.push(vec![Val::text(id.to_string()), Val::text(org.to_string())]);
            }
        }
        Self::insert_rows_(
            tx,
            "INSERT INTO meetings (id, tenant_id, kind, scheduled_on, closed_on, version, state) VALUES",
            " ON CONFLICT (id) DO UPDATE SET closed_on = excluded.closed_on, version = excluded.version, state = excluded.state",
            7,
            rows,
        )
        .await?;
        let ids: Vec<String> = items.iter().map(|(_, id, _, _)| id.to_string()).collect();
        Self::delete_in_(tx, "meeting_members", "meeting_id", &ids).await?;
        Self::insert_rows_(
            tx,
            "INSERT INTO meeting_members (meeting_id, org_id) VALUES",
            "",
            2,
            members,
        )
        .await
    }
}

/// What a person's projection rows are written from.
pub(super) struct PersonRows<'a> {
    pub(super) tenant: tsunagu_core::TenantId,
    pub(super) id: tsunagu_core::PersonId,
    pub(super) version: u64,
    pub(super) state: &'a PersonState,
    /// A new person: their person_access rows are written too.
    pub(super) new: bool,
    /// Their consents changed: the access rows of all their cases are rewritten.
    pub(super) consents_changed: bool,
}

/// What a case's projection rows are written from.
/// The person's name and kana as search compares them (`persons.search_key`): each folded by
/// `text::search_fold`, joined by a line break (which no folded text holds, so a search never
/// matches across the two). A registration merged into another person has the empty key and
/// is not found by search at all (a registered person's key always holds the line break).
pub(crate) fn person_search_key(state: &PersonState) -> String {
    if state.merged_into.is_some() {
        return String::new();
    }
    let d = &state.details;
    let kana = d.kana.as_ref().map(|k| k.as_str()).unwrap_or("");
    format!(
        "{}\n{}",
        tsunagu_core::text::search_fold(d.name.as_str()),
        tsunagu_core::text::search_fold(kana)
    )
}

/// The pairs of neighbouring characters of a search key with a line break after it
/// (`person_grams`, migration 0018): every character of the key begins one. Empty for an
/// empty key (a person merged into another is not searched for).
pub(crate) fn search_grams(key: &str) -> std::collections::BTreeSet<String> {
    if key.is_empty() {
        return Default::default();
    }
    let chars: Vec<char> = key.chars().chain(['\n']).collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// What `write_case_rows_over` reads before it writes: each stored case's caseload key
/// (tenant, organisation, worker, stage) and the consents of the cases' persons.
pub(super) struct CaseRowsStored {
    before: Vec<(String, String, String, String)>,
    /// The cases already stored (the others are new), with their indexed columns that a
    /// write may change: assigned worker, stage, stage_changed_at, stage_entered_on,
    /// earliest_due_on.
    existing: HashMap<String, [Option<String>; 5]>,
    consents: HashMap<PersonId, Vec<tsunagu_core::person::Consent>>,
}

/// The columns of `cases` the caseload list filters and sorts by (migration 0014) and the
/// breakdown reads (`assessed_issues`, 0022: the codes of the newest assessment's 課題, comma
/// separated), in the order `CASE_LIST_COLUMNS` names them; `due` is the case's `due_items`.
pub(crate) fn case_list_values(state: &CaseState, due: &[tsunagu_core::case::DueItem]) -> [Val; 9] {
    [
        Val::text(state.stage_since().to_string()),
        Val::text(state.last_contact_on.unwrap_or(state.opened_on).to_string()),
        Val::Text(state.intake.as_ref().map(|i| i.urgency.as_str().to_owned())),
        Val::Text(state.main_problem().map(str::to_owned)),
        Val::Text(state.route().map(|r| r.as_str().to_owned())),
        Val::Text(state.number.map(|n| n.key())),
        Val::Text(state.awaiting_meeting().map(|p| p.as_str().to_owned())),
        Val::Text(earliest_due(due)),
        Val::Text(state.latest_assessment.as_ref().map(|a| {
            a.issues
                .iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })),
    ]
}

/// The day of the case's earliest due item (migration 0017), as stored.
pub(crate) fn earliest_due(due: &[tsunagu_core::case::DueItem]) -> Option<String> {
    due.iter().map(|d| d.due_on).min().map(|d| d.to_string())
}

/// The names of the columns `case_list_values` gives.
pub(crate) const CASE_LIST_COLUMNS: [&str; 9] = [
    "stage_entered_on",
    "last_contact_on",
    "urgency",
    "main_problem",
    "intake_route",
    "case_number",
    "awaiting_meeting",
    "earliest_due_on",
    "assessed_issues",
];

pub(super) struct CaseRows<'a> {
    pub(super) tenant: tsunagu_core::TenantId,
    pub(super) id: tsunagu_core::CaseId,
    pub(super) version: u64,
    pub(super) state: &'a CaseState,
    pub(super) stage_changed_at: &'a str,
    pub(super) updated_at: &'a str,
}

/// A case's rows of the access projection (`policy::access_rows`) as insert values.
pub(super) fn access_values(
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
