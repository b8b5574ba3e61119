//! The caller's own account over HTTP: login (the session cookie), logout, the second factor's
//! enrolment, sessions and API tokens; administrators list and end another user's sessions and
//! tokens and reset a lost second factor. The rules are `tsunagu_app::auth` and
//! `tsunagu_app::accounts`; these handlers only read the request and write the response.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use tsunagu_app::accounts;
pub use tsunagu_app::accounts::{Me, SessionView, TokenCreated, TotpSetup};
use tsunagu_app::rows::TokenInfo;
use tsunagu_core::{Role, UserId};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, Auth, SESSION_COOKIE};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, once TOTP is set up.
    #[serde(default)]
    pub totp: Option<String>,
}

#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(app): State<AppState>,
    client: auth::Client,
    jar: CookieJar,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<(CookieJar, Json<Me>)> {
    let (cookie, me) = sign_in(&app, client, req).await?;
    Ok((jar.add(cookie), Json(me)))
}

/// Signs in (`tsunagu_app::auth::sign_in`) and builds the session cookie for the JSON API and
/// the login page: HttpOnly, SameSite=Strict, Secure over HTTPS or off loopback.
pub(crate) async fn sign_in(
    app: &AppState,
    client: auth::Client,
    req: LoginRequest,
) -> ApiResult<(Cookie<'static>, Me)> {
    let login = tsunagu_app::auth::Login {
        login: req.login,
        password: req.password,
        totp: req.totp,
    };
    let (token, me) = tsunagu_app::auth::sign_in(app, &client.address, login).await?;
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(client.https || app.network.secure_cookies)
        .same_site(SameSite::Strict)
        .path("/")
        .build();
    Ok((cookie, Me::of(&me)))
}

#[utoipa::path(post, path = "/api/logout", responses((status = 204)))]
pub async fn logout(
    State(app): State<AppState>,
    auth: Auth,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    tsunagu_app::auth::sign_out(&app, &auth).await?;
    Ok((
        jar.remove(Cookie::from(SESSION_COOKIE)),
        StatusCode::NO_CONTENT,
    ))
}

#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn get_me(auth: Auth) -> Json<Me> {
    Json(Me::of(&auth))
}

// --- passwords ----------------------------------------------------------------------------------

/// Changes the caller's own password: the current one, then a new one under the policy; the
/// user's other sessions end.
#[utoipa::path(put, path = "/api/me/password", request_body = accounts::PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<accounts::PasswordChange>,
) -> ApiResult<StatusCode> {
    accounts::change_password(&app, &auth, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The new password, told to the user out of band.
    pub password: String,
}

/// An administrator sets a new password for a user who lost theirs; all the user's sessions end.
#[utoipa::path(put, path = "/api/users/{id}/password", params(("id" = UserId, Path)),
    request_body = PasswordReset,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    accounts::reset_password(&app, &auth, id, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- TOTP ---------------------------------------------------------------------------------------

#[utoipa::path(post, path = "/api/me/totp",
    responses((status = 200, body = TotpSetup), (status = 409, body = ErrorBody)))]
pub async fn start_totp(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<TotpSetup>> {
    Ok(Json(accounts::start_totp(&app, &auth).await?))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotpConfirm {
    pub code: String,
}

#[utoipa::path(post, path = "/api/me/totp/confirm", request_body = TotpConfirm,
    responses((status = 200, body = Me), (status = 422, body = ErrorBody)))]
pub async fn confirm_totp(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<TotpConfirm>,
) -> ApiResult<Json<Me>> {
    Ok(Json(accounts::confirm_totp(&app, auth.0, &req.code).await?))
}

/// An administrator removes a user's second factor (lost phone); the user enrols again at the
/// next login, and all their sessions end.
#[utoipa::path(delete, path = "/api/users/{id}/totp", params(("id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_totp(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    accounts::reset_totp(&app, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- sessions -----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/me/sessions", responses((status = 200, body = Vec<SessionView>)))]
pub async fn my_sessions(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(accounts::sessions(&app, &auth, None).await?))
}

#[utoipa::path(delete, path = "/api/me/sessions/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_my_session(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    accounts::end_session(&app, &auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller (e.g. after leaving a shared computer logged in).
#[utoipa::path(delete, path = "/api/me/sessions", responses((status = 204)))]
pub async fn end_my_sessions(State(app): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    accounts::end_sessions(&app, &auth, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/users/{id}/sessions", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<SessionView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_sessions(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(accounts::sessions(&app, &auth, Some(id)).await?))
}

#[utoipa::path(delete, path = "/api/users/{id}/sessions", params(("id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_user_sessions(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    accounts::end_sessions(&app, &auth, Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- API tokens ---------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub label: String,
    /// The role the token acts as; at most the caller's own (default: the caller's role).
    #[serde(default)]
    pub role: Option<Role>,
}

#[utoipa::path(post, path = "/api/me/tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let created = accounts::create_token(&app, &auth, &req.label, req.role).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/me/tokens",
    responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn my_tokens(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(accounts::tokens(&app, &auth, None).await?))
}

#[utoipa::path(get, path = "/api/users/{id}/tokens", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<TokenInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_tokens(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(accounts::tokens(&app, &auth, Some(id)).await?))
}

#[utoipa::path(delete, path = "/api/users/{id}/tokens/{token}",
    params(("id" = UserId, Path), ("token" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath((id, token)): ApiPath<(UserId, Uuid)>,
) -> ApiResult<StatusCode> {
    accounts::revoke_token(&app, &auth, Some(id), token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/me/tokens/{id}", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    accounts::revoke_token(&app, &auth, None, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
