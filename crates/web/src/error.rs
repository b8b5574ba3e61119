//! Error policy: handlers return `ApiError`; every error is `{ "code", "message" }` JSON with a
//! stable code and a Japanese message. Bad input is 4xx, never 5xx. Internal errors are logged
//! without personal data and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tsunagu_core::Refusal;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `plan.needs_meeting_approval`.
    pub code: String,
    /// Japanese message for the user.
    pub message: String,
    /// Technical detail for integrators (a parser's own words), when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The input refused, as a path into the request body (`plan.items.1.deadline`,
    /// zero-based), when the refusal is about one input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (throttling).
    pub retry_after: Option<u64>,
    /// Technical detail for integrators, never shown as the message.
    pub detail: Option<String>,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
            detail: None,
            field: None,
        }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn not_found() -> Self {
        tsunagu_app::Error::not_found().into()
    }
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }
    pub fn unauthenticated() -> Self {
        tsunagu_app::Error::unauthenticated().into()
    }
    pub fn forbidden() -> Self {
        tsunagu_app::Error::forbidden().into()
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// The database cannot serve now; nothing was written or shown. Sent with `Retry-After`.
    pub fn unavailable() -> Self {
        tsunagu_app::Error::unavailable().into()
    }
    pub fn internal() -> Self {
        tsunagu_app::Error::internal().into()
    }
}

impl From<tsunagu_app::Error> for ApiError {
    fn from(e: tsunagu_app::Error) -> Self {
        use tsunagu_app::Kind;
        let status = match e.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            code: e.code,
            message: e.message,
            retry_after: e.retry_after,
            detail: e.detail,
            field: e.field,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        tsunagu_app::Error::from(r).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            detail: self.detail,
            field: self.field,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
