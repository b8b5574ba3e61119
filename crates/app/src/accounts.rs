//! The caller's own account and the account rules every surface shares: the password policy
//! (the API, the pages and the CLI refuse the same passwords) and hash, the second factor's
//! enrolment, sessions and API tokens. Administrators can list and end another user's sessions
//! and tokens and reset a lost second factor (through `access::administer`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use serde::Serialize;
use tsunagu_core::{OrgId, OrgKind, Role, TenantId, UserId};
use tsunagu_store::{ApiToken, Basis, Session, TokenInfo};
use uuid::Uuid;

use crate::auth::{self, Authenticated};
use crate::{App, Error, Kind, Result, access, admin};

pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a password a user is about to set.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password.too_short",
            format!("パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。"),
        ));
    }
    // NIST SP 800-63B: no composition rules, but refuse what attackers try first. zxcvbn
    // knows the 30,000 most common leaked passwords, keyboard walks, repeats, sequences and
    // dates (with l33t and reversed variants); score 0–1 means guessable in under 10^6 tries.
    let estimate = zxcvbn::zxcvbn(password, &[]);
    if u8::from(estimate.score()) <= 1 {
        return Err(Error::invalid(
            "password.too_common",
            "このパスワードはよく使われていて推測されやすいため使えません。長めの文やフレーズにしてください。",
        ));
    }
    Ok(())
}

/// An argon2id hash of the password with a fresh salt.
pub fn hash_password(password: &str) -> std::result::Result<String, String> {
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

/// Hashes a password off the async threads (argon2id takes tens of milliseconds).
pub async fn hash_password_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| Error::internal())?
        .map_err(|_| Error::internal())
}

// --- who am I -----------------------------------------------------------------------------------

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

impl Me {
    pub fn of(me: &Authenticated) -> Me {
        Me {
            user_id: me.user.id,
            login: me.user.login.clone(),
            display_name: me.user.display_name.clone(),
            role: me.actor.role,
            org_id: me.actor.org_id,
            org_kind: me.actor.org_kind,
            tenant_id: me.actor.tenant_id,
            totp_enabled: me.user.totp_confirmed,
            totp_setup_required: me.totp_setup_only(),
            csrf_token: me.session.as_ref().map(|s| s.csrf_token.clone()),
        }
    }
}

// --- Passwords ----------------------------------------------------------------------------------

/// A password change by its owner: the current password, then a new one under the policy.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's own password (not through an API token). The current password must
/// be given; the new one meets the policy. Every session and API token of the user ends (the
/// store's rule for a changed password), this one too: a session someone else opened with the
/// old password does not outlive it, and the user logs in again with the new one.
pub async fn change_password(app: &App, me: &Authenticated, req: PasswordChange) -> Result<()> {
    if me.token.is_some() {
        return Err(Error::forbidden());
    }
    let hash = me.user.password_hash.clone().unwrap_or_default();
    let current = req.current_password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .map_err(|_| Error::internal())?;
    if !ok {
        app.store
            .audit(&[me.audit("password.change_refused").detail("current_wrong")])
            .await?;
        return Err(Error::invalid(
            "password.current_wrong",
            "現在のパスワードが違います。",
        ));
    }
    check_new_password(&req.new_password)?;
    let new_hash = hash_password_blocking(req.new_password).await?;
    app.store
        .set_password_hash(me.user.id, &new_hash, &me.audit("password.changed"))
        .await?;
    Ok(())
}

/// Ends every session of the caller but this one.
pub async fn end_other_sessions(app: &App, me: &Authenticated) -> Result<()> {
    let current = me.session.as_ref().map(|s| s.id.as_str());
    for s in app
        .store
        .sessions_of(me.user.id, jiff::Timestamp::now())
        .await?
    {
        if Some(s.id.as_str()) != current {
            app.store
                .revoke_sessions(
                    me.user.id,
                    Some(&s.id),
                    &me.audit("session.revoked").object("session", &s.id),
                )
                .await?;
        }
    }
    Ok(())
}

/// An administrator sets a new password for a user who lost theirs (policy applies); all the
/// user's sessions and API tokens end (the store's rule for a changed password). The
/// administrator tells the user the password out of band.
pub async fn reset_password(
    app: &App,
    me: &Authenticated,
    id: UserId,
    password: String,
) -> Result<()> {
    access::administer(me)?;
    let user = admin::tenant_user(app, me, id).await?;
    if user.id == me.user.id {
        return Err(Error::invalid(
            "password.reset_self",
            "自分のパスワードは「アカウント」のページで、現在のパスワードを入れて変更してください。",
        ));
    }
    check_new_password(&password)?;
    let hash = hash_password_blocking(password).await?;
    app.store
        .set_password_hash(
            user.id,
            &hash,
            &me.audit("password.reset")
                .object("user", user.id)
                .basis(Basis::Administration),
        )
        .await?;
    Ok(())
}

// --- TOTP ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpSetup {
    /// Base32 secret, for manual entry in the authenticator app.
    pub secret: String,
    /// `otpauth://` URI (for a QR code).
    pub otpauth_url: String,
}

/// Starts enrolling a second factor: a new secret, sealed at rest, not yet in force.
pub async fn start_totp(app: &App, me: &Authenticated) -> Result<TotpSetup> {
    if me.token.is_some() {
        return Err(Error::forbidden());
    }
    if me.user.totp_confirmed {
        return Err(Error::new(
            Kind::Conflict,
            "totp.already_enabled",
            "二要素認証はすでに設定されています。設定し直す場合は管理者にリセットを依頼してください。",
        ));
    }
    let secret = auth::new_totp_secret();
    let totp = auth::totp(&secret, &me.user.login).ok_or_else(Error::internal)?;
    let sealed = app.secrets.seal(&secret).map_err(|_| Error::internal())?;
    app.store
        .set_totp(
            me.user.id,
            Some(&sealed),
            false,
            &me.audit("totp.enrolment_started"),
        )
        .await?;
    Ok(TotpSetup {
        otpauth_url: totp.get_url(),
        secret,
    })
}

/// An enrolment started and not yet confirmed: its secret again, so the page can show it
/// until the user confirms a code (the secret stays sealed at rest).
pub async fn pending_totp(app: &App, me: &Authenticated) -> Result<Option<TotpSetup>> {
    let Some(sealed) = me
        .user
        .totp_secret
        .as_deref()
        .filter(|_| !me.user.totp_confirmed && me.token.is_none())
    else {
        return Ok(None);
    };
    let secret = app.secrets.open(sealed).ok_or_else(Error::internal)?;
    let totp = auth::totp(&secret, &me.user.login).ok_or_else(Error::internal)?;
    Ok(Some(TotpSetup {
        otpauth_url: totp.get_url(),
        secret,
    }))
}

/// Confirms the second factor with a code from the app; the session is no longer setup-only.
pub async fn confirm_totp(app: &App, mut me: Authenticated, code: &str) -> Result<Me> {
    let Some(sealed) = me
        .user
        .totp_secret
        .clone()
        .filter(|_| !me.user.totp_confirmed)
    else {
        return Err(Error::invalid(
            "totp.not_started",
            "先に二要素認証の登録を開始してください。",
        ));
    };
    let secret = app.secrets.open(&sealed).ok_or_else(Error::internal)?;
    let now_secs = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let Some(step) = auth::totp_step(&secret, &me.user.login, code, now_secs) else {
        return Err(Error::invalid(
            "totp.invalid_code",
            "確認コードが違います。認証アプリの時刻が正しいか確かめて、表示中のコードを入力してください。",
        ));
    };
    app.store
        .set_totp(me.user.id, Some(&sealed), true, &me.audit("totp.enabled"))
        .await?;
    app.store.use_totp_step(me.user.id, step).await?;
    me.user.totp_confirmed = true;
    if let Some(s) = &mut me.session {
        s.totp_setup_only = false;
    }
    Ok(Me::of(&me))
}

/// An administrator removes a user's second factor (lost phone); the user enrols again at the
/// next login, and all their sessions end.
pub async fn reset_totp(app: &App, me: &Authenticated, id: UserId) -> Result<()> {
    access::administer(me)?;
    let user = admin::tenant_user(app, me, id).await?;
    let entry = me
        .audit("totp.reset")
        .object("user", user.id)
        .basis(Basis::Administration);
    app.store.set_totp(user.id, None, false, &entry).await?;
    app.store
        .revoke_sessions(
            user.id,
            None,
            &me.audit("sessions.revoked").object("user", user.id),
        )
        .await?;
    Ok(())
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

fn session_views(me: &Authenticated, sessions: Vec<Session>) -> Vec<SessionView> {
    let idle = jiff::SignedDuration::from_mins(i64::from(me.settings.session_idle_minutes));
    let now = jiff::Timestamp::now();
    sessions
        .into_iter()
        .filter(|s| now.duration_since(s.last_seen_at) <= idle)
        .map(|s| SessionView {
            current: me.session.as_ref().is_some_and(|c| c.id == s.id),
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            address: s.address,
        })
        .collect()
}

/// The live sessions of the caller, or (`Some(user)`, administrators) of a user of the tenant.
pub async fn sessions(
    app: &App,
    me: &Authenticated,
    of: Option<UserId>,
) -> Result<Vec<SessionView>> {
    let user = match of {
        None => me.user.id,
        Some(id) => {
            access::administer(me)?;
            admin::tenant_user(app, me, id).await?.id
        }
    };
    let sessions = app.store.sessions_of(user, jiff::Timestamp::now()).await?;
    Ok(session_views(me, sessions))
}

/// Ends one of the caller's sessions (404 when it is not theirs or already ended).
pub async fn end_session(app: &App, me: &Authenticated, id: &str) -> Result<()> {
    let n = app
        .store
        .revoke_sessions(
            me.user.id,
            Some(id),
            &me.audit("session.revoked").object("session", id),
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found());
    }
    Ok(())
}

/// Ends every session of the caller (after leaving a shared computer logged in), or
/// (`Some(user)`, administrators) of a user of the tenant.
pub async fn end_sessions(app: &App, me: &Authenticated, of: Option<UserId>) -> Result<()> {
    match of {
        None => {
            app.store
                .revoke_sessions(me.user.id, None, &me.audit("sessions.revoked"))
                .await?;
        }
        Some(id) => {
            access::administer(me)?;
            let user = admin::tenant_user(app, me, id).await?;
            app.store
                .revoke_sessions(
                    user.id,
                    None,
                    &me.audit("sessions.revoked")
                        .object("user", user.id)
                        .basis(Basis::Administration),
                )
                .await?;
        }
    }
    Ok(())
}

// --- API tokens ---------------------------------------------------------------------------------

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

/// A new API token of the caller, acting for their organisation in `role` (default: their
/// own), expiring after the tenant's `token_days`.
pub async fn create_token(
    app: &App,
    me: &Authenticated,
    label: &str,
    role: Option<Role>,
) -> Result<TokenCreated> {
    if me.token.is_some() {
        // A token cannot mint tokens.
        return Err(Error::forbidden());
    }
    let role = role.unwrap_or(me.actor.role);
    // No escalation through delegation: only a role whose every access the caller has.
    if !tsunagu_core::policy::role_covers(me.actor.role, role) {
        return Err(Error::invalid(
            "token.role_too_high",
            "自分の権限より強い権限のトークンは作れません。",
        ));
    }
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Error::invalid(
            "token.invalid_label",
            "トークンの用途を1〜100文字で入力してください。",
        ));
    }
    let (token, hash) = auth::new_token("tsu_");
    let id = Uuid::now_v7();
    let created_at = jiff::Timestamp::now();
    let expires_at = created_at
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(me.settings.token_days),
        ))
        .map_err(|_| Error::internal())?;
    app.store
        .create_api_token(
            &ApiToken {
                id,
                token_hash: hash,
                user_id: me.user.id,
                org_id: me.actor.org_id,
                role,
                label: label.to_owned(),
                created_at,
                expires_at,
            },
            &me.audit("token.created").object("token", id),
        )
        .await?;
    Ok(TokenCreated {
        id,
        token,
        org_id: me.actor.org_id,
        role,
        expires_at,
    })
}

/// The caller's tokens, or (`Some(user)`, administrators) a user's of the tenant.
pub async fn tokens(app: &App, me: &Authenticated, of: Option<UserId>) -> Result<Vec<TokenInfo>> {
    let user = match of {
        None => me.user.id,
        Some(id) => {
            access::administer(me)?;
            admin::tenant_user(app, me, id).await?.id
        }
    };
    Ok(app.store.api_tokens_of(user).await?)
}

/// Revokes a token of the caller, or (`Some(user)`, administrators) a user's; 404 when there
/// is no such live token.
pub async fn revoke_token(
    app: &App,
    me: &Authenticated,
    of: Option<UserId>,
    token: Uuid,
) -> Result<()> {
    let done = match of {
        None => {
            app.store
                .revoke_api_token(
                    me.user.id,
                    token,
                    &me.audit("token.revoked").object("token", token),
                )
                .await?
        }
        Some(id) => {
            access::administer(me)?;
            let user = admin::tenant_user(app, me, id).await?;
            app.store
                .revoke_api_token(
                    user.id,
                    token,
                    &me.audit("token.revoked")
                        .object("token", token)
                        .basis(Basis::Administration),
                )
                .await?
        }
    };
    if done {
        Ok(())
    } else {
        Err(Error::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_passwords_are_refused_and_a_phrase_is_not() {
        assert_eq!(
            check_new_password("abc").map_err(|e| e.code),
            Err("password.too_short".to_owned())
        );
        assert_eq!(
            check_new_password("password1").map_err(|e| e.code),
            Err("password.too_common".to_owned())
        );
        assert!(check_new_password("つなぐ支援の長い合言葉2026").is_ok());
    }
}
