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
    /// The organisation's cases by stage, closed included (stages with none left out).
    pub totals: Vec<StageCount>,
    /// The organisation's cases not closed.
    pub open_total: u64,
    /// One page of the workers with open cases, most first (at most 50).
    pub workers: Vec<WorkerLoad>,
    /// How many workers have open cases (on every page).
    pub workers_total: u64,
    /// Where this page of workers starts (0 for the first).
    pub workers_offset: u32,
    /// Oldest first, at most 50 (`stuck_total` counts them all).
    pub stuck: Vec<StuckCase>,
    /// How many of the organisation's cases are stuck (a count, like the workers' counts; the
    /// list shows only the cases the lead may read).
    pub stuck_total: u64,
}

/// How many stuck cases the overview lists (the oldest); `stuck_total` counts them all.
pub const STUCK_SHOWN: u32 = 50;
/// How many workers one page of the overview shows.
pub const WORKERS_SHOWN: u32 = 50;

/// The overview of the caller's organisation (lead workers only, 403 for others), with the page
/// of workers that starts at `workers_offset`.
pub async fn overview(app: &App, caller: &Caller, workers_offset: u32) -> Result<Caseload> {
    access::oversee_org(caller)?;
    let tenant = caller.actor.tenant_id;
    let org = caller.actor.org_id;
    let today = app.clock.today();
    let page = app
        .store
        .caseload(tenant, org, workers_offset, WORKERS_SHOWN)
        .await?;
    let name = |n: &str| {
        if n.is_empty() {
            "（不明な職員）".to_owned()
        } else {
            n.to_owned()
        }
    };
    let by_stage = |mut stages: Vec<StageCount>| {
        stages.sort_by_key(|s| Stage::ALL.iter().position(|x| *x == s.stage));
        stages
    };
    let ids: Vec<UserId> = page.workers.iter().map(|(w, _, _)| *w).collect();
    let overdue: std::collections::HashMap<UserId, u64> = app
        .store
        .overdue_by_worker(tenant, org, &ids, today)
        .await?
        .into_iter()
        .collect();
    let workers: Vec<WorkerLoad> = page
        .workers
        .iter()
        .map(|(worker, worker_name, open)| WorkerLoad {
            worker: *worker,
            name: name(worker_name),
            open: *open,
            stages: by_stage(
                page.stages
                    .iter()
                    .filter(|r| r.worker == *worker && r.stage != Stage::Closed)
                    .map(|r| StageCount {
                        stage: r.stage,
                        cases: r.cases,
                    })
                    .collect(),
            ),
            overdue: overdue.get(worker).copied().unwrap_or(0),
        })
        .collect();
    let totals = by_stage(
        page.totals
            .iter()
            .map(|(stage, cases)| StageCount {
                stage: *stage,
                cases: *cases,
            })
            .collect(),
    );
    let open_total = totals
        .iter()
        .filter(|s| s.stage != Stage::Closed)
        .map(|s| s.cases)
        .sum();

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
    // The count carries no names, like the workers' counts: it needs no access rows.
    let stuck_total = app
        .store
        .count_cases(
            tenant,
            &CaseFilter {
                reader: None,
                ..filter.clone()
            },
        )
        .await?;
    let candidates = app.store.cases(tenant, &filter).await?;
    let workers_of_stuck: Vec<UserId> = candidates.iter().map(|c| c.assigned_worker).collect();
    let stuck_names = app.store.display_names(tenant, &workers_of_stuck).await?;
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
            worker_name: name(
                stuck_names
                    .get(&c.assigned_worker)
                    .map_or("", String::as_str),
            ),
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
        totals,
        open_total,
        workers,
        workers_total: page.workers_total,
        workers_offset,
        stuck,
        stuck_total,
    })
}
