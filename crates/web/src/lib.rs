//! Tsunagu's web shell: the JSON API (HTML pages come with the web UI issue), authentication,
//! the single access-control enforcement point (`access`), and error rendering (`error`).

pub mod access;
pub mod account;
pub mod admin;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod caseload;
pub mod error;
pub mod extract;
pub mod imports;
pub mod pages;
pub mod progress;
pub mod routes;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tsunagu_app::Store;
pub use tsunagu_app::{App, Clock, secrets, today};
use utoipa::OpenApi;

/// Largest request body accepted (1 MiB); larger answers 413 with a JSON error.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler runs against: the use cases' [`App`] (store, clock, key ring) and how
/// the server is reached. Handlers reach the `App` through `Deref`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub app: App,
    pub network: Network,
    /// The imports under way, for the page that waits on them.
    pub imports: std::sync::Arc<progress::ProgressBoard>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            app: App::new(store),
            network: Network::default(),
            imports: Default::default(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

/// How the server is reached: the reverse proxies it trusts for `X-Forwarded-For` and
/// `X-Forwarded-Proto`, and whether cookies are always `Secure` (the default when listening on
/// an address other than loopback). Cookies are `Secure` on any request that came over HTTPS.
#[derive(Clone, Debug, Default)]
pub struct Network {
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub secure_cookies: bool,
}

impl Network {
    pub fn trusts(&self, address: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&address))
    }
}

/// Content Security Policy: only our own resources, no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tsunagu API",
        description = "包括的相談支援のケース管理 API. Errors are `{code, message}` with a stable code and a Japanese message."
    ),
    paths(
        api::healthz,
        account::login,
        account::logout,
        account::get_me,
        account::change_password,
        account::reset_password,
        account::start_totp,
        account::confirm_totp,
        account::reset_totp,
        account::my_sessions,
        account::end_my_session,
        account::end_my_sessions,
        account::user_sessions,
        account::end_user_sessions,
        account::create_token,
        account::my_tokens,
        account::revoke_token,
        account::user_tokens,
        account::revoke_user_token,
        api::organisations,
        admin::create_organisation,
        admin::list_users,
        admin::create_user,
        admin::update_user,
        admin::audit_log,
        api::get_household,
        api::get_settings,
        api::put_settings,
        api::create_person,
        api::search_persons,
        api::search_records,
        api::get_person,
        api::update_person,
        api::person_history,
        api::person_command,
        api::merge_person,
        api::unmerge_person,
        api::create_case,
        api::list_cases,
        api::person_matches,
        api::case_list,
        api::get_case,
        api::case_command,
        api::case_timeline,
        api::case_assessments,
        api::case_plans,
        attachments::upload,
        attachments::get_content,
        imports::check,
        imports::run,
        api::create_meeting,
        api::list_meetings,
        api::get_meeting,
        api::meeting_command,
        api::due,
        api::due_counts,
        api::national_stats,
        api::consultation_stats,
        api::process_stats,
        api::plan_reports,
        caseload::caseload,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&CommonResponses)
)]
pub struct ApiDoc;

/// Adds to every documented operation the answers any route can give, from the route registry:
/// 401 for a route behind login, 403 where the guard refuses a role, 404 for ids in the path,
/// 400/413/415/422 for a request body, 400 for query parameters, 503 when the database cannot
/// serve, 500 otherwise; each with the `ErrorBody`.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use routes::Guard;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let specs = routes::specs();
        for (path, item) in doc.paths.paths.iter_mut() {
            let methods = [
                ("GET", item.get.as_mut()),
                ("POST", item.post.as_mut()),
                ("PUT", item.put.as_mut()),
                ("PATCH", item.patch.as_mut()),
                ("DELETE", item.delete.as_mut()),
            ];
            for (method, op) in methods {
                let Some(op) = op else { continue };
                let guard = specs
                    .iter()
                    .find(|s| s.path == path && s.method.as_str() == method)
                    .map(|s| s.guard);
                let mut add = |status: &str, what: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(what)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build()
                                .into()
                        });
                };
                if guard != Some(Guard::Public) {
                    add(
                        "401",
                        "Not logged in, or the session or token ended (`auth.required`)",
                    );
                }
                if matches!(
                    guard,
                    Some(
                        Guard::Administer
                            | Guard::ReadAudit
                            | Guard::OverseeOrg
                            | Guard::ImportRecords
                            | Guard::Disclose
                            | Guard::ReceiveReports
                            | Guard::TenantCounts
                            | Guard::WorkCases
                            | Guard::CreateCase
                    )
                ) || (guard != Some(Guard::Public) && method != "GET")
                {
                    add(
                        "403",
                        "Not allowed for this role, or the CSRF token is missing",
                    );
                }
                if path.contains('{') {
                    add(
                        "404",
                        "No such record, or not visible to the caller (`not_found`)",
                    );
                }
                if op.request_body.is_some() {
                    add("400", "The body is not JSON (`request.malformed_json`)");
                    add("413", "The body is too large (`request.too_large`)");
                    add(
                        "415",
                        "Not sent as application/json (`request.content_type`)",
                    );
                    add(
                        "422",
                        "A field does not fit, names it in Japanese (`request.invalid`, `text.control_characters`, refusal codes)",
                    );
                }
                let has_query = op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        matches!(p, utoipa::openapi::RefOr::T(p)
                            if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
                    })
                });
                if has_query {
                    add(
                        "400",
                        "A query parameter does not fit (`request.invalid_query`)",
                    );
                    add(
                        "422",
                        "A query parameter holds control characters (`text.control_characters`)",
                    );
                }
                add("500", "An unexpected error (`internal`)");
                add(
                    "503",
                    "The database cannot serve now; nothing was written (`storage.unavailable`, with Retry-After)",
                );
            }
        }
    }
}

pub(crate) async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

/// No such route: JSON under `/api/`, the error page elsewhere.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    let e = error::ApiError::not_found();
    if uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        ui::page_error(&e)
    }
}

/// A route that exists, asked with a method it does not take.
async fn method_not_allowed(uri: axum::http::Uri) -> axum::response::Response {
    let e = error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "request.method_not_allowed",
        "この URL はこの方法（メソッド）では使えません。",
    );
    if uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        ui::page_error(&e)
    }
}

pub fn router(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn(ui::form_csrf))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The log span of a request: the method and the route template (`/api/cases/{id}`), never
/// the request's own path or query, which can carry search terms (names, phone numbers).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", |m| m.as_str());
    tracing::debug_span!("request", method = %request.method(), route = %route)
}

/// Serves until the listener fails or the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// The web is a shell over the use cases: it neither depends on the store nor reaches it.
    #[test]
    fn the_web_never_names_the_store() {
        let manifest = include_str!("../Cargo.toml");
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap_or_default();
        assert!(
            !dependencies.contains("tsunagu-store"),
            "tsunagu-web depends on tsunagu-store"
        );
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    seen += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for needle in ["tsunagu_store", ".store."] {
                        assert!(
                            !text.contains(needle),
                            "{} names `{needle}`",
                            path.display()
                        );
                    }
                }
            }
        }
        assert!(seen > 10, "only {seen} source files found");
    }
}
