//! The canary: an unrelated organisation's records carry unique marker strings. No response of
//! any registered route, for any other user of any role (or none), and no line of the server
//! log — captured at TRACE level — contains one of them. This binary owns the process's
//! tracing subscriber, so the tests that read the log live here, one at a time: the canary, and
//! the count of database queries per list read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Database statements executed in this process (sqlx reports each one under `sqlx::query`).
static QUERIES: AtomicU64 = AtomicU64::new(0);

struct CountQueries;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountQueries {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            QUERIES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The process's subscriber: every line at TRACE into one captured log, and the query count.
fn subscriber() -> Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false),
            )
            .with(CountQueries)
            .init();
        log
    })
    .clone()
}

/// The tests of this binary share the log and the counter: one runs at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every path parameter filled with the canary's identifiers.
struct Targets {
    case: String,
    attachment: String,
    person: String,
    household: String,
    meeting: String,
    user: String,
}

fn fill(path: &str, t: &Targets) -> String {
    let page = path.strip_prefix("/api").unwrap_or(path);
    let id = if page.starts_with("/cases/") {
        &t.case
    } else if page.starts_with("/persons/") {
        &t.person
    } else if page.starts_with("/households/") {
        &t.household
    } else if page.starts_with("/meetings/") {
        &t.meeting
    } else if page.starts_with("/users/") {
        &t.user
    } else {
        &Uuid::now_v7().to_string()
    };
    path.replace("{id}", id)
        .replace("{attachment}", &t.attachment)
        .replace("{action}", "make_referral")
        .replace("{form}", "plan")
}

fn body_for(path: &str) -> Value {
    if path.ends_with("/commands") && path.starts_with("/api/cases/") {
        json!({"expected_version": 1, "command": {"action": "record_contact", "kind": "phone", "contacted_on": day(0), "reached": true, "summary": "x"}})
    } else if path.ends_with("/commands") {
        json!({"expected_version": 1, "command": {"action": "record_minutes", "minutes": "x"}})
    } else if path.starts_with("/api/persons/") {
        json!({"expected_version": 1, "details": {"name": "x"}})
    } else {
        json!({})
    }
}

#[tokio::test]
async fn an_unrelated_organisations_records_never_leak() {
    let _one_at_a_time = SERIAL.lock().await;
    let log = subscriber();

    for db in TestDb::all().await {
        let w = world(&db).await;
        let canary = format!("ZQX{}", rand_digits());
        let phone = format!("099-{}", &canary[3..11]);
        let markers = [canary.clone(), phone.clone()];
        let owner = w.login("stranger").await;
        let (s, p) = owner
            .post("/api/persons", json!({"details": {"name": format!("{canary}氏"), "kana": format!("{canary}カナ"),
                "address": format!("{canary}町1-1"), "phone": phone, "date_of_birth": "1970-01-01"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let person = p["id"].as_str().unwrap().to_owned();
        let (s, c) = owner
            .post("/api/cases", json!({"person_id": person, "intake": {
                "received_on": day(-20), "route": "self_phone", "presenting_problem_text": format!("{canary}の相談"),
                "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let case = c["id"].as_str().unwrap().to_owned();
        owner.ok(&case, json!({"action": "triage", "triaged_on": day(-19), "outcome": {"outcome": "continue"}})).await;
        owner.ok(&case, json!({"action": "record_assessment", "assessment": {"assessed_on": day(-18), "baseline": format!("{canary}の生活"), "main_issues": format!("{canary}の課題")}})).await;
        owner.ok(&case, json!({"action": "record_contact", "kind": "visit", "contacted_on": day(-17), "reached": true, "summary": format!("{canary}の経過")})).await;
        owner.ok(&case, json!({"action": "make_referral", "referral": {"to_name": format!("{canary}病院"), "purpose": format!("{canary}の受診"), "referred_on": day(-16), "follow_up_on": day(1)}})).await;
        let (s, m) = owner
            .post("/api/meetings", json!({"kind": "support_meeting", "title": format!("{canary}会議"), "scheduled_on": day(2)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        let meeting = m["id"].as_str().unwrap().to_owned();
        for command in [
            json!({"action": "add_agenda_item", "case_id": case, "purpose": "plan_sharing"}),
            json!({"action": "record_minutes", "minutes": format!("{canary}の議事録")}),
        ] {
            let (s, b) = owner.meeting_cmd(&meeting, command).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(format!("{canary}の書類の中身").as_bytes());
        let v = owner.get(&format!("/api/cases/{case}")).await.1["version"]
            .as_u64()
            .unwrap();
        let (s, added) = owner
            .attach(
                &case,
                v,
                &format!("{canary}からの手紙"),
                &format!("{canary}.png"),
                png,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{added}");
        let attachment = added["attachment"]["id"].as_str().unwrap().to_owned();
        let own = owner
            .client
            .get(format!(
                "{}/api/cases/{case}/attachments/{attachment}",
                w.base
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&own).contains(&canary));
        // Positive control: the owner sees the markers, so the check below can see them too.
        let (_, own) = owner.get(&format!("/api/persons/{person}")).await;
        let household = own["household_id"].as_str().unwrap().to_owned();
        assert!(own.to_string().contains(&canary) && own.to_string().contains(&phone));
        let (_, own) = owner.get(&format!("/api/meetings/{meeting}")).await;
        assert!(own.to_string().contains(&format!("{canary}の議事録")));
        let (_, own) = owner.get(&format!("/api/search/records?q={canary}")).await;
        assert_eq!(own["cases"][0]["case"]["id"], case.as_str(), "{own}");
        assert!(own.to_string().contains(&canary), "{own}");

        let targets = Targets {
            case,
            attachment,
            person: person.clone(),
            household,
            meeting,
            user: w.user_id("stranger").to_string(),
        };
        let mut specs = tsunagu_web::routes::specs();
        // Ending one's own sessions last, so every other route runs logged in.
        specs.sort_by_key(|s| {
            s.path == "/api/logout" || s.path == "/api/me/sessions" && s.method == Method::DELETE
        });
        let searches = [
            format!("/api/persons?name={canary}"),
            format!("/api/persons?phone={phone}"),
            format!(
                "/api/persons/matches?name={canary}氏&kana={canary}カナ&phone={phone}&date_of_birth=1970-01-01"
            ),
            "/api/persons?date_of_birth=1970-01-01".to_owned(),
            format!("/api/search/records?q={canary}"),
            format!("/api/search/records?q={canary}の経過"),
            // (The search page echoes the words searched for, so it is checked through the
            // API, which the page calls, and through its file, which does not echo them.)
            format!("/search.csv?q={canary}"),
            format!("/search.csv?q={canary}の経過"),
            "/reports.csv?month=year".to_owned(),
            format!("/api/cases?person={person}"),
            format!("/api/case-list?person={person}&status=all"),
            "/api/case-list?worker=org&status=all".to_owned(),
            "/api/case-list?worker=team&status=all&sort=kana".to_owned(),
            format!("/cases?person={person}&status=all"),
            "/cases?worker=team&status=all".to_owned(),
            format!("/cases.csv?person={person}&status=all"),
            "/cases.csv?worker=org&status=all".to_owned(),
            "/cases.csv?worker=team&status=all".to_owned(),
            "/api/stats/national".to_owned(),
            "/stats/national.csv".to_owned(),
            "/api/due?scope=org".to_owned(),
            "/api/due/counts".to_owned(),
            "/api/meetings?from=2000-01-01".to_owned(),
            format!("/api/audit?person={person}"),
            format!("/api/audit?user={}", w.user_id("stranger")),
            format!("/api/{canary}"),
        ];
        let mut checked = 0;
        let mut users: Vec<Option<&str>> = ["worker", "lead", "city", "hw", "admin", "auditor"]
            .into_iter()
            .map(Some)
            .collect();
        users.push(None);
        for user in users {
            let api = match user {
                Some(role) => w.login(role).await,
                None => Api {
                    client: reqwest::Client::new(),
                    base: w.base.clone(),
                    csrf: String::new(),
                },
            };
            let mut requests: Vec<(Method, String, Option<Value>)> = searches
                .iter()
                .map(|p| (Method::GET, p.clone(), None))
                .collect();
            for spec in &specs {
                let path = fill(spec.path, &targets);
                let body = (spec.method != Method::GET).then(|| body_for(&path));
                requests.push((spec.method.clone(), path, body));
            }
            for (method, path, body) in requests {
                let mut b = api
                    .client
                    .request(method.clone(), format!("{}{path}", w.base))
                    .header("x-csrf-token", &api.csrf);
                if let Some(body) = body {
                    b = b.json(&body);
                }
                let res = b.send().await.unwrap();
                let status = res.status();
                let text = res.text().await.unwrap();
                for marker in &markers {
                    assert!(
                        !text.contains(marker.as_str()),
                        "{}: {method} {path} as {user:?} ({status}) shows the canary: {text}",
                        db.name
                    );
                }
                checked += 1;
            }
        }
        eprintln!("{}: canary, {checked} responses checked", db.name);
        db.finish().await;
    }

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("route=/api/cases/{id}"),
        "the server log was captured"
    );
    let leaks: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ZQX") || l.contains("099-"))
        .collect();
    assert!(
        leaks.is_empty(),
        "the server log shows a canary marker:\n{}",
        leaks.join("\n")
    );
    assert!(
        !text.contains("099-"),
        "the server log shows a canary phone number"
    );
    eprintln!("server log: {} lines checked", text.lines().count());
}

fn rand_digits() -> String {
    let n = Uuid::now_v7().as_u128() % 10_u128.pow(12);
    format!("{n:012}")
}

/// The statements one read costs: the fewest of three tries (a session's once-a-minute
/// activity stamp may fall into one of them).
async fn queries_of(api: &Api, path: &str) -> (u64, Value) {
    let mut fewest = u64::MAX;
    let mut body = Value::Null;
    for _ in 0..3 {
        let before = QUERIES.load(Ordering::SeqCst);
        let (s, b) = api.get(path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        fewest = fewest.min(QUERIES.load(Ordering::SeqCst) - before);
        body = b;
    }
    (fewest, body)
}

/// The statements and rows of each read.
async fn round_of(reads: &[(&Api, &str)]) -> Vec<(u64, usize)> {
    let mut round = Vec::new();
    for (api, path) in reads {
        let (n, body) = queries_of(api, path).await;
        round.push((n, count_of(&body, path)));
    }
    round
}

fn count_of(body: &Value, path: &str) -> usize {
    if path.starts_with("/api/due") {
        body["items"].as_array().map_or(0, Vec::len)
    } else if path.starts_with("/api/case-list") || path.starts_with("/api/search") {
        body["cases"].as_array().map_or(0, Vec::len)
    } else if path.starts_with("/api/caseload") {
        body["workers"].as_array().map_or(0, Vec::len)
    } else {
        body.as_array().map_or(0, Vec::len)
    }
}

/// Lists filter by access in the query (the access projection): a list, the due list, a
/// search and the lead's caseload cost the same number of statements with 4 cases as with 40,
/// the extra cases shown, and as in a tenant of 10,000 more cases; other organisations' and
/// restricted cases are not shown.
#[tokio::test]
async fn a_list_read_costs_the_same_queries_whatever_the_number_of_cases() {
    let _one_at_a_time = SERIAL.lock().await;
    subscriber();
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let lead = w.login("lead").await;
        let stranger = w.login("stranger").await;
        let reads: [(&Api, &str); 8] = [
            (&worker, "/api/cases?limit=50"),
            (&worker, "/api/cases?worker=me&stage=intake&limit=50"),
            (&worker, "/api/due?date=2099-01-01"),
            (&worker, "/api/persons?name=%E6%95%B0%E3%81%88"),
            (&worker, "/api/case-list?overdue=0&sort=kana"),
            (
                &worker,
                "/api/case-list?worker=team&stage=intake&quiet=1&status=all",
            ),
            (&lead, "/api/caseload"),
            // 債務 is in every case's referral, the stranger's 10,000 too.
            (&worker, "/api/search/records?q=%E5%82%B5%E5%8B%99"),
        ];
        let mut rounds: Vec<Vec<(u64, usize)>> = Vec::new();
        let mut made = 0;
        for upto in [4, 40] {
            while made < upto {
                for (api, name) in [(&worker, "数え"), (&stranger, "数え")] {
                    let (s, p) = api
                        .post(
                            "/api/persons",
                            json!({"details": {"name": format!("{name} {made}")}}),
                        )
                        .await;
                    assert_eq!(s, StatusCode::CREATED, "{p}");
                    let (s, c) = api
                        .post("/api/cases", json!({"person_id": p["id"], "intake": {
                            "received_on": day(0), "route": "self_visit",
                            "presenting_problems": [{"code": "housing", "main": true}], "urgency": "normal"}}))
                        .await;
                    assert_eq!(s, StatusCode::CREATED, "{c}");
                    let case = c["id"].as_str().unwrap().to_owned();
                    api.ok(
                        &case,
                        json!({"action": "make_referral", "referral": {"to_name": "法テラス",
                        "purpose": "債務の相談", "referred_on": day(0), "follow_up_on": day(1)}}),
                    )
                    .await;
                }
                made += 1;
            }
            rounds.push(round_of(&reads).await);
        }
        // The tenant grows by 10,000 persons and cases of another organisation, with the same
        // name: the same statements again, and not one of those cases shown.
        bulk_cases(&db.store, w.user_id("stranger"), "数え", 10_000).await;
        rounds.push(round_of(&reads).await);
        // The stranger's own list of those 10,040 cases: its count, which checks access case
        // by case, stops 1,000 cases past the page and says so.
        for (offset, total) in [(0, 1_000), (1_000, 2_000)] {
            let (_, list) = stranger
                .get(&format!("/api/case-list?status=all&offset={offset}"))
                .await;
            assert_eq!(
                (list["total"].clone(), list["total_exact"].clone()),
                (json!(total), json!(false)),
                "offset {offset}"
            );
            assert_eq!(list["cases"].as_array().unwrap().len(), 50);
        }
        let (_, list) = stranger.get("/api/case-list?status=all&offset=10000").await;
        assert_eq!(
            (list["total"].clone(), list["total_exact"].clone()),
            (json!(10_040), json!(true))
        );
        for (i, api_path) in reads.iter().map(|(_, p)| *p).enumerate() {
            let [small, large, city] = [0, 1, 2].map(|r| rounds[r][i]);
            assert!(small.0 > 0, "{api_path}: no statement counted");
            // The record search reads the tenant's best matches first and checks their cases;
            // when 10,000 cases of another organisation hold the words and crowd the caller's
            // out of those, it searches within every case the caller may read instead: one
            // statement more, whatever the number of cases.
            let fallback = u64::from(api_path.starts_with("/api/search/records"));
            assert_eq!(
                (small.0, small.0 + fallback),
                (large.0, city.0),
                "{api_path}: {} statements for {} rows, {} for {}, {} in a tenant of 10,000 more",
                small.0,
                small.1,
                large.0,
                large.1,
                city.0
            );
            // The lists and the search show the worker's own cases only, all of them, and grow
            // with them.
            if i < 5 || i == 7 {
                assert_eq!((small.1, large.1, city.1), (4, 40, 40), "{api_path}");
            }
        }
        db.finish().await;
    }
}
