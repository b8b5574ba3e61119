//! The route registry: every route is added here with the guard it enforces, so a route
//! cannot exist without a policy entry (`Routes::add` takes the guard; there is no other way
//! into the router). `tests/it/matrix.rs` walks the registry and checks every route for every role
//! and every relation through HTTP, deriving what to expect from the guard and the policy table.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use tsunagu_core::policy::Access;

use crate::attachments::{self, UPLOAD_BODY_BYTES};
use crate::pages::{
    self, attachment, case, caselist, meeting, person, person_edit, print, reports, stats,
};
use crate::{AppState, account, admin, api, ui};

/// What a route requires of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// No login (health check, login, the API description).
    Public,
    /// Any logged-in user, for their own account or for reference data without personal data
    /// (organisation names, tenant settings).
    Authenticated,
    /// Administrators (`policy::administer`); others get 403.
    Administer,
    /// Auditors and administrators (`policy::read_audit`); others get 403.
    ReadAudit,
    /// Lead workers, for their organisation's caseload (`policy::oversee_org`); others 403.
    OverseeOrg,
    /// A person in the path, for a disclosure: lead workers (`policy::disclose`, others 403)
    /// who may read the person (otherwise 404).
    Disclose,
    /// Importing persons from a workbook: lead workers (`policy::import_records`); others 403.
    ImportRecords,
    /// The plans reported to the municipality: the municipal departments' officers
    /// (`policy::receive_reports`); others 403.
    ReceiveReports,
    /// Counts over the tenant without names, for leads, municipal officers and administrators
    /// (`policy::tenant_counts`); others 403.
    TenantCounts,
    /// Roles that work cases (`policy::work_cases`), others 403; every record in the answer
    /// is one the caller may read (lists, searches and due lists filter by access in the query).
    WorkCases,
    /// Opening a case: a role that works cases (others 403) and write access to the person
    /// named in the body (otherwise 404).
    CreateCase,
    /// A case in the path, with this access under the policy table; otherwise 404.
    Case(Access),
    /// A case command: `Manage` for who works on the case, `Write` for the rest
    /// (`CaseAction::access`) and that the role does such work (`policy::role_may`); otherwise 404.
    CaseCommand,
    /// A person in the path: the registering organisation, or this access to one of the
    /// person's cases; otherwise 404 (also for roles that never see case content).
    Person(Access),
    /// A household in the path: the members the caller may see; 404 when none.
    Household,
    /// A meeting in the path: members only (the meeting's legal basis); otherwise 404.
    Meeting,
    /// A meeting command: members, and write access to the case a conclusion is about.
    MeetingCommand,
}

/// One registered route.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    /// The path as axum sees it, e.g. `/api/cases/{id}`.
    pub path: &'static str,
    pub guard: Guard,
}

struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Routes {
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        guard: Guard,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.specs.push(RouteSpec {
            method,
            path,
            guard,
        });
        self.router = self.router.route(path, route);
        self
    }
}

fn filter(method: &Method) -> MethodFilter {
    match *method {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

/// `METHOD "path" guard => handler;`, or `… => handler, body limit;` for a route that accepts
/// a larger body than the default (uploads).
macro_rules! routes {
    ($($method:ident $path:literal $guard:expr => $handler:path $(, body $limit:expr)?;)*) => {
        fn registry() -> Routes {
            let mut r = Routes { router: Router::new(), specs: Vec::new() };
            $(
                let m = Method::$method;
                let f = filter(&m);
                r = r.add(m, $path, $guard, on(f, $handler)$(.layer(DefaultBodyLimit::max($limit)))?);
            )*
            r
        }
    };
}

use Guard::*;

routes! {
    GET "/healthz" Public => api::healthz;
    GET "/assets/{id}" Public => ui::asset;
    GET "/login" Public => ui::login_page;
    POST "/login" Public => ui::login_submit;
    POST "/logout" Authenticated => ui::logout_submit;
    GET "/" Authenticated => ui::dashboard;
    GET "/account" Authenticated => pages::account::show;
    POST "/account" Authenticated => pages::account::submit;
    GET "/admin" Administer => pages::admin::show;
    POST "/admin" Administer => pages::admin::submit;
    GET "/admin/audit" ReadAudit => pages::audit::show;
    GET "/admin/audit.csv" ReadAudit => pages::audit::export;
    GET "/admin/audit.xlsx" ReadAudit => pages::audit::export;
    GET "/persons" WorkCases => person::search;
    GET "/search" WorkCases => person::search_records;
    GET "/search.csv" WorkCases => person::search_records_file;
    GET "/search.xlsx" WorkCases => person::search_records_file;
    GET "/persons/new" WorkCases => person::new_form;
    POST "/persons" WorkCases => person::create;
    GET "/persons/{id}" Person(Access::Read) => person::show;
    POST "/persons/{id}/commands" Person(Access::Write) => person::command;
    GET "/persons/{id}/edit" Person(Access::Write) => person_edit::edit_form;
    POST "/persons/{id}/edit" Person(Access::Write) => person_edit::edit_submit;
    GET "/persons/{id}/history" Person(Access::Read) => person_edit::history;
    GET "/persons/{id}/disclosure" Disclose => print::disclosure;
    GET "/persons/{id}/disclosure.xlsx" Disclose => print::disclosure_xlsx;
    POST "/persons/{id}/merge" Person(Access::Write) => person_edit::merge;
    POST "/persons/{id}/unmerge" Person(Access::Write) => person_edit::unmerge;
    GET "/persons/{id}/cases/new" Person(Access::Write) => case::new_case_form;
    POST "/persons/{id}/cases" Person(Access::Write) => case::create_case;
    GET "/cases" WorkCases => caselist::list;
    GET "/cases.csv" WorkCases => caselist::export;
    GET "/due.csv" WorkCases => ui::due_file;
    GET "/due.xlsx" WorkCases => ui::due_file;
    GET "/cases.xlsx" WorkCases => caselist::export;
    GET "/cases/print" WorkCases => caselist::print;
    GET "/import" ImportRecords => pages::import::form;
    POST "/import" ImportRecords => pages::import::submit, body pages::import::IMPORT_BODY_BYTES;
    GET "/import/progress" ImportRecords => pages::import::progress;
    GET "/stats" TenantCounts => stats::national;
    GET "/reports" ReceiveReports => reports::list;
    GET "/reports.csv" ReceiveReports => reports::export;
    GET "/reports.xlsx" ReceiveReports => reports::export;
    GET "/stats/national.csv" TenantCounts => stats::national_file;
    GET "/stats/national.xlsx" TenantCounts => stats::national_file;
    GET "/stats/consultations.csv" TenantCounts => stats::consultations_file;
    GET "/stats/consultations.xlsx" TenantCounts => stats::consultations_file;
    GET "/stats/process.csv" TenantCounts => stats::process_file;
    GET "/stats/process.xlsx" TenantCounts => stats::process_file;
    GET "/cases/{id}" Case(Access::Read) => case::show;
    POST "/cases/{id}/contacts" CaseCommand => case::quick_contact;
    POST "/cases/{id}/agenda" Case(Access::Write) => case::take_to_meeting;
    GET "/cases/{id}/act/{action}" Case(Access::Write) => case::action_form;
    POST "/cases/{id}/act/{action}" CaseCommand => case::action_submit;
    GET "/cases/{id}/assessments" Case(Access::Read) => case::assessments;
    GET "/cases/{id}/print/{form}" Case(Access::Read) => print::case_form;
    GET "/cases/{id}/attachments" Case(Access::Read) => attachment::list;
    POST "/cases/{id}/attachments" Case(Access::Write) => attachment::upload, body UPLOAD_BODY_BYTES;
    GET "/cases/{id}/attachments/{attachment}" Case(Access::Read) => attachment::download;
    GET "/meetings" WorkCases => meeting::list;
    GET "/meetings.csv" WorkCases => meeting::export;
    GET "/meetings.xlsx" WorkCases => meeting::export;
    POST "/meetings" WorkCases => meeting::create;
    GET "/meetings/{id}" Meeting => meeting::show;
    POST "/meetings/{id}/commands" MeetingCommand => meeting::command;
    GET "/meetings/{id}/print" Meeting => print::meeting;
    GET "/api/openapi.json" Public => crate::openapi_json;
    POST "/api/login" Public => account::login;
    POST "/api/logout" Authenticated => account::logout;
    GET "/api/me" Authenticated => account::get_me;
    PUT "/api/me/password" Authenticated => account::change_password;
    POST "/api/me/totp" Authenticated => account::start_totp;
    POST "/api/me/totp/confirm" Authenticated => account::confirm_totp;
    GET "/api/me/sessions" Authenticated => account::my_sessions;
    DELETE "/api/me/sessions" Authenticated => account::end_my_sessions;
    DELETE "/api/me/sessions/{id}" Authenticated => account::end_my_session;
    GET "/api/me/tokens" Authenticated => account::my_tokens;
    POST "/api/me/tokens" Authenticated => account::create_token;
    DELETE "/api/me/tokens/{id}" Authenticated => account::revoke_token;
    GET "/api/organisations" Authenticated => api::organisations;
    GET "/api/settings" Authenticated => api::get_settings;
    PUT "/api/settings" Administer => api::put_settings;
    POST "/api/organisations" Administer => admin::create_organisation;
    GET "/api/users" Administer => admin::list_users;
    POST "/api/users" Administer => admin::create_user;
    PATCH "/api/users/{id}" Administer => admin::update_user;
    GET "/api/users/{id}/sessions" Administer => account::user_sessions;
    DELETE "/api/users/{id}/sessions" Administer => account::end_user_sessions;
    DELETE "/api/users/{id}/totp" Administer => account::reset_totp;
    PUT "/api/users/{id}/password" Administer => account::reset_password;
    GET "/api/users/{id}/tokens" Administer => account::user_tokens;
    DELETE "/api/users/{id}/tokens/{token}" Administer => account::revoke_user_token;
    GET "/api/audit" ReadAudit => admin::audit_log;
    POST "/api/persons" WorkCases => api::create_person;
    GET "/api/persons" WorkCases => api::search_persons;
    GET "/api/persons/matches" WorkCases => api::person_matches;
    GET "/api/search/records" WorkCases => api::search_records;
    GET "/api/persons/{id}" Person(Access::Read) => api::get_person;
    PUT "/api/persons/{id}" Person(Access::Write) => api::update_person;
    GET "/api/persons/{id}/history" Person(Access::Read) => api::person_history;
    POST "/api/persons/{id}/commands" Person(Access::Write) => api::person_command;
    POST "/api/persons/{id}/merge" Person(Access::Write) => api::merge_person;
    POST "/api/persons/{id}/unmerge" Person(Access::Write) => api::unmerge_person;
    GET "/api/households/{id}" Household => api::get_household;
    POST "/api/cases" CreateCase => api::create_case;
    GET "/api/cases" WorkCases => api::list_cases;
    GET "/api/case-list" WorkCases => api::case_list;
    GET "/api/cases/{id}" Case(Access::Read) => api::get_case;
    POST "/api/cases/{id}/commands" CaseCommand => api::case_command;
    GET "/api/cases/{id}/timeline" Case(Access::Read) => api::case_timeline;
    GET "/api/cases/{id}/assessments" Case(Access::Read) => api::case_assessments;
    GET "/api/cases/{id}/plans" Case(Access::Read) => api::case_plans;
    POST "/api/cases/{id}/attachments" Case(Access::Write) => attachments::upload, body UPLOAD_BODY_BYTES;
    GET "/api/cases/{id}/attachments/{attachment}" Case(Access::Read) => attachments::get_content;
    POST "/api/meetings" WorkCases => api::create_meeting;
    GET "/api/meetings" WorkCases => api::list_meetings;
    GET "/api/meetings/{id}" Meeting => api::get_meeting;
    POST "/api/meetings/{id}/commands" MeetingCommand => api::meeting_command;
    GET "/api/due" WorkCases => api::due;
    GET "/api/due/counts" TenantCounts => api::due_counts;
    GET "/api/caseload" OverseeOrg => crate::caseload::caseload;
    GET "/api/stats/national" TenantCounts => api::national_stats;
    GET "/api/stats/consultations" TenantCounts => api::consultation_stats;
    GET "/api/stats/process" TenantCounts => api::process_stats;
    GET "/api/reports" ReceiveReports => api::plan_reports;
    POST "/api/imports/check" ImportRecords => crate::imports::check, body crate::imports::IMPORT_BODY_BYTES;
    POST "/api/imports" ImportRecords => crate::imports::run, body crate::imports::IMPORT_BODY_BYTES;
}

/// Every registered route with its guard.
pub fn specs() -> Vec<RouteSpec> {
    registry().specs
}

/// The router of every registered route.
pub(crate) fn router() -> Router<AppState> {
    registry().router
}
