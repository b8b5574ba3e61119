//! Test harness: a real database (SQLite always; PostgreSQL when TSUNAGU_TEST_DATABASE_URL is
//! set, and required when CI=true), a real server on a loopback port, real HTTP clients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use tsunagu_core::OrgId;

pub use tsunagu_testkit::*;

/// The seeded tenant (its organisations and users, reached through `Deref`) served on a free
/// loopback port.
pub struct World {
    pub base: String,
    pub seeded: Seeded,
    /// The server's calendar, to move days forward (consent expiry).
    pub clock: tsunagu_web::Clock,
}

impl std::ops::Deref for World {
    type Target = Seeded;
    fn deref(&self) -> &Seeded {
        &self.seeded
    }
}

/// The seeded tenant (see [`seed`]) with a server on a free loopback port.
pub async fn world(db: &TestDb) -> World {
    let seeded = seed(&db.store).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = tsunagu_web::AppState::new(db.store.clone());
    let clock = state.clock.clone();
    tokio::spawn(async move { tsunagu_web::serve(listener, state).await });
    World {
        base,
        seeded,
        clock,
    }
}

/// Another server over the same database (a restart, a second instance, other settings).
pub async fn serve(state: tsunagu_web::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { tsunagu_web::serve(listener, state).await });
    base
}

impl World {
    pub async fn login(&self, role: &str) -> Api {
        let login = self.login_name(role);
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = client
            .post(format!("{}/api/login", self.base))
            .json(&json!({"login": login, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login as {role}");
        let me: Value = res.json().await.unwrap();
        Api {
            client,
            base: self.base.clone(),
            csrf: me["csrf_token"].as_str().unwrap_or_default().to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    /// Sent as `X-CSRF-Token` with every request, as the web pages do.
    pub csrf: String,
}

impl Api {
    /// Fetches an xlsx file (200 expected) and opens it as Excel would.
    pub async fn workbook(&self, path: &str) -> calamine::Xlsx<std::io::Cursor<Vec<u8>>> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let bytes = res.bytes().await.unwrap().to_vec();
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let res = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// A page as the browser gets it (redirects followed): status and HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// Posts a page form as the browser does (CSRF token in the form, redirects followed):
    /// status, the path and query the browser ends at, and the page.
    pub async fn form(
        &self,
        path: &str,
        fields: &[(&str, String)],
    ) -> (StatusCode, String, String) {
        let mut form: Vec<(String, String)> = vec![("csrf_token".into(), self.csrf.clone())];
        form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let url = res.url();
        let at = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        (status, at, res.text().await.unwrap())
    }

    /// Registers a person through the API; their id.
    pub async fn person(&self, details: Value) -> String {
        let (s, p) = self
            .post("/api/persons", json!({ "details": details }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        p["id"].as_str().unwrap().to_owned()
    }

    /// Attaches a file to a case through the API (multipart) at `version`.
    pub async fn attach(
        &self,
        case: &str,
        version: u64,
        title: &str,
        filename: &str,
        content: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .text("expected_version", version.to_string())
            .text("kind", "signed_application")
            .text("title", title.to_owned())
            .text("received_on", day(0))
            .part(
                "file",
                reqwest::multipart::Part::bytes(content).file_name(filename.to_owned()),
            );
        self.upload(case, form).await
    }

    /// Sends a multipart upload to the case's attachments.
    pub async fn upload(&self, case: &str, form: reqwest::multipart::Form) -> (StatusCode, Value) {
        let res = self
            .client
            .post(format!("{}/api/cases/{case}/attachments", self.base))
            .header("x-csrf-token", &self.csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Sends a case command at the case's current version.
    pub async fn cmd(&self, case: &str, command: Value) -> (StatusCode, Value) {
        let (_, c) = self.get(&format!("/api/cases/{case}")).await;
        let version = c["version"].as_u64().unwrap_or(0);
        self.post(
            &format!("/api/cases/{case}/commands"),
            json!({"expected_version": version, "command": command}),
        )
        .await
    }

    /// A person of that name with a case received 20 days ago (self visit); the case's id.
    pub async fn new_case(&self, name: &str) -> String {
        let person = self.person(json!({ "name": name })).await;
        let (s, c) = self
            .post(
                "/api/cases",
                json!({"person_id": person, "intake": {"received_on": day(-20),
                "route": "self_visit", "urgency": "normal"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }

    /// [`Api::new_case`] triaged (day -19), assessed (-18) and screened (-17): in planning.
    pub async fn planning_case(&self, name: &str) -> String {
        let case = self.new_case(name).await;
        for command in [
            json!({"action": "triage", "triaged_on": day(-19), "outcome": {"outcome": "continue"}}),
            json!({"action": "record_assessment", "assessment": {"assessed_on": day(-18), "baseline": "生活の状況", "main_issues": "家賃の滞納"}}),
            json!({"action": "screen", "screened_on": day(-17), "outcome": {"outcome": "continue"}}),
        ] {
            self.ok(&case, command).await;
        }
        case
    }

    /// A case command that must succeed.
    pub async fn ok(&self, case: &str, command: Value) -> Value {
        let (status, body) = self.cmd(case, command.clone()).await;
        assert_eq!(status, StatusCode::OK, "{command}: {body}");
        body
    }

    /// A case command that must be refused with `code`.
    pub async fn refused(&self, case: &str, command: Value, code: &str) {
        let (status, body) = self.cmd(case, command.clone()).await;
        assert_eq!(body["code"], code, "{command}: {status} {body}");
        assert!(status.is_client_error(), "{status}");
        assert!(!body["message"].as_str().unwrap_or("").is_empty());
    }

    /// Sends a person command at the person's current version.
    pub async fn person_cmd(&self, person: &str, command: Value) -> (StatusCode, Value) {
        let (_, p) = self.get(&format!("/api/persons/{person}")).await;
        let version = p["version"].as_u64().unwrap_or(0);
        self.post(
            &format!("/api/persons/{person}/commands"),
            json!({"expected_version": version, "command": command}),
        )
        .await
    }

    /// Records the person's consent (本人同意) to share with `orgs` from `given_on`; returns its id.
    pub async fn consent(
        &self,
        person: &str,
        orgs: &[OrgId],
        given_on: &str,
        until: Option<&str>,
    ) -> String {
        let (s, p) = self
            .person_cmd(
                person,
                json!({"action": "record_consent", "organisations": orgs, "purpose": "支援のための情報共有", "given_on": given_on, "valid_until": until}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        p["consents"].as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn meeting_cmd(&self, meeting: &str, command: Value) -> (StatusCode, Value) {
        let (_, m) = self.get(&format!("/api/meetings/{meeting}")).await;
        let version = m["version"].as_u64().unwrap_or(0);
        self.post(
            &format!("/api/meetings/{meeting}/commands"),
            json!({"expected_version": version, "command": command}),
        )
        .await
    }
}
