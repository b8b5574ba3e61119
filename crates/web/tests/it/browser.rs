//! End to end in Debian's chromium through chromedriver: a support worker with a second factor
//! logs in through the page (a refusal first, shown inline with the login kept) and sees their
//! dashboard. Saves screenshots to `target/screenshots/` and prints the pages' weights.
//! Outside CI it says SKIPPED when chromium or chromedriver is absent; in CI it must run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
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
        json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=ja"],
            "prefs": {"download.default_directory": downloads().to_str().unwrap(), "download.prompt_for_download": false}}),
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

/// Where the browser saves what it downloads (one directory per test process).
fn downloads() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tsunagu-downloads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until the browser has saved a file whose name ends with `suffix` (not a partial
/// download) and returns its bytes.
async fn downloaded(suffix: &str) -> Vec<u8> {
    for _ in 0..200 {
        let found = std::fs::read_dir(downloads())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix));
        if let Some(path) = found
            && let Ok(bytes) = std::fs::read(&path)
            && !bytes.is_empty()
        {
            std::fs::remove_file(&path).unwrap();
            return bytes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the browser saved no {suffix} file in {}",
        downloads().display()
    );
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Replaces what a field holds (forms come prefilled with today's date).
async fn set(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Chooses an option of a select by its value.
async fn choose(client: &Client, id: &str, value: &str) {
    click(client, &format!("#{id} option[value='{value}']")).await;
}

async fn heading(client: &Client) -> String {
    client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .unwrap();
    // Read in the page: an element found a moment before a navigation replaced it is stale.
    text_of(client, "main h1").await
}

async fn text_of(client: &Client, css: &str) -> String {
    // Read in the page, so an element swapped by htmx meanwhile is never stale.
    let text = client
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    text.as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .to_owned()
}

/// Submits the page's form that posts to `action_end` and waits for the answer page (a
/// redirect to the result, or the same form again with the refusal).
async fn submit(client: &Client, action_end: &str) {
    click_and_wait(
        client,
        &format!(
            "form[action$='{action_end}'] button[type=submit]:not(.default-submit):not([name=op])"
        ),
    )
    .await;
}

/// Clicks and waits until a new document has loaded.
async fn click_and_wait(client: &Client, css: &str) {
    client
        .execute("window.__before_submit = true; return true;", vec![])
        .await
        .unwrap();
    click(client, css).await;
    for _ in 0..200 {
        let fresh = client
            .execute(
                "return window.__before_submit === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .unwrap_or(serde_json::Value::Bool(false));
        if fresh == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new page after clicking {css}");
}

/// Waits until the script returns true (an element swapped in or out by htmx).
async fn wait_until(client: &Client, script: &str) {
    for _ in 0..200 {
        let done = client
            .execute(script, vec![])
            .await
            .unwrap_or(serde_json::Value::Bool(false));
        if done == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never true: {script}");
}

const AXE: &str = include_str!("../vendor/axe.min.js");

/// Runs axe-core (WCAG 2.1 A/AA rules) on the current page; returns serious and critical
/// violations as "rule (impact): n elements".
async fn accessibility(client: &Client) -> Vec<String> {
    client
        .execute(&format!("{AXE}\nreturn true;"), vec![])
        .await
        .unwrap();
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))}))
               .catch(e => done({passes: 0, violations: [{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]}));",
            vec![],
        )
        .await
        .unwrap();
    // A run that checked nothing would pass anything: it must have passed some rules.
    assert!(
        result["passes"].as_u64().unwrap_or(0) > 10,
        "axe did not run: {result}"
    );
    let all = result["violations"].as_array().unwrap();
    eprintln!(
        "axe: {} rules passed, {} minor or moderate findings",
        result["passes"],
        all.iter()
            .filter(|v| !matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .count()
    );
    all.iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| format!("{} ({}): {}", v["id"], v["impact"], v["nodes"]))
        .collect()
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
            "presenting_problems": [{"code": "job_search", "main": true}], "urgency": "normal"}}),
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
    // Wait for the new document: the login page's own `main h1` would otherwise be found
    // before the navigation replaced it (a stale element under load).
    click_and_wait(&client, "button[type=submit]").await;
    assert_eq!(heading(&client).await, "ダッシュボード");
    let table = client
        .find(Locator::Css("main table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Due dates in 和暦, the person's name linking to the case.
    let tomorrow = tsunagu_core::wareki::format(day(1).parse().unwrap());
    assert!(
        table.contains("画面 一郎") && table.contains(&tomorrow),
        "{table}"
    );
    client
        .find(Locator::Css("main table a[href^='/cases/']"))
        .await
        .unwrap();
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

/// Logs in through the login page (and its second factor when given).
async fn page_login(client: &Client, base: &str, login: &str, totp: Option<String>) {
    client.goto(&format!("{base}/login")).await.unwrap();
    set(client, "login", login).await;
    set(client, "password", PASSWORD).await;
    if let Some(code) = totp {
        set(client, "totp", &code).await;
    }
    submit(client, "/login").await;
    assert_eq!(heading(client).await, "ダッシュボード", "login as {login}");
}

async fn page_logout(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.unwrap();
    submit(client, "/logout").await;
}

fn login_of(w: &World, role: &str) -> String {
    w.users
        .iter()
        .find(|(l, _)| l.starts_with(&format!("{role}-")))
        .unwrap()
        .0
        .clone()
}

/// Opens a case action's form from the case page, fills it with `fill`, saves it, and checks
/// that the case page shows the stage `stage` afterwards.
async fn act(client: &Client, base: &str, case: &str, action: &str) {
    client.goto(&format!("{base}/cases/{case}")).await.unwrap();
    click_and_wait(client, &format!("main a[href$='/act/{action}']")).await;
}

async fn save(client: &Client, case: &str, action: &str) {
    submit(client, &format!("/act/{action}")).await;
    let url = client.current_url().await.unwrap();
    if !url.path().ends_with(&format!("/cases/{case}")) {
        let refusal = text_of(client, ".refusal").await;
        let mut fields = Vec::new();
        for e in client.find_all(Locator::Css(".field-error")).await.unwrap() {
            fields.push(e.text().await.unwrap());
        }
        panic!("{action} was not saved: {refusal} {fields:?}");
    }
}

async fn stage(client: &Client) -> String {
    text_of(client, ".facts dd strong").await
}

async fn check_axe(client: &Client, page: &str, failures: &mut Vec<String>) {
    for v in accessibility(client).await {
        failures.push(format!("{page}: {v}"));
    }
}

#[tokio::test]
async fn one_case_through_every_stage_using_only_the_pages() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let w = world(&db).await;
    let base = w.base.clone();
    let mut axe = Vec::new();
    // The worker enrols a second factor (as on first login) and logs in with it.
    let worker = w.login("worker").await;
    let (_, setup) = worker.post("/api/me/totp", json!({})).await;
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(setup["secret"].as_str().unwrap().to_owned())
            .to_bytes()
            .unwrap(),
        None,
        "worker".into(),
    )
    .unwrap();
    let now = jiff::Timestamp::now().as_second() as u64;
    let (s, b) = worker
        .post("/api/me/totp/confirm", json!({"code": totp.generate(now)}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    page_login(
        &client,
        &base,
        &login_of(&w, "worker"),
        Some(totp.generate(now + 30)),
    )
    .await;
    check_axe(&client, "dashboard", &mut axe).await;

    // ① A person registered from the page, the date of birth typed in 和暦.
    client.goto(&format!("{base}/persons/new")).await.unwrap();
    set(&client, "f-name", "画面 花子").await;
    set(&client, "f-kana", "がめん はなこ").await;
    set(&client, "f-date_of_birth", "昭和60年5月1日").await;
    choose(&client, "f-sex", "female").await;
    set(&client, "f-phone", "090-0000-1234").await;
    submit(&client, "/persons").await;
    assert_eq!(heading(&client).await, "画面 花子");
    let facts = text_of(&client, ".facts").await;
    assert!(facts.contains("昭和60年5月1日（1985年）"), "{facts}");
    // Found again by the search, by kana and by date of birth in ISO form.
    client
        .goto(&format!("{base}/persons?q=がめん&dob=1985-05-01"))
        .await
        .unwrap();
    assert!(text_of(&client, "main table").await.contains("画面 花子"));
    click_and_wait(&client, "main table a").await;
    let person_url = client.current_url().await.unwrap().to_string();

    // The person's record changed from its page (an address added, with a reason), the old
    // value kept in the history.
    click_and_wait(&client, "main a[href$='/edit']").await;
    assert_eq!(heading(&client).await, "基本情報の変更: 画面 花子");
    check_axe(&client, "person edit", &mut axe).await;
    set(&client, "f-address", "つなぐ市本町1丁目2番").await;
    set(&client, "f-reason", "転居の届出を受けた").await;
    submit(&client, "/edit").await;
    assert!(
        text_of(&client, "#saved").await.contains("保存しました"),
        "the change is announced"
    );
    assert!(
        text_of(&client, ".facts")
            .await
            .contains("つなぐ市本町1丁目2番")
    );
    click_and_wait(&client, "main a[href$='/history']").await;
    assert!(
        text_of(&client, "table.history")
            .await
            .contains("転居の届出を受けた")
    );
    check_axe(&client, "person history", &mut axe).await;
    click_and_wait(&client, "header.bar a.who").await;
    assert_eq!(heading(&client).await, "アカウント");
    check_axe(&client, "account", &mut axe).await;

    // ② 相談受付・申込票.
    client.goto(&person_url).await.unwrap();
    click_and_wait(&client, "main a[href$='/cases/new']").await;
    assert_eq!(heading(&client).await, "相談受付・申込票");
    check_axe(&client, "intake", &mut axe).await;
    choose(&client, "f-route", "municipal_department").await;
    set(&client, "f-referrer", "税務課").await;
    click(&client, "input[name=problems][value=income]").await;
    click(&client, "input[name=problems][value=job_search]").await;
    click(&client, "input[name=main_problem][value=job_search]").await;
    set(
        &client,
        "f-presenting_problem_text",
        "仕事が見つからず家賃が払えない",
    )
    .await;
    // ■ご本人について (B票): the tenant's lists, with the words of 「その他」.
    choose(&client, "f-circ_work", "other").await;
    set(&client, "f-circ_work_text", "日雇いの仕事").await;
    choose(&client, "f-circ_housing", "rented").await;
    // Consent to share with the city's department (needed to put it on the team), given at
    // intake and recorded with the case.
    click(&client, "#f-consent").await;
    click(
        &client,
        &format!("input[name=consent_orgs][value='{}']", w.city),
    )
    .await;
    click(&client, "#f-consent_written").await;
    screenshot(&client, "intake").await;
    submit(&client, "/cases").await;
    let url = client.current_url().await.unwrap();
    let case = url.path().rsplit('/').next().unwrap().to_owned();
    assert!(url.path().starts_with("/cases/"), "{url}");
    assert_eq!(stage(&client).await, "相談受付・振り分け");
    assert!(
        text_of(&client, "ol.flow li.current")
            .await
            .contains("包括的相談受付")
    );

    // A refusal shown inline: a referral without its follow-up date (rule 4). What was typed
    // stays; the message stands beside the date.
    act(&client, &base, &case, "triage").await;
    click(&client, "input[name=outcome][value=refer_out]").await;
    set(&client, "f-to_name", "ハローワーク").await;
    set(&client, "f-purpose", "職業相談").await;
    submit(&client, "/act/triage").await;
    let error = text_of(&client, "#f-follow_up_on-err").await;
    assert!(error.contains("確認"), "{error}");
    let kept = client
        .find(Locator::Id("f-to_name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("ハローワーク"));
    assert!(
        text_of(&client, ".refusal")
            .await
            .contains("つなぎ先の状況を確認する日")
    );
    screenshot(&client, "refusal-inline").await;
    // The worker decides to continue here instead.
    click(&client, "input[name=outcome][value=continue]").await;
    save(&client, &case, "triage").await;
    assert_eq!(stage(&client).await, "アセスメント");

    // The consent stands on the person's page.
    client.goto(&person_url).await.unwrap();
    let consents = text_of(&client, "#consents table").await;
    assert!(consents.contains("社会福祉課"), "{consents}");
    client.goto(&format!("{base}/cases/{case}")).await.unwrap();

    // The city's department joins the support team (consent covers it).
    act(&client, &base, &case, "add_team_member").await;
    choose(&client, "f-org_id", &w.city.to_string()).await;
    save(&client, &case, "add_team_member").await;

    // The signed application, scanned, is attached to the case. A text file is refused beside
    // the file field with the title kept; the PDF is listed with who added it.
    let scans = std::env::temp_dir().join(format!("tsunagu-scan-{case}"));
    std::fs::create_dir_all(&scans).unwrap();
    let text_file = scans.join("memo.txt");
    std::fs::write(&text_file, "not a scan").unwrap();
    let pdf_file = scans.join("申込書.pdf");
    std::fs::write(&pdf_file, b"%PDF-1.4\n%%EOF\n").unwrap();
    client
        .goto(&format!("{base}/cases/{case}/attachments"))
        .await
        .unwrap();
    check_axe(&client, "attachments", &mut axe).await;
    set(&client, "f-title", "相談受付・申込票（署名済）").await;
    fill(&client, "f-file", text_file.to_str().unwrap()).await;
    submit(&client, "/attachments").await;
    assert!(
        text_of(&client, "#f-file-err")
            .await
            .contains("PDF・JPEG・PNG")
    );
    let kept = client
        .find(Locator::Id("f-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("相談受付・申込票（署名済）"));
    fill(&client, "f-file", pdf_file.to_str().unwrap()).await;
    submit(&client, "/attachments").await;
    let listed = text_of(&client, "main table").await;
    assert!(
        listed.contains("相談受付・申込票（署名済）") && listed.contains("申込書.pdf"),
        "{listed}"
    );
    screenshot(&client, "attachments").await;
    std::fs::remove_dir_all(&scans).unwrap();

    // ⑤ Assessment, then a second version; the history shows what changed.
    act(&client, &base, &case, "record_assessment").await;
    check_axe(&client, "assessment", &mut axe).await;
    set(&client, "f-domain_employment", "半年前に離職。求職中。").await;
    set(&client, "f-baseline", "家賃を2か月滞納している").await;
    set(&client, "f-main_issues", "収入がない").await;
    set(&client, "f-strengths", "働く意欲がある").await;
    // The 課題 checklist beside the free text; a second version keeps the ticks.
    click(&client, "input[name=issues][value=financial_hardship]").await;
    click(&client, "input[name=issues][value=household_finance]").await;
    save(&client, &case, "record_assessment").await;
    act(&client, &base, &case, "record_assessment").await;
    set(&client, "f-main_issues", "収入がなく家賃を滞納している").await;
    save(&client, &case, "record_assessment").await;
    client
        .goto(&format!("{base}/cases/{case}/assessments"))
        .await
        .unwrap();
    let history = text_of(&client, "main").await;
    assert!(
        history.contains("第2版") && history.contains("変更あり"),
        "{history}"
    );
    assert!(history.contains("経済的困窮、家計管理の課題"), "{history}");
    screenshot(&client, "assessment-history").await;

    act(&client, &base, &case, "screen").await;
    click(&client, "input[name=outcome][value=continue]").await;
    save(&client, &case, "screen").await;
    assert_eq!(stage(&client).await, "プラン策定・支援調整会議");

    // ⑥ Plan with a statutory service (needs the municipality's decision).
    act(&client, &base, &case, "draft_plan").await;
    check_axe(&client, "plan", &mut axe).await;
    set(&client, "f-goal1", "就職する").await;
    set(&client, "f-goal2", "家計を立て直す").await;
    // Rows are added and removed in place (htmx, no new page): a third item, the cursor in it,
    // then removed again; what was typed stays.
    let editor = client.current_url().await.unwrap();
    click(&client, "button[value=add_item]").await;
    client
        .wait()
        .for_element(Locator::Id("f-item3_description"))
        .await
        .unwrap();
    assert_eq!(client.current_url().await.unwrap(), editor);
    let focused = client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("f-item3_description"));
    assert_eq!(
        client
            .find(Locator::Id("f-goal2"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("家計を立て直す")
    );
    click(&client, "button[value='remove_item:3']").await;
    wait_until(
        &client,
        "return document.getElementById('f-item3_description') === null;",
    )
    .await;
    set(&client, "f-person_role", "週2回ハローワークに通う").await;
    set(&client, "f-period_to", &day(180)).await;
    set(&client, "f-item1_description", "就労準備支援事業の利用").await;
    choose(&client, "f-item1_goal", "1").await;
    set(&client, "f-item1_provider", "自立相談支援機関").await;
    set(&client, "f-item1_responsible", "相談支援員").await;
    set(&client, "f-item1_deadline", &day(90)).await;
    choose(&client, "f-item1_service", "employment_preparation").await;
    set(&client, "f-item2_description", "家計の見直し").await;
    choose(&client, "f-item2_goal", "2").await;
    set(&client, "f-item2_provider", "本人").await;
    set(&client, "f-item2_responsible", "本人").await;
    set(&client, "f-item2_deadline", &day(60)).await;
    screenshot(&client, "plan").await;
    save(&client, &case, "draft_plan").await;
    assert!(
        text_of(&client, "ol.flow li.current")
            .await
            .contains("支援調整会議")
    );

    // ⑦ The coordination meeting approves the plan.
    let meeting = schedule_meeting(&client, &base, "第1回支援調整会議").await;
    meeting_attendee(&client, &w, "社会福祉課 係長").await;
    meeting_agenda(&client, &case, "plan_review").await;
    check_axe(&client, "meeting", &mut axe).await;
    choose(&client, &format!("f-conclusion-{case}"), "plan_approved").await;
    click_and_wait(
        &client,
        "input[value=record_conclusion] ~ button[type=submit]",
    )
    .await;
    set(&client, "f-minutes", "プラン第1版を協議し了承した。").await;
    click_and_wait(&client, "input[value=record_minutes] ~ button[type=submit]").await;
    assert!(text_of(&client, ".agenda").await.contains("了承"));
    screenshot(&client, "meeting").await;
    client
        .goto(&format!("{base}/meetings/{meeting}/print"))
        .await
        .unwrap();
    assert!(text_of(&client, "main").await.contains("プラン第1版を了承"));
    screenshot(&client, "print-meeting").await;

    // ⑧ The municipality's support decision, by the city's officer.
    page_logout(&client, &base).await;
    page_login(&client, &base, &login_of(&w, "city"), None).await;
    // From the city's work list on its dashboard: the case waits for its decision.
    click_and_wait(
        &client,
        &format!("section[aria-labelledby=decisions-heading] a[href='/cases/{case}']"),
    )
    .await;
    assert_eq!(stage(&client).await, "支援決定");
    check_axe(&client, "case page for the city", &mut axe).await;
    act(&client, &base, &case, "record_support_decision").await;
    choose(&client, "f-service", "employment_preparation").await;
    click(&client, "input[name=decision][value=approved]").await;
    save(&client, &case, "record_support_decision").await;
    // The plan approved was reported to the municipality: the officer finds it in the menu.
    click_and_wait(&client, "nav a[href='/reports']").await;
    assert_eq!(heading(&client).await, "報告の受付");
    let reported = text_of(&client, "table#reports").await;
    assert!(
        reported.contains("画面 花子") && reported.contains("支援決定あり"),
        "{reported}"
    );
    check_axe(&client, "reports received", &mut axe).await;
    screenshot(&client, "reports").await;
    page_logout(&client, &base).await;

    // ⑨⑩ The lead worker carries on: support starts, a contact by quick entry, monitoring.
    page_login(&client, &base, &login_of(&w, "lead"), None).await;
    act(&client, &base, &case, "start_support").await;
    save(&client, &case, "start_support").await;
    assert_eq!(stage(&client).await, "支援の提供・モニタリング");
    assert!(text_of(&client, "main").await.contains("現在のプラン"));
    check_axe(&client, "case page", &mut axe).await;
    // Quick entry: htmx swaps the timeline in place, no page load.
    client
        .execute("window.__same_page = true; return true;", vec![])
        .await
        .unwrap();
    choose(&client, "f-kind", "visit").await;
    set(&client, "f-summary", "自宅を訪問し求人票を一緒に見た").await;
    click(&client, "form.quick button[type=submit]").await;
    let mut swapped = false;
    for _ in 0..100 {
        let t = text_of(&client, "table.timeline").await;
        if t.contains("自宅を訪問し求人票を一緒に見た") {
            swapped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(swapped, "the quick contact did not appear in the timeline");
    let same: serde_json::Value = client
        .execute("return window.__same_page === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, serde_json::Value::Bool(true), "the page reloaded");
    assert_eq!(
        client
            .find(Locator::Id("f-summary"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(""),
        "the quick form is ready for the next entry"
    );
    // Said (a status region), and the focus is back at the start of the entry.
    assert!(
        text_of(&client, "#contact-saved")
            .await
            .contains("保存しました")
    );
    let focused: serde_json::Value = client
        .execute(
            "return document.activeElement && document.activeElement.id;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        focused,
        serde_json::json!("contact-saved"),
        "focus after saving"
    );
    screenshot(&client, "case").await;

    // The contact was mistyped: corrected from its own row, the original kept beneath it.
    click_and_wait(&client, "table.timeline a.correct").await;
    assert!(heading(&client).await.contains("支援経過の訂正"));
    set(
        &client,
        "f-summary",
        "自宅を訪問し、母と同席で求人票を一緒に見た",
    )
    .await;
    set(&client, "f-reason", "同席者の記載が漏れていた").await;
    check_axe(&client, "contact correction form", &mut axe).await;
    save(&client, &case, "correct_contact").await;
    let timeline = text_of(&client, "table.timeline").await;
    assert!(
        timeline.contains("母と同席で求人票") && timeline.contains("訂正あり"),
        "{timeline}"
    );
    check_axe(&client, "case page with a correction", &mut axe).await;

    // プランの修正 during support: the editor starts from the plan in force; the change is in
    // force at once and waits to be reported to the next meeting.
    act(&client, &base, &case, "modify_plan").await;
    assert!(heading(&client).await.contains("プランの修正"));
    set(&client, "f-item2_deadline", &day(75)).await;
    set(
        &client,
        "f-reason",
        "家計の見直しに時間がかかるため期限を延ばした",
    )
    .await;
    check_axe(&client, "plan modification", &mut axe).await;
    save(&client, &case, "modify_plan").await;
    let main = text_of(&client, "main").await;
    assert!(
        main.contains("プランの修正を支援調整会議に報告する") && main.contains("プランの修正"),
        "{main}"
    );
    // Found by its words in 記録の検索 (「求人票　一緒」: both words, apart).
    client
        .goto(&format!(
            "{base}/search?q=%E6%B1%82%E4%BA%BA%E7%A5%A8%E3%80%80%E4%B8%80%E7%B7%92"
        ))
        .await
        .unwrap();
    client.find(Locator::Css("ol.found")).await.unwrap();
    assert!(text_of(&client, "ol.found").await.contains("求人票"));
    check_axe(&client, "record search", &mut axe).await;

    // On a phone (390 px): nothing wider than the screen, the header a few lines, the quick
    // entry right after the case's facts.
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&format!("{base}/cases/{case}")).await.unwrap();
    client.find(Locator::Css("form.quick")).await.unwrap();
    let layout: serde_json::Value = client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth, \
             document.querySelector('header.bar').getBoundingClientRect().height, \
             document.querySelector('form.quick').getBoundingClientRect().top + window.scrollY, \
             document.querySelector('#flow-heading').getBoundingClientRect().top + window.scrollY];",
            vec![],
        )
        .await
        .unwrap();
    let [scroll_width, inner_width, header, quick, flow] =
        [0, 1, 2, 3, 4].map(|i| layout[i].as_f64().unwrap());
    assert!(
        scroll_width <= inner_width,
        "the page is wider than the phone: {layout}"
    );
    assert!(
        header < 60.0,
        "the header is one line with the menu folded, not {header} px: {layout}"
    );
    assert!(
        quick < flow,
        "the quick entry comes before the flow: {layout}"
    );
    check_axe(&client, "case page at 390 px", &mut axe).await;
    screenshot(&client, "case-phone").await;
    // The menu opens from its one button, the pages one under another.
    click(&client, "header.bar .menu-toggle").await;
    let menu: serde_json::Value = client
        .execute(
            "return [document.querySelector('.menu-toggle').getAttribute('aria-expanded'), \
             document.querySelector('#main-nav a[href=\"/cases\"]').getBoundingClientRect().height > 0];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(menu, serde_json::json!(["true", true]), "the menu opened");
    check_axe(&client, "menu open at 390 px", &mut axe).await;
    screenshot(&client, "menu-phone").await;
    click_and_wait(&client, "#main-nav a[href='/cases']").await;
    assert_eq!(heading(&client).await, "支援ケース一覧");
    client
        .goto(&format!("{base}/cases?worker=org"))
        .await
        .unwrap();
    client.find(Locator::Css("table.caselist")).await.unwrap();
    let wide: serde_json::Value = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        wide,
        serde_json::json!(true),
        "the list scrolls inside its box"
    );
    check_axe(&client, "caseload list at 390 px", &mut axe).await;
    screenshot(&client, "caseload-list-phone").await;
    client.set_window_size(1280, 900).await.unwrap();

    // The lead follows a worker's open-case figure on the dashboard into the 支援ケース一覧.
    client.goto(&format!("{base}/")).await.unwrap();
    click_and_wait(&client, "section[aria-labelledby=load-heading] td a").await;
    assert_eq!(heading(&client).await, "支援ケース一覧");
    client
        .find(Locator::Css(&format!(
            "table.caselist a[href='/cases/{case}']"
        )))
        .await
        .expect("the case is on its worker's list");
    assert!(
        text_of(&client, "table.caselist")
            .await
            .contains("年度-0001")
    );
    check_axe(&client, "caseload list", &mut axe).await;
    screenshot(&client, "caseload-list").await;
    // The lead opens the statistics (支援状況調査) from the menu.
    click_and_wait(&client, "nav a[href='/stats']").await;
    assert_eq!(heading(&client).await, "統計（支援状況調査）");
    assert!(text_of(&client, "table").await.contains("年度計"));
    check_axe(&client, "statistics", &mut axe).await;
    screenshot(&client, "stats").await;
    // The table saved from the page as Excel, opened as Excel would.
    click(&client, "a[href^='/stats/national.xlsx']").await;
    let xlsx = downloaded(".xlsx").await;
    {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("支援状況調査").unwrap();
        let last = sheet.height() - 1;
        assert_eq!(
            sheet.get((last, 0)),
            Some(&calamine::Data::String("年度計".into()))
        );
    }

    // The lead imports the city's list from the menu: the check names the row with a problem,
    // the corrected file is checked and imported.
    let sheets = std::env::temp_dir().join(format!("tsunagu-import-{case}"));
    std::fs::create_dir_all(&sheets).unwrap();
    let wrong = sheets.join("相談者一覧.csv");
    std::fs::write(
        &wrong,
        "氏名,生年月日,相談受付日\r\n画面取込　一子,H2.3.4,R8.4.1\r\n画面取込　二子,2.3.4,\r\n",
    )
    .unwrap();
    let right = sheets.join("相談者一覧（修正）.csv");
    std::fs::write(
        &right,
        "氏名,生年月日,相談受付日\r\n画面取込　一子,H2.3.4,R8.4.1\r\n画面取込　二子,H2.3.4,\r\n",
    )
    .unwrap();
    click_and_wait(&client, "nav a[href='/import']").await;
    assert_eq!(heading(&client).await, "相談者の取り込み（Excel・CSV）");
    fill(&client, "f-file", wrong.to_str().unwrap()).await;
    click_and_wait(&client, "#import-upload button[type=submit]").await;
    let problems = text_of(&client, "#import-problems").await;
    assert!(
        problems.contains("3行目") && problems.contains("元号"),
        "{problems}"
    );
    check_axe(&client, "import check", &mut axe).await;
    screenshot(&client, "import-check").await;
    fill(&client, "f-file", right.to_str().unwrap()).await;
    click_and_wait(&client, "#import-upload button[type=submit]").await;
    // The page's script sends a token with the form and asks how far the rows are while it
    // waits; the token is kept here to ask once more after the import.
    client
        .execute(
            "document.addEventListener('submit', function (e) { var t = e.target.querySelector('input[name=progress_token]'); sessionStorage.setItem('import-token', t ? t.value : ''); }); return true;",
            vec![],
        )
        .await
        .unwrap();
    click_and_wait(&client, "#import-go").await;
    assert!(
        text_of(&client, "#import-done")
            .await
            .contains("相談者 2人を登録し、ケース 1件")
    );
    let progress = client
        .execute_async(
            "var done = arguments[arguments.length - 1]; fetch('/import/progress?token=' + sessionStorage.getItem('import-token')).then(function (r) { return r.ok ? r.json() : r.status; }).then(done, function () { done(null); });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(progress["done"], 2, "{progress}");
    assert_eq!(progress["total"], 2, "{progress}");
    assert_eq!(progress["finished"], true, "{progress}");
    check_axe(&client, "import done", &mut axe).await;
    std::fs::remove_dir_all(&sheets).unwrap();

    act(&client, &base, &case, "record_monitoring").await;
    click(&client, "input[name=kind][value=scheduled]").await;
    set(&client, "f-progress", "就労準備支援事業に通い始めた").await;
    click(&client, "input[name=outcome][value=continue]").await;
    save(&client, &case, "record_monitoring").await;

    // ⑪ Evaluation, taken to a second meeting that approves termination.
    act(&client, &base, &case, "record_evaluation").await;
    click(&client, "input[name=goal0_attainment][value=achieved]").await;
    click(
        &client,
        "input[name=goal1_attainment][value=partly_achieved]",
    )
    .await;
    set(
        &client,
        "f-summary",
        "就職が決まり家賃の滞納も解消に向かっている",
    )
    .await;
    set(&client, "f-next_steps", "就職先に定着したら終結する").await;
    // 見られた変化 and the つながり指標, scored with the person.
    click(
        &client,
        "input[name=observed_changes][value=household_finance]",
    )
    .await;
    click(&client, "input[name=observed_changes][value=motivation]").await;
    for (item, score) in [
        ("motivation", 3),
        ("self_esteem", 2),
        ("relationships", 3),
        ("participation", 2),
        ("consultation", 4),
    ] {
        click(
            &client,
            &format!("input[name=connection_{item}][value='{score}']"),
        )
        .await;
    }
    save(&client, &case, "record_evaluation").await;
    assert_eq!(stage(&client).await, "プラン評価");
    schedule_meeting(&client, &base, "第2回支援調整会議").await;
    meeting_attendee(&client, &w, "社会福祉課 係長").await;
    meeting_agenda(&client, &case, "evaluation").await;
    choose(
        &client,
        &format!("f-conclusion-{case}"),
        "termination_approved",
    )
    .await;
    click_and_wait(
        &client,
        "input[value=record_conclusion] ~ button[type=submit]",
    )
    .await;
    assert!(text_of(&client, ".agenda").await.contains("終結を承認"));

    // ⑬ Termination with the person's intention and a follow-up plan, then a follow-up.
    act(&client, &base, &case, "terminate").await;
    choose(&client, "f-pattern", "resolved").await;
    set(&client, "f-person_intention", "自分でやっていけると思う").await;
    click(&client, "input[name=follow_up][value=planned]").await;
    set(&client, "f-first_check_on", &day(30)).await;
    set(&client, "f-method", "電話で様子を聞く").await;
    save(&client, &case, "terminate").await;
    assert_eq!(stage(&client).await, "終結");
    act(&client, &base, &case, "record_follow_up").await;
    set(&client, "f-summary", "仕事は続いている").await;
    save(&client, &case, "record_follow_up").await;
    let timeline = text_of(&client, "table.timeline").await;
    for entry in [
        "フォローアップ",
        "終結",
        "プラン評価",
        "モニタリング",
        "支援決定",
        "支援調整会議",
        "プラン作成",
        "アセスメント",
        "相談受付・申込票",
    ] {
        assert!(
            timeline.contains(entry),
            "{entry} missing from the timeline: {timeline}"
        );
    }

    // Print views of the national forms.
    for (form, title, content) in [
        ("intake", "相談受付・申込票", "仕事探し、就職について"),
        // Whom the person consented to share with at intake (the city's department).
        ("intake", "相談受付・申込票", "社会福祉課（令和"),
        (
            "assessment",
            "インテーク・アセスメントシート",
            "収入がなく家賃を滞納している",
        ),
        ("plan", "プラン兼事業等利用申込書", "就労準備支援事業"),
        // The contact as corrected, with the reason.
        ("timeline", "支援経過記録", "母と同席で求人票を一緒に見た"),
        ("timeline", "支援経過記録", "理由: 同席者の記載が漏れていた"),
        ("evaluation", "評価シート", "一部達成"),
        // 今後の方針 as the worker wrote it.
        ("evaluation", "評価シート", "就職先に定着したら終結する"),
        ("evaluation", "評価シート", "家計の改善（債務の整理等）\t✓"),
        ("evaluation", "評価シート", "自己肯定感\t2"),
        ("intake", "相談受付・申込票", "その他（日雇いの仕事）\t借家"),
    ] {
        client
            .goto(&format!("{base}/cases/{case}/print/{form}"))
            .await
            .unwrap();
        assert_eq!(heading(&client).await, title);
        let body = text_of(&client, "main").await;
        assert!(body.contains(content), "{form}: {body}");
        screenshot(&client, &format!("print-{form}")).await;
    }
    // Printed to PDF on A4 by chromium: the 相談受付・申込票 is one page, as the national A票 is,
    // and carries the case number; the 支援経過記録 prints whole.
    for (form, most) in [("intake", 1), ("timeline", 3)] {
        client
            .goto(&format!("{base}/cases/{case}/print/{form}"))
            .await
            .unwrap();
        client.find(Locator::Css("table.meta")).await.unwrap();
        if form == "intake" {
            assert!(text_of(&client, "table.meta").await.contains("令和"));
        }
        let pdf = client
            .print(
                fantoccini::wd::PrintConfiguration::builder()
                    .size(fantoccini::wd::PrintSize::A4)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let pages = pdf_pages(&pdf);
        eprintln!("print: {form}: {pages} page(s) of A4");
        assert!(
            (1..=most).contains(&pages),
            "{form} prints on {pages} pages"
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::write(dir.join(format!("print-{form}.pdf")), &pdf).unwrap();
    }

    // The main pages on a phone (390×844): nothing wider than the screen (tables scroll in
    // their own box), the header one line, axe on each, a screenshot of each.
    client.set_window_size(390, 844).await.unwrap();
    let person_path = person_url.trim_start_matches(&base).to_owned();
    for (name, path) in [
        ("dashboard", "/".to_owned()),
        ("person search", "/persons?q=%E3%81%9F".to_owned()),
        ("person", person_path.clone()),
        ("person edit", format!("{person_path}/edit")),
        ("person history", format!("{person_path}/history")),
        ("case", format!("/cases/{case}")),
        (
            "follow-up form",
            format!("/cases/{case}/act/record_follow_up"),
        ),
        ("assessments", format!("/cases/{case}/assessments")),
        ("case list", "/cases".to_owned()),
        (
            "record search",
            "/search?q=%E6%B1%82%E4%BA%BA%E7%A5%A8".to_owned(),
        ),
        ("meetings", "/meetings".to_owned()),
        ("meeting", format!("/meetings/{meeting}")),
        ("account", "/account".to_owned()),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        heading(&client).await;
        // The widths, the header's height, and (to say what to mend) the elements that reach
        // past the screen's edge outside a scrolling box.
        let layout: serde_json::Value = client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth, \
                 document.querySelector('header.bar').getBoundingClientRect().height, \
                 [...document.querySelectorAll('body *')].filter(e => \
                   e.getBoundingClientRect().right > window.innerWidth + 1 \
                   && !(e.parentElement && e.parentElement.closest('.scroll'))) \
                   .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)];",
                vec![],
            )
            .await
            .unwrap();
        screenshot(&client, &format!("phone-{}", name.replace(' ', "-"))).await;
        let [scroll_width, inner_width, header] = [0, 1, 2].map(|i| layout[i].as_f64().unwrap());
        assert!(
            scroll_width <= inner_width && header < 60.0,
            "{name} at 390 px: {layout}"
        );
        check_axe(&client, &format!("{name} at 390 px"), &mut axe).await;
    }
    client.close().await.unwrap();

    assert!(axe.is_empty(), "accessibility violations: {axe:#?}");

    // Page weights of the main pages, gzip as sent (the case page carries the whole timeline).
    let lead = w.login("lead").await;
    let mut total_case = 0;
    for (name, path) in [
        ("case page", format!("/cases/{case}")),
        ("app.css", "/assets/app.css".to_owned()),
        ("htmx.min.js", "/assets/htmx.min.js".to_owned()),
        (
            "intake form",
            format!("{}/cases/new", person_url.trim_start_matches(&base)),
        ),
        ("plan print", format!("/cases/{case}/print/plan")),
        ("meetings", "/meetings".to_owned()),
    ] {
        let bytes = weight(&w, &lead, &path).await;
        if name != "intake form" && name != "plan print" && name != "meetings" {
            total_case += bytes;
        }
        eprintln!("page weight: {name}: {bytes} bytes gzip");
    }
    eprintln!("page weight: case page with CSS and htmx: {total_case} bytes gzip");
    assert!(total_case <= 30 * 1024, "case page is {total_case} bytes");
    db.finish().await;
}

/// The number of pages of a PDF as chromium writes it: its page objects (`/Type /Page`, not
/// the `/Pages` tree).
fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}

async fn schedule_meeting(client: &Client, base: &str, title: &str) -> String {
    client.goto(&format!("{base}/meetings")).await.unwrap();
    click(client, "input[name=kind][value=coordination_meeting]").await;
    set(client, "f-title", title).await;
    submit(client, "/meetings").await;
    assert_eq!(heading(client).await, title);
    let url = client.current_url().await.unwrap();
    url.path().rsplit('/').next().unwrap().to_owned()
}

async fn meeting_attendee(client: &Client, w: &World, name: &str) {
    choose(client, "f-org_id", &w.city.to_string()).await;
    set(client, "f-name", name).await;
    click_and_wait(client, "input[value=record_attendee] ~ button[type=submit]").await;
    assert!(text_of(client, "main").await.contains(name));
}

async fn meeting_agenda(client: &Client, case: &str, purpose: &str) {
    choose(client, "f-case_id", case).await;
    choose(client, "f-purpose", purpose).await;
    click_and_wait(client, "input[value=add_agenda_item] ~ button[type=submit]").await;
    client
        .find(Locator::Id(&format!("f-conclusion-{case}")))
        .await
        .unwrap();
}
