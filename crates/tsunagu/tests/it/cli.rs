//! The command line on a real database: generated demo data passes `verify`, and `demo`
//! data is never added to a database holding real data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn tsunagu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn generated_demo_data_verifies() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/demo.db", dir.display());
    let out = tsunagu(&[
        "generate",
        "--database",
        &url,
        "--persons",
        "60",
        "--seed",
        "7",
        "--tenants",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tsunagu(&["verify", "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("verify: ok"));
    // The search index is built beside the database from its records, and again from nothing.
    for _ in 0..2 {
        let out = tsunagu(&["reindex", "--database", &url]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        let records: u64 = said
            .split("reindex: ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{said}"));
        assert!(records > 60, "{said}");
        assert!(dir.join("demo.db.search").join("meta.json").exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_fails_on_a_tampered_projection() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/demo.db", dir.display());
    assert!(
        tsunagu(&["generate", "--database", &url, "--persons", "20"])
            .status
            .success()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = tsunagu_store::Store::open(&url).await.unwrap();
        if let Some((_, write)) = store.sqlite_pools() {
            sqlx::query("UPDATE cases SET stage = 'closed' WHERE stage <> 'closed'")
                .execute(write)
                .await
                .unwrap();
            // Events cannot be changed in place.
            assert!(
                sqlx::query("UPDATE events SET payload = '{}'")
                    .execute(write)
                    .await
                    .is_err()
            );
            assert!(
                sqlx::query("DELETE FROM events")
                    .execute(write)
                    .await
                    .is_err()
            );
        }
        store.close().await;
    });
    let out = tsunagu(&["verify", "--database", &url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stage column differs"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every projection row is a function of the folded events: editing any projection table in
/// the database makes `verify` fail and name the record and the table's rows.
#[test]
fn verify_names_an_edited_row_of_every_projection_table() {
    let cases: [(&str, &str, &str); 17] = [
        (
            "cases",
            "UPDATE cases SET stage = 'closed' WHERE id = (SELECT MIN(id) FROM cases WHERE stage <> 'closed')",
            "stage column differs",
        ),
        (
            "cases (when the stage was entered, which the stuck list reads)",
            "UPDATE cases SET stage_changed_at = '2001-01-01T00:00:00Z' WHERE id = (SELECT MIN(id) FROM cases)",
            "stage_changed_at differs",
        ),
        (
            "cases (the business date the stage was entered, which the caseload list reads)",
            "UPDATE cases SET stage_entered_on = '2001-01-01' WHERE id = (SELECT MIN(id) FROM cases)",
            "stage_entered_on differs",
        ),
        (
            "cases (urgency, a filter of the caseload list)",
            "UPDATE cases SET urgency = 'emergency' WHERE id = (SELECT MIN(id) FROM cases WHERE urgency IS NOT NULL AND urgency <> 'emergency')",
            "urgency differs",
        ),
        (
            "cases (the earliest due day, which the overdue filter reads)",
            "UPDATE cases SET earliest_due_on = '2001-01-01' WHERE id = (SELECT MIN(id) FROM cases)",
            "earliest_due_on differs",
        ),
        (
            "case_team",
            "DELETE FROM case_team WHERE case_id = (SELECT MIN(case_id) FROM case_team)",
            "team rows differ",
        ),
        (
            "case_due",
            "UPDATE case_due SET due_on = '2001-01-01' WHERE case_id = (SELECT MIN(case_id) FROM case_due)",
            "due rows differ",
        ),
        (
            "case_milestones (what a case counts for in the national indicators)",
            "UPDATE case_milestones SET on_date = '2001-01-01' WHERE case_id = (SELECT MIN(case_id) FROM case_milestones)",
            "rows of case_milestones differ",
        ),
        (
            "case_access (a relation changed)",
            "UPDATE case_access SET relation = 'assigned', user_id = NULL WHERE case_id = (SELECT MIN(case_id) FROM case_access)",
            "rows of case_access differ",
        ),
        (
            "case_access (a row added for another organisation)",
            "INSERT INTO case_access (case_id, tenant_id, org_id, user_id, relation, valid_from, valid_until, rank) \
             SELECT id, tenant_id, '00000000-0000-0000-0000-000000000001', NULL, 'same_organisation', NULL, NULL, 4 FROM cases LIMIT 1",
            "rows of case_access differ",
        ),
        (
            "person_access",
            "DELETE FROM person_access WHERE person_id = (SELECT MIN(person_id) FROM person_access)",
            "rows of person_access differ",
        ),
        (
            "person_grams (the name pairs person search looks up)",
            "DELETE FROM person_grams WHERE person_id = (SELECT MIN(person_id) FROM person_grams)",
            "rows of person_grams differ",
        ),
        (
            "persons (the search key)",
            "UPDATE persons SET search_key = 'x' WHERE id = (SELECT MIN(id) FROM persons)",
            "the search key differs",
        ),
        (
            "caseload_counts (a count changed)",
            "UPDATE caseload_counts SET cases = cases + 1 WHERE worker = (SELECT MIN(worker) FROM caseload_counts WHERE worker <> '*')",
            "caseload_counts: the row of worker",
        ),
        (
            "caseload_counts (an organisation's open total changed)",
            "UPDATE caseload_counts SET cases = cases - 1 WHERE worker = '*' AND stage = 'open'",
            "caseload_counts: the row of worker * in stage open",
        ),
        (
            "caseload_counts (a row removed)",
            "DELETE FROM caseload_counts WHERE worker = (SELECT MAX(worker) FROM caseload_counts)",
            "is missing or differs",
        ),
        (
            "meeting_members",
            "DELETE FROM meeting_members WHERE meeting_id = (SELECT MIN(meeting_id) FROM meeting_members)",
            "rows of meeting_members differ",
        ),
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (table, edit, finding) in cases {
        let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}/demo.db", dir.display());
        assert!(
            tsunagu(&["generate", "--database", &url, "--persons", "20"])
                .status
                .success()
        );
        let out = tsunagu(&["verify", "--database", &url]);
        assert!(out.status.success(), "{table}: clean before the edit");
        rt.block_on(async {
            let store = tsunagu_store::Store::open(&url).await.unwrap();
            if let Some((_, write)) = store.sqlite_pools() {
                let done = sqlx::query(edit).execute(write).await.unwrap();
                assert!(
                    done.rows_affected() > 0,
                    "{table}: the edit changed nothing"
                );
            }
            store.close().await;
        });
        let out = tsunagu(&["verify", "--database", &url]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{table}: verify passed an edited table"
        );
        assert!(said.contains(finding), "{table}: {said}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The command line sets passwords by the same rules as the API: a common one is refused with
/// the API's code, and nothing is created.
#[test]
fn the_cli_refuses_the_passwords_the_api_refuses() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/real.db", dir.display());
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .args([
            "init",
            "--database",
            &url,
            "--tenant",
            "架空市",
            "--org",
            "架空市 福祉課",
            "--admin-login",
            "first-admin",
            "--admin-name",
            "管理 太郎",
        ])
        .env("TSUNAGU_PASSWORD", "password123")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("password.too_common"), "{said}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = tsunagu_store::Store::connect(&url).await.unwrap();
        assert!(
            store.tenants().await.unwrap().is_empty(),
            "nothing is created"
        );
        store.close().await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first run of a real deployment: `init` sets up the tenant and its administrator, `serve`
/// starts, and the administrator logs in and adds an organisation. `init` refuses to mix real and
/// demo data.
#[test]
fn init_then_serve_then_administer() {
    use std::io::{BufRead, BufReader, Write};
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/real.db", dir.display());
    let mut init = Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .args([
            "init",
            "--database",
            &url,
            "--tenant",
            "架空市",
            "--org",
            "架空市 福祉課",
            "--admin-login",
            "first-admin",
            "--admin-name",
            "管理 太郎",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    init.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let out = init.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("tenant "));
    // A second init with the same tenant name is refused; demo data is refused on a real database.
    let again = tsunagu(&[
        "init",
        "--database",
        &url,
        "--tenant",
        "架空市",
        "--org",
        "x",
        "--admin-login",
        "other",
        "--admin-name",
        "x",
    ]);
    assert!(!again.status.success());
    let demo = tsunagu(&["generate", "--database", &url, "--persons", "5"]);
    assert!(!demo.status.success());
    assert!(String::from_utf8_lossy(&demo.stderr).contains("non-demo data"));

    /// Stops the server even when an assertion fails.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_tsunagu"))
            .args(["serve", "--database", &url, "--listen", "127.0.0.1:0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("Tsunagu is running at ") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = rt.block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let login = client
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"login": "first-admin", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), reqwest::StatusCode::OK);
        let me: serde_json::Value = login.json().await.unwrap();
        // A real tenant requires a second factor: the first login may only enrol it.
        assert_eq!(me["totp_setup_required"], true);
        let csrf = me["csrf_token"].as_str().unwrap().to_owned();
        let blocked = client
            .post(format!("{base}/api/organisations"))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"name": "架空市 自立相談支援機関", "kind": "support_agency"}))
            .send()
            .await
            .unwrap();
        assert_eq!(blocked.status(), reqwest::StatusCode::FORBIDDEN);
        let setup: serde_json::Value = client
            .post(format!("{base}/api/me/totp"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = setup["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{setup}"));
        assert!(
            setup["otpauth_url"]
                .as_str()
                .unwrap()
                .starts_with("otpauth://totp/")
        );
        let code = tsunagu_web::auth::totp(secret, "first-admin")
            .unwrap()
            .generate(u64::try_from(jiff::Timestamp::now().as_second()).unwrap());
        let confirmed = client
            .post(format!("{base}/api/me/totp/confirm"))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(confirmed.status(), reqwest::StatusCode::OK);
        let created = client
            .post(format!("{base}/api/organisations"))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"name": "架空市 自立相談支援機関", "kind": "support_agency"}))
            .send()
            .await
            .unwrap();
        created.status()
    });
    drop(server);
    assert_eq!(result, reqwest::StatusCode::CREATED);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tsunagu audit verify` passes on an untouched database and names the first modified entry.
#[test]
fn audit_verify_names_a_modified_entry() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/demo.db", dir.display());
    assert!(
        tsunagu(&["generate", "--database", &url, "--persons", "10"])
            .status
            .success()
    );
    let out = tsunagu(&["audit", "verify", "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = tsunagu_store::Store::open(&url).await.unwrap();
        if let Some((_, write)) = store.sqlite_pools() {
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(write)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET object_id = 'x' WHERE seq = 3")
                .execute(write)
                .await
                .unwrap();
        }
        store.close().await;
    });
    let out = tsunagu(&["audit", "verify", "--database", &url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("audit entry 3: its content was modified"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn login(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: serde_json::Value = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"login": "worker", "password": "tsunagu-demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, me["csrf_token"].as_str().unwrap().to_owned())
}

fn ok(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// Finding 5: there was no backup, and copying the file missed the writes still in the WAL.
/// `tsunagu backup` takes an online, consistent, verified backup while the server keeps
/// writing; `restore` brings it back into an empty database with identical timelines; an
/// encrypted backup needs its passphrase; `copy` moves the deployment to PostgreSQL and back.
#[test]
fn backup_while_writing_restores_and_copies_with_identical_timelines() {
    let dir = std::env::temp_dir().join(format!("tsunagu-backup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let live = format!("sqlite://{}/live.db", dir.display());
    ok(&tsunagu(&[
        "generate",
        "--database",
        &live,
        "--persons",
        "20",
    ]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = tsunagu_store::Store::connect(&live).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = tsunagu_web::AppState::new(store.clone());
        tokio::spawn(async move { tsunagu_web::serve(listener, state).await });
        let (client, csrf) = login(&base).await;
        let write = move |i: u32| {
            let (client, csrf, base) = (client.clone(), csrf.clone(), base.clone());
            async move {
                let res = client
                    .post(format!("{base}/api/persons"))
                    .header("x-csrf-token", csrf)
                    .json(&serde_json::json!({"details": {"name": format!("書込 {i:04}")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::CREATED);
            }
        };
        for i in 0..20 {
            write(i).await;
        }
        // Writes keep coming while the backup runs.
        let writer = tokio::spawn({
            let write = write.clone();
            async move {
                for i in 20..220 {
                    write(i).await;
                }
            }
        });
        let backup = dir.join("live.bak");
        let out = tokio::task::spawn_blocking({
            let (live, backup) = (live.clone(), backup.clone());
            move || {
                tsunagu(&[
                    "backup",
                    "--database",
                    &live,
                    "--output",
                    backup.to_str().unwrap(),
                ])
            }
        })
        .await
        .unwrap();
        let err = ok(&out);
        assert!(err.contains("backup: ok"), "{err}");
        writer.await.unwrap();
        // Restored: clean, and holding at least every write acknowledged before the backup.
        let restored = format!("sqlite://{}/restored.db", dir.display());
        let err = ok(&tsunagu(&[
            "restore",
            "--input",
            backup.to_str().unwrap(),
            "--database",
            &restored,
        ]));
        assert!(
            err.contains("timelines:") && err.contains("restore: ok"),
            "{err}"
        );
        let back = tsunagu_store::Store::open(&restored).await.unwrap();
        assert!(back.verify().await.unwrap().is_empty());
        assert!(back.audit_verify().await.unwrap().is_ok());
        let tenant = back.tenants().await.unwrap()[0].id;
        let persons = back
            .search_persons(
                tenant,
                back.users(tenant)
                    .await
                    .unwrap()
                    .iter()
                    .find(|u| u.login == "worker")
                    .unwrap()
                    .org_id,
                &tsunagu_store::PersonQuery {
                    name: Some("書込".into()),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(
            persons.len() >= 20,
            "writes before the backup: {}",
            persons.len()
        );
        // Refused: a non-empty target.
        let out = tsunagu(&[
            "restore",
            "--input",
            backup.to_str().unwrap(),
            "--database",
            &restored,
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
        back.close().await;
        store.close().await;

        // Encrypted: unreadable without the passphrase, restored with it.
        let pass = dir.join("pass");
        std::fs::write(&pass, "a long enough passphrase\n").unwrap();
        let sealed = dir.join("sealed.age");
        ok(&tsunagu(&[
            "backup",
            "--database",
            &live,
            "--output",
            sealed.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]));
        let bytes = std::fs::read(&sealed).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1"));
        assert!(!bytes.windows("書込".len()).any(|w| w == "書込".as_bytes()));
        let wrong = dir.join("wrong");
        std::fs::write(&wrong, "not the passphrase at all").unwrap();
        let other = format!("sqlite://{}/other.db", dir.display());
        assert!(
            !tsunagu(&[
                "restore",
                "--input",
                sealed.to_str().unwrap(),
                "--database",
                &other,
                "--passphrase-file",
                wrong.to_str().unwrap()
            ])
            .status
            .success()
        );
        ok(&tsunagu(&[
            "restore",
            "--input",
            sealed.to_str().unwrap(),
            "--database",
            &other,
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]));

        // SQLite → PostgreSQL → SQLite, with identical timelines all the way.
        let Ok(pg) = std::env::var("TSUNAGU_TEST_DATABASE_URL") else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true needs PostgreSQL"
            );
            eprintln!("SKIPPED: copy to PostgreSQL (set TSUNAGU_TEST_DATABASE_URL)");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        };
        let target = crate::support::create_database(&pg, "t_copy").await;
        let err = ok(&tsunagu(&["copy", "--from", &restored, "--to", &target]));
        assert!(
            err.contains("copy: ok (sqlite → postgres)") && err.contains("timelines:"),
            "{err}"
        );
        let round = dir.join("round.bak");
        ok(&tsunagu(&[
            "backup",
            "--database",
            &target,
            "--output",
            round.to_str().unwrap(),
        ]));
        let again = format!("sqlite://{}/again.db", dir.display());
        ok(&tsunagu(&[
            "restore",
            "--input",
            round.to_str().unwrap(),
            "--database",
            &again,
        ]));
        let (x, y) = (
            tsunagu_store::Store::open(&restored).await.unwrap(),
            tsunagu_store::Store::open(&again).await.unwrap(),
        );
        assert_eq!(
            x.stream_heads().await.unwrap(),
            y.stream_heads().await.unwrap()
        );
        assert_eq!(
            x.table_counts().await.unwrap(),
            y.table_counts().await.unwrap()
        );
        x.close().await;
        y.close().await;
        crate::support::drop_database(&pg, &target).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tsunagu bench` over a small generated city: every workload runs against the served
/// application and none of its requests fails (the figures themselves are not asserted).
#[test]
fn bench_runs_every_workload_without_a_failure() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/bench.db", dir.display());
    let out = tsunagu(&[
        "bench",
        "--database",
        &url,
        "--persons",
        "400",
        "--clients",
        "2",
        "--seconds",
        "0.5",
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for workload in [
        "static asset (ceiling)",
        "/healthz (ceiling)",
        "raw durable commit (ceiling)",
        "case page (HTML)",
        "case JSON with timeline",
        "filtered case list of 50",
        "worker's due list",
        "lead's caseload",
        "person search",
        "national indicators (fiscal year)",
        "process figures (fiscal year)",
        "reports received (month)",
        "reports received (fiscal year)",
        "contact append (durable)",
        "import check (1,000 rows)",
        "import (1,000 rows, one request)",
        "all tenants compared (month)",
    ] {
        let row = said
            .lines()
            .find(|l| l.starts_with(&format!("| {workload} |")))
            .unwrap_or_else(|| panic!("no row for {workload}: {said}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (done, failed) = (cells[2], cells[6]);
        assert!(done.parse::<u64>().unwrap() > 0, "{workload}: {row}");
        assert_eq!(failed, "0", "{workload} had failures: {row}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tsunagu import`: a CSV with a problem is reported by row and imports nothing (exit status
/// 1); corrected, it imports; the same file again adds nothing. `verify` holds throughout.
#[test]
fn import_checks_then_imports_once() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/import.db", dir.display());
    ok(&tsunagu(&[
        "generate",
        "--database",
        &url,
        "--persons",
        "5",
    ]));
    let file = dir.join("一覧.csv");
    let import = |extra: &[&str]| {
        let path = file.to_str().unwrap();
        let mut args = vec!["import", "--database", &url, "--user", "lead"];
        args.extend_from_slice(extra);
        args.push(path);
        tsunagu(&args)
    };
    std::fs::write(
        &file,
        "氏名,生年月日,相談受付日\r\nCLI　一子,H2.3.4,R8.4.1\r\nCLI　二子,2.3.4,\r\n",
    )
    .unwrap();
    let out = import(&[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("3行目「生年月日」: 生年月日に元号を付けてください"),
        "{said}"
    );
    assert!(said.contains("新しい相談者 1"), "{said}");

    std::fs::write(
        &file,
        "氏名,生年月日,相談受付日\r\nCLI　一子,H2.3.4,R8.4.1\r\nCLI　二子,H2.3.4,\r\n",
    )
    .unwrap();
    let out = import(&["--dry-run"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("確認しました（書き込んでいません）"),
        "{said}"
    );
    let out = import(&[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("取り込みました") && said.contains("新しい相談者 2、新しいケース 1"),
        "{said}"
    );
    let out = import(&[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("取込済み 2、新しい相談者 0、新しいケース 0"),
        "{said}"
    );
    ok(&tsunagu(&["verify", "--database", &url]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tsunagu stats`: every tenant of the deployment in a row, each shown count 0 or at least
/// 5, the totals the sums of the counts generated; as a CSV file too.
#[test]
fn stats_compares_the_tenants_with_small_counts_suppressed() {
    let dir = std::env::temp_dir().join(format!("tsunagu-cli-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/stats.db", dir.display());
    ok(&tsunagu(&[
        "generate",
        "--database",
        &url,
        "--persons",
        "120",
        "--tenants",
        "3",
    ]));
    let out = tsunagu(&["stats", "--database", &url]);
    ok(&out);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows: Vec<Vec<&str>> = said.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0][1], "新規相談受付件数", "{said}");
    assert_eq!(
        rows.len(),
        1 + 3 + 1,
        "a header, three tenants, the totals: {said}"
    );
    assert_eq!(rows[4][0], "計");
    for row in &rows[1..] {
        for cell in &row[1..8] {
            match *cell {
                "＊" => {}
                n => {
                    let n: u64 = n.parse().unwrap_or_else(|_| panic!("{cell}: {said}"));
                    assert!(n == 0 || n >= 5, "a small count shown: {said}");
                }
            }
        }
    }
    // A column without anything suppressed adds up to its total.
    for c in 1..8 {
        if rows[1..4].iter().all(|r| r[c] != "＊") && rows[4][c] != "＊" {
            let sum: u64 = rows[1..4]
                .iter()
                .map(|r| r[c].parse::<u64>().unwrap())
                .sum();
            assert_eq!(
                sum,
                rows[4][c].parse::<u64>().unwrap(),
                "column {c}: {said}"
            );
        }
    }
    let file = dir.join("比較.csv");
    ok(&tsunagu(&[
        "stats",
        "--database",
        &url,
        "--output",
        file.to_str().unwrap(),
    ]));
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(csv.starts_with("\u{feff}自治体,新規相談受付件数,"), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}
