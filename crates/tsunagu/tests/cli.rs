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
        if let tsunagu_store::Store::Sqlite(db) = &store {
            sqlx::query("UPDATE cases SET stage = 'closed' WHERE stage <> 'closed'")
                .execute(&db.write)
                .await
                .unwrap();
            // Events cannot be changed in place.
            assert!(
                sqlx::query("UPDATE events SET payload = '{}'")
                    .execute(&db.write)
                    .await
                    .is_err()
            );
            assert!(
                sqlx::query("DELETE FROM events")
                    .execute(&db.write)
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
        if let tsunagu_store::Store::Sqlite(db) = &store {
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(&db.write)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET object_id = 'x' WHERE seq = 3")
                .execute(&db.write)
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
