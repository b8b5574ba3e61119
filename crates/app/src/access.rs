//! The one enforcement point: every handler loads records through these functions, which apply
//! `tsunagu_core::policy`. A record the actor may not see answers 404, exactly like a missing one.

use tsunagu_core::case::CaseState;
use tsunagu_core::meeting::MeetingState;
use tsunagu_core::person::PersonState;
use tsunagu_core::policy::{self, Access, Basis};
use tsunagu_core::{CaseId, MeetingId, PersonId};
use tsunagu_store::{CaseFilter, Versioned};

use crate::{App, Caller, Error, Result};

/// A case the actor may reach, the person it is about (for consents and restrictions), and
/// the basis of the access (for the audit trail).
pub struct CaseAccess {
    pub case: Versioned<CaseState>,
    pub person: PersonState,
    pub basis: Basis,
}

pub async fn case(app: &App, caller: &Caller, id: CaseId, access: Access) -> Result<CaseAccess> {
    let Some((case, person)) = app
        .store
        .case_with_person(caller.actor.tenant_id, id)
        .await?
    else {
        return Err(Error::not_found());
    };
    let person = person.state;
    match policy::case(
        &caller.actor,
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
        None => Err(Error::not_found()),
    }
}

/// Whether one case may be read (a single record; lists filter in the query instead).
/// A case action: the access it needs on the case (404 as `case` answers), then whether the
/// caller's role does such work at all (`policy::role_may`; 403
/// `case.action_not_for_role` naming the action, since the caller may see the case).
pub async fn case_action(
    app: &App,
    caller: &Caller,
    id: CaseId,
    action: tsunagu_core::case::CaseAction,
) -> Result<CaseAccess> {
    let a = case(app, caller, id, action.access()).await?;
    role_may(caller, action)?;
    Ok(a)
}

/// Whether the caller's role does this kind of work (403 `case.action_not_for_role`).
pub fn role_may(caller: &Caller, action: tsunagu_core::case::CaseAction) -> Result<()> {
    if policy::role_may(caller.actor.role, action) {
        Ok(())
    } else {
        Err(Error::new(
            crate::Kind::Forbidden,
            "case.action_not_for_role",
            format!(
                "「{}」は{}の役割では記録できません。担当の支援員に依頼してください。",
                action.label_ja(),
                caller.actor.role.label_ja()
            ),
        ))
    }
}

pub async fn may_read_case(app: &App, caller: &Caller, id: CaseId) -> Result<bool> {
    match case(app, caller, id, Access::Read).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A person the actor may reach with `access`: the registering organisation always may (a
/// worker finds whom they registered before any case); others through one of the person's
/// cases that the policy lets them reach.
pub async fn person(
    app: &App,
    caller: &Caller,
    id: PersonId,
    access: Access,
) -> Result<(Versioned<PersonState>, Basis)> {
    let Some(found) = app.store.person(caller.actor.tenant_id, id).await? else {
        return Err(Error::not_found());
    };
    let today = app.clock.today();
    let mut bases = Vec::new();
    if found.state.registered_by_org != caller.actor.org_id {
        // The first of the person's cases the caller may reach, chosen in the query; its basis
        // from the policy itself.
        let rows = app
            .store
            .cases(
                caller.actor.tenant_id,
                &CaseFilter {
                    person: Some(id),
                    reader: Some(caller.reader(today, access)),
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?;
        for row in rows {
            if let Some(c) = app.store.case(caller.actor.tenant_id, row.id).await? {
                bases.push(policy::case(
                    &caller.actor,
                    &c.state,
                    &found.state.consents,
                    today,
                    access,
                ));
            }
        }
    }
    match policy::person(&caller.actor, found.state.registered_by_org, bases) {
        Some(basis) => Ok((found, basis)),
        None => Err(Error::not_found()),
    }
}

pub async fn meeting(app: &App, caller: &Caller, id: MeetingId) -> Result<Versioned<MeetingState>> {
    match app.store.meeting(caller.actor.tenant_id, id).await? {
        Some(v) if policy::meeting(&caller.actor, &v.state).is_some() => Ok(v),
        _ => Err(Error::not_found()),
    }
}

pub fn work_cases(caller: &Caller) -> Result<()> {
    if policy::work_cases(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn administer(caller: &Caller) -> Result<()> {
    if policy::administer(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn read_audit(caller: &Caller) -> Result<()> {
    if policy::read_audit(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn oversee_org(caller: &Caller) -> Result<()> {
    if policy::oversee_org(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn disclose(caller: &Caller) -> Result<()> {
    if policy::disclose(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn receive_reports(caller: &Caller) -> Result<()> {
    if policy::receive_reports(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn import_records(caller: &Caller) -> Result<()> {
    if policy::import_records(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

pub fn tenant_counts(caller: &Caller) -> Result<()> {
    if policy::tenant_counts(&caller.actor) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}
