//! Cases: open one, list them, read one with its timeline, act on it (the lifecycle's
//! commands), and its assessment and plan versions, each read from the events themselves.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tsunagu_core::case::{
    self, Assessment, CaseCommand, CaseEvent, CaseState, DueItem, OpenCase, Plan, Stage, Todo,
};
use tsunagu_core::person::{self, Consent, PersonCommand};
use tsunagu_core::policy::Access;
use tsunagu_core::{ActorRef, CaseId, MeetingId, OrgId, PersonId, UserId};
use tsunagu_store::{Basis, CaseFilter, CaseSummary, StoredEvent, StreamAppend};
use uuid::Uuid;

use crate::{
    App, Caller, Created, Error, Result, access, action_name, batch, create_once, ctx, decode,
    expect_version, record,
};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TodoView {
    pub code: Todo,
    pub label: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: CaseId,
    pub version: u64,
    pub stage_label: &'static str,
    pub state: CaseState,
    /// The person's consents (本人同意), which decide what partners see.
    pub consents: Vec<Consent>,
    /// What is still missing without blocking the work.
    pub todos: Vec<TodoView>,
    pub due: Vec<DueItem>,
}

impl CaseView {
    fn new(
        id: CaseId,
        version: u64,
        state: CaseState,
        consents: Vec<Consent>,
        today: Date,
    ) -> Self {
        CaseView {
            id,
            version,
            stage_label: state.stage.label_ja(),
            todos: state
                .todos(&consents, today)
                .into_iter()
                .map(|t| TodoView {
                    code: t,
                    label: t.label_ja(),
                })
                .collect(),
            due: case::due_items(&state),
            state,
            consents,
        }
    }
}

/// Opening a case, optionally with the consent (本人同意) the person gave at intake.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenCaseRequest {
    #[serde(flatten)]
    pub case: OpenCase,
    #[serde(default)]
    pub consent: Option<ConsentAtIntake>,
}

/// 本人同意 recorded together with the intake: with whom information may be shared.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentAtIntake {
    pub organisations: Vec<OrgId>,
    pub purpose: tsunagu_core::ShortText,
    pub given_on: Date,
    #[serde(default)]
    pub valid_until: Option<Date>,
    #[serde(default)]
    pub written_form_received: bool,
}

/// Opens a case for a person the caller may write, with the consent given at intake in the
/// same transaction.
pub async fn open(
    app: &App,
    caller: &Caller,
    req: OpenCaseRequest,
    idempotency_key: Option<String>,
) -> Result<Created> {
    access::work_cases(caller)?;
    let key = crate::idempotency(idempotency_key, &req)?;
    let (person, basis) = access::person(app, caller, req.case.person_id, Access::Write).await?;
    // Checked before a number is taken, so a refused opening takes none.
    // A duplicate registration merged into another person: the case belongs with that one.
    if person.state.merged_into.is_some() {
        return Err(tsunagu_core::Refusal::PersonMerged.into());
    }
    let born_on = person.state.details.date_of_birth;
    case::open_numbered(req.case.clone(), born_on, &ctx(app, caller, &[]), None)?;
    let fiscal_year =
        tsunagu_core::wareki::fiscal_year(case::opening_day(&req.case, &ctx(app, caller, &[])));
    let seq = app
        .store
        .take_case_numbers(caller.actor.tenant_id, fiscal_year, 1)
        .await?;
    let events = case::open_numbered(
        req.case.clone(),
        born_on,
        &ctx(app, caller, &[]),
        Some(case::CaseNumber { fiscal_year, seq }),
    )?;
    let consent = match req.consent {
        Some(c) => {
            check_orgs(app, caller, &c.organisations).await?;
            let command = PersonCommand::RecordConsent {
                organisations: c.organisations,
                purpose: c.purpose,
                given_on: c.given_on,
                valid_until: c.valid_until,
                written_form_received: c.written_form_received,
            };
            Some(person::decide(
                &person.state,
                command,
                &ctx(app, caller, &[]),
                Uuid::now_v7(),
            )?)
        }
        None => None,
    };
    let person_id = req.case.person_id;
    create_once(app, caller, key, |id| {
        let mut b = batch(
            caller,
            caller
                .audit("case.opened")
                .object("case", id)
                .subject(person_id)
                .basis(Basis::Team),
            None,
            vec![StreamAppend::Case {
                id: CaseId(id),
                expected_version: 0,
                events,
            }],
        );
        if let Some(events) = consent {
            b.streams.push(StreamAppend::Person {
                id: person_id,
                expected_version: person.version,
                events,
            });
            b.audit.push(
                caller
                    .audit("person.command")
                    .object("person", person_id)
                    .subject(person_id)
                    .basis(basis)
                    .detail("record_consent"),
            );
        }
        Ok(b)
    })
    .await
}

/// Whose cases a list shows.
#[derive(Clone, Copy, Debug)]
pub enum Worker {
    Me,
    User(UserId),
}

#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub stage: Option<Stage>,
    pub worker: Option<Worker>,
    pub person: Option<PersonId>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Cases the caller may see, filtered; audited with the persons shown.
pub async fn list(app: &App, caller: &Caller, q: ListRequest) -> Result<Vec<CaseSummary>> {
    access::work_cases(caller)?;
    let filter = CaseFilter {
        visible_to_org: Some(caller.actor.org_id),
        stage: q.stage,
        assigned_worker: q.worker.map(|w| match w {
            Worker::Me => caller.actor.user_id,
            Worker::User(u) => u,
        }),
        person: q.person,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
        ..Default::default()
    };
    let cases = visible(app, caller, filter).await?;
    record(
        app,
        caller
            .audit("case.list")
            .subjects(cases.iter().map(|c| c.person_id))
            .detail(format!("results={}", cases.len())),
    )
    .await?;
    Ok(cases)
}

/// Cases that the caller may see: filtered by the access projection in the query, so a page of
/// 50 costs one query whatever the tenant's size.
pub(crate) async fn visible(
    app: &App,
    caller: &Caller,
    mut filter: CaseFilter,
) -> Result<Vec<CaseSummary>> {
    filter.reader = Some(caller.reader(app.clock.today(), Access::Read));
    Ok(app.store.cases(caller.actor.tenant_id, &filter).await?)
}

/// One case as the caller may see it.
pub async fn get(app: &App, caller: &Caller, id: CaseId) -> Result<CaseView> {
    let a = access::case(app, caller, id, Access::Read).await?;
    record(
        app,
        caller
            .audit("case.read")
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis),
    )
    .await?;
    Ok(CaseView::new(
        id,
        a.case.version,
        a.case.state,
        a.person.consents,
        app.clock.today(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub reason: Option<String>,
    /// For a contact record (支援経過), its number on the case (1 = the first), the number a
    /// correction (`correct_contact`) names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_record: Option<u32>,
    pub event: CaseEvent,
}

/// A case with its timeline (支援経過記録), as the case page shows it: one access check and one
/// audit entry for both.
pub struct CasePage {
    pub case: CaseView,
    pub timeline: Vec<TimelineEntry>,
}

pub async fn page(app: &App, caller: &Caller, id: CaseId) -> Result<CasePage> {
    let a = access::case(app, caller, id, Access::Read).await?;
    let events = app.store.events(caller.actor.tenant_id, id.0).await?;
    record(
        app,
        caller
            .audit("case.read")
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis)
            .detail("with_timeline"),
    )
    .await?;
    Ok(CasePage {
        case: CaseView::new(
            id,
            a.case.version,
            a.case.state,
            a.person.consents,
            app.clock.today(),
        ),
        timeline: timeline_of(events)?,
    })
}

impl TimelineEntry {
    fn of(e: StoredEvent, event: CaseEvent) -> Self {
        TimelineEntry {
            version: e.version,
            recorded_at: e.recorded_at,
            actor: e.actor,
            reason: e.reason,
            contact_record: None,
            event,
        }
    }
}

fn timeline_of(events: Vec<StoredEvent>) -> Result<Vec<TimelineEntry>> {
    let mut contacts = 0;
    events
        .into_iter()
        .map(|mut e| {
            let payload = std::mem::take(&mut e.payload);
            let mut entry = TimelineEntry::of(e, decode(payload)?);
            if let CaseEvent::ContactRecorded { .. } = entry.event {
                contacts += 1;
                entry.contact_record = Some(contacts);
            }
            Ok(entry)
        })
        .collect()
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseCommandRequest {
    /// The version the user saw; a newer stored version is a conflict (409).
    pub expected_version: u64,
    /// Why (optional), kept with the events.
    #[serde(default)]
    pub reason: Option<String>,
    pub command: CaseCommand,
}

/// Checks that organisations named in a command belong to the tenant.
pub(crate) async fn check_orgs(app: &App, caller: &Caller, orgs: &[OrgId]) -> Result<()> {
    if orgs.is_empty() {
        return Ok(());
    }
    let known = app.store.orgs(caller.actor.tenant_id).await?;
    if orgs.iter().any(|o| !known.iter().any(|k| k.id == *o)) {
        return Err(Error::invalid(
            "organisation.unknown",
            "指定された機関が見つかりません。",
        ));
    }
    Ok(())
}

/// Checks that users named in a command are active case workers of the tenant.
pub(crate) async fn check_users(app: &App, caller: &Caller, users: &[UserId]) -> Result<()> {
    for id in users {
        let user = app.store.user(*id).await?;
        if !user.is_some_and(|u| {
            u.tenant_id == caller.actor.tenant_id && u.role.works_cases() && !u.disabled
        }) {
            return Err(Error::invalid(
                "user.unknown",
                "指定された職員が見つかりません。",
            ));
        }
    }
    Ok(())
}

/// Checks that organisations and users named in a command belong to the tenant.
async fn check_references(app: &App, caller: &Caller, cmd: &CaseCommand) -> Result<()> {
    match cmd {
        CaseCommand::AddTeamMember { org_id } | CaseCommand::RemoveTeamMember { org_id } => {
            check_orgs(app, caller, &[*org_id]).await
        }
        CaseCommand::MakeReferral { referral } => {
            check_orgs(
                app,
                caller,
                &referral.to_org.into_iter().collect::<Vec<_>>(),
            )
            .await
        }
        CaseCommand::AssignWorker { user_id } => check_users(app, caller, &[*user_id]).await,
        CaseCommand::Restrict { users } => check_users(app, caller, users).await,
        _ => Ok(()),
    }
}

/// One step of the lifecycle: access for the command, the version check, core's decision, the
/// append with its audit entry. Returns the case as it is now.
pub async fn command(
    app: &App,
    caller: &Caller,
    id: CaseId,
    req: CaseCommandRequest,
) -> Result<CaseView> {
    let a = access::case_action(app, caller, id, req.command.action()).await?;
    let (current, basis, consents) = (a.case, a.basis, a.person.consents);
    expect_version(current.version, req.expected_version)?;
    check_references(app, caller, &req.command).await?;
    let entry = caller
        .audit("case.command")
        .object("case", id)
        .subject(current.state.person_id)
        .basis(basis)
        .detail(action_name(&req.command));
    let today = app.clock.today();
    let events = case::decide(
        &current.state,
        req.command,
        &ctx(app, caller, &consents),
        Uuid::now_v7(),
    )?;
    if events.is_empty() {
        return Ok(CaseView::new(
            id,
            current.version,
            current.state,
            consents,
            today,
        ));
    }
    let mut state = current.state;
    for e in &events {
        state.evolve(e);
    }
    let versions = app
        .store
        .append(batch(
            caller,
            entry,
            req.reason,
            vec![StreamAppend::Case {
                id,
                expected_version: req.expected_version,
                events,
            }],
        ))
        .await?;
    let version = versions.first().copied().unwrap_or(current.version);
    Ok(CaseView::new(id, version, state, consents, today))
}

/// The case's stored events, after the read access check and with the read's audit entry.
async fn read_events(
    app: &App,
    caller: &Caller,
    id: CaseId,
    action: &str,
) -> Result<Vec<StoredEvent>> {
    let a = access::case(app, caller, id, Access::Read).await?;
    let events = app.store.events(caller.actor.tenant_id, id.0).await?;
    record(
        app,
        caller
            .audit(action)
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis),
    )
    .await?;
    Ok(events)
}

async fn events(
    app: &App,
    caller: &Caller,
    id: CaseId,
    action: &str,
) -> Result<Vec<(StoredEvent, CaseEvent)>> {
    read_events(app, caller, id, action)
        .await?
        .into_iter()
        .map(|e| {
            let ev = decode(e.payload.clone())?;
            Ok((e, ev))
        })
        .collect()
}

/// The timeline (支援経過記録): the case's events, oldest first, contact records numbered.
pub async fn timeline(app: &App, caller: &Caller, id: CaseId) -> Result<Vec<TimelineEntry>> {
    timeline_of(read_events(app, caller, id, "case.timeline_read").await?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssessmentVersion {
    pub version: u32,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub assessment: Assessment,
}

pub async fn assessments(app: &App, caller: &Caller, id: CaseId) -> Result<Vec<AssessmentVersion>> {
    let events = events(app, caller, id, "case.assessments_read").await?;
    Ok(events
        .into_iter()
        .filter_map(|(e, event)| match event {
            CaseEvent::AssessmentRecorded {
                version,
                assessment,
            } => Some(AssessmentVersion {
                version,
                recorded_at: e.recorded_at,
                actor: e.actor,
                assessment,
            }),
            _ => None,
        })
        .collect())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanVersion {
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub plan: Plan,
    pub approved_by: Option<MeetingId>,
    pub returned_by: Vec<MeetingId>,
    /// Why a プランの修正 was made (none for a drafted plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modification_reason: Option<tsunagu_core::LongText>,
}

pub async fn plans(app: &App, caller: &Caller, id: CaseId) -> Result<Vec<PlanVersion>> {
    let events = events(app, caller, id, "case.plans_read").await?;
    let mut plans: Vec<PlanVersion> = Vec::new();
    for (e, event) in events {
        match event {
            CaseEvent::PlanDrafted { plan } => plans.push(PlanVersion {
                recorded_at: e.recorded_at,
                actor: e.actor,
                plan,
                approved_by: None,
                returned_by: vec![],
                modification_reason: None,
            }),
            CaseEvent::PlanModified { plan, reason } => plans.push(PlanVersion {
                recorded_at: e.recorded_at,
                actor: e.actor,
                plan,
                approved_by: None,
                returned_by: vec![],
                modification_reason: Some(reason),
            }),
            CaseEvent::PlanApproved {
                plan_version,
                meeting_id,
                ..
            } => {
                if let Some(p) = plans.iter_mut().find(|p| p.plan.version == plan_version) {
                    p.approved_by = Some(meeting_id);
                }
            }
            CaseEvent::PlanReturned {
                plan_version,
                meeting_id,
                ..
            } => {
                if let Some(p) = plans.iter_mut().find(|p| p.plan.version == plan_version) {
                    p.returned_by.push(meeting_id);
                }
            }
            _ => {}
        }
    }
    Ok(plans)
}
