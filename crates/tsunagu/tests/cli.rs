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
