//! Trust: storage faults never turn into lies, privileges are read at every request, hostile
//! input is answered 4xx the same way on both backends, and records edited behind the
//! application's back are found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use tsunagu_store::{AuditQuery, Store};
use uuid::Uuid;

/// A small tmpfs, unmounted (lazily, so a failing test never leaves it behind) on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("tsunagu-disk-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but a tmpfs cannot be mounted: the disk-full test must run in CI");
            }
            eprintln!("SKIPPED: disk-full test (mounting a tmpfs needs root)");
            return None;
        }
        Some(SmallDisk(dir))
    }

    /// Fills the disk until `keep` bytes are left; returns the ballast file.
    fn fill(&self, keep: u64) -> std::path::PathBuf {
        let ballast = self.0.join("ballast");
        let free = fs_free(&self.0);
        let size = free.saturating_sub(keep);
        let chunk = vec![0u8; 64 * 1024];
        let mut f = std::fs::File::create(&ballast).unwrap();
        let mut written = 0u64;
        use std::io::Write;
        while written < size {
            let n = chunk.len().min(usize::try_from(size - written).unwrap());
            if f.write_all(&chunk[..n]).is_err() {
                break;
            }
            written += n as u64;
        }
        let _ = f.sync_all();
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn fs_free(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

async fn person_reads_audited(store: &Store, person: &str) -> usize {
    let rows = store
        .audit_query(&AuditQuery {
            person: Some(tsunagu_core::PersonId(Uuid::parse_str(person).unwrap())),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.iter()
        .filter(|r| r.row.action == "person.read")
        .count()
}

/// Finding 1: on a full disk SQLite answered 500 once, then 201 to writes that were never
/// committed (the connection stayed inside a transaction and later writes became savepoints of
/// it). Now: a write is acknowledged only after its commit; while the disk is full writes and
/// audited reads are refused with 503 `storage.unavailable`; when space returns, writing works
/// again without a restart, and every acknowledged write is there, seen by another connection
/// and after a restart.
#[tokio::test]
async fn a_full_disk_never_loses_an_acknowledged_write() {
    let Some(disk) = SmallDisk::mount(12) else {
        return;
    };
    let url = format!("sqlite://{}/t.db", disk.0.display());
    let db = TestDb::from_store(Store::connect(&url).await.unwrap(), "sqlite");
    let w = world(&db).await;
    let worker = w.login("worker").await;
    let mut acknowledged: Vec<String> = vec![];
    let ballast = disk.fill(256 * 1024);
    let mut refused = 0;
    let mut reads = vec![];
    for i in 0..4000 {
        let (status, body) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": format!("満杯 {i:04}"), "address": "あ".repeat(200)}}),
            )
            .await;
        match status {
            StatusCode::CREATED => acknowledged.push(body["id"].as_str().unwrap().to_owned()),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["code"], "storage.unavailable", "{body}");
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            other => panic!("write {i} on a full disk answered {other}: {body}"),
        }
        // Reads while the disk fills: either shown with their audit entry, or refused.
        if let Some(id) = acknowledged.last() {
            let (s, _) = worker.get(&format!("/api/persons/{id}")).await;
            assert!(
                s == StatusCode::OK || s == StatusCode::SERVICE_UNAVAILABLE,
                "read on a full disk answered {s}"
            );
            reads.push((id.clone(), s));
        }
    }
    assert_eq!(refused, 3, "the disk never filled");
    eprintln!(
        "disk-full test: {} writes acknowledged before the disk was full, {} reads",
        acknowledged.len(),
        reads.len()
    );
    assert!(!acknowledged.is_empty());
    // Space returns.
    std::fs::remove_file(&ballast).unwrap();
    let mut after = vec![];
    for i in 0..5 {
        let (status, body) = worker
            .post(
                "/api/persons",
                json!({"details": {"name": format!("回復 {i}")}}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "write after space returned: {body}"
        );
        after.push(body["id"].as_str().unwrap().to_owned());
    }
    for id in &after {
        let (s, _) = worker.get(&format!("/api/persons/{id}")).await;
        assert_eq!(s, StatusCode::OK, "the server's own read of {id}");
    }
    acknowledged.extend(after);
    // Every read that answered 200 has its audit entry.
    for (id, s) in &reads {
        if *s == StatusCode::OK {
            assert!(
                person_reads_audited(&db.store, id).await >= 1,
                "read of {id} shown without an audit entry"
            );
        }
    }
    // Another connection sees every acknowledged write, and so does a restart.
    let other = Store::open(&url).await.unwrap();
    for id in &acknowledged {
        let pid = tsunagu_core::PersonId(Uuid::parse_str(id).unwrap());
        assert!(
            other.person(w.tenant, pid).await.unwrap().is_some(),
            "{id} not committed"
        );
    }
    other.close().await;
    db.store.close().await;
    let reopened = Store::connect(&url).await.unwrap();
    let mut present = 0;
    for id in &acknowledged {
        let pid = tsunagu_core::PersonId(Uuid::parse_str(id).unwrap());
        assert!(
            reopened.person(w.tenant, pid).await.unwrap().is_some(),
            "{id} lost after restart"
        );
        present += 1;
    }
    assert_eq!(present, acknowledged.len());
    let db = TestDb::from_store(reopened, "sqlite");
    db.finish().await;
    drop(disk);
}

/// The same on PostgreSQL when its connections are killed (a server restart, a dropped
/// network): never a 500, never an acknowledged write missing, and recovery without a restart.
#[tokio::test]
async fn killed_postgres_connections_answer_503_and_recover() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = world(&db).await;
    let worker = w.login("worker").await;
    let schema = db.schema().unwrap();
    let killer = Store::open(&std::env::var("TSUNAGU_TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    let mut acknowledged = vec![];
    let mut unavailable = 0;
    for round in 0..6 {
        // Kill every connection the server holds, while requests are running.
        let kill = async {
            if let Store::Postgres(k) = &killer {
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                )
                .bind(&schema)
                .execute(&k.write)
                .await
                .unwrap();
            }
        };
        let writes = async {
            let mut out = vec![];
            for i in 0..10 {
                out.push(
                    worker
                        .post(
                            "/api/persons",
                            json!({"details": {"name": format!("切断 {round} {i}")}}),
                        )
                        .await,
                );
            }
            out
        };
        let ((), results) = tokio::join!(kill, writes);
        for (status, body) in results {
            match status {
                StatusCode::CREATED => acknowledged.push(body["id"].as_str().unwrap().to_owned()),
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(body["code"], "storage.unavailable");
                    unavailable += 1;
                }
                // The session itself is read from the database: a killed connection there is
                // the same 503, never a 500 nor a logout.
                other => panic!("answered {other} after connections were killed: {body}"),
            }
        }
    }
    killer.close().await;
    // Recovered without a restart: writes and reads work, and every acknowledged write is there.
    let (s, body) = worker
        .post("/api/persons", json!({"details": {"name": "回復"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for id in &acknowledged {
        let (s, _) = worker.get(&format!("/api/persons/{id}")).await;
        assert_eq!(s, StatusCode::OK, "acknowledged {id} missing");
    }
    eprintln!(
        "postgres kill test: {} acknowledged, {unavailable} answered 503",
        acknowledged.len()
    );
    db.finish().await;
}
