//! Administration of a tenant: organisations, staff accounts, the tenant's settings and the
//! audit trail. Only administrators (auditors for the audit trail) pass `access`; every change
//! stays inside the caller's tenant and is audited with the administration basis.

use serde::{Deserialize, Serialize};
use tsunagu_core::{OrgId, OrgKind, Role, TenantSettings, UserId};
use tsunagu_store::{AuditQuery, Basis, ChainedRow, Organisation, StoreError, User};
use uuid::Uuid;

use crate::{App, Caller, Error, Kind, Result, access, accounts};

/// A user of the caller's tenant, or 404.
pub async fn tenant_user(app: &App, auth: &Caller, id: UserId) -> Result<User> {
    app.store
        .user(id)
        .await?
        .filter(|u| u.tenant_id == auth.actor.tenant_id)
        .ok_or_else(Error::not_found)
}

fn invalid(code: &str, message: &str) -> Error {
    Error::invalid(code, message)
}

fn checked_name(name: &str, code: &str, message: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(code, message));
    }
    Ok(name.to_owned())
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganisationCreate {
    pub name: String,
    pub kind: OrgKind,
}

/// A new organisation of the tenant; names are unique within it.
pub async fn create_organisation(
    app: &App,
    auth: &Caller,
    req: OrganisationCreate,
) -> Result<Uuid> {
    access::administer(auth)?;
    let name = checked_name(
        &req.name,
        "organisation.invalid_name",
        "組織名を1〜100文字で入力してください。",
    )?;
    let existing = app.store.orgs(auth.actor.tenant_id).await?;
    if existing.iter().any(|o| o.name == name) {
        return Err(Error::new(
            Kind::Conflict,
            "organisation.name_taken",
            "同じ名前の組織がすでに登録されています。",
        ));
    }
    let id = Uuid::now_v7();
    app.store
        .create_org(
            &Organisation {
                id: OrgId(id),
                tenant_id: auth.actor.tenant_id,
                name,
                kind: req.kind,
            },
            &auth
                .audit("organisation.created")
                .object("organisation", id)
                .basis(Basis::Administration),
        )
        .await?;
    Ok(id)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: OrgId,
    pub disabled: bool,
    /// The second factor is set up.
    #[serde(default)]
    pub totp_enabled: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            login: u.login,
            display_name: u.display_name,
            role: u.role,
            org_id: u.org_id,
            disabled: u.disabled,
            totp_enabled: u.totp_confirmed,
        }
    }
}

/// The tenant's staff accounts (audited: the list names people).
pub async fn users(app: &App, auth: &Caller) -> Result<Vec<UserView>> {
    access::administer(auth)?;
    let users = app.store.users(auth.actor.tenant_id).await?;
    app.store
        .audit(&[auth
            .audit("user.list")
            .basis(Basis::Administration)
            .detail(format!("results={}", users.len()))])
        .await?;
    Ok(users.into_iter().map(UserView::from).collect())
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserCreate {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: OrgId,
    /// The first password; the user should change it.
    pub password: String,
}

async fn check_org(app: &App, auth: &Caller, org: OrgId) -> Result<()> {
    let orgs = app.store.orgs(auth.actor.tenant_id).await?;
    if orgs.iter().any(|o| o.id == org) {
        Ok(())
    } else {
        Err(invalid(
            "organisation.unknown",
            "指定された組織はこのテナントに登録されていません。",
        ))
    }
}

fn checked_login(login: &str) -> Result<String> {
    let login = login.trim();
    let ok = (3..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(login.to_owned())
    } else {
        Err(invalid(
            "user.invalid_login",
            "ログインIDは3〜64文字の半角英数字と . _ - @ で入力してください。",
        ))
    }
}

/// A new staff account with a first password (the password policy applies).
pub async fn create_user(app: &App, auth: &Caller, req: UserCreate) -> Result<Uuid> {
    access::administer(auth)?;
    let login = checked_login(&req.login)?;
    let display_name = checked_name(
        &req.display_name,
        "user.invalid_name",
        "氏名を1〜100文字で入力してください。",
    )?;
    check_org(app, auth, req.org_id).await?;
    accounts::check_new_password(&req.password)?;
    let hash = accounts::hash_password_blocking(req.password).await?;
    let id = Uuid::now_v7();
    let created = app
        .store
        .create_user(
            &User {
                id: UserId(id),
                tenant_id: auth.actor.tenant_id,
                org_id: req.org_id,
                login,
                display_name,
                role: req.role,
                password_hash: Some(hash),
                disabled: false,
                totp_secret: None,
                totp_confirmed: false,
            },
            &auth
                .audit("user.created")
                .object("user", id)
                .basis(Basis::Administration)
                .detail(format!("role={}", req.role.as_str())),
        )
        .await;
    match created {
        Ok(()) => Ok(id),
        Err(StoreError::Duplicate) => Err(Error::new(
            Kind::Conflict,
            "user.login_taken",
            "このログインIDはすでに使われています。別のIDを指定してください。",
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub org_id: Option<OrgId>,
    /// Disabling ends all the user's sessions at once.
    pub disabled: Option<bool>,
}

/// Changes a staff account; an administrator cannot disable, demote or move themselves.
pub async fn update_user(
    app: &App,
    auth: &Caller,
    id: UserId,
    req: UserChange,
) -> Result<UserView> {
    access::administer(auth)?;
    let mut user = tenant_user(app, auth, id).await?;
    let before = (user.role, user.org_id, user.disabled);
    if id == auth.actor.user_id
        && (req.disabled == Some(true)
            || req.role.is_some_and(|r| r != Role::Administrator)
            || req.org_id.is_some_and(|o| o != user.org_id))
    {
        return Err(invalid(
            "user.cannot_change_self",
            "自分自身のアカウントの無効化・権限変更・所属変更はできません。別の管理者に依頼してください。",
        ));
    }
    if let Some(name) = &req.display_name {
        user.display_name = checked_name(
            name,
            "user.invalid_name",
            "氏名を1〜100文字で入力してください。",
        )?;
    }
    if let Some(org) = req.org_id {
        check_org(app, auth, org).await?;
        user.org_id = org;
    }
    if let Some(role) = req.role {
        user.role = role;
    }
    if let Some(disabled) = req.disabled {
        user.disabled = disabled;
    }
    let mut changes = vec![];
    if before.0 != user.role {
        changes.push(format!(
            "role={}->{}",
            before.0.as_str(),
            user.role.as_str()
        ));
    }
    if before.1 != user.org_id {
        changes.push(format!("org={}->{}", before.1, user.org_id));
    }
    if before.2 != user.disabled {
        changes.push(format!("disabled={}", user.disabled));
    }
    app.store
        .update_user(
            &user,
            &auth
                .audit("user.changed")
                .object("user", user.id)
                .basis(Basis::Administration)
                .detail(changes.join(" ")),
        )
        .await?;
    Ok(UserView::from(user))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditSearch {
    pub user: Option<UserId>,
    pub session: Option<String>,
    pub person: Option<tsunagu_core::PersonId>,
    pub from: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    pub limit: Option<u32>,
}

/// Breach response: what a user or session accessed between two times, or everyone who
/// accessed a person. For auditors and administrators; entries hold identifiers only.
pub async fn audit_log(app: &App, auth: &Caller, q: AuditSearch) -> Result<Vec<ChainedRow>> {
    let rows = audit_rows(app, auth, q).await?;
    app.store
        .audit(&[auth
            .audit("audit.read")
            .basis(Basis::Administration)
            .detail(format!("results={}", rows.len()))])
        .await?;
    Ok(rows)
}

/// The entries that match, newest first (not audited: the caller audits what it does).
pub(crate) async fn audit_rows(
    app: &App,
    auth: &Caller,
    q: AuditSearch,
) -> Result<Vec<ChainedRow>> {
    access::read_audit(auth)?;
    Ok(app
        .store
        .audit_query(&AuditQuery {
            tenant: Some(auth.actor.tenant_id),
            user: q.user,
            session: q.session,
            person: q.person,
            from: q.from,
            until: q.until,
            limit: q.limit.unwrap_or(1000),
        })
        .await?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
}

/// The organisations of the caller's tenant (names only: every member may see them).
pub async fn organisations(app: &App, auth: &Caller) -> Result<Vec<Organisation>> {
    Ok(app.store.orgs(auth.actor.tenant_id).await?)
}

/// A member of staff as other pages name them: no login, no secret.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: UserId,
    pub display_name: String,
    pub org_id: OrgId,
    /// An active account whose role works cases (offered for assignment).
    pub works_cases: bool,
}

/// The tenant's staff, for showing the names behind ids (assignees, authors of records).
pub async fn staff(app: &App, auth: &Caller) -> Result<Vec<Staff>> {
    let users = app.store.staff(auth.actor.tenant_id).await?;
    Ok(users
        .into_iter()
        .map(|u| Staff {
            works_cases: !u.disabled && u.role.works_cases(),
            id: u.id,
            display_name: u.display_name,
            org_id: u.org_id,
        })
        .collect())
}

/// The display names of these members of the caller's tenant (for showing the names behind
/// ids without reading every account).
pub async fn display_names(
    app: &App,
    auth: &Caller,
    users: &[UserId],
) -> Result<std::collections::HashMap<UserId, String>> {
    Ok(app.store.display_names(auth.actor.tenant_id, users).await?)
}

/// Replaces the tenant's settings after checking them.
pub async fn put_settings(app: &App, auth: &Caller, settings: &TenantSettings) -> Result<()> {
    access::administer(auth)?;
    settings
        .validate()
        .map_err(|m| Error::invalid("settings.invalid", m))?;
    let removed = auth.settings.codes_removed_by(settings);
    if !removed.is_empty() {
        return Err(Error::invalid(
            "settings.code_removed",
            format!(
                "記録に使われているかもしれないコードは削除できません（{}）。名称は変更できます。",
                removed.join("、")
            ),
        ));
    }
    app.store
        .update_tenant_settings(
            auth.actor.tenant_id,
            settings,
            &auth.audit("settings.changed").basis(Basis::Administration),
        )
        .await?;
    Ok(())
}

/// Whether the database answers (`/healthz`).
pub async fn healthy(app: &App) -> bool {
    app.store.ping().await.is_ok()
}
