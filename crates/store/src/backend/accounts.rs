//! Tenants, organisations, users, sessions, API tokens and login failures.

use super::*;

impl Db {
    /// The failed logins recorded under `key` since `since`, oldest first.
    pub async fn login_failures(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let rows = query("SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at")
            .bind(key)
            .bind(crate::audit::timestamp_text(since))
            .fetch_all(self.read.ex())
            .await?;
        rows.iter()
            .map(|r| parse_ts(&r.try_get::<String, _>("at")?))
            .collect()
    }

    /// Records a failed login under each key, and forgets failures older than `forget_before`.
    pub async fn record_login_failure(
        &self,
        keys: &[String],
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query("DELETE FROM login_failures WHERE at < $1")
            .bind(crate::audit::timestamp_text(forget_before))
            .execute(tx.ex())
            .await?;
        for key in keys {
            query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(crate::audit::timestamp_text(at))
                .execute(tx.ex())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(tx.ex())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_tenant(&self, t: &Tenant, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO tenants (id, name, settings, is_demo, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(t.id.to_string())
        .bind(&t.name)
        .bind(json(&t.settings)?)
        .bind(t.is_demo)
        .bind(Timestamp::now().to_string())
        .execute(tx.ex())
        .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows = query("SELECT id, name, settings, is_demo FROM tenants ORDER BY created_at")
            .fetch_all(self.read.ex())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Tenant {
                    id: TenantId(parse_uuid(&row.try_get::<String, _>("id")?)?),
                    name: row.try_get("name")?,
                    settings: from_json(&row.try_get::<String, _>("settings")?)?,
                    is_demo: row.try_get("is_demo")?,
                })
            })
            .collect()
    }

    pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let row = query("SELECT id, name, settings, is_demo FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.read.ex())
            .await?;
        row.map(|row| {
            Ok(Tenant {
                id,
                name: row.try_get("name")?,
                settings: from_json(&row.try_get::<String, _>("settings")?)?,
                is_demo: row.try_get("is_demo")?,
            })
        })
        .transpose()
    }

    /// A user with what a request needs of their organisation and tenant, in one
    /// read: `None` when the user, or their organisation, does not exist.
    /// A live session and its member in one statement: the session by its token's hash
    /// (not revoked, not expired), its user joined with their organisation and tenant.
    pub async fn session_member(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(Session, Member)>, StoreError> {
        let row = query(
            "SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.address, \
             s.totp_setup_only, s.csrf_token, u.tenant_id, u.org_id, u.login, u.display_name, \
             u.role, u.password_hash, u.disabled, u.totp_secret, u.totp_confirmed, \
             o.kind AS org_kind, t.settings \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN organisations o ON o.id = u.org_id AND o.tenant_id = u.tenant_id \
             JOIN tenants t ON t.id = u.tenant_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.read.ex())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session = session_from_row(&row)?;
        if session.expires_at <= now {
            return Ok(None);
        }
        let member = member_from_row(&row, "user_id")?;
        Ok(Some((session, member)))
    }

    pub async fn member(&self, id: UserId) -> Result<Option<Member>, StoreError> {
        let row = query(
            "SELECT u.id, u.tenant_id, u.org_id, u.login, u.display_name, u.role, u.password_hash, \
             u.disabled, u.totp_secret, u.totp_confirmed, o.kind AS org_kind, t.settings \
             FROM users u JOIN organisations o ON o.id = u.org_id AND o.tenant_id = u.tenant_id \
             JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.read.ex())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(member_from_row(&row, "id")?))
    }

    pub async fn update_tenant_settings(
        &self,
        id: TenantId,
        settings: &TenantSettings,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = query("UPDATE tenants SET settings = $1 WHERE id = $2")
            .bind(json(settings)?)
            .bind(id.to_string())
            .execute(tx.ex())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_org(
        &self,
        org: &Organisation,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO organisations (id, tenant_id, name, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id.to_string())
        .bind(org.tenant_id.to_string())
        .bind(&org.name)
        .bind(org.kind.as_str())
        .bind(Timestamp::now().to_string())
        .execute(tx.ex())
        .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn orgs(&self, tenant: TenantId) -> Result<Vec<Organisation>, StoreError> {
        let rows = query(
            "SELECT id, name, kind FROM organisations WHERE tenant_id = $1 ORDER BY created_at, name",
        )
        .bind(tenant.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(Organisation {
                    id: OrgId(parse_uuid(&row.try_get::<String, _>("id")?)?),
                    tenant_id: tenant,
                    name: row.try_get("name")?,
                    kind: OrgKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown organisation kind {kind}"))
                    })?,
                })
            })
            .collect()
    }

    pub async fn create_user(&self, u: &User, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = query(
            "INSERT INTO users (id, tenant_id, org_id, login, display_name, role, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(u.id.to_string())
        .bind(u.tenant_id.to_string())
        .bind(u.org_id.to_string())
        .bind(&u.login)
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(u.disabled)
        .bind(Timestamp::now().to_string())
        .execute(tx.ex())
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Duplicate),
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.read.ex())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE login = $1"
        )))
        .bind(login)
        .fetch_optional(self.read.ex())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        let rows = query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY login"
        )))
        .bind(tenant.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// The tenant's staff as other pages name them: no login, hash or secret read.
    pub async fn staff(&self, tenant: TenantId) -> Result<Vec<StaffRow>, StoreError> {
        let rows = query(
            "SELECT id, org_id, display_name, role, disabled FROM users WHERE tenant_id = $1 ORDER BY login",
        )
        .bind(tenant.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(StaffRow {
                    id: UserId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                    org_id: OrgId(parse_uuid(&r.try_get::<String, _>("org_id")?)?),
                    display_name: r.try_get("display_name")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                    disabled: r.try_get("disabled")?,
                })
            })
            .collect()
    }

    /// Sets a new password and ends every session of the user (a changed credential
    /// must not leave old sessions alive).
    pub async fn set_password_hash(
        &self,
        user: UserId,
        hash: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user.to_string())
            .execute(tx.ex())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Self::revoke_all(&mut tx, user).await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session and revokes every API token of the user (a changed
    /// password, a suspension).
    pub(super) async fn revoke_all(tx: &mut Tx<'_>, user: UserId) -> Result<(), StoreError> {
        for table in ["sessions", "api_tokens"] {
            query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
            )))
            .bind(Timestamp::now().to_string())
            .bind(user.to_string())
            .execute(tx.ex())
            .await?;
        }
        Ok(())
    }

    /// Changes a user's name, organisation, role and disabled flag; disabling ends
    /// every session of the user in the same transaction.
    pub async fn update_user(&self, u: &User, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = query(
            "UPDATE users SET display_name = $1, org_id = $2, role = $3, disabled = $4 WHERE id = $5 AND tenant_id = $6",
        )
        .bind(&u.display_name)
        .bind(u.org_id.to_string())
        .bind(u.role.as_str())
        .bind(u.disabled)
        .bind(u.id.to_string())
        .bind(u.tenant_id.to_string())
        .execute(tx.ex())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if u.disabled {
            Self::revoke_all(&mut tx, u.id).await?;
        }
        // A token is issued for one organisation: moving the user revokes it for good.
        query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND org_id <> $3 AND revoked_at IS NULL")
            .bind(Timestamp::now().to_string())
            .bind(u.id.to_string())
            .bind(u.org_id.to_string())
            .execute(tx.ex())
            .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts (secret, unconfirmed), confirms or removes (None) a user's TOTP.
    pub async fn set_totp(
        &self,
        user: UserId,
        secret: Option<&str>,
        confirmed: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query("UPDATE users SET totp_secret = $1, totp_confirmed = $2, totp_last_step = NULL WHERE id = $3")
            .bind(secret)
            .bind(confirmed)
            .bind(user.to_string())
            .execute(tx.ex())
            .await?;
        if confirmed {
            // Sessions opened only to enrol now become full sessions.
            query("UPDATE sessions SET totp_setup_only = $1 WHERE user_id = $2")
                .bind(false)
                .bind(user.to_string())
                .execute(tx.ex())
                .await?;
        }
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accepts a TOTP time step once: a code cannot be replayed.
    pub async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
        let done = query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(to_i64(step))
        .bind(user.to_string())
        .execute(self.write.ex())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        s: &Session,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO sessions (token_hash, id, user_id, created_at, last_seen_at, expires_at, address, totp_setup_only, csrf_token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token_hash)
        .bind(&s.id)
        .bind(s.user_id.to_string())
        .bind(s.created_at.to_string())
        .bind(s.last_seen_at.to_string())
        .bind(s.expires_at.to_string())
        .bind(&s.address)
        .bind(s.totp_setup_only)
        .bind(&s.csrf_token)
        .execute(tx.ex())
        .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live (not revoked, not past its absolute lifetime) session of a token.
    pub async fn touch_session(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now.to_string())
            .bind(id)
            .execute(self.write.ex())
            .await?;
        Ok(())
    }

    /// The user's live sessions, newest first.
    pub async fn sessions_of(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<Session>, StoreError> {
        let rows = query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
        )))
        .bind(user.to_string())
        .fetch_all(self.read.ex())
        .await?;
        let all = rows
            .iter()
            .map(session_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(all.into_iter().filter(|s| s.expires_at > now).collect())
    }

    /// Ends one session of a user (by id), or all of them (None).
    pub async fn revoke_sessions(
        &self,
        user: UserId,
        id: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let done = query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND ($3 IS NULL OR id = $3) AND revoked_at IS NULL",
        )
        .bind(Timestamp::now().to_string())
        .bind(user.to_string())
        .bind(id)
        .execute(tx.ex())
        .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub async fn create_api_token(
        &self,
        t: &ApiToken,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        query(
            "INSERT INTO api_tokens (id, token_hash, user_id, org_id, role, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.id.to_string())
        .bind(&t.token_hash)
        .bind(t.user_id.to_string())
        .bind(t.org_id.to_string())
        .bind(t.role.as_str())
        .bind(&t.label)
        .bind(t.created_at.to_string())
        .bind(t.expires_at.to_string())
        .execute(tx.ex())
        .await?;
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn api_token(&self, token_hash: &str) -> Result<Option<TokenGrant>, StoreError> {
        let row = query(
            "SELECT id, user_id, org_id, role, created_at, expires_at, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.read.ex())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let (Some(org), Some(role)) = (
            r.try_get::<Option<String>, _>("org_id")?,
            r.try_get::<Option<String>, _>("role")?,
        ) else {
            // Tokens from before scoping carry no grant; they no longer work.
            return Ok(None);
        };
        let info = token_times(&r)?;
        Ok(Some(TokenGrant {
            token_id: parse_uuid(&r.try_get::<String, _>("id")?)?,
            user_id: UserId(parse_uuid(&r.try_get::<String, _>("user_id")?)?),
            org_id: OrgId(parse_uuid(&org)?),
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
            expires_at: info.1,
            last_used_at: info.2,
        }))
    }

    /// Records that a token was used (the caller limits this to once a minute).
    pub async fn touch_api_token(&self, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now.to_string())
            .bind(id.to_string())
            .execute(self.write.ex())
            .await?;
        Ok(())
    }

    /// A user's tokens, newest first, revoked ones included.
    pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = query(
            "SELECT id, label, org_id, role, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 AND org_id IS NOT NULL AND role IS NOT NULL ORDER BY created_at DESC",
        )
        .bind(user.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                let (created_at, expires_at, last_used_at) = token_times(r)?;
                Ok(TokenInfo {
                    id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                    label: r.try_get("label")?,
                    org_id: OrgId(parse_uuid(&r.try_get::<String, _>("org_id")?)?),
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                    created_at,
                    expires_at,
                    last_used_at,
                    revoked_at: r
                        .try_get::<Option<String>, _>("revoked_at")?
                        .map(|t| parse_ts(&t))
                        .transpose()?,
                })
            })
            .collect()
    }

    pub async fn revoke_api_token(
        &self,
        user: UserId,
        id: Uuid,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(Timestamp::now().to_string())
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(tx.ex())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        write_audit(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(super) fn user_from_row(row: &Row) -> Result<User, StoreError> {
    user_with_id(row, "id")
}

/// A member (user, organisation kind, tenant settings) from a row of the member join.
fn member_from_row(row: &Row, id: &str) -> Result<Member, StoreError> {
    let kind: String = row.try_get("org_kind")?;
    Ok(Member {
        user: user_with_id(row, id)?,
        org_kind: OrgKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown organisation kind {kind}")))?,
        settings: from_json(&row.try_get::<String, _>("settings")?)?,
    })
}

/// A user from a row whose user id is in column `id` (joined rows name it otherwise).
fn user_with_id(row: &Row, id: &str) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(parse_uuid(&row.try_get::<String, _>(id)?)?),
        tenant_id: TenantId(parse_uuid(&row.try_get::<String, _>("tenant_id")?)?),
        org_id: OrgId(parse_uuid(&row.try_get::<String, _>("org_id")?)?),
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_confirmed: row.try_get("totp_confirmed")?,
    })
}

pub(super) const USER_COLUMNS: &str = "id, tenant_id, org_id, login, display_name, role, password_hash, disabled, totp_secret, totp_confirmed";
pub(super) const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_seen_at, expires_at, address, totp_setup_only, csrf_token";

pub(super) fn session_from_row(row: &Row) -> Result<Session, StoreError> {
    let created_at = parse_ts(&row.try_get::<String, _>("created_at")?)?;
    Ok(Session {
        id: row.try_get::<Option<String>, _>("id")?.unwrap_or_default(),
        user_id: UserId(parse_uuid(&row.try_get::<String, _>("user_id")?)?),
        created_at,
        last_seen_at: row
            .try_get::<Option<String>, _>("last_seen_at")?
            .map(|s| parse_ts(&s))
            .transpose()?
            .unwrap_or(created_at),
        expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
        address: row.try_get("address")?,
        totp_setup_only: row.try_get("totp_setup_only")?,
        csrf_token: row
            .try_get::<Option<String>, _>("csrf_token")?
            .unwrap_or_default(),
    })
}

/// Created, expiry (legacy tokens: created + 90 days) and last use of a token row.
pub(super) fn token_times(
    r: &Row,
) -> Result<(Timestamp, Timestamp, Option<Timestamp>), StoreError> {
    let created = parse_ts(&r.try_get::<String, _>("created_at")?)?;
    let expires = match r.try_get::<Option<String>, _>("expires_at")? {
        Some(t) => parse_ts(&t)?,
        None => created
            .checked_add(jiff::SignedDuration::from_hours(24 * LEGACY_TOKEN_DAYS))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    };
    let used = r
        .try_get::<Option<String>, _>("last_used_at")?
        .map(|t| parse_ts(&t))
        .transpose()?;
    Ok((created, expires, used))
}
