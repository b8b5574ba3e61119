//! The access matrix, generated: every registered route × every role (and no login) × every
//! relation of the user to the record, checked through HTTP on every backend. What each cell
//! must answer is derived from the route's guard in the registry (`tsunagu_web::routes`) and
//! the policy table (`tsunagu_core::policy::TABLE`); a route without an entry here fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tsunagu_core::case::CaseAction;
use tsunagu_core::policy::{self, Access, Relation};
use tsunagu_core::{OrgId, OrgKind, Role, TenantId, UserId};
use tsunagu_store::{AuditEntry, Organisation};
use tsunagu_web::routes::{Guard, RouteSpec};
use uuid::Uuid;

/// The organisations of the fixture: A owns every case; B is a partner the person's consent
/// covers; C is a partner on the team whose consent was withdrawn; D is unrelated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Org {
    A,
    B,
    C,
    D,
}

struct Fixture {
    store: tsunagu_store::Store,
    base: String,
    tenant: TenantId,
    orgs: HashMap<Org, OrgId>,
    /// A logged-in client per (role, organisation).
    users: HashMap<(Role, Org), (UserId, Api)>,
    /// The case assigned to each case-working role's user at A.
    assigned: HashMap<Role, Case>,
    closed: Case,
    restricted: Case,
    meeting: String,
    /// A user the administrator routes act on.
    target: UserId,
    settings: Value,
}

#[derive(Clone)]
struct Case {
    id: String,
    person: String,
    person_name: String,
    household: String,
    /// A document attached to the case.
    attachment: String,
}

/// Who is asking: a role in an organisation, or nobody logged in.
#[derive(Clone, Copy, Debug)]
struct Cell {
    role: Option<Role>,
    org: Org,
    relation: Option<Relation>,
}

async fn setup(db: &TestDb) -> Fixture {
    let store = &db.store;
    let tenant = new_tenant(store, "マトリクス市").await;
    let seed = || AuditEntry::new("test.seed").tenant(tenant);
    let mut orgs = HashMap::new();
    for (org, kind) in [
        (Org::A, OrgKind::SupportAgency),
        (Org::B, OrgKind::RelatedAgency),
        (Org::C, OrgKind::MunicipalDepartment),
        (Org::D, OrgKind::SupportAgency),
    ] {
        let id = OrgId(Uuid::now_v7());
        store
            .create_org(
                &Organisation {
                    id,
                    tenant_id: tenant,
                    name: format!("機関{org:?}"),
                    kind,
                },
                &seed(),
            )
            .await
            .unwrap();
        orgs.insert(org, id);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = tsunagu_web::AppState::new(store.clone());
    tokio::spawn(async move { tsunagu_web::serve(listener, state).await });

    let hash = tsunagu_web::auth::hash_password(PASSWORD).unwrap();
    let tag = Uuid::now_v7().simple().to_string();
    let add_user =
        |login: String, role: Role, org: OrgId| add_user(store, tenant, login, role, org, &hash);
    let mut users = HashMap::new();
    for role in Role::ALL {
        for org in [Org::A, Org::B, Org::C, Org::D] {
            let login = format!("{}-{org:?}-{tag}", role.as_str());
            let id = add_user(login.clone(), role, orgs[&org]).await;
            users.insert((role, org), (id, login_as(&base, &login).await));
        }
    }
    let target = add_user(format!("target-{tag}"), Role::SupportWorker, orgs[&Org::A]).await;
    let named_login = format!("named-{tag}");
    let named = add_user(named_login.clone(), Role::SupportWorker, orgs[&Org::A]).await;
    let named_api = login_as(&base, &named_login).await;

    let lead = users[&(Role::LeadSupportWorker, Org::A)].1.clone();
    let mut n = 0;
    let mut new_case = async |assignee: UserId| {
        n += 1;
        let name = format!("マトリクス{tag}の{n}");
        let (s, p) = lead
            .post("/api/persons", json!({"details": {"name": name}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let person = p["id"].as_str().unwrap().to_owned();
        let (s, c) = lead
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": {
                "received_on": day(-30), "route": "self_visit",
                "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap().to_owned();
        let (_, c) = lead.get(&format!("/api/cases/{id}")).await;
        let (s, added) = lead
            .attach(
                &id,
                c["version"].as_u64().unwrap(),
                "本人からの手紙",
                "letter.pdf",
                b"%PDF-1.4\n%%EOF\n".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{added}");
        let attachment = added["attachment"]["id"].as_str().unwrap().to_owned();
        // B and C join the team with consent; then C's consent is withdrawn.
        let both = lead
            .consent(&person, &[orgs[&Org::B], orgs[&Org::C]], &day(-30), None)
            .await;
        lead.consent(&person, &[orgs[&Org::B]], &day(-30), None)
            .await;
        for org in [Org::B, Org::C] {
            lead.ok(
                &id,
                json!({"action": "add_team_member", "org_id": orgs[&org]}),
            )
            .await;
        }
        let (s, b) = lead
            .person_cmd(
                &person,
                json!({"action": "withdraw_consent", "consent_id": both, "withdrawn_on": day(-1)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        lead.ok(&id, json!({"action": "assign_worker", "user_id": assignee}))
            .await;
        let (_, p) = lead.get(&format!("/api/persons/{person}")).await;
        Case {
            id,
            person,
            person_name: name,
            household: p["household_id"].as_str().unwrap().to_owned(),
            attachment,
        }
    };
    let mut assigned = HashMap::new();
    for role in Role::ALL.into_iter().filter(|r| r.works_cases()) {
        let case = new_case(users[&(role, Org::A)].0).await;
        assigned.insert(role, case);
    }
    let lead_id = users[&(Role::LeadSupportWorker, Org::A)].0;
    let closed = new_case(lead_id).await;
    lead.ok(&closed.id, json!({"action": "triage", "triaged_on": day(-1), "outcome": {"outcome": "information_only", "note": "情報提供で終了"}}))
        .await;
    let restricted = new_case(named).await;
    named_api
        .ok(
            &restricted.id,
            json!({"action": "restrict", "users": [named]}),
        )
        .await;

    // A meeting of A with B attending; C and D are not members.
    let (s, m) = lead
        .post(
            "/api/meetings",
            json!({"kind": "support_meeting", "title": "支援会議", "scheduled_on": day(1)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let meeting = m["id"].as_str().unwrap().to_owned();
    let (s, b) = lead
        .meeting_cmd(
            &meeting,
            json!({"action": "record_attendee", "org_id": orgs[&Org::B], "name": "担当"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, settings) = users[&(Role::Administrator, Org::A)]
        .1
        .get("/api/settings")
        .await;
    Fixture {
        store: store.clone(),
        base,
        tenant,
        orgs,
        users,
        assigned,
        closed,
        restricted,
        meeting,
        target,
        settings,
    }
}

async fn login_as(base: &str, login: &str) -> Api {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/login"))
        .json(&json!({"login": login, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "login {login}");
    let me: Value = res.json().await.unwrap();
    Api {
        client,
        base: base.to_owned(),
        csrf: me["csrf_token"].as_str().unwrap_or_default().to_owned(),
    }
}

impl Fixture {
    /// The case a cell's relation is about, and the organisation the asking user belongs to.
    fn case_for(&self, role: Role, relation: Relation) -> Option<(&Case, Org)> {
        let other = |r: Role| {
            if r == Role::SupportWorker {
                Role::LeadSupportWorker
            } else {
                Role::SupportWorker
            }
        };
        let shared = &self.assigned[&Role::SupportWorker];
        Some(match relation {
            Relation::Assigned => (self.assigned.get(&role)?, Org::A),
            Relation::SameOrganisation => (&self.assigned[&other(role)], Org::A),
            Relation::ConsentedPartner => (shared, Org::B),
            Relation::PartnerWithoutConsent => (shared, Org::C),
            Relation::Unrelated => (shared, Org::D),
            Relation::Closed => (&self.closed, Org::A),
            Relation::ClosedPartner => (&self.closed, Org::B),
            Relation::RestrictedNotNamed => (&self.restricted, Org::A),
        })
    }

    fn api(&self, cell: Cell) -> Api {
        match cell.role {
            Some(role) => self.users[&(role, cell.org)].1.clone(),
            None => Api {
                client: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
                base: self.base.clone(),
                csrf: String::new(),
            },
        }
    }

    async fn case_version(&self, id: &str) -> u64 {
        let id = tsunagu_core::CaseId(Uuid::parse_str(id).unwrap());
        self.store
            .case(self.tenant, id)
            .await
            .unwrap()
            .unwrap()
            .version
    }
    async fn person_version(&self, id: &str) -> u64 {
        let id = tsunagu_core::PersonId(Uuid::parse_str(id).unwrap());
        self.store
            .person(self.tenant, id)
            .await
            .unwrap()
            .unwrap()
            .version
    }
    async fn meeting_version(&self, id: &str) -> u64 {
        let id = tsunagu_core::MeetingId(Uuid::parse_str(id).unwrap());
        self.store
            .meeting(self.tenant, id)
            .await
            .unwrap()
            .unwrap()
            .version
    }

    /// The cells a route is checked in: relations for routes about a case or person,
    /// organisations for meetings, one per role otherwise; always also without a login.
    fn cells(&self, guard: Guard) -> Vec<Cell> {
        let mut cells = vec![Cell {
            role: None,
            org: Org::A,
            relation: None,
        }];
        for role in Role::ALL {
            match guard {
                Guard::Case(_)
                | Guard::CaseCommand
                | Guard::Person(_)
                | Guard::Household
                | Guard::CreateCase => {
                    for relation in Relation::ALL {
                        if let Some((_, org)) = self.case_for(role, relation) {
                            cells.push(Cell {
                                role: Some(role),
                                org,
                                relation: Some(relation),
                            });
                        }
                    }
                }
                Guard::Meeting | Guard::MeetingCommand => {
                    for org in [Org::A, Org::B, Org::C, Org::D] {
                        cells.push(Cell {
                            role: Some(role),
                            org,
                            relation: None,
                        });
                    }
                }
                _ => cells.push(Cell {
                    role: Some(role),
                    org: Org::A,
                    relation: None,
                }),
            }
        }
        cells
    }
}

/// One request of the matrix and the status it gets when the guard lets it through.
struct Req {
    method: Method,
    path: String,
    body: Option<Value>,
    ok: StatusCode,
    /// For case commands: the access the command needs.
    access: Option<Access>,
    /// For case actions: the action, which the caller's role must do (`policy::role_may`;
    /// otherwise 403 where the relation would let it through).
    action: Option<CaseAction>,
    /// Send the body as an HTML form instead of JSON.
    form: bool,
    /// Send the body as a multipart upload, with a text file that is not an accepted type.
    multipart: bool,
}

/// A page form: the body goes as `application/x-www-form-urlencoded`.
fn form(method: Method, path: String, body: Value, ok: StatusCode) -> Req {
    Req {
        form: true,
        ..req(method, path, Some(body), ok)
    }
}

fn req(method: Method, path: String, body: Option<Value>, ok: StatusCode) -> Req {
    Req {
        method,
        path,
        body,
        ok,
        access: None,
        action: None,
        form: false,
        multipart: false,
    }
}

/// An upload whose file is plain text: through the guard it is refused (422) and nothing is
/// stored, so later cells see the same case.
fn upload(path: String, version: u64) -> Req {
    Req {
        multipart: true,
        ..req(
            Method::POST,
            path,
            Some(
                json!({"expected_version": version.to_string(), "kind": "other",
                "title": "マトリクス", "received_on": day(0)}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    }
}

/// The requests that exercise a route in a cell. Panics for a route the matrix does not know:
/// a new route must be added here (and so to the matrix) before the suite passes.
async fn requests(f: &Fixture, spec: &RouteSpec, cell: Cell, n: usize) -> Vec<Req> {
    let case = cell
        .role
        .zip(cell.relation)
        .and_then(|(role, rel)| f.case_for(role, rel))
        .map(|(c, _)| c.clone())
        .unwrap_or_else(|| f.assigned[&Role::SupportWorker].clone());
    let m = spec.method.clone();
    let get = |path: String| req(Method::GET, path, None, StatusCode::OK);
    let random = Uuid::now_v7();
    let unique = format!("{}-{n}", Uuid::now_v7().simple());
    match (spec.method.as_str(), spec.path) {
        ("GET", "/healthz") => vec![get("/healthz".into())],
        ("GET", "/assets/{id}") => vec![
            get("/assets/app.css".into()),
            get("/assets/htmx.min.js".into()),
        ],
        ("GET", "/login") => vec![get("/login".into())],
        ("POST", "/login") => vec![Req {
            form: true,
            ..req(
                m,
                "/login".into(),
                Some(json!({"login": format!("nobody-{unique}"), "password": "wrong password"})),
                StatusCode::UNAUTHORIZED,
            )
        }],
        ("GET", "/") => vec![get("/".into())],
        ("POST", "/logout") => vec![],
        ("GET", "/admin") => vec![get("/admin".into())],
        ("GET", "/account") => vec![get("/account".into())],
        ("GET", "/admin/audit") => vec![get("/admin/audit".into())],
        ("GET", "/stats") => vec![get("/stats".into())],
        ("GET", "/import") => vec![get("/import".into())],
        // The API's check and import of a file without a header: the check lists its problem
        // (200), the import refuses it (422); nothing is written.
        ("POST", "/api/imports/check") => vec![Req {
            multipart: true,
            ..req(Method::POST, "/api/imports/check".into(), Some(json!({})), StatusCode::OK)
        }],
        ("POST", "/api/imports") => vec![Req {
            multipart: true,
            ..req(
                Method::POST,
                "/api/imports".into(),
                Some(json!({})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }],
        // A check of a file without a header: its problem is listed (200); nothing is written.
        ("POST", "/import") => vec![Req {
            multipart: true,
            ..req(
                Method::POST,
                "/import".into(),
                Some(json!({"action": "check"})),
                StatusCode::OK,
            )
        }],
        ("GET", "/cases.csv") => vec![get("/cases.csv".into())],
        ("GET", "/due.csv") => vec![get("/due.csv".into())],
        ("GET", "/due.xlsx") => vec![get("/due.xlsx".into())],
        ("GET", "/cases.xlsx") => vec![get("/cases.xlsx".into())],
        ("GET", "/cases/print") => vec![get("/cases/print".into())],
        ("GET", "/stats/national.xlsx") => vec![get("/stats/national.xlsx".into())],
        ("GET", "/stats/national.csv") => vec![get("/stats/national.csv".into())],
        ("GET", "/stats/consultations.csv") => vec![get("/stats/consultations.csv".into())],
        ("GET", "/stats/consultations.xlsx") => vec![get("/stats/consultations.xlsx".into())],
        ("GET", "/reports") => vec![get("/reports".into())],
        // No import under this token: 404 to whoever may import.
        ("GET", "/import/progress") => vec![req(
            m,
            "/import/progress?token=matrix-0123456789".into(),
            None,
            StatusCode::NOT_FOUND,
        )],
        ("GET", "/admin/audit.csv") => vec![get("/admin/audit.csv".into())],
        ("GET", "/admin/audit.xlsx") => vec![get("/admin/audit.xlsx".into())],
        ("GET", "/meetings.csv") => vec![get("/meetings.csv".into())],
        ("GET", "/meetings.xlsx") => vec![get("/meetings.xlsx".into())],
        ("GET", "/search.csv") => vec![get("/search.csv?q=マトリクス".into())],
        ("GET", "/search.xlsx") => vec![get("/search.xlsx?q=マトリクス".into())],
        ("GET", "/reports.csv") => vec![get("/reports.csv".into())],
        ("GET", "/reports.xlsx") => vec![get("/reports.xlsx".into())],
        ("GET", "/stats/process.csv") => vec![get("/stats/process.csv".into())],
        ("GET", "/stats/process.xlsx") => vec![get("/stats/process.xlsx".into())],
        // An unknown form: refused (422), nothing changes.
        ("POST", "/account") => vec![form(
            m,
            "/account".into(),
            json!({"form": "nothing"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        // An organisation without a name: refused on the form, nothing is created.
        ("POST", "/admin") => vec![form(
            m,
            "/admin".into(),
            json!({"form": "organisation", "org_kind": "related_agency"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/persons") => vec![get("/persons?q=マトリクス".into())],
        ("GET", "/search") => vec![get("/search?q=マトリクス".into())],
        ("GET", "/persons/new") => vec![get("/persons/new".into())],
        ("POST", "/persons") => vec![form(
            m,
            "/persons".into(),
            json!({"name": format!("画面から{unique}")}),
            StatusCode::SEE_OTHER,
        )],
        ("GET", "/persons/{id}") => vec![get(format!("/persons/{}", case.person))],
        // A withdrawal of an unknown consent: through the guard it is refused on the form (422)
        // and nothing changes, so later cells see the same relations.
        ("POST", "/persons/{id}/commands") => vec![form(
            m,
            format!("/persons/{}/commands", case.person),
            json!({"expected_version": f.person_version(&case.person).await.to_string(),
                "action": "withdraw_consent", "consent_id": random.to_string(), "withdrawn_on": day(0)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/persons/{id}/edit") => vec![get(format!("/persons/{}/edit", case.person))],
        // Details without a name: refused on the form (422), nothing changes.
        ("POST", "/persons/{id}/edit") => vec![form(
            m,
            format!("/persons/{}/edit", case.person),
            json!({"expected_version": f.person_version(&case.person).await.to_string(),
                "action": "details", "name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/persons/{id}/history") => {
            vec![get(format!("/persons/{}/history", case.person))]
        }
        ("GET", "/persons/{id}/disclosure") => {
            vec![get(format!("/persons/{}/disclosure", case.person))]
        }
        ("GET", "/persons/{id}/disclosure.xlsx") => {
            vec![get(format!("/persons/{}/disclosure.xlsx", case.person))]
        }
        // A person merged into themself, and a merge undone that never was: refused (422)
        // through the guard, nothing changes.
        ("POST", "/persons/{id}/merge") | ("POST", "/persons/{id}/unmerge") => vec![form(
            m,
            spec.path.replace("{id}", &case.person.to_string()),
            json!({"expected_version": f.person_version(&case.person).await.to_string(),
                "duplicate": case.person.to_string(), "reason": "マトリクス"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/persons/{id}/cases/new") => {
            vec![get(format!("/persons/{}/cases/new", case.person))]
        }
        // An intake without its date: refused on the form, no case is opened.
        ("POST", "/persons/{id}/cases") => vec![form(
            m,
            format!("/persons/{}/cases", case.person),
            json!({"route": "self_visit", "urgency": "normal"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/cases/{id}") => vec![get(format!("/cases/{}", case.id))],
        ("POST", "/cases/{id}/contacts") => {
            let closed = case.id == f.closed.id;
            vec![Req {
                access: Some(Access::Write),
                ..form(
                    m,
                    format!("/cases/{}/contacts", case.id),
                    json!({"kind": "phone", "contacted_on": day(0), "summary": "画面から電話"}),
                    if closed {
                        StatusCode::UNPROCESSABLE_ENTITY
                    } else {
                        StatusCode::SEE_OTHER
                    },
                )
            }]
        }
        // No meeting named (and nothing may wait for one): through the guard, refused on the
        // case page (422), nothing changes.
        ("POST", "/cases/{id}/agenda") => vec![form(
            m,
            format!("/cases/{}/agenda", case.id),
            json!({"meeting": "nothing"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/cases/{id}/act/{action}") => vec![
            Req {
                action: Some(CaseAction::MakeReferral),
                ..get(format!("/cases/{}/act/make_referral", case.id))
            },
            // Not every role assesses: the form is not even shown to those that do not.
            Req {
                action: Some(CaseAction::RecordAssessment),
                ..get(format!("/cases/{}/act/record_assessment", case.id))
            },
        ],
        // A suspension without its date: the access is checked before the form is read; so
        // is whether the role suspends, or assesses, at all.
        ("POST", "/cases/{id}/act/{action}") => vec![
            Req {
                access: Some(Access::Write),
                action: Some(CaseAction::Suspend),
                ..form(
                    m.clone(),
                    format!("/cases/{}/act/suspend", case.id),
                    json!({"reason": "連絡がつかない"}),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            },
            Req {
                access: Some(Access::Write),
                action: Some(CaseAction::RecordAssessment),
                ..form(
                    m,
                    format!("/cases/{}/act/record_assessment", case.id),
                    json!({}),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            },
        ],
        ("GET", "/cases/{id}/assessments") => {
            vec![get(format!("/cases/{}/assessments", case.id))]
        }
        ("GET", "/cases/{id}/print/{form}") => vec![get(format!("/cases/{}/print/plan", case.id))],
        ("GET", "/cases/{id}/attachments") => vec![get(format!("/cases/{}/attachments", case.id))],
        ("POST", "/cases/{id}/attachments") => vec![upload(
            format!("/cases/{}/attachments", case.id),
            f.case_version(&case.id).await,
        )],
        ("GET", "/cases/{id}/attachments/{attachment}") => vec![get(format!(
            "/cases/{}/attachments/{}",
            case.id, case.attachment
        ))],
        ("POST", "/api/cases/{id}/attachments") => vec![upload(
            format!("/api/cases/{}/attachments", case.id),
            f.case_version(&case.id).await,
        )],
        ("GET", "/api/cases/{id}/attachments/{attachment}") => vec![get(format!(
            "/api/cases/{}/attachments/{}",
            case.id, case.attachment
        ))],
        ("GET", "/meetings") => vec![get("/meetings".into())],
        ("GET", "/cases") => vec![get("/cases?worker=team&status=all".into())],
        ("POST", "/meetings") => vec![form(
            m,
            "/meetings".into(),
            json!({"kind": "case_conference", "title": "画面から予定", "scheduled_on": day(3)}),
            StatusCode::SEE_OTHER,
        )],
        ("GET", "/meetings/{id}") => vec![get(format!("/meetings/{}", f.meeting))],
        ("POST", "/meetings/{id}/commands") => vec![form(
            m,
            format!("/meetings/{}/commands", f.meeting),
            json!({"expected_version": f.meeting_version(&f.meeting).await.to_string(),
                "action": "record_minutes", "minutes": "画面からの議事録"}),
            StatusCode::SEE_OTHER,
        )],
        ("GET", "/meetings/{id}/print") => vec![get(format!("/meetings/{}/print", f.meeting))],
        ("GET", "/api/openapi.json") => vec![get("/api/openapi.json".into())],
        ("POST", "/api/login") => vec![req(
            m,
            "/api/login".into(),
            Some(json!({"login": format!("nobody-{unique}"), "password": "wrong password"})),
            StatusCode::UNAUTHORIZED,
        )],
        // Ending sessions is checked last, in its own pass (see below).
        ("POST", "/api/logout") | ("DELETE", "/api/me/sessions") => vec![],
        ("GET", "/api/me") => vec![get("/api/me".into())],
        ("POST", "/api/me/totp") => vec![req(
            m,
            "/api/me/totp".into(),
            Some(json!({})),
            StatusCode::OK,
        )],
        ("POST", "/api/me/totp/confirm") => vec![req(
            m,
            "/api/me/totp/confirm".into(),
            Some(json!({"code": "000000"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        // The wrong current password: refused for everyone, nothing changes.
        ("PUT", "/api/me/password") => vec![req(
            m,
            "/api/me/password".into(),
            Some(json!({"current_password": "wrong password", "new_password": "長い合言葉の新しいパスワード"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/api/me/sessions") => vec![get("/api/me/sessions".into())],
        ("DELETE", "/api/me/sessions/{id}") => vec![req(
            m,
            format!("/api/me/sessions/{random}"),
            None,
            StatusCode::NOT_FOUND,
        )],
        ("GET", "/api/me/tokens") => vec![get("/api/me/tokens".into())],
        ("POST", "/api/me/tokens") => vec![req(
            m,
            "/api/me/tokens".into(),
            Some(json!({"label": "マトリクス"})),
            StatusCode::CREATED,
        )],
        ("DELETE", "/api/me/tokens/{id}") => vec![req(
            m,
            format!("/api/me/tokens/{random}"),
            None,
            StatusCode::NOT_FOUND,
        )],
        ("GET", "/api/organisations") => vec![get("/api/organisations".into())],
        ("GET", "/api/settings") => vec![get("/api/settings".into())],
        ("PUT", "/api/settings") => vec![req(
            m,
            "/api/settings".into(),
            Some(f.settings.clone()),
            StatusCode::OK,
        )],
        ("POST", "/api/organisations") => vec![req(
            m,
            "/api/organisations".into(),
            Some(json!({"name": format!("新しい機関{unique}"), "kind": "related_agency"})),
            StatusCode::CREATED,
        )],
        ("GET", "/api/users") => vec![get("/api/users".into())],
        ("POST", "/api/users") => vec![req(
            m,
            "/api/users".into(),
            Some(
                json!({"login": format!("new-{unique}"), "display_name": "新人", "role": "support_worker",
                "org_id": f.orgs[&Org::A], "password": "a long enough passphrase"}),
            ),
            StatusCode::CREATED,
        )],
        ("PATCH", "/api/users/{id}") => vec![req(
            m,
            format!("/api/users/{}", f.target),
            Some(json!({"display_name": "名前を変えた"})),
            StatusCode::OK,
        )],
        ("GET", "/api/users/{id}/sessions") => {
            vec![get(format!("/api/users/{}/sessions", f.target))]
        }
        ("DELETE", "/api/users/{id}/sessions") => vec![req(
            m,
            format!("/api/users/{}/sessions", f.target),
            None,
            StatusCode::NO_CONTENT,
        )],
        ("GET", "/api/users/{id}/tokens") => vec![get(format!("/api/users/{}/tokens", f.target))],
        ("DELETE", "/api/users/{id}/tokens/{token}") => vec![req(
            m,
            format!("/api/users/{}/tokens/{random}", f.target),
            None,
            StatusCode::NOT_FOUND,
        )],
        ("DELETE", "/api/users/{id}/totp") => vec![req(
            m,
            format!("/api/users/{}/totp", f.target),
            None,
            StatusCode::NO_CONTENT,
        )],
        // A password the policy refuses: through the guard, 422 and nothing changes.
        ("PUT", "/api/users/{id}/password") => vec![req(
            m,
            format!("/api/users/{}/password", f.target),
            Some(json!({"password": "abc"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )],
        ("GET", "/api/audit") => vec![get("/api/audit?limit=5".into())],
        ("POST", "/api/persons") => vec![req(
            m,
            "/api/persons".into(),
            Some(json!({"details": {"name": format!("新規{unique}")}})),
            StatusCode::CREATED,
        )],
        ("GET", "/api/persons") => vec![get("/api/persons?name=マトリクス".into())],
        ("GET", "/api/persons/{id}") => vec![get(format!("/api/persons/{}", case.person))],
        ("PUT", "/api/persons/{id}") => vec![req(
            m,
            format!("/api/persons/{}", case.person),
            Some(
                json!({"expected_version": f.person_version(&case.person).await,
                "details": {"name": case.person_name}}),
            ),
            StatusCode::OK,
        )],
        ("GET", "/api/persons/{id}/history") => {
            vec![get(format!("/api/persons/{}/history", case.person))]
        }
        ("POST", "/api/persons/{id}/commands") => vec![req(
            m,
            format!("/api/persons/{}/commands", case.person),
            Some(
                json!({"expected_version": f.person_version(&case.person).await,
                "command": {"action": "restrict_fields", "fields": [], "users": []}}),
            ),
            StatusCode::OK,
        )],
        ("POST", "/api/persons/{id}/merge") | ("POST", "/api/persons/{id}/unmerge") => {
            vec![req(
                m,
                spec.path.replace("{id}", &case.person.to_string()),
                Some(
                    json!({"expected_version": f.person_version(&case.person).await,
                    "duplicate": case.person, "reason": "マトリクス"}),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
            )]
        }
        ("GET", "/api/households/{id}") => vec![get(format!("/api/households/{}", case.household))],
        ("POST", "/api/cases") => vec![req(
            m,
            "/api/cases".into(),
            Some(json!({"person_id": case.person})),
            StatusCode::CREATED,
        )],
        ("GET", "/api/cases") => vec![get("/api/cases".into())],
        ("GET", "/api/persons/matches") => vec![get(
            "/api/persons/matches?name=%E3%83%9E%E3%83%88%E3%83%AA%E3%82%AF%E3%82%B9&date_of_birth=1970-01-01".into(),
        )],
        ("GET", "/api/case-list") => vec![get("/api/case-list?worker=team&status=all".into())],
        ("GET", "/api/search/records") => {
            vec![get("/api/search/records?q=%E9%9B%BB%E8%A9%B1".into())]
        }
        ("GET", "/api/cases/{id}") => vec![get(format!("/api/cases/{}", case.id))],
        ("GET", "/api/cases/{id}/timeline") => {
            vec![get(format!("/api/cases/{}/timeline", case.id))]
        }
        ("GET", "/api/cases/{id}/assessments") => {
            vec![get(format!("/api/cases/{}/assessments", case.id))]
        }
        ("GET", "/api/cases/{id}/plans") => vec![get(format!("/api/cases/{}/plans", case.id))],
        ("POST", "/api/cases/{id}/commands") => {
            let path = format!("/api/cases/{}/commands", case.id);
            let closed = case.id == f.closed.id;
            let work = if closed {
                json!({"action": "record_follow_up", "checked_on": day(0), "summary": "様子を確認"})
            } else {
                json!({"action": "record_contact", "kind": "phone", "contacted_on": day(0), "reached": true, "summary": "電話で様子を聞いた"})
            };
            let version = f.case_version(&case.id).await;
            let assigned = f
                .store
                .case(
                    f.tenant,
                    tsunagu_core::CaseId(Uuid::parse_str(&case.id).unwrap()),
                )
                .await
                .unwrap()
                .unwrap()
                .state
                .assigned_worker;
            vec![
                Req {
                    access: Some(Access::Write),
                    action: Some(if closed {
                        CaseAction::RecordFollowUp
                    } else {
                        CaseAction::RecordContact
                    }),
                    ..req(
                        m.clone(),
                        path.clone(),
                        Some(json!({"expected_version": version, "command": work})),
                        StatusCode::OK,
                    )
                },
                // Re-assigning the same worker: management, and changes nothing.
                Req {
                    access: Some(Access::Manage),
                    ..req(
                        m,
                        path,
                        Some(
                            json!({"expected_version": version, "command": {"action": "assign_worker", "user_id": assigned}}),
                        ),
                        StatusCode::OK,
                    )
                },
            ]
        }
        ("POST", "/api/meetings") => vec![req(
            m,
            "/api/meetings".into(),
            Some(json!({"kind": "case_conference", "title": "担当者会議", "scheduled_on": day(2)})),
            StatusCode::CREATED,
        )],
        ("GET", "/api/meetings") => vec![get("/api/meetings".into())],
        ("GET", "/api/meetings/{id}") => vec![get(format!("/api/meetings/{}", f.meeting))],
        ("POST", "/api/meetings/{id}/commands") => vec![req(
            m,
            format!("/api/meetings/{}/commands", f.meeting),
            Some(
                json!({"expected_version": f.meeting_version(&f.meeting).await,
                "command": {"action": "record_minutes", "minutes": "議事録"}}),
            ),
            StatusCode::OK,
        )],
        ("GET", "/api/due") => vec![get("/api/due".into())],
        ("GET", "/api/due/counts") => vec![get("/api/due/counts".into())],
        ("GET", "/api/caseload") => vec![get("/api/caseload".into())],
        ("GET", "/api/stats/national") => vec![get("/api/stats/national".into())],
        ("GET", "/api/stats/consultations") => vec![get("/api/stats/consultations".into())],
        ("GET", "/api/stats/process") => vec![get("/api/stats/process".into())],
        ("GET", "/api/reports") => vec![get("/api/reports".into())],
        (method, path) => {
            panic!("{method} {path} is registered but has no entry in the access matrix")
        }
    }
}

/// What a cell must answer: the route's success status when the guard lets the caller
/// through, otherwise 401 without a login, 403 for a role the route is not for, and 404 for a
/// record the caller may not see (exactly like a missing one).
fn expected(f: &Fixture, guard: Guard, cell: Cell, r: &Req) -> StatusCode {
    let Some(role) = cell.role else {
        return if guard == Guard::Public {
            r.ok
        } else if r.path.starts_with("/api/") {
            StatusCode::UNAUTHORIZED
        } else {
            // Pages send the browser to the login page.
            StatusCode::SEE_OTHER
        };
    };
    let works = role.works_cases();
    let perms = cell.relation.map(|rel| policy::perms(role, rel));
    let allows = |a: Access| perms.is_some_and(|p| p.allows(a));
    // Persons are registered by A: A's case workers always reach them.
    let person = |a: Access| works && (cell.org == Org::A || allows(a));
    let _ = f;
    let (allowed, denied) = match guard {
        Guard::Public | Guard::Authenticated => (true, StatusCode::FORBIDDEN),
        Guard::Administer => (role == Role::Administrator, StatusCode::FORBIDDEN),
        Guard::ReadAudit => (
            matches!(role, Role::Administrator | Role::Auditor),
            StatusCode::FORBIDDEN,
        ),
        Guard::WorkCases => (works, StatusCode::FORBIDDEN),
        Guard::OverseeOrg | Guard::ImportRecords => {
            (role == Role::LeadSupportWorker, StatusCode::FORBIDDEN)
        }
        Guard::ReceiveReports => (
            role == Role::MunicipalOfficer && cell.org == Org::C,
            StatusCode::FORBIDDEN,
        ),
        Guard::TenantCounts => (
            matches!(
                role,
                Role::LeadSupportWorker | Role::MunicipalOfficer | Role::Administrator
            ),
            StatusCode::FORBIDDEN,
        ),
        Guard::CreateCase if !works => (false, StatusCode::FORBIDDEN),
        Guard::CreateCase => (person(Access::Write), StatusCode::NOT_FOUND),
        Guard::Case(a) => (allows(a), StatusCode::NOT_FOUND),
        Guard::CaseCommand => (allows(r.access.unwrap()), StatusCode::NOT_FOUND),
        Guard::Person(a) => (person(a), StatusCode::NOT_FOUND),
        Guard::Disclose if role != Role::LeadSupportWorker => (false, StatusCode::FORBIDDEN),
        Guard::Disclose => (person(Access::Read), StatusCode::NOT_FOUND),
        Guard::Household => (person(Access::Read), StatusCode::NOT_FOUND),
        Guard::Meeting | Guard::MeetingCommand => (
            works && matches!(cell.org, Org::A | Org::B),
            StatusCode::NOT_FOUND,
        ),
    };
    if !allowed {
        return denied;
    }
    // Through the relation, the role must also do such work (`policy::role_may`).
    match r.action {
        Some(action) if !policy::role_may(role, action) => StatusCode::FORBIDDEN,
        _ => r.ok,
    }
}

async fn send(api: &Api, r: &Req) -> (StatusCode, Value) {
    let mut b = api
        .client
        .request(r.method.clone(), format!("{}{}", api.base, r.path))
        .header("x-csrf-token", &api.csrf);
    if let Some(body) = &r.body
        && r.multipart
    {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in body.as_object().unwrap() {
            form = form.text(k.clone(), v.as_str().unwrap().to_owned());
        }
        let file = reqwest::multipart::Part::bytes(b"plain text".to_vec()).file_name("note.pdf");
        b = b.multipart(form.part("file", file));
    } else if let Some(body) = &r.body {
        b = if r.form {
            let pairs: Vec<(String, String)> = body
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect();
            b.form(&pairs)
        } else {
            b.json(body)
        };
    }
    let res = b.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn every_route_for_every_role_and_relation() {
    for db in TestDb::all().await {
        let f = setup(&db).await;
        let mut specs = tsunagu_web::routes::specs();
        // Creates last: a case created for a person must not change the relations tested.
        specs.sort_by_key(|s| s.guard == Guard::CreateCase);
        let mut failures = Vec::new();
        let mut checked = 0;
        for spec in &specs {
            for (n, cell) in f.cells(spec.guard).into_iter().enumerate() {
                for mut r in requests(&f, spec, cell, n).await {
                    if r.access.is_some() {
                        // The previous command of the cell may have moved the version on.
                        let mut parts = r.path.split('/');
                        let id = parts
                            .by_ref()
                            .skip_while(|p| *p != "cases")
                            .nth(1)
                            .unwrap()
                            .to_owned();
                        r.body.as_mut().unwrap()["expected_version"] =
                            json!(f.case_version(&id).await);
                    }
                    let want = expected(&f, spec.guard, cell, &r);
                    let (got, body) = send(&f.api(cell), &r).await;
                    checked += 1;
                    if got != want {
                        failures.push(format!(
                            "{} {} as {:?} at {:?} ({:?}), access {:?}: want {want}, got {got} {body}",
                            spec.method, spec.path, cell.role, cell.org, cell.relation, r.access
                        ));
                    }
                    // A refusal never carries the record: only a code and a message.
                    if got == StatusCode::NOT_FOUND {
                        if spec.path.starts_with("/api/") {
                            assert_eq!(body["code"], "not_found", "{} {}", spec.method, spec.path);
                        } else {
                            // The error page names the same code and nothing of the record.
                            let html = body.as_str().unwrap_or_default();
                            assert!(html.contains("not_found"), "{} {}", spec.method, spec.path);
                        }
                    }
                }
            }
        }
        // Lists pass the same policy row by row: a case is listed exactly where it may be read,
        // a person found exactly where the person may be seen.
        for role in Role::ALL.into_iter().filter(|r| r.works_cases()) {
            for relation in Relation::ALL {
                let Some((case, org)) = f.case_for(role, relation) else {
                    continue;
                };
                let api = &f.users[&(role, org)].1;
                let (s, list) = api.get(&format!("/api/cases?person={}", case.person)).await;
                assert_eq!(s, StatusCode::OK);
                let listed = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["id"] == case.id.as_str());
                let readable = policy::perms(role, relation).read;
                if listed != readable {
                    failures.push(format!(
                        "case list as {role:?} in {relation:?}: listed {listed}"
                    ));
                }
                let (s, found) = api
                    .get(&format!("/api/persons?name={}", case.person_name))
                    .await;
                assert_eq!(s, StatusCode::OK);
                let found = found
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == case.person.as_str());
                if found != (org == Org::A || readable) {
                    failures.push(format!(
                        "person search as {role:?} in {relation:?}: found {found}"
                    ));
                }
                checked += 2;
            }
        }
        // Ending sessions, last: with the session itself and with an API token.
        for (i, ((role, org), (_, api))) in f.users.iter().enumerate() {
            let (s, t) = api.post("/api/me/tokens", json!({"label": "last"})).await;
            assert_eq!(s, StatusCode::CREATED, "{t}");
            let token = t["token"].as_str().unwrap().to_owned();
            if i % 2 == 0 {
                let (s, _) = api.post("/api/logout", json!({})).await;
                assert_eq!(s, StatusCode::NO_CONTENT, "logout as {role:?} at {org:?}");
            } else {
                // The page's logout form: the CSRF token travels as a form field.
                let res = api
                    .client
                    .post(format!("{}/logout", f.base))
                    .form(&[("csrf_token", api.csrf.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "page logout as {role:?} at {org:?}"
                );
            }
            assert_eq!(api.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
            let res = reqwest::Client::new()
                .delete(format!("{}/api/me/sessions", f.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            checked += 2;
        }
        for path in ["/api/logout", "/api/me/sessions"] {
            let method = if path == "/api/logout" {
                Method::POST
            } else {
                Method::DELETE
            };
            let anon = reqwest::Client::new()
                .request(method, format!("{}{path}", f.base))
                .send()
                .await
                .unwrap();
            assert_eq!(
                anon.status(),
                StatusCode::UNAUTHORIZED,
                "{path} without a login"
            );
        }
        assert!(
            failures.is_empty(),
            "{}: {} of {checked} cells wrong:\n{}",
            db.name,
            failures.len(),
            failures.join("\n")
        );
        eprintln!("{}: access matrix, {checked} cells checked", db.name);
        db.finish().await;
    }
}
