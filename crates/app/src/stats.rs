//! The national indicators of the 支援状況調査 (issue 14, item 2) for the caller's tenant: each
//! month of a fiscal year (April to March) and the year as a whole, with the per-capita figures
//! beside the tenant's 目安値. Counts only, no names: lead workers, municipal officers and
//! administrators (`policy::tenant_counts`); audited. The counting rules: `docs/COUNTING.md`.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::settings::Benchmarks;
use tsunagu_core::stats::{Durations, Indicators, PeriodCounts, ProcessFigures, indicators};
use tsunagu_core::wareki;
use tsunagu_report::csv::Table;

use crate::{App, Caller, FileFormat, Result, access};

/// One month's indicators.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthIndicators {
    /// The month, e.g. `2026-04`.
    pub month: String,
    /// The month in 和暦, e.g. 令和8年4月.
    pub label: String,
    #[serde(flatten)]
    pub indicators: Indicators,
}

/// A fiscal year's national indicators.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NationalReport {
    /// The fiscal year (April of this year to March of the next).
    pub fiscal_year: i16,
    /// The population the per-capita figures are of (the tenant's setting).
    pub population: Option<u32>,
    pub benchmarks: Benchmarks,
    /// April to March; months after today are left out.
    pub months: Vec<MonthIndicators>,
    /// The year so far: a person counts once however many months they count in.
    pub year: Indicators,
}

/// The fiscal year's report (403 for roles that do not see tenant-wide counts).
pub async fn national(app: &App, caller: &Caller, fiscal_year: i16) -> Result<NationalReport> {
    access::tenant_counts(caller)?;
    let today = app.clock.today();
    let (from, until) = fiscal_year_days(fiscal_year, today)?;
    let tenant = caller.actor.tenant_id;
    let population = caller.settings.population;
    let mut months = Vec::new();
    if from <= until {
        let counted = app
            .store
            .milestone_counts(Some(tenant), from, until, true, false)
            .await?;
        let mut month = from;
        while month <= until {
            let key = format!("{:04}-{:02}", month.year(), month.month());
            let counts = counted
                .iter()
                .find(|(_, m, _)| m.as_deref() == Some(key.as_str()))
                .map_or_else(PeriodCounts::default, |(_, _, c)| *c);
            months.push(MonthIndicators {
                month: key,
                label: wareki::format(month).trim_end_matches("1日").to_owned(),
                indicators: indicators(counts, 1, population),
            });
            month = month
                .checked_add(jiff::Span::new().months(1))
                .map_err(|_| invalid_year())?;
        }
    }
    // The year's consultations and plans are the sums of its months (each counts once, in
    // the month it happened); its persons employed, with a higher income, evaluated or seen
    // to improve are counted over the year, once each however many months they count in.
    let mut year_counts = PeriodCounts::default();
    for m in &months {
        let c = &m.indicators.counts;
        year_counts.new_consultations += c.new_consultations;
        year_counts.plans += c.plans;
        year_counts.employment_support_subjects += c.employment_support_subjects;
    }
    if from <= until
        && let Some((_, _, outcomes)) = app
            .store
            .milestone_counts(Some(tenant), from, until, false, true)
            .await?
            .first()
    {
        year_counts.employed = outcomes.employed;
        year_counts.employed_under_support = outcomes.employed_under_support;
        year_counts.income_increased = outcomes.income_increased;
        year_counts.income_increased_under_support = outcomes.income_increased_under_support;
        year_counts.evaluated = outcomes.evaluated;
        year_counts.improved = outcomes.improved;
    }
    let year = indicators(year_counts, months.len() as u32, population);
    app.store
        .audit(&[caller
            .audit("stats.national_read")
            .detail(format!("fiscal year {fiscal_year}"))])
        .await?;
    Ok(NationalReport {
        fiscal_year,
        population,
        benchmarks: caller.settings.benchmarks,
        months,
        year,
    })
}

/// The fiscal year's report as a file for Excel (the table of the page, a row a month and one
/// for the year), audited as an export.
pub async fn national_file(
    app: &App,
    caller: &Caller,
    fiscal_year: i16,
    format: FileFormat,
) -> Result<Vec<u8>> {
    let report = national(app, caller, fiscal_year).await?;
    let mut table = Table {
        headers: [
            "月",
            "新規相談受付件数",
            "プラン作成件数",
            "就労支援対象者数",
            "就労者数",
            "就労者数（うち就労支援対象プラン作成者分）",
            "増収者数",
            "増収者数（うち就労支援対象プラン作成者分）",
            "就労・増収率",
            "評価したプラン作成者数",
            "うち改善が見られた者",
            "自立に向けた改善が見られた者の割合",
            "新規相談受付件数（人口10万人・1か月当たり）",
            "プラン作成件数（人口10万人・1か月当たり）",
            "就労支援対象者数（人口10万人・1か月当たり）",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: Vec::new(),
    };
    let row = |label: &str, i: &Indicators| {
        let c = &i.counts;
        let mut cells = vec![label.to_owned()];
        cells.extend(
            [
                c.new_consultations,
                c.plans,
                c.employment_support_subjects,
                c.employed,
                c.employed_under_support,
                c.income_increased,
                c.income_increased_under_support,
            ]
            .map(|n| n.to_string()),
        );
        cells.push(
            i.employment_or_income_rate
                .map(|r| format!("{:.1}%", r * 100.0))
                .unwrap_or_default(),
        );
        cells.extend([c.evaluated, c.improved].map(|n| n.to_string()));
        cells.push(
            i.improvement_rate
                .map(|r| format!("{:.1}%", r * 100.0))
                .unwrap_or_default(),
        );
        match i.per_100k_month {
            Some(p) => cells.extend(
                [p.new_consultations, p.plans, p.employment_support_subjects]
                    .map(|x| format!("{x:.2}")),
            ),
            None => cells.extend(std::iter::repeat_n(String::new(), 3)),
        }
        cells
    };
    for m in &report.months {
        table.rows.push(row(&m.label, &m.indicators));
    }
    table.rows.push(row("年度計", &report.year));
    app.store
        .audit(&[caller
            .audit("stats.national_exported")
            .detail(format!("fiscal year {fiscal_year}, {}", format.extension()))])
        .await?;
    format.write("支援状況調査", &table)
}

/// One line of a breakdown: the code (empty for none recorded), its name, the count.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BreakdownItem {
    pub code: String,
    pub label: String,
    pub count: u64,
}

/// A fiscal year's new consultations by 主訴, 相談経路, age band and sex (R9).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConsultationBreakdown {
    pub fiscal_year: i16,
    pub total: u64,
    pub by_main_problem: Vec<BreakdownItem>,
    pub by_route: Vec<BreakdownItem>,
    pub by_age_band: Vec<BreakdownItem>,
    pub by_sex: Vec<BreakdownItem>,
    /// By 本人の抱える課題 of each case's newest assessment; a case counts under each of its
    /// 課題, and under 「課題の記録なし」 when none is recorded.
    #[serde(default)]
    pub by_issue: Vec<BreakdownItem>,
}

impl ConsultationBreakdown {
    /// The dimensions with their Japanese names, in the order the page and the files show them.
    pub fn dimensions(&self) -> [(&'static str, &[BreakdownItem]); 5] {
        [
            ("主訴", &self.by_main_problem),
            ("相談経路", &self.by_route),
            ("年代", &self.by_age_band),
            ("性別", &self.by_sex),
            ("本人の抱える課題", &self.by_issue),
        ]
    }
}

/// The fiscal year's new consultations broken down (counts only; the same callers as the
/// national indicators), audited.
pub async fn consultations(
    app: &App,
    caller: &Caller,
    fiscal_year: i16,
) -> Result<ConsultationBreakdown> {
    use tsunagu_core::case::IntakeRoute;
    use tsunagu_core::person::Sex;
    access::tenant_counts(caller)?;
    let (from, until) = fiscal_year_days(fiscal_year, app.clock.today())?;
    let facts = if from <= until {
        app.store
            .consultation_facts(caller.actor.tenant_id, from, until)
            .await?
    } else {
        Vec::new()
    };
    let b = tsunagu_core::stats::breakdown(&facts);
    let unrecorded = "未記入";
    let items = |v: Vec<(String, u64)>, label: &dyn Fn(&str) -> String| {
        v.into_iter()
            .map(|(code, count)| BreakdownItem {
                label: if code.is_empty() {
                    unrecorded.to_owned()
                } else {
                    label(&code)
                },
                code,
                count,
            })
            .collect()
    };
    let settings = &caller.settings;
    let report = ConsultationBreakdown {
        fiscal_year,
        total: b.total,
        by_main_problem: items(b.by_main_problem, &|c| {
            settings.presenting_problem_name(c).to_owned()
        }),
        by_route: items(b.by_route, &|c| {
            IntakeRoute::parse(c).map_or_else(|| c.to_owned(), |r| r.label_ja().to_owned())
        }),
        by_age_band: items(b.by_age_band, &|c| c.to_owned()),
        by_sex: items(b.by_sex, &|c| {
            Sex::ALL
                .iter()
                .find(|s| s.as_str() == c)
                .map_or_else(|| c.to_owned(), |s| s.label_ja().to_owned())
        }),
        by_issue: b
            .by_issue
            .into_iter()
            .map(|(code, count)| BreakdownItem {
                label: if code.is_empty() {
                    "課題の記録なし".to_owned()
                } else {
                    settings.assessment_issue_name(&code).to_owned()
                },
                code,
                count,
            })
            .collect(),
    };
    app.store
        .audit(&[caller
            .audit("stats.consultations_read")
            .detail(format!("fiscal year {fiscal_year}"))])
        .await?;
    Ok(report)
}

/// The breakdown as a file for Excel: one row per dimension and item.
pub async fn consultations_file(
    app: &App,
    caller: &Caller,
    fiscal_year: i16,
    format: FileFormat,
) -> Result<Vec<u8>> {
    let report = consultations(app, caller, fiscal_year).await?;
    let mut table = Table {
        headers: ["区分", "項目", "新規相談受付件数"]
            .map(str::to_owned)
            .to_vec(),
        rows: Vec::new(),
    };
    for (dimension, items) in report.dimensions() {
        for i in items {
            table.rows.push(vec![
                dimension.to_owned(),
                i.label.clone(),
                i.count.to_string(),
            ]);
        }
    }
    app.store
        .audit(&[caller
            .audit("stats.consultations_exported")
            .detail(format!("fiscal year {fiscal_year}, {}", format.extension()))])
        .await?;
    format.write("新規相談の内訳", &table)
}

/// A fiscal year's process figures (R11–R14) and the caseload per worker now.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProcessReport {
    pub fiscal_year: i16,
    #[serde(flatten)]
    pub figures: ProcessFigures,
    /// Open cases per worker with any, now, most first (counts only, no names).
    pub open_cases_per_worker: Vec<u64>,
    /// Monitorings due before today and not done, now.
    pub monitoring_overdue_now: u64,
}

impl ProcessReport {
    /// The figures as rows of a table (区分, 項目, 件数, 中央値（日）, 最長（日）), as the page
    /// and the files show them.
    pub fn rows(&self) -> Vec<[String; 5]> {
        let f = &self.figures;
        let median = |d: &Durations| d.median_days.map_or(String::new(), |m| format!("{m:.1}"));
        let max = |d: &Durations| d.max_days.map_or(String::new(), |m| m.to_string());
        let plain = |group: &str, item: &str, n: u64| {
            [
                group.to_owned(),
                item.to_owned(),
                n.to_string(),
                String::new(),
                String::new(),
            ]
        };
        let timed = |group: &str, item: &str, d: &Durations| {
            [
                group.to_owned(),
                item.to_owned(),
                d.count.to_string(),
                median(d),
                max(d),
            ]
        };
        let mut rows = Vec::new();
        for (stage, d) in &f.stages {
            rows.push(timed("段階の滞在日数", stage.label_ja(), d));
        }
        rows.push(plain("モニタリング", "期日内に実施", f.monitoring_on_time));
        rows.push(timed(
            "モニタリング",
            "期日を過ぎて実施（遅れた日数）",
            &f.monitoring_late,
        ));
        rows.push(plain(
            "モニタリング",
            "期日の設定なし",
            f.monitoring_unscheduled,
        ));
        rows.push(plain(
            "モニタリング",
            "期日を過ぎて未実施（現在）",
            self.monitoring_overdue_now,
        ));
        rows.push(plain("つなぎ（紹介）", "紹介した件数", f.referrals));
        rows.push(timed(
            "つなぎ（紹介）",
            "つながりを確認（確認までの日数）",
            &f.referrals_confirmed,
        ));
        rows.push(plain("つなぎ（紹介）", "未確認", f.referrals_open));
        for (pattern, n) in &f.closures {
            rows.push(plain("終結のパターン", pattern.label_ja(), *n));
        }
        rows.push(timed(
            "終結のパターン",
            "終結までの日数（受付から）",
            &f.closed_after,
        ));
        // Cases per worker counted as `Durations` count days: how many workers, the median, the most.
        let load = Durations::of(
            self.open_cases_per_worker
                .iter()
                .map(|n| u32::try_from(*n).unwrap_or(u32::MAX))
                .collect(),
        );
        rows.push(timed(
            "担当件数（現在）",
            "担当者一人当たりの継続中のケース",
            &load,
        ));
        rows
    }
}

/// The headers of `ProcessReport::rows`.
pub const PROCESS_HEADERS: [&str; 5] = ["区分", "項目", "件数", "中央値", "最長・最多"];

/// The fiscal year's process figures (counts only; the same callers as the national
/// indicators), audited.
pub async fn process(app: &App, caller: &Caller, fiscal_year: i16) -> Result<ProcessReport> {
    access::tenant_counts(caller)?;
    let (from, until) = fiscal_year_days(fiscal_year, app.clock.today())?;
    let tenant = caller.actor.tenant_id;
    let marks = if from <= until {
        app.store.process_marks(tenant, from, until).await?
    } else {
        Vec::new()
    };
    let report = ProcessReport {
        fiscal_year,
        figures: tsunagu_core::stats::process(&marks),
        open_cases_per_worker: app.store.open_cases_per_worker(tenant).await?,
        monitoring_overdue_now: {
            let today = app.clock.today();
            app.store
                .due_counts(tenant, today, today, today)
                .await?
                .into_iter()
                .find(|(kind, _, _)| *kind == tsunagu_core::case::DueKind::Monitoring)
                .map_or(0, |(_, _, overdue)| overdue)
        },
    };
    app.store
        .audit(&[caller
            .audit("stats.process_read")
            .detail(format!("fiscal year {fiscal_year}"))])
        .await?;
    Ok(report)
}

/// The process figures as a file for Excel.
pub async fn process_file(
    app: &App,
    caller: &Caller,
    fiscal_year: i16,
    format: FileFormat,
) -> Result<Vec<u8>> {
    let report = process(app, caller, fiscal_year).await?;
    let table = Table {
        headers: PROCESS_HEADERS.map(str::to_owned).to_vec(),
        rows: report.rows().into_iter().map(Vec::from).collect(),
    };
    app.store
        .audit(&[caller
            .audit("stats.process_exported")
            .detail(format!("fiscal year {fiscal_year}, {}", format.extension()))])
        .await?;
    format.write("支援の経過", &table)
}

/// The counts compared across a deployment's tenants, in this order.
pub const COMPARED: [&str; 7] = [
    "新規相談受付件数",
    "プラン作成件数",
    "就労支援対象者数",
    "就労者数（うち就労支援対象プラン作成者分）",
    "増収者数（うち就労支援対象プラン作成者分）",
    "評価したプラン作成者数",
    "うち改善が見られた者",
];

/// One tenant's row of the comparison: its counts as they may be shown (R10) and the new
/// consultations per 100,000 inhabitants and month where that count is shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComparedTenant {
    pub tenant: String,
    pub counts: Vec<Option<u64>>,
    pub new_consultations_per_100k_month: Option<f64>,
}

/// A period's counts of every tenant of the deployment, side by side, small counts suppressed.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub from: Date,
    pub until: Date,
    pub tenants: Vec<ComparedTenant>,
    pub totals: Vec<Option<u64>>,
}

/// The comparison of a deployment's tenants over a period (a month, or a fiscal year so far):
/// aggregates only, cells under 5 suppressed with the cells that would give them away (R10),
/// counted in one pass over the milestones of every tenant. For whoever runs the deployment
/// (the command line), not for a tenant's users: it names every tenant; audited.
pub async fn deployment(app: &App, from: Date, until: Date) -> Result<Comparison> {
    let tenants = app.store.tenants().await?;
    let months = {
        let (y0, m0) = (i32::from(from.year()), i32::from(from.month()));
        let (y1, m1) = (i32::from(until.year()), i32::from(until.month()));
        u32::try_from((y1 - y0) * 12 + (m1 - m0) + 1).unwrap_or(1)
    };
    let counts = app
        .store
        .milestone_counts(None, from, until, false, false)
        .await?;
    let rows: Vec<(String, Option<u32>, PeriodCounts)> = tenants
        .iter()
        .map(|t| {
            let c = counts
                .iter()
                .find(|(id, _, _)| *id == t.id)
                .map_or_else(PeriodCounts::default, |(_, _, c)| *c);
            (t.name.clone(), t.settings.population, c)
        })
        .collect();
    let table: Vec<Vec<u64>> = rows
        .iter()
        .map(|(_, _, c)| {
            vec![
                c.new_consultations,
                c.plans,
                c.employment_support_subjects,
                c.employed_under_support,
                c.income_increased_under_support,
                c.evaluated,
                c.improved,
            ]
        })
        .collect();
    let shown = tsunagu_core::stats::suppressed(&table);
    let tenants = rows
        .iter()
        .zip(shown.rows)
        .map(|((name, population, c), counts)| ComparedTenant {
            tenant: name.clone(),
            new_consultations_per_100k_month: counts
                .first()
                .copied()
                .flatten()
                .and_then(|_| indicators(*c, months, *population).per_100k_month)
                .map(|p| p.new_consultations),
            counts,
        })
        .collect();
    app.store
        .audit(
            &[tsunagu_store::AuditEntry::new("stats.deployment_compared")
                .detail(format!("{from}..{until}"))],
        )
        .await?;
    Ok(Comparison {
        from,
        until,
        tenants,
        totals: shown.totals,
    })
}

impl Comparison {
    /// The comparison as a table for a file: suppressed cells as 「＊」.
    pub fn table(&self) -> Table {
        let mut headers = vec!["自治体".to_owned()];
        headers.extend(COMPARED.iter().map(|h| (*h).to_owned()));
        headers.push("新規相談受付件数（人口10万人・1か月当たり）".into());
        let cell = |n: &Option<u64>| n.map_or_else(|| "＊".to_owned(), |n| n.to_string());
        let mut rows: Vec<Vec<String>> = self
            .tenants
            .iter()
            .map(|t| {
                let mut r = vec![t.tenant.clone()];
                r.extend(t.counts.iter().map(cell));
                r.push(
                    t.new_consultations_per_100k_month
                        .map(|p| format!("{p:.1}"))
                        .unwrap_or_default(),
                );
                r
            })
            .collect();
        let mut total = vec!["計".to_owned()];
        total.extend(self.totals.iter().map(cell));
        total.push(String::new());
        rows.push(total);
        Table { headers, rows }
    }
}

/// The days of a fiscal year counted so far: 1 April to 31 March, cut at `today` (`until`
/// falls before `from` for a year not begun).
pub fn fiscal_year_days(fiscal_year: i16, today: Date) -> Result<(Date, Date)> {
    let from = Date::new(fiscal_year, 4, 1).map_err(|_| invalid_year())?;
    let end = Date::new(fiscal_year + 1, 3, 31).map_err(|_| invalid_year())?;
    Ok((from, end.min(today)))
}

fn invalid_year() -> crate::Error {
    crate::Error::invalid("stats.invalid_year", "年度が正しくありません。")
}
