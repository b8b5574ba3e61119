//! The one enforcement point: every handler loads records through these functions, which apply
//! `tsunagu_core::policy`. A record the actor may not see answers 404, exactly like a missing one.

use tsunagu_core::case::CaseState;
use tsunagu_core::meeting::MeetingState;
use tsunagu_core::person::PersonState;
use tsunagu_core::policy::{self, Access, Basis};
use tsunagu_core::{CaseId, MeetingId, PersonId};
use tsunagu_store::Versioned;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, today};

/// A case the actor may see, with the basis of the access (for the audit trail).
pub async fn case(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    access: Access,
) -> ApiResult<(Versioned<CaseState>, Basis)> {
    let found = app.store.case(auth.actor.tenant_id, id).await?;
    match found {
        Some(v) => match policy::case(&auth.actor, &v.state, today(), access) {
            Some(basis) => Ok((v, basis)),
            None => Err(ApiError::not_found()),
        },
        None => Err(ApiError::not_found()),
    }
}

pub async fn person(
    app: &AppState,
    auth: &Auth,
    id: PersonId,
) -> ApiResult<Versioned<PersonState>> {
    let Some(found) = app.store.person(auth.actor.tenant_id, id).await? else {
        return Err(ApiError::not_found());
    };
    let visible_to = app.store.person_access(id).await?;
    if policy::person(&auth.actor, &visible_to) {
        Ok(found)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn meeting(
    app: &AppState,
    auth: &Auth,
    id: MeetingId,
) -> ApiResult<Versioned<MeetingState>> {
    match app.store.meeting(auth.actor.tenant_id, id).await? {
        Some(v) if policy::meeting(&auth.actor, &v.state).is_some() => Ok(v),
        _ => Err(ApiError::not_found()),
    }
}

pub fn work_cases(auth: &Auth) -> ApiResult<()> {
    if policy::work_cases(&auth.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

pub fn administer(auth: &Auth) -> ApiResult<()> {
    if policy::administer(&auth.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

pub fn read_audit(auth: &Auth) -> ApiResult<()> {
    if policy::read_audit(&auth.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}
