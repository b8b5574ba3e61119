//! Persons (相談者): registration, search, one person with their cases, changes, history,
//! consent and restrictions, and households.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tsunagu_core::person::{self, Consent, PersonCommand, PersonDetails, PersonEvent, PersonField};
use tsunagu_core::policy::Access;
use tsunagu_core::{ActorRef, HouseholdId, OrgId, PersonId};
use tsunagu_store::{Basis, CaseFilter, CaseSummary, PersonQuery, PersonSummary, StreamAppend};
use uuid::Uuid;

use crate::cases::{check_orgs, check_users};
use crate::{
    App, Caller, Created, Error, Result, access, action_name, batch, create_once, ctx, decode,
    expect_version, record,
};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonCreate {
    pub details: PersonDetails,
    /// Join an existing household (one the actor can see a member of); a new one otherwise.
    #[serde(default)]
    pub household_id: Option<HouseholdId>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonUpdate {
    pub expected_version: u64,
    pub details: PersonDetails,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: PersonId,
    pub version: u64,
    /// The details the caller may see: restricted fields are left out (see `redacted`).
    pub details: PersonDetails,
    /// Fields withheld from the caller (閲覧制限).
    pub redacted: Vec<PersonField>,
    /// The restriction, shown only to the named users.
    pub restriction: Option<person::FieldRestriction>,
    /// 本人同意.
    pub consents: Vec<Consent>,
    pub household_id: HouseholdId,
    pub registered_by_org: OrgId,
    /// The cases the caller may see: the person's own and those of the duplicate
    /// registrations merged into the person.
    pub cases: Vec<CaseSummary>,
    /// This registration was merged into that person as a duplicate (read through it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<PersonId>,
    /// Duplicate registrations merged into this person.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub absorbed: Vec<PersonId>,
}

/// Registers a person, in a new household or joining one whose member the caller can see.
pub async fn register(
    app: &App,
    caller: &Caller,
    req: PersonCreate,
    idempotency_key: Option<String>,
) -> Result<Created> {
    access::work_cases(caller)?;
    let key = crate::idempotency(idempotency_key, &req)?;
    let household = match req.household_id {
        None => HouseholdId(Uuid::now_v7()),
        Some(h) => visible_household(app, caller, h).await?,
    };
    let events = person::register(req.details, household, &ctx(app, caller, &[]))?;
    create_once(app, caller, key, |id| {
        Ok(batch(
            caller,
            caller
                .audit("person.registered")
                .object("person", id)
                .subject(PersonId(id))
                .basis(Basis::Team),
            None,
            vec![StreamAppend::Person {
                id: PersonId(id),
                expected_version: 0,
                events,
            }],
        ))
    })
    .await
}

/// A household the caller may join a person to: one whose member the caller can see.
async fn visible_household(app: &App, caller: &Caller, h: HouseholdId) -> Result<HouseholdId> {
    let members = app
        .store
        .search_persons(
            caller.actor.tenant_id,
            caller.actor.org_id,
            &PersonQuery {
                household: Some(h),
                reader: Some(caller.reader(app.clock.today(), Access::Read)),
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if members.is_empty() {
        return Err(Error::invalid(
            "household.not_found",
            "指定された世帯が見つかりません。",
        ));
    }
    Ok(h)
}

/// What to look for; empty terms are ignored.
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub name: Option<String>,
    pub date_of_birth: Option<Date>,
    pub phone: Option<String>,
    pub limit: Option<u32>,
}

/// Persons the caller may see matching the terms. The terms are personal data: only which
/// fields were used goes to the audit.
pub async fn search(app: &App, caller: &Caller, q: Search) -> Result<Vec<PersonSummary>> {
    access::work_cases(caller)?;
    let query = PersonQuery {
        name: q.name.filter(|n| !n.trim().is_empty()),
        date_of_birth: q.date_of_birth,
        phone: q.phone.filter(|p| !p.trim().is_empty()),
        household: None,
        reader: Some(caller.reader(app.clock.today(), Access::Read)),
        limit: q.limit.unwrap_or(50),
    };
    let rows = app
        .store
        .search_persons(caller.actor.tenant_id, caller.actor.org_id, &query)
        .await?;
    let found = visible(app, caller, rows, query.phone.is_some()).await?;
    let fields: Vec<&str> = [
        ("name", query.name.is_some()),
        ("date_of_birth", query.date_of_birth.is_some()),
        ("phone", query.phone.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    record(
        app,
        caller
            .audit("person.search")
            .subjects(found.iter().map(|p| p.id))
            .basis(Basis::Team)
            .detail(format!(
                "fields={} results={}",
                fields.join(","),
                found.len()
            )),
    )
    .await?;
    Ok(found)
}

/// Persons already registered who are likely the person about to be registered: the same
/// name or kana (folded: any script, width and spacing) with the same date of birth, or the
/// same phone number. Only persons the caller may see; audited with those shown.
pub async fn likely_duplicates(
    app: &App,
    caller: &Caller,
    details: &tsunagu_core::person::PersonDetails,
) -> Result<Vec<PersonSummary>> {
    access::work_cases(caller)?;
    let found = find_likely(app, caller, details).await?;
    if !found.is_empty() {
        record(
            app,
            caller
                .audit("person.duplicates_checked")
                .subjects(found.iter().map(|p| p.id))
                .basis(Basis::Team)
                .detail(format!("results={}", found.len())),
        )
        .await?;
    }
    Ok(found)
}

/// [`likely_duplicates`] without its audit entry: for a use case that audits what it shows
/// once (the import's check of many rows).
pub(crate) async fn find_likely(
    app: &App,
    caller: &Caller,
    details: &tsunagu_core::person::PersonDetails,
) -> Result<Vec<PersonSummary>> {
    use tsunagu_core::text::search_fold;
    let reader = Some(caller.reader(app.clock.today(), Access::Read));
    let name = search_fold(details.name.as_str());
    let kana = details
        .kana
        .as_ref()
        .map(|k| search_fold(k.as_str()))
        .filter(|k| !k.is_empty());
    let same_name = |p: &PersonSummary| {
        search_fold(&p.name) == name
            || p.kana
                .as_deref()
                .map(search_fold)
                .is_some_and(|k| Some(&k) == kana.as_ref() || k == name)
    };
    let mut found: Vec<PersonSummary> = Vec::new();
    if let Some(dob) = details.date_of_birth {
        let rows = app
            .store
            .search_persons(
                caller.actor.tenant_id,
                caller.actor.org_id,
                &PersonQuery {
                    date_of_birth: Some(dob),
                    reader: reader.clone(),
                    limit: 200,
                    ..Default::default()
                },
            )
            .await?;
        found.extend(rows.into_iter().filter(same_name));
    }
    let phone = details
        .phone
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .filter(|p| p.chars().filter(|c| c.is_numeric()).count() >= 10);
    let mut by_phone = false;
    if let Some(phone) = phone {
        let rows = app
            .store
            .search_persons(
                caller.actor.tenant_id,
                caller.actor.org_id,
                &PersonQuery {
                    phone: Some(phone),
                    reader,
                    limit: 20,
                    ..Default::default()
                },
            )
            .await?;
        by_phone = !rows.is_empty();
        for r in rows {
            if !found.iter().any(|f| f.id == r.id) {
                found.push(r);
            }
        }
    }
    visible(app, caller, found, by_phone).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: HouseholdId,
    /// The members the caller may see.
    pub members: Vec<PersonSummary>,
}

pub async fn household(app: &App, caller: &Caller, id: HouseholdId) -> Result<HouseholdView> {
    // Persons are seen only by those who work cases (`policy::person`); to others a household
    // does not exist.
    if !tsunagu_core::policy::work_cases(&caller.actor) {
        return Err(Error::not_found());
    }
    let rows = app
        .store
        .search_persons(
            caller.actor.tenant_id,
            caller.actor.org_id,
            &PersonQuery {
                household: Some(id),
                reader: Some(caller.reader(app.clock.today(), Access::Read)),
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
    let members = visible(app, caller, rows, false).await?;
    if members.is_empty() {
        return Err(Error::not_found());
    }
    record(
        app,
        caller
            .audit("household.read")
            .object("household", id)
            .subjects(members.iter().map(|p| p.id))
            .basis(Basis::Team),
    )
    .await?;
    Ok(HouseholdView { id, members })
}

/// The rows the caller may see are chosen by the query (the access projection). A match on a
/// restricted phone number is dropped for users who may not see it (it would disclose it):
/// only a phone search reads each found person's restriction.
async fn visible(
    app: &App,
    caller: &Caller,
    rows: Vec<PersonSummary>,
    matched_phone: bool,
) -> Result<Vec<PersonSummary>> {
    if !matched_phone {
        return Ok(rows);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let hidden = app
            .store
            .person(caller.actor.tenant_id, row.id)
            .await?
            .is_some_and(|p| {
                p.state
                    .hidden_from(caller.actor.user_id)
                    .contains(&PersonField::Phone)
            });
        if !hidden {
            out.push(row);
        }
    }
    Ok(out)
}

/// One person as the caller may see them, with the cases the caller may see.
pub async fn get(app: &App, caller: &Caller, id: PersonId) -> Result<PersonView> {
    let (p, basis) = access::person(app, caller, id, Access::Read).await?;
    let mut cases = Vec::new();
    for of in std::iter::once(id).chain(p.state.absorbed.iter().copied()) {
        cases.extend(
            crate::cases::visible(
                app,
                caller,
                CaseFilter {
                    visible_to_org: Some(caller.actor.org_id),
                    person: Some(of),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    record(
        app,
        caller
            .audit("person.read")
            .object("person", id)
            .subject(id)
            .basis(basis),
    )
    .await?;
    let user = caller.actor.user_id;
    Ok(PersonView {
        id,
        version: p.version,
        details: p.state.details_for(user),
        redacted: p.state.hidden_from(user),
        restriction: p.state.restriction.filter(|r| r.users.contains(&user)),
        household_id: p.state.household_id,
        registered_by_org: p.state.registered_by_org,
        consents: p.state.consents,
        cases,
        merged_into: p.state.merged_into,
        absorbed: p.state.absorbed,
    })
}

/// Merging a duplicate registration into this person (重複登録の統合), or undoing it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    /// The version of this person (the one kept) the caller saw.
    pub expected_version: u64,
    /// The duplicate registration.
    pub duplicate: PersonId,
    /// Why they are one person (or why the merge is undone); recorded on both.
    pub reason: tsunagu_core::LongText,
}

/// Merges a duplicate registration into the person kept: both histories stay, each records the
/// merge with its reason; the duplicate's cases are read with the person's, the duplicate is no
/// longer found by search, and nothing more is recorded on it. The caller must be able to
/// change both. [`unmerge`] undoes it.
pub async fn merge(
    app: &App,
    caller: &Caller,
    id: PersonId,
    req: MergeRequest,
) -> Result<PersonView> {
    merge_or_undo(app, caller, id, req, true).await
}

/// Undoes a merge: the duplicate stands on its own again with everything recorded on it.
pub async fn unmerge(
    app: &App,
    caller: &Caller,
    id: PersonId,
    req: MergeRequest,
) -> Result<PersonView> {
    merge_or_undo(app, caller, id, req, false).await
}

async fn merge_or_undo(
    app: &App,
    caller: &Caller,
    id: PersonId,
    req: MergeRequest,
    merge: bool,
) -> Result<PersonView> {
    let (kept, basis) = access::person(app, caller, id, Access::Write).await?;
    let (duplicate, _) = access::person(app, caller, req.duplicate, Access::Write).await?;
    expect_version(kept.version, req.expected_version)?;
    let decide = if merge {
        person::decide_merge
    } else {
        person::decide_unmerge
    };
    let (on_kept, on_duplicate) = decide(
        (id, &kept.state),
        (req.duplicate, &duplicate.state),
        req.reason.clone(),
    )?;
    let entry = caller
        .audit(if merge {
            "person.merged"
        } else {
            "person.unmerged"
        })
        .object("person", id)
        .subjects([id, req.duplicate])
        .basis(basis)
        .detail(format!("duplicate={}", req.duplicate));
    app.store
        .append(batch(
            caller,
            entry,
            Some(req.reason.as_str().to_owned()),
            vec![
                StreamAppend::Person {
                    id,
                    expected_version: kept.version,
                    events: vec![on_kept],
                },
                StreamAppend::Person {
                    id: req.duplicate,
                    expected_version: duplicate.version,
                    events: vec![on_duplicate],
                },
            ],
        ))
        .await?;
    get(app, caller, id).await
}

pub async fn update(
    app: &App,
    caller: &Caller,
    id: PersonId,
    req: PersonUpdate,
) -> Result<PersonView> {
    let (current, basis) = access::person(app, caller, id, Access::Write).await?;
    let events = person::change(&current.state, req.details, &ctx(app, caller, &[]))?;
    if !events.is_empty() {
        app.store
            .append(batch(
                caller,
                caller
                    .audit("person.changed")
                    .object("person", id)
                    .subject(id)
                    .basis(basis),
                req.reason,
                vec![StreamAppend::Person {
                    id,
                    expected_version: req.expected_version,
                    events,
                }],
            ))
            .await?;
    }
    get(app, caller, id).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonHistoryEntry {
    pub version: u64,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub event: PersonEvent,
}

pub async fn history(app: &App, caller: &Caller, id: PersonId) -> Result<Vec<PersonHistoryEntry>> {
    let (p, basis) = access::person(app, caller, id, Access::Read).await?;
    let hidden = p.state.hidden_from(caller.actor.user_id);
    let events = app.store.events(caller.actor.tenant_id, id.0).await?;
    record(
        app,
        caller
            .audit("person.history_read")
            .object("person", id)
            .subject(id)
            .basis(basis),
    )
    .await?;
    events
        .into_iter()
        .map(|e| {
            Ok(PersonHistoryEntry {
                version: e.version,
                recorded_at: e.recorded_at,
                actor: e.actor,
                reason: e.reason,
                event: decode::<PersonEvent>(e.payload)?.redacted(&hidden),
            })
        })
        .collect()
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonCommandRequest {
    pub expected_version: u64,
    #[serde(default)]
    pub reason: Option<String>,
    pub command: PersonCommand,
}

/// Consent (本人同意) and field restrictions: changes to who may see the person's information.
pub async fn command(
    app: &App,
    caller: &Caller,
    id: PersonId,
    req: PersonCommandRequest,
) -> Result<PersonView> {
    let (current, basis) = access::person(app, caller, id, Access::Write).await?;
    expect_version(current.version, req.expected_version)?;
    match &req.command {
        PersonCommand::RecordConsent { organisations, .. } => {
            check_orgs(app, caller, organisations).await?
        }
        PersonCommand::RestrictFields { users, .. } => check_users(app, caller, users).await?,
        PersonCommand::MoveToHousehold {
            household_id: Some(h),
        } => {
            visible_household(app, caller, *h).await?;
        }
        PersonCommand::MoveToHousehold { household_id: None }
        | PersonCommand::WithdrawConsent { .. } => {}
    }
    let entry = caller
        .audit("person.command")
        .object("person", id)
        .subject(id)
        .basis(basis)
        .detail(action_name(&req.command));
    let events = person::decide(
        &current.state,
        req.command,
        &ctx(app, caller, &[]),
        Uuid::now_v7(),
    )?;
    app.store
        .append(batch(
            caller,
            entry,
            req.reason,
            vec![StreamAppend::Person {
                id,
                expected_version: req.expected_version,
                events,
            }],
        ))
        .await?;
    get(app, caller, id).await
}
