//! The lead worker's overview of their organisation: how many cases each worker carries, in
//! which stages and with how much overdue, and the cases that have stayed too long in a stage
//! they should pass through (`case::stuck_days`). Counts carry no names; the list of cases
//! not moving shows only cases the lead may read, and is audited.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::case::{PASSING_STAGES, Stage, stuck_days};
use tsunagu_core::policy::Access;
use tsunagu_core::{CaseId, PersonId, UserId};
use tsunagu_store::CaseFilter;

use crate::{App, Caller, Result, access, japan_date};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StageCount {
    pub stage: Stage,
    pub cases: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerLoad {
    pub worker: UserId,
    pub name: String,
    /// Cases not closed.
    pub open: u64,
    /// Open cases by stage (stages with none left out).
    pub stages: Vec<StageCount>,
    /// Due items past their date (monitoring, referral checks, plan ends, follow-ups).
    pub overdue: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StuckCase {
    pub case_id: CaseId,
    pub person_id: PersonId,
    pub person_name: String,
    pub stage: Stage,
    pub worker: UserId,
    pub worker_name: String,
    /// The day the case entered its stage.
    pub since: Date,
    pub days: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Caseload {
    pub date: Date,
    /// The tenant's threshold (`stuck_after_days`).
    pub stuck_after_days: u16,
    pub workers: Vec<WorkerLoad>,
    /// Oldest first, at most 50 (`stuck_total` counts them all).
    pub stuck: Vec<StuckCase>,
    /// How many of the organisation's cases the lead may read are stuck (shown or not).
    pub stuck_total: u64,
}

/// How many stuck cases the overview lists (the oldest); `stuck_total` counts them all.
pub const STUCK_SHOWN: u32 = 50;

/// The overview of the caller's organisation (lead workers only, 403 for others).
pub async fn overview(app: &App, caller: &Caller) -> Result<Caseload> {
    access::oversee_org(caller)?;
    let tenant = caller.actor.tenant_id;
    let org = caller.actor.org_id;
    let today = app.clock.today();
    let rows = app.store.caseload(tenant, org).await?;
    // Every stuck case is one of the organisation's, so its worker is named in these rows.
    let names: std::collections::HashMap<UserId, String> = rows
        .iter()
        .map(|r| (r.worker, r.worker_name.clone()))
        .collect();
    let name = |u: UserId| {
        names
            .get(&u)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| "（不明な職員）".into())
    };

    let mut workers: Vec<WorkerLoad> = Vec::new();
    for row in rows.iter().cloned() {
        if row.stage == Stage::Closed {
            continue;
        }
        let i = match workers.iter().position(|w| w.worker == row.worker) {
            Some(i) => i,
            None => {
                workers.push(WorkerLoad {
                    worker: row.worker,
                    name: name(row.worker),
                    open: 0,
                    stages: Vec::new(),
                    overdue: 0,
                });
                workers.len() - 1
            }
        };
        workers[i].open += row.cases;
        workers[i].stages.push(StageCount {
            stage: row.stage,
            cases: row.cases,
        });
    }
    for (worker, overdue) in app.store.overdue_by_worker(tenant, org, today).await? {
        if let Some(w) = workers.iter_mut().find(|w| w.worker == worker) {
            w.overdue += overdue;
        }
    }
    for w in &mut workers {
        w.stages
            .sort_by_key(|s| Stage::ALL.iter().position(|x| *x == s.stage));
    }
    workers.sort_by(|a, b| b.open.cmp(&a.open).then_with(|| a.name.cmp(&b.name)));

    let cutoff = today
        .checked_sub(jiff::Span::new().days(i64::from(caller.settings.stuck_after_days)))
        .unwrap_or(today)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(9)))
        .map(|z| z.timestamp())
        .ok();
    // The stages a case should pass through, unchanged since before the threshold: selected,
    // ordered and counted in the query; core's `stuck_days` still decides each one shown.
    let filter = CaseFilter {
        owner_org: Some(org),
        stage_unchanged_since: cutoff,
        stages: PASSING_STAGES.to_vec(),
        oldest_first: true,
        reader: Some(caller.reader(today, Access::Read)),
        limit: STUCK_SHOWN,
        ..Default::default()
    };
    let stuck_total = app.store.count_cases(tenant, &filter).await?;
    let candidates = app.store.cases(tenant, &filter).await?;
    let mut stuck = Vec::new();
    for c in candidates {
        let since = japan_date(c.stage_changed_at);
        let Some(days) = stuck_days(c.stage, since, today, &caller.settings) else {
            continue;
        };
        stuck.push(StuckCase {
            case_id: c.id,
            person_id: c.person_id,
            person_name: c.person_name,
            stage: c.stage,
            worker: c.assigned_worker,
            worker_name: name(c.assigned_worker),
            since,
            days,
        });
    }
    stuck.sort_by_key(|s| std::cmp::Reverse(s.days));
    app.store
        .audit(&[caller
            .audit("caseload.read")
            .subjects(stuck.iter().map(|s| s.person_id))
            .detail(format!("{} stuck", stuck_total))])
        .await?;
    Ok(Caseload {
        date: today,
        stuck_after_days: caller.settings.stuck_after_days,
        workers,
        stuck,
        stuck_total,
    })
}
