//! Who may see and do what, as data: [`relation`] says how a user stands to a case, and
//! [`TABLE`] says what each role may do in each relation. The web layer's `access` module is the
//! one enforcement point that applies it to every route, list, search and count; the route
//! registry declares which permission each route needs, and a test walks the whole matrix
//! route × role × relation through HTTP.

use jiff::civil::Date;

use crate::case::{CaseState, Stage};
use crate::meeting::MeetingState;
use crate::person::{Consent, consent_covers};
use crate::{Actor, OrgId, OrgKind, Role, UserId};

/// What a route needs on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// See the case and its records.
    Read,
    /// Record the work: contacts, intake, assessment, plans, monitoring, referrals, closure.
    Write,
    /// Change who works on the case: the assigned worker, the team, the restriction.
    Manage,
}

impl Access {
    pub const ALL: [Access; 3] = [Access::Read, Access::Write, Access::Manage];
}

/// How a user stands to a case. The first that applies wins, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The case is restricted (閲覧制限) and the user is not one of the named users.
    RestrictedNotNamed,
    /// The case is closed and the user's organisation owns it.
    Closed,
    /// The case is closed and the user's organisation is a partner the person's consent covers.
    ClosedPartner,
    /// The user is the case's assigned worker (担当者).
    Assigned,
    /// The user's organisation owns the case; someone else is assigned.
    SameOrganisation,
    /// A partner organisation on the team, covered by the person's consent today.
    ConsentedPartner,
    /// A partner on the team whose consent was withdrawn, expired, or never given.
    PartnerWithoutConsent,
    /// Any other organisation.
    Unrelated,
}

impl Relation {
    pub const ALL: [Relation; 8] = [
        Relation::RestrictedNotNamed,
        Relation::Closed,
        Relation::ClosedPartner,
        Relation::Assigned,
        Relation::SameOrganisation,
        Relation::ConsentedPartner,
        Relation::PartnerWithoutConsent,
        Relation::Unrelated,
    ];

    fn index(self) -> usize {
        Relation::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(Relation::ALL.len() - 1)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::RestrictedNotNamed => "restricted_not_named",
            Relation::Closed => "closed",
            Relation::ClosedPartner => "closed_partner",
            Relation::Assigned => "assigned",
            Relation::SameOrganisation => "same_organisation",
            Relation::ConsentedPartner => "consented_partner",
            Relation::PartnerWithoutConsent => "partner_without_consent",
            Relation::Unrelated => "unrelated",
        }
    }

    /// The basis of a disclosure in this relation, for the audit trail.
    fn basis(self) -> Basis {
        match self {
            Relation::ConsentedPartner | Relation::ClosedPartner => Basis::Consent,
            _ => Basis::Team,
        }
    }
}

/// What a role may do in one relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub manage: bool,
}

impl Perms {
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Read => self.read,
            Access::Write => self.write,
            Access::Manage => self.manage,
        }
    }
}

const NO: Perms = Perms {
    read: false,
    write: false,
    manage: false,
};
const R: Perms = Perms {
    read: true,
    write: false,
    manage: false,
};
const RW: Perms = Perms {
    read: true,
    write: true,
    manage: false,
};
const RWM: Perms = Perms {
    read: true,
    write: true,
    manage: true,
};

/// The policy table: for each role, its permissions in each relation, in the order of
/// [`Relation::ALL`]: restricted-not-named, closed, closed partner, assigned, same organisation,
/// consented partner, partner without consent, unrelated.
///
/// Administrators and auditors see no case content. Lead workers manage every case of their
/// organisation; other workers manage the cases assigned to them. Related-agency staff read
/// their own organisation's cases but write only where they work on them. Partners read a
/// closed case while consent lasts; nobody outside the named users sees a restricted case.
pub const TABLE: [(Role, [Perms; 8]); 7] = [
    (Role::LeadSupportWorker, [NO, RWM, R, RWM, RWM, RW, NO, NO]),
    (Role::SupportWorker, [NO, RW, R, RWM, RW, RW, NO, NO]),
    (
        Role::EmploymentSupportWorker,
        [NO, RW, R, RWM, RW, RW, NO, NO],
    ),
    (Role::MunicipalOfficer, [NO, RW, R, RWM, RW, RW, NO, NO]),
    (Role::RelatedAgencyMember, [NO, R, R, RWM, R, RW, NO, NO]),
    (Role::Administrator, [NO, NO, NO, NO, NO, NO, NO, NO]),
    (Role::Auditor, [NO, NO, NO, NO, NO, NO, NO, NO]),
];

/// What `role` may do in `relation`, from [`TABLE`].
pub fn perms(role: Role, relation: Relation) -> Perms {
    TABLE
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(NO, |(_, row)| row[relation.index()])
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

/// How the actor stands to a case, given the person's consents, on `today`.
pub fn relation(actor: &Actor, state: &CaseState, consents: &[Consent], today: Date) -> Relation {
    if !state.restricted_to.is_empty() && !state.restricted_to.contains(&actor.user_id) {
        return Relation::RestrictedNotNamed;
    }
    let own = actor.org_id == state.owner_org;
    let partner = !own && state.team.contains(&actor.org_id);
    let consented = partner && consent_covers(consents, actor.org_id, today);
    match (state.stage == Stage::Closed, own, partner, consented) {
        (true, true, _, _) => Relation::Closed,
        (true, false, _, true) => Relation::ClosedPartner,
        (false, true, _, _) if state.assigned_worker == actor.user_id => Relation::Assigned,
        (false, true, _, _) => Relation::SameOrganisation,
        (false, false, _, true) => Relation::ConsentedPartner,
        (_, false, true, false) => Relation::PartnerWithoutConsent,
        _ => Relation::Unrelated,
    }
}

// --- the access projection: relations as rows, for reads over many cases -------------------

/// One row of a case's access projection: users of `org` (only `user`, when set) stand to the
/// case in `relation` on the days from `from` to `until` (both inclusive; open when `None`).
/// Of the rows that match an actor on a day, the one with the lowest `rank` is the relation —
/// the order in which [`relation`] tries them. Lists filter by these rows in their query;
/// [`relation_from_rows`] reads them the same way, and a property test holds it equal to
/// [`relation`] for every actor, state, consent and day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccessRow {
    pub org: OrgId,
    pub user: Option<UserId>,
    pub relation: Relation,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub rank: u8,
}

impl PartialOrd for Relation {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Relation {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl Relation {
    /// The relation of a stable name (`as_str`), as stored in the projection.
    pub fn parse(s: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl AccessRow {
    fn matches(&self, actor: &Actor, day: Date) -> bool {
        self.org == actor.org_id
            && self.user.is_none_or(|u| u == actor.user_id)
            && self.from.is_none_or(|f| f <= day)
            && self.until.is_none_or(|u| day <= u)
    }
}

/// The rows of a case, a pure function of its folded state and the person's consents: the
/// owning organisation (the assigned worker first), and each partner on the team — covered by
/// each consent for that consent's period, and without consent otherwise. A restricted case
/// has rows only for its named users. Nobody else has a row: they are unrelated (or, for a
/// restricted case, not named), which no role may read (a test in this module pins that).
pub fn access_rows(state: &CaseState, consents: &[Consent]) -> Vec<AccessRow> {
    let owner = state.owner_org;
    let closed = state.stage == Stage::Closed;
    let row = |org, user, relation, from, until, rank| AccessRow {
        org,
        user,
        relation,
        from,
        until,
        rank,
    };
    let mut rows = Vec::new();
    if closed {
        rows.push(row(owner, None, Relation::Closed, None, None, 1));
    } else {
        rows.push(row(
            owner,
            Some(state.assigned_worker),
            Relation::Assigned,
            None,
            None,
            3,
        ));
        rows.push(row(owner, None, Relation::SameOrganisation, None, None, 4));
    }
    let mut partners: Vec<OrgId> = state.team.iter().copied().filter(|o| *o != owner).collect();
    partners.sort();
    partners.dedup();
    for org in partners {
        for c in consents.iter().filter(|c| c.organisations.contains(&org)) {
            // Covered from the day it was given until it expires or the day before withdrawal.
            let until = match (
                c.valid_until,
                c.withdrawn_on.and_then(|w| w.yesterday().ok()),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if until.is_some_and(|u| u < c.given_on) {
                continue;
            }
            let (relation, rank) = if closed {
                (Relation::ClosedPartner, 2)
            } else {
                (Relation::ConsentedPartner, 5)
            };
            rows.push(row(org, None, relation, Some(c.given_on), until, rank));
        }
        rows.push(row(
            org,
            None,
            Relation::PartnerWithoutConsent,
            None,
            None,
            6,
        ));
    }
    if !state.restricted_to.is_empty() {
        let named = &state.restricted_to;
        rows = rows
            .into_iter()
            .flat_map(|r| match r.user {
                Some(u) if named.contains(&u) => vec![r],
                Some(_) => vec![],
                None => named
                    .iter()
                    .map(|u| AccessRow {
                        user: Some(*u),
                        ..r.clone()
                    })
                    .collect(),
            })
            .collect();
    }
    rows.sort();
    rows.dedup();
    rows
}

/// The relation the rows give an actor on a day: the lowest-ranked matching row, otherwise not
/// named (a restricted case) or unrelated.
pub fn relation_from_rows(
    rows: &[AccessRow],
    restricted_to: &[UserId],
    actor: &Actor,
    day: Date,
) -> Relation {
    if let Some(r) = rows
        .iter()
        .filter(|r| r.matches(actor, day))
        .min_by_key(|r| r.rank)
    {
        return r.relation;
    }
    if !restricted_to.is_empty() && !restricted_to.contains(&actor.user_id) {
        Relation::RestrictedNotNamed
    } else {
        Relation::Unrelated
    }
}

/// The relations in which `role` has `access`: what a list's query admits, with the actor's
/// organisation, user and the day, from the rows of [`access_rows`].
pub fn relations_allowing(role: Role, access: Access) -> Vec<Relation> {
    Relation::ALL
        .into_iter()
        .filter(|r| perms(role, *r).allows(access))
        .collect()
}

/// Whether the actor may have `access` to a case, and on which basis.
pub fn case(
    actor: &Actor,
    state: &CaseState,
    consents: &[Consent],
    today: Date,
    access: Access,
) -> Option<Basis> {
    let relation = relation(actor, state, consents, today);
    perms(actor.role, relation)
        .allows(access)
        .then(|| relation.basis())
}

/// Whether a role's work includes an action, whatever its relation to the case (the relation
/// is [`TABLE`]'s part). Support workers, employment support workers and leads do the whole
/// process. Related-agency staff (Hello Work, the council of social welfare, …) work beside
/// it: they record contacts, emergency support and referrals and their checks, and read; they
/// do not triage, assess, plan, decide, start, monitor, evaluate, suspend, resume, terminate or
/// reopen. Municipal officers record the municipality's part — intake and triage at its
/// window, support decisions, contacts, emergency support, referrals — and not the agency's
/// assessment, screening, plan, support start, monitoring, evaluation, suspension or closure.
/// Changing who works on a case (team, worker, restriction) is left to [`TABLE`]'s manage
/// permission.
pub fn role_may(role: Role, action: crate::case::CaseAction) -> bool {
    use crate::case::CaseAction::*;
    match role {
        Role::LeadSupportWorker | Role::SupportWorker | Role::EmploymentSupportWorker => true,
        Role::RelatedAgencyMember => works_beside(action),
        Role::MunicipalOfficer => {
            works_beside(action) || matches!(action, RecordIntake | Triage | RecordSupportDecision)
        }
        Role::Administrator | Role::Auditor => false,
    }
}

/// What every organisation on a support team does beside the agency's process: its contacts
/// (and their corrections), emergency support, referrals and their checks, and the team.
fn works_beside(action: crate::case::CaseAction) -> bool {
    use crate::case::CaseAction::*;
    matches!(
        action,
        RecordContact
            | CorrectContact
            | RecordEmergencySupport
            | MakeReferral
            | FollowUpReferral
            | ConfirmReferral
            | AddTeamMember
            | RemoveTeamMember
            | AssignWorker
            | Restrict
    )
}

/// Whether the actor may see a person: the organisation that registered the person sees them
/// (so a worker can find whom they registered before any case); otherwise the basis of the
/// first of the person's cases the actor may read.
pub fn person(
    actor: &Actor,
    registered_by: OrgId,
    case_bases: impl IntoIterator<Item = Option<Basis>>,
) -> Option<Basis> {
    if !actor.role.works_cases() {
        return None;
    }
    if actor.org_id == registered_by {
        return Some(Basis::Team);
    }
    case_bases.into_iter().flatten().next()
}

/// Meeting records (agenda, minutes, conclusions) are seen only by the meeting's members, on
/// the meeting's legal basis, without consent (rule 5).
pub fn meeting(actor: &Actor, state: &MeetingState) -> Option<Basis> {
    (actor.role.works_cases() && state.members().contains(&actor.org_id)).then_some(Basis::Meeting)
}

/// Organisations, users and tenant settings.
pub fn administer(actor: &Actor) -> bool {
    actor.role == Role::Administrator
}

/// Whether the actor may register persons, open cases and schedule meetings at all.
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

/// The plans reported to the municipality (報告, seed 001 §8): the municipal departments'
/// officers, to whom the law has the agency report its users and their basic information.
pub fn receive_reports(actor: &Actor) -> bool {
    actor.role == Role::MunicipalOfficer && actor.org_kind == OrgKind::MunicipalDepartment
}

/// A disclosure of a person's records (開示請求): lead workers, who answer for every record
/// of their organisation.
pub fn disclose(actor: &Actor) -> bool {
    actor.role == Role::LeadSupportWorker
}

/// Importing persons and their first consultations from a sheet: lead workers, who manage
/// every case of their organisation (the cases opened are assigned to them, to hand on).
pub fn import_records(actor: &Actor) -> bool {
    actor.role == Role::LeadSupportWorker
}

/// The caseload of the organisation per worker and the cases not moving: lead workers, who
/// manage every case of their organisation.
pub fn oversee_org(actor: &Actor) -> bool {
    actor.role == Role::LeadSupportWorker
}

/// The audit trail (identifiers only, no case content): auditors and administrators.
pub fn read_audit(actor: &Actor) -> bool {
    matches!(actor.role, Role::Auditor | Role::Administrator)
}

/// Whether a user of role `holder` may do everything a user of role `other` may: at least
/// the same permissions in every relation of [`TABLE`], and every function of `other`
/// (administration, case work, counts, oversight, the audit trail). Derived from the table and
/// the predicates above, so it stays true when they change.
pub fn role_covers(holder: Role, other: Role) -> bool {
    let cases = Relation::ALL.iter().all(|r| {
        let (h, o) = (perms(holder, *r), perms(other, *r));
        Access::ALL.iter().all(|a| !o.allows(*a) || h.allows(*a))
    });
    let as_actor = |role| Actor {
        role,
        tenant_id: crate::TenantId(uuid::Uuid::nil()),
        user_id: crate::UserId(uuid::Uuid::nil()),
        org_id: OrgId(uuid::Uuid::nil()),
        org_kind: crate::OrgKind::SupportAgency,
    };
    let (h, o) = (as_actor(holder), as_actor(other));
    let functions: [fn(&Actor) -> bool; 5] = [
        administer,
        work_cases,
        tenant_counts,
        oversee_org,
        read_audit,
    ];
    cases && functions.iter().all(|f| !f(&o) || f(&h))
}

/// The role an API token acts as at this request: the lower of the role it was issued for and
/// the user's current role. A token issued for a role the user no longer covers acts with the
/// user's current role when that is lower, and not at all when the two are unrelated (an
/// administrator demoted to support worker keeps no administration through an old token).
pub fn token_role(issued: Role, current: Role) -> Option<Role> {
    if role_covers(current, issued) {
        Some(issued)
    } else if role_covers(issued, current) {
        Some(current)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_cover_themselves_and_leads_cover_workers_only() {
        for r in Role::ALL {
            assert!(role_covers(r, r));
        }
        assert!(role_covers(Role::LeadSupportWorker, Role::SupportWorker));
        assert!(!role_covers(Role::SupportWorker, Role::LeadSupportWorker));
        // Administrators see no case content: they cannot delegate case work.
        assert!(!role_covers(Role::Administrator, Role::SupportWorker));
        assert!(!role_covers(Role::SupportWorker, Role::Administrator));
        assert!(role_covers(Role::Administrator, Role::Auditor));
        assert_eq!(
            token_role(Role::LeadSupportWorker, Role::SupportWorker),
            Some(Role::SupportWorker)
        );
        assert_eq!(
            token_role(Role::SupportWorker, Role::LeadSupportWorker),
            Some(Role::SupportWorker)
        );
        assert_eq!(token_role(Role::Administrator, Role::SupportWorker), None);
        assert_eq!(
            token_role(Role::Administrator, Role::Auditor),
            Some(Role::Auditor)
        );
    }

    #[test]
    fn the_table_has_every_role_once_and_manage_implies_write_implies_read() {
        for role in Role::ALL {
            assert_eq!(
                TABLE.iter().filter(|(r, _)| *r == role).count(),
                1,
                "{role:?}"
            );
        }
        for (role, row) in TABLE {
            for (relation, p) in Relation::ALL.iter().zip(row) {
                assert!(!p.manage || p.write, "{role:?} {relation:?}");
                assert!(!p.write || p.read, "{role:?} {relation:?}");
                if !role.works_cases() || *relation == Relation::RestrictedNotNamed {
                    assert_eq!(p, NO, "{role:?} {relation:?}");
                }
                // The access projection has no rows for these: lists would miss a case one
                // of them let a role see.
                if *relation == Relation::Unrelated {
                    assert_eq!(p, NO, "{role:?} {relation:?}");
                }
            }
        }
    }
}
