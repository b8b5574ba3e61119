//! 報告の受付 (issue 14, item 8): the plans the agencies reported to the municipality
//! (`app::reports::received`), for the municipal departments' officers.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::reports::{Period, PlanReport};

use super::filters;
use super::{Chrome, PageResult, render_status};
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
    /// The month could not be read: said beside the field.
    error: Option<String>,
    /// The query of the files of the period shown (`?month=2026-11`).
    files: String,
    month: String,
    reports: Vec<PlanReport>,
    report_only: usize,
}

/// The period a query asks for: its month (this month when empty), or the fiscal year so far
/// for `year`; None when the month cannot be read.
pub fn period_asked(month: &str, today: jiff::civil::Date) -> Option<Period> {
    match month.trim() {
        "" => Some(Period::this_month(today)),
        "year" => Some(Period::FiscalYearSoFar),
        m => super::caselist::parse_month(m).map(|(year, month)| Period::Month { year, month }),
    }
}

pub async fn list(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<ReportsQuery>,
) -> PageResult {
    let today = app.clock.today();
    // A month that cannot be read is said beside the field; this month is shown (the heading
    // names the month shown).
    let asked = period_asked(&q.month, today);
    let error = asked.is_none().then(|| invalid_month().message);
    let period = asked.unwrap_or(Period::this_month(today));
    let (from, until) = period.days(today);
    let reports = tsunagu_app::reports::received(&app, &auth, from, until).await?;
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok(render_status(
        status,
        &ReportsPage {
            error,
            chrome: Chrome::of(&auth, today),
            period: period.label(today),
            files: match period {
                Period::FiscalYearSoFar => "?month=year".to_owned(),
                Period::Month { year, month } => format!("?month={year}-{month:02}"),
            },
            month: q.month.trim().to_owned(),
            report_only: reports.iter().filter(|r| r.report_only).count(),
            reports,
        },
    ))
}

/// The reports of the period as a file for Excel (`.csv`, `.xlsx`; 400 for a month that
/// cannot be read).
pub async fn export(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
    Query(q): Query<ReportsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    let today = app.clock.today();
    let period = period_asked(&q.month, today).ok_or_else(invalid_month)?;
    let (from, until) = period.days(today);
    let bytes = tsunagu_app::reports::export_file(&app, &auth, from, until, format).await?;
    Ok(super::download(format, &format!("reports-{from}"), bytes))
}

/// The refusal of a month that cannot be read.
pub fn invalid_month() -> tsunagu_app::Error {
    tsunagu_app::Error::bad_request(
        "reports.invalid_month",
        "月は「令和8年11月」または「2026-11」の形で指定してください。",
    )
}
