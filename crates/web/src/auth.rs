//! Authentication at the HTTP edge: the session cookie and its CSRF token, the bearer header,
//! the client's address behind trusted proxies, and which paths a session that still has to
//! enrol its second factor may use. Who the caller is comes from `tsunagu_app::auth` (one read
//! of the session or token, one of the user with their organisation and tenant).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum_extra::extract::CookieJar;
use tsunagu_app::auth::{Authenticated, constant_time_eq};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "tsunagu_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Paths a session that still has to enrol its second factor may use.
pub const TOTP_SETUP_PATHS: [&str; 6] = [
    "/api/me",
    "/api/me/totp",
    "/api/me/totp/confirm",
    "/api/logout",
    "/account",
    "/logout",
];

/// The password rules and the token and TOTP primitives live with the use cases, so the API,
/// the pages and the CLI apply the same ones.
pub use tsunagu_app::accounts::{MIN_PASSWORD_CHARS, hash_password, verify_password};
pub use tsunagu_app::auth::{
    SESSION_HOURS, new_token, new_totp_secret, token_hash, totp, totp_step,
};

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

/// The authenticated caller of a request (`tsunagu_app::auth::Authenticated`, reached through
/// `Deref`, and through it the [`tsunagu_app::Caller`] the use cases see).
#[derive(Clone, Debug)]
pub struct Auth(pub Authenticated);

impl std::ops::Deref for Auth {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl std::ops::DerefMut for Auth {
    fn deref_mut(&mut self) -> &mut Authenticated {
        &mut self.0
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = Some(Client::of(parts, &state.network).address).filter(|a| !a.is_empty());
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            return Ok(Auth(
                tsunagu_app::auth::by_token(state, token, address).await?,
            ));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        let me = tsunagu_app::auth::by_session(state, cookie.value(), address).await?;
        let session = me.session.as_ref().ok_or_else(ApiError::unauthenticated)?;
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
        tsunagu_app::auth::keep_alive(state, &me).await?;
        Ok(Auth(me))
    }
}
