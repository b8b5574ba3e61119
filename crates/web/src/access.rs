//! The one enforcement point: every handler loads records through these functions, which apply
//! `tsunagu_core::policy`. A record the actor may not see answers 404, exactly like a missing one.

use tsunagu_core::case::CaseState;
use tsunagu_core::meeting::MeetingState;
use tsunagu_core::person::PersonState;
use tsunagu_core::policy::{self, Access, Basis};
use tsunagu_core::{CaseId, MeetingId, PersonId};
use tsunagu_store::{CaseFilter, Versioned};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};

/// A case the actor may reach, the person it is about (for consents and restrictions), and
/// the basis of the access (for the audit trail).
pub struct CaseAccess {
    pub case: Versioned<CaseState>,
    pub person: PersonState,
    pub basis: Basis,
}

pub async fn case(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    access: Access,
) -> ApiResult<CaseAccess> {
    let Some(case) = app.store.case(auth.actor.tenant_id, id).await? else {
        return Err(ApiError::not_found());
    };
    let Some(person) = app
        .store
        .person(auth.actor.tenant_id, case.state.person_id)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    let person = person.state;
    match policy::case(
        &auth.actor,
        &case.state,
        &person.consents,
        app.clock.today(),
        access,
    ) {
        Some(basis) => Ok(CaseAccess {
            case,
            person,
            basis,
        }),
        None => Err(ApiError::not_found()),
    }
}

/// Whether a listed case may be shown: the projections used for lists know the team but not
/// roles, consent or restrictions, so every row passes the policy.
pub async fn may_read_case(app: &AppState, auth: &Auth, id: CaseId) -> ApiResult<bool> {
    match case(app, auth, id, Access::Read).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A person the actor may reach with `access`: the registering organisation always may (a
/// worker finds whom they registered before any case); others through one of the person's
/// cases that the policy lets them reach.
pub async fn person(
    app: &AppState,
    auth: &Auth,
    id: PersonId,
    access: Access,
) -> ApiResult<(Versioned<PersonState>, Basis)> {
    let Some(found) = app.store.person(auth.actor.tenant_id, id).await? else {
        return Err(ApiError::not_found());
    };
    let today = app.clock.today();
    let mut bases = Vec::new();
    if found.state.registered_by_org != auth.actor.org_id {
        let rows = app
            .store
            .cases(
                auth.actor.tenant_id,
                &CaseFilter {
                    visible_to_org: Some(auth.actor.org_id),
                    person: Some(id),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        for row in rows {
            if let Some(c) = app.store.case(auth.actor.tenant_id, row.id).await? {
                bases.push(policy::case(
                    &auth.actor,
                    &c.state,
                    &found.state.consents,
                    today,
                    access,
                ));
            }
        }
    }
    match policy::person(&auth.actor, found.state.registered_by_org, bases) {
        Some(basis) => Ok((found, basis)),
        None => Err(ApiError::not_found()),
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

pub fn oversee_org(auth: &Auth) -> ApiResult<()> {
    if policy::oversee_org(&auth.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

pub fn tenant_counts(auth: &Auth) -> ApiResult<()> {
    if policy::tenant_counts(&auth.actor) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}
