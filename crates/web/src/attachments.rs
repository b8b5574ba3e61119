//! Attachments over HTTP: an upload is `multipart/form-data` with a size limit, read here and
//! handed to `tsunagu_app::attachments`; a download is that use case's bytes with the type and
//! the name as headers.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tsunagu_app::attachments;
pub use tsunagu_app::attachments::{ACTION, Description, UploadedFile};
use tsunagu_core::case::{Attachment, AttachmentKind, MAX_ATTACHMENT_BYTES};
use tsunagu_core::{AttachmentId, CaseId, Refusal, ShortText, wareki};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiPath;

/// The largest upload request: one file at the limit and the form's few text fields.
pub const UPLOAD_BODY_BYTES: usize = MAX_ATTACHMENT_BYTES as usize + 64 * 1024;

/// A multipart form read in full: its text fields in order and the file, if one was chosen.
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file: Option<UploadedFile>,
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

/// The file as a download: through the use case (read access, hash check, audit), with
/// the type and the name the uploader gave.
pub async fn download(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    attachment: AttachmentId,
) -> ApiResult<Response> {
    let d = attachments::download(app, auth, id, attachment).await?;
    let meta = d.attachment;
    let disposition = format!(
        "attachment; filename=\"{attachment}.{ext}\"; filename*=UTF-8''{name}",
        ext = meta.file_type.extension(),
        name = percent_encoding::utf8_percent_encode(
            meta.filename.as_str(),
            percent_encoding::NON_ALPHANUMERIC
        ),
    );
    let mut response = d.content.into_response();
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
            wareki::read(d).map_err(|problem| ("received_on", problem.message("受領日")))
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
    let a = attachments::access_for_upload(&app, &auth, id).await?;
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
        attachments::add(&app, &auth, id, a, expected_version, about, upload.file).await?;
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
