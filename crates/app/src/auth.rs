//! Authentication: who a request is. A session (from the cookie's token) or a bearer API token
//! becomes an [`Authenticated`] caller in two reads — the session or token, then the user with
//! their organisation's kind and their tenant's settings (`Store::member`). Login checks the
//! argon2id password and the TOTP second factor, throttles failures per account and per client
//! address (kept in the database, so a restart resets nothing) and audits every attempt.
//! Tokens are random; only their SHA-256 is stored. The HTTP parts (cookie, CSRF header, which
//! paths a setup-only session may use) stay with the web surface.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tsunagu_core::{Actor, Role, TenantSettings};
use tsunagu_store::{AuditEntry, Member, Session, Store, StoreError, TokenGrant, User};
use uuid::Uuid;

use crate::accounts::verify_password;
use crate::{App, Caller, Error, Kind, Result};

/// How long a session lives at most, however active (its idle timeout is a tenant setting).
pub const SESSION_HOURS: i64 = 12;

/// The authenticated caller of a request: the [`Caller`] the use cases see (reached through
/// `Deref`), and what only account use cases need — the account, the session or token grant.
/// `Debug` leaves out the account's secrets (password hash, sealed TOTP secret).
#[derive(Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub user: User,
    /// The session, when the request came with a session.
    pub session: Option<Session>,
    /// The token grant, when the request came with a bearer token.
    pub token: Option<TokenGrant>,
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("caller", &self.caller)
            .field("session", &self.session.as_ref().map(|s| &s.id))
            .field("token", &self.token.as_ref().map(|t| t.token_id))
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Authenticated {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl Authenticated {
    pub fn new(
        actor: Actor,
        user: User,
        settings: TenantSettings,
        session: Option<Session>,
        token: Option<TokenGrant>,
        address: Option<String>,
    ) -> Authenticated {
        let audit_session = session
            .as_ref()
            .map(|s| s.id.clone())
            .or_else(|| token.as_ref().map(|t| format!("token:{}", t.token_id)));
        Authenticated {
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

    /// Whether this session may only enrol a second factor.
    pub fn totp_setup_only(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.totp_setup_only)
    }
}

/// The member as an actor of their organisation in `role`, unless the account is disabled.
fn actor_of(member: Member, role: Role) -> Option<(Actor, User, TenantSettings)> {
    let Member {
        user,
        org_kind,
        settings,
    } = member;
    if user.disabled {
        return None;
    }
    let actor = Actor {
        tenant_id: user.tenant_id,
        user_id: user.id,
        org_id: user.org_id,
        org_kind,
        role,
    };
    Some((actor, user, settings))
}

/// A user acting from the server's command line (`tsunagu import`): whoever runs it already
/// holds the database, so no password is asked; the user must exist and not be disabled, and
/// the audit trail records them with the session `cli`.
pub async fn cli_caller(app: &App, login: &str) -> Result<Caller> {
    let unknown = || {
        Error::invalid(
            "cli.user_unknown",
            "そのログインIDの利用者はいません（または無効です）。",
        )
    };
    let user = app.store.user_by_login(login).await?.ok_or_else(unknown)?;
    let member = app.store.member(user.id).await?.ok_or_else(unknown)?;
    let role = member.user.role;
    let (actor, _, settings) = actor_of(member, role).ok_or_else(unknown)?;
    Ok(Caller {
        actor,
        settings,
        session: Some("cli".into()),
        address: None,
    })
}

// --- tokens and the second factor -----------------------------------------------------------

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

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

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
    use super::*;

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
    ) -> std::result::Result<Option<Duration>, StoreError> {
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

    pub async fn failed(
        store: &Store,
        account: &str,
        address: &str,
    ) -> std::result::Result<(), StoreError> {
        let now = Timestamp::now();
        let keys: Vec<String> = keys(account, address).into_iter().map(|(k, _)| k).collect();
        store.record_login_failure(&keys, now, now - WINDOW).await
    }

    pub async fn succeeded(store: &Store, account: &str) -> std::result::Result<(), StoreError> {
        store.clear_login_failures(&format!("a:{account}")).await
    }
}

// --- a request's caller -----------------------------------------------------------------------

fn unauthorized(code: &str, message: &str) -> Error {
    Error::new(Kind::Unauthenticated, code, message)
}

/// The caller of a request that came with a session token (the cookie's value): the live
/// session and its member, or 401. A session idle longer than the tenant allows is refused with
/// `auth.session_expired`. Activity is recorded by [`keep_alive`], which the surface calls once
/// the request passed its own checks.
pub async fn by_session(app: &App, token: &str, address: Option<String>) -> Result<Authenticated> {
    let now = Timestamp::now();
    let (session, member) = app
        .store
        .session_member(&token_hash(token), now)
        .await?
        .ok_or_else(Error::unauthenticated)?;
    let role = member.user.role;
    let (actor, user, settings) = actor_of(member, role).ok_or_else(Error::unauthenticated)?;
    let idle = SignedDuration::from_mins(i64::from(settings.session_idle_minutes));
    if now.duration_since(session.last_seen_at) > idle {
        return Err(unauthorized(
            "auth.session_expired",
            "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
        ));
    }
    Ok(Authenticated::new(
        actor,
        user,
        settings,
        Some(session),
        None,
        address,
    ))
}

/// Records a session's activity (at most once a minute), so its idle time starts again. A
/// surface calls it only after the request passed the surface's own checks (the CSRF token of
/// a state change): a forged request keeps no session alive.
pub async fn keep_alive(app: &App, me: &Authenticated) -> Result<()> {
    let Some(session) = &me.session else {
        return Ok(());
    };
    let now = Timestamp::now();
    if now.duration_since(session.last_seen_at) > SignedDuration::from_secs(60) {
        app.store.touch_session(&session.id, now).await?;
    }
    Ok(())
}

/// The caller of a request that came with a bearer API token, or 401. Privileges are read at
/// every request: the token acts as the lower of its role and the user's role today, and only
/// for the organisation it was issued for.
pub async fn by_token(app: &App, token: &str, address: Option<String>) -> Result<Authenticated> {
    let now = Timestamp::now();
    let grant = app
        .store
        .api_token(&token_hash(token))
        .await?
        .ok_or_else(Error::unauthenticated)?;
    let member = app
        .store
        .member(grant.user_id)
        .await?
        .ok_or_else(Error::unauthenticated)?;
    if member.user.org_id != grant.org_id {
        return Err(Error::unauthenticated());
    }
    if grant.expires_at <= now {
        return Err(unauthorized(
            "auth.token_expired",
            "APIトークンの有効期限が切れています。新しいトークンを発行してください。",
        ));
    }
    let role = tsunagu_core::policy::token_role(grant.role, member.user.role)
        .ok_or_else(Error::unauthenticated)?;
    let (actor, user, settings) = actor_of(member, role).ok_or_else(Error::unauthenticated)?;
    if grant
        .last_used_at
        .is_none_or(|t| now.duration_since(t) > SignedDuration::from_secs(60))
    {
        app.store.touch_api_token(grant.token_id, now).await?;
    }
    Ok(Authenticated::new(
        actor,
        user,
        settings,
        None,
        Some(grant),
        address,
    ))
}

// --- login and logout -------------------------------------------------------------------------

/// What a login asks.
#[derive(Debug)]
pub struct Login {
    pub login: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, once TOTP is set up.
    pub totp: Option<String>,
}

/// A hash to verify against when the login is unknown, so both paths take the same time.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::accounts::hash_password("not-a-real-password").unwrap_or_default()
});

/// Checks the password (and the second factor), throttles failures, audits every attempt and
/// opens a session. Returns the session token (for the cookie; only its hash is stored) and
/// the signed-in caller.
pub async fn sign_in(app: &App, address: &str, req: Login) -> Result<(String, Authenticated)> {
    let login = req.login.trim().to_owned();
    let user = app.store.user_by_login(&login).await?;
    let attempt = |action: &str| {
        let mut e = AuditEntry::new(action);
        e.address = Some(address.to_owned());
        if let Some(u) = &user {
            e.tenant_id = Some(u.tenant_id);
            e.user_id = Some(u.id);
            e.org_id = Some(u.org_id);
        }
        e
    };
    if let Some(wait) = throttle::wait(&app.store, &login, address).await? {
        app.store.audit(&[attempt("login.throttled")]).await?;
        let secs = wait.as_secs().max(1);
        let mut e = Error::new(
            Kind::Throttled,
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
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let invalid = || {
        unauthorized(
            "auth.invalid_credentials",
            "ログインIDまたはパスワードが違います。",
        )
    };
    let fail = async |action: &str| -> Result<AuditEntry> {
        throttle::failed(&app.store, &login, address).await?;
        Ok(attempt(action))
    };
    let member = match user.as_ref().filter(|u| ok && !u.disabled) {
        Some(u) => app.store.member(u.id).await?,
        None => None,
    };
    let Some((actor, user, settings)) = member.and_then(|m| {
        let role = m.user.role;
        actor_of(m, role)
    }) else {
        app.store.audit(&[fail("login.failed").await?]).await?;
        return Err(invalid());
    };
    let now = Timestamp::now();
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
        let accepted = match totp_step(&secret, &user.login, code, now_secs) {
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
    throttle::succeeded(&app.store, &login).await?;
    // A fresh token at every login: a session id known before login is worthless after it.
    let (token, hash) = new_token("");
    let (csrf, _) = new_token("");
    let expires = now
        .checked_add(SignedDuration::from_hours(SESSION_HOURS))
        .map_err(|_| Error::internal())?;
    let session = Session {
        id: Uuid::now_v7().to_string(),
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        expires_at: expires,
        address: Some(address.to_owned()),
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
    entry.address = Some(address.to_owned());
    app.store.create_session(&hash, &session, &entry).await?;
    let me = Authenticated::new(actor, user, settings, Some(session), None, None);
    Ok((token, me))
}

/// Ends the caller's session (a token has none to end).
pub async fn sign_out(app: &App, me: &Authenticated) -> Result<()> {
    if let Some(s) = &me.session {
        app.store
            .revoke_sessions(me.user.id, Some(&s.id), &me.audit("logout"))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_after_the_free_failures_and_ends() {
        let now = Timestamp::now();
        let at = |secs: i64| now - SignedDuration::from_secs(secs);
        assert_eq!(throttle::delay_for(&[at(1), at(1)], 3, now), None);
        let three = [at(0), at(0), at(0)];
        assert_eq!(
            throttle::delay_for(&three, 3, now),
            Some(Duration::from_secs(1))
        );
        let five = [at(10), at(10), at(10), at(10), at(10)];
        assert_eq!(throttle::delay_for(&five, 3, now), None);
        assert!(throttle::delay_for(&[at(1); 5], 3, now).is_some());
    }
}
