//! 取り込み (issue 14, item 9): persons and their first consultations from a municipality's
//! workbook, for lead workers. The file is checked first (the dry run): every problem by row
//! and column, the likely duplicates, and the columns as read, each of which the user may map
//! again. The check's page carries the file on (base64 in the form, so it is not chosen again)
//! to the import, which checks once more and writes all or nothing (`app::import`).

use askama::Template;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use base64::Engine as _;
use tsunagu_app::import::{self, ImportReport};
use tsunagu_core::import::ImportField;

use super::{Chrome, Notice, PageResult, filters, render, render_status};
use crate::AppState;
use crate::attachments;
use crate::error::ApiError;
use crate::ui::Page;

pub use crate::imports::IMPORT_BODY_BYTES;

/// A column as the page shows it: its header and the field chosen, with the choices.
struct ColumnRow {
    index: usize,
    header: String,
    chosen: &'static str,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    notice: Option<Notice>,
    /// The error beside the file field.
    file_error: Option<String>,
    fields: Vec<(&'static str, &'static str)>,
    report: Option<ImportReport>,
    columns: Vec<ColumnRow>,
    /// The file carried on to the next step.
    file_data: String,
    file_name: String,
    header_rows: String,
    problem_rows: usize,
}

fn page(auth: &crate::auth::Auth, today: jiff::civil::Date) -> ImportPage {
    ImportPage {
        chrome: Chrome::of(auth, today),
        notice: None,
        file_error: None,
        fields: ImportField::ALL
            .iter()
            .map(|f| (f.code(), f.label_ja()))
            .collect(),
        report: None,
        columns: Vec::new(),
        file_data: String::new(),
        file_name: String::new(),
        header_rows: String::new(),
        problem_rows: 0,
    }
}

pub async fn form(State(app): State<AppState>, Page(auth): Page) -> PageResult {
    // Only those who may import see the form (the check says why not to anyone else).
    tsunagu_app::access::import_records(&auth)?;
    Ok(render(&page(&auth, app.clock.today())))
}

/// The check (`action=check`) or the import (`action=import`).
pub async fn submit(
    State(app): State<AppState>,
    Page(auth): Page,
    m: Result<Multipart, MultipartRejection>,
) -> PageResult {
    tsunagu_app::access::import_records(&auth)?;
    let today = app.clock.today();
    let mut p = page(&auth, today);
    let upload = match attachments::multipart(m) {
        Ok(m) => attachments::read_upload(m).await,
        Err(e) => Err(e),
    };
    let upload = match upload {
        Ok(u) => u,
        Err(e) => return Ok(file_refused(p, &e)),
    };
    let importing = crate::imports::wants_import(&upload);
    // The page's script asks for the progress under the token it sent.
    let token = upload
        .fields
        .iter()
        .find(|(k, _)| k == "progress_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let req = match crate::imports::request_of(upload) {
        Ok(req) => req,
        Err(e) => return Ok(file_refused(p, &e)),
    };
    let tracker = app.imports.track(auth.actor.user_id, &token);
    let progress: &dyn import::Progress = match &tracker {
        Some(t) => t,
        None => &(),
    };
    let result = if importing {
        import::run(&app, &auth, &req, progress).await
    } else {
        import::check(&app, &auth, &req, progress).await
    };
    drop(tracker);
    let (report, status) = match result {
        Ok(report) => (report, StatusCode::OK),
        Err(e)
            if e.code.starts_with("import.")
                && e.code != "import.has_problems"
                && e.code != "import.duplicates_unconfirmed" =>
        {
            // The file itself: not a table, too large, no name.
            return Ok(file_refused(p, &e.into()));
        }
        Err(e) if importing && e.kind == tsunagu_app::Kind::Invalid => {
            // Refused as a whole: the check's result again, with the reason above it.
            let mut notice = Notice::from_api(&e.into());
            notice.heading = "取り込みませんでした。";
            p.notice = Some(notice);
            let report = import::check(&app, &auth, &req, &()).await?;
            (report, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(e.into()),
    };
    if !report.imported {
        p.file_data = base64::engine::general_purpose::STANDARD.encode(&req.bytes);
        p.file_name = report.file_name.clone();
    }
    if let Some(layout) = &report.layout {
        p.header_rows = if layout.header_rows.0 == layout.header_rows.1 {
            format!("{}行目", layout.header_rows.0)
        } else {
            format!("{}〜{}行目", layout.header_rows.0, layout.header_rows.1)
        };
        p.columns = layout
            .columns
            .iter()
            .map(|c| ColumnRow {
                index: c.index,
                header: c.header.clone(),
                chosen: c.field.map(ImportField::code).unwrap_or(""),
            })
            .collect();
    }
    let mut rows: Vec<u32> = report.problems.iter().map(|p| p.row).collect();
    rows.dedup();
    p.problem_rows = rows.len();
    p.report = Some(report);
    Ok(render_status(status, &p))
}

/// The file could not be read: the reason beside the file field.
fn file_refused(mut p: ImportPage, e: &ApiError) -> axum::response::Response {
    let mut notice = Notice::from_api(e);
    notice.heading = "ファイルを読めませんでした。";
    notice.fields = vec![("f-file".into(), e.message.clone())];
    p.file_error = Some(e.message.clone());
    p.notice = Some(notice);
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
}

#[derive(Debug, serde::Deserialize)]
pub struct ProgressQuery {
    #[serde(default)]
    token: String,
}

/// How far the caller's import under `token` is (JSON for the page's script); 404 when the
/// caller has none under it.
pub async fn progress(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::extract::Query(q): axum::extract::Query<ProgressQuery>,
) -> Result<axum::response::Response, super::PageError> {
    use axum::response::IntoResponse;
    tsunagu_app::access::import_records(&auth)?;
    Ok(match app.imports.read(auth.actor.user_id, &q.token) {
        Some(p) => axum::Json(p).into_response(),
        None => return Err(tsunagu_app::Error::not_found().into()),
    })
}
