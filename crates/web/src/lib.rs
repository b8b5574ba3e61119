//! Tsunagu's web shell: the JSON API (HTML pages come with the web UI issue), authentication,
//! the single access-control enforcement point (`access`), and error rendering (`error`).

pub mod access;
pub mod account;
pub mod admin;
pub mod api;
pub mod auth;
pub mod error;
pub mod extract;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use jiff::civil::Date;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tsunagu_store::Store;
use utoipa::OpenApi;

/// Largest request body accepted (1 MiB); larger answers 413 with a JSON error.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub throttle: std::sync::Arc<auth::Throttle>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            throttle: std::sync::Arc::default(),
        }
    }
}

/// Content Security Policy: only our own resources, no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Today in Japan (UTC+9, no daylight saving).
pub fn today() -> Date {
    let offset = jiff::tz::Offset::constant(9);
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(offset))
        .date()
}

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
        account::start_totp,
        account::confirm_totp,
        account::reset_totp,
        account::my_sessions,
        account::end_my_session,
        account::end_my_sessions,
        account::user_sessions,
        account::end_user_sessions,
        account::create_token,
        account::revoke_token,
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
        api::get_person,
        api::update_person,
        api::person_history,
        api::create_case,
        api::list_cases,
        api::get_case,
        api::case_command,
        api::case_timeline,
        api::case_assessments,
        api::case_plans,
        api::create_meeting,
        api::list_meetings,
        api::get_meeting,
        api::meeting_command,
        api::due,
    ),
    components(schemas(error::ErrorBody))
)]
pub struct ApiDoc;

async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

async fn fallback() -> error::ApiError {
    error::ApiError::not_found()
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(account::login))
        .route("/logout", post(account::logout))
        .route("/me", get(account::get_me))
        .route("/me/totp", post(account::start_totp))
        .route("/me/totp/confirm", post(account::confirm_totp))
        .route(
            "/me/sessions",
            get(account::my_sessions).delete(account::end_my_sessions),
        )
        .route(
            "/me/sessions/{id}",
            axum::routing::delete(account::end_my_session),
        )
        .route("/me/tokens", post(account::create_token))
        .route(
            "/me/tokens/{id}",
            axum::routing::delete(account::revoke_token),
        )
        .route(
            "/users/{id}/sessions",
            get(account::user_sessions).delete(account::end_user_sessions),
        )
        .route(
            "/users/{id}/totp",
            axum::routing::delete(account::reset_totp),
        )
        .route("/openapi.json", get(openapi_json))
        .route(
            "/organisations",
            get(api::organisations).post(admin::create_organisation),
        )
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route("/audit", get(admin::audit_log))
        .route("/users/{id}", axum::routing::patch(admin::update_user))
        .route("/households/{id}", get(api::get_household))
        .route("/settings", get(api::get_settings).put(api::put_settings))
        .route(
            "/persons",
            post(api::create_person).get(api::search_persons),
        )
        .route(
            "/persons/{id}",
            get(api::get_person).put(api::update_person),
        )
        .route("/persons/{id}/history", get(api::person_history))
        .route("/cases", post(api::create_case).get(api::list_cases))
        .route("/cases/{id}", get(api::get_case))
        .route("/cases/{id}/commands", post(api::case_command))
        .route("/cases/{id}/timeline", get(api::case_timeline))
        .route("/cases/{id}/assessments", get(api::case_assessments))
        .route("/cases/{id}/plans", get(api::case_plans))
        .route(
            "/meetings",
            post(api::create_meeting).get(api::list_meetings),
        )
        .route("/meetings/{id}", get(api::get_meeting))
        .route("/meetings/{id}/commands", post(api::meeting_command))
        .route("/due", get(api::due));
    Router::new()
        .route("/healthz", get(api::healthz))
        .nest("/api", api)
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
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
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until the listener fails or the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}
