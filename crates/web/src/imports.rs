//! The import over HTTP (`app::import`): a multipart form with the file, read here for the
//! JSON API and for the 取り込み page alike. The API answers the check's report as JSON; the
//! import answers 201 with what it wrote, or 422 with `import.has_problems` or
//! `import.duplicates_unconfirmed` and nothing written.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use base64::Engine as _;
use tsunagu_app::import::{self, ImportReport, ImportRequest};
use tsunagu_core::import::ImportField;

use crate::AppState;
use crate::attachments::{Upload, multipart, read_upload};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// The largest import request: the file (as a file, or carried on in base64 by the page) and
/// the form's fields.
pub const IMPORT_BODY_BYTES: usize = import::MAX_BYTES / 3 * 4 + 256 * 1024;

/// The fields of an import request (for the API description).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct ImportUpload {
    /// xlsx, xls, ods, or CSV in UTF-8 or Shift_JIS; at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `col_<n>`: the field the n-th column (from 0) fills (`name`, `kana`, `date_of_birth`,
    /// `sex`, `phone`, `address`, `relationship`, `received_on`, `route`, `referrer`,
    /// `problem_text`), or empty to leave it out; columns not given keep the tenant's kept
    /// mapping or the usual reading of their header.
    col_0: Option<String>,
    /// `true` (or `on`) to import rows that are likely duplicates, after checking them.
    confirm_duplicates: Option<String>,
}

/// The request a multipart form makes: the file (or, from the check's page, `file_data` in
/// base64 with `file_name`), the columns chosen and the confirmation.
pub fn request_of(upload: Upload) -> Result<ImportRequest, ApiError> {
    let field = |name: &str| {
        upload
            .fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (file_name, bytes) = match (&upload.file, field("file_data")) {
        (Some(f), _) => (f.filename.clone(), f.content.clone()),
        (None, Some(data)) if !data.trim().is_empty() => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|_| {
                    ApiError::bad_request(
                        "import.file_missing",
                        "ファイルを読めません。もう一度選んでください。",
                    )
                })?;
            (field("file_name").unwrap_or_default().to_owned(), bytes)
        }
        _ => {
            return Err(ApiError::bad_request(
                "import.file_missing",
                "取り込むファイルを選んでください。",
            ));
        }
    };
    let choices = upload
        .fields
        .iter()
        .filter_map(|(k, v)| {
            let index = k.strip_prefix("col_")?.parse().ok()?;
            Some((index, ImportField::from_code(v.trim())))
        })
        .collect();
    Ok(ImportRequest {
        file_name,
        bytes,
        choices,
        duplicates_confirmed: matches!(field("confirm_duplicates"), Some("on" | "true")),
    })
}

/// Whether the page pressed 「取り込む」 rather than 「確認」.
pub fn wants_import(upload: &Upload) -> bool {
    upload
        .fields
        .iter()
        .any(|(k, v)| k == "action" && v == "import")
}

async fn read(m: Result<Multipart, MultipartRejection>) -> ApiResult<ImportRequest> {
    request_of(read_upload(multipart(m)?).await?)
}

/// The check (dry run): every problem by row and column, the likely duplicates, the columns
/// as read; nothing written but the audit entry.
#[utoipa::path(post, path = "/api/imports/check",
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportReport), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn check(
    State(app): State<AppState>,
    auth: Auth,
    m: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    tsunagu_app::access::import_records(&auth)?;
    let req = read(m).await?;
    Ok(Json(import::check(&app, &auth, &req, &()).await?))
}

/// The import: checked again, then every new row written in one transaction, or nothing.
#[utoipa::path(post, path = "/api/imports",
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ImportReport), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn run(
    State(app): State<AppState>,
    auth: Auth,
    m: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<ImportReport>)> {
    tsunagu_app::access::import_records(&auth)?;
    let req = read(m).await?;
    let report = import::run(&app, &auth, &req, &()).await?;
    Ok((StatusCode::CREATED, Json(report)))
}
