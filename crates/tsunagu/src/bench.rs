//! `tsunagu bench`: the server in-process on a loopback port over a given database, driven by
//! concurrent clients from this binary. For every workload it prints throughput, p50 and p99,
//! and the throughput as a share of a ceiling measured in the same run: a static asset through
//! the full middleware and `/healthz` for reads, the raw durable commit rate of the database
//! for writes. Figures, never assertions: the goals live in the README beside the last figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tsunagu_store::{AuditEntry, Store};
use tsunagu_web::AppState;

/// How hard and how long.
pub struct Settings {
    pub clients: usize,
    pub seconds: f64,
    /// Logins of the generated data (seed 1 has no suffix).
    pub worker: String,
    pub lead: String,
    /// The municipal officer who reads the plans reported.
    pub city: String,
    /// The administrator who reads the audit trail.
    pub admin: String,
    /// Whose cases take the appended contact records (the reading worker's when it is absent).
    pub writer: String,
    pub password: String,
    /// Only the workloads whose name contains this.
    pub only: Option<String>,
}

impl Settings {
    fn runs(&self, workload: &str) -> bool {
        self.only.as_deref().is_none_or(|o| workload.contains(o))
    }
}

/// One measured workload.
struct Figure {
    name: &'static str,
    ok: u64,
    failed: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    ceiling: Option<&'static str>,
    /// Durable writes (audit entries, appends) per commit while the workload ran.
    per_commit: Option<f64>,
}

#[derive(Clone)]
struct Session {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Session {
    async fn login(base: &str, login: &str, password: &str) -> anyhow::Result<Session> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(256)
            .build()?;
        let res = client
            .post(format!("{base}/api/login"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!(
                "cannot log in as {login} ({}); bench runs over data made by `tsunagu generate`",
                res.status()
            );
        }
        let me: Value = res.json().await?;
        Ok(Session {
            client,
            base: base.to_owned(),
            csrf: me["csrf_token"].as_str().unwrap_or_default().to_owned(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<bool> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let ok = res.status().is_success();
        res.bytes().await?;
        Ok(ok)
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("GET {path}: {}", res.status());
        }
        Ok(res.json().await?)
    }

    /// The ids of a case list.
    async fn case_ids(&self, path: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .get_json(path)
            .await?
            .as_array()
            .context("case list")?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// Posts a file as the import's multipart form; the status.
    async fn post_file(&self, path: &str, bytes: &[u8]) -> anyhow::Result<u16> {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("bench.csv"),
        );
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .multipart(form)
            .send()
            .await?;
        let status = res.status().as_u16();
        res.bytes().await?;
        Ok(status)
    }

    async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }
}

/// Runs `op` from `clients` tasks for `seconds`; each call answers whether it succeeded.
async fn measure<F, Fut>(
    name: &'static str,
    ceiling: Option<&'static str>,
    settings: &Settings,
    store: &Store,
    op: F,
) -> anyhow::Result<Figure>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let before = store.group_commit();
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..settings.clients {
        let (op, stop) = (op.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match op(client, i).await {
                    Ok(true) => latencies.push(t.elapsed()),
                    Ok(false) | Err(_) => failed += 1,
                }
                i += 1;
            }
            (latencies, failed)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(settings.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await?;
        all.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = store.group_commit();
    let rounds = after.rounds - before.rounds;
    let per_commit = (rounds > 0).then(|| (after.taken - before.taken) as f64 / rounds as f64);
    all.sort();
    let pick = |q: f64| {
        if all.is_empty() {
            Duration::ZERO
        } else {
            all[((all.len() as f64 * q) as usize).min(all.len() - 1)]
        }
    };
    Ok(Figure {
        name,
        ok: all.len() as u64,
        failed,
        per_second: all.len() as f64 / elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        ceiling,
        per_commit,
    })
}

/// The resident memory of this process (server and clients), in MiB: all of it, and the part
/// that is pages of the database file mapped by SQLite (the kernel's page cache, shared and
/// reclaimable, not the program's own).
fn resident_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("RssFile:").unwrap_or(0.0)))
}

pub async fn run(store: Store, settings: Settings) -> anyhow::Result<()> {
    let backend = store.backend_name();
    let counts = store.table_counts().await?;
    let count = |t: &str| counts.iter().find(|(n, _)| *n == t).map_or(0, |(_, c)| *c);
    eprintln!(
        "bench: {backend}, {} persons, {} cases, {} events; {} clients, {} s per workload",
        count("persons"),
        count("cases"),
        count("events"),
        settings.clients,
        settings.seconds
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(store.clone());
    // The full-text index, built from the whole store before the server is measured (in
    // memory: each run builds its own; a server keeps one on disk and reads on from it).
    let started = std::time::Instant::now();
    let records = tsunagu_app::search::catch_up(&state.app)
        .await
        .map_err(|e| anyhow::anyhow!("search index: {} ({})", e.message, e.code))?;
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "search index: {records} records indexed in {took:.1} s ({:.0} records/s)",
        records as f64 / took.max(0.001)
    );
    tokio::spawn(async move { tsunagu_web::serve(listener, state).await });

    let worker = Session::login(&base, &settings.worker, &settings.password).await?;
    let lead = Session::login(&base, &settings.lead, &settings.password).await?;
    // The municipal officer reads the plans reported.
    let city = Session::login(&base, &settings.city, &settings.password)
        .await
        .context("the municipal officer's login (`city`)")?;
    let admin = Session::login(&base, &settings.admin, &settings.password)
        .await
        .context("the administrator's login (`admin`)")?;
    let cases = worker.case_ids("/api/cases?worker=me&limit=500").await?;
    if cases.is_empty() {
        bail!("the worker has no cases: generate data first (`tsunagu generate --persons N`)");
    }
    // Contact records go to another worker's open cases (`worker2` where the city has one), so
    // a later run's case pages do not read timelines this run made longer.
    let writer = match Session::login(&base, &settings.writer, &settings.password).await {
        Ok(w) => w,
        Err(_) => worker.clone(),
    };
    let open: Vec<String> = writer
        .get_json("/api/cases?worker=me&limit=500")
        .await?
        .as_array()
        .context("case list")?
        .iter()
        .filter(|c| c["stage"] != "closed")
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let cases = Arc::new(cases);
    let mut figures = Vec::new();

    // Reads: each workload one or more GETs of paths chosen by client and iteration.
    type Paths = Arc<dyn Fn(usize, u64) -> Vec<String> + Send + Sync>;
    let case_of = {
        let c = cases.clone();
        move |client: usize, i: u64| c[(client * 7919 + i as usize) % c.len()].clone()
    };
    let static_ceiling = Some("static asset (ceiling)");
    let reads: Vec<(&'static str, Option<&'static str>, &Session, Paths)> = vec![
        (
            "static asset (ceiling)",
            None,
            &worker,
            Arc::new(|_, _| vec!["/assets/app.css".into()]),
        ),
        (
            "/healthz (ceiling)",
            None,
            &worker,
            Arc::new(|_, _| vec!["/healthz".into()]),
        ),
        ("case page (HTML)", static_ceiling, &worker, {
            let case_of = case_of.clone();
            Arc::new(move |c, i| vec![format!("/cases/{}", case_of(c, i))])
        }),
        ("case JSON with timeline", static_ceiling, &worker, {
            let case_of = case_of.clone();
            Arc::new(move |c, i| {
                let id = case_of(c, i);
                vec![
                    format!("/api/cases/{id}"),
                    format!("/api/cases/{id}/timeline"),
                ]
            })
        }),
        (
            "filtered case list of 50",
            static_ceiling,
            &worker,
            Arc::new(|_, i| {
                let stage = ["support", "assessment", "intake", "planning"][i as usize % 4];
                vec![format!("/api/cases?stage={stage}&limit=50")]
            }),
        ),
        (
            "worker's due list",
            static_ceiling,
            &worker,
            Arc::new(|_, _| vec!["/api/due".into()]),
        ),
        (
            "lead's caseload",
            static_ceiling,
            &lead,
            Arc::new(|_, _| vec!["/api/caseload".into()]),
        ),
        (
            "worker's caseload list (filtered)",
            static_ceiling,
            &worker,
            Arc::new(|_, i| {
                let q = [
                    "",
                    "overdue=1",
                    "quiet=30&sort=contact_oldest",
                    "stage=support&sort=kana",
                ][i as usize % 4];
                vec![format!("/api/case-list?{q}")]
            }),
        ),
        (
            "lead's organisation list",
            static_ceiling,
            &lead,
            Arc::new(|_, i| {
                let q = ["", "stuck=1", "overdue=1", "urgency=high&offset=50"][i as usize % 4];
                vec![format!("/api/case-list?worker=org&{q}")]
            }),
        ),
        (
            "worker's record search (full text)",
            static_ceiling,
            &worker,
            Arc::new(|_, i| {
                let q = ["滞納", "求人 一緒", "るすでん", "就職活動"][i as usize % 4];
                vec![format!("/api/search/records?q={q}")]
            }),
        ),
        (
            "lead's record search (full text)",
            static_ceiling,
            &lead,
            Arc::new(|_, i| {
                let q = ["滞納", "求人 一緒", "るすでん", "就職活動"][i as usize % 4];
                vec![format!("/api/search/records?q={q}")]
            }),
        ),
        (
            "person search",
            static_ceiling,
            &worker,
            Arc::new(|_, i| {
                let name = ["佐藤", "鈴木", "タカハシ", "田中"][i as usize % 4];
                vec![format!("/api/persons?name={name}&limit=50")]
            }),
        ),
        (
            "national indicators (fiscal year)",
            static_ceiling,
            &lead,
            Arc::new(|_, _| vec!["/api/stats/national".into()]),
        ),
        (
            "consultations broken down (fiscal year)",
            static_ceiling,
            &lead,
            Arc::new(|_, _| vec!["/api/stats/consultations".into()]),
        ),
        (
            "process figures (fiscal year)",
            static_ceiling,
            &lead,
            Arc::new(|_, _| vec!["/api/stats/process".into()]),
        ),
        (
            "reports received (month)",
            static_ceiling,
            &city,
            // Last month, a whole one.
            Arc::new(|_, _| {
                let last = tsunagu_app::today()
                    .first_of_month()
                    .yesterday()
                    .unwrap_or_else(|_| tsunagu_app::today());
                vec![format!(
                    "/api/reports?month={:04}-{:02}",
                    last.year(),
                    last.month()
                )]
            }),
        ),
        (
            "reports received (fiscal year)",
            static_ceiling,
            &city,
            Arc::new(|_, _| vec!["/api/reports?month=year".into()]),
        ),
        (
            "reports received as xlsx (fiscal year)",
            static_ceiling,
            &city,
            Arc::new(|_, _| vec!["/reports.xlsx?month=year".into()]),
        ),
        (
            // The newest 10,000 entries of the trail, every member of staff.
            "audit trail as xlsx (10,000 entries)",
            static_ceiling,
            &admin,
            Arc::new(|_, _| vec!["/admin/audit.xlsx".into()]),
        ),
    ];
    for (n, (name, ceiling, session, paths)) in reads.into_iter().enumerate() {
        let session = session.clone();
        if settings.runs(name) {
            figures.push(
                measure(name, ceiling, &settings, &store, move |client, i| {
                    let (session, paths) = (session.clone(), paths.clone());
                    async move {
                        for path in paths(client, i) {
                            if !session.get(&path).await? {
                                return Ok(false);
                            }
                        }
                        Ok(true)
                    }
                })
                .await?,
            );
        }
        // The commit ceiling right after the read ceilings.
        if n == 1 && settings.runs("raw durable commit (ceiling)") {
            let s = store.clone();
            figures.push(
                measure(
                    "raw durable commit (ceiling)",
                    None,
                    &settings,
                    &store,
                    move |_, _| {
                        let s = s.clone();
                        async move {
                            s.raw_commit(&[AuditEntry::new("bench.commit")]).await?;
                            Ok(true)
                        }
                    },
                )
                .await?,
            );
        }
    }

    // Durable writes: each client appends contact records to cases of its own, so versions
    // do not collide between clients.
    let append = settings.runs("contact append (durable)");
    if append && open.len() >= settings.clients {
        let targets: Vec<Vec<String>> = (0..settings.clients)
            .map(|c| {
                open.iter()
                    .skip(c)
                    .step_by(settings.clients)
                    .cloned()
                    .collect()
            })
            .collect();
        let versions = Arc::new(tokio::sync::Mutex::new(std::collections::HashMap::<
            String,
            u64,
        >::new()));
        let (w, targets) = (writer.clone(), Arc::new(targets));
        let today = tsunagu_web::today().to_string();
        figures.push(
            measure(
                "contact append (durable)",
                Some("raw durable commit (ceiling)"),
                &settings,
                &store,
                move |client, i| {
                    let (w, targets, versions, today) =
                        (w.clone(), targets.clone(), versions.clone(), today.clone());
                    async move {
                        let mine = &targets[client];
                        let id = &mine[i as usize % mine.len()];
                        let known = versions.lock().await.get(id).copied();
                        let version = match known {
                            Some(v) => v,
                            None => w.get_json(&format!("/api/cases/{id}")).await?["version"]
                                .as_u64()
                                .unwrap_or_default(),
                        };
                        let (status, body) = w
                            .post_json(
                                &format!("/api/cases/{id}/commands"),
                                &json!({
                                    "expected_version": version,
                                    "command": {
                                        "action": "record_contact",
                                        "kind": "phone",
                                        "contacted_on": today,
                                        "reached": true,
                                        "summary": "ベンチマークの電話連絡（合成データ）。"
                                    }
                                }),
                            )
                            .await?;
                        if let Some(v) = body["version"].as_u64() {
                            versions.lock().await.insert(id.clone(), v);
                        }
                        Ok(status == 200)
                    }
                },
            )
            .await?,
        );
    } else if append {
        eprintln!(
            "bench: fewer open cases ({}) than clients; contact append skipped",
            open.len()
        );
    }

    // Every tenant of the deployment compared over the last full month (R10): one pass over
    // the milestones of all tenants, the national-scale statistic (`tsunagu stats`).
    if settings.runs("all tenants compared (month)") {
        let app = tsunagu_app::App::new(store.clone());
        let today = tsunagu_web::today();
        let first = today.first_of_month();
        let last_month = first
            .checked_sub(jiff::Span::new().months(1))
            .unwrap_or(first);
        let until = first
            .checked_sub(jiff::Span::new().days(1))
            .unwrap_or(first);
        figures.push(
            measure(
                "all tenants compared (month)",
                None,
                &settings,
                &store,
                move |_, _| {
                    let app = app.clone();
                    async move {
                        let c = tsunagu_app::stats::deployment(&app, last_month, until)
                            .await
                            .map_err(|e| anyhow::anyhow!("{}", e.code))?;
                        Ok(!c.tenants.is_empty())
                    }
                },
            )
            .await?,
        );
    }

    // Import: the lead checks a sheet of 1,000 synthetic rows (the dry run: every row read
    // and looked up among the registered persons, nothing written but the audit entry), then
    // imports it. The rows are the same every run, so the import writes them only once; a
    // later run's import finds every row imported before.
    let sheet = Arc::new(import_sheet(1_000));
    if settings.runs("import check (1,000 rows)") {
        let (l, sheet) = (lead.clone(), sheet.clone());
        figures.push(
            measure(
                "import check (1,000 rows)",
                None,
                &settings,
                &store,
                move |_, _| {
                    let (l, sheet) = (l.clone(), sheet.clone());
                    async move { Ok(l.post_file("/api/imports/check", &sheet).await? == 200) }
                },
            )
            .await?,
        );
    }
    if settings.runs("import (1,000 rows, one request)") {
        let started = Instant::now();
        let status = lead.post_file("/api/imports", &sheet).await?;
        let took = started.elapsed();
        figures.push(Figure {
            name: "import (1,000 rows, one request)",
            ok: u64::from(status == 201),
            failed: u64::from(status != 201),
            per_second: 1.0 / took.as_secs_f64().max(1e-9),
            p50: took,
            p99: took,
            ceiling: None,
            per_commit: None,
        });
    }

    report(&figures, resident_mib());
    Ok(())
}

/// A CSV as a municipality might keep it: `rows` synthetic persons (names, dates of birth in
/// 和暦, phone numbers without hyphens), half of them with a 相談受付日 and a 相談経路.
fn import_sheet(rows: u32) -> Vec<u8> {
    let mut csv = String::from("No,氏名,フリガナ,生年月日,性別,電話番号,相談受付日,相談経路\r\n");
    for i in 0..rows {
        let (y, m, d) = (40 + i % 20, 1 + i % 12, 1 + i % 28);
        let received = if i % 2 == 0 { "R8.4.1" } else { "" };
        let route = if i % 2 == 0 { "本人（電話）" } else { "" };
        let sex = if i % 2 == 0 { "男" } else { "女" };
        csv.push_str(&format!(
            "{n},取込試験　{n:05},トリコミシケン,S{y}.{m}.{d},{sex},090{n:08},{received},{route}\r\n",
            n = i + 1
        ));
    }
    csv.into_bytes()
}

#[allow(clippy::print_stdout)]
fn report(figures: &[Figure], rss: Option<(f64, f64)>) {
    let ceiling = |name: &str| {
        figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.per_second)
    };
    println!(
        "| workload | requests | req/s | p50 ms | p99 ms | failed | share of ceiling | writes per commit |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for f in figures {
        let share = f
            .ceiling
            .and_then(ceiling)
            .filter(|c| *c > 0.0)
            .map(|c| {
                format!(
                    "{:.1} % of {}",
                    100.0 * f.per_second / c,
                    f.ceiling.unwrap_or("")
                )
            })
            .unwrap_or_default();
        let per_commit = f.per_commit.map(|n| format!("{n:.1}")).unwrap_or_default();
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            f.name,
            f.ok,
            f.per_second,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0,
            f.failed,
            share,
            per_commit
        );
    }
    if let Some((all, file)) = rss {
        println!(
            "\nresident memory (server and bench clients in one process): {all:.0} MiB, of which {file:.0} MiB mapped files (the database's pages in the kernel's cache)"
        );
    }
}
