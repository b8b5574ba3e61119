//! 報告の受付 (issue 14, item 8): the plans the agencies reported to the municipality
//! (`app::reports::received`), for the municipal departments' officers.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::reports::PlanReport;
use tsunagu_core::wareki;

use super::filters;
use super::{Chrome, PageResult, render};
use crate::AppState;
use crate::ui::Page;

#[derive(Debug, Default, Deserialize)]
pub struct ReportsQuery {
    /// A month (`2026-11`, `令和8年11月`), or `year` for the fiscal year so far; this month
    /// when absent or unreadable.
    #[serde(default)]
    pub month: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    chrome: Chrome,
    period: String,
    month: String,
    reports: Vec<PlanReport>,
    report_only: usize,
}

/// The period a query asks for: its month (this month by default), or the fiscal year so far
/// for `year`.
pub fn period_of(
    month: &str,
    today: jiff::civil::Date,
) -> (jiff::civil::Date, jiff::civil::Date, String) {
    if month.trim() == "year" {
        let fy = wareki::fiscal_year(today);
        let first = jiff::civil::Date::new(fy, 4, 1).unwrap_or(today);
        return (
            first,
            today,
            format!("{}（今日まで）", wareki::fiscal_year_label(today)),
        );
    }
    let (y, m) = super::caselist::parse_month(month).unwrap_or((today.year(), today.month()));
    let first = jiff::civil::Date::new(y, m, 1).unwrap_or(today.first_of_month());
    let era_year = wareki::format(first)
        .split('年')
        .next()
        .unwrap_or_default()
        .to_owned();
    (
        first,
        first.last_of_month().min(today),
        format!("{era_year}年{m}月"),
    )
}

pub async fn list(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<ReportsQuery>,
) -> PageResult {
    let today = app.clock.today();
    let (from, until, period) = period_of(&q.month, today);
    let reports = tsunagu_app::reports::received(&app, &auth, from, until.max(from)).await?;
    Ok(render(&ReportsPage {
        chrome: Chrome::of(&auth, today),
        period,
        month: q.month.trim().to_owned(),
        report_only: reports.iter().filter(|r| r.report_only).count(),
        reports,
    }))
}
