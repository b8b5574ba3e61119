//! Who may see and do what. The web layer calls these functions for every read and write;
//! they are the only place access is decided. (A simple policy for now: a case is visible to
//! the organisations on its team, partners only while the person's consent covers them.)

use jiff::civil::Date;

use crate::case::CaseState;
use crate::meeting::MeetingState;
use crate::{Actor, OrgId, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Whether the actor may read or change a case.
pub fn case(actor: &Actor, state: &CaseState, today: Date, _access: Access) -> bool {
    if !actor.role.works_cases() {
        return false;
    }
    if actor.org_id == state.owner_org {
        return true;
    }
    // Rule 5: a partner organisation sees the case only while consent covers it.
    state.team.contains(&actor.org_id) && state.consent_covers(actor.org_id, today)
}

/// Whether the actor may see a person: the person's record is visible to the organisations that
/// registered the person or can see one of the person's cases.
pub fn person(actor: &Actor, visible_to: &[OrgId]) -> bool {
    actor.role.works_cases() && visible_to.contains(&actor.org_id)
}

/// Meeting records are seen only by the meeting's members (rule 5).
pub fn meeting(actor: &Actor, state: &MeetingState) -> bool {
    actor.role.works_cases() && state.members().contains(&actor.org_id)
}

/// Organisations, users and tenant settings.
pub fn administer(actor: &Actor) -> bool {
    actor.role == Role::Administrator
}

/// Whether the actor may schedule meetings and open cases at all.
pub fn work_cases(actor: &Actor) -> bool {
    actor.role.works_cases()
}

/// Tenant-wide due counts (no names): for municipal oversight and lead workers.
pub fn tenant_counts(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::LeadSupportWorker | Role::MunicipalOfficer | Role::Administrator
    )
}
