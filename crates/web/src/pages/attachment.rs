//! The case's documents (添付書類): the list with who added what and when, the upload form
//! (multipart; the file is read in full, typed by its bytes, limited in size), and the
//! download, which goes through the case's access check and the audit trail.

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use tsunagu_core::case::{AttachmentKind, AttachmentType, CaseEvent, MAX_ATTACHMENT_BYTES};
use tsunagu_core::{AttachmentId, CaseId, wareki};

use super::case::{Header, Names, header, load, users_named};
use super::filters;
use super::{
    Chrome, Control, ControlKind, FieldError, Fields, Notice, PageResult, field_error, parse_id,
    refill, refusal_status, render_status, see_other,
};
use crate::AppState;
use crate::attachments::{self, UploadedFile};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;

pub struct Row {
    pub kind: &'static str,
    pub title: String,
    pub filename: String,
    pub file_type: &'static str,
    pub size: String,
    pub received_on: Date,
    pub added: String,
    pub by: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "attachments.html")]
struct AttachmentsPage {
    chrome: Chrome,
    id: CaseId,
    version: u64,
    head: Header,
    rows: Vec<Row>,
    may_add: bool,
    controls: Vec<Control>,
    notice: Option<Notice>,
    max_mb: u64,
}

/// 1.2 MB, 340 KB, 12 バイト.
fn size_text(bytes: u64) -> String {
    const KB: u64 = 1024;
    if bytes >= KB * KB {
        format!("{:.1} MB", bytes as f64 / (KB * KB) as f64)
    } else if bytes >= KB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        format!("{bytes} バイト")
    }
}

fn type_label(t: AttachmentType) -> &'static str {
    match t {
        AttachmentType::Pdf => "PDF",
        AttachmentType::Jpeg => "JPEG",
        AttachmentType::Png => "PNG",
    }
}

fn controls(today: Date) -> (Vec<Control>, Fields) {
    let mut file = Control::text("file", "ファイル（PDF・JPEG・PNG）").required();
    file.kind = ControlKind::File;
    file.hint = "スキャンした書類や写真。1件10MBまで";
    let controls = vec![
        Control::select(
            "kind",
            "書類の種類",
            AttachmentKind::ALL
                .iter()
                .map(|k| (k.as_str(), k.label_ja())),
        )
        .required(),
        Control::text("title", "書類名")
            .required()
            .hint("例: プラン兼事業等利用申込書（署名済）"),
        Control::date("received_on", "受領日").required(),
        file,
    ];
    let defaults = Fields(vec![
        (
            "kind".into(),
            AttachmentKind::SignedApplication.as_str().into(),
        ),
        ("received_on".into(), wareki::format(today)),
    ]);
    (controls, defaults)
}

async fn page(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    typed: Option<&Fields>,
    error: Option<&FieldError>,
    notice: Option<Notice>,
) -> Result<AttachmentsPage, ApiError> {
    let today = app.clock.today();
    let (view, timeline) = load(app, auth, id).await?;
    let names = Names::of_users(app, auth, users_named(&view.state, &timeline)).await?;
    let head = header(app, auth, &view, &names).await?;
    let mut rows: Vec<Row> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            CaseEvent::AttachmentAdded { attachment: a } => Some(Row {
                kind: a.kind.label_ja(),
                title: a.title.as_str().to_owned(),
                filename: a.filename.as_str().to_owned(),
                file_type: type_label(a.file_type),
                size: size_text(a.size),
                received_on: a.received_on,
                added: super::stamp(e.recorded_at),
                by: format!(
                    "{}（{}）",
                    names.user(e.actor.user_id),
                    names.org(e.actor.org_id)
                ),
                href: format!("/cases/{id}/attachments/{}", a.id),
            }),
            _ => None,
        })
        .collect();
    rows.reverse();
    let may_add = match tsunagu_app::attachments::access_for_upload(app, auth, id).await {
        Ok(_) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e.into()),
    };
    let (list, defaults) = controls(today);
    Ok(AttachmentsPage {
        chrome: Chrome::of(auth, today),
        id,
        version: view.version,
        head,
        rows,
        may_add,
        controls: refill(list, typed.unwrap_or(&defaults), error),
        notice,
        max_mb: MAX_ATTACHMENT_BYTES / (1024 * 1024),
    })
}

pub async fn list(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let p = page(&app, &auth, id, None, None, None).await?;
    Ok(render_status(StatusCode::OK, &p))
}

/// The upload form. Access is checked before the body is read; a refusal shows the page again
/// with the reason beside the field and what was typed (a browser never refills a file input,
/// so the notice asks for the file again).
pub async fn upload(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    m: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let a = tsunagu_app::attachments::access_for_upload(&app, &auth, id).await?;
    let read = match attachments::multipart(m) {
        Ok(m) => attachments::read_upload(m).await,
        Err(e) => Err(e),
    };
    let (fields, file): (Fields, Option<UploadedFile>) = match read {
        Ok(u) => (Fields(u.fields), u.file),
        Err(e) => return refused(&app, &auth, id, &Fields::default(), e).await,
    };
    let about = match attachments::describe(&fields.0) {
        Ok(about) => about,
        Err((field, message)) => {
            let error = field_error(field, message);
            let notice = Notice::from_field(&error);
            let p = page(&app, &auth, id, Some(&fields), Some(&error), Some(notice)).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    match tsunagu_app::attachments::add(&app, &auth, id, a, fields.version(), about, file).await {
        Ok(_) => Ok(see_other(&format!("/cases/{id}/attachments"))),
        Err(e) => refused(&app, &auth, id, &fields, e.into()).await,
    }
}

/// A refused upload: a rule's or the transport's reason, beside the file field when it is
/// about the file. Errors that are not the user's (404, 5xx) show the error page.
async fn refused(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    fields: &Fields,
    e: ApiError,
) -> PageResult {
    if !e.status.is_client_error() || e.is_not_found() {
        return Err(e.into());
    }
    let status = refusal_status(&e);
    let mut notice = Notice::from_api(&e);
    notice
        .message
        .push_str("（ファイルはもう一度選んでください）");
    notice.back = format!("/cases/{id}/attachments");
    let error = (e.code.starts_with("attachment.") || e.code.starts_with("request."))
        .then(|| field_error("file", e.message.clone()));
    let typed = (!fields.0.is_empty()).then_some(fields);
    let p = page(app, auth, id, typed, error.as_ref(), Some(notice)).await?;
    Ok(render_status(status, &p))
}

pub async fn download(
    State(app): State<AppState>,
    Page(auth): Page,
    Path((id, attachment)): Path<(String, String)>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let attachment: AttachmentId = parse_id(&attachment)?;
    Ok(attachments::download(&app, &auth, id, attachment).await?)
}
