//! Administration of a tenant over HTTP: organisations, staff accounts and the audit trail
//! (`tsunagu_app::admin`, where the rules and the guards are).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tsunagu_app::admin;
pub use tsunagu_app::admin::{AuditSearch, OrganisationCreate, UserChange, UserCreate, UserView};
use tsunagu_app::rows::ChainedRow;
use tsunagu_core::UserId;

use crate::AppState;
use crate::api::Created;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

#[utoipa::path(post, path = "/api/organisations", request_body = OrganisationCreate,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organisation(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<OrganisationCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = admin::create_organisation(&app, &auth, req).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(get, path = "/api/users",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(admin::users(&app, &auth).await?))
}

#[utoipa::path(post, path = "/api/users", request_body = UserCreate,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<UserCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = admin::create_user(&app, &auth, req).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(patch, path = "/api/users/{id}", params(("id" = UserId, Path)), request_body = UserChange,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UserChange>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(admin::update_user(&app, &auth, id, req).await?))
}

/// Breach response: what a user or session accessed between two times, or everyone who
/// accessed a person. For auditors and administrators; entries hold identifiers only.
#[utoipa::path(get, path = "/api/audit", params(AuditSearch),
    responses((status = 200, body = Vec<ChainedRow>), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(app): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<AuditSearch>,
) -> ApiResult<Json<Vec<ChainedRow>>> {
    Ok(Json(admin::audit_log(&app, &auth, q).await?))
}
