//! Administration of a tenant: organisations and staff accounts. Only administrators reach these
//! handlers (through `access::administer`); every change stays inside the caller's tenant.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tsunagu_core::{OrgId, OrgKind, Role, UserId};
use tsunagu_store::{Basis, Organisation, StoreError, User};
use uuid::Uuid;

use crate::AppState;
use crate::access;
use crate::api::Created;
use crate::auth::{self, Auth};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// A user of the caller's tenant, or 404.
pub async fn tenant_user(app: &AppState, auth: &Auth, id: UserId) -> ApiResult<User> {
    app.store
        .user(id)
        .await?
        .filter(|u| u.tenant_id == auth.actor.tenant_id)
        .ok_or_else(ApiError::not_found)
}

fn invalid(code: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn checked_name(name: &str, code: &str, message: &str) -> ApiResult<String> {
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

#[utoipa::path(post, path = "/api/organisations", request_body = OrganisationCreate,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organisation(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<OrganisationCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    access::administer(&auth)?;
    let name = checked_name(
        &req.name,
        "organisation.invalid_name",
        "組織名を1〜100文字で入力してください。",
    )?;
    let existing = app.store.orgs(auth.actor.tenant_id).await?;
    if existing.iter().any(|o| o.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
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
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: OrgId,
    pub disabled: bool,
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
        }
    }
}

#[utoipa::path(get, path = "/api/users",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<UserView>>> {
    access::administer(&auth)?;
    let users = app.store.users(auth.actor.tenant_id).await?;
    app.store
        .audit(&[auth
            .audit("user.list")
            .basis(Basis::Administration)
            .detail(format!("results={}", users.len()))])
        .await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
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

async fn check_org(app: &AppState, auth: &Auth, org: OrgId) -> ApiResult<()> {
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

fn checked_login(login: &str) -> ApiResult<String> {
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

#[utoipa::path(post, path = "/api/users", request_body = UserCreate,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<UserCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    access::administer(&auth)?;
    let login = checked_login(&req.login)?;
    let display_name = checked_name(
        &req.display_name,
        "user.invalid_name",
        "氏名を1〜100文字で入力してください。",
    )?;
    check_org(&app, &auth, req.org_id).await?;
    auth::check_new_password(&req.password)?;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| ApiError::internal())?;
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
        Ok(()) => Ok((StatusCode::CREATED, Json(Created { id }))),
        Err(StoreError::Duplicate) => Err(ApiError::new(
            StatusCode::CONFLICT,
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

#[utoipa::path(patch, path = "/api/users/{id}", params(("id" = UserId, Path)), request_body = UserChange,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UserChange>,
) -> ApiResult<Json<UserView>> {
    access::administer(&auth)?;
    let mut user = tenant_user(&app, &auth, id).await?;
    let before = (user.role, user.org_id, user.disabled);
    if id == auth.user.id
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
        check_org(&app, &auth, org).await?;
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
    Ok(Json(UserView::from(user)))
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
#[utoipa::path(get, path = "/api/audit", params(AuditSearch),
    responses((status = 200, body = Vec<tsunagu_store::ChainedRow>), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(app): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<AuditSearch>,
) -> ApiResult<Json<Vec<tsunagu_store::ChainedRow>>> {
    access::read_audit(&auth)?;
    let rows = app
        .store
        .audit_query(&tsunagu_store::AuditQuery {
            tenant: Some(auth.actor.tenant_id),
            user: q.user,
            session: q.session,
            person: q.person,
            from: q.from,
            until: q.until,
            limit: q.limit.unwrap_or(1000),
        })
        .await?;
    app.store
        .audit(&[auth
            .audit("audit.read")
            .basis(Basis::Administration)
            .detail(format!("results={}", rows.len()))])
        .await?;
    Ok(Json(rows))
}
