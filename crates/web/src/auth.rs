//! Authentication: argon2id password hashes, server-side sessions behind an HttpOnly cookie,
//! and bearer API tokens. Tokens are random; only their SHA-256 is stored.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tsunagu_core::{Actor, TenantSettings};
use tsunagu_store::{Store, User};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "tsunagu_session";
pub const SESSION_HOURS: i64 = 12;
pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a password a user is about to set.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "password.too_short",
            format!("パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。"),
        ));
    }
    Ok(())
}

/// A new random token with the given prefix, and the hash to store.
pub fn new_token(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", hex::encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated user of a request, with the tenant's settings.
#[derive(Clone, Debug)]
pub struct Auth {
    pub actor: Actor,
    pub user: User,
    pub settings: TenantSettings,
    /// The session token hash, when the request came with the session cookie.
    pub session: Option<String>,
}

pub async fn actor_for(store: &Store, user: User) -> Result<Option<Auth>, ApiError> {
    if user.disabled {
        return Ok(None);
    }
    let orgs = store.orgs(user.tenant_id).await?;
    let Some(org) = orgs.iter().find(|o| o.id == user.org_id) else {
        return Ok(None);
    };
    let Some(tenant) = store.tenant(user.tenant_id).await? else {
        return Ok(None);
    };
    Ok(Some(Auth {
        actor: Actor {
            tenant_id: user.tenant_id,
            user_id: user.id,
            org_id: org.id,
            org_kind: org.kind,
            role: user.role,
        },
        user,
        settings: tenant.settings,
        session: None,
    }))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let now = jiff::Timestamp::now();
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let (user_id, session) = if let Some(token) = bearer {
            let user = state.store.api_token_user(&token_hash(token)).await?;
            (user, None)
        } else {
            let jar = CookieJar::from_headers(&parts.headers);
            let Some(cookie) = jar.get(SESSION_COOKIE) else {
                return Err(ApiError::unauthenticated());
            };
            let hash = token_hash(cookie.value());
            (state.store.session_user(&hash, now).await?, Some(hash))
        };
        let Some(user_id) = user_id else {
            return Err(ApiError::unauthenticated());
        };
        let Some(user) = state.store.user(user_id).await? else {
            return Err(ApiError::unauthenticated());
        };
        let mut auth = actor_for(&state.store, user)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        auth.session = session;
        Ok(auth)
    }
}
