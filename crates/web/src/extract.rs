//! Extractors that turn malformed input into clear 4xx answers instead of axum's plain text.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body. Syntax errors are 400 `request.malformed_json`; a text with control characters
/// (NUL included) anywhere in the body is 422 `text.control_characters`; well-formed JSON that
/// does not fit (unknown choice, impossible date, text too long, missing field) is 422
/// `request.invalid`. Messages are Japanese and name the field; the parser's own words go only
/// into `detail`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.content_type",
                "Content-Type: application/json で送信してください。",
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request.too_large",
                    "送信された内容が大きすぎます。",
                ));
            }
            Err(_) => {
                return Err(ApiError::bad_request(
                    "request.unreadable",
                    "送信内容を読み取れませんでした。",
                ));
            }
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request("request.malformed_json", "JSON の形式が正しくありません。")
                .with_detail(e.to_string())
        })?;
        if let Some(path) = control_characters_in(&value, &mut String::new()) {
            return Err(control_refusal(&path));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| invalid_field(&e.path().to_string(), &e.inner().to_string()))
    }
}

/// The path (`command.reason`) of the first text in a JSON value that holds a control
/// character other than line breaks and tabs, if any.
fn control_characters_in(value: &serde_json::Value, path: &mut String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            tsunagu_core::text::has_control_characters(s, true).then(|| path.clone())
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = control_characters_in(v, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if tsunagu_core::text::has_control_characters(k, false) {
                return Some(path.clone());
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = control_characters_in(v, path);
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

fn control_refusal(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "text.control_characters",
        format!("{}: 制御文字（NUL など）は使えません。", field_name(path)),
    )
}

/// A field as the user knows it: its Japanese name and, for integrators, its path.
pub fn field_name(path: &str) -> String {
    let key = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or_default();
    let label = FIELD_LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l);
    match (label, path) {
        (_, "" | ".") => "送信内容".to_owned(),
        (Some(l), p) => format!("{l}（{p}）"),
        (None, p) => p.to_owned(),
    }
}

/// Japanese names of the fields the API takes, by their key.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("name", "氏名・名称"),
    ("kana", "ふりがな"),
    ("date_of_birth", "生年月日"),
    ("sex", "性別"),
    ("address", "住所"),
    ("phone", "電話番号"),
    ("login", "ログインID"),
    ("password", "パスワード"),
    ("display_name", "表示名"),
    ("role", "役割"),
    ("org_id", "所属"),
    ("label", "用途"),
    ("reason", "理由"),
    ("action", "操作"),
    ("command", "操作内容"),
    ("details", "本人情報"),
    ("expected_version", "版"),
    ("kind", "種別"),
    ("title", "件名"),
    ("outcome", "結論"),
    ("conclusion", "結論"),
    ("conclusions", "結論"),
    ("minutes", "議事録"),
    ("summary", "要約"),
    ("purpose", "目的"),
    ("organisations", "機関"),
    ("given_on", "同意日"),
    ("valid_until", "有効期限"),
    ("scheduled_on", "開催予定日"),
    ("held_on", "開催日"),
    ("on", "日付"),
    ("date", "日付"),
    ("due_on", "期限"),
    ("decided_on", "決定日"),
    ("decision", "決定"),
    ("service", "サービス"),
    ("items", "項目"),
    ("presenting_problems", "主訴"),
    ("worker", "担当者"),
    ("users", "利用者"),
    ("fields", "項目"),
    ("code", "コード"),
    ("consent", "本人同意"),
    ("person_id", "本人"),
    ("case_id", "ケース"),
    ("household_id", "世帯"),
    ("q", "検索語"),
    ("session", "セッション"),
    ("limit", "件数"),
];

/// The refusal of a value that does not fit its field, in Japanese, with the parser's words in
/// `detail`.
pub fn invalid_field(path: &str, detail: &str) -> ApiError {
    let what = if detail.starts_with("unknown variant") {
        "選択肢にない値です。".to_owned()
    } else if let Some(rest) = detail.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let full = if path.is_empty() || path == "." {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid",
            format!("{}: 必須項目です。", field_name(&full)),
        )
        .with_detail(detail.to_owned());
    } else if detail.starts_with("unknown field") {
        "この項目は受け付けていません。".to_owned()
    } else if detail.contains("text is empty") {
        "入力してください。".to_owned()
    } else if let Some(max) = detail
        .split("longer than ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
    {
        format!("{max}文字以内で入力してください。")
    } else if detail.contains("control characters") {
        "制御文字（NUL など）は使えません。".to_owned()
    } else if detail.starts_with("invalid type") {
        "値の種類が正しくありません。".to_owned()
    } else if detail.contains("UUID") || detail.contains("invalid character") {
        "ID の形式が正しくありません。".to_owned()
    } else if detail.contains("parse") || detail.contains("date") || detail.contains("civil") {
        "日付・時刻の形式が正しくありません（例: 2025-04-01）。".to_owned()
    } else if detail.starts_with("invalid length") {
        "件数が正しくありません。".to_owned()
    } else {
        "値が正しくありません。".to_owned()
    };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.invalid",
        format!("{}: {what}", field_name(path)),
    )
    .with_detail(detail.to_owned())
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            // An id that cannot exist answers like an id that does not exist.
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::not_found()),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Control characters were refused for every request before it reached a handler.
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let err = invalid_field(&e.path().to_string(), &e.inner().to_string());
                ApiError {
                    code: "request.invalid_query".into(),
                    status: StatusCode::BAD_REQUEST,
                    ..err
                }
            })
    }
}

/// The file a download route answers, read from its path's ending: `/cases.csv` is CSV for
/// Excel, `/cases.xlsx` a workbook; one handler serves both routes.
pub struct FileKind(pub tsunagu_app::FileFormat);

impl<S: Send + Sync> FromRequestParts<S> for FileKind {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path();
        if path.ends_with(".xlsx") {
            Ok(FileKind(tsunagu_app::FileFormat::Xlsx))
        } else if path.ends_with(".csv") {
            Ok(FileKind(tsunagu_app::FileFormat::Csv))
        } else {
            Err(ApiError::not_found())
        }
    }
}
