//! JSON API handlers: parse into domain types, authorise through `access`, decide in core,
//! append through the store.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tsunagu_core::case::{
    self, Assessment, CaseCommand, CaseEvent, CaseState, DueItem, DueKind, OpenCase, Plan, Stage,
    Todo,
};
use tsunagu_core::meeting::{self, MeetingCommand, MeetingState, ScheduleMeeting};
use tsunagu_core::person::{self, Consent, PersonCommand, PersonDetails, PersonEvent, PersonField};
use tsunagu_core::policy::{self, Access};
use tsunagu_core::{
    ActorRef, CaseId, Context, HouseholdId, MeetingId, OrgId, OrgKind, PersonId, TenantSettings,
    UserId,
};
use tsunagu_store::{
    AppendBatch, AuditEntry, Basis, CaseFilter, CaseSummary, DueRow, DueScope, Idempotency,
    MeetingSummary, PersonQuery, PersonSummary, StoreError, StoredEvent, StreamAppend,
};
use uuid::Uuid;

use crate::AppState;
use crate::access;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

pub(crate) fn ctx<'a>(app: &AppState, auth: &'a Auth, consents: &'a [Consent]) -> Context<'a> {
    Context {
        today: app.clock.today(),
        actor: &auth.actor,
        settings: &auth.settings,
        consents,
    }
}

/// One write with its audit entry: both commit together or not at all.
pub(crate) fn batch(
    auth: &Auth,
    audit: AuditEntry,
    reason: Option<String>,
    streams: Vec<StreamAppend>,
) -> AppendBatch {
    AppendBatch {
        tenant: auth.actor.tenant_id,
        actor: auth.actor.actor_ref(),
        recorded_at: jiff::Timestamp::now(),
        reason,
        idempotency: None,
        streams,
        audit: vec![audit],
        files: Vec::new(),
    }
}

/// The optimistic-concurrency check of a command: the version the user saw must be current.
pub(crate) fn expect_version(actual: u64, expected: u64) -> ApiResult<()> {
    if actual != expected {
        return Err(StoreError::Conflict { expected, actual }.into());
    }
    Ok(())
}

/// Records a read before its data leaves the server; if the audit write fails, so does the
/// request (fail-closed).
async fn record(app: &AppState, entry: AuditEntry) -> ApiResult<()> {
    app.store.audit(&[entry]).await?;
    Ok(())
}

/// The `action` name of a tagged command, for the audit trail.
fn action_name(command: &impl Serialize) -> String {
    serde_json::to_value(command)
        .ok()
        .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The `Idempotency-Key` header and a hash of the request it guards.
fn idempotency_key(
    headers: &HeaderMap,
    body: &impl Serialize,
) -> ApiResult<Option<(String, String)>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "request.invalid_idempotency_key",
                "Idempotency-Key は1〜200文字の英数字で指定してください。",
            )
        })?;
    let bytes = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
    Ok(Some((key.to_owned(), hex::encode(Sha256::digest(&bytes)))))
}

/// Runs a create with an optional idempotency key: a retry of the same request returns what the
/// first one made; the same key with another request is refused.
async fn create_once(
    app: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    body: &impl Serialize,
    make: impl FnOnce(Uuid) -> ApiResult<AppendBatch>,
) -> ApiResult<(StatusCode, Uuid)> {
    let key = idempotency_key(headers, body)?;
    if let Some((key, hash)) = &key
        && let Some(existing) = app
            .store
            .idempotent_replay(auth.actor.tenant_id, key, hash)
            .await?
    {
        return Ok((StatusCode::OK, existing));
    }
    let id = Uuid::now_v7();
    let mut batch = make(id)?;
    batch.idempotency = key.map(|(key, request_hash)| Idempotency {
        key,
        request_hash,
        stream_id: id,
    });
    match app.store.append(batch).await {
        Ok(_) => Ok((StatusCode::CREATED, id)),
        Err(StoreError::IdempotentReplay { stream_id }) => Ok((StatusCode::OK, stream_id)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

// --- health and session -------------------------------------------------------------------

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok")))]
pub async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    match app.store.tenants().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

// --- organisations and settings -------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
}

#[utoipa::path(get, path = "/api/organisations", responses((status = 200, body = Vec<OrganisationView>)))]
pub async fn organisations(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<OrganisationView>>> {
    let orgs = app.store.orgs(auth.actor.tenant_id).await?;
    Ok(Json(
        orgs.into_iter()
            .map(|o| OrganisationView {
                id: o.id,
                name: o.name,
                kind: o.kind,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/settings", responses((status = 200, body = TenantSettings)))]
pub async fn get_settings(auth: Auth) -> Json<TenantSettings> {
    Json(auth.settings)
}

#[utoipa::path(put, path = "/api/settings", request_body = TenantSettings,
    responses((status = 200, body = TenantSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> ApiResult<Json<TenantSettings>> {
    access::administer(&auth)?;
    settings
        .validate()
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "settings.invalid", m))?;
    app.store
        .update_tenant_settings(
            auth.actor.tenant_id,
            &settings,
            &auth.audit("settings.changed").basis(Basis::Administration),
        )
        .await?;
    Ok(Json(settings))
}

// --- persons --------------------------------------------------------------------------------

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
    pub cases: Vec<CaseSummary>,
}

#[utoipa::path(post, path = "/api/persons", request_body = PersonCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created, description = "replay of an earlier create"), (status = 422, body = ErrorBody)))]
pub async fn create_person(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PersonCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    access::work_cases(&auth)?;
    let household = match req.household_id {
        None => HouseholdId(Uuid::now_v7()),
        Some(h) => {
            // Joining a household requires seeing one of its members.
            let members = app
                .store
                .search_persons(
                    auth.actor.tenant_id,
                    auth.actor.org_id,
                    &PersonQuery {
                        household: Some(h),
                        limit: 1,
                        ..Default::default()
                    },
                )
                .await?;
            if members.is_empty() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "household.not_found",
                    "指定された世帯が見つかりません。",
                ));
            }
            h
        }
    };
    let events = person::register(req.details.clone(), household, &ctx(&app, &auth, &[]))?;
    let (status, id) = create_once(&app, &auth, &headers, &req, |id| {
        Ok(batch(
            &auth,
            auth.audit("person.registered")
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
    .await?;
    Ok((status, Json(Created { id })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonSearch {
    /// Part of the name or kana.
    pub name: Option<String>,
    pub date_of_birth: Option<Date>,
    pub phone: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/persons", params(PersonSearch),
    responses((status = 200, body = Vec<PersonSummary>)))]
pub async fn search_persons(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PersonSearch>,
) -> ApiResult<Json<Vec<PersonSummary>>> {
    access::work_cases(&auth)?;
    let query = PersonQuery {
        name: q.name.filter(|n| !n.trim().is_empty()),
        date_of_birth: q.date_of_birth,
        phone: q.phone.filter(|p| !p.trim().is_empty()),
        household: None,
        limit: q.limit.unwrap_or(50),
    };
    let rows = app
        .store
        .search_persons(auth.actor.tenant_id, auth.actor.org_id, &query)
        .await?;
    let found = visible_persons(&app, &auth, rows, query.phone.is_some()).await?;
    // The search terms are personal data: only which fields were used goes to the audit.
    let fields: Vec<&str> = [
        ("name", query.name.is_some()),
        ("date_of_birth", query.date_of_birth.is_some()),
        ("phone", query.phone.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    record(
        &app,
        auth.audit("person.search")
            .subjects(found.iter().map(|p| p.id))
            .basis(Basis::Team)
            .detail(format!(
                "fields={} results={}",
                fields.join(","),
                found.len()
            )),
    )
    .await?;
    Ok(Json(found))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: HouseholdId,
    /// The members the caller may see.
    pub members: Vec<PersonSummary>,
}

#[utoipa::path(get, path = "/api/households/{id}", params(("id" = HouseholdId, Path)),
    responses((status = 200, body = HouseholdView), (status = 404, body = ErrorBody)))]
pub async fn get_household(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<HouseholdId>,
) -> ApiResult<Json<HouseholdView>> {
    let rows = app
        .store
        .search_persons(
            auth.actor.tenant_id,
            auth.actor.org_id,
            &PersonQuery {
                household: Some(id),
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
    let members = visible_persons(&app, &auth, rows, false).await?;
    if members.is_empty() {
        return Err(ApiError::not_found());
    }
    record(
        &app,
        auth.audit("household.read")
            .object("household", id)
            .subjects(members.iter().map(|p| p.id))
            .basis(Basis::Team),
    )
    .await?;
    Ok(Json(HouseholdView { id, members }))
}

/// The rows the actor may see: the search projection knows which organisations a person is
/// near, not roles, consent or restrictions, so every row passes the policy. A match on a
/// restricted phone number is dropped for users who may not see it (it would disclose it).
async fn visible_persons(
    app: &AppState,
    auth: &Auth,
    rows: Vec<PersonSummary>,
    matched_phone: bool,
) -> ApiResult<Vec<PersonSummary>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match access::person(app, auth, row.id, Access::Read).await {
            Ok((p, _)) => {
                if !(matched_phone
                    && p.state
                        .hidden_from(auth.actor.user_id)
                        .contains(&PersonField::Phone))
                {
                    out.push(row);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Cases of a person that the actor may see.
async fn visible_cases(
    app: &AppState,
    auth: &Auth,
    filter: CaseFilter,
) -> ApiResult<Vec<CaseSummary>> {
    let rows = app.store.cases(auth.actor.tenant_id, &filter).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if access::may_read_case(app, auth, row.id).await? {
            out.push(row);
        }
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/persons/{id}", params(("id" = PersonId, Path)),
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody)))]
pub async fn get_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<PersonView>> {
    let (p, basis) = access::person(&app, &auth, id, Access::Read).await?;
    let cases = visible_cases(
        &app,
        &auth,
        CaseFilter {
            visible_to_org: Some(auth.actor.org_id),
            person: Some(id),
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    record(
        &app,
        auth.audit("person.read")
            .object("person", id)
            .subject(id)
            .basis(basis),
    )
    .await?;
    let user = auth.actor.user_id;
    Ok(Json(PersonView {
        id,
        version: p.version,
        details: p.state.details_for(user),
        redacted: p.state.hidden_from(user),
        restriction: p.state.restriction.filter(|r| r.users.contains(&user)),
        household_id: p.state.household_id,
        registered_by_org: p.state.registered_by_org,
        consents: p.state.consents,
        cases,
    }))
}

#[utoipa::path(put, path = "/api/persons/{id}", params(("id" = PersonId, Path)), request_body = PersonUpdate,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(req): ApiJson<PersonUpdate>,
) -> ApiResult<Json<PersonView>> {
    let (current, basis) = access::person(&app, &auth, id, Access::Write).await?;
    let events = person::change(&current.state, req.details, &ctx(&app, &auth, &[]))?;
    if !events.is_empty() {
        app.store
            .append(batch(
                &auth,
                auth.audit("person.changed")
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
    get_person(State(app), auth, ApiPath(id)).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonHistoryEntry {
    pub version: u64,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub event: PersonEvent,
}

#[utoipa::path(get, path = "/api/persons/{id}/history", params(("id" = PersonId, Path)),
    responses((status = 200, body = Vec<PersonHistoryEntry>), (status = 404, body = ErrorBody)))]
pub async fn person_history(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<Vec<PersonHistoryEntry>>> {
    let (p, basis) = access::person(&app, &auth, id, Access::Read).await?;
    let hidden = p.state.hidden_from(auth.actor.user_id);
    let events = app.store.events(auth.actor.tenant_id, id.0).await?;
    record(
        &app,
        auth.audit("person.history_read")
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
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonCommandRequest {
    pub expected_version: u64,
    #[serde(default)]
    pub reason: Option<String>,
    pub command: PersonCommand,
}

/// Consent (本人同意) and field restrictions: changes to who may see the person's information.
#[utoipa::path(post, path = "/api/persons/{id}/commands", params(("id" = PersonId, Path)), request_body = PersonCommandRequest,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn person_command(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(req): ApiJson<PersonCommandRequest>,
) -> ApiResult<Json<PersonView>> {
    let (current, basis) = access::person(&app, &auth, id, Access::Write).await?;
    expect_version(current.version, req.expected_version)?;
    match &req.command {
        PersonCommand::RecordConsent { organisations, .. } => {
            check_orgs(&app, &auth, organisations).await?
        }
        PersonCommand::RestrictFields { users, .. } => check_users(&app, &auth, users).await?,
        PersonCommand::WithdrawConsent { .. } => {}
    }
    let entry = auth
        .audit("person.command")
        .object("person", id)
        .subject(id)
        .basis(basis)
        .detail(action_name(&req.command));
    let events = person::decide(
        &current.state,
        req.command,
        &ctx(&app, &auth, &[]),
        Uuid::now_v7(),
    )?;
    app.store
        .append(batch(
            &auth,
            entry,
            req.reason.filter(|r| !r.trim().is_empty()),
            vec![StreamAppend::Person {
                id,
                expected_version: req.expected_version,
                events,
            }],
        ))
        .await?;
    get_person(State(app), auth, ApiPath(id)).await
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| {
        tracing::error!(error = %e, "stored event cannot be decoded");
        ApiError::internal()
    })
}

// --- cases ----------------------------------------------------------------------------------

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

fn case_view(
    id: CaseId,
    version: u64,
    state: CaseState,
    consents: Vec<Consent>,
    today: Date,
) -> CaseView {
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

#[utoipa::path(post, path = "/api/cases", request_body = OpenCaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<OpenCaseRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    access::work_cases(&auth)?;
    let (person, basis) = access::person(&app, &auth, req.case.person_id, Access::Write).await?;
    let events = case::open(req.case.clone(), &ctx(&app, &auth, &[]))?;
    // The consent given at intake is recorded with the case, in the same transaction.
    let consent = match req.consent.clone() {
        Some(c) => {
            check_orgs(&app, &auth, &c.organisations).await?;
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
                &ctx(&app, &auth, &[]),
                Uuid::now_v7(),
            )?)
        }
        None => None,
    };
    let person_id = req.case.person_id;
    let (status, id) = create_once(&app, &auth, &headers, &req, |id| {
        let mut streams = vec![StreamAppend::Case {
            id: CaseId(id),
            expected_version: 0,
            events,
        }];
        let mut b = batch(
            &auth,
            auth.audit("case.opened")
                .object("case", id)
                .subject(person_id)
                .basis(Basis::Team),
            None,
            Vec::new(),
        );
        if let Some(events) = consent {
            streams.push(StreamAppend::Person {
                id: person_id,
                expected_version: person.version,
                events,
            });
            b.audit.push(
                auth.audit("person.command")
                    .object("person", person_id)
                    .subject(person_id)
                    .basis(basis)
                    .detail("record_consent"),
            );
        }
        b.streams = streams;
        Ok(b)
    })
    .await?;
    Ok((status, Json(Created { id })))
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseListQuery {
    pub stage: Option<Stage>,
    /// `me` for the caller's own cases, or a user id.
    pub worker: Option<String>,
    pub person: Option<PersonId>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/cases", params(CaseListQuery),
    responses((status = 200, body = Vec<CaseSummary>)))]
pub async fn list_cases(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CaseListQuery>,
) -> ApiResult<Json<Vec<CaseSummary>>> {
    access::work_cases(&auth)?;
    let worker = match q.worker.as_deref() {
        None => None,
        Some("me") => Some(auth.user.id),
        Some(other) => Some(other.parse::<UserId>().map_err(|_| {
            ApiError::bad_request(
                "request.invalid_query",
                "worker には me か利用者IDを指定してください。",
            )
        })?),
    };
    let filter = CaseFilter {
        visible_to_org: Some(auth.actor.org_id),
        stage: q.stage,
        assigned_worker: worker,
        person: q.person,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
        ..Default::default()
    };
    let cases = visible_cases(&app, &auth, filter).await?;
    record(
        &app,
        auth.audit("case.list")
            .subjects(cases.iter().map(|c| c.person_id))
            .detail(format!("results={}", cases.len())),
    )
    .await?;
    Ok(Json(cases))
}

#[utoipa::path(get, path = "/api/cases/{id}", params(("id" = CaseId, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<CaseView>> {
    let a = access::case(&app, &auth, id, Access::Read).await?;
    record(
        &app,
        auth.audit("case.read")
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis),
    )
    .await?;
    Ok(Json(case_view(
        id,
        a.case.version,
        a.case.state,
        a.person.consents,
        app.clock.today(),
    )))
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
async fn check_orgs(app: &AppState, auth: &Auth, orgs: &[OrgId]) -> ApiResult<()> {
    if orgs.is_empty() {
        return Ok(());
    }
    let known = app.store.orgs(auth.actor.tenant_id).await?;
    if orgs.iter().any(|o| !known.iter().any(|k| k.id == *o)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "organisation.unknown",
            "指定された機関が見つかりません。",
        ));
    }
    Ok(())
}

/// Checks that users named in a command are active case workers of the tenant.
async fn check_users(app: &AppState, auth: &Auth, users: &[UserId]) -> ApiResult<()> {
    for id in users {
        let user = app.store.user(*id).await?;
        if !user.is_some_and(|u| {
            u.tenant_id == auth.actor.tenant_id && u.role.works_cases() && !u.disabled
        }) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "user.unknown",
                "指定された職員が見つかりません。",
            ));
        }
    }
    Ok(())
}

/// Checks that organisations and users named in a command belong to the tenant.
async fn check_references(app: &AppState, auth: &Auth, cmd: &CaseCommand) -> ApiResult<()> {
    match cmd {
        CaseCommand::AddTeamMember { org_id } | CaseCommand::RemoveTeamMember { org_id } => {
            check_orgs(app, auth, &[*org_id]).await
        }
        CaseCommand::MakeReferral { referral } => {
            check_orgs(app, auth, &referral.to_org.into_iter().collect::<Vec<_>>()).await
        }
        CaseCommand::AssignWorker { user_id } => check_users(app, auth, &[*user_id]).await,
        CaseCommand::Restrict { users } => check_users(app, auth, users).await,
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/api/cases/{id}/commands", params(("id" = CaseId, Path)), request_body = CaseCommandRequest,
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_command(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(req): ApiJson<CaseCommandRequest>,
) -> ApiResult<Json<CaseView>> {
    let a = access::case(&app, &auth, id, policy::command_access(&req.command)).await?;
    let (current, basis, consents) = (a.case, a.basis, a.person.consents);
    expect_version(current.version, req.expected_version)?;
    check_references(&app, &auth, &req.command).await?;
    let entry = auth
        .audit("case.command")
        .object("case", id)
        .subject(current.state.person_id)
        .basis(basis)
        .detail(action_name(&req.command));
    let today = app.clock.today();
    let events = case::decide(
        &current.state,
        req.command,
        &ctx(&app, &auth, &consents),
        Uuid::now_v7(),
    )?;
    if events.is_empty() {
        return Ok(Json(case_view(
            id,
            current.version,
            current.state,
            consents,
            today,
        )));
    }
    let mut state = current.state;
    for e in &events {
        state.evolve(e);
    }
    let versions = app
        .store
        .append(batch(
            &auth,
            entry,
            req.reason.filter(|r| !r.trim().is_empty()),
            vec![StreamAppend::Case {
                id,
                expected_version: req.expected_version,
                events,
            }],
        ))
        .await?;
    let version = versions.first().copied().unwrap_or(current.version);
    Ok(Json(case_view(id, version, state, consents, today)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub event: CaseEvent,
}

async fn case_events(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    action: &str,
) -> ApiResult<Vec<(StoredEvent, CaseEvent)>> {
    let a = access::case(app, auth, id, Access::Read).await?;
    let events = app.store.events(auth.actor.tenant_id, id.0).await?;
    record(
        app,
        auth.audit(action)
            .object("case", id)
            .subject(a.case.state.person_id)
            .basis(a.basis),
    )
    .await?;
    events
        .into_iter()
        .map(|e| {
            let ev = decode(e.payload.clone())?;
            Ok((e, ev))
        })
        .collect()
}

#[utoipa::path(get, path = "/api/cases/{id}/timeline", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 404, body = ErrorBody)))]
pub async fn case_timeline(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<TimelineEntry>>> {
    let events = case_events(&app, &auth, id, "case.timeline_read").await?;
    Ok(Json(
        events
            .into_iter()
            .map(|(e, event)| TimelineEntry {
                version: e.version,
                recorded_at: e.recorded_at,
                actor: e.actor,
                reason: e.reason,
                event,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssessmentVersion {
    pub version: u32,
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub assessment: Assessment,
}

#[utoipa::path(get, path = "/api/cases/{id}/assessments", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<AssessmentVersion>), (status = 404, body = ErrorBody)))]
pub async fn case_assessments(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<AssessmentVersion>>> {
    let events = case_events(&app, &auth, id, "case.assessments_read").await?;
    Ok(Json(
        events
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
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanVersion {
    pub recorded_at: jiff::Timestamp,
    pub actor: ActorRef,
    pub plan: Plan,
    pub approved_by: Option<MeetingId>,
    pub returned_by: Vec<MeetingId>,
}

#[utoipa::path(get, path = "/api/cases/{id}/plans", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<PlanVersion>), (status = 404, body = ErrorBody)))]
pub async fn case_plans(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<PlanVersion>>> {
    let events = case_events(&app, &auth, id, "case.plans_read").await?;
    let mut plans: Vec<PlanVersion> = Vec::new();
    for (e, event) in events {
        match event {
            CaseEvent::PlanDrafted { plan } => plans.push(PlanVersion {
                recorded_at: e.recorded_at,
                actor: e.actor,
                plan,
                approved_by: None,
                returned_by: vec![],
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
    Ok(Json(plans))
}

// --- meetings -------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    pub id: MeetingId,
    pub version: u64,
    pub kind_label: &'static str,
    pub state: MeetingState,
}

#[utoipa::path(post, path = "/api/meetings", request_body = ScheduleMeeting,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created), (status = 422, body = ErrorBody)))]
pub async fn create_meeting(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ScheduleMeeting>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    access::work_cases(&auth)?;
    let events = meeting::schedule(req.clone(), &ctx(&app, &auth, &[]));
    let (status, id) = create_once(&app, &auth, &headers, &req, |id| {
        Ok(batch(
            &auth,
            auth.audit("meeting.scheduled")
                .object("meeting", id)
                .basis(Basis::Meeting),
            None,
            vec![StreamAppend::Meeting {
                id: MeetingId(id),
                expected_version: 0,
                events,
            }],
        ))
    })
    .await?;
    Ok((status, Json(Created { id })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingListQuery {
    /// Meetings on or after this date (default: 90 days ago).
    pub from: Option<Date>,
}

#[utoipa::path(get, path = "/api/meetings", params(MeetingListQuery),
    responses((status = 200, body = Vec<MeetingSummary>)))]
pub async fn list_meetings(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<MeetingListQuery>,
) -> ApiResult<Json<Vec<MeetingSummary>>> {
    access::work_cases(&auth)?;
    let from = q.from.unwrap_or_else(|| {
        let today = app.clock.today();
        today
            .checked_sub(jiff::Span::new().days(90))
            .unwrap_or(today)
    });
    let meetings = app
        .store
        .meetings(auth.actor.tenant_id, auth.actor.org_id, from)
        .await?;
    record(
        &app,
        auth.audit("meeting.list")
            .basis(Basis::Meeting)
            .detail(format!("results={}", meetings.len())),
    )
    .await?;
    Ok(Json(meetings))
}

#[utoipa::path(get, path = "/api/meetings/{id}", params(("id" = MeetingId, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody)))]
pub async fn get_meeting(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MeetingId>,
) -> ApiResult<Json<MeetingView>> {
    let m = access::meeting(&app, &auth, id).await?;
    record(
        &app,
        auth.audit("meeting.read")
            .object("meeting", id)
            .basis(Basis::Meeting),
    )
    .await?;
    Ok(Json(MeetingView {
        id,
        version: m.version,
        kind_label: m.state.kind.label_ja(),
        state: m.state,
    }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeetingCommandRequest {
    pub expected_version: u64,
    #[serde(default)]
    pub reason: Option<String>,
    pub command: MeetingCommand,
}

#[utoipa::path(post, path = "/api/meetings/{id}/commands", params(("id" = MeetingId, Path)), request_body = MeetingCommandRequest,
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn meeting_command(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MeetingId>,
    ApiJson(req): ApiJson<MeetingCommandRequest>,
) -> ApiResult<Json<MeetingView>> {
    let current = access::meeting(&app, &auth, id).await?;
    expect_version(current.version, req.expected_version)?;
    let case = match req.command.case_id() {
        Some(case_id) => Some((
            case_id,
            access::case(&app, &auth, case_id, Access::Write)
                .await?
                .case,
        )),
        None => None,
    };
    let mut entry = auth
        .audit("meeting.command")
        .object("meeting", id)
        .basis(Basis::Meeting)
        .detail(action_name(&req.command));
    if let Some((_, c)) = &case {
        entry = entry.subject(c.state.person_id);
    }
    let orgs = app
        .store
        .orgs(auth.actor.tenant_id)
        .await?
        .into_iter()
        .map(|o| (o.id, o.kind))
        .collect();
    let (meeting_events, case_events) = meeting::decide(
        id,
        &current.state,
        req.command,
        case.as_ref().map(|(_, c)| &c.state),
        &orgs,
        &ctx(&app, &auth, &[]),
    )?;
    let mut streams = vec![StreamAppend::Meeting {
        id,
        expected_version: req.expected_version,
        events: meeting_events,
    }];
    if let Some((case_id, c)) = case
        && !case_events.is_empty()
    {
        streams.push(StreamAppend::Case {
            id: case_id,
            expected_version: c.version,
            events: case_events,
        });
    }
    app.store
        .append(batch(
            &auth,
            entry,
            req.reason.filter(|r| !r.trim().is_empty()),
            streams,
        ))
        .await?;
    let m = app
        .store
        .meeting(auth.actor.tenant_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(MeetingView {
        id,
        version: m.version,
        kind_label: m.state.kind.label_ja(),
        state: m.state,
    }))
}

// --- due list -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// The day to compute for (default: today in Japan).
    pub date: Option<Date>,
    /// `me` (default), `org`, or `tenant` (counts only).
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueEntry {
    #[serde(flatten)]
    pub row: DueRow,
    pub label: &'static str,
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueCount {
    pub kind: DueKind,
    pub label: &'static str,
    pub due: usize,
    pub overdue: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueList {
    pub date: Date,
    /// Case items (scopes `me` and `org`).
    pub items: Vec<DueEntry>,
    /// Counts by kind (every scope; the only content of scope `tenant`).
    pub counts: Vec<DueCount>,
    /// Meetings from the date on within the horizon, of which the caller's organisation is a member.
    pub meetings: Vec<MeetingSummary>,
}

#[utoipa::path(get, path = "/api/due", params(DueQuery), responses((status = 200, body = DueList), (status = 400, body = ErrorBody)))]
pub async fn due(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> ApiResult<Json<DueList>> {
    let date = q.date.unwrap_or_else(|| app.clock.today());
    let scope = match q.scope.as_deref().unwrap_or("me") {
        "me" => DueScope::Worker(auth.user.id),
        "org" => DueScope::Org(auth.actor.org_id),
        "tenant" => DueScope::Tenant,
        _ => {
            return Err(ApiError::bad_request(
                "request.invalid_query",
                "scope には me、org、tenant のいずれかを指定してください。",
            ));
        }
    };
    due_list(&app, &auth, date, scope).await.map(Json)
}

/// The due list of a scope on a date, every row through the policy, audited (the JSON API and
/// the dashboard).
pub(crate) async fn due_list(
    app: &AppState,
    auth: &Auth,
    date: Date,
    scope: DueScope,
) -> ApiResult<DueList> {
    let app = app.clone();
    let counts_only = matches!(scope, DueScope::Tenant);
    if counts_only {
        // Aggregates without names: for municipal oversight and leads.
        access::tenant_counts(auth)?;
    } else {
        access::work_cases(auth)?;
    }
    let plus = |days: u16| {
        date.checked_add(jiff::Span::new().days(i64::from(days)))
            .unwrap_or(date)
    };
    let rows = app
        .store
        .due(
            auth.actor.tenant_id,
            &scope,
            date,
            plus(auth.settings.due_horizon_days),
            plus(auth.settings.plan_end_warning_days),
        )
        .await?;
    let rows = if counts_only {
        rows
    } else {
        let mut visible = Vec::with_capacity(rows.len());
        for row in rows {
            if access::may_read_case(&app, auth, row.case_id).await? {
                visible.push(row);
            }
        }
        visible
    };
    let counts = DueKind::ALL
        .into_iter()
        .map(|kind| DueCount {
            kind,
            label: kind.label_ja(),
            due: rows.iter().filter(|r| r.kind == kind).count(),
            overdue: rows
                .iter()
                .filter(|r| r.kind == kind && r.due_on < date)
                .count(),
        })
        .collect();
    let items: Vec<DueEntry> = rows
        .into_iter()
        .map(|row| DueEntry {
            label: row.kind.label_ja(),
            overdue: row.due_on < date,
            row,
        })
        .collect();
    let items = if counts_only { vec![] } else { items };
    let horizon = plus(auth.settings.due_horizon_days);
    let meetings = if auth.actor.role.works_cases() {
        app.store
            .meetings(auth.actor.tenant_id, auth.actor.org_id, date)
            .await?
            .into_iter()
            .filter(|m| m.scheduled_on <= horizon && m.closed_on.is_none())
            .collect()
    } else {
        vec![]
    };
    record(
        &app,
        auth.audit("due.read")
            .subjects(items.iter().map(|i| i.row.person_id))
            .detail(format!("results={}", items.len())),
    )
    .await?;
    Ok(DueList {
        date,
        items,
        counts,
        meetings,
    })
}
