//! The `tsunagu` command: serve, demo, generate, migrate, verify, user.

/// mimalloc: values made on one thread are freed on another (the bulk writer frees the rows
/// the loader built; the driver's worker the statements a request built), which the system
/// allocator serialises. The generator at 10,000 persons: 47,000 events/s with the system
/// allocator, 61,000 with this one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod backup;
mod bench;
mod demo;
mod keys;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tsunagu_core::{OrgId, Role};
use tsunagu_store::{ApiToken, AuditEntry, DEFAULT_DATABASE_URL, Store, User};
use tsunagu_web::AppState;

#[derive(Parser)]
#[command(
    name = "tsunagu",
    version,
    about = "Tsunagu (つなぐ): case management for comprehensive consultation support"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DbArg {
    /// Database URL: sqlite://path (created if missing) or postgres://…
    #[arg(long = "database", env = "TSUNAGU_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    url: String,
    /// Directory of the full-text index of case records (a cache of the database, rebuilt by
    /// `reindex`). Default: beside a SQLite database (its path + `.search`); with PostgreSQL,
    /// in memory, built from the database when the server starts.
    #[arg(long = "search-index", env = "TSUNAGU_SEARCH_INDEX")]
    search_index: Option<std::path::PathBuf>,
}

impl DbArg {
    /// Where the search index lives: as given, else beside a SQLite file, else in memory.
    fn search_dir(&self) -> Option<std::path::PathBuf> {
        if let Some(dir) = &self.search_index {
            return Some(dir.clone());
        }
        let path = self
            .url
            .strip_prefix("sqlite://")
            .or_else(|| self.url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or(path);
        (!path.is_empty() && !path.contains(":memory:"))
            .then(|| std::path::PathBuf::from(format!("{path}.search")))
    }
}

#[derive(clap::Args, Clone)]
struct NetArg {
    #[arg(long, env = "TSUNAGU_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Reverse proxies to trust for X-Forwarded-For and X-Forwarded-Proto (CIDR, repeatable or
    /// comma-separated), e.g. 10.0.0.5/32.
    #[arg(
        long = "trust-proxy",
        env = "TSUNAGU_TRUST_PROXY",
        value_delimiter = ','
    )]
    trust_proxy: Vec<ipnet::IpNet>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and API.
    Serve {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        net: NetArg,
        #[command(flatten)]
        key: keys::KeyArg,
    },
    /// Create synthetic demo data (if the database is empty) and serve.
    Demo {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        net: NetArg,
        #[command(flatten)]
        key: keys::KeyArg,
        #[arg(long, default_value_t = 300)]
        persons: u32,
    },
    /// Measure the server in-process over a database (made by `generate`): throughput, p50
    /// and p99 per workload, each against a ceiling measured in the same run
    Bench {
        #[command(flatten)]
        db: DbArg,
        /// Generate this many persons first when the database is empty.
        #[arg(long)]
        persons: Option<u32>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds per workload.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Only the workloads whose name contains this (e.g. `case page`, for profiling); the
        /// ceilings run only when they match too.
        #[arg(long)]
        only: Option<String>,
    },
    /// Generate synthetic data without serving (deterministic for a seed).
    Generate {
        #[command(flatten)]
        db: DbArg,
        /// Persons in all, spread evenly over the tenants.
        #[arg(long)]
        persons: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Municipalities (national mode, e.g. 907): tenant k gets seed `seed + k` and the
        /// logins `worker-<seed>`, `lead-<seed>`, … (the first tenant of seed 1 keeps `worker`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5000))]
        tenants: u32,
        /// Tenants generated at once (national mode on PostgreSQL, where writers run side by
        /// side; SQLite has one writer, so more than 1 gains little there).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
        jobs: u32,
    },
    /// Set up a new tenant (a municipality) with its first organisation and administrator.
    /// Reads the administrator's password from TSUNAGU_PASSWORD or stdin; prints the new ids.
    Init {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        key: keys::KeyArg,
        /// The tenant's name, e.g. the municipality (○○市).
        #[arg(long)]
        tenant: String,
        /// The first organisation's name.
        #[arg(long)]
        org: String,
        /// municipal_department, support_agency or related_agency
        #[arg(long, default_value = "municipal_department")]
        org_kind: String,
        #[arg(long)]
        admin_login: String,
        #[arg(long)]
        admin_name: String,
    },
    /// Bring the database schema up to date.
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// Check the database: engine integrity and every projection against its events.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
    /// Build the full-text index of case records again from the database.
    Reindex {
        #[command(flatten)]
        db: DbArg,
    },
    /// The audit trail: verify its hash chain, or answer a breach-response query.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// An online, consistent backup (a SQLite file of Tsunagu's tables), verified before it
    /// counts; copying the database file is not a backup.
    Backup {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        output: std::path::PathBuf,
        /// Encrypt with the passphrase in this file (age).
        #[arg(long)]
        passphrase_file: Option<std::path::PathBuf>,
    },
    /// Restore a backup into an empty database, then verify it.
    Restore {
        #[arg(long)]
        input: std::path::PathBuf,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        passphrase_file: Option<std::path::PathBuf>,
        /// Replace an existing SQLite file.
        #[arg(long)]
        overwrite: bool,
    },
    /// Move a deployment between databases (SQLite ⇄ PostgreSQL) and prove the timelines equal.
    Copy {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// The key that seals TOTP secrets: `rotate` puts a new key first and re-seals them.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Import persons, and the first consultation of each row with a 相談受付日, from an xlsx
    /// or CSV (UTF-8 or Shift_JIS) file, as a lead support worker. Every row is checked
    /// first; a row with a problem means nothing is written (exit status 1).
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The lead support worker the import is done as (their login).
        #[arg(long)]
        user: String,
        /// Check only: list every problem and likely duplicate, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import rows that are likely duplicates too, after checking them.
        #[arg(long)]
        confirm_duplicates: bool,
        file: std::path::PathBuf,
    },
    /// Compare every tenant of the deployment: the national indicators' counts of a month or
    /// of a fiscal year so far, a row per municipality, counts from 1 to 4 suppressed (＊) with
    /// the counts that would give them away. Prints the table, or writes it as .csv or .xlsx.
    Stats {
        #[command(flatten)]
        db: DbArg,
        /// The fiscal year (2026 = 令和8年度); this one when absent.
        #[arg(long)]
        fiscal_year: Option<i16>,
        /// One month of it (4 = April … 3 = March); the year so far when absent.
        #[arg(long, value_parser = clap::value_parser!(i8).range(1..=12))]
        month: Option<i8>,
        /// Write the table to this file (.csv or .xlsx) instead of printing it.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    Rotate {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        key: keys::KeyArg,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the hash chain; exit non-zero and name the first entry that was modified,
    /// deleted, inserted or reordered.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
    /// Print matching entries as JSON lines: what a user or session accessed between two
    /// times, or everyone who accessed a person.
    Show {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        user: Option<tsunagu_core::UserId>,
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        person: Option<tsunagu_core::PersonId>,
        /// RFC 3339 time, e.g. 2026-11-01T00:00:00+09:00
        #[arg(long)]
        from: Option<jiff::Timestamp>,
        #[arg(long)]
        until: Option<jiff::Timestamp>,
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
    },
    /// Retention: remove entries older than the longest retention any tenant set (default 5
    /// years); the chain goes on from an anchor and the purge is itself recorded.
    Purge {
        #[command(flatten)]
        db: DbArg,
        /// Remove entries recorded before this time instead (RFC 3339); it may not be more
        /// recent than the retention allows.
        #[arg(long)]
        before: Option<jiff::Timestamp>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user to an organisation (reads the password from TSUNAGU_PASSWORD or stdin).
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// administrator, lead_support_worker, support_worker, employment_support_worker,
        /// municipal_officer, related_agency_member, auditor
        #[arg(long)]
        role: String,
        #[arg(long)]
        org: OrgId,
    },
    /// Set a user's password (from TSUNAGU_PASSWORD or stdin).
    Passwd {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        login: String,
    },
    /// Create a bearer API token for a user and print it once.
    Token {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "api")]
        label: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let password = match std::env::var("TSUNAGU_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    // The same rules as the API and the pages: length and the common-password check.
    if let Err(e) = tsunagu_app::accounts::check_new_password(&password) {
        bail!("{} ({})", e.message, e.code);
    }
    Ok(password)
}

async fn serve(
    store: Store,
    db: &DbArg,
    net: &NetArg,
    secrets: tsunagu_app::secrets::Secrets,
) -> anyhow::Result<()> {
    let listen = &net.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend_name(), "serving");
    eprintln!("Tsunagu is running at http://{addr}/");
    let mut state = AppState::new(store);
    state.app.secrets = secrets;
    if let Some(dir) = db.search_dir() {
        state.app = state.app.with_search_dir(dir);
    }
    // The index reads what was written since it last read, beside the server: the first
    // search does not wait for a whole database (each search still reads the rest first).
    let app = state.app.clone();
    tokio::spawn(async move {
        match tsunagu_app::search::catch_up(&app).await {
            Ok(n) => tracing::info!(records = n, "search index up to date"),
            Err(e) => tracing::error!(code = %e.code, "search index could not catch up"),
        }
    });
    state.network = tsunagu_web::Network {
        trusted_proxies: net.trust_proxy.clone(),
        // Anywhere but loopback the session cookie is sent over HTTPS only.
        secure_cookies: !addr.ip().is_loopback(),
    };
    tokio::select! {
        r = tsunagu_web::serve(listener, state) => r?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { db, net, key } => {
            let secrets = key.load(&db.url)?;
            let store = Store::connect(&db.url).await?;
            serve(store, &db, &net, secrets).await
        }
        Command::Demo {
            db,
            net,
            key,
            persons,
        } => {
            let secrets = key.load(&db.url)?;
            let store = Store::connect(&db.url).await?;
            if store.has_non_demo_data().await? {
                bail!(
                    "this database holds non-demo data; demo data is added only to an empty or demo database"
                );
            }
            if store.tenants().await?.is_empty() {
                eprintln!("Creating demo data ({persons} persons)…");
                let bar = demo::progress_bar(persons);
                demo::generate(&store, persons, 1, true, &bar).await?;
                store.end_bulk().await;
                bar.finish_and_clear();
            }
            eprintln!("{}", demo::LOGIN_HELP);
            serve(store, &db, &net, secrets).await
        }
        Command::Bench {
            db,
            persons,
            clients,
            seconds,
            only,
        } => {
            let store = Store::connect(&db.url).await?;
            if store.tenants().await?.is_empty()
                && let Some(persons) = persons
            {
                eprintln!("bench: generating {persons} persons…");
                let bar = demo::progress_bar(persons);
                demo::generate(&store, persons, 1, true, &bar).await?;
                store.end_bulk().await;
                bar.finish_and_clear();
                store.analyze().await?;
            }
            bench::run(
                store,
                bench::Settings {
                    clients: clients.max(1),
                    seconds: seconds.max(0.5),
                    worker: "worker".into(),
                    lead: "lead".into(),
                    city: "city".into(),
                    admin: "admin".into(),
                    writer: "worker2".into(),
                    password: demo::DEMO_PASSWORD.into(),
                    only,
                },
            )
            .await
        }
        Command::Generate {
            db,
            persons,
            seed,
            tenants,
            jobs,
        } => {
            let store = Store::connect(&db.url).await?;
            if store.has_non_demo_data().await? {
                bail!(
                    "this database holds non-demo data; generated data is added only to an empty or demo database"
                );
            }
            let started = std::time::Instant::now();
            // Each tenant is independent of the others: `jobs` of them are generated at once,
            // each deterministic for its own seed.
            let mut running = tokio::task::JoinSet::new();
            let mut events = 0;
            let bar = demo::progress_bar(persons);
            // The planner's statistics are refreshed each time the data has doubled, so plans
            // keep fitting a database that grows a hundredfold during the run (PostgreSQL).
            let mut analyzed_at = 1_000;
            for k in 0..tenants {
                if running.len() >= jobs as usize
                    && let Some(finished) = running.join_next().await
                {
                    events += finished??;
                    if bar.position() >= 2 * analyzed_at {
                        store.analyze().await?;
                        analyzed_at = bar.position();
                    }
                }
                // The remainder goes to the first tenants, one each.
                let share = persons / tenants + u32::from(k < persons % tenants);
                let (store, bar) = (store.clone(), bar.clone());
                running.spawn(async move {
                    demo::generate(&store, share, seed + u64::from(k), true, &bar).await
                });
            }
            while let Some(finished) = running.join_next().await {
                events += finished??;
            }
            store.end_bulk().await;
            bar.finish_and_clear();
            store.analyze().await?;
            if tenants > 1 {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "generate: {tenants} tenants, {persons} persons, {events} events in {secs:.1} s ({:.0} events/s)",
                    events as f64 / secs.max(1e-9)
                );
            }
            eprintln!("{}", demo::LOGIN_HELP);
            Ok(())
        }
        Command::Init {
            db,
            key,
            tenant,
            org,
            org_kind,
            admin_login,
            admin_name,
        } => {
            key.load(&db.url)?;
            init(&db.url, tenant, org, &org_kind, admin_login, admin_name).await
        }
        Command::Key {
            action: KeyAction::Rotate { db, key },
        } => {
            let store = Store::connect(&db.url).await?;
            keys::rotate(&store, &key, &db.url).await
        }
        Command::Migrate { db } => {
            Store::connect(&db.url).await?;
            eprintln!("schema is up to date");
            Ok(())
        }
        Command::Reindex { db } => {
            let store = Store::connect(&db.url).await?;
            let Some(dir) = db.search_dir() else {
                bail!(
                    "with PostgreSQL the index is kept in memory unless --search-index names a directory; the server builds it when it starts"
                );
            };
            let app = tsunagu_app::App::new(store).with_search_dir(dir.clone());
            let n = tsunagu_app::search::reindex(&app)
                .await
                .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
            eprintln!("reindex: {n} records in {}", dir.display());
            Ok(())
        }
        Command::Verify { db } => {
            let store = Store::open(&db.url).await?;
            let findings = store.verify().await?;
            if findings.is_empty() {
                eprintln!("verify: ok");
                Ok(())
            } else {
                for f in &findings {
                    eprintln!("verify: {f}");
                }
                bail!("verify found {} problem(s)", findings.len())
            }
        }
        Command::Backup {
            db,
            output,
            passphrase_file,
        } => backup::backup(&db.url, &output, passphrase_file.as_deref()).await,
        Command::Restore {
            input,
            db,
            passphrase_file,
            overwrite,
        } => {
            backup::restore(&input, &db.url, passphrase_file.as_deref(), overwrite).await?;
            // The search index belonged to the database replaced (its positions are not the
            // restored one's): it is built again from the restored records when next used.
            if let Some(dir) = db.search_dir()
                && dir.exists()
            {
                std::fs::remove_dir_all(&dir).with_context(|| {
                    format!("cannot remove the old search index {}", dir.display())
                })?;
                eprintln!(
                    "restore: the search index will be built again from the restored records"
                );
            }
            Ok(())
        }
        Command::Copy { from, to } => backup::copy(&from, &to).await,
        Command::User { action } => user(action).await,
        Command::Stats {
            db,
            fiscal_year,
            month,
            output,
        } => compare(db, fiscal_year, month, output).await,
        Command::Import {
            db,
            user,
            dry_run,
            confirm_duplicates,
            file,
        } => import(db, &user, dry_run, confirm_duplicates, &file).await,
        Command::Audit { action } => audit(action).await,
    }
}

async fn compare(
    db: DbArg,
    fiscal_year: Option<i16>,
    month: Option<i8>,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let store = Store::connect(&db.url).await?;
    let app = tsunagu_app::App::new(store);
    let today = app.clock.today();
    let fy = fiscal_year.unwrap_or_else(|| tsunagu_core::wareki::fiscal_year(today));
    let (from, until) = match month {
        Some(m) => {
            let year = if m >= 4 { fy } else { fy + 1 };
            let first = jiff::civil::Date::new(year, m, 1)?;
            (first, first.last_of_month())
        }
        None => (
            jiff::civil::Date::new(fy, 4, 1)?,
            jiff::civil::Date::new(fy + 1, 3, 31)?,
        ),
    };
    let until = until.min(today);
    if until < from {
        bail!("that period has not begun");
    }
    let started = std::time::Instant::now();
    let comparison = tsunagu_app::stats::deployment(&app, from, until)
        .await
        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
    let took = started.elapsed();
    let table = comparison.table();
    match output {
        Some(path) => {
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("xlsx") => tsunagu_app::FileFormat::Xlsx,
                _ => tsunagu_app::FileFormat::Csv,
            };
            let bytes = format
                .write("自治体別", &table)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            std::fs::write(&path, bytes)?;
        }
        None =>
        {
            #[allow(clippy::print_stdout)]
            for row in std::iter::once(&table.headers).chain(table.rows.iter()) {
                println!("{}", row.join("\t"));
            }
        }
    }
    eprintln!(
        "stats: {} tenants, {from}..{until}, counted in {:.0} ms",
        comparison.tenants.len(),
        took.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// The import's progress on stderr: a bar over the rows checked, then the write.
struct ImportBar(indicatif::ProgressBar);

impl tsunagu_app::import::Progress for ImportBar {
    fn rows(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
    fn writing(&self) {
        self.0.set_message("書き込み中");
    }
}

async fn import(
    db: DbArg,
    login: &str,
    dry_run: bool,
    confirm_duplicates: bool,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use tsunagu_app::import::{self, ImportRequest};
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = Store::connect(&db.url).await?;
    let app = tsunagu_app::App::new(store);
    let caller = tsunagu_app::auth::cli_caller(&app, login)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let req = ImportRequest {
        file_name: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bytes,
        choices: Vec::new(),
        duplicates_confirmed: confirm_duplicates,
    };
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("確認 [{bar:40}] {pos}/{len} 行 {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let progress = ImportBar(bar);
    let checked = import::check(&app, &caller, &req, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
    progress.0.finish_and_clear();
    let report = if dry_run || !checked.problems.is_empty() {
        checked
    } else {
        import::run(&app, &caller, &req, &progress)
            .await
            .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?
    };
    progress.0.finish_and_clear();
    #[allow(clippy::print_stdout)]
    {
        for p in &report.problems {
            let column = p
                .column
                .as_deref()
                .map(|c| format!("「{c}」"))
                .unwrap_or_default();
            println!("{}行目{column}: {} [{}]", p.row, p.message, p.code);
        }
        for w in &report.warnings {
            println!("{}行目（要確認）: {} [{}]", w.row, w.message, w.code);
        }
        for k in &report.known_persons {
            println!(
                "{}行目（要確認）: 登録済みの方と同じ可能性があります（{}）",
                k.row, k.name
            );
        }
        println!(
            "{}: 行 {}、問題 {}、要確認 {}、取込済み {}、新しい相談者 {}、新しいケース {}",
            if report.imported {
                "取り込みました"
            } else {
                "確認しました（書き込んでいません）"
            },
            report.rows,
            report.problems.len(),
            report.warnings.len() + report.known_persons.len(),
            report.already_imported.len(),
            report.new_persons,
            report.new_cases
        );
    }
    if !report.problems.is_empty() {
        bail!(
            "{}件の問題があるため、取り込みませんでした。",
            report.problems.len()
        );
    }
    if !dry_run && !report.imported {
        bail!("取り込みませんでした。");
    }
    Ok(())
}

async fn audit(action: AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Purge { db, before } => {
            let store = Store::open(&db.url).await?;
            let years = store
                .tenants()
                .await?
                .iter()
                .map(|t| t.settings.audit_retention_years)
                .max()
                .unwrap_or(tsunagu_core::TenantSettings::default().audit_retention_years);
            let now = jiff::Timestamp::now();
            let limit = now
                .to_zoned(jiff::tz::TimeZone::UTC)
                .checked_sub(jiff::Span::new().years(i64::from(years)))?
                .timestamp();
            let before = before.unwrap_or(limit);
            if before > limit {
                bail!("entries must be kept for {years} years: --before may not be after {limit}");
            }
            let n = store
                .audit_purge(before, &tsunagu_store::AuditEntry::new("audit.purged"))
                .await?;
            eprintln!("audit purge: removed {n} entries recorded before {before}");
            Ok(())
        }
        AuditAction::Verify { db } => {
            let store = Store::open(&db.url).await?;
            match store.audit_verify().await? {
                Ok(n) => {
                    eprintln!("audit verify: ok ({n} entries)");
                    Ok(())
                }
                Err(finding) => {
                    eprintln!("audit verify: {finding}");
                    bail!("the audit trail has been tampered with")
                }
            }
        }
        AuditAction::Show {
            db,
            user,
            session,
            person,
            from,
            until,
            limit,
        } => {
            let store = Store::open(&db.url).await?;
            let rows = store
                .audit_query(&tsunagu_store::AuditQuery {
                    tenant: None,
                    user,
                    session,
                    person,
                    from,
                    until,
                    limit,
                })
                .await?;
            #[allow(clippy::print_stdout)]
            for r in rows {
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(())
        }
    }
}

async fn init(
    url: &str,
    tenant: String,
    org: String,
    org_kind: &str,
    admin_login: String,
    admin_name: String,
) -> anyhow::Result<()> {
    let kind = tsunagu_core::OrgKind::parse(org_kind)
        .with_context(|| format!("unknown organisation kind {org_kind}"))?;
    if tenant.trim().is_empty() || org.trim().is_empty() || admin_name.trim().is_empty() {
        bail!("the tenant, organisation and administrator names must not be empty");
    }
    let store = Store::connect(url).await?;
    if store.tenants().await?.iter().any(|t| t.is_demo) {
        bail!("this database holds demo data; set up a real tenant in a new database");
    }
    if store
        .tenants()
        .await?
        .iter()
        .any(|t| t.name == tenant.trim())
    {
        bail!("a tenant with this name already exists");
    }
    if store.user_by_login(&admin_login).await?.is_some() {
        bail!("the login {admin_login} is already taken");
    }
    let password = read_password()?;
    let hash = tsunagu_app::accounts::hash_password(&password).map_err(anyhow::Error::msg)?;
    let tenant_id = tsunagu_core::TenantId(uuid::Uuid::now_v7());
    let org_id = OrgId(uuid::Uuid::now_v7());
    let cli = |action: &str| AuditEntry::new(action).tenant(tenant_id);
    store
        .create_tenant(
            &tsunagu_store::Tenant {
                id: tenant_id,
                name: tenant.trim().to_owned(),
                settings: tsunagu_core::TenantSettings::default(),
                is_demo: false,
            },
            &cli("cli.tenant_created"),
        )
        .await?;
    store
        .create_org(
            &tsunagu_store::Organisation {
                id: org_id,
                tenant_id,
                name: org.trim().to_owned(),
                kind,
            },
            &cli("cli.organisation_created").object("organisation", org_id),
        )
        .await?;
    let admin_id = tsunagu_core::UserId(uuid::Uuid::now_v7());
    store
        .create_user(
            &User {
                id: admin_id,
                tenant_id,
                org_id,
                login: admin_login,
                display_name: admin_name.trim().to_owned(),
                role: Role::Administrator,
                password_hash: Some(hash),
                disabled: false,
                totp_secret: None,
                totp_confirmed: false,
            },
            &cli("cli.user_created").object("user", admin_id),
        )
        .await?;
    #[allow(clippy::print_stdout)]
    {
        println!("tenant {tenant_id}");
        println!("organisation {org_id}");
    }
    eprintln!("tenant set up; log in as the administrator to add organisations and users");
    Ok(())
}

async fn user(action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Add {
            db,
            login,
            name,
            role,
            org,
        } => {
            let store = Store::connect(&db.url).await?;
            let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
            let mut found = None;
            for t in store.tenants().await? {
                if store.orgs(t.id).await?.iter().any(|o| o.id == org) {
                    found = Some(t.id);
                }
            }
            let tenant = found.context("no organisation with that id")?;
            let password = read_password()?;
            let hash =
                tsunagu_app::accounts::hash_password(&password).map_err(anyhow::Error::msg)?;
            let id = tsunagu_core::UserId(uuid::Uuid::now_v7());
            store
                .create_user(
                    &User {
                        id,
                        tenant_id: tenant,
                        org_id: org,
                        login,
                        display_name: name,
                        role,
                        password_hash: Some(hash),
                        disabled: false,
                        totp_secret: None,
                        totp_confirmed: false,
                    },
                    &AuditEntry::new("cli.user_created")
                        .tenant(tenant)
                        .object("user", id),
                )
                .await?;
            eprintln!("user added");
            Ok(())
        }
        UserAction::Passwd { db, login } => {
            let store = Store::connect(&db.url).await?;
            let user = store.user_by_login(&login).await?.context("no such user")?;
            let password = read_password()?;
            let hash =
                tsunagu_app::accounts::hash_password(&password).map_err(anyhow::Error::msg)?;
            store
                .set_password_hash(
                    user.id,
                    &hash,
                    &AuditEntry::new("cli.password_set")
                        .tenant(user.tenant_id)
                        .object("user", user.id),
                )
                .await?;
            eprintln!("password changed");
            Ok(())
        }
        UserAction::Token { db, login, label } => {
            let store = Store::connect(&db.url).await?;
            let user = store.user_by_login(&login).await?.context("no such user")?;
            let (token, hash) = tsunagu_app::auth::new_token("tsu_");
            let id = uuid::Uuid::now_v7();
            let days = store
                .tenant(user.tenant_id)
                .await?
                .context("the user's tenant is missing")?
                .settings
                .token_days;
            let created_at = jiff::Timestamp::now();
            let expires_at =
                created_at.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days)))?;
            store
                .create_api_token(
                    &ApiToken {
                        id,
                        token_hash: hash,
                        user_id: user.id,
                        org_id: user.org_id,
                        role: user.role,
                        label,
                        created_at,
                        expires_at,
                    },
                    &AuditEntry::new("cli.token_created")
                        .tenant(user.tenant_id)
                        .object("token", id),
                )
                .await?;
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            Ok(())
        }
    }
}
