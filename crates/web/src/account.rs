//! The caller's own account: login with password and TOTP, logout, the second factor's
//! enrolment, sessions, and API tokens. Administrators can list and end another user's
//! sessions and reset a lost second factor.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use tsunagu_core::{OrgId, OrgKind, Role, TenantId, UserId};
use tsunagu_store::{ApiToken, AuditEntry, Basis, Session, TokenInfo};
use uuid::Uuid;

use crate::access;
use crate::auth::{self, Auth, SESSION_COOKIE, SESSION_HOURS};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::{AppState, admin};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, once TOTP is set up.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub tenant_id: TenantId,
    pub totp_enabled: bool,
    /// This session may only enrol a second factor until it is confirmed.
    pub totp_setup_required: bool,
    /// Send as `X-CSRF-Token` with every state-changing request of this session.
    pub csrf_token: Option<String>,
}

fn me(auth: &Auth) -> Me {
    Me {
        user_id: auth.user.id,
        login: auth.user.login.clone(),
        display_name: auth.user.display_name.clone(),
        role: auth.actor.role,
        org_id: auth.actor.org_id,
        org_kind: auth.actor.org_kind,
        tenant_id: auth.actor.tenant_id,
        totp_enabled: auth.user.totp_confirmed,
        totp_setup_required: auth.session.as_ref().is_some_and(|s| s.totp_setup_only),
        csrf_token: auth.session.as_ref().map(|s| s.csrf_token.clone()),
    }
}

/// A hash to verify against when the login is unknown, so both paths take the same time.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| auth::hash_password("not-a-real-password").unwrap_or_default());

fn unauthorized(code: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
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

/// Checks the password (and the second factor), throttles failures, audits every attempt and
/// opens a session; the session cookie goes back to the caller (the JSON API or the login page).
pub(crate) async fn sign_in(
    app: &AppState,
    client: auth::Client,
    req: LoginRequest,
) -> ApiResult<(Cookie<'static>, Me)> {
    let address = client.address.clone();
    let login = req.login.trim().to_owned();
    let user = app.store.user_by_login(&login).await?;
    let attempt = |action: &str| {
        let mut e = AuditEntry::new(action);
        e.address = Some(address.clone());
        if let Some(u) = &user {
            e.tenant_id = Some(u.tenant_id);
            e.user_id = Some(u.id);
            e.org_id = Some(u.org_id);
        }
        e
    };
    if let Some(wait) = auth::throttle::wait(&app.store, &login, &address).await? {
        app.store.audit(&[attempt("login.throttled")]).await?;
        let secs = wait.as_secs().max(1);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.throttled",
            format!(
                "ログインの失敗が続いたため、{secs}秒後までお待ちください。パスワードが分からない場合は管理者に連絡してください。"
            ),
        );
        e.retry_after = Some(secs);
        return Err(e);
    }
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let invalid = || {
        unauthorized(
            "auth.invalid_credentials",
            "ログインIDまたはパスワードが違います。",
        )
    };
    let fail = async |action: &str| -> ApiResult<AuditEntry> {
        auth::throttle::failed(&app.store, &login, &address).await?;
        Ok(attempt(action))
    };
    let Some(user) = user.clone().filter(|u| ok && !u.disabled) else {
        app.store.audit(&[fail("login.failed").await?]).await?;
        return Err(invalid());
    };
    let role = user.role;
    let Some((actor, user, settings)) = auth::actor_for(&app.store, user, role).await? else {
        app.store.audit(&[fail("login.failed").await?]).await?;
        return Err(invalid());
    };
    let now = jiff::Timestamp::now();
    let mut setup_only = false;
    if user.totp_confirmed {
        let Some(code) = req.totp.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Err(unauthorized(
                "auth.totp_required",
                "認証アプリに表示されている6桁の確認コードを入力してください。",
            ));
        };
        let secret = user
            .totp_secret
            .as_deref()
            .and_then(|s| app.secrets.open(s))
            .unwrap_or_default();
        let now_secs = u64::try_from(now.as_second()).unwrap_or(0);
        let step = auth::totp_step(&secret, &user.login, code, now_secs);
        let accepted = match step {
            Some(step) => app.store.use_totp_step(user.id, step).await?,
            None => false,
        };
        if !accepted {
            app.store.audit(&[fail("login.totp_failed").await?]).await?;
            return Err(unauthorized(
                "auth.totp_invalid",
                "確認コードが違うか、すでに使われています。次に表示されるコードを入力してください。",
            ));
        }
    } else if settings.totp_required_roles.contains(&actor.role) {
        setup_only = true;
    }
    auth::throttle::succeeded(&app.store, &login).await?;
    // A fresh token at every login: a session id known before login is worthless after it.
    let (token, hash) = auth::new_token("");
    let (csrf, _) = auth::new_token("");
    let expires = now
        .checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS))
        .map_err(|_| ApiError::internal())?;
    let session = Session {
        id: Uuid::now_v7().to_string(),
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        expires_at: expires,
        address: Some(address.clone()),
        totp_setup_only: setup_only,
        csrf_token: csrf,
    };
    let mut entry = AuditEntry::by(&actor, "login.succeeded").detail(if setup_only {
        "totp_setup_required"
    } else if user.totp_confirmed {
        "password+totp"
    } else {
        "password"
    });
    entry.session_id = Some(session.id.clone());
    entry.address = Some(address);
    app.store.create_session(&hash, &session, &entry).await?;
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(client.https || app.network.secure_cookies)
        .same_site(SameSite::Strict)
        .path("/")
        .build();
    let auth = Auth::new(actor, user, settings, Some(session), None, None);
    Ok((cookie, me(&auth)))
}

#[utoipa::path(post, path = "/api/logout", responses((status = 204)))]
pub async fn logout(
    State(app): State<AppState>,
    auth: Auth,
    jar: CookieJar,
) -> ApiResult<(CookieJar, StatusCode)> {
    if let Some(s) = &auth.session {
        app.store
            .revoke_sessions(auth.user.id, Some(&s.id), &auth.audit("logout"))
            .await?;
    }
    Ok((
        jar.remove(Cookie::from(SESSION_COOKIE)),
        StatusCode::NO_CONTENT,
    ))
}

#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn get_me(auth: Auth) -> Json<Me> {
    Json(me(&auth))
}

// --- TOTP ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpSetup {
    /// Base32 secret, for manual entry in the authenticator app.
    pub secret: String,
    /// `otpauth://` URI (for a QR code).
    pub otpauth_url: String,
}

#[utoipa::path(post, path = "/api/me/totp",
    responses((status = 200, body = TotpSetup), (status = 409, body = ErrorBody)))]
pub async fn start_totp(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<TotpSetup>> {
    if auth.token.is_some() {
        return Err(ApiError::forbidden());
    }
    if auth.user.totp_confirmed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "totp.already_enabled",
            "二要素認証はすでに設定されています。設定し直す場合は管理者にリセットを依頼してください。",
        ));
    }
    let secret = auth::new_totp_secret();
    let totp = auth::totp(&secret, &auth.user.login).ok_or_else(ApiError::internal)?;
    let sealed = app
        .secrets
        .seal(&secret)
        .map_err(|_| ApiError::internal())?;
    app.store
        .set_totp(
            auth.user.id,
            Some(&sealed),
            false,
            &auth.audit("totp.enrolment_started"),
        )
        .await?;
    Ok(Json(TotpSetup {
        otpauth_url: totp.get_url(),
        secret,
    }))
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
    let Some(sealed) = auth
        .user
        .totp_secret
        .clone()
        .filter(|_| !auth.user.totp_confirmed)
    else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "totp.not_started",
            "先に二要素認証の登録を開始してください。",
        ));
    };
    let secret = app.secrets.open(&sealed).ok_or_else(ApiError::internal)?;
    let now_secs = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let Some(step) = auth::totp_step(&secret, &auth.user.login, &req.code, now_secs) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "totp.invalid_code",
            "確認コードが違います。認証アプリの時刻が正しいか確かめて、表示中のコードを入力してください。",
        ));
    };
    app.store
        .set_totp(
            auth.user.id,
            Some(&sealed),
            true,
            &auth.audit("totp.enabled"),
        )
        .await?;
    app.store.use_totp_step(auth.user.id, step).await?;
    let mut auth = auth;
    auth.user.totp_confirmed = true;
    if let Some(s) = &mut auth.session {
        s.totp_setup_only = false;
    }
    Ok(Json(me(&auth)))
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
    access::administer(&auth)?;
    let user = admin::tenant_user(&app, &auth, id).await?;
    let entry = auth
        .audit("totp.reset")
        .object("user", user.id)
        .basis(Basis::Administration);
    app.store.set_totp(user.id, None, false, &entry).await?;
    app.store
        .revoke_sessions(
            user.id,
            None,
            &auth.audit("sessions.revoked").object("user", user.id),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- sessions -----------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: jiff::Timestamp,
    pub last_seen_at: jiff::Timestamp,
    pub expires_at: jiff::Timestamp,
    pub address: Option<String>,
    pub current: bool,
}

fn session_views(auth: &Auth, sessions: Vec<Session>) -> Vec<SessionView> {
    let idle = jiff::SignedDuration::from_mins(i64::from(auth.settings.session_idle_minutes));
    let now = jiff::Timestamp::now();
    sessions
        .into_iter()
        .filter(|s| now.duration_since(s.last_seen_at) <= idle)
        .map(|s| SessionView {
            current: auth.session.as_ref().is_some_and(|c| c.id == s.id),
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            address: s.address,
        })
        .collect()
}

#[utoipa::path(get, path = "/api/me/sessions", responses((status = 200, body = Vec<SessionView>)))]
pub async fn my_sessions(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SessionView>>> {
    let sessions = app
        .store
        .sessions_of(auth.user.id, jiff::Timestamp::now())
        .await?;
    Ok(Json(session_views(&auth, sessions)))
}

#[utoipa::path(delete, path = "/api/me/sessions/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_my_session(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let n = app
        .store
        .revoke_sessions(
            auth.user.id,
            Some(&id),
            &auth.audit("session.revoked").object("session", &id),
        )
        .await?;
    if n == 0 {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller (e.g. after leaving a shared computer logged in).
#[utoipa::path(delete, path = "/api/me/sessions", responses((status = 204)))]
pub async fn end_my_sessions(State(app): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    app.store
        .revoke_sessions(auth.user.id, None, &auth.audit("sessions.revoked"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/users/{id}/sessions", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<SessionView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_sessions(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<SessionView>>> {
    access::administer(&auth)?;
    let user = admin::tenant_user(&app, &auth, id).await?;
    let sessions = app
        .store
        .sessions_of(user.id, jiff::Timestamp::now())
        .await?;
    Ok(Json(session_views(&auth, sessions)))
}

#[utoipa::path(delete, path = "/api/users/{id}/sessions", params(("id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_user_sessions(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    access::administer(&auth)?;
    let user = admin::tenant_user(&app, &auth, id).await?;
    app.store
        .revoke_sessions(
            user.id,
            None,
            &auth
                .audit("sessions.revoked")
                .object("user", user.id)
                .basis(Basis::Administration),
        )
        .await?;
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub id: Uuid,
    /// Shown once; only its hash is stored.
    pub token: String,
    pub org_id: OrgId,
    pub role: Role,
    /// After this the token no longer works (tenant setting `token_days`).
    pub expires_at: jiff::Timestamp,
}

#[utoipa::path(post, path = "/api/me/tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    if auth.token.is_some() {
        // A token cannot mint tokens.
        return Err(ApiError::forbidden());
    }
    let role = req.role.unwrap_or(auth.actor.role);
    // No escalation through delegation: only a role whose every access the caller has.
    if !tsunagu_core::policy::role_covers(auth.actor.role, role) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.role_too_high",
            "自分の権限より強い権限のトークンは作れません。",
        ));
    }
    let label = req.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.invalid_label",
            "トークンの用途を1〜100文字で入力してください。",
        ));
    }
    let (token, hash) = auth::new_token("tsu_");
    let id = Uuid::now_v7();
    let created_at = jiff::Timestamp::now();
    let expires_at = created_at
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(auth.settings.token_days),
        ))
        .map_err(|_| ApiError::internal())?;
    app.store
        .create_api_token(
            &ApiToken {
                id,
                token_hash: hash,
                user_id: auth.user.id,
                org_id: auth.actor.org_id,
                role,
                label: label.to_owned(),
                created_at,
                expires_at,
            },
            &auth.audit("token.created").object("token", id),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id,
            token,
            org_id: auth.actor.org_id,
            role,
            expires_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/me/tokens",
    responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn my_tokens(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(app.store.api_tokens_of(auth.user.id).await?))
}

#[utoipa::path(get, path = "/api/users/{id}/tokens", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<TokenInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user_tokens(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    access::administer(&auth)?;
    let user = admin::tenant_user(&app, &auth, id).await?;
    Ok(Json(app.store.api_tokens_of(user.id).await?))
}

#[utoipa::path(delete, path = "/api/users/{id}/tokens/{token}",
    params(("id" = UserId, Path), ("token" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath((id, token)): ApiPath<(UserId, Uuid)>,
) -> ApiResult<StatusCode> {
    access::administer(&auth)?;
    let user = admin::tenant_user(&app, &auth, id).await?;
    let done = app
        .store
        .revoke_api_token(
            user.id,
            token,
            &auth
                .audit("token.revoked")
                .object("token", token)
                .basis(Basis::Administration),
        )
        .await?;
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[utoipa::path(delete, path = "/api/me/tokens/{id}", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let done = app
        .store
        .revoke_api_token(
            auth.user.id,
            id,
            &auth.audit("token.revoked").object("token", id),
        )
        .await?;
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}
