//! Authentication: argon2id password hashes, TOTP second factor, server-side sessions behind an
//! HttpOnly cookie (idle timeout and absolute lifetime, CSRF token per session), bearer API
//! tokens scoped to an organisation and role, and login throttling. Tokens are random; only
//! their SHA-256 is stored.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum_extra::extract::CookieJar;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tsunagu_app::Caller;
use tsunagu_core::{Actor, Role, TenantSettings};
use tsunagu_store::{Session, Store, TokenGrant, User};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "tsunagu_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_HOURS: i64 = 12;
/// Paths a session that still has to enrol its second factor may use.
pub const TOTP_SETUP_PATHS: [&str; 4] = [
    "/api/me",
    "/api/me/totp",
    "/api/me/totp/confirm",
    "/api/logout",
];

/// The password rules live with the use cases, so the API and the CLI apply the same ones.
pub use tsunagu_app::accounts::{MIN_PASSWORD_CHARS, hash_password, verify_password};

/// Checks a password a user is about to set (`tsunagu_app::accounts::check_new_password`).
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    Ok(tsunagu_app::accounts::check_new_password(password)?)
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// --- TOTP -------------------------------------------------------------------------------------

/// A new random TOTP secret (160 bits), base32.
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    match totp_rs::Secret::Raw(bytes.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => s,
        totp_rs::Secret::Raw(_) => String::new(),
    }
}

/// The TOTP generator for a secret (SHA-1, 6 digits, 30 s: what authenticator apps expect).
pub fn totp(secret: &str, account: &str) -> Option<totp_rs::TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .ok()?;
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("Tsunagu".to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The time step a code belongs to (now, or one step either side for clock drift).
pub fn totp_step(secret: &str, account: &str, code: &str, now_secs: u64) -> Option<u64> {
    let totp = totp(secret, account)?;
    let code = code.trim();
    [now_secs.saturating_sub(30), now_secs, now_secs + 30]
        .into_iter()
        .find(|t| constant_time_eq(totp.generate(*t).as_bytes(), code.as_bytes()))
        .map(|t| t / 30)
}

// --- throttling -------------------------------------------------------------------------------

/// Slows repeated failed logins per account and per client address. After `free` failures within
/// the window, each further attempt must wait twice as long as the one before (1 s, 2 s, 4 s, …
/// up to 15 min) after the last failure: an attacker gets a handful of guesses an hour, while the
/// real user, who stops after a failure or two, is never locked out. Failures are kept in the
/// database, so a restart or a second instance does not reset them.
pub mod throttle {
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};
    use tsunagu_store::{Store, StoreError};

    const WINDOW: SignedDuration = SignedDuration::from_mins(15);
    const FREE_PER_ACCOUNT: usize = 5;
    const FREE_PER_ADDRESS: usize = 20;
    const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

    fn keys(account: &str, address: &str) -> [(String, usize); 2] {
        [
            (format!("a:{account}"), FREE_PER_ACCOUNT),
            (format!("ip:{address}"), FREE_PER_ADDRESS),
        ]
    }

    /// The wait `failures` (oldest first) impose at `now`, if any.
    pub fn delay_for(failures: &[Timestamp], free: usize, now: Timestamp) -> Option<Duration> {
        if failures.len() < free {
            return None;
        }
        let extra = u32::try_from(failures.len() - free)
            .unwrap_or(u32::MAX)
            .min(20);
        let delay = Duration::from_secs(1u64 << extra).min(MAX_DELAY);
        let ready = failures
            .last()?
            .checked_add(SignedDuration::try_from(delay).ok()?)
            .ok()?;
        (ready > now).then(|| Duration::try_from(ready.duration_since(now)).unwrap_or(delay))
    }

    /// How long the caller must still wait before another attempt, if at all.
    pub async fn wait(
        store: &Store,
        account: &str,
        address: &str,
    ) -> Result<Option<Duration>, StoreError> {
        let now = Timestamp::now();
        let since = now - WINDOW;
        let mut worst: Option<Duration> = None;
        for (key, free) in keys(account, address) {
            let failures = store.login_failures(&key, since).await?;
            if let Some(d) = delay_for(&failures, free, now) {
                worst = Some(worst.map_or(d, |w| w.max(d)));
            }
        }
        Ok(worst)
    }

    pub async fn failed(store: &Store, account: &str, address: &str) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let keys: Vec<String> = keys(account, address).into_iter().map(|(k, _)| k).collect();
        store.record_login_failure(&keys, now, now - WINDOW).await
    }

    pub async fn succeeded(store: &Store, account: &str) -> Result<(), StoreError> {
        store.clear_login_failures(&format!("a:{account}")).await
    }
}

// --- the client ---------------------------------------------------------------------------------

/// Where a request came from: the client's address and whether it came over HTTPS. Behind a
/// trusted reverse proxy (`AppState::network`) these are read from `X-Forwarded-For` (the
/// rightmost address that is not itself a trusted proxy) and `X-Forwarded-Proto`; from anyone
/// else those headers are ignored.
#[derive(Clone, Debug)]
pub struct Client {
    pub address: String,
    pub https: bool,
}

impl Client {
    pub fn of(parts: &Parts, network: &crate::Network) -> Client {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        let Some(peer) = peer else {
            return Client {
                address: String::new(),
                https: false,
            };
        };
        if !network.trusts(peer) {
            return Client {
                address: peer.to_string(),
                https: false,
            };
        }
        let header = |name: &str| {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        let forwarded = header("x-forwarded-for");
        let address = forwarded
            .split(',')
            .rev()
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .find(|a| !network.trusts(*a))
            .unwrap_or(peer);
        let https = header("x-forwarded-proto")
            .split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        Client {
            address: address.to_string(),
            https,
        }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client::of(parts, &state.network))
    }
}

// --- the authenticated request ------------------------------------------------------------------

/// The authenticated user of a request: the [`Caller`] the use cases see (reached through
/// `Deref`), and what only authentication needs — the account, the session or token grant.
/// `Debug` leaves out the account's secrets.
#[derive(Clone)]
pub struct Auth {
    pub caller: Caller,
    pub user: User,
    /// The session, when the request came with the session cookie.
    pub session: Option<Session>,
    /// The token grant, when the request came with a bearer token.
    pub token: Option<TokenGrant>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("caller", &self.caller)
            .field("session", &self.session.as_ref().map(|s| &s.id))
            .field("token", &self.token.as_ref().map(|t| t.token_id))
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Auth {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl Auth {
    pub(crate) fn new(
        actor: Actor,
        user: User,
        settings: TenantSettings,
        session: Option<Session>,
        token: Option<TokenGrant>,
        address: Option<String>,
    ) -> Auth {
        let audit_session = session
            .as_ref()
            .map(|s| s.id.clone())
            .or_else(|| token.as_ref().map(|t| format!("token:{}", t.token_id)));
        Auth {
            caller: Caller {
                actor,
                settings,
                session: audit_session,
                address,
            },
            user,
            session,
            token,
        }
    }
}

/// The user as an actor of their organisation, unless disabled or orphaned.
pub async fn actor_for(
    store: &Store,
    user: User,
    role: Role,
) -> Result<Option<(Actor, User, TenantSettings)>, ApiError> {
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
    Ok(Some((
        Actor {
            tenant_id: user.tenant_id,
            user_id: user.id,
            org_id: org.id,
            org_kind: org.kind,
            role,
        },
        user,
        tenant.settings,
    )))
}

fn session_expired() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.session_expired",
        "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
    )
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let now = jiff::Timestamp::now();
        let address = Some(Client::of(parts, &state.network).address).filter(|a| !a.is_empty());
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            let grant = state
                .store
                .api_token(&token_hash(token))
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            let user = state
                .store
                .user(grant.user_id)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            // A token is bound to the organisation it was issued for.
            if user.org_id != grant.org_id {
                return Err(ApiError::unauthenticated());
            }
            if grant.expires_at <= now {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "auth.token_expired",
                    "APIトークンの有効期限が切れています。新しいトークンを発行してください。",
                ));
            }
            // Privileges are read at every request: never more than the user has today.
            let role = tsunagu_core::policy::token_role(grant.role, user.role)
                .ok_or_else(ApiError::unauthenticated)?;
            let (actor, user, settings) = actor_for(&state.store, user, role)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            if grant
                .last_used_at
                .is_none_or(|t| now.duration_since(t) > jiff::SignedDuration::from_secs(60))
            {
                state.store.touch_api_token(grant.token_id, now).await?;
            }
            return Ok(Auth::new(actor, user, settings, None, Some(grant), address));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        let session = state
            .store
            .session(&token_hash(cookie.value()), now)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let user = state
            .store
            .user(session.user_id)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let role = user.role;
        let (actor, user, settings) = actor_for(&state.store, user, role)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let idle = jiff::SignedDuration::from_mins(i64::from(settings.session_idle_minutes));
        if now.duration_since(session.last_seen_at) > idle {
            return Err(session_expired());
        }
        // Inside nested routers `parts.uri` lacks the prefix; the original URI has it.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
        if session.totp_setup_only && !TOTP_SETUP_PATHS.contains(&path.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "auth.totp_setup_required",
                "二要素認証の設定が必要です。認証アプリを登録してから操作してください。",
            ));
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if session.csrf_token.is_empty()
                || !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes())
            {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "auth.csrf",
                    "画面の有効期限が切れました。ページを再読み込みしてからやり直してください。",
                ));
            }
        }
        // Record activity at most once a minute.
        if now.duration_since(session.last_seen_at) > jiff::SignedDuration::from_secs(60) {
            state.store.touch_session(&session.id, now).await?;
        }
        Ok(Auth::new(
            actor,
            user,
            settings,
            Some(session),
            None,
            address,
        ))
    }
}
