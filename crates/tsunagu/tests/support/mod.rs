//! Helpers shared by the command-line test binaries.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

/// A new, empty PostgreSQL database beside the one `pg` names; returns its URL.
pub async fn create_database(pg: &str, prefix: &str) -> String {
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    admin(pg, &format!("CREATE DATABASE {name}")).await;
    format!("{}/{name}", pg.rsplit_once('/').unwrap().0)
}

/// Drops a database made by `create_database`, whoever is still connected.
pub async fn drop_database(pg: &str, url: &str) {
    let name = url.rsplit_once('/').unwrap().1;
    admin(pg, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

async fn admin(pg: &str, sql: &str) {
    let store = tsunagu_store::Store::open(pg).await.unwrap();
    let Some(pool) = store.postgres_pool() else {
        panic!("TSUNAGU_TEST_DATABASE_URL must be a PostgreSQL URL")
    };
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap();
    store.close().await;
}
