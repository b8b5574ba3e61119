//! Error policy of the use cases: every failure is an `Error` with a kind (which the web renders
//! as an HTTP status and the CLI as an exit), a stable code and a Japanese message. Domain
//! refusals come from core (`Refusal`), storage failures from the store; internal errors are
//! logged without personal data and answered with a generic message.

use tsunagu_core::Refusal;
use tsunagu_store::StoreError;

/// What kind of failure: the one place that decides how a surface answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Malformed request (a query or header that cannot be read): 400.
    BadRequest,
    /// Nobody is signed in, or the credentials are not valid: 401.
    Unauthenticated,
    /// The caller's role may not do this at all: 403.
    Forbidden,
    /// Missing, or not visible to the caller (the same answer): 404.
    NotFound,
    /// Someone else changed the record first, or it exists already: 409.
    Conflict,
    /// Too large: 413.
    TooLarge,
    /// The request is understood but refused by a rule: 422.
    Invalid,
    /// Too many attempts: 429.
    Throttled,
    /// The database cannot serve now; nothing was written or shown: 503.
    Unavailable,
    /// A defect: 500.
    Internal,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub code: String,
    pub message: String,
    /// Seconds to wait before retrying (throttling, storage unavailable).
    pub retry_after: Option<u64>,
    /// Technical detail for integrators, never shown as the message.
    pub detail: Option<String>,
    /// The input refused, as a path into the request (`plan.items.1.deadline`), when the
    /// refusal is about one input.
    pub field: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, code: &str, message: impl Into<String>) -> Self {
        Error {
            kind,
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
    /// A rule refused the request (422) with a code of its own.
    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, message)
    }
    pub fn not_found() -> Self {
        Self::new(
            Kind::NotFound,
            "not_found",
            "指定された記録は見つかりません。",
        )
    }
    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            Kind::Unauthenticated,
            "auth.required",
            "ログインしてください。",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            Kind::Forbidden,
            "auth.forbidden",
            "この操作を行う権限がありません。",
        )
    }
    /// The database cannot serve now; nothing was written or shown.
    pub fn unavailable() -> Self {
        Error {
            retry_after: Some(5),
            ..Self::new(
                Kind::Unavailable,
                "storage.unavailable",
                "データベースが一時的に利用できません。この操作は保存されていません。しばらくしてから再度お試しください。",
            )
        }
    }
    pub fn internal() -> Self {
        Self::new(
            Kind::Internal,
            "internal",
            "システムエラーが発生しました。時間をおいて再度お試しください。",
        )
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        let mut e = Error::invalid(r.code(), r.message());
        e.field = r.field();
        e
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { expected, actual } => Error::new(
                Kind::Conflict,
                "conflict.stale_version",
                format!(
                    "他の人が先に更新しました（あなたが見ていた版: {expected}、現在の版: {actual}）。最新の内容を確認してからやり直してください。"
                ),
            ),
            StoreError::NotFound => Error::not_found(),
            StoreError::IdempotencyMismatch => Error::invalid(
                "idempotency.key_reused",
                "この Idempotency-Key は別の内容の登録に使われています。新しいキーを使ってください。",
            ),
            StoreError::Duplicate => Error::new(
                Kind::Conflict,
                "conflict.duplicate",
                "同じものがすでに登録されています。",
            ),
            StoreError::IdempotentReplay { .. } => Error::internal(),
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "storage unavailable");
                Error::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store error");
                Error::internal()
            }
        }
    }
}
