//! Test harness: a real database (SQLite always; PostgreSQL when TSUNAGU_TEST_DATABASE_URL is
//! set, and required when CI=true), a real server on a loopback port, real HTTP clients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tsunagu_core::{OrgId, OrgKind, Role, TenantId, TenantSettings, UserId};
use tsunagu_store::{Organisation, Store, Tenant, User};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestDb {
    pub store: Store,
    pub name: &'static str,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("tsunagu-test-{}", Uuid::now_v7()));
        let url = format!("sqlite://{}/t.db", dir.display());
        let store = Store::connect(&url).await.unwrap();
        TestDb {
            store,
            name: "sqlite",
            cleanup: None,
            _dir: Some(TempDir(dir)),
        }
    }

    pub async fn postgres() -> Option<TestDb> {
        let url = match std::env::var("TSUNAGU_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!(
                        "CI=true but TSUNAGU_TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI"
                    );
                }
                eprintln!("SKIPPED: PostgreSQL tests (set TSUNAGU_TEST_DATABASE_URL to run them)");
                return None;
            }
        };
        let schema = format!("t_{}", Uuid::now_v7().simple());
        let admin = Store::open(&url).await.unwrap();
        if let Some(pool) = admin.postgres_pool() {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(pool)
                .await
                .unwrap();
        }
        admin.close().await;
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())])
            .application_name(&schema);
        let store = Store::open_postgres(options).await.unwrap();
        store.migrate().await.unwrap();
        Some(TestDb {
            store,
            name: "postgres",
            cleanup: Some((url, schema)),
            _dir: None,
        })
    }

    /// A store opened by the test itself (on a disk of its own), dropped with the directory.
    pub fn from_store(store: Store, name: &'static str) -> TestDb {
        TestDb {
            store,
            name,
            cleanup: None,
            _dir: None,
        }
    }

    /// The PostgreSQL schema of this database, which is also its connections' application name.
    pub fn schema(&self) -> Option<String> {
        self.cleanup.as_ref().map(|(_, s)| s.clone())
    }

    /// Every backend available: SQLite, and PostgreSQL when configured.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        if let Some(pg) = TestDb::postgres().await {
            dbs.push(pg);
        }
        dbs
    }

    /// Runs SQL directly, as someone with database access would (tamper tests).
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match (self.store.sqlite_pools(), self.store.postgres_pool()) {
            (Some((_, write)), _) => sqlx::query(sql)
                .execute(write)
                .await
                .map(|r| r.rows_affected()),
            (None, Some(pool)) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            (None, None) => unreachable!("a store is SQLite or PostgreSQL"),
        }
    }

    /// Removes the audit log's append-only triggers, as an attacker with database access could.
    pub async fn drop_audit_triggers(&self) {
        if self.name == "sqlite" {
            self.exec("DROP TRIGGER audit_log_no_update").await.unwrap();
            self.exec("DROP TRIGGER audit_log_no_delete").await.unwrap();
        } else {
            self.exec("DROP TRIGGER audit_log_no_change ON audit_log")
                .await
                .unwrap();
        }
    }

    /// Verifies the database (every projection equals its fold, the audit chain is intact),
    /// then drops it.
    pub async fn finish(self) {
        let findings = self.store.verify().await.unwrap();
        assert!(
            findings.is_empty(),
            "{}: verify found {findings:?}",
            self.name
        );
        let chain = self.store.audit_verify().await.unwrap();
        assert!(chain.is_ok(), "{}: audit chain: {chain:?}", self.name);
        self.discard().await;
    }

    /// Drops the database without checks (after deliberate tampering).
    pub async fn discard(self) {
        self.store.close().await;
        if let Some((url, schema)) = &self.cleanup {
            let admin = Store::open(url).await.unwrap();
            if let Some(pool) = admin.postgres_pool() {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            admin.close().await;
        }
    }
}

/// A tenant that does not require the second factor (TOTP is tested on its own).
pub async fn new_tenant(store: &Store, name: &str) -> TenantId {
    let tenant = TenantId(Uuid::now_v7());
    let settings = TenantSettings {
        totp_required_roles: vec![],
        ..TenantSettings::default()
    };
    store
        .create_tenant(
            &Tenant {
                id: tenant,
                name: name.into(),
                settings,
                is_demo: false,
            },
            &tsunagu_store::AuditEntry::new("test.seed").tenant(tenant),
        )
        .await
        .unwrap();
    tenant
}

/// A user with the given password hash, created directly in the store.
pub async fn add_user(
    store: &Store,
    tenant: TenantId,
    login: String,
    role: Role,
    org: OrgId,
    hash: &str,
) -> UserId {
    let id = UserId(Uuid::now_v7());
    store
        .create_user(
            &User {
                id,
                tenant_id: tenant,
                org_id: org,
                display_name: login.split('-').next().unwrap_or_default().into(),
                login,
                role,
                password_hash: Some(hash.to_owned()),
                disabled: false,
                totp_secret: None,
                totp_confirmed: false,
            },
            &tsunagu_store::AuditEntry::new("test.seed").tenant(tenant),
        )
        .await
        .unwrap();
    id
}

pub struct World {
    pub base: String,
    pub tenant: TenantId,
    pub city: OrgId,
    pub agency: OrgId,
    pub hellowork: OrgId,
    pub other_agency: OrgId,
    pub users: Vec<(String, UserId)>,
    /// The server's calendar, to move days forward (consent expiry).
    pub clock: tsunagu_web::Clock,
}

/// A tenant with a city department, the agency, Hello Work and an unrelated agency; one user
/// per role; a server on a free loopback port.
pub async fn world(db: &TestDb) -> World {
    let store = &db.store;
    let tenant = new_tenant(store, "テスト市").await;
    let seed = || tsunagu_store::AuditEntry::new("test.seed").tenant(tenant);
    let mut ids = vec![];
    for (name, kind) in [
        ("社会福祉課", OrgKind::MunicipalDepartment),
        ("自立相談支援機関", OrgKind::SupportAgency),
        ("ハローワーク", OrgKind::RelatedAgency),
        ("別の機関", OrgKind::SupportAgency),
    ] {
        let id = OrgId(Uuid::now_v7());
        store
            .create_org(
                &Organisation {
                    id,
                    tenant_id: tenant,
                    name: name.into(),
                    kind,
                },
                &seed(),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let hash = tsunagu_web::auth::hash_password(PASSWORD).unwrap();
    let tag = Uuid::now_v7().simple().to_string();
    let mut users = vec![];
    for (login, role, org) in [
        ("worker", Role::SupportWorker, ids[1]),
        ("lead", Role::LeadSupportWorker, ids[1]),
        ("city", Role::MunicipalOfficer, ids[0]),
        ("hw", Role::RelatedAgencyMember, ids[2]),
        ("stranger", Role::SupportWorker, ids[3]),
        ("admin", Role::Administrator, ids[0]),
        ("auditor", Role::Auditor, ids[0]),
    ] {
        let id = add_user(store, tenant, format!("{login}-{tag}"), role, org, &hash).await;
        users.push((format!("{login}-{tag}"), id));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = tsunagu_web::AppState::new(store.clone());
    let clock = state.clock.clone();
    tokio::spawn(async move { tsunagu_web::serve(listener, state).await });
    World {
        base,
        tenant,
        city: ids[0],
        agency: ids[1],
        hellowork: ids[2],
        other_agency: ids[3],
        users,
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
    pub fn login_name(&self, role: &str) -> String {
        self.users
            .iter()
            .find(|(l, _)| l.starts_with(&format!("{role}-")))
            .unwrap()
            .0
            .clone()
    }

    pub fn user_id(&self, role: &str) -> UserId {
        self.users
            .iter()
            .find(|(l, _)| l.starts_with(&format!("{role}-")))
            .unwrap()
            .1
    }

    pub async fn login(&self, role: &str) -> Api {
        let login = self
            .users
            .iter()
            .find(|(l, _)| l.starts_with(&format!("{role}-")))
            .unwrap()
            .0
            .clone();
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

/// A date `days` from today (negative: in the past), as ISO text.
pub fn day(days: i64) -> String {
    tsunagu_web::today()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}
