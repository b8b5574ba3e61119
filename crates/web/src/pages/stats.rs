//! 統計 (issue 14, item 2): the national indicators of a fiscal year, month by month and for
//! the year, as a table (`app::stats::national`). Counts only: leads, municipal officers and
//! administrators.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::FileFormat;
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
    pub cells: [String; 7],
    pub rate: String,
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
}

fn row(label: String, i: &Indicators) -> Row {
    let c = &i.counts;
    Row {
        label,
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

/// The same table as a CSV file for Excel.
pub async fn national_csv(
    state: State<AppState>,
    page: Page,
    query: Query<StatsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    national_file(state, page, query, FileFormat::Csv).await
}

/// The same table as an xlsx workbook.
pub async fn national_xlsx(
    state: State<AppState>,
    page: Page,
    query: Query<StatsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    national_file(state, page, query, FileFormat::Xlsx).await
}

async fn national_file(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<StatsQuery>,
    format: FileFormat,
) -> Result<axum::response::Response, super::PageError> {
    let fiscal_year = fiscal_year_of(&q, app.clock.today());
    let bytes = tsunagu_app::stats::national_file(&app, &auth, fiscal_year, format).await?;
    Ok(super::download(
        format,
        &format!("national-{fiscal_year}"),
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
    let mut rows: Vec<Row> = report
        .months
        .iter()
        .map(|m| row(m.label.clone(), &m.indicators))
        .collect();
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
    }))
}
