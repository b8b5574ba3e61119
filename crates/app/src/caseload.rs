//! The lead worker's overview of their organisation: how many cases each worker carries, in
//! which stages and with how much overdue, and the cases that have stayed too long in a stage
//! they should pass through (`case::stuck_days`). Counts carry no names; the list of cases
//! not moving shows only cases the lead may read, and is audited.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::case::{PASSING_STAGES, Stage, stuck_days};
use tsunagu_core::policy::Access;
use tsunagu_core::{CaseId, PersonId, UserId};

use crate::{App, Caller, Result, access};

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

    // The stages a case should pass through, entered (by business date) before the threshold:
    // selected, ordered and counted in the query; core's `stuck_days` still decides each one
    // shown.
    let filter = tsunagu_store::CaseListFilter {
        reader: Some(caller.reader(today, Access::Read)),
        owner_org: Some(org),
        team_org: None,
        assigned_worker: None,
        person: None,
        case_ids: Vec::new(),
        case_number: None,
        awaiting_meeting: false,
        stages: PASSING_STAGES.to_vec(),
        closed: None,
        urgency: None,
        main_problem: None,
        intake_route: None,
        due_before: None,
        contact_before: None,
        entered_before: today
            .checked_sub(jiff::Span::new().days(i64::from(caller.settings.stuck_after_days)))
            .ok(),
        opened_from: None,
        opened_until: None,
        sort: tsunagu_store::CaseListSort::StageEnteredOldest,
        limit: STUCK_SHOWN,
        offset: 0,
        without_count: false,
    };
    // The count carries no names, like the workers' counts: it needs no access rows.
    let stuck_total = app
        .store
        .case_list(
            tenant,
            &tsunagu_store::CaseListFilter {
                reader: None,
                ..filter.clone()
            },
            today,
        )
        .await?
        .total;
    let candidates = app
        .store
        .case_list(
            tenant,
            &tsunagu_store::CaseListFilter {
                without_count: true,
                ..filter
            },
            today,
        )
        .await?
        .rows;
    let workers_of_stuck: Vec<UserId> = candidates.iter().map(|c| c.assigned_worker).collect();
    let stuck_names = app.store.display_names(tenant, &workers_of_stuck).await?;
    let mut stuck = Vec::new();
    for c in candidates {
        let since = c.stage_entered_on;
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

/// Whose cases the caseload list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListScope {
    /// The caller's own cases (assigned worker).
    #[default]
    Mine,
    /// One worker's cases in the caller's organisation.
    Worker(UserId),
    /// The caller's organisation's cases.
    Org,
    /// Cases whose team includes the caller's organisation (its own and those it supports).
    Team,
}

/// What the caseload list (支援ケース一覧) is asked for. Every case answered is one the caller
/// may read, whatever is asked.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub scope: ListScope,
    pub stages: Vec<Stage>,
    /// `Some(false)`: open cases only (the default on the page); `Some(true)`: closed only.
    pub closed: Option<bool>,
    pub urgency: Option<tsunagu_core::case::Urgency>,
    pub main_problem: Option<String>,
    pub route: Option<tsunagu_core::case::IntakeRoute>,
    /// Only cases with something overdue today.
    pub overdue: bool,
    /// Only cases whose person has not been reached for more than this many days.
    pub quiet_days: Option<u32>,
    /// Only cases that have stayed in a stage they should pass through past the tenant's
    /// threshold (`stuck_after_days`), measured from the business date the stage was entered.
    pub stuck: bool,
    /// Only cases opened in this fiscal year (年度, by its starting year: 2026 = 令和8年度).
    pub fiscal_year: Option<i16>,
    /// Only cases opened in this month (year, month): the statistics link a month here.
    pub opened_month: Option<(i16, i8)>,
    pub person: Option<PersonId>,
    /// The case with this number.
    pub case_number: Option<tsunagu_core::case::CaseNumber>,
    /// Only cases waiting for a coordination meeting.
    pub awaiting_meeting: bool,
    pub sort: tsunagu_store::CaseListSort,
    pub offset: u32,
}

/// How many cases one page of the list shows.
pub const LIST_PAGE: u32 = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListedCase {
    #[serde(flatten)]
    pub case: tsunagu_store::CaseListRow,
    pub worker_name: String,
    /// Days since the stage was entered (business dates).
    pub days_in_stage: i64,
    /// Days since the person was last reached.
    pub days_since_contact: i64,
    /// Whether the case has stayed past the threshold in a stage it should pass through.
    pub stuck: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseList {
    pub date: Date,
    /// How many cases match (every page); at least this many when `total_exact` is false
    /// (the count stops 1,000 cases past the page).
    pub total: u64,
    pub total_exact: bool,
    pub offset: u32,
    pub limit: u32,
    pub cases: Vec<ListedCase>,
}

/// The caseload list: one page of the cases the caller may read that match the request, with
/// how many match. Roles that work cases only (others 403); audited with the persons shown.
/// The store's filter of a list request, or none when it can match nothing (stuck cases in
/// stages that are not passed through).
fn list_filter(
    caller: &Caller,
    q: &ListRequest,
    today: Date,
) -> Option<tsunagu_store::CaseListFilter> {
    let days_before = |n: u32| {
        today
            .checked_sub(jiff::Span::new().days(i64::from(n)))
            .unwrap_or(today)
    };
    let (owner_org, team_org, assigned_worker) = match q.scope {
        ListScope::Mine => (None, None, Some(caller.actor.user_id)),
        ListScope::Worker(u) => (Some(caller.actor.org_id), None, Some(u)),
        ListScope::Org => (Some(caller.actor.org_id), None, None),
        ListScope::Team => (None, Some(caller.actor.org_id), None),
    };
    let mut stages = q.stages.clone();
    let mut entered_before = None;
    if q.stuck {
        // Stuck: a passing stage entered more than the threshold ago (`stuck_days`).
        stages = if stages.is_empty() {
            PASSING_STAGES.to_vec()
        } else {
            stages
                .into_iter()
                .filter(|s| PASSING_STAGES.contains(s))
                .collect()
        };
        if stages.is_empty() {
            return None;
        }
        entered_before = Some(days_before(u32::from(caller.settings.stuck_after_days)));
    }
    let (mut opened_from, mut opened_until) = match q.fiscal_year {
        Some(fy) => (
            jiff::civil::Date::new(fy, 4, 1).ok(),
            jiff::civil::Date::new(fy + 1, 3, 31).ok(),
        ),
        None => (None, None),
    };
    if let Some((y, m)) = q.opened_month
        && let Ok(first) = jiff::civil::Date::new(y, m, 1)
    {
        let last = first.last_of_month();
        opened_from = Some(opened_from.map_or(first, |f| f.max(first)));
        opened_until = Some(opened_until.map_or(last, |u| u.min(last)));
    }
    Some(tsunagu_store::CaseListFilter {
        reader: Some(caller.reader(today, Access::Read)),
        owner_org,
        team_org,
        assigned_worker,
        person: q.person,
        case_ids: Vec::new(),
        case_number: q.case_number,
        awaiting_meeting: q.awaiting_meeting,
        stages,
        closed: q.closed,
        urgency: q.urgency.map(|u| u.as_str().to_owned()),
        main_problem: q.main_problem.clone(),
        intake_route: q.route.map(|r| r.as_str().to_owned()),
        due_before: q.overdue.then_some(today),
        contact_before: q.quiet_days.map(days_before),
        entered_before,
        opened_from,
        opened_until,
        sort: q.sort,
        limit: LIST_PAGE,
        offset: q.offset,
        without_count: false,
    })
}

pub async fn list(app: &App, caller: &Caller, q: ListRequest) -> Result<CaseList> {
    access::work_cases(caller)?;
    let tenant = caller.actor.tenant_id;
    let today = app.clock.today();
    let Some(filter) = list_filter(caller, &q, today) else {
        return Ok(CaseList {
            date: today,
            total: 0,
            total_exact: true,
            offset: q.offset,
            limit: LIST_PAGE,
            cases: Vec::new(),
        });
    };
    let page = app.store.case_list(tenant, &filter, today).await?;
    let total = page.total;
    let total_exact = page.total_exact;
    let cases = listed(app, caller, page.rows, today).await?;
    app.store
        .audit(&[caller
            .audit("case.list")
            .subjects(cases.iter().map(|c| c.case.person_id))
            .detail(format!("results={} total={}", cases.len(), total))])
        .await?;
    Ok(CaseList {
        date: today,
        total,
        total_exact,
        offset: q.offset,
        limit: LIST_PAGE,
        cases,
    })
}

/// The rows of a list with their workers' names and the days they show.
async fn listed(
    app: &App,
    caller: &Caller,
    rows: Vec<tsunagu_store::CaseListRow>,
    today: Date,
) -> Result<Vec<ListedCase>> {
    let workers: Vec<UserId> = rows.iter().map(|c| c.assigned_worker).collect();
    let names = app
        .store
        .display_names(caller.actor.tenant_id, &workers)
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| ListedCase {
            worker_name: names
                .get(&c.assigned_worker)
                .cloned()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "（不明な職員）".to_owned()),
            days_in_stage: i64::from((today - c.stage_entered_on).get_days()),
            days_since_contact: i64::from((today - c.last_contact_on).get_days()),
            stuck: stuck_days(c.stage, c.stage_entered_on, today, &caller.settings).is_some(),
            case: c,
        })
        .collect())
}

/// How many cases an export of the list holds at most.
pub const EXPORT_MAX: usize = 10_000;

/// The whole list (every page, at most `EXPORT_MAX` cases) as a file for Excel, with the
/// columns the page shows: only cases the caller may read, audited as an export with every
/// person in it.
pub async fn export_file(
    app: &App,
    caller: &Caller,
    q: ListRequest,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    let (table, persons) = list_table(app, caller, q).await?;
    app.store
        .audit(&[caller
            .audit("case.list_exported")
            .subjects(persons.iter().copied())
            .detail(format!("{} rows={}", format.extension(), persons.len()))])
        .await?;
    format.write("支援ケース一覧", &table)
}

/// 支援ケース一覧 to print: the same rows as the files, audited as printed with the persons it
/// names.
pub async fn print_table(
    app: &App,
    caller: &Caller,
    q: ListRequest,
) -> Result<tsunagu_report::csv::Table> {
    let (table, persons) = list_table(app, caller, q).await?;
    app.store
        .audit(&[caller
            .audit("case.list_printed")
            .subjects(persons.iter().copied())
            .detail(format!("rows={}", persons.len()))])
        .await?;
    Ok(table)
}

/// The whole list as the filters select it (up to `EXPORT_MAX` rows) as a table, with the
/// persons of its rows (not audited: the caller audits what it does with it).
async fn list_table(
    app: &App,
    caller: &Caller,
    q: ListRequest,
) -> Result<(tsunagu_report::csv::Table, Vec<tsunagu_core::PersonId>)> {
    access::work_cases(caller)?;
    let tenant = caller.actor.tenant_id;
    let today = app.clock.today();
    let mut rows = Vec::new();
    if let Some(mut filter) = list_filter(caller, &q, today) {
        filter.limit = 500;
        filter.offset = 0;
        filter.without_count = true;
        loop {
            let page = app.store.case_list(tenant, &filter, today).await?.rows;
            let n = page.len();
            rows.extend(page);
            if n < 500 || rows.len() >= EXPORT_MAX {
                break;
            }
            filter.offset += 500;
        }
        rows.truncate(EXPORT_MAX);
    }
    let cases = listed(app, caller, rows, today).await?;
    let problems = &caller.settings.presenting_problems;
    let mut table = tsunagu_report::csv::Table {
        headers: [
            "ケース番号",
            "氏名",
            "ふりがな",
            "段階",
            "段階に入った日",
            "段階の日数",
            "担当",
            "受付日",
            "最後に本人と連絡が取れた日",
            "緊急度",
            "主訴",
            "相談経路",
            "期限切れの項目",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: Vec::new(),
    };
    for c in &cases {
        let r = &c.case;
        table.rows.push(vec![
            r.case_number.map(|n| n.label()).unwrap_or_default(),
            r.person_name.clone(),
            r.person_kana.clone().unwrap_or_default(),
            r.stage.label_ja().to_owned(),
            tsunagu_core::wareki::format(r.stage_entered_on),
            c.days_in_stage.to_string(),
            c.worker_name.clone(),
            tsunagu_core::wareki::format(r.opened_on),
            tsunagu_core::wareki::format(r.last_contact_on),
            r.urgency
                .as_deref()
                .and_then(tsunagu_core::case::Urgency::parse)
                .map(|u| u.label_ja().to_owned())
                .unwrap_or_default(),
            r.main_problem
                .as_deref()
                .map(|code| {
                    problems
                        .iter()
                        .find(|p| p.code == code)
                        .map_or(code, |p| p.name.as_str())
                        .to_owned()
                })
                .unwrap_or_default(),
            r.intake_route
                .as_deref()
                .and_then(tsunagu_core::case::IntakeRoute::parse)
                .map(|x| x.label_ja().to_owned())
                .unwrap_or_default(),
            r.overdue_items.to_string(),
        ]);
    }
    Ok((table, cases.iter().map(|c| c.case.person_id).collect()))
}
