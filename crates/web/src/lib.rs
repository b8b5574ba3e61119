//! Tsunagu's web shell: the JSON API (HTML pages come with the web UI issue), authentication,
//! the single access-control enforcement point (`access`), and error rendering (`error`).

pub mod access;
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
}

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
        api::login,
        api::logout,
        api::get_me,
        api::organisations,
        admin::create_organisation,
        admin::list_users,
        admin::create_user,
        admin::update_user,
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
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me", get(api::get_me))
        .route("/openapi.json", get(openapi_json))
        .route(
            "/organisations",
            get(api::organisations).post(admin::create_organisation),
        )
        .route("/users", get(admin::list_users).post(admin::create_user))
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
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until the listener fails or the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
