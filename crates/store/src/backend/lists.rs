//! Reads over many records: lists, counts, search and due lists, filtered by access in the
//! query (`readable`).

use super::*;

impl Db {
    pub async fn projection<T: serde::de::DeserializeOwned>(
        &self,
        tenant: TenantId,
        kind: StreamKind,
        id: Uuid,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT version, state FROM {} WHERE id = $1 AND tenant_id = $2",
            kind.table()
        )))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(self.read.ex())
        .await?;
        row.map(|r| {
            Ok(Versioned {
                version: to_u64(r.try_get("version")?),
                state: from_json(&r.try_get::<String, _>("state")?)?,
            })
        })
        .transpose()
    }

    /// A case's projection and its person's, joined: one statement for an access check.
    pub async fn case_with_person(
        &self,
        tenant: TenantId,
        id: CaseId,
    ) -> Result<Option<(Versioned<CaseState>, Versioned<PersonState>)>, StoreError> {
        let row = query(
            "SELECT c.version AS case_version, c.state AS case_state, p.version AS person_version, \
             p.state AS person_state FROM cases c \
             JOIN persons p ON p.id = c.person_id AND p.tenant_id = c.tenant_id \
             WHERE c.id = $1 AND c.tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(self.read.ex())
        .await?;
        row.map(|r| {
            Ok((
                Versioned {
                    version: to_u64(r.try_get("case_version")?),
                    state: from_json(&r.try_get::<String, _>("case_state")?)?,
                },
                Versioned {
                    version: to_u64(r.try_get("person_version")?),
                    state: from_json(&r.try_get::<String, _>("person_state")?)?,
                },
            ))
        })
        .transpose()
    }

    pub async fn events(
        &self,
        tenant: TenantId,
        stream: Uuid,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = query(
            "SELECT version, event_type, payload, actor_user, actor_org, recorded_at, reason FROM events \
             WHERE stream_id = $1 AND tenant_id = $2 ORDER BY version",
        )
        .bind(stream.to_string())
        .bind(tenant.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter().map(stored_event).collect()
    }

    /// Case events of the given types committed after `after` (an `event_positions` place),
    /// oldest first, at most `limit`, and the place of the last one read (`after` when none).
    pub async fn case_events_after(
        &self,
        after: i64,
        types: &[&str],
        limit: u32,
    ) -> Result<(Vec<PositionedEvent>, i64), StoreError> {
        let list: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT e.position, e.tenant_id, e.stream_id, e.version, e.payload FROM event_positions e \
             WHERE e.position > $1 AND e.event_type IN ({}) ORDER BY e.position LIMIT $2",
            list.join(", ")
        );
        let mut q = query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::from(limit));
        for t in types {
            q = q.bind(*t);
        }
        let rows = q.fetch_all(self.read.ex()).await?;
        let mut last = after;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let position: i64 = r.try_get("position")?;
            last = last.max(position);
            out.push(PositionedEvent {
                position,
                tenant_id: TenantId(parse_uuid(&r.try_get::<String, _>("tenant_id")?)?),
                case_id: CaseId(parse_uuid(&r.try_get::<String, _>("stream_id")?)?),
                version: to_u64(r.try_get("version")?),
                event: from_json(&r.try_get::<String, _>("payload")?)?,
            });
        }
        Ok((out, last))
    }

    /// Every case the reader may read (the access projection): the rows of the reader's
    /// organisation, each checked as every list checks it.
    pub async fn readable_case_ids(
        &self,
        reader: &crate::Reader,
    ) -> Result<Vec<CaseId>, StoreError> {
        // One pass over the organisation's access rows: each case's first row by rank (the
        // relation that decides, as `readable` picks it) and whether it is a readable one.
        let relations = reader
            .relations
            .iter()
            .map(|x| format!("'{}'", x.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        if relations.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT case_id FROM (SELECT a.case_id, a.relation, ROW_NUMBER() OVER \
             (PARTITION BY a.case_id ORDER BY a.rank) AS n FROM case_access a \
             WHERE a.org_id = $1 AND (a.user_id IS NULL OR a.user_id = $2) \
             AND (a.valid_from IS NULL OR a.valid_from <= $3) \
             AND (a.valid_until IS NULL OR a.valid_until >= $3)) t \
             WHERE t.n = 1 AND t.relation IN ({relations})"
        );
        let rows = query(sqlx::AssertSqlSafe(sql))
            .bind(reader.org.to_string())
            .bind(reader.user.to_string())
            .bind(reader.day.to_string())
            .fetch_all(self.read.ex())
            .await?;
        rows.iter()
            .map(|r| Ok(CaseId(parse_uuid(&r.try_get::<String, _>("case_id")?)?)))
            .collect()
    }

    pub async fn readable_among(
        &self,
        reader: &crate::Reader,
        ids: &[CaseId],
    ) -> Result<Vec<CaseId>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        // A search's hits name at most a few hundred cases: one statement for them.
        for chunk in ids.chunks(1_000) {
            // The reader's parameters first ($1–$3), the ids after them, in the order they
            // are bound.
            let list = super::placeholders_list(chunk.len(), 3, false);
            let sql = format!(
                "SELECT c.id FROM cases c WHERE {} AND c.id IN ({list})",
                readable("c.id", Some(reader), 1, 2, 3)
            );
            let mut q = query(sqlx::AssertSqlSafe(sql))
                .bind(reader.org.to_string())
                .bind(reader.user.to_string())
                .bind(reader.day.to_string());
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(self.read.ex()).await? {
                out.push(CaseId(parse_uuid(&r.try_get::<String, _>("id")?)?));
            }
        }
        Ok(out)
    }

    /// The place of the newest event (0 when there is none).
    pub async fn last_event_position(&self) -> Result<i64, StoreError> {
        let row = query("SELECT COALESCE(MAX(position), 0) AS last FROM event_positions")
            .fetch_one(self.read.ex())
            .await?;
        Ok(row.try_get::<i64, _>("last")?)
    }

    pub async fn attachment_content(
        &self,
        tenant: TenantId,
        case: CaseId,
        id: AttachmentId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = query("SELECT content FROM attachment_files WHERE id = $1 AND tenant_id = $2 AND case_id = $3")
            .bind(id.to_string())
            .bind(tenant.to_string())
            .bind(case.to_string())
            .fetch_optional(self.read.ex())
            .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>("content").map_err(StoreError::from))
            .transpose()
    }

    pub async fn person_access(&self, person: PersonId) -> Result<Vec<OrgId>, StoreError> {
        let rows = query("SELECT org_id FROM person_access WHERE person_id = $1")
            .bind(person.to_string())
            .fetch_all(self.read.ex())
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
        // Compared as folded (`text::search_fold`): any script, width and spacing.
        let folded = q
            .name
            .as_deref()
            .map(tsunagu_core::text::search_fold)
            .filter(|n| !n.is_empty());
        // The persons whose name pairs (`person_grams`) the name's own pairs all are, or those
        // of a single character the pairs it begins: an index's few rows instead of every
        // person the organisation sees; the key's `LIKE` then decides.
        let (grams_condition, grams) = match folded.as_deref().map(name_grams) {
            Some(NameGrams::All(grams)) => {
                let each: Vec<String> = (0..grams.len())
                    .map(|i| {
                        format!(
                            "SELECT person_id FROM person_grams WHERE tenant_id = $1 AND gram = ${}",
                            11 + i
                        )
                    })
                    .collect();
                (format!("p.id IN ({})", each.join(" INTERSECT ")), grams)
            }
            Some(NameGrams::Begun(from, None)) => (
                "p.id IN (SELECT person_id FROM person_grams WHERE tenant_id = $1 AND gram >= $11)"
                    .to_owned(),
                vec![from],
            ),
            Some(NameGrams::Begun(from, Some(until))) => (
                "p.id IN (SELECT person_id FROM person_grams WHERE tenant_id = $1 AND gram >= $11 AND gram < $12)"
                    .to_owned(),
                vec![from, until],
            ),
            None => ("1 = 1".to_owned(), Vec::new()),
        };
        // With pairs, the tenant is compared as an expression, so that the planner starts
        // from the pairs' few persons, not from the tenant's index of all of them (SQLite did:
        // 110 ms against 20 ms for a common family name at 100,000 persons).
        let tenant_condition = if grams.is_empty() {
            "p.tenant_id = $1"
        } else {
            "p.tenant_id || '' = $1"
        };
        let name = folded.map(|n| format!("%{}%", escape_like(&n)));
        let phone = q.phone.as_deref().map(normalise_phone);
        // A date of birth or a phone number given is compared as itself, so the planner can
        // start from its index (`persons_birth`, `persons_phone`: the likely-duplicate check
        // of every registration and every imported row); not given, the condition is void.
        let birth_condition = if q.date_of_birth.is_some() {
            "p.date_of_birth = $4"
        } else {
            "$4 IS NULL"
        };
        let phone_condition = if phone.is_some() {
            "p.phone = $5"
        } else {
            "$5 IS NULL"
        };
        // A person is seen by the registering organisation, and through any of the
        // person's cases the reader may see.
        let sql = format!(
            "SELECT p.id, p.name, p.kana, p.date_of_birth, p.household_id, p.version FROM persons p \
             JOIN person_access pa ON pa.person_id = p.id AND pa.org_id = $2 \
             WHERE {tenant_condition} AND p.search_key <> '' AND {grams_condition} \
             AND ($3 IS NULL OR p.search_key LIKE $3 ESCAPE '\\') \
             AND {birth_condition} AND {phone_condition} \
             AND ($7 IS NULL OR p.household_id = $7) \
             AND ($8 IS NULL OR p.registered_by_org = $8 OR EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND {})) \
             ORDER BY p.kana, p.name LIMIT $6",
            readable("c.id", q.reader.as_ref(), 8, 9, 10)
        );
        let (r_org, r_user, r_day) = reader_binds(q.reader.as_ref());
        let mut select = query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(org.to_string())
            .bind(name)
            .bind(q.date_of_birth.map(|d| d.to_string()))
            .bind(phone)
            .bind(i64::from(q.limit.clamp(1, 500)))
            .bind(q.household.map(|h| h.to_string()))
            .bind(r_org)
            .bind(r_user)
            .bind(r_day);
        for gram in grams {
            select = select.bind(gram);
        }
        let rows = select.fetch_all(self.read.ex()).await?;
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
        let row = query(sqlx::AssertSqlSafe(sql))
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
            .fetch_one(self.read.ex())
            .await?;
        Ok(to_u64(row.try_get("n")?))
    }

    /// One page of the organisation's workers with open cases (most first, then by
    /// name), read from the caseload counts: a row per worker and stage, never a case.
    /// The open cases of each worker of the tenant with any (over every organisation), most
    /// first: counts only.
    pub async fn open_cases_per_worker(&self, tenant: TenantId) -> Result<Vec<u64>, StoreError> {
        let rows = query(
            "SELECT CAST(SUM(cases) AS BIGINT) AS n FROM caseload_counts \
             WHERE tenant_id = $1 AND stage = $2 AND worker <> $3 AND cases > 0 \
             GROUP BY worker ORDER BY n DESC",
        )
        .bind(tenant.to_string())
        .bind(CASELOAD_OPEN)
        .bind(CASELOAD_ALL)
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|r| Ok(to_u64(r.try_get::<Option<i64>, _>("n")?.unwrap_or(0))))
            .collect()
    }

    pub async fn caseload(
        &self,
        tenant: TenantId,
        org: OrgId,
        offset: u32,
        limit: u32,
    ) -> Result<CaseloadPage, StoreError> {
        let stage_of = |r: &Row| -> Result<Stage, StoreError> {
            let stage: String = r.try_get("stage")?;
            Stage::parse(&stage)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))
        };
        let mut page = CaseloadPage::default();
        for r in query(
            "SELECT stage, cases AS n FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 AND worker = $3 \
             AND stage <> $4 AND cases > 0",
        )
        .bind(tenant.to_string())
        .bind(org.to_string())
        .bind(CASELOAD_ALL)
        .bind(CASELOAD_OPEN)
        .fetch_all(self.read.ex())
        .await?
        {
            page.totals.push((stage_of(&r)?, to_u64(r.try_get("n")?)));
        }
        let rows = query(
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
        .fetch_all(self.read.ex())
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
                query(
                    "SELECT COUNT(*) AS n FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 \
                     AND stage = $3 AND worker <> $4 AND cases > 0",
                )
                .bind(tenant.to_string())
                .bind(org.to_string())
                .bind(CASELOAD_OPEN)
                .bind(CASELOAD_ALL)
                .fetch_one(self.read.ex())
                .await?
                .try_get("n")?,
            );
        }
        let ids: Vec<String> = page.workers.iter().map(|(w, _, _)| w.to_string()).collect();
        let names: HashMap<UserId, String> = page
            .workers
            .iter()
            .map(|(w, n, _)| (*w, n.clone()))
            .collect();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT worker, stage, cases FROM caseload_counts WHERE tenant_id = $1 AND org_id = $2 AND stage <> $3 AND cases > 0 AND worker IN ({})",
                placeholders_list(ids.len(), 3, false)
            );
            let mut q = query(sqlx::AssertSqlSafe(sql))
                .bind(tenant.to_string())
                .bind(org.to_string())
                .bind(CASELOAD_OPEN);
            for id in &ids {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(self.read.ex()).await? {
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
    pub async fn display_names(
        &self,
        tenant: TenantId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, String>, StoreError> {
        let mut out = HashMap::new();
        let ids: Vec<String> = users
            .iter()
            .map(|u| u.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, display_name FROM users WHERE tenant_id = $1 AND id IN ({})",
                placeholders_list(chunk.len(), 1, false)
            );
            let mut q = query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string());
            for id in chunk {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(self.read.ex()).await? {
                out.insert(
                    UserId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                    r.try_get("display_name")?,
                );
            }
        }
        Ok(out)
    }

    /// Due items past their date per worker, over an organisation's own cases, for
    /// the given workers (a page of the caseload): each worker's own index range.
    pub async fn overdue_by_worker(
        &self,
        tenant: TenantId,
        org: OrgId,
        workers: &[UserId],
        today: Date,
    ) -> Result<Vec<(UserId, u64)>, StoreError> {
        if workers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT assigned_worker, COUNT(*) AS n FROM case_due \
             WHERE tenant_id = $1 AND owner_org = $2 AND due_on < $3 AND assigned_worker IN ({}) GROUP BY assigned_worker",
            placeholders_list(workers.len(), 3, false)
        );
        let mut q = query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(org.to_string())
            .bind(today.to_string());
        for w in workers {
            q = q.bind(w.to_string());
        }
        q.fetch_all(self.read.ex())
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

    pub async fn cases(
        &self,
        tenant: TenantId,
        f: &CaseFilter,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        let sql = format!(
            "SELECT c.id, c.person_id, p.name AS person_name, c.stage, c.owner_org, c.assigned_worker, c.opened_on, \
             c.stage_changed_at, c.version FROM cases c JOIN persons p ON p.id = c.person_id \
             WHERE {} ORDER BY c.stage_changed_at {}, c.id LIMIT $6 OFFSET $7",
            case_filter_sql(f),
            if f.oldest_first { "ASC" } else { "DESC" },
        );
        let (r_org, r_user, r_day) = reader_binds(f.reader.as_ref());
        let rows = query(sqlx::AssertSqlSafe(sql))
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
            .fetch_all(self.read.ex())
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
                    assigned_worker: UserId(parse_uuid(
                        &r.try_get::<String, _>("assigned_worker")?,
                    )?),
                    opened_on: parse_date(&r.try_get::<String, _>("opened_on")?)?,
                    stage_changed_at: parse_ts(&r.try_get::<String, _>("stage_changed_at")?)?,
                    version: to_u64(r.try_get("version")?),
                })
            })
            .collect()
    }

    /// One page of the caseload list (支援ケース一覧) and how many cases match, with each
    /// listed case's items overdue on `today`: one statement for the page, one for the count,
    /// one for the page's overdue items.
    pub async fn case_list(
        &self,
        tenant: TenantId,
        f: &CaseListFilter,
        today: Date,
    ) -> Result<CaseListPage, StoreError> {
        let mut binds: Vec<Val> = vec![Val::text(tenant.to_string())];
        let mut arg = |v: Val| {
            binds.push(v);
            format!("${}", binds.len())
        };
        // Named cases are found by their ids: the tenant is then compared as an expression, so
        // no planner walks the tenant's index of every case instead (SQLite did, 240 ms at
        // 100,000 cases against 1 ms).
        let tenant_condition = if f.case_ids.is_empty() {
            "c.tenant_id = $1"
        } else {
            "c.tenant_id || '' = $1"
        };
        let mut conditions = vec![tenant_condition.to_owned()];
        if let Some(o) = f.owner_org {
            conditions.push(format!("c.owner_org = {}", arg(Val::text(o.to_string()))));
        }
        if !f.case_ids.is_empty() {
            let ids: Vec<String> = f
                .case_ids
                .iter()
                .map(|id| arg(Val::text(id.to_string())))
                .collect();
            conditions.push(format!("c.id IN ({})", ids.join(", ")));
        }
        if let Some(o) = f.team_org {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM case_team t WHERE t.case_id = c.id AND t.org_id = {})",
                arg(Val::text(o.to_string()))
            ));
        }
        if let Some(u) = f.assigned_worker {
            conditions.push(format!(
                "c.assigned_worker = {}",
                arg(Val::text(u.to_string()))
            ));
        }
        if let Some(p) = f.person {
            conditions.push(format!("c.person_id = {}", arg(Val::text(p.to_string()))));
        }
        if let Some(n) = f.case_number {
            conditions.push(format!("c.case_number = {}", arg(Val::text(n.key()))));
        }
        if f.awaiting_meeting {
            conditions.push("c.awaiting_meeting IS NOT NULL".to_owned());
        }
        if !f.stages.is_empty() {
            // Literals of core's stable codes, never input.
            let list: Vec<String> = f
                .stages
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            conditions.push(format!("c.stage IN ({})", list.join(", ")));
        }
        match f.closed {
            Some(true) => conditions.push("c.stage = 'closed'".to_owned()),
            Some(false) => conditions.push("c.stage <> 'closed'".to_owned()),
            None => {}
        }
        for (column, value) in [
            ("urgency", &f.urgency),
            ("main_problem", &f.main_problem),
            ("intake_route", &f.intake_route),
        ] {
            if let Some(v) = value {
                conditions.push(format!("c.{column} = {}", arg(Val::text(v.clone()))));
            }
        }
        // Something overdue: the count reads the range of `cases_owner_due` (or the worker's),
        // stopping at its cap; a page in the order of the stage's day walks that order's index
        // and compares the day on each row (an expression no index answers), so 50 cases are
        // found among the first few hundred instead of every overdue case sorted (250 ms at
        // 37,000 overdue cases of one organisation).
        let mut due_param = None;
        if let Some(d) = f.due_before {
            due_param = Some(arg(Val::text(d.to_string())));
            conditions.push(DUE_MARK.to_owned());
        }
        for (column, day, op) in [
            ("last_contact_on", f.contact_before, "<"),
            ("stage_entered_on", f.entered_before, "<"),
            ("opened_on", f.opened_from, ">="),
            ("opened_on", f.opened_until, "<="),
        ] {
            if let Some(d) = day {
                conditions.push(format!("c.{column} {op} {}", arg(Val::text(d.to_string()))));
            }
        }
        if let Some(reader) = &f.reader {
            let r_org = arg(Val::text(reader.org.to_string()));
            let r_user = arg(Val::text(reader.user.to_string()));
            let r_day = arg(Val::text(reader.day.to_string()));
            let number = |s: &str| s.trim_start_matches('$').parse::<u8>().unwrap_or(0);
            conditions.push(readable(
                "c.id",
                Some(reader),
                number(&r_org),
                number(&r_user),
                number(&r_day),
            ));
        }
        let limit = arg(Val::Int(i64::from(f.limit.clamp(1, 500))));
        let offset = arg(Val::Int(i64::from(f.offset)));
        let order = match f.sort {
            CaseListSort::StageEnteredOldest => "c.stage_entered_on ASC, c.id",
            CaseListSort::StageEnteredNewest => "c.stage_entered_on DESC, c.id",
            CaseListSort::LastContactOldest => "c.last_contact_on ASC, c.id",
            CaseListSort::OpenedNewest => "c.opened_on DESC, c.id",
            CaseListSort::Kana => "COALESCE(p.kana, p.name), c.id",
        };
        let conditions = conditions.join(" AND ");
        let in_order_of_entry = matches!(
            f.sort,
            CaseListSort::StageEnteredOldest | CaseListSort::StageEnteredNewest
        );
        let (page_conditions, conditions) = match &due_param {
            Some(p) => (
                conditions.replace(
                    DUE_MARK,
                    &if in_order_of_entry {
                        format!("c.earliest_due_on || '' < {p}")
                    } else {
                        format!("c.earliest_due_on < {p}")
                    },
                ),
                conditions.replace(DUE_MARK, &format!("c.earliest_due_on < {p}")),
            ),
            None => (conditions.clone(), conditions),
        };
        let sql = format!(
            "SELECT c.id, c.person_id, p.name AS person_name, p.kana AS person_kana, c.stage, c.owner_org, c.assigned_worker, \
             c.opened_on, c.stage_entered_on, c.last_contact_on, c.urgency, c.main_problem, c.intake_route, c.case_number, c.awaiting_meeting, c.version \
             FROM cases c JOIN persons p ON p.id = c.person_id WHERE {page_conditions} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let mut q = query(sqlx::AssertSqlSafe(sql));
        for v in binds.iter().cloned() {
            q = q.bind(v);
        }
        // Without a reader, no row: only the count below.
        let rows = if f.reader.is_some() {
            q.fetch_all(self.read.ex()).await?
        } else {
            Vec::new()
        };
        let mut page = CaseListPage::default();
        for r in &rows {
            let stage: String = r.try_get("stage")?;
            let day = |c: &str| -> Result<Date, StoreError> {
                parse_date(&r.try_get::<Option<String>, _>(c)?.unwrap_or_default())
            };
            page.rows.push(CaseListRow {
                id: CaseId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                case_number: r
                    .try_get::<Option<String>, _>("case_number")?
                    .as_deref()
                    .and_then(tsunagu_core::case::CaseNumber::from_key),
                person_id: PersonId(parse_uuid(&r.try_get::<String, _>("person_id")?)?),
                person_name: r.try_get("person_name")?,
                person_kana: r.try_get("person_kana")?,
                stage: Stage::parse(&stage)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))?,
                owner_org: OrgId(parse_uuid(&r.try_get::<String, _>("owner_org")?)?),
                assigned_worker: UserId(parse_uuid(&r.try_get::<String, _>("assigned_worker")?)?),
                opened_on: day("opened_on")?,
                stage_entered_on: day("stage_entered_on")?,
                last_contact_on: day("last_contact_on")?,
                urgency: r.try_get("urgency")?,
                main_problem: r.try_get("main_problem")?,
                intake_route: r.try_get("intake_route")?,
                awaiting_meeting: r.try_get("awaiting_meeting")?,
                overdue_since: None,
                overdue_items: 0,
                version: to_u64(r.try_get("version")?),
            });
        }
        // The count binds the same parameters but limit and offset, which it does not name;
        // PostgreSQL wants every bound parameter used, so they are compared as no-ops. With a
        // reader each case counted is checked against the access projection, so the count
        // stops past `COUNT_CAP` cases beyond the page (the answer says it is a lower bound).
        if f.without_count {
            page.total_exact = false;
            return self.overdue_of_page(page, today).await;
        }
        let cap = f
            .reader
            .as_ref()
            .map(|_| u64::from(f.offset) + COUNT_CAP + 1);
        let sql = match cap {
            Some(cap) => format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM cases c WHERE {conditions} AND {limit} > 0 AND {offset} >= 0 LIMIT {cap}) counted"
            ),
            None => format!(
                "SELECT COUNT(*) AS n FROM cases c WHERE {conditions} AND {limit} > 0 AND {offset} >= 0"
            ),
        };
        let mut q = query(sqlx::AssertSqlSafe(sql));
        for v in binds {
            q = q.bind(v);
        }
        page.total = to_u64(q.fetch_one(self.read.ex()).await?.try_get("n")?);
        page.total_exact = cap.is_none_or(|cap| page.total < cap);
        if !page.total_exact {
            page.total -= 1;
        }
        self.overdue_of_page(page, today).await
    }

    /// Each listed case's items overdue on `today`, in one statement.
    async fn overdue_of_page(
        &self,
        mut page: CaseListPage,
        today: Date,
    ) -> Result<CaseListPage, StoreError> {
        let ids: Vec<String> = page.rows.iter().map(|c| c.id.to_string()).collect();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT case_id, MIN(due_on) AS since, COUNT(*) AS n FROM case_due WHERE due_on < $1 AND case_id IN ({}) GROUP BY case_id",
                placeholders_list(ids.len(), 1, false)
            );
            let mut q = query(sqlx::AssertSqlSafe(sql)).bind(today.to_string());
            for id in ids {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.read.ex()).await? {
                let id: String = r.try_get("case_id")?;
                if let Some(row) = page.rows.iter_mut().find(|c| c.id.to_string() == id) {
                    row.overdue_since = Some(parse_date(&r.try_get::<String, _>("since")?)?);
                    row.overdue_items = to_u64(r.try_get("n")?);
                }
            }
        }
        Ok(page)
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
            if worker.is_some() {
                "d.assigned_worker = $4"
            } else {
                "$4 IS NULL"
            },
            if org.is_some() {
                "EXISTS (SELECT 1 FROM case_team t WHERE t.case_id = d.case_id AND t.org_id = $5)"
            } else {
                "$5 IS NULL"
            },
            readable("d.case_id", reader, 6, 7, 8)
        );
        let (r_org, r_user, r_day) = reader_binds(reader);
        let rows = query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(horizon_until.to_string())
            .bind(plan_end_until.to_string())
            .bind(worker)
            .bind(org)
            .bind(r_org)
            .bind(r_user)
            .bind(r_day)
            .fetch_all(self.read.ex())
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
                    assigned_worker: UserId(parse_uuid(
                        &r.try_get::<String, _>("assigned_worker")?,
                    )?),
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
        let rows = query(
            "SELECT kind, COUNT(*) AS due, SUM(CASE WHEN due_on < $4 THEN 1 ELSE 0 END) AS overdue \
             FROM case_due WHERE tenant_id = $1 \
             AND ((kind <> 'plan_period_end' AND due_on <= $2) OR (kind = 'plan_period_end' AND due_on <= $3)) \
             GROUP BY kind",
        )
        .bind(tenant.to_string())
        .bind(horizon_until.to_string())
        .bind(plan_end_until.to_string())
        .bind(today.to_string())
        .fetch_all(self.read.ex())
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

    pub async fn meetings(
        &self,
        tenant: TenantId,
        org: OrgId,
        q: &MeetingQuery,
    ) -> Result<Vec<MeetingSummary>, StoreError> {
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
        let mut query = query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(org.to_string())
            .bind(q.from.to_string());
        if let Some(until) = q.until {
            query = query.bind(until.to_string());
        }
        let rows = query.fetch_all(self.read.ex()).await?;
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

/// Where the overdue condition stands in a case list's conditions until each statement writes
/// it its own way.
const DUE_MARK: &str = "/*due*/";

/// How many cases past a page the caseload list counts with access checks.
const COUNT_CAP: u64 = 1_000;

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

/// The name pairs (`person_grams`) a folded name query looks up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NameGrams {
    /// The query's own pairs, at most four spread over it (the first and the last among them):
    /// a person the query is part of has every one.
    All(Vec<String>),
    /// A single character: the pairs from it up to (not including) the next character.
    Begun(String, Option<String>),
}

pub(crate) fn name_grams(folded: &str) -> NameGrams {
    let chars: Vec<char> = folded.chars().collect();
    if let [c] = chars[..] {
        // The next character, past the surrogates (which no string holds).
        let next = (u32::from(c) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        return NameGrams::Begun(c.to_string(), next.map(String::from));
    }
    // The distinct pairs in the query's order, for spreading: first, last and evenly between.
    let ordered: Vec<String> = {
        let mut seen = std::collections::BTreeSet::new();
        chars
            .windows(2)
            .map(|w| w.iter().collect::<String>())
            .filter(|p| seen.insert(p.clone()))
            .collect()
    };
    const MOST: usize = 4;
    if ordered.len() <= MOST {
        return NameGrams::All(ordered);
    }
    let last = ordered.len() - 1;
    let picked: Vec<String> = (0..MOST)
        .map(|i| ordered[i * last / (MOST - 1)].clone())
        .collect();
    NameGrams::All(picked)
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

#[cfg(test)]
mod tests {
    use super::{NameGrams, name_grams};
    use crate::backend::projections::search_grams;
    use proptest::prelude::*;

    proptest! {
        /// A key that holds the query has every pair the query looks up (or, for one
        /// character, a pair in its range): the pairs never hide a person the key's `LIKE`
        /// would find.
        #[test]
        fn a_key_holding_the_query_has_its_pairs(
            before in "[あ-ん林田山a-c]{0,6}",
            q in "[あ-ん林田山a-c\u{10FFFF}]{1,9}",
            after in "[あ-ん林田山a-c]{0,6}",
            kana in "[ア-ンa-c]{0,6}",
        ) {
            let key = format!("{before}{q}{after}\n{kana}");
            let pairs = search_grams(&key);
            match name_grams(&q) {
                NameGrams::All(wanted) => {
                    prop_assert!(!wanted.is_empty() && wanted.len() <= 4);
                    for w in wanted {
                        prop_assert!(pairs.contains(&w), "{w} not in {pairs:?}");
                    }
                }
                NameGrams::Begun(from, until) => {
                    let begun = pairs
                        .iter()
                        .any(|p| *p >= from && until.as_ref().is_none_or(|u| p < u));
                    prop_assert!(begun);
                }
            }
        }
    }

    #[test]
    fn a_long_query_looks_up_four_pairs_from_its_first_to_its_last() {
        assert_eq!(
            name_grams("やまだはなこ"),
            NameGrams::All(vec![
                "やま".into(),
                "まだ".into(),
                "だは".into(),
                "なこ".into()
            ])
        );
        assert_eq!(
            name_grams("林"),
            NameGrams::Begun("林".into(), Some("枘".into()))
        );
    }
}
