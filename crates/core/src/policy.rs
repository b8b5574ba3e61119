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

/// Why the actor may see what they see; recorded with every disclosure in the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Basis {
    /// Own organisation owns the case or is on its team.
    Team,
    /// A partner organisation covered by the person's consent (本人同意).
    Consent,
    /// A member of a 支援会議, under its duty of secrecy (法定の情報共有).
    Meeting,
    /// Administration, no case content.
    Administration,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Team => "team",
            Basis::Consent => "consent",
            Basis::Meeting => "meeting",
            Basis::Administration => "administration",
        }
    }
}

/// Whether the actor may read or change a case, and on which basis.
pub fn case(actor: &Actor, state: &CaseState, today: Date, _access: Access) -> Option<Basis> {
    if !actor.role.works_cases() {
        return None;
    }
    if actor.org_id == state.owner_org {
        return Some(Basis::Team);
    }
    // Rule 5: a partner organisation sees the case only while consent covers it.
    (state.team.contains(&actor.org_id) && state.consent_covers(actor.org_id, today))
        .then_some(Basis::Consent)
}

/// Whether the actor may see a person: the person's record is visible to the organisations that
/// registered the person or can see one of the person's cases.
pub fn person(actor: &Actor, visible_to: &[OrgId]) -> bool {
    actor.role.works_cases() && visible_to.contains(&actor.org_id)
}

/// Meeting records are seen only by the meeting's members (rule 5), on the meeting's basis.
pub fn meeting(actor: &Actor, state: &MeetingState) -> Option<Basis> {
    (actor.role.works_cases() && state.members().contains(&actor.org_id)).then_some(Basis::Meeting)
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

/// The audit trail (identifiers only, no case content): auditors and administrators.
pub fn read_audit(actor: &Actor) -> bool {
    matches!(actor.role, Role::Auditor | Role::Administrator)
}
