//! JSON API handlers: each parses the request, makes the caller and calls one use case of
//! `tsunagu_app`, which authorises, decides, appends and audits.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tsunagu_app::rows::{CaseSummary, MeetingSummary, PersonSummary};
use tsunagu_app::{cases, due as due_list_, meetings, persons};
use tsunagu_core::case::Stage;
use tsunagu_core::meeting::ScheduleMeeting;
use tsunagu_core::{CaseId, HouseholdId, MeetingId, PersonId, TenantSettings};
use uuid::Uuid;

pub use tsunagu_app::cases::{
    AssessmentVersion, CaseCommandRequest, CaseView, ConsentAtIntake, OpenCaseRequest, PlanVersion,
    TimelineEntry, TodoView,
};
pub use tsunagu_app::due::{DueCount, DueCounts, DueEntry, DueList};
pub use tsunagu_app::meetings::{MeetingCommandRequest, MeetingView};
pub use tsunagu_app::persons::{
    HouseholdView, MergeRequest, PersonCommandRequest, PersonCreate, PersonHistoryEntry,
    PersonUpdate, PersonView,
};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// The `Idempotency-Key` header of a create, checked.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "request.invalid_idempotency_key",
                "Idempotency-Key は1〜200文字の英数字で指定してください。",
            )
        })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// 201 with the new id, or 200 when the create was a replay of an earlier one.
fn created(c: tsunagu_app::Created) -> (StatusCode, Json<Created>) {
    let status = if c.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(Created { id: c.id }))
}

// --- health and session -------------------------------------------------------------------

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok")))]
pub async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    if tsunagu_app::admin::healthy(&app).await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

// --- organisations and settings -------------------------------------------------------------

pub use tsunagu_app::admin::OrganisationView;

#[utoipa::path(get, path = "/api/organisations", responses((status = 200, body = Vec<OrganisationView>)))]
pub async fn organisations(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<OrganisationView>>> {
    let orgs = tsunagu_app::admin::organisations(&app, &auth).await?;
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
    Json(auth.0.caller.settings)
}

#[utoipa::path(put, path = "/api/settings", request_body = TenantSettings,
    responses((status = 200, body = TenantSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> ApiResult<Json<TenantSettings>> {
    tsunagu_app::admin::put_settings(&app, &auth, &settings).await?;
    Ok(Json(settings))
}

// --- persons --------------------------------------------------------------------------------

#[utoipa::path(post, path = "/api/persons", request_body = PersonCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created, description = "replay of an earlier create"), (status = 422, body = ErrorBody)))]
pub async fn create_person(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PersonCreate>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let key = idempotency_key(&headers)?;
    Ok(created(persons::register(&app, &auth, req, key).await?))
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonMatchQuery {
    /// The name about to be registered.
    pub name: tsunagu_core::ShortText,
    pub kana: Option<tsunagu_core::ShortText>,
    pub date_of_birth: Option<Date>,
    pub phone: Option<tsunagu_core::ShortText>,
}

/// Persons already registered who are likely the one about to be registered (the same name or
/// kana, folded, with the same date of birth; or the same phone): ask before `POST
/// /api/persons`, as the registration page does.
#[utoipa::path(get, path = "/api/persons/matches", params(PersonMatchQuery),
    responses((status = 200, body = Vec<PersonSummary>), (status = 400, body = ErrorBody)))]
pub async fn person_matches(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PersonMatchQuery>,
) -> ApiResult<Json<Vec<PersonSummary>>> {
    let details = tsunagu_core::person::PersonDetails {
        name: q.name,
        kana: q.kana,
        date_of_birth: q.date_of_birth,
        phone: q.phone,
        name_is_provisional: false,
        sex: None,
        address: None,
        relationship: None,
        postal_code: None,
        mobile: None,
        email: None,
    };
    Ok(Json(
        persons::likely_duplicates(&app, &auth, &details).await?,
    ))
}

#[utoipa::path(get, path = "/api/persons", params(PersonSearch),
    responses((status = 200, body = Vec<PersonSummary>)))]
pub async fn search_persons(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PersonSearch>,
) -> ApiResult<Json<Vec<PersonSummary>>> {
    let search = persons::Search {
        name: q.name,
        date_of_birth: q.date_of_birth,
        phone: q.phone,
        limit: q.limit,
    };
    Ok(Json(persons::search(&app, &auth, search).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordSearchQuery {
    /// The words to find (every one must occur; hiragana, katakana, half- and full-width
    /// alike), at most 200 characters.
    pub q: String,
}

/// Full-text search over the case records the caller may read (支援経過, 相談受付, アセスメント,
/// プラン, モニタリング, 評価, つなぎ, …): the cases whose records hold every word, best match first,
/// each with up to three matching fragments.
#[utoipa::path(get, path = "/api/search/records", params(RecordSearchQuery),
    responses((status = 200, body = tsunagu_app::search::RecordResults), (status = 422, body = ErrorBody)))]
pub async fn search_records(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<RecordSearchQuery>,
) -> ApiResult<Json<tsunagu_app::search::RecordResults>> {
    Ok(Json(tsunagu_app::search::records(&app, &auth, &q.q).await?))
}

#[utoipa::path(get, path = "/api/households/{id}", params(("id" = HouseholdId, Path)),
    responses((status = 200, body = HouseholdView), (status = 404, body = ErrorBody)))]
pub async fn get_household(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<HouseholdId>,
) -> ApiResult<Json<HouseholdView>> {
    Ok(Json(persons::household(&app, &auth, id).await?))
}

#[utoipa::path(get, path = "/api/persons/{id}", params(("id" = PersonId, Path)),
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody)))]
pub async fn get_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(persons::get(&app, &auth, id).await?))
}

#[utoipa::path(put, path = "/api/persons/{id}", params(("id" = PersonId, Path)), request_body = PersonUpdate,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(req): ApiJson<PersonUpdate>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(persons::update(&app, &auth, id, req).await?))
}

#[utoipa::path(get, path = "/api/persons/{id}/history", params(("id" = PersonId, Path)),
    responses((status = 200, body = Vec<PersonHistoryEntry>), (status = 404, body = ErrorBody)))]
pub async fn person_history(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<Vec<PersonHistoryEntry>>> {
    Ok(Json(persons::history(&app, &auth, id).await?))
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
    Ok(Json(persons::command(&app, &auth, id, req).await?))
}

/// 重複登録の統合: merges a duplicate registration into this person (both histories kept, the
/// duplicate's cases read with the person's, the duplicate no longer found by search).
#[utoipa::path(post, path = "/api/persons/{id}/merge", params(("id" = PersonId, Path)), request_body = MergeRequest,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(persons::merge(&app, &auth, id, req).await?))
}

/// Undoes a merge: the duplicate registration stands on its own again.
#[utoipa::path(post, path = "/api/persons/{id}/unmerge", params(("id" = PersonId, Path)), request_body = MergeRequest,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unmerge_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<PersonId>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> ApiResult<Json<PersonView>> {
    Ok(Json(persons::unmerge(&app, &auth, id, req).await?))
}

// --- cases ----------------------------------------------------------------------------------

#[utoipa::path(post, path = "/api/cases", request_body = OpenCaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<OpenCaseRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let key = idempotency_key(&headers)?;
    Ok(created(cases::open(&app, &auth, req, key).await?))
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
    let worker = match q.worker.as_deref() {
        None => None,
        Some("me") => Some(cases::Worker::Me),
        Some(other) => Some(cases::Worker::User(other.parse().map_err(|_| {
            ApiError::bad_request(
                "request.invalid_query",
                "worker には me か利用者IDを指定してください。",
            )
        })?)),
    };
    let req = cases::ListRequest {
        stage: q.stage,
        worker,
        person: q.person,
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(cases::list(&app, &auth, req).await?))
}

/// 支援ケース一覧: one page (50) of the cases the caller may read that match, with how many
/// match. The same parameters as the page `/cases`; each that cannot be read is named in the
/// 400 answer (`request.invalid_query`).
#[utoipa::path(get, path = "/api/case-list", params(crate::pages::caselist::ListQuery),
    responses((status = 200, body = tsunagu_app::caseload::CaseList), (status = 400, body = ErrorBody)))]
pub async fn case_list(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<crate::pages::caselist::ListQuery>,
) -> ApiResult<Json<tsunagu_app::caseload::CaseList>> {
    let req = crate::pages::caselist::request_of(&q, &auth).map_err(|problems| {
        let message: Vec<String> = problems
            .iter()
            .map(|(field, m)| format!("{field}: {m}"))
            .collect();
        ApiError::bad_request("request.invalid_query", message.join(" "))
    })?;
    Ok(Json(tsunagu_app::caseload::list(&app, &auth, req).await?))
}

#[utoipa::path(get, path = "/api/cases/{id}", params(("id" = CaseId, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(cases::get(&app, &auth, id).await?))
}

#[utoipa::path(post, path = "/api/cases/{id}/commands", params(("id" = CaseId, Path)), request_body = CaseCommandRequest,
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_command(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(req): ApiJson<CaseCommandRequest>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(cases::command(&app, &auth, id, req).await?))
}

#[utoipa::path(get, path = "/api/cases/{id}/timeline", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 404, body = ErrorBody)))]
pub async fn case_timeline(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<TimelineEntry>>> {
    Ok(Json(cases::timeline(&app, &auth, id).await?))
}

#[utoipa::path(get, path = "/api/cases/{id}/assessments", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<AssessmentVersion>), (status = 404, body = ErrorBody)))]
pub async fn case_assessments(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<AssessmentVersion>>> {
    Ok(Json(cases::assessments(&app, &auth, id).await?))
}

#[utoipa::path(get, path = "/api/cases/{id}/plans", params(("id" = CaseId, Path)),
    responses((status = 200, body = Vec<PlanVersion>), (status = 404, body = ErrorBody)))]
pub async fn case_plans(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<CaseId>,
) -> ApiResult<Json<Vec<PlanVersion>>> {
    Ok(Json(cases::plans(&app, &auth, id).await?))
}

// --- meetings -------------------------------------------------------------------------------

#[utoipa::path(post, path = "/api/meetings", request_body = ScheduleMeeting,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried create safe")),
    responses((status = 201, body = Created), (status = 200, body = Created), (status = 422, body = ErrorBody)))]
pub async fn create_meeting(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ScheduleMeeting>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let key = idempotency_key(&headers)?;
    Ok(created(meetings::schedule(&app, &auth, req, key).await?))
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
    Ok(Json(meetings::list(&app, &auth, q.from).await?))
}

#[utoipa::path(get, path = "/api/meetings/{id}", params(("id" = MeetingId, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody)))]
pub async fn get_meeting(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MeetingId>,
) -> ApiResult<Json<MeetingView>> {
    Ok(Json(meetings::get(&app, &auth, id).await?))
}

#[utoipa::path(post, path = "/api/meetings/{id}/commands", params(("id" = MeetingId, Path)), request_body = MeetingCommandRequest,
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn meeting_command(
    State(app): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<MeetingId>,
    ApiJson(req): ApiJson<MeetingCommandRequest>,
) -> ApiResult<Json<MeetingView>> {
    Ok(Json(meetings::command(&app, &auth, id, req).await?))
}

// --- due list -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// The day to compute for (default: today in Japan).
    pub date: Option<Date>,
    /// `me` (default) or `org`. The tenant's counts are `/api/due/counts`.
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueCountsQuery {
    /// The day to compute for (default: today in Japan).
    pub date: Option<Date>,
}

/// The tenant's due and overdue counts by kind (no names), for leads, municipal officers and
/// administrators.
#[utoipa::path(get, path = "/api/due/counts", params(DueCountsQuery), responses((status = 200, body = DueCounts)))]
pub async fn due_counts(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DueCountsQuery>,
) -> ApiResult<Json<DueCounts>> {
    Ok(Json(due_list_::counts(&app, &auth, q.date).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NationalStatsQuery {
    /// The fiscal year, April of this year to March of the next (default: this fiscal year).
    pub fiscal_year: Option<i16>,
}

/// The national indicators (支援状況調査) of a fiscal year, month by month and for the year
/// (counts only; leads, municipal officers and administrators). The counting rules:
/// `docs/COUNTING.md`.
#[utoipa::path(get, path = "/api/stats/national", params(NationalStatsQuery), responses((status = 200, body = tsunagu_app::stats::NationalReport), (status = 400, body = ErrorBody)))]
pub async fn national_stats(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<NationalStatsQuery>,
) -> ApiResult<Json<tsunagu_app::stats::NationalReport>> {
    let fiscal_year = q
        .fiscal_year
        .unwrap_or_else(|| tsunagu_core::wareki::fiscal_year(app.clock.today()));
    Ok(Json(
        tsunagu_app::stats::national(&app, &auth, fiscal_year).await?,
    ))
}

/// A fiscal year's new consultations by 主訴, 相談経路, age band and sex (counts only; the
/// same callers as the national indicators).
#[utoipa::path(get, path = "/api/stats/consultations", params(NationalStatsQuery), responses((status = 200, body = tsunagu_app::stats::ConsultationBreakdown), (status = 400, body = ErrorBody)))]
pub async fn consultation_stats(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<NationalStatsQuery>,
) -> ApiResult<Json<tsunagu_app::stats::ConsultationBreakdown>> {
    let fiscal_year = q
        .fiscal_year
        .unwrap_or_else(|| tsunagu_core::wareki::fiscal_year(app.clock.today()));
    Ok(Json(
        tsunagu_app::stats::consultations(&app, &auth, fiscal_year).await?,
    ))
}

/// A fiscal year's process figures: time in each stage, monitoring on time or late,
/// referrals confirmed or open, closures by pattern (R11–R14), and the open cases per worker
/// now (counts only; the same callers as the national indicators).
#[utoipa::path(get, path = "/api/stats/process", params(NationalStatsQuery), responses((status = 200, body = tsunagu_app::stats::ProcessReport), (status = 400, body = ErrorBody)))]
pub async fn process_stats(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<NationalStatsQuery>,
) -> ApiResult<Json<tsunagu_app::stats::ProcessReport>> {
    let fiscal_year = q
        .fiscal_year
        .unwrap_or_else(|| tsunagu_core::wareki::fiscal_year(app.clock.today()));
    Ok(Json(
        tsunagu_app::stats::process(&app, &auth, fiscal_year).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// A month, `2026-11`, or `year` for this fiscal year so far (default: this month).
    pub month: Option<String>,
}

/// The plans reported to the municipality (報告, seed 001 §8) in a month (this month by
/// default) or this fiscal year so far, newest first, with the persons' basic information (the municipal departments'
/// officers; audited with the persons named).
#[utoipa::path(get, path = "/api/reports", params(ReportsQuery), responses((status = 200, body = Vec<tsunagu_app::reports::PlanReport>), (status = 400, body = ErrorBody)))]
pub async fn plan_reports(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportsQuery>,
) -> ApiResult<Json<Vec<tsunagu_app::reports::PlanReport>>> {
    use crate::pages::reports::{invalid_month, period_asked};
    let today = app.clock.today();
    let period =
        period_asked(q.month.as_deref().unwrap_or_default(), today).ok_or_else(invalid_month)?;
    let (from, until) = period.days(today);
    Ok(Json(
        tsunagu_app::reports::received(&app, &auth, from, until).await?,
    ))
}

#[utoipa::path(get, path = "/api/due", params(DueQuery), responses((status = 200, body = DueList), (status = 400, body = ErrorBody)))]
pub async fn due(
    State(app): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> ApiResult<Json<DueList>> {
    let scope = match q.scope.as_deref().unwrap_or("me") {
        "me" => due_list_::Scope::Mine,
        "org" => due_list_::Scope::Org,
        _ => {
            return Err(ApiError::bad_request(
                "request.invalid_query",
                "scope には me か org を指定してください（テナント全体の件数は /api/due/counts です）。",
            ));
        }
    };
    Ok(Json(due_list_::list(&app, &auth, q.date, scope).await?))
}
