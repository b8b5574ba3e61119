//! 統計 (issue 14, item 2): the national indicators of a fiscal year, month by month and for
//! the year, as a table (`app::stats::national`). Counts only: leads, municipal officers and
//! administrators.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::FileFormat;

use crate::extract::FileKind;
use tsunagu_app::stats::NationalReport;
use tsunagu_core::stats::Indicators;
use tsunagu_core::wareki;

use super::{Chrome, PageResult, render};
use crate::AppState;
use crate::ui::Page;

#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    /// The fiscal year (西暦, e.g. 2026); this fiscal year when absent or unreadable.
    #[serde(default)]
    pub fy: String,
}

/// One row of the table.
pub struct Row {
    pub label: String,
    /// The cases behind the month (the caseload list, through the caller's access).
    pub href: Option<String>,
    pub cells: [String; 7],
    pub rate: String,
    /// Evaluated, improved, and the share (R8).
    pub improvement: [String; 3],
    pub per_100k: Option<[String; 3]>,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    chrome: Chrome,
    fiscal_year: i16,
    fiscal_year_label: String,
    years: Vec<(i16, String)>,
    rows: Vec<Row>,
    population: Option<u32>,
    benchmarks: [u16; 3],
    /// Charts of the months (SVG drawn here), each with its heading; the tables carry the
    /// same figures.
    charts: Vec<(String, String)>,
    /// New consultations by 主訴, 相談経路, age band and sex.
    breakdown: tsunagu_app::stats::ConsultationBreakdown,
    /// The age bands as a chart.
    age_chart: String,
    /// The process figures' rows (`ProcessReport::rows`).
    process: Vec<[String; 5]>,
    /// The days in each stage as a chart (none before any case left a stage).
    stage_chart: Option<String>,
}

fn row(label: String, i: &Indicators) -> Row {
    let c = &i.counts;
    Row {
        label,
        href: None,
        cells: [
            c.new_consultations,
            c.plans,
            c.employment_support_subjects,
            c.employed,
            c.employed_under_support,
            c.income_increased,
            c.income_increased_under_support,
        ]
        .map(|n| n.to_string()),
        rate: i
            .employment_or_income_rate
            .map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0)),
        improvement: [
            c.evaluated.to_string(),
            c.improved.to_string(),
            i.improvement_rate
                .map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0)),
        ],
        per_100k: i.per_100k_month.map(|p| {
            [p.new_consultations, p.plans, p.employment_support_subjects].map(|x| format!("{x:.1}"))
        }),
    }
}

fn fiscal_year_of(q: &StatsQuery, today: jiff::civil::Date) -> i16 {
    let this_year = wareki::fiscal_year(today);
    q.fy.trim()
        .parse::<i16>()
        .ok()
        .filter(|y| (2015..=this_year).contains(y))
        .unwrap_or(this_year)
}

/// The same table as a file for Excel (`.csv` or `.xlsx`).
pub async fn national_file(
    state: State<AppState>,
    page: Page,
    kind: FileKind,
    query: Query<StatsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    file(state, page, query, StatsFile::National, kind.0).await
}

/// The breakdown of new consultations as a file.
pub async fn consultations_file(
    state: State<AppState>,
    page: Page,
    kind: FileKind,
    query: Query<StatsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    file(state, page, query, StatsFile::Consultations, kind.0).await
}

/// The process figures as a file.
pub async fn process_file(
    state: State<AppState>,
    page: Page,
    kind: FileKind,
    query: Query<StatsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    file(state, page, query, StatsFile::Process, kind.0).await
}

/// The tables of the page a file can be saved of.
#[derive(Clone, Copy)]
enum StatsFile {
    National,
    Consultations,
    Process,
}

async fn file(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<StatsQuery>,
    which: StatsFile,
    format: FileFormat,
) -> Result<axum::response::Response, super::PageError> {
    use tsunagu_app::stats;
    let fiscal_year = fiscal_year_of(&q, app.clock.today());
    let (stem, bytes) = match which {
        StatsFile::National => (
            "national",
            stats::national_file(&app, &auth, fiscal_year, format).await?,
        ),
        StatsFile::Consultations => (
            "consultations",
            stats::consultations_file(&app, &auth, fiscal_year, format).await?,
        ),
        StatsFile::Process => (
            "process",
            stats::process_file(&app, &auth, fiscal_year, format).await?,
        ),
    };
    Ok(super::download(
        format,
        &format!("{stem}-{fiscal_year}"),
        bytes,
    ))
}

pub async fn national(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<StatsQuery>,
) -> PageResult {
    let today = app.clock.today();
    let this_year = wareki::fiscal_year(today);
    let fiscal_year = fiscal_year_of(&q, today);
    let report: NationalReport = tsunagu_app::stats::national(&app, &auth, fiscal_year).await?;
    let label_of = |fy: i16| {
        jiff::civil::Date::new(fy, 4, 1)
            .map(wareki::fiscal_year_label)
            .unwrap_or_default()
    };
    let links = auth.actor.role.works_cases();
    let mut rows: Vec<Row> = report
        .months
        .iter()
        .map(|m| Row {
            href: links.then(|| format!("/cases?month={}&status=all", m.month)),
            ..row(m.label.clone(), &m.indicators)
        })
        .collect();
    let charts = charts(&report);
    let breakdown = tsunagu_app::stats::consultations(&app, &auth, fiscal_year).await?;
    let age_chart = tsunagu_report::chart::bars(
        &tsunagu_report::chart::BarChart {
            title: "新規相談の年代".into(),
            description: breakdown
                .by_age_band
                .iter()
                .map(|i| format!("{} {}件", i.label, i.count))
                .collect::<Vec<_>>()
                .join("、"),
            categories: breakdown
                .by_age_band
                .iter()
                .map(|i| i.label.clone())
                .collect(),
            series: vec![tsunagu_report::chart::Series {
                name: "新規相談受付件数".into(),
                values: breakdown
                    .by_age_band
                    .iter()
                    .map(|i| i.count as f64)
                    .collect(),
            }],
            reference: None,
        },
        "chart-ages",
    );
    let process_report = tsunagu_app::stats::process(&app, &auth, fiscal_year).await?;
    let process = process_report.rows();
    // Days in each stage (the median of the cases that left it), with the same figures in the
    // table beside it.
    let stages = &process_report.figures.stages;
    let stage_chart = (!stages.is_empty()).then(|| {
        tsunagu_report::chart::bars(
            &tsunagu_report::chart::BarChart {
                title: "段階の滞在日数（中央値）".into(),
                description: stages
                    .iter()
                    .map(|(st, d)| {
                        format!(
                            "{} {}日（{}件）",
                            st.label_ja(),
                            d.median_days.unwrap_or(0.0),
                            d.count
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                categories: stages
                    .iter()
                    .map(|(st, _)| st.label_ja().to_owned())
                    .collect(),
                series: vec![tsunagu_report::chart::Series {
                    name: "中央値（日）".into(),
                    values: stages
                        .iter()
                        .map(|(_, d)| d.median_days.unwrap_or(0.0))
                        .collect(),
                }],
                reference: None,
            },
            "chart-stages",
        )
    });
    rows.push(row("年度計".to_owned(), &report.year));
    let b = report.benchmarks;
    Ok(render(&StatsPage {
        chrome: Chrome::of(&auth, today),
        fiscal_year,
        fiscal_year_label: label_of(fiscal_year),
        years: (2015..=this_year).rev().map(|y| (y, label_of(y))).collect(),
        rows,
        population: report.population,
        benchmarks: [b.new_consultations, b.plans, b.employment_support_subjects],
        charts,
        breakdown,
        age_chart,
        process,
        stage_chart,
    }))
}

/// The month of a `2026-04` key as the charts label it: 「4月」.
fn month_label(month: &str) -> String {
    let m = month
        .split('-')
        .nth(1)
        .and_then(|m| m.parse::<u8>().ok())
        .unwrap_or(0);
    format!("{m}月")
}

/// The months as bars: the counts, then each figure per 100,000 inhabitants beside its 目安値
/// (when the population is set).
fn charts(report: &NationalReport) -> Vec<(String, String)> {
    use tsunagu_report::chart::{BarChart, Series, bars};
    let categories: Vec<String> = report
        .months
        .iter()
        .map(|m| month_label(&m.month))
        .collect();
    let series = |name: &str, f: &dyn Fn(&Indicators) -> f64| Series {
        name: name.to_owned(),
        values: report.months.iter().map(|m| f(&m.indicators)).collect(),
    };
    let describe = |s: &[Series]| {
        s.iter()
            .map(|s| {
                let total: f64 = s.values.iter().sum();
                format!("{}は年度計{}", s.name, total)
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let mut out = Vec::new();
    let counts = vec![
        series("新規相談受付件数", &|i| {
            i.counts.new_consultations as f64
        }),
        series("プラン作成件数", &|i| i.counts.plans as f64),
        series("就労支援対象者数", &|i| {
            i.counts.employment_support_subjects as f64
        }),
    ];
    out.push((
        "月別の件数".to_owned(),
        bars(
            &BarChart {
                title: "月別の新規相談受付件数・プラン作成件数・就労支援対象者数".into(),
                description: format!("{}。月ごとの値は下の表のとおり。", describe(&counts)),
                categories: categories.clone(),
                series: counts,
                reference: None,
            },
            "chart-counts",
        ),
    ));
    let outcomes = vec![
        series("就労者数", &|i| i.counts.employed as f64),
        series("増収者数", &|i| i.counts.income_increased as f64),
    ];
    out.push((
        "月別の就労・増収".to_owned(),
        bars(
            &BarChart {
                title: "月別の就労者数・増収者数".into(),
                description: format!("{}。月ごとの値は下の表のとおり。", describe(&outcomes)),
                categories: categories.clone(),
                series: outcomes,
                reference: None,
            },
            "chart-outcomes",
        ),
    ));
    if report.population.is_some() {
        let b = report.benchmarks;
        let per =
            |name: &str, id: &str, bench: u16, f: &dyn Fn(&tsunagu_core::stats::Per100k) -> f64| {
                let s = series(name, &|i| i.per_100k_month.as_ref().map_or(0.0, f));
                let over = s.values.iter().filter(|v| **v >= f64::from(bench)).count();
                (
                    format!("{name}（人口10万人・1か月当たり）"),
                    bars(
                        &BarChart {
                            title: format!("{name}（人口10万人・1か月当たり）と目安値"),
                            description: format!(
                                "目安値{bench}に届いた月は{over}か月。月ごとの値は下の表のとおり。"
                            ),
                            categories: categories.clone(),
                            series: vec![s],
                            reference: Some(("目安値".into(), f64::from(bench))),
                        },
                        id,
                    ),
                )
            };
        out.push(per(
            "新規相談受付件数",
            "chart-per-new",
            b.new_consultations,
            &|p| p.new_consultations,
        ));
        out.push(per(
            "プラン作成件数",
            "chart-per-plans",
            b.plans,
            &|p| p.plans,
        ));
        out.push(per(
            "就労支援対象者数",
            "chart-per-es",
            b.employment_support_subjects,
            &|p| p.employment_support_subjects,
        ));
    }
    out
}
