//! Due lists (期日一覧): what falls due for a worker or an organisation, and the counts of a
//! tenant for municipal oversight — each scope its own use case and guard.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::case::DueKind;
use tsunagu_core::policy::Access;
use tsunagu_store::{DueRow, DueScope, MeetingSummary};

use crate::{App, Caller, Result, access, record};

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
    /// Case items (scopes `me` and `org`).
    pub items: Vec<DueEntry>,
    /// Counts by kind (every scope; the only content of scope `tenant`).
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
    /// Counts only, over the tenant (municipal oversight and leads).
    Tenant,
}

/// The due list of a scope on a date (default today), every row through the policy, audited.
pub async fn list(app: &App, caller: &Caller, date: Option<Date>, scope: Scope) -> Result<DueList> {
    let date = date.unwrap_or_else(|| app.clock.today());
    let counts_only = scope == Scope::Tenant;
    if counts_only {
        // Aggregates without names: for municipal oversight and leads.
        access::tenant_counts(caller)?;
    } else {
        access::work_cases(caller)?;
    }
    let scope = match scope {
        Scope::Mine => DueScope::Worker(caller.actor.user_id),
        Scope::Org => DueScope::Org(caller.actor.org_id),
        Scope::Tenant => DueScope::Tenant,
    };
    let plus = |days: u16| {
        date.checked_add(jiff::Span::new().days(i64::from(days)))
            .unwrap_or(date)
    };
    let rows = app
        .store
        .due(
            caller.actor.tenant_id,
            &scope,
            date,
            plus(caller.settings.due_horizon_days),
            plus(caller.settings.plan_end_warning_days),
            // Counts without names cover the tenant; items only what the caller may read.
            (!counts_only)
                .then(|| caller.reader(app.clock.today(), Access::Read))
                .as_ref(),
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
                .filter(|r| r.kind == kind && r.due_on < date)
                .count(),
        })
        .collect();
    let items: Vec<DueEntry> = if counts_only {
        vec![]
    } else {
        rows.into_iter()
            .map(|row| DueEntry {
                label: row.kind.label_ja(),
                overdue: row.due_on < date,
                row,
            })
            .collect()
    };
    let horizon = plus(caller.settings.due_horizon_days);
    let meetings = if caller.actor.role.works_cases() {
        app.store
            .meetings(caller.actor.tenant_id, caller.actor.org_id, date)
            .await?
            .into_iter()
            .filter(|m| m.scheduled_on <= horizon && m.closed_on.is_none())
            .collect()
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
