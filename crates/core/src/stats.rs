//! The national indicators of the 支援状況調査 (issue 14): what a case contributes to them
//! (its milestones, each dated by the business day it happened) and how the counts become the
//! indicators. The counting rules are written down once, in `docs/COUNTING.md`, each pointing at
//! the test that pins it; the store counts the milestones of a period, this module does the rest.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::case::{CaseState, ClosurePattern, EmploymentOutcome, Stage};

/// What a case contributes to the national indicators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneKind {
    /// 新規相談受付: the 相談受付・申込票 was received (its 受付日).
    ConsultationReceived,
    /// プラン作成: a coordination meeting approved a plan (not a modification it took note of).
    PlanMade,
    /// 就労: the person started work.
    Employed,
    /// 増収: the person's income rose.
    IncomeIncreased,
    /// 評価: a plan was evaluated (評価シート).
    Evaluated,
    /// 改善: an evaluation saw a change (見られた変化).
    ImprovementSeen,
}

impl MilestoneKind {
    pub const ALL: [MilestoneKind; 6] = [
        MilestoneKind::ConsultationReceived,
        MilestoneKind::PlanMade,
        MilestoneKind::Employed,
        MilestoneKind::IncomeIncreased,
        MilestoneKind::Evaluated,
        MilestoneKind::ImprovementSeen,
    ];

    /// The kinds counted per case (a case once however often), so a year's count is not the
    /// sum of its months' and is counted again over the year.
    pub const PER_CASE_OVER_PERIOD: [MilestoneKind; 4] = [
        MilestoneKind::Employed,
        MilestoneKind::IncomeIncreased,
        MilestoneKind::Evaluated,
        MilestoneKind::ImprovementSeen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneKind::ConsultationReceived => "consultation_received",
            MilestoneKind::PlanMade => "plan_made",
            MilestoneKind::Employed => "employed",
            MilestoneKind::IncomeIncreased => "income_increased",
            MilestoneKind::Evaluated => "evaluated",
            MilestoneKind::ImprovementSeen => "improvement_seen",
        }
    }

    pub fn parse(s: &str) -> Option<MilestoneKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One milestone of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Milestone {
    pub kind: MilestoneKind,
    pub on: Date,
    /// For a plan: it makes the person a subject of employment support (就労支援対象). For an
    /// outcome: it was recorded under such a plan. Otherwise false.
    pub employment_support: bool,
}

/// Every milestone of the case, from its folded state (rules R1–R4 of `docs/COUNTING.md`).
pub fn milestones(state: &CaseState) -> Vec<Milestone> {
    let mut out = Vec::new();
    // R1: one consultation per case, on the 受付日 of its 相談受付・申込票.
    if let Some(intake) = &state.intake {
        out.push(Milestone {
            kind: MilestoneKind::ConsultationReceived,
            on: intake.received_on,
            employment_support: false,
        });
    }
    // R2: each plan a coordination meeting approved, on the day it approved it.
    for p in &state.plans_made {
        out.push(Milestone {
            kind: MilestoneKind::PlanMade,
            on: p.approved_on,
            employment_support: p.employment_support,
        });
    }
    // R3, R4: each outcome on its day, under an employment-support plan or not.
    for o in &state.employment_outcomes {
        out.push(Milestone {
            kind: match o.outcome {
                EmploymentOutcome::Employed { .. } => MilestoneKind::Employed,
                EmploymentOutcome::IncomeIncreased { .. } => MilestoneKind::IncomeIncreased,
            },
            on: o.achieved_on,
            employment_support: o.under_employment_support_plan,
        });
    }
    // R8: each evaluation on its day; one that saw a change (見られた変化) is an improvement.
    for e in &state.evaluations {
        out.push(Milestone {
            kind: MilestoneKind::Evaluated,
            on: e.evaluated_on,
            employment_support: false,
        });
        if e.improved {
            out.push(Milestone {
                kind: MilestoneKind::ImprovementSeen,
                on: e.evaluated_on,
                employment_support: false,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The counts of a period as the store gives them: for each kind, the cases with at least one
/// such milestone in the period, and those of them with one under employment support.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodCounts {
    /// 新規相談受付件数
    pub new_consultations: u64,
    /// プラン作成件数 (plans: a case with two plans approved in the period counts twice)
    pub plans: u64,
    /// 就労支援対象者数: plans made that make the person a subject of employment support
    pub employment_support_subjects: u64,
    /// 就労者数 (persons: a case counts once however often)
    pub employed: u64,
    /// うち就労支援対象プラン作成者分
    pub employed_under_support: u64,
    /// 増収者数
    pub income_increased: u64,
    /// うち就労支援対象プラン作成者分
    pub income_increased_under_support: u64,
    /// Plan holders evaluated (評価) in the period (persons).
    #[serde(default)]
    pub evaluated: u64,
    /// Of them, those an evaluation saw a change in (自立に向けた改善が見られた者).
    #[serde(default)]
    pub improved: u64,
}

/// The indicators of a period: the counts, the rate, and each count per 100,000 inhabitants
/// and month (when the tenant's population is set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicators {
    pub counts: PeriodCounts,
    /// 就労・増収率: (就労者 + 増収者, each of employment-support plans) / 就労支援対象者数; none
    /// without subjects.
    pub employment_or_income_rate: Option<f64>,
    /// 人口10万人・1か月当たり: new consultations, plans, employment-support subjects.
    pub per_100k_month: Option<Per100k>,
    /// 自立に向けた改善が見られた者の割合: improved / evaluated (R8); none without evaluations.
    #[serde(default)]
    pub improvement_rate: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Per100k {
    pub new_consultations: f64,
    pub plans: f64,
    pub employment_support_subjects: f64,
}

/// The indicators of `counts` over a period of `months` months (R5–R6).
pub fn indicators(counts: PeriodCounts, months: u32, population: Option<u32>) -> Indicators {
    let rate = (counts.employment_support_subjects > 0).then(|| {
        (counts.employed_under_support + counts.income_increased_under_support) as f64
            / counts.employment_support_subjects as f64
    });
    let per_100k_month = population.filter(|p| *p > 0 && months > 0).map(|p| {
        let scale = |n: u64| n as f64 * 100_000.0 / f64::from(p) / f64::from(months);
        Per100k {
            new_consultations: scale(counts.new_consultations),
            plans: scale(counts.plans),
            employment_support_subjects: scale(counts.employment_support_subjects),
        }
    });
    let improvement_rate =
        (counts.evaluated > 0).then(|| counts.improved as f64 / counts.evaluated as f64);
    Indicators {
        counts,
        employment_or_income_rate: rate,
        per_100k_month,
        improvement_rate,
    }
}

/// What a new consultation is broken down by (item 3 of issue 14): its 主訴 and 相談経路 as
/// the case keeps them, the person's date of birth and sex as the person's record has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsultationFacts {
    pub received_on: Date,
    pub main_problem: Option<String>,
    pub route: Option<String>,
    pub date_of_birth: Option<Date>,
    pub sex: Option<crate::person::Sex>,
    /// 本人の抱える課題 of the case's newest assessment (empty: not assessed yet, or no 課題
    /// checked).
    pub issues: Vec<String>,
}

/// The age bands of the breakdown: the age on the 受付日, in ten-year bands.
pub const AGE_BANDS: [&str; 8] = [
    "19歳以下",
    "20代",
    "30代",
    "40代",
    "50代",
    "60代",
    "70歳以上",
    "不明",
];

/// The age band (an index into [`AGE_BANDS`]) of a person born on `born` on `day`.
pub fn age_band(born: Option<Date>, day: Date) -> usize {
    let Some(born) = born else {
        return AGE_BANDS.len() - 1;
    };
    match crate::person::age(born, day) {
        i16::MIN..=19 => 0,
        age @ 20..=69 => usize::try_from(age / 10 - 1).unwrap_or(0),
        _ => 6,
    }
}

/// New consultations counted by each dimension: codes (主訴, 相談経路, sex; `""` for none) and
/// age bands, each with its count, in a stable order (most first, then by code).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    pub total: u64,
    pub by_main_problem: Vec<(String, u64)>,
    pub by_route: Vec<(String, u64)>,
    /// Every band of [`AGE_BANDS`], in order.
    pub by_age_band: Vec<(String, u64)>,
    pub by_sex: Vec<(String, u64)>,
    /// By 本人の抱える課題 of the newest assessment: a case counts under each of its 課題, so
    /// these add up to more than the total; `""` counts the cases with none recorded.
    #[serde(default)]
    pub by_issue: Vec<(String, u64)>,
}

/// The breakdown of a period's new consultations (R9 of `docs/COUNTING.md`).
pub fn breakdown(facts: &[ConsultationFacts]) -> Breakdown {
    use std::collections::BTreeMap;
    let tally = |key: &dyn Fn(&ConsultationFacts) -> String| {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for f in facts {
            *counts.entry(key(f)).or_default() += 1;
        }
        let mut v: Vec<(String, u64)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut ages = [0u64; AGE_BANDS.len()];
    for f in facts {
        ages[age_band(f.date_of_birth, f.received_on)] += 1;
    }
    Breakdown {
        total: facts.len() as u64,
        by_main_problem: tally(&|f| f.main_problem.clone().unwrap_or_default()),
        by_route: tally(&|f| f.route.clone().unwrap_or_default()),
        by_age_band: AGE_BANDS
            .iter()
            .zip(ages)
            .map(|(b, n)| ((*b).to_owned(), n))
            .collect(),
        by_sex: tally(&|f| f.sex.map(|s| s.as_str().to_owned()).unwrap_or_default()),
        by_issue: {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for f in facts {
                if f.issues.is_empty() {
                    *counts.entry(String::new()).or_default() += 1;
                }
                for i in &f.issues {
                    *counts.entry(i.clone()).or_default() += 1;
                }
            }
            let mut v: Vec<(String, u64)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        },
    }
}

/// What a case contributes to the process figures (R11–R14 of `docs/COUNTING.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessKind {
    /// The case left a stage (`detail`: the stage; `days`: the days it spent in it).
    StageLeft,
    /// A monitoring was done (`detail`: `on_time`, `late` or `unscheduled`; `days`: the days
    /// after its due day, 0 when on time).
    Monitored,
    /// A referral was made (`days`: the days until its arrival was confirmed, none while open).
    Referred,
    /// The case was closed (`detail`: the closure pattern; `days`: the days since it opened).
    Closed,
}

impl ProcessKind {
    pub const ALL: [ProcessKind; 4] = [
        ProcessKind::StageLeft,
        ProcessKind::Monitored,
        ProcessKind::Referred,
        ProcessKind::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProcessKind::StageLeft => "stage_left",
            ProcessKind::Monitored => "monitored",
            ProcessKind::Referred => "referred",
            ProcessKind::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ProcessKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One step of a case's process, on the business day it happened.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProcessMark {
    pub kind: ProcessKind,
    pub on: Date,
    pub detail: String,
    pub days: Option<u32>,
}

/// The days from `from` to `to` (0 when `to` is earlier).
fn days_between(from: Date, to: Date) -> u32 {
    u32::try_from((to - from).get_days()).unwrap_or(0)
}

/// Every process mark of the case, from its folded state (R11–R14).
pub fn process_marks(state: &CaseState) -> Vec<ProcessMark> {
    let mut out = Vec::new();
    // R11: each stage left, on the day it was left, with the days spent in it. A case opened
    // by an intake passes 把握・アウトリーチ in its first decision: that is no stage it was in.
    for span in &state.stage_spans {
        if span.stage == Stage::Identified && state.identification.is_none() {
            continue;
        }
        out.push(ProcessMark {
            kind: ProcessKind::StageLeft,
            on: span.left_on,
            detail: span.stage.as_str().to_owned(),
            days: Some(days_between(span.entered_on, span.left_on)),
        });
    }
    // R12: each monitoring, on time when done on or before the day it was due.
    for m in &state.monitorings {
        let (detail, days) = match m.due_on {
            None => ("unscheduled", None),
            Some(due) if m.monitored_on <= due => ("on_time", Some(0)),
            Some(due) => ("late", Some(days_between(due, m.monitored_on))),
        };
        out.push(ProcessMark {
            kind: ProcessKind::Monitored,
            on: m.monitored_on,
            detail: detail.to_owned(),
            days,
        });
    }
    // R13: each referral, on the day it was made, with the days until it was confirmed.
    for r in &state.referrals {
        out.push(ProcessMark {
            kind: ProcessKind::Referred,
            on: r.referred_on,
            detail: String::new(),
            days: r.confirmed_on.map(|c| days_between(r.referred_on, c)),
        });
    }
    // R14: the closure, by its pattern, with the days since the case opened.
    if let Some(c) = &state.closure {
        out.push(ProcessMark {
            kind: ProcessKind::Closed,
            on: c.closed_on,
            detail: c.pattern.as_str().to_owned(),
            days: Some(days_between(state.opened_on, c.closed_on)),
        });
    }
    out.sort();
    out
}

/// How many, and the median and the longest of their days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: u64,
    /// The median of the days (the mean of the middle two of an even count); none when empty.
    pub median_days: Option<f64>,
    pub max_days: Option<u32>,
}

impl Durations {
    /// How many `days` there are, their median and the most.
    pub fn of(mut days: Vec<u32>) -> Durations {
        days.sort_unstable();
        let n = days.len();
        let median_days = (n > 0).then(|| {
            if n % 2 == 1 {
                f64::from(days[n / 2])
            } else {
                (f64::from(days[n / 2 - 1]) + f64::from(days[n / 2])) / 2.0
            }
        });
        Durations {
            count: n as u64,
            median_days,
            max_days: days.last().copied(),
        }
    }
}

/// The process figures of a period (item 3 of issue 14; R11–R14).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessFigures {
    /// Per stage (in the lifecycle's order, the stages some case left in the period): the
    /// times spent in it by the cases that left it.
    pub stages: Vec<(Stage, Durations)>,
    /// Monitorings done in the period on or before their due day.
    pub monitoring_on_time: u64,
    /// Monitorings done in the period after their due day, with the days late.
    pub monitoring_late: Durations,
    /// Monitorings done in the period with no due day set.
    pub monitoring_unscheduled: u64,
    /// Referrals made in the period.
    pub referrals: u64,
    /// Of them, those confirmed (by now), with the days it took.
    pub referrals_confirmed: Durations,
    /// Of them, those not confirmed yet.
    pub referrals_open: u64,
    /// Closures in the period per pattern (each pattern, in its order).
    pub closures: Vec<(ClosurePattern, u64)>,
    /// The closures' days from opening to closure.
    pub closed_after: Durations,
}

/// The process figures of a period's marks (those dated in the period, R11–R14).
pub fn process(marks: &[ProcessMark]) -> ProcessFigures {
    let days_of = |kind: ProcessKind, detail: Option<&str>| -> Vec<u32> {
        marks
            .iter()
            .filter(|m| m.kind == kind && detail.is_none_or(|d| m.detail == d))
            .filter_map(|m| m.days)
            .collect()
    };
    let count = |kind: ProcessKind, detail: Option<&str>| -> u64 {
        marks
            .iter()
            .filter(|m| m.kind == kind && detail.is_none_or(|d| m.detail == d))
            .count() as u64
    };
    let stages = Stage::ALL
        .into_iter()
        .map(|s| {
            (
                s,
                Durations::of(days_of(ProcessKind::StageLeft, Some(s.as_str()))),
            )
        })
        .filter(|(_, d)| d.count > 0)
        .collect();
    let referrals = count(ProcessKind::Referred, None);
    let referrals_confirmed = Durations::of(days_of(ProcessKind::Referred, None));
    ProcessFigures {
        stages,
        monitoring_on_time: count(ProcessKind::Monitored, Some("on_time")),
        monitoring_late: Durations::of(days_of(ProcessKind::Monitored, Some("late"))),
        monitoring_unscheduled: count(ProcessKind::Monitored, Some("unscheduled")),
        referrals,
        referrals_open: referrals - referrals_confirmed.count,
        referrals_confirmed,
        closures: ClosurePattern::ALL
            .iter()
            .map(|p| (*p, count(ProcessKind::Closed, Some(p.as_str()))))
            .collect(),
        closed_after: Durations::of(days_of(ProcessKind::Closed, None)),
    }
}

/// Counts under this (and above 0) are not shown when tenants are compared (R10).
pub const SUPPRESS_UNDER: u64 = 5;

/// A table of counts as it may be shown (R10): the cells, and each column's total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub rows: Vec<Vec<Option<u64>>>,
    pub totals: Vec<Option<u64>>,
}

/// A table of counts (a row per tenant, a column per count) as it may be shown beside the
/// other tenants' with its column totals (R10): a count from 1 to 4 is suppressed (`None`),
/// and where a column's total and its other cells would give a suppressed count away — one
/// suppressed cell in the column, or suppressed cells adding up to less than 5 — the smallest
/// other counts above 0 are suppressed with them; when there are none, the total is suppressed
/// instead; a total from 1 to 4 is suppressed as a count. So no count under 5, single or
/// summed, can be worked out from what is shown. 0 is shown.
pub fn suppressed(rows: &[Vec<u64>]) -> Suppressed {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut totals: Vec<Option<u64>> = (0..columns)
        .map(|c| Some(rows.iter().filter_map(|r| r.get(c)).sum()))
        .collect();
    let mut out: Vec<Vec<Option<u64>>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|n| (*n == 0 || *n >= SUPPRESS_UNDER).then_some(*n))
                .collect()
        })
        .collect();
    for c in 0..columns {
        // The hidden counts of a column must not be worked out from its total and the counts
        // shown: while one alone is hidden, or those hidden add up to less than 5, the
        // smallest shown count above 0 is hidden too; with none left, the total is.
        loop {
            let hidden: Vec<u64> = rows
                .iter()
                .zip(&out)
                .filter(|(_, o)| o.get(c).is_some_and(Option::is_none))
                .filter_map(|(r, _)| r.get(c).copied())
                .collect();
            let sum: u64 = hidden.iter().sum();
            if hidden.is_empty() || (hidden.len() > 1 && sum >= SUPPRESS_UNDER) {
                break;
            }
            let partner = out
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r.get(c) {
                    Some(Some(n)) if *n > 0 => Some((*n, i)),
                    _ => None,
                })
                .min();
            match partner {
                Some((_, i)) => out[i][c] = None,
                None => {
                    totals[c] = None;
                    break;
                }
            }
        }
    }
    // A total is a count too.
    for t in &mut totals {
        if t.is_some_and(|n| n > 0 && n < SUPPRESS_UNDER) {
            *t = None;
        }
    }
    Suppressed { rows: out, totals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_and_the_cells_that_would_give_them_away_are_suppressed() {
        // Column 0: 3 is small; with the total shown, 3 = total − 12 − 40, so the smallest
        // other count (12) goes too. Column 1: 1 and 2 hide each other but their sum, 3,
        // would show: 9 goes too. Column 2: nothing small. Column 3: 0 is shown; the one
        // small count's partner is 7.
        let shown = suppressed(&[vec![3, 1, 10, 0], vec![12, 2, 20, 4], vec![40, 9, 30, 7]]);
        assert_eq!(
            shown.rows,
            vec![
                vec![None, None, Some(10), Some(0)],
                vec![None, None, Some(20), None],
                vec![Some(40), None, Some(30), None],
            ]
        );
        assert_eq!(shown.totals, vec![Some(55), Some(12), Some(60), Some(11)]);
        // A single tenant's small count has no partner: its total, the same count, goes.
        let one = suppressed(&[vec![2, 7]]);
        // Two small counts adding up to 3 take the 9 with them; with only 0 beside them, the
        // total (3) goes.
        let three = suppressed(&[vec![1], vec![2], vec![9]]);
        assert_eq!(three.rows, vec![vec![None], vec![None], vec![None]]);
        assert_eq!(three.totals, vec![Some(12)]);
        assert_eq!(suppressed(&[vec![1], vec![2], vec![0]]).totals, vec![None]);
        // Two small counts adding up to 5 or more hide each other.
        let five = suppressed(&[vec![2], vec![3], vec![9]]);
        assert_eq!(five.rows, vec![vec![None], vec![None], vec![Some(9)]]);
        assert_eq!(one.rows, vec![vec![None, Some(7)]]);
        assert_eq!(one.totals, vec![None, Some(7)]);
    }

    #[test]
    fn ages_fall_in_ten_year_bands_on_the_day_of_the_consultation() {
        use jiff::civil::date;
        let on = date(2026, 5, 1);
        assert_eq!(
            age_band(Some(date(2006, 5, 2)), on),
            0,
            "19 the day before 20"
        );
        assert_eq!(age_band(Some(date(2006, 5, 1)), on), 1, "20 on the day");
        assert_eq!(age_band(Some(date(1977, 1, 1)), on), 3, "49");
        assert_eq!(age_band(Some(date(1957, 5, 2)), on), 5, "68: 60代");
        assert_eq!(age_band(Some(date(1956, 5, 1)), on), 6, "70: 70歳以上");
        assert_eq!(age_band(None, on), 7);
    }

    #[test]
    fn a_breakdown_counts_each_consultation_once_per_dimension() {
        use crate::person::Sex;
        use jiff::civil::date;
        let f = |problem: Option<&str>, route: &str, born: Option<Date>, sex: Option<Sex>| {
            ConsultationFacts {
                received_on: date(2026, 5, 1),
                main_problem: problem.map(str::to_owned),
                route: Some(route.to_owned()),
                date_of_birth: born,
                sex,
                issues: match problem {
                    Some("housing") => vec!["housing_unstable".into(), "debt".into()],
                    Some(_) => vec!["debt".into()],
                    None => Vec::new(),
                },
            }
        };
        let b = breakdown(&[
            f(
                Some("housing"),
                "self_visit",
                Some(date(1990, 1, 1)),
                Some(Sex::Female),
            ),
            f(
                Some("housing"),
                "self_phone",
                Some(date(1950, 1, 1)),
                Some(Sex::Male),
            ),
            f(None, "self_visit", None, None),
        ]);
        assert_eq!(b.total, 3);
        assert_eq!(
            b.by_main_problem,
            vec![("housing".into(), 2), (String::new(), 1)]
        );
        assert_eq!(
            b.by_route,
            vec![("self_visit".into(), 2), ("self_phone".into(), 1)]
        );
        let ages: Vec<u64> = b.by_age_band.iter().map(|(_, n)| *n).collect();
        assert_eq!(ages, vec![0, 0, 1, 0, 0, 0, 1, 1]);
        assert_eq!(
            b.by_sex,
            vec![(String::new(), 1), ("female".into(), 1), ("male".into(), 1)]
        );
        // A case under each of its 課題; one without any under "".
        assert_eq!(
            b.by_issue,
            vec![
                ("debt".into(), 2),
                ("housing_unstable".into(), 2),
                (String::new(), 1)
            ]
        );
    }

    #[test]
    fn process_figures_take_medians_and_count_open_referrals() {
        use jiff::civil::date;
        let m = |kind: ProcessKind, detail: &str, days: Option<u32>| ProcessMark {
            kind,
            on: date(2026, 5, 1),
            detail: detail.to_owned(),
            days,
        };
        let f = process(&[
            m(ProcessKind::StageLeft, "intake", Some(2)),
            m(ProcessKind::StageLeft, "intake", Some(9)),
            m(ProcessKind::StageLeft, "intake", Some(4)),
            m(ProcessKind::StageLeft, "intake", Some(7)),
            m(ProcessKind::StageLeft, "planning", Some(30)),
            m(ProcessKind::Monitored, "on_time", Some(0)),
            m(ProcessKind::Monitored, "late", Some(3)),
            m(ProcessKind::Monitored, "unscheduled", None),
            m(ProcessKind::Referred, "", Some(10)),
            m(ProcessKind::Referred, "", None),
            m(ProcessKind::Referred, "", None),
            m(ProcessKind::Closed, "resolved", Some(200)),
        ]);
        // 2, 4, 7, 9: the middle two are 4 and 7.
        assert_eq!(
            f.stages,
            vec![
                (
                    Stage::Intake,
                    Durations {
                        count: 4,
                        median_days: Some(5.5),
                        max_days: Some(9)
                    }
                ),
                (
                    Stage::Planning,
                    Durations {
                        count: 1,
                        median_days: Some(30.0),
                        max_days: Some(30)
                    }
                )
            ]
        );
        assert_eq!(
            (
                f.monitoring_on_time,
                f.monitoring_late.count,
                f.monitoring_unscheduled
            ),
            (1, 1, 1)
        );
        assert_eq!(
            (f.referrals, f.referrals_confirmed.count, f.referrals_open),
            (3, 1, 2)
        );
        assert_eq!(f.closures[0], (ClosurePattern::Resolved, 1));
        assert_eq!(f.closed_after.median_days, Some(200.0));
    }

    #[test]
    fn the_rate_and_the_per_capita_figures_are_worked_out_by_hand() {
        let counts = PeriodCounts {
            new_consultations: 30,
            plans: 12,
            employment_support_subjects: 8,
            employed: 5,
            employed_under_support: 3,
            income_increased: 2,
            income_increased_under_support: 1,
            evaluated: 4,
            improved: 3,
        };
        // (3 + 1) / 8; 30 consultations over 3 months in 50,000 inhabitants: 20 per 100,000
        // and month; 12 plans: 8; 8 subjects: 5.333….
        let i = indicators(counts, 3, Some(50_000));
        assert_eq!(i.employment_or_income_rate, Some(0.5));
        // 3 of the 4 evaluated saw a change.
        assert_eq!(i.improvement_rate, Some(0.75));
        let p = i.per_100k_month.unwrap_or_else(|| unreachable!());
        assert!((p.new_consultations - 20.0).abs() < 1e-9);
        assert!((p.plans - 8.0).abs() < 1e-9);
        assert!((p.employment_support_subjects - 16.0 / 3.0).abs() < 1e-9);
        // No subjects: no rate; no population: no per-capita figures.
        let none = indicators(PeriodCounts::default(), 1, None);
        assert_eq!(none.employment_or_income_rate, None);
        assert_eq!(none.per_100k_month, None);
        assert_eq!(none.improvement_rate, None);
    }
}
