//! End to end in Debian's chromium through chromedriver: a support worker with a second factor
//! logs in through the page (a refusal first, shown inline with the login kept) and sees their
//! dashboard. Saves screenshots to `target/screenshots/` and prints the pages' weights.
//! Outside CI it says SKIPPED when chromium or chromedriver is absent; in CI it must run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(name: &str) -> Option<String> {
    ["/usr/bin/", "/usr/lib/chromium/"]
        .iter()
        .map(|dir| format!("{dir}{name}"))
        .find(|p| std::path::Path::new(p).exists())
}

/// chromedriver on a free port and a headless chromium session, or None (skipped).
async fn browser() -> Option<(Driver, Client)> {
    let (Some(driver), Some(chromium)) = (tool("chromedriver"), tool("chromium")) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but chromium or chromedriver is missing: the browser test must run in CI"
            );
        }
        eprintln!(
            "SKIPPED: browser test (install Debian's chromium and chromium-driver to run it)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=ja"]}),
    );
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Some((guard, client)),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not start");
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The bytes a page costs over the wire, gzip-compressed as the server sends it.
async fn weight(w: &World, api: &Api, path: &str) -> usize {
    let res = api
        .client
        .get(format!("{}{path}", w.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.bytes().await.unwrap().len()
}

#[tokio::test]
async fn a_worker_logs_in_with_the_second_factor_and_sees_the_dashboard() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let w = world(&db).await;
    let worker = w.login("worker").await;
    // Enrol TOTP through the API, as the worker would on first login.
    let (s, setup) = worker.post("/api/me/totp", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret).to_bytes().unwrap(),
        None,
        "worker".into(),
    )
    .unwrap();
    let now = jiff::Timestamp::now().as_second() as u64;
    let (s, b) = worker
        .post("/api/me/totp/confirm", json!({"code": totp.generate(now)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A case with a referral to follow up tomorrow: it must show on the dashboard.
    let (_, p) = worker
        .post("/api/persons", json!({"details": {"name": "画面 一郎"}}))
        .await;
    let person = p["id"].as_str().unwrap();
    let (_, c) = worker
        .post(
            "/api/cases",
            json!({"person_id": person, "intake": {"received_on": day(-5), "route": "self_visit",
            "presenting_problems": [{"code": "仕事探し", "main": true}], "urgency": "normal"}}),
        )
        .await;
    let case = c["id"].as_str().unwrap();
    worker
        .ok(case, json!({"action": "make_referral", "referral": {"to_name": "ハローワーク", "purpose": "職業相談", "referred_on": day(-1), "follow_up_on": day(1)}}))
        .await;
    let login = w
        .users
        .iter()
        .find(|(l, _)| l.starts_with("worker-"))
        .unwrap()
        .0
        .clone();

    client.goto(&format!("{}/", w.base)).await.unwrap();
    // Not logged in: the dashboard sends the browser to the login page.
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    screenshot(&client, "login").await;
    // A wrong password: the reason shows inline and the login name is kept.
    fill(&client, "login", &login).await;
    fill(&client, "password", "wrong password").await;
    click(&client, "button[type=submit]").await;
    let error = client
        .wait()
        .for_element(Locator::Id("login-error"))
        .await
        .unwrap();
    assert_eq!(
        error.text().await.unwrap(),
        "ログインIDまたはパスワードが違います。"
    );
    let kept = client
        .find(Locator::Id("login"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(login.as_str()));
    screenshot(&client, "login-refused").await;
    // The right password and the next code (the current one was used to enrol).
    fill(&client, "password", PASSWORD).await;
    let code = totp.generate(jiff::Timestamp::now().as_second() as u64 + 30);
    fill(&client, "totp", &code).await;
    click(&client, "button[type=submit]").await;
    let h1 = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .unwrap();
    assert_eq!(h1.text().await.unwrap(), "ダッシュボード");
    let table = client
        .find(Locator::Css("main table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("画面 一郎") && table.contains(&day(1)),
        "{table}"
    );
    screenshot(&client, "dashboard").await;
    // Logging out ends the session: the dashboard is the login page again.
    click(&client, "header form button").await;
    client
        .wait()
        .for_element(Locator::Id("password"))
        .await
        .unwrap();
    client.goto(&format!("{}/", w.base)).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    client.close().await.unwrap();

    // Page weights (gzip, as sent): the page itself, then the bundled assets (cached a day).
    let anon = Api {
        client: reqwest::Client::new(),
        base: w.base.clone(),
        csrf: String::new(),
    };
    let lead = w.login("lead").await;
    for (name, api, path) in [
        ("login page", &anon, "/login"),
        ("dashboard", &lead, "/"),
        ("app.css", &anon, "/assets/app.css"),
        ("htmx.min.js", &anon, "/assets/htmx.min.js"),
    ] {
        eprintln!(
            "page weight: {name}: {} bytes gzip",
            weight(&w, api, path).await
        );
    }
    db.finish().await;
}
