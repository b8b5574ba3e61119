//! Due lists (期日一覧): what falls due for a worker or an organisation (`list`), and the counts
//! of a tenant for municipal oversight (`counts`) — each its own use case, route and guard.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::case::{self, DueKind};
use tsunagu_core::policy::Access;
use tsunagu_store::{DueRow, DueScope, MeetingQuery, MeetingSummary};

use crate::{App, Caller, Result, access, record};

/// The due list shows the next open meetings within the horizon, this many at most.
const DUE_MEETINGS: u32 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueEntry {
    #[serde(flatten)]
    pub row: DueRow,
    pub label: &'static str,
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueCount {
    pub kind: DueKind,
    pub label: &'static str,
    pub due: usize,
    pub overdue: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueList {
    pub date: Date,
    /// Case items of the scope, each one the caller may read.
    pub items: Vec<DueEntry>,
    /// Counts of `items` by kind.
    pub counts: Vec<DueCount>,
    /// Meetings from the date on within the horizon, of which the caller's organisation is a member.
    pub meetings: Vec<MeetingSummary>,
}

/// Whose due items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The caller's own cases.
    Mine,
    /// The caller's organisation's cases.
    Org,
}

/// A tenant's due counts: no names, no cases.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueCounts {
    pub date: Date,
    pub counts: Vec<DueCount>,
}

/// The day `days` after `date` (the horizons of the due list).
fn plus(date: Date, days: u16) -> Date {
    date.checked_add(jiff::Span::new().days(i64::from(days)))
        .unwrap_or(date)
}

/// The tenant's due and overdue counts by kind on a date (default today), for municipal
/// oversight and leads: an aggregate read with its own guard (`access::tenant_counts`),
/// counted in the query. Audited, though it names no one.
pub async fn counts(app: &App, caller: &Caller, date: Option<Date>) -> Result<DueCounts> {
    access::tenant_counts(caller)?;
    let date = date.unwrap_or_else(|| app.clock.today());
    let rows = app
        .store
        .due_counts(
            caller.actor.tenant_id,
            date,
            plus(date, caller.settings.due_horizon_days),
            plus(date, caller.settings.plan_end_warning_days),
        )
        .await?;
    let counts = DueKind::ALL
        .into_iter()
        .map(|kind| {
            let (due, overdue) = rows
                .iter()
                .find(|(k, _, _)| *k == kind)
                .map_or((0, 0), |(_, d, o)| (*d, *o));
            DueCount {
                kind,
                label: kind.label_ja(),
                due: usize::try_from(due).unwrap_or(usize::MAX),
                overdue: usize::try_from(overdue).unwrap_or(usize::MAX),
            }
        })
        .collect();
    record(app, caller.audit("due.counts_read")).await?;
    Ok(DueCounts { date, counts })
}

/// The due list of a scope on a date (default today), filtered by access in the query, audited
/// with every person it names.
pub async fn list(app: &App, caller: &Caller, date: Option<Date>, scope: Scope) -> Result<DueList> {
    let date = date.unwrap_or_else(|| app.clock.today());
    access::work_cases(caller)?;
    let scope = match scope {
        Scope::Mine => DueScope::Worker(caller.actor.user_id),
        Scope::Org => DueScope::Org(caller.actor.org_id),
    };
    let plus = |days: u16| plus(date, days);
    let rows = app
        .store
        .due(
            caller.actor.tenant_id,
            &scope,
            date,
            plus(caller.settings.due_horizon_days),
            plus(caller.settings.plan_end_warning_days),
            Some(&caller.reader(app.clock.today(), Access::Read)),
        )
        .await?;
    let counts = DueKind::ALL
        .into_iter()
        .map(|kind| DueCount {
            kind,
            label: kind.label_ja(),
            due: rows.iter().filter(|r| r.kind == kind).count(),
            overdue: rows
                .iter()
                .filter(|r| r.kind == kind && case::is_overdue(r.due_on, date))
                .count(),
        })
        .collect();
    let items: Vec<DueEntry> = rows
        .into_iter()
        .map(|row| DueEntry {
            label: row.kind.label_ja(),
            overdue: case::is_overdue(row.due_on, date),
            row,
        })
        .collect();
    let horizon = plus(caller.settings.due_horizon_days);
    let meetings = if caller.actor.role.works_cases() {
        app.store
            .meetings(
                caller.actor.tenant_id,
                caller.actor.org_id,
                &MeetingQuery {
                    from: date,
                    until: Some(horizon),
                    open_only: true,
                    limit: Some(DUE_MEETINGS),
                },
            )
            .await?
    } else {
        vec![]
    };
    record(
        app,
        caller
            .audit("due.read")
            .subjects(items.iter().map(|i| i.row.person_id))
            .detail(format!("results={}", items.len())),
    )
    .await?;
    Ok(DueList {
        date,
        items,
        counts,
        meetings,
    })
}

/// The caller's due list as a file for Excel (期日, 種類, 相談者, 状況; dates in 和暦), the same
/// rows as the screen and audited as an export with every person in it.
pub async fn export_file(
    app: &App,
    caller: &Caller,
    scope: Scope,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    let list = list(app, caller, None, scope).await?;
    let table = tsunagu_report::csv::Table {
        headers: ["期日", "種類", "相談者", "状況"]
            .map(str::to_owned)
            .to_vec(),
        rows: list
            .items
            .iter()
            .map(|i| {
                vec![
                    tsunagu_core::wareki::format(i.row.due_on),
                    i.label.to_owned(),
                    i.row.person_name.clone(),
                    if i.overdue { "期限切れ" } else { "予定" }.to_owned(),
                ]
            })
            .collect(),
    };
    record(
        app,
        caller
            .audit("due.exported")
            .subjects(list.items.iter().map(|i| i.row.person_id))
            .detail(format!(
                "results={}, {}",
                list.items.len(),
                format.extension()
            )),
    )
    .await?;
    format.write("期日一覧", &table)
}
