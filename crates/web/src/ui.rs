//! The Japanese web pages: server-rendered askama templates, htmx and one stylesheet bundled
//! into the binary (nothing is fetched from the internet; the product runs inside LGWAN).
//! Pages read through the same `access` enforcement point and audit as the JSON API.

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use serde::Deserialize;

use crate::account::{self, LoginRequest};
use crate::auth::{Auth, SESSION_COOKIE};
use crate::error::ApiError;
use crate::pages::filters;
use crate::{AppState, api};

const HTMX: &[u8] = include_bytes!("../assets/htmx.min.js");
const CSS: &[u8] = include_bytes!("../assets/app.css");
const JS: &[u8] = include_bytes!("../assets/app.js");

/// A page's view of the caller: a logged-in user, or a redirect to the login page.
pub struct Page(pub Auth);

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Auth::from_request_parts(parts, state).await {
            Ok(auth) => Ok(Page(auth)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                Err(Redirect::to("/login").into_response())
            }
            // A session that must enrol a second factor first: to the page where it can.
            Err(e) if e.code == "auth.totp_setup_required" => {
                Err(Redirect::to("/account#totp").into_response())
            }
            Err(e) => Err(page_error(&e)),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    message: &'a str,
    code: &'a str,
}

/// An error as a page: the same Japanese message and code as the API, nothing else.
pub(crate) fn page_error(e: &ApiError) -> Response {
    let page = ErrorPage {
        message: &e.message,
        code: &e.code,
    };
    match page.render() {
        Ok(html) => (e.status, Html(html)).into_response(),
        Err(_) => e.status.into_response(),
    }
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            page_error(&ApiError::internal())
        }
    }
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return page_error(&ApiError::not_found()),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // Bundled assets change only with the binary: cache them for a day over slow links.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    login: String,
    error: Option<String>,
    /// Said before logging in (the password was just changed).
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    changed: String,
}

pub async fn login_page(axum::extract::Query(q): axum::extract::Query<LoginQuery>) -> Response {
    render(&LoginPage {
        login: String::new(),
        error: None,
        notice: (q.changed == "password")
            .then_some("パスワードを変更しました。新しいパスワードでログインし直してください。"),
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// The login form: on success the session cookie and the dashboard; on a refusal the page
/// again with the reason and the login name kept.
pub async fn login_submit(
    State(app): State<AppState>,
    client: crate::auth::Client,
    jar: CookieJar,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let login = form.login.clone();
    let req = LoginRequest {
        login: form.login,
        password: form.password,
        totp: form.totp.filter(|t| !t.trim().is_empty()),
    };
    match account::sign_in(&app, client, req).await {
        Ok((cookie, _)) => (jar.add(cookie), Redirect::to("/")).into_response(),
        Err(e) => {
            let page = LoginPage {
                login,
                error: Some(e.message),
                notice: None,
            };
            match page.render() {
                Ok(html) => (e.status, Html(html)).into_response(),
                Err(_) => e.status.into_response(),
            }
        }
    }
}

pub async fn logout_submit(
    State(app): State<AppState>,
    Page(auth): Page,
    jar: CookieJar,
) -> Response {
    if let Err(e) = tsunagu_app::auth::sign_out(&app, &auth).await {
        return page_error(&e.into());
    }
    (
        jar.remove(Cookie::from(SESSION_COOKIE)),
        Redirect::to("/login"),
    )
        .into_response()
}

struct DueRowView {
    due_on: jiff::civil::Date,
    label: &'static str,
    case_id: tsunagu_core::CaseId,
    person_name: String,
    overdue: bool,
}

struct MeetingRowView {
    id: tsunagu_core::MeetingId,
    date: jiff::civil::Date,
    title: String,
    agenda: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: crate::pages::Chrome,
    works_cases: bool,
    horizon_days: u16,
    counts: Vec<api::DueCount>,
    items: Vec<DueRowView>,
    meetings: Vec<MeetingRowView>,
    /// Lead workers: the organisation's caseload and the cases not moving.
    caseload: Option<crate::caseload::Caseload>,
    /// Municipal officers: the cases on their department's teams waiting for the
    /// municipality's support decision (支援決定待ち).
    decisions: Option<tsunagu_app::caseload::CaseList>,
    /// Where the previous and next pages of workers start, when there are such pages.
    workers_before: Option<u32>,
    workers_after: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    /// Where the caseload's page of workers starts; anything but a number shows the first.
    #[serde(default)]
    workers: Option<String>,
}

/// ダッシュボード: the caller's due and overdue items and coming meetings; for lead workers
/// also the caseload per worker and the cases that stay too long in a stage.
pub async fn dashboard(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::extract::Query(q): axum::extract::Query<DashboardQuery>,
) -> Result<Response, crate::pages::PageError> {
    let today = app.clock.today();
    let works_cases = auth.actor.role.works_cases();
    let (counts, items, meetings) = if works_cases {
        let l =
            tsunagu_app::due::list(&app, &auth, Some(today), tsunagu_app::due::Scope::Mine).await?;
        (
            l.counts,
            l.items
                .into_iter()
                .map(|i| DueRowView {
                    due_on: i.row.due_on,
                    label: i.label,
                    case_id: i.row.case_id,
                    person_name: i.row.person_name,
                    overdue: i.overdue,
                })
                .collect(),
            l.meetings
                .into_iter()
                .map(|m| MeetingRowView {
                    id: m.id,
                    date: m.scheduled_on,
                    title: m.title,
                    agenda: m.agenda_cases,
                })
                .collect(),
        )
    } else {
        (vec![], vec![], vec![])
    };
    let decisions = if auth.actor.role == tsunagu_core::Role::MunicipalOfficer {
        Some(
            tsunagu_app::caseload::list(
                &app,
                &auth,
                tsunagu_app::caseload::ListRequest {
                    scope: tsunagu_app::caseload::ListScope::Team,
                    stages: vec![tsunagu_core::case::Stage::Decision],
                    closed: Some(false),
                    ..Default::default()
                },
            )
            .await?,
        )
    } else {
        None
    };
    let caseload = if tsunagu_core::policy::oversee_org(&auth.actor) {
        let from = q
            .workers
            .and_then(|w| w.trim().parse::<u32>().ok())
            .unwrap_or(0);
        Some(crate::caseload::overview(&app, &auth, from).await?)
    } else {
        None
    };
    let shown = crate::caseload::WORKERS_SHOWN;
    let workers_before = caseload
        .as_ref()
        .filter(|c| c.workers_offset > 0)
        .map(|c| c.workers_offset.saturating_sub(shown));
    let workers_after = caseload
        .as_ref()
        .map(|c| u64::from(c.workers_offset) + u64::from(shown))
        .filter(|next| caseload.as_ref().is_some_and(|c| *next < c.workers_total))
        .and_then(|next| u32::try_from(next).ok());
    Ok(render(&Dashboard {
        chrome: crate::pages::Chrome::of(&auth, today),
        works_cases,
        horizon_days: auth.settings.due_horizon_days,
        counts,
        items,
        meetings,
        caseload,
        decisions,
        workers_before,
        workers_after,
    }))
}

/// HTML forms cannot send headers: a form POST carries the session's CSRF token as the
/// `csrf_token` field, which this layer moves into the `X-CSRF-Token` header that the `Auth`
/// extractor checks for every state-changing request. Nothing else about the request changes.
/// A urlencoded form is read up to the body limit; a multipart upload (only to an attachment
/// or the import route) up to the upload limit, and its token must come before the file.
pub async fn form_csrf(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    // Text with control characters is refused wherever it enters: the query string of every
    // request here, a form's fields below, JSON bodies in `ApiJson`.
    if let Some(field) = control_field(request.uri().query().unwrap_or_default().as_bytes()) {
        return refuse_control(request.uri().path(), &field);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let import = request.uri().path() == "/import";
    let boundary = (content_type.starts_with("multipart/form-data")
        && (request.uri().path().ends_with("/attachments") || import))
        .then(|| multer::parse_boundary(&content_type).ok())
        .flatten();
    let has_token = request.headers().contains_key(crate::auth::CSRF_HEADER);
    if !is_form && (boundary.is_none() || has_token) {
        return next.run(request).await;
    }
    let limit = if is_form {
        crate::MAX_BODY_BYTES
    } else if import {
        crate::pages::import::IMPORT_BODY_BYTES
    } else {
        crate::attachments::UPLOAD_BODY_BYTES
    };
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        if !is_form {
            return page_error(&crate::attachments::too_large());
        }
        return page_error(&ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            "送信された内容が大きすぎます。",
        ));
    };
    if is_form && let Some(field) = control_field(&bytes) {
        return refuse_control(parts.uri.path(), &field);
    }
    let token = match boundary {
        _ if has_token => None,
        Some(boundary) => multipart_token(bytes.clone(), boundary).await,
        None => form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.into_owned()),
    };
    if let Some(token) = token
        && let Ok(value) = HeaderValue::from_str(&token)
    {
        parts.headers.insert(crate::auth::CSRF_HEADER, value);
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// The name of the first urlencoded field whose name or value holds a control character (line
/// breaks and tabs are allowed in values: text areas send them).
fn control_field(encoded: &[u8]) -> Option<String> {
    use tsunagu_core::text::has_control_characters;
    form_urlencoded::parse(encoded)
        .find(|(k, v)| has_control_characters(k, false) || has_control_characters(v, true))
        .map(|(k, _)| k.chars().filter(|c| !c.is_control()).collect())
}

/// 422 naming the field: JSON for the API, the error page for pages.
fn refuse_control(path: &str, field: &str) -> Response {
    let e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "text.control_characters",
        format!(
            "{}: 制御文字（NUL など）は使えません。",
            crate::extract::field_name(field)
        ),
    );
    if path.starts_with("/api/") {
        e.into_response()
    } else {
        page_error(&e)
    }
}

/// The `csrf_token` field of a multipart form, if it comes before any file.
async fn multipart_token(bytes: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream =
        futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(bytes)));
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.file_name().is_some() {
            return None;
        }
        if field.name() == Some("csrf_token") {
            return field.text().await.ok();
        }
    }
    None
}

/// The dashboard's due list (the caller's own cases) as a file for Excel (`.csv`, `.xlsx`).
pub async fn due_file(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
) -> Result<Response, crate::pages::PageError> {
    let bytes =
        tsunagu_app::due::export_file(&app, &auth, tsunagu_app::due::Scope::Mine, format).await?;
    Ok(crate::pages::download(format, "due", bytes))
}
