//! 操作の記録 (the audit view): who did what, when, to whose records, for auditors and
//! administrators; narrowed by member of staff, person and days. Reads through
//! `tsunagu_app::admin::audit_log` (the same check and the same `audit.read` entry as the API).

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::admin::{self, AuditSearch};
use tsunagu_app::audit::{self as audit_view, AuditLine};
use tsunagu_core::{UserId, wareki};

use super::{Chrome, PageResult, render};
use crate::AppState;
use crate::ui::Page;

/// Rows shown at most.
const LIMIT: u32 = 300;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    users: Vec<(String, String)>,
    rows: Vec<AuditLine>,
    /// The query of the files of the same entries.
    files: String,
    /// Problems with the filter, beside the field: (field, message).
    problems: Vec<(&'static str, String)>,
    full: bool,
}

impl AuditPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The start of a day in Japan, as an instant.
fn day_start(d: jiff::civil::Date) -> Option<jiff::Timestamp> {
    d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(9)))
        .ok()
        .map(|z| z.timestamp())
}

/// The search the filters ask for, or the problem with each filter that cannot be read.
fn search_of(q: &AuditQuery) -> Result<AuditSearch, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    let user: Option<UserId> = match q.user.trim() {
        "" => None,
        raw => raw.parse().ok().or_else(|| {
            problems.push(("user", "職員は一覧から選んでください。".to_owned()));
            None
        }),
    };
    let person = match q.person.trim() {
        "" => None,
        raw => raw.parse().ok().or_else(|| {
            problems.push(("person", "相談者の番号（ID）が読み取れません。".to_owned()));
            None
        }),
    };
    let mut day = |field: &'static str, raw: &str, label: &str| match raw.trim() {
        "" => None,
        raw => match wareki::read(raw) {
            Ok(d) => Some(d),
            Err(p) => {
                problems.push((field, p.message(label)));
                None
            }
        },
    };
    let from = day("from", &q.from, "開始日");
    let until = day("until", &q.until, "終了日");
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AuditSearch {
        user,
        session: None,
        person,
        from: from.and_then(day_start),
        until: until.and_then(|d| d.tomorrow().ok()).and_then(day_start),
        limit: Some(LIMIT),
    })
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let staff = admin::staff(&app, &auth).await?;
    let (rows, problems) = match search_of(&q) {
        Ok(search) => (audit_view::lines(&app, &auth, search).await?, Vec::new()),
        Err(problems) => {
            crate::access::read_audit(&auth)?;
            (Vec::new(), problems)
        }
    };
    let full = rows.len() >= LIMIT as usize;
    Ok(render(&AuditPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        users: staff
            .iter()
            .map(|s| (s.id.to_string(), s.display_name.clone()))
            .collect(),
        files: query_of(&q),
        q,
        rows,
        problems,
        full,
    }))
}

/// The filters as a query string, for the files of the same entries.
fn query_of(q: &AuditQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("user", &q.user),
        ("person", &q.person),
        ("from", &q.from),
        ("until", &q.until),
    ] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    s.finish()
}

/// The entries the filters select (at most 10,000) as a file for Excel (`.csv`, `.xlsx`).
pub async fn export(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
    Query(q): Query<AuditQuery>,
) -> Result<axum::response::Response, super::PageError> {
    use axum::response::IntoResponse;
    crate::access::read_audit(&auth)?;
    let search = match search_of(&q) {
        Ok(s) => s,
        Err(problems) => {
            let text: Vec<String> = problems.into_iter().map(|(_, m)| m).collect();
            return Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                text.join("\n"),
            )
                .into_response());
        }
    };
    let bytes = audit_view::file(&app, &auth, search, format).await?;
    let day = app.clock.today();
    Ok(super::download(format, &format!("audit-{day}"), bytes))
}
