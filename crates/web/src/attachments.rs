//! Attachments: documents kept with a case (a scanned signed application or consent form, a
//! letter). An upload is `multipart/form-data`; its type is read from the file's own bytes
//! (PDF, JPEG, PNG), its size is limited; the content is stored with the case's
//! `attachment_added` event in one transaction. A download passes the case's access check,
//! is checked against the recorded SHA-256 and is audited before a byte leaves the server.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tsunagu_core::case::{self, Attachment, AttachmentKind, AttachmentType, MAX_ATTACHMENT_BYTES};
use tsunagu_core::policy::{self, Access};
use tsunagu_core::{AttachmentId, CaseId, Refusal, ShortText, wareki};
use tsunagu_store::{AttachmentFile, StreamAppend};
use uuid::Uuid;

use crate::AppState;
use crate::access::{self, CaseAccess};
use crate::api;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiPath;

/// The largest upload request: one file at the limit and the form's few text fields.
pub const UPLOAD_BODY_BYTES: usize = MAX_ATTACHMENT_BYTES as usize + 64 * 1024;

/// The action name under which uploads are authorised and audited.
pub const ACTION: &str = "add_attachment";

/// A multipart form read in full: its text fields in order and the file, if one was chosen.
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file: Option<UploadedFile>,
}

pub struct UploadedFile {
    pub filename: String,
    pub content: Vec<u8>,
}

pub(crate) fn too_large() -> ApiError {
    let r = Refusal::AttachmentTooLarge {
        max_bytes: MAX_ATTACHMENT_BYTES,
    };
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, r.code(), r.message())
}

fn unreadable(e: &axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    ApiError::bad_request(
        "request.unreadable",
        "送信内容を読み取れませんでした。もう一度ファイルを選んで送信してください。",
    )
}

/// The multipart body, or a clear answer when the request is not one.
pub fn multipart(m: Result<Multipart, MultipartRejection>) -> ApiResult<Multipart> {
    m.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "Content-Type: multipart/form-data で送信してください。",
        )
    })
}

/// Reads the whole form. The file is the first part with a file name; a file input left
/// empty (a part with an empty name and no bytes) counts as no file.
pub async fn read_upload(mut m: Multipart) -> ApiResult<Upload> {
    let mut upload = Upload {
        fields: Vec::new(),
        file: None,
    };
    while let Some(field) = m.next_field().await.map_err(|e| unreadable(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                let content = field.bytes().await.map_err(|e| unreadable(&e))?;
                if upload.file.is_none() && !(filename.is_empty() && content.is_empty()) {
                    upload.file = Some(UploadedFile {
                        filename,
                        content: content.to_vec(),
                    });
                }
            }
            None => {
                let text = field.text().await.map_err(|e| unreadable(&e))?;
                upload.fields.push((name, text));
            }
        }
    }
    Ok(upload)
}

/// The file's type by its content; the name and the browser's claim are not trusted.
pub fn sniff(content: &[u8]) -> Option<AttachmentType> {
    infer::get(content).and_then(|t| AttachmentType::from_mime(t.mime_type()))
}

/// The name to keep: the last path segment, without control characters, at most 100 chars;
/// a name of nothing but spaces becomes `attachment.pdf` (by type).
fn clean_filename(raw: &str, file_type: AttachmentType) -> ApiResult<ShortText> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    if name.trim().is_empty() {
        name = format!("attachment.{}", extension(file_type));
    }
    ShortText::parse(&name).map_err(|_| ApiError::internal())
}

fn extension(t: AttachmentType) -> &'static str {
    match t {
        AttachmentType::Pdf => "pdf",
        AttachmentType::Jpeg => "jpg",
        AttachmentType::Png => "png",
    }
}

/// What the uploader says of the document.
pub struct Description {
    pub kind: AttachmentKind,
    pub title: ShortText,
    pub received_on: Date,
    pub reason: Option<String>,
}

/// Adds the file to the case the caller may write (checked by the caller through
/// [`access_for_upload`], before the body is read): the rules of `decide_attachment`, then
/// the event and the content in one transaction with the audit entry. Returns the new version.
pub async fn add(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    a: CaseAccess,
    expected_version: u64,
    about: Description,
    file: Option<UploadedFile>,
) -> ApiResult<(u64, Attachment)> {
    let file = file
        .filter(|f| !f.content.is_empty())
        .ok_or(Refusal::AttachmentEmpty)?;
    api::expect_version(a.case.version, expected_version)?;
    let file_type = sniff(&file.content).ok_or(Refusal::AttachmentTypeNotAllowed)?;
    let sha256 = hex::encode(Sha256::digest(&file.content));
    let attachment = Attachment {
        id: AttachmentId(Uuid::now_v7()),
        kind: about.kind,
        title: about.title,
        filename: clean_filename(&file.filename, file_type)?,
        file_type,
        size: file.content.len() as u64,
        sha256: sha256.clone(),
        received_on: about.received_on,
    };
    let events = case::decide_attachment(
        &a.case.state,
        attachment.clone(),
        &api::ctx(app, auth, &a.person.consents),
    )?;
    let entry = auth
        .audit("case.command")
        .object("case", id)
        .subject(a.case.state.person_id)
        .basis(a.basis)
        .detail(ACTION);
    let mut batch = api::batch(
        auth,
        entry,
        about.reason.filter(|r| !r.trim().is_empty()),
        vec![StreamAppend::Case {
            id,
            expected_version,
            events,
        }],
    );
    batch.files.push(AttachmentFile {
        id: attachment.id,
        case_id: id,
        sha256,
        content: file.content,
    });
    let versions = app.store.append(batch).await?;
    Ok((
        versions.first().copied().unwrap_or(a.case.version),
        attachment,
    ))
}

/// The case, if the caller may add documents to it; otherwise 404 (before the body is read).
pub async fn access_for_upload(app: &AppState, auth: &Auth, id: CaseId) -> ApiResult<CaseAccess> {
    access::case(app, auth, id, policy::action_access(ACTION)).await
}

/// The file as a download: only through the case's read access, checked against its hash,
/// audited (`attachment.download`) before it is sent.
pub async fn download(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    attachment: AttachmentId,
) -> ApiResult<Response> {
    let a = access::case(app, auth, id, Access::Read).await?;
    let meta = a
        .case
        .state
        .attachments
        .iter()
        .find(|x| x.id == attachment)
        .ok_or_else(ApiError::not_found)?;
    let Some(content) = app
        .store
        .attachment_content(auth.actor.tenant_id, id, attachment)
        .await?
    else {
        tracing::error!(%attachment, "attachment content missing");
        return Err(ApiError::internal());
    };
    if hex::encode(Sha256::digest(&content)) != meta.sha256 {
        tracing::error!(%attachment, "attachment content does not match its hash");
        return Err(ApiError::internal());
    }
    app.store
        .audit(&[auth
            .audit("attachment.download")
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis)
            .detail(attachment.to_string())])
        .await?;
    let disposition = format!(
        "attachment; filename=\"{attachment}.{ext}\"; filename*=UTF-8''{name}",
        ext = extension(meta.file_type),
        name = percent_encoding::utf8_percent_encode(
            meta.filename.as_str(),
            percent_encoding::NON_ALPHANUMERIC
        ),
    );
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(meta.file_type.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The description fields of an upload, shared by the API and the page form: `kind`, `title`,
/// `received_on` (ISO or 和暦), `reason`. `Err` names the field and says what is wrong.
pub fn describe(fields: &[(String, String)]) -> Result<Description, (&'static str, String)> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let kind = get("kind")
        .and_then(AttachmentKind::parse)
        .ok_or(("kind", "書類の種類を選んでください。".to_owned()))?;
    let title = get("title")
        .ok_or(("title", "書類名を入力してください。".to_owned()))
        .and_then(|t| {
            ShortText::parse(t).map_err(|_| {
                (
                    "title",
                    format!(
                        "書類名は{}文字以内で入力してください。",
                        ShortText::MAX_CHARS
                    ),
                )
            })
        })?;
    let received_on = get("received_on")
        .ok_or(("received_on", "受領日を入力してください。".to_owned()))
        .and_then(|d| {
            wareki::parse(d).ok_or((
                "received_on",
                "受領日は「令和7年4月1日」か「2025-04-01」の形で入力してください。".to_owned(),
            ))
        })?;
    Ok(Description {
        kind,
        title,
        received_on,
        reason: get("reason").map(str::to_owned),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttachmentAdded {
    /// The case's version after the upload (for the next command's `expected_version`).
    pub version: u64,
    pub attachment: Attachment,
}

/// The fields of an upload (for the API description).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct AttachmentUpload {
    /// The case version the uploader saw.
    expected_version: u64,
    /// signed_application | consent_form | agency_document | letter | other
    kind: String,
    /// 書類名.
    title: String,
    /// 受領日 (2025-04-01 or 令和7年4月1日).
    received_on: String,
    reason: Option<String>,
    /// PDF, JPEG or PNG, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/cases/{id}/attachments", params(("id" = CaseId, Path)),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentAdded), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
    m: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentAdded>)> {
    let a = access_for_upload(&app, &auth, id).await?;
    let upload = read_upload(multipart(m)?).await?;
    let invalid = |(_, message): (&str, String)| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", message)
    };
    let expected_version = upload
        .fields
        .iter()
        .find(|(k, _)| k == "expected_version")
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| {
            invalid((
                "expected_version",
                "expected_version（見ていた版）を指定してください。".into(),
            ))
        })?;
    let about = describe(&upload.fields).map_err(invalid)?;
    let (version, attachment) =
        add(&app, &auth, id, a, expected_version, about, upload.file).await?;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentAdded {
            version,
            attachment,
        }),
    ))
}

#[utoipa::path(get, path = "/api/cases/{id}/attachments/{attachment}",
    params(("id" = CaseId, Path), ("attachment" = AttachmentId, Path)),
    responses((status = 200, description = "The file (PDF, JPEG or PNG) as a download"),
        (status = 404, body = ErrorBody)))]
pub async fn get_content(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath((id, attachment)): ApiPath<(CaseId, AttachmentId)>,
) -> ApiResult<Response> {
    download(&app, &auth, id, attachment).await
}
