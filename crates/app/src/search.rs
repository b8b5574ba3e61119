//! Full-text search over case records (支援経過, 相談受付, アセスメント, プラン, モニタリング, 評価,
//! つなぎ, …). The index (`tsunagu-search`) is a cache of the event store: before it answers it
//! reads on from the last place it read (`Store::case_events_after`), so every write committed
//! before a search is found by it, whichever process or path wrote it (a page, the API, the
//! CLI, a bulk import). `tsunagu reindex` builds it again from nothing. The index is searched
//! only within the cases the caller may read (the access projection, as every list reads it),
//! and the cases shown are read through the caseload list's query with the same reader.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tsunagu_core::CaseId;
use tsunagu_core::case::CaseEvent;
use tsunagu_core::policy::Access;
use tsunagu_search::{Found, Hit, RecordDoc, SearchIndex};
use tsunagu_store::{CaseListFilter, CaseListRow, CaseListSort};

use crate::{App, Caller, Error, Result, access};

/// The events whose text is indexed: every record a worker writes in words.
pub const RECORD_TYPES: &[&str] = &[
    "intake_recorded",
    "contact_recorded",
    "contact_corrected",
    "assessment_recorded",
    "plan_drafted",
    "plan_returned",
    "support_decision_recorded",
    "monitoring_recorded",
    "evaluation_recorded",
    "emergency_support_recorded",
    "referral_made",
    "referral_followed_up",
    "referral_confirmed",
    "suspended",
    "meeting_noted",
    "closed",
    "follow_up_recorded",
    "reopened",
    "attachment_added",
];

/// How many events the index reads from the store at a time.
const CATCH_UP_BATCH: u32 = 20_000;
/// How many records a search reads from the index; the cases they name are then checked.
const HITS_READ: usize = 500;
/// How many cases a search shows, and records under each.
pub const CASES_SHOWN: usize = 50;
const RECORDS_PER_CASE: usize = 3;

/// The index and where it lives; opened when first used.
pub struct Records {
    dir: Option<PathBuf>,
    index: tokio::sync::OnceCell<Arc<SearchIndex>>,
    /// One catch-up at a time.
    catching_up: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").field("dir", &self.dir).finish()
    }
}

impl Records {
    /// An index in `dir` (kept across restarts), or in memory (filled from the store when
    /// first searched) when `None`.
    pub fn new(dir: Option<PathBuf>) -> Records {
        Records {
            dir,
            index: tokio::sync::OnceCell::new(),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }

    async fn index(&self) -> Result<Arc<SearchIndex>> {
        let dir = self.dir.clone();
        self.index
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || SearchIndex::open(dir.as_deref()))
                    .await
                    .map_err(|_| Error::internal())?
                    .map(Arc::new)
                    .map_err(|e| {
                        tracing::error!(error = %e, "search index cannot be opened");
                        Error::internal()
                    })
            })
            .await
            .cloned()
    }
}

/// The words of a record event: every text the worker wrote in it (codes, dates and ids left
/// out).
pub fn record_text(event: &CaseEvent) -> String {
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) if is_words(s) => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(s);
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    /// Codes (`phone`, `job_search`), ISO dates and ids are not words a worker wrote.
    fn is_words(s: &str) -> bool {
        let code = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        !code
    }
    let mut out = String::new();
    if let Ok(v) = serde_json::to_value(event) {
        walk(&v, &mut out);
    }
    out
}

fn doc_of(e: &tsunagu_store::PositionedEvent) -> Option<RecordDoc> {
    let text = record_text(&e.event);
    (!text.is_empty()).then(|| RecordDoc {
        tenant: e.tenant_id.to_string(),
        case_id: e.case_id.to_string(),
        version: e.version,
        kind: e.event.type_name().to_owned(),
        on: e
            .event
            .business_date()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        text,
    })
}

/// Reads the events committed since the index last read and indexes their records. Returns
/// how many records were added. An index ahead of the store (made from another database) is
/// emptied and built again.
pub async fn catch_up(app: &App) -> Result<u64> {
    let index = app.search.index().await?;
    let _one = app.search.catching_up.lock().await;
    if index.watermark() > app.store.last_event_position().await? {
        tracing::warn!("search index is ahead of the store; building it again");
        let i = index.clone();
        tokio::task::spawn_blocking(move || i.clear())
            .await
            .map_err(|_| Error::internal())?
            .map_err(|e| internal(&e))?;
    }
    let mut added = 0;
    loop {
        let after = index.watermark();
        let (events, last) = app
            .store
            .case_events_after(after, RECORD_TYPES, CATCH_UP_BATCH)
            .await?;
        if events.is_empty() {
            return Ok(added);
        }
        let docs: Vec<RecordDoc> = events.iter().filter_map(doc_of).collect();
        added += docs.len() as u64;
        let i = index.clone();
        tokio::task::spawn_blocking(move || i.add(&docs, last))
            .await
            .map_err(|_| Error::internal())?
            .map_err(|e| internal(&e))?;
    }
}

/// Empties the index and reads the whole store again (`tsunagu reindex`). Returns how many
/// records it holds.
pub async fn reindex(app: &App) -> Result<u64> {
    let index = app.search.index().await?;
    {
        let _one = app.search.catching_up.lock().await;
        let i = index.clone();
        tokio::task::spawn_blocking(move || i.clear())
            .await
            .map_err(|_| Error::internal())?
            .map_err(|e| internal(&e))?;
    }
    catch_up(app).await
}

fn internal(e: &tsunagu_search::SearchError) -> Error {
    tracing::error!(error = %e, "search index");
    Error::internal()
}

/// A record found: its kind (the event type), its business date and the matching fragment.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FoundRecord {
    /// The event's version on the case (its place in the case's history).
    pub version: u64,
    /// The event type (`contact_recorded`, `assessment_recorded`, …).
    pub kind: String,
    /// The business date the record carries, when it carries one.
    pub on: Option<jiff::civil::Date>,
    /// Part of the record's text around the words found.
    pub fragment: String,
    /// Byte ranges of `fragment` that matched.
    pub marks: Vec<(usize, usize)>,
}

/// A case whose records hold the words, as the caseload list shows a case.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FoundCase {
    pub case: CaseListRow,
    pub records: Vec<FoundRecord>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecordResults {
    pub cases: Vec<FoundCase>,
    /// Whether more cases may hold the words than are shown (narrow the words).
    pub more: bool,
}

/// The longest query the search reads.
pub const MAX_QUERY_CHARS: usize = 200;

/// The cases the caller may read whose records hold every word of `words`, best match first.
pub async fn records(app: &App, caller: &Caller, words: &str) -> Result<RecordResults> {
    let results = find(app, caller, words).await?;
    app.store
        .audit(&[caller
            .audit("case.search_records")
            .subjects(results.cases.iter().map(|c| c.case.person_id))
            .detail(format!("results={}", results.cases.len()))])
        .await?;
    Ok(results)
}

/// The name of a kind of record (an event type) as the search shows it.
pub fn record_kind_label(kind: &str) -> &'static str {
    match kind {
        "intake_recorded" => "相談受付・申込票",
        "contact_recorded" => "支援経過",
        "contact_corrected" => "支援経過（訂正）",
        "assessment_recorded" => "アセスメント",
        "plan_drafted" => "プラン",
        "plan_returned" => "プランの差し戻し",
        "support_decision_recorded" => "支援決定",
        "monitoring_recorded" => "モニタリング",
        "evaluation_recorded" => "評価",
        "emergency_support_recorded" => "緊急的な支援",
        "referral_made" | "referral_followed_up" | "referral_confirmed" => "つなぎ",
        "suspended" => "中断",
        "meeting_noted" => "会議の記録",
        "closed" => "終結",
        "follow_up_recorded" => "フォローアップ",
        "reopened" => "ケースの再開",
        "attachment_added" => "添付書類",
        _ => "記録",
    }
}

/// The headers of the search's results as a file.
pub const RESULT_HEADERS: [&str; 8] = [
    "ケース番号",
    "氏名",
    "ふりがな",
    "段階",
    "受付日",
    "記録の種類",
    "記録の日",
    "見つかった箇所",
];

/// The search's results as a file for Excel: a row a record found (the cases best match
/// first, as the page shows them; days in 和暦), audited as an export with the persons.
pub async fn export_file(
    app: &App,
    caller: &Caller,
    words: &str,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    use tsunagu_core::wareki;
    let results = find(app, caller, words).await?;
    let mut rows = Vec::new();
    for c in &results.cases {
        let r = &c.case;
        for found in &c.records {
            rows.push(vec![
                r.case_number.map(|n| n.label()).unwrap_or_default(),
                r.person_name.clone(),
                r.person_kana.clone().unwrap_or_default(),
                r.stage.label_ja().to_owned(),
                wareki::format(r.opened_on),
                record_kind_label(&found.kind).to_owned(),
                found.on.map(wareki::format).unwrap_or_default(),
                found.fragment.clone(),
            ]);
        }
    }
    let table = tsunagu_report::csv::Table {
        headers: RESULT_HEADERS.map(str::to_owned).to_vec(),
        rows,
    };
    app.store
        .audit(&[caller
            .audit("case.search_exported")
            .subjects(results.cases.iter().map(|c| c.case.person_id))
            .detail(format!(
                "results={}, {}",
                results.cases.len(),
                format.extension()
            ))])
        .await?;
    format.write("記録の検索", &table)
}

/// The search itself (not audited: the caller audits what it does with the results).
async fn find(app: &App, caller: &Caller, words: &str) -> Result<RecordResults> {
    access::work_cases(caller)?;
    let words = words.trim();
    if words.is_empty() || words.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::invalid(
            "search.words_invalid",
            format!("検索する言葉を{MAX_QUERY_CHARS}文字以内で入力してください。"),
        ));
    }
    let t0 = std::time::Instant::now();
    catch_up(app).await?;
    let t_catch_up = t0.elapsed();
    let index = app.search.index().await?;
    let today = app.clock.today();
    // Only the cases the caller may read are searched: the same access projection as every
    // list, so a case the caller may not read can neither crowd out the caller's own nor be
    // named, counted or audited as shown. First the best records of the tenant are read (case
    // ids only) and their cases checked; when that answers the question — every match was
    // read, or the readable ones among them fill the page — the search runs within those
    // cases. Otherwise (most matches are in cases the caller may not read) it runs within
    // every case the caller may read.
    let reader = caller.reader(today, Access::Read);
    let tenant = caller.actor.tenant_id.to_string();
    let (i, t, q) = (index.clone(), tenant.clone(), words.to_owned());
    let first: Found =
        tokio::task::spawn_blocking(move || i.search_by_case(&t, None, &q, HITS_READ, 0, 0))
            .await
            .map_err(|_| Error::internal())?
            .map_err(|e| internal(&e))?;
    let named: Vec<CaseId> = first
        .case_order
        .iter()
        .filter_map(|c| c.parse::<uuid::Uuid>().ok().map(CaseId))
        .collect();
    let readable_named = if named.is_empty() {
        Vec::new()
    } else {
        app.store.readable_among(&reader, &named).await?
    };
    let every_match_read = first.read < HITS_READ;
    // Within the cases of the tenant's best records only, while more records matched.
    let narrowed = !every_match_read && readable_named.len() >= CASES_SHOWN;
    let within: Vec<String> = if every_match_read || narrowed {
        readable_named.iter().map(ToString::to_string).collect()
    } else {
        app.store
            .readable_case_ids(&reader)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let t_readable = t0.elapsed();
    let q = words.to_owned();
    let found: Found = tokio::task::spawn_blocking(move || {
        index.search_by_case(
            &tenant,
            Some(&within),
            &q,
            HITS_READ,
            RECORDS_PER_CASE,
            CASES_SHOWN,
        )
    })
    .await
    .map_err(|_| Error::internal())?
    .map_err(|e| internal(&e))?;
    let t_index = t0.elapsed();
    let hits: Vec<Hit> = found.hits;
    // The cases named, best hit first.
    let mut order: Vec<CaseId> = Vec::new();
    for h in &hits {
        if let Ok(id) = h.case_id.parse::<uuid::Uuid>().map(CaseId)
            && !order.contains(&id)
        {
            order.push(id);
        }
    }
    let more = found.read >= HITS_READ || found.cases > CASES_SHOWN || narrowed;
    order.truncate(CASES_SHOWN);
    let filter = CaseListFilter {
        reader: Some(reader),
        case_ids: order.clone(),
        sort: CaseListSort::StageEnteredOldest,
        limit: CASES_SHOWN as u32,
        // The cases are the search's; it counts them itself.
        without_count: true,
        ..CaseListFilter::default()
    };
    let mut rows: std::collections::HashMap<CaseId, CaseListRow> = if order.is_empty() {
        Default::default()
    } else {
        app.store
            .case_list(caller.actor.tenant_id, &filter, today)
            .await?
            .rows
            .into_iter()
            .map(|r| (r.id, r))
            .collect()
    };
    let mut cases = Vec::with_capacity(order.len());
    for id in &order {
        let Some(row) = rows.remove(id) else {
            continue;
        };
        let records = hits
            .iter()
            .filter(|h| h.case_id == id.to_string())
            .take(RECORDS_PER_CASE)
            .map(|h| FoundRecord {
                version: h.version,
                kind: h.kind.clone(),
                on: h.on.parse().ok(),
                fragment: h.fragment.clone(),
                marks: h.marks.clone(),
            })
            .collect();
        cases.push(FoundCase { case: row, records });
    }
    tracing::debug!(
        catch_up_ms = t_catch_up.as_millis() as u64,
        readable_ms = (t_readable - t_catch_up).as_millis() as u64,
        index_ms = (t_index - t_readable).as_millis() as u64,
        cases_ms = (t0.elapsed() - t_index).as_millis() as u64,
        hits = hits.len(),
        "record search"
    );
    Ok(RecordResults { cases, more })
}
