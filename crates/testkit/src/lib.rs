//! Test harness shared by the suites: a real database (SQLite always; PostgreSQL when
//! TSUNAGU_TEST_DATABASE_URL is set, and required when CI=true) and a tenant seeded with the
//! organisations and one user per role that the suites act as. For tests only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use tsunagu_core::{OrgId, OrgKind, Role, TenantId, TenantSettings, UserId};
use tsunagu_store::{AuditEntry, Organisation, Store, Tenant, User};
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
            &AuditEntry::new("test.seed").tenant(tenant),
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
            &AuditEntry::new("test.seed").tenant(tenant),
        )
        .await
        .unwrap();
    id
}

/// A tenant with a city department, the agency, Hello Work and an unrelated agency, and one
/// user per role (logins `worker-<tag>`, `lead-<tag>`, …, all with [`PASSWORD`]).
pub struct Seeded {
    pub tenant: TenantId,
    pub city: OrgId,
    pub agency: OrgId,
    pub hellowork: OrgId,
    pub other_agency: OrgId,
    pub users: Vec<(String, UserId)>,
}

/// The roles of [`seed`], by the name the tests use.
pub const ROLES: [(&str, Role); 7] = [
    ("worker", Role::SupportWorker),
    ("lead", Role::LeadSupportWorker),
    ("city", Role::MunicipalOfficer),
    ("hw", Role::RelatedAgencyMember),
    ("stranger", Role::SupportWorker),
    ("admin", Role::Administrator),
    ("auditor", Role::Auditor),
];

pub async fn seed(store: &Store) -> Seeded {
    let tenant = new_tenant(store, "テスト市").await;
    let audit = || AuditEntry::new("test.seed").tenant(tenant);
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
                &audit(),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let hash = tsunagu_app::accounts::hash_password(PASSWORD).unwrap();
    let tag = Uuid::now_v7().simple().to_string();
    let mut users = vec![];
    for (login, role) in ROLES {
        let org = match login {
            "worker" | "lead" => ids[1],
            "hw" => ids[2],
            "stranger" => ids[3],
            _ => ids[0],
        };
        let id = add_user(store, tenant, format!("{login}-{tag}"), role, org, &hash).await;
        users.push((format!("{login}-{tag}"), id));
    }
    Seeded {
        tenant,
        city: ids[0],
        agency: ids[1],
        hellowork: ids[2],
        other_agency: ids[3],
        users,
    }
}

impl Seeded {
    pub fn login_name(&self, role: &str) -> String {
        self.users
            .iter()
            .find(|(l, _)| l.starts_with(&format!("{role}-")))
            .map(|(l, _)| l.clone())
            .unwrap()
    }

    pub fn user_id(&self, role: &str) -> UserId {
        self.users
            .iter()
            .find(|(l, _)| l.starts_with(&format!("{role}-")))
            .map(|(_, id)| *id)
            .unwrap()
    }
}

/// A date `days` from today (Japan), as the API writes dates.
pub fn day(days: i64) -> String {
    tsunagu_app::today()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

/// The user as an actor of their organisation, with their tenant's settings.
pub async fn actor(store: &Store, user: UserId) -> (tsunagu_core::Actor, TenantSettings) {
    let member = store.member(user).await.unwrap().unwrap();
    let actor = tsunagu_core::Actor {
        tenant_id: member.user.tenant_id,
        user_id: member.user.id,
        org_id: member.user.org_id,
        org_kind: member.org_kind,
        role: member.user.role,
    };
    (actor, member.settings)
}

/// Registers `n` persons (named `<name> <i>`), each with a case opened today by `user`, many
/// writes to a transaction as the generator writes them: every event still decided by core.
/// For tests that need a tenant of a city's size in seconds.
pub async fn bulk_cases(store: &Store, user: UserId, name: &str, n: usize) {
    use tsunagu_core::case::{self, OpenCase};
    use tsunagu_core::person::{self, PersonDetails};
    use tsunagu_core::{CaseId, Context, HouseholdId, PersonId};
    use tsunagu_store::{AppendBatch, StreamAppend};

    let (actor, settings) = actor(store, user).await;
    let ctx = Context {
        today: tsunagu_app::today(),
        actor: &actor,
        settings: &settings,
        consents: &[],
    };
    let mut batches = Vec::with_capacity(2_000);
    for i in 0..n {
        let details: PersonDetails =
            serde_json::from_value(serde_json::json!({"name": format!("{name} {i}")})).unwrap();
        let person = PersonId(Uuid::now_v7());
        let registered = person::register(details, HouseholdId(Uuid::now_v7()), &ctx).unwrap();
        let open: OpenCase = serde_json::from_value(serde_json::json!({
            "person_id": person, "intake": {"received_on": day(0), "route": "self_visit",
            "presenting_problem_text": format!("{name}さんの債務の相談"),
            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}))
        .unwrap();
        let opened = case::open(open, &ctx).unwrap();
        batches.push(AppendBatch {
            tenant: actor.tenant_id,
            actor: actor.actor_ref(),
            recorded_at: jiff::Timestamp::now(),
            reason: None,
            idempotency: None,
            streams: vec![
                StreamAppend::Person {
                    id: person,
                    expected_version: 0,
                    events: registered,
                },
                StreamAppend::Case {
                    id: CaseId(Uuid::now_v7()),
                    expected_version: 0,
                    events: opened,
                },
            ],
            audit: vec![AuditEntry::by(&actor, "test.bulk")],
            files: Vec::new(),
        });
        if batches.len() == 2_000 || i + 1 == n {
            store
                .append_all(std::mem::take(&mut batches))
                .await
                .unwrap();
        }
    }
}
