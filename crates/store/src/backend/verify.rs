//! `verify`: every event's hash chain, every stream's fold and every projection table
//! recomputed and compared, a page of streams at a time.

use super::*;

/// Audit entries read per page by `verify` and `audit verify`.
pub(super) const VERIFY_PAGE: usize = 2000;
/// Streams read per page by `verify`, each with all its events and projection rows.
pub(super) const VERIFY_STREAMS: usize = 250;

impl Db {
    pub async fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut findings = self.engine_check().await?;
        // What the audit trail recorded of each stream's writes (the last one wins),
        // read page by page: one compact entry per stream, never the log itself.
        let mut recorded: HashMap<Uuid, (u64, [u8; 32])> = HashMap::new();
        let mut after_seq: i64 = -1;
        loop {
            let rows = query(sqlx::AssertSqlSafe(format!(
                "SELECT seq, events FROM audit_log WHERE seq > $1 AND events IS NOT NULL ORDER BY seq LIMIT {VERIFY_PAGE}"
            )))
            .bind(after_seq)
            .fetch_all(self.read.ex())
            .await?;
            let Some(last) = rows.last() else { break };
            after_seq = last.try_get("seq")?;
            for r in &rows {
                let heads: String = r.try_get("events")?;
                for head in heads.split_whitespace() {
                    let Some((sid, rest)) = head.split_once('@') else {
                        continue;
                    };
                    let Some((version, hash)) = rest.split_once('=') else {
                        continue;
                    };
                    let (Ok(sid), Ok(version), Some(hash)) = (
                        Uuid::parse_str(sid),
                        version.parse::<u64>(),
                        hash_bytes(hash),
                    ) else {
                        findings.push(format!(
                            "audit entry {after_seq}: a recorded stream head cannot be read"
                        ));
                        continue;
                    };
                    recorded.insert(sid, (version, hash));
                }
            }
        }
        // The streams page by page in id order, each page with its events and every
        // projection row of its records read by id range: memory stays bounded by a
        // page, and each table is read once per page, not once per record.
        let mut after = String::new();
        loop {
            let streams = query(sqlx::AssertSqlSafe(format!(
                "SELECT stream_id, stream_type, version, head_hash FROM streams WHERE stream_id > $1 ORDER BY stream_id LIMIT {VERIFY_STREAMS}"
            )))
            .bind(&after)
            .fetch_all(self.read.ex())
            .await?;
            let Some(last) = streams.last() else { break };
            let until: String = last.try_get("stream_id")?;
            let page = self.verify_load(&after, &until).await?;
            self.verify_page(&mut findings, &streams, page, &mut recorded)
                .await?;
            after = until;
        }
        // Each year's case number counter is at or above every number given in it (the
        // numbers themselves were checked with each case against its events).
        let mut highest: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for r in query("SELECT tenant_id, case_number FROM cases WHERE case_number IS NOT NULL")
            .fetch_all(self.read.ex())
            .await?
        {
            let number: String = r.try_get("case_number")?;
            let parsed = number
                .split_once('-')
                .and_then(|(fy, seq)| Some((fy.parse::<i64>().ok()?, seq.parse::<i64>().ok()?)));
            let Some((fy, seq)) = parsed else {
                findings.push(format!("cases: case number {number} cannot be read"));
                continue;
            };
            let top = highest.entry((r.try_get("tenant_id")?, fy)).or_default();
            *top = (*top).max(seq);
        }
        let mut counters: HashMap<(String, i64), i64> = HashMap::new();
        for r in query("SELECT tenant_id, fiscal_year, last FROM case_numbers")
            .fetch_all(self.read.ex())
            .await?
        {
            counters.insert(
                (r.try_get("tenant_id")?, r.try_get("fiscal_year")?),
                r.try_get("last")?,
            );
        }
        for ((tenant, fy), top) in highest {
            if counters.get(&(tenant.clone(), fy)).copied().unwrap_or(0) < top {
                findings.push(format!(
                    "case_numbers: the counter of fiscal year {fy} of tenant {tenant} is below case number {top}, which it gave"
                ));
            }
        }
        // The caseload counts are sums over `cases` (whose rows were checked with
        // each case): a count row that differs, either way, is named.
        let count_rows =
            "SELECT tenant_id, org_id, worker, stage, cases FROM caseload_counts WHERE cases <> 0";
        let case_rows = format!(
            "SELECT * FROM (\
             SELECT tenant_id, owner_org, assigned_worker, stage, COUNT(*) AS n FROM cases GROUP BY tenant_id, owner_org, assigned_worker, stage \
             UNION ALL SELECT tenant_id, owner_org, '{all}', stage, COUNT(*) FROM cases GROUP BY tenant_id, owner_org, stage \
             UNION ALL SELECT tenant_id, owner_org, assigned_worker, '{open}', COUNT(*) FROM cases WHERE stage <> 'closed' GROUP BY tenant_id, owner_org, assigned_worker \
             UNION ALL SELECT tenant_id, owner_org, '{all}', '{open}', COUNT(*) FROM cases WHERE stage <> 'closed' GROUP BY tenant_id, owner_org\
             ) expected",
            all = CASELOAD_ALL,
            open = CASELOAD_OPEN
        );
        for (sql, what) in [
            (
                format!("{count_rows} EXCEPT {case_rows}"),
                "differs from the cases it counts",
            ),
            (
                format!("{case_rows} EXCEPT {count_rows}"),
                "is missing or differs (the cases count otherwise)",
            ),
        ] {
            for r in query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.read.ex())
                .await?
            {
                findings.push(format!(
                    "caseload_counts: the row of worker {} in stage {} of organisation {} {what}",
                    r.try_get::<String, _>(2)?,
                    r.try_get::<String, _>(3)?,
                    r.try_get::<String, _>(1)?,
                ));
            }
        }
        for r in query("SELECT DISTINCT stream_id FROM events WHERE stream_id > $1")
            .bind(&after)
            .fetch_all(self.read.ex())
            .await?
        {
            let sid: String = r.try_get("stream_id")?;
            findings.push(format!("events of stream {sid} have no stream record"));
        }
        for (sid, (version, _)) in &recorded {
            findings.push(format!(
                "stream {sid}: the audit trail records a write up to event {version}, but the stream is gone"
            ));
        }
        Ok(findings)
    }

    /// Checks one page of streams (`streams`, in id order) against their events and
    /// projection rows (`page`), taking each stream's recorded head out of `recorded`.
    pub(super) async fn verify_page(
        &self,
        findings: &mut Vec<String>,
        streams: &[Row],
        mut page: VerifyPage,
        recorded: &mut HashMap<Uuid, (u64, [u8; 32])>,
    ) -> Result<(), StoreError> {
        findings.append(&mut page.unreadable);
        // The consents of the persons of this page's cases (the access rows depend
        // on them), wherever those persons' streams fall.
        let persons: BTreeSet<String> = page.cases.values().map(|c| c.person_id.clone()).collect();
        let persons: Vec<String> = persons.into_iter().collect();
        let mut consents: HashMap<String, Vec<tsunagu_core::person::Consent>> = HashMap::new();
        for chunk in persons.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, state FROM persons WHERE id IN ({})",
                placeholders_list(chunk.len(), 0, self.read.anonymous())
            );
            for r in with_ids(sql, chunk, 1).fetch_all(self.read.ex()).await? {
                let state: Option<PersonState> = from_json(&r.try_get::<String, _>("state")?).ok();
                consents.insert(
                    r.try_get("id")?,
                    state.map(|s| s.consents).unwrap_or_default(),
                );
            }
        }
        for s in streams {
            let sid: String = s.try_get("stream_id")?;
            let stype: String = s.try_get("stream_type")?;
            let version = to_u64(s.try_get("version")?);
            let head_hash: Option<String> = s.try_get("head_hash")?;
            let chain = page.chains.remove(&sid).unwrap_or_default();
            let recorded_head = Uuid::parse_str(&sid)
                .ok()
                .and_then(|id| recorded.remove(&id))
                .map(|(v, h)| (v, hex::encode(h)));
            findings.extend(chain_findings(
                &stype,
                &sid,
                version,
                head_hash.as_deref(),
                &chain,
                recorded_head,
            ));
            let events = page.events.remove(&sid).unwrap_or_default();
            let contiguous = events
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64 + 1);
            if !contiguous || events.len() as u64 != version {
                findings.push(format!(
                    "{stype} {sid}: events are not numbered 1..{version}"
                ));
                continue;
            }
            let Some(kind) = StreamKind::parse(&stype) else {
                findings.push(format!("stream {sid}: unknown stream type {stype}"));
                continue;
            };
            let projection = match kind {
                StreamKind::Case => page.cases.get(&sid).map(|c| (c.version, c.state.clone())),
                StreamKind::Person => page.persons.remove(&sid),
                StreamKind::Meeting => page.meetings.remove(&sid),
            };
            let Some((stored_version, stored)) = projection else {
                findings.push(format!("{stype} {sid}: no projection row"));
                continue;
            };
            if stored_version != version {
                findings.push(format!(
                    "{stype} {sid}: projection version differs from the stream"
                ));
            }
            let payloads = events.iter().map(|e| e.payload.clone());
            match kind {
                StreamKind::Case => {
                    let evs: Result<Vec<CaseEvent>, _> =
                        payloads.map(serde_json::from_value).collect();
                    let Ok(evs) = evs else {
                        findings.push(format!("case {sid}: an event cannot be read"));
                        continue;
                    };
                    let folded = CaseState::fold(evs.iter());
                    compare(findings, kind.as_str(), &sid, folded.as_ref(), &stored);
                    let timed: Vec<(CaseEvent, Timestamp)> = evs
                        .into_iter()
                        .zip(events.iter().map(|e| e.recorded_at))
                        .collect();
                    if let Some(state) = folded {
                        let consents = consents
                            .get(&state.person_id.to_string())
                            .cloned()
                            .unwrap_or_default();
                        page.check_case(
                            findings,
                            &sid,
                            &state,
                            stage_entered_at(&timed),
                            &consents,
                        );
                    }
                }
                StreamKind::Person => {
                    let evs: Result<Vec<PersonEvent>, _> =
                        payloads.map(serde_json::from_value).collect();
                    let Ok(evs) = evs else {
                        findings.push(format!("person {sid}: an event cannot be read"));
                        continue;
                    };
                    let folded = PersonState::fold(evs.iter());
                    compare(findings, kind.as_str(), &sid, folded.as_ref(), &stored);
                    if let Some(state) = folded {
                        if page.person_keys.remove(&sid).flatten()
                            != Some(super::projections::person_search_key(&state))
                        {
                            findings.push(format!(
                                "person {sid}: the search key differs from the fold"
                            ));
                        }
                        // Seen by the registering organisation and the teams of the
                        // person's cases (whose team rows are checked with the case).
                        let mut expected = page.person_teams.remove(&sid).unwrap_or_default();
                        expected.insert(state.registered_by_org.to_string());
                        if page.person_access.remove(&sid).unwrap_or_default() != expected {
                            findings.push(format!(
                                "person {sid}: rows of person_access differ from the fold"
                            ));
                        }
                        let key = super::projections::person_search_key(&state);
                        if page.person_grams.remove(&sid).unwrap_or_default()
                            != super::projections::search_grams(&key)
                        {
                            findings.push(format!(
                                "person {sid}: rows of person_grams differ from the fold"
                            ));
                        }
                    }
                }
                StreamKind::Meeting => {
                    let evs: Result<Vec<MeetingEvent>, _> =
                        payloads.map(serde_json::from_value).collect();
                    let Ok(evs) = evs else {
                        findings.push(format!("meeting {sid}: an event cannot be read"));
                        continue;
                    };
                    let folded = MeetingState::fold(evs.iter());
                    compare(findings, kind.as_str(), &sid, folded.as_ref(), &stored);
                    if let Some(state) = folded {
                        let expected: BTreeSet<String> =
                            state.members().iter().map(|o| o.to_string()).collect();
                        if page.meeting_members.remove(&sid).unwrap_or_default() != expected {
                            findings.push(format!(
                                "meeting {sid}: rows of meeting_members differ from the fold"
                            ));
                        }
                    }
                }
            }
        }
        for sid in page.chains.keys() {
            findings.push(format!("events of stream {sid} have no stream record"));
        }
        Ok(())
    }

    /// Everything `verify` compares for the streams with ids in (`after`, `until`]:
    /// their events and the rows of every projection table, one range read each.
    pub(super) async fn verify_load(
        &self,
        after: &str,
        until: &str,
    ) -> Result<VerifyPage, StoreError> {
        let read = |sql: &'static str| {
            query(sql)
                .bind(after.to_owned())
                .bind(until.to_owned())
                .fetch_all(self.read.ex())
        };
        let mut page = VerifyPage::default();
        let rows = read(
            "SELECT stream_id, version, tenant_id, event_type, payload, actor_user, actor_org, recorded_at, reason, hash \
             FROM events WHERE stream_id > $1 AND stream_id <= $2 ORDER BY stream_id, version",
        )
        .await?;
        for r in &rows {
            let sid: String = r.try_get("stream_id")?;
            let version = to_u64(r.try_get("version")?);
            let stored_hash: Option<String> = r.try_get("hash")?;
            let chain = page.chains.entry(sid.clone()).or_default();
            // Events from before hashing carry none; the chain starts after them.
            let prev = chain
                .last()
                .filter(|(_, h, _)| h.is_some())
                .map_or(crate::audit::GENESIS_HASH.to_owned(), |(_, _, c)| c.clone());
            let computed = crate::audit::event_hash(
                &prev,
                &sid,
                version,
                &r.try_get::<String, _>("tenant_id")?,
                &r.try_get::<String, _>("event_type")?,
                &r.try_get::<String, _>("payload")?,
                &r.try_get::<String, _>("actor_user")?,
                &r.try_get::<String, _>("actor_org")?,
                &r.try_get::<String, _>("recorded_at")?,
                r.try_get::<Option<String>, _>("reason")?.as_deref(),
            );
            chain.push((version, stored_hash, computed));
            match stored_event(r) {
                Ok(e) => page.events.entry(sid).or_default().push(e),
                Err(_) => page.unreadable.push(format!(
                    "stream {sid} event {version}: the row cannot be read"
                )),
            }
        }
        for r in read("SELECT id, person_id, version, state, stage, stage_changed_at, stage_entered_on, last_contact_on, urgency, main_problem, intake_route, case_number, awaiting_meeting, earliest_due_on, assessed_issues \
             FROM cases WHERE id > $1 AND id <= $2").await? {
            let list = super::projections::CASE_LIST_COLUMNS
                .iter()
                .map(|c| r.try_get::<Option<String>, _>(*c))
                .collect::<Result<Vec<_>, _>>()?;
            page.cases.insert(
                r.try_get("id")?,
                VerifyCase {
                    person_id: r.try_get("person_id")?,
                    version: to_u64(r.try_get("version")?),
                    state: r.try_get("state")?,
                    stage: r.try_get("stage")?,
                    stage_changed_at: r.try_get("stage_changed_at")?,
                    list,
                },
            );
        }
        for r in
            read("SELECT id, version, state, search_key FROM persons WHERE id > $1 AND id <= $2")
                .await?
        {
            let id: String = r.try_get("id")?;
            page.person_keys
                .insert(id.clone(), r.try_get("search_key")?);
            page.persons
                .insert(id, (to_u64(r.try_get("version")?), r.try_get("state")?));
        }
        for r in read("SELECT id, version, state FROM meetings WHERE id > $1 AND id <= $2").await? {
            page.meetings.insert(
                r.try_get("id")?,
                (to_u64(r.try_get("version")?), r.try_get("state")?),
            );
        }
        for r in read("SELECT case_id, org_id FROM case_team WHERE case_id > $1 AND case_id <= $2")
            .await?
        {
            page.team
                .entry(r.try_get("case_id")?)
                .or_default()
                .insert(r.try_get("org_id")?);
        }
        for r in
            read("SELECT case_id, kind, due_on FROM case_due WHERE case_id > $1 AND case_id <= $2")
                .await?
        {
            page.due
                .entry(r.try_get("case_id")?)
                .or_default()
                .insert((r.try_get("kind")?, r.try_get("due_on")?));
        }
        for r in read(
            "SELECT case_id, kind, on_date, employment_support FROM case_milestones WHERE case_id > $1 AND case_id <= $2",
        )
        .await?
        {
            page.milestones
                .entry(r.try_get("case_id")?)
                .or_default()
                .insert((
                    r.try_get("kind")?,
                    r.try_get("on_date")?,
                    r.try_get("employment_support")?,
                ));
        }
        for r in read(
            "SELECT case_id, kind, on_date, detail, days FROM case_process WHERE case_id > $1 AND case_id <= $2",
        )
        .await?
        {
            page.process
                .entry(r.try_get("case_id")?)
                .or_default()
                .push((
                    r.try_get("kind")?,
                    r.try_get("on_date")?,
                    r.try_get("detail")?,
                    r.try_get("days")?,
                ));
        }
        for r in read(
            "SELECT case_id, org_id, user_id, relation, valid_from, valid_until, rank FROM case_access WHERE case_id > $1 AND case_id <= $2",
        )
        .await?
        {
            page.access.entry(r.try_get("case_id")?).or_default().insert((
                r.try_get("org_id")?,
                r.try_get("user_id")?,
                r.try_get("relation")?,
                r.try_get("valid_from")?,
                r.try_get("valid_until")?,
                r.try_get("rank")?,
            ));
        }
        for r in read(
            "SELECT case_id, id, sha256, CAST(length(content) AS BIGINT) AS size FROM attachment_files WHERE case_id > $1 AND case_id <= $2",
        )
        .await?
        {
            page.files
                .entry(r.try_get("case_id")?)
                .or_default()
                .insert((r.try_get("id")?, r.try_get("sha256")?, r.try_get("size")?));
        }
        for r in read(
            "SELECT person_id, gram FROM person_grams WHERE person_id > $1 AND person_id <= $2",
        )
        .await?
        {
            page.person_grams
                .entry(r.try_get("person_id")?)
                .or_default()
                .insert(r.try_get("gram")?);
        }
        for r in read(
            "SELECT person_id, org_id FROM person_access WHERE person_id > $1 AND person_id <= $2",
        )
        .await?
        {
            page.person_access
                .entry(r.try_get("person_id")?)
                .or_default()
                .insert(r.try_get("org_id")?);
        }
        for r in read(
            "SELECT DISTINCT c.person_id, t.org_id FROM case_team t JOIN cases c ON c.id = t.case_id \
             WHERE c.person_id > $1 AND c.person_id <= $2",
        )
        .await?
        {
            page.person_teams.entry(r.try_get("person_id")?).or_default().insert(r.try_get("org_id")?);
        }
        for r in read("SELECT meeting_id, org_id FROM meeting_members WHERE meeting_id > $1 AND meeting_id <= $2").await? {
            page.meeting_members.entry(r.try_get("meeting_id")?).or_default().insert(r.try_get("org_id")?);
        }
        Ok(page)
    }
}

/// Compares a stored projection with the fold of the stream's events.
/// One case's projection row as `verify` reads it.
pub(super) struct VerifyCase {
    pub(super) person_id: String,
    pub(super) version: u64,
    pub(super) state: String,
    pub(super) stage: String,
    pub(super) stage_changed_at: String,
    /// The caseload list's columns (`projections::CASE_LIST_COLUMNS`), in that order.
    pub(super) list: Vec<Option<String>>,
}

/// A row of `case_access` as `verify` compares it: organisation, user, relation, valid from,
/// valid until, rank.
/// A row of `case_process`: kind, day, detail, days.
pub(super) type ProcessRow = (String, String, String, Option<i64>);

pub(super) type AccessRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
);

/// One page of `verify`: the events and projection rows of a range of stream ids, keyed by id.
#[derive(Default)]
pub(super) struct VerifyPage {
    /// Each stream's chain: (version, stored hash, recomputed hash) per event.
    pub(super) chains: HashMap<String, Vec<(u64, Option<String>, String)>>,
    pub(super) events: HashMap<String, Vec<crate::StoredEvent>>,
    pub(super) unreadable: Vec<String>,
    pub(super) cases: HashMap<String, VerifyCase>,
    pub(super) persons: HashMap<String, (u64, String)>,
    /// Each person row's `search_key`.
    pub(super) person_keys: HashMap<String, Option<String>>,
    pub(super) meetings: HashMap<String, (u64, String)>,
    pub(super) team: HashMap<String, BTreeSet<String>>,
    pub(super) due: HashMap<String, BTreeSet<(String, String)>>,
    /// Each case's milestones: kind, day, employment support (0 or 1).
    pub(super) milestones: HashMap<String, BTreeSet<(String, String, i64)>>,
    /// Each case's process marks: kind, day, detail, days.
    pub(super) process: HashMap<String, Vec<ProcessRow>>,
    pub(super) access: HashMap<String, BTreeSet<AccessRow>>,
    pub(super) files: HashMap<String, BTreeSet<(String, String, i64)>>,
    pub(super) person_access: HashMap<String, BTreeSet<String>>,
    /// Each person's name pairs (`person_grams`).
    pub(super) person_grams: HashMap<String, BTreeSet<String>>,
    /// The organisations on the teams of each person's cases.
    pub(super) person_teams: HashMap<String, BTreeSet<String>>,
    pub(super) meeting_members: HashMap<String, BTreeSet<String>>,
}

impl VerifyPage {
    /// Compares a case's projection rows with what its folded state makes of them: the stage
    /// columns, team, due items, access rows (with the person's `consents`) and attachment files.
    fn check_case(
        &mut self,
        findings: &mut Vec<String>,
        sid: &str,
        state: &CaseState,
        entered: Option<Timestamp>,
        consents: &[tsunagu_core::person::Consent],
    ) {
        if let Some(row) = self.cases.get(sid) {
            if row.stage != state.stage.as_str() {
                findings.push(format!("case {sid}: stage column differs from the fold"));
            }
            if parse_ts(&row.stage_changed_at).ok() != entered {
                findings.push(format!(
                    "case {sid}: stage_changed_at differs from the write that entered the stage"
                ));
            }
            let expected: Vec<Option<String>> =
                super::projections::case_list_values(state, &due_items(state))
                    .into_iter()
                    .map(|v| match v {
                        Val::Text(t) => t,
                        _ => None,
                    })
                    .collect();
            for ((column, stored), expected) in super::projections::CASE_LIST_COLUMNS
                .iter()
                .zip(&row.list)
                .zip(&expected)
            {
                if stored != expected {
                    findings.push(format!("case {sid}: {column} differs from the fold"));
                }
            }
        }
        let expected: BTreeSet<String> = state.team.iter().map(|o| o.to_string()).collect();
        if self.team.remove(sid).unwrap_or_default() != expected {
            findings.push(format!("case {sid}: team rows differ from the fold"));
        }
        let expected: BTreeSet<(String, String)> = due_items(state)
            .iter()
            .map(|d| (d.kind.as_str().to_owned(), d.due_on.to_string()))
            .collect();
        if self.due.remove(sid).unwrap_or_default() != expected {
            findings.push(format!("case {sid}: due rows differ from the fold"));
        }
        let expected: BTreeSet<(String, String, i64)> = tsunagu_core::stats::milestones(state)
            .iter()
            .map(|m| {
                (
                    m.kind.as_str().to_owned(),
                    m.on.to_string(),
                    i64::from(m.employment_support),
                )
            })
            .collect();
        if self.milestones.remove(sid).unwrap_or_default() != expected {
            findings.push(format!(
                "case {sid}: rows of case_milestones differ from the fold"
            ));
        }
        let mut expected: Vec<ProcessRow> = tsunagu_core::stats::process_marks(state)
            .into_iter()
            .map(|m| {
                (
                    m.kind.as_str().to_owned(),
                    m.on.to_string(),
                    m.detail,
                    m.days.map(i64::from),
                )
            })
            .collect();
        expected.sort();
        let mut stored = self.process.remove(sid).unwrap_or_default();
        stored.sort();
        if stored != expected {
            findings.push(format!(
                "case {sid}: rows of case_process differ from the fold"
            ));
        }
        let expected: BTreeSet<AccessRow> = tsunagu_core::policy::access_rows(state, consents)
            .into_iter()
            .map(|a| {
                (
                    a.org.to_string(),
                    a.user.map(|u| u.to_string()),
                    a.relation.as_str().to_owned(),
                    a.from.map(|d| d.to_string()),
                    a.until.map(|d| d.to_string()),
                    i64::from(a.rank),
                )
            })
            .collect();
        if self.access.remove(sid).unwrap_or_default() != expected {
            findings.push(format!(
                "case {sid}: rows of case_access differ from the fold"
            ));
        }
        let expected: BTreeSet<(String, String, i64)> = state
            .attachments
            .iter()
            .map(|a| (a.id.to_string(), a.sha256.clone(), to_i64(a.size)))
            .collect();
        if self.files.remove(sid).unwrap_or_default() != expected {
            findings.push(format!(
                "case {sid}: attachment files differ from the events"
            ));
        }
    }
}

/// The 32 bytes of a hex SHA-256.
pub(super) fn hash_bytes(hex_text: &str) -> Option<[u8; 32]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

pub(super) fn compare<T: serde::Serialize>(
    findings: &mut Vec<String>,
    what: &str,
    id: &str,
    folded: Option<&T>,
    stored: &str,
) {
    let folded = folded.and_then(|f| serde_json::to_value(f).ok());
    let stored: Option<serde_json::Value> = serde_json::from_str(stored).ok();
    if folded.is_none() || folded != stored {
        findings.push(format!(
            "{what} {id}: the stored projection differs from the fold of its events"
        ));
    }
}

/// What a stream's hash chain says: every event whose stored hash does not follow from the one
/// before (modified, inserted or reordered), an unhashed event after hashed ones (inserted), a
/// head that is not the last event's hash (the last events removed or replaced), and events the
/// audit trail recorded that are not there as recorded (removed, or rewritten with the chain).
pub(super) fn chain_findings(
    stype: &str,
    sid: &str,
    version: u64,
    head: Option<&str>,
    chain: &[(u64, Option<String>, String)],
    recorded: Option<(u64, String)>,
) -> Vec<String> {
    let mut findings = Vec::new();
    let mut hashed = false;
    for (v, stored, computed) in chain {
        match stored {
            Some(h) => {
                hashed = true;
                if h != computed {
                    findings.push(format!(
                        "{stype} {sid} event {v}: modified, inserted or reordered outside the application (its hash does not follow the chain)"
                    ));
                }
            }
            None if hashed => findings.push(format!(
                "{stype} {sid} event {v}: carries no hash after hashed events (inserted outside the application)"
            )),
            None => {}
        }
    }
    let last = chain.last();
    if let (Some(head), Some((v, stored, _))) = (head, last)
        && stored.as_deref() != Some(head)
    {
        findings.push(format!(
            "{stype} {sid} event {v}: the stream's last recorded event is not this one (events after it were removed or replaced)"
        ));
    }
    if let Some((rv, rh)) = recorded {
        match chain.iter().find(|(v, _, _)| *v == rv) {
            None => findings.push(format!(
                "{stype} {sid} event {rv}: recorded in the audit trail but missing (deleted outside the application; the stream has {version})"
            )),
            Some((_, stored, computed)) if stored.as_deref() != Some(rh.as_str()) || *computed != rh => {
                findings.push(format!(
                    "{stype} {sid} event {rv}: differs from what the audit trail recorded when it was written"
                ))
            }
            Some(_) => {}
        }
    }
    findings
}

impl Db {
    /// The engine's own checks: SQLite's integrity and foreign-key checks; on PostgreSQL, which
    /// checks constraints on write, that the schema is complete and readable.
    async fn engine_check(&self) -> Result<Vec<String>, StoreError> {
        let mut findings = Vec::new();
        match self.read {
            Pool::Sqlite(_) => {
                for r in query("PRAGMA integrity_check")
                    .fetch_all(self.read.ex())
                    .await?
                {
                    let line: String = r.try_get(0)?;
                    if line != "ok" {
                        findings.push(format!("sqlite integrity_check: {line}"));
                    }
                }
                let fk = query("PRAGMA foreign_key_check")
                    .fetch_all(self.read.ex())
                    .await?;
                if !fk.is_empty() {
                    findings.push(format!("sqlite foreign_key_check: {} violations", fk.len()));
                }
            }
            Pool::Postgres(_) => {
                let row = query(
                    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() \
                     AND table_name IN ('events', 'streams', 'cases', 'persons', 'meetings')",
                )
                .fetch_one(self.read.ex())
                .await?;
                let n: i64 = row.try_get("n")?;
                if n != 5 {
                    findings.push(format!("postgres: {n} of 5 core tables present"));
                }
            }
        }
        Ok(findings)
    }
}
