//! `tsunagu backup`, `restore` and `copy`. A backup is a SQLite database file of Tsunagu's own
//! tables: `VACUUM INTO` of a SQLite source, a one-snapshot copy of a PostgreSQL source. It
//! counts only after it was checked: the file is opened as a database and passes the engine's
//! integrity check, `verify` (projections and every stream's hash chain) and the audit chain.
//! With a passphrase it is encrypted with age (scrypt passphrase recipient).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tsunagu_store::Store;

const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn read_passphrase(file: &Path) -> anyhow::Result<age::secrecy::SecretString> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the passphrase file {}", file.display()))?;
    let pass = text.trim_end_matches(['\n', '\r']).to_owned();
    if pass.chars().count() < 12 {
        bail!("the passphrase must have at least 12 characters");
    }
    Ok(age::secrecy::SecretString::from(pass))
}

/// A scratch file beside `near` that is removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn beside(near: &Path, what: &str) -> Scratch {
        let dir = near
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Scratch(dir.join(format!(
            ".tsunagu-{what}-{}.db",
            uuid::Uuid::now_v7().simple()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} [{{bar:40}}] {{pos}}/{{len}} rows ({{eta}})"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Copies `source` into the empty `target` with a progress bar; returns the snapshot's counts.
async fn transfer(
    source: &Store,
    target: &Store,
    what: &str,
) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let total: u64 = source.table_counts().await?.iter().map(|(_, n)| n).sum();
    let bar = bar(total, what);
    let moved = source
        .copy_into(target, |_, n| bar.inc(n))
        .await
        .context("copying the tables")?;
    bar.finish_and_clear();
    Ok(moved.counts)
}

/// Verifies a database as a backup must be: integrity, projections and hash chains, audit chain,
/// and (when given) the row counts of the snapshot it was made from.
async fn check(store: &Store, expected: Option<&[(&'static str, u64)]>) -> anyhow::Result<()> {
    let findings = store.verify().await?;
    if !findings.is_empty() {
        for f in &findings {
            eprintln!("verify: {f}");
        }
        bail!(
            "the copy failed verification ({} finding(s))",
            findings.len()
        );
    }
    match store.audit_verify().await? {
        Ok(n) => eprintln!("audit chain: ok ({n} entries)"),
        Err(e) => bail!("the copy's audit chain is broken: {e}"),
    }
    let counts = store.table_counts().await?;
    if let Some(expected) = expected {
        for (table, n) in expected {
            let got = counts
                .iter()
                .find(|(t, _)| t == table)
                .map_or(0, |(_, n)| *n);
            if got != *n {
                bail!("{table}: the snapshot had {n} rows, the copy has {got}");
            }
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    eprintln!("rows: {}", summary.join(", "));
    Ok(())
}

pub async fn backup(url: &str, output: &Path, passphrase: Option<&Path>) -> anyhow::Result<()> {
    if output.exists() {
        bail!("{} exists already; choose a new file", output.display());
    }
    let pass = passphrase.map(read_passphrase).transpose()?;
    let source = Store::open(url).await?;
    let scratch = Scratch::beside(output, "backup");
    let expected = match source.backend_name() {
        "sqlite" => {
            eprintln!("backup: consistent snapshot of the SQLite database (VACUUM INTO)…");
            source.sqlite_snapshot(&scratch.0).await?;
            None
        }
        _ => {
            let target = Store::connect(&sqlite_url(&scratch.0)).await?;
            let counts = transfer(&source, &target, "backup").await?;
            target.close().await;
            Some(counts)
        }
    };
    source.close().await;
    // A backup counts only once it has been read back and checked.
    let copy = Store::open(&sqlite_url(&scratch.0)).await?;
    check(&copy, expected.as_deref()).await?;
    copy.close().await;
    let partial = output.with_extension("partial");
    match pass {
        Some(pass) => {
            let mut plain = Vec::new();
            std::fs::File::open(&scratch.0)?.read_to_end(&mut plain)?;
            let encryptor = age::Encryptor::with_user_passphrase(pass);
            let file = std::fs::File::create(&partial)?;
            let mut writer = encryptor.wrap_output(file)?;
            writer.write_all(&plain)?;
            writer.finish()?.sync_all()?;
        }
        None => {
            std::fs::copy(&scratch.0, &partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
        }
    }
    std::fs::rename(&partial, output)?;
    eprintln!(
        "backup: ok, verified and written to {}{}",
        output.display(),
        if passphrase.is_some() {
            " (encrypted)"
        } else {
            ""
        }
    );
    Ok(())
}

pub async fn restore(
    input: &Path,
    url: &str,
    passphrase: Option<&Path>,
    overwrite: bool,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    std::fs::File::open(input)
        .with_context(|| format!("cannot open {}", input.display()))?
        .read_to_end(&mut bytes)?;
    let scratch = Scratch::beside(input, "restore");
    if bytes.starts_with(AGE_MAGIC) {
        let Some(file) = passphrase else {
            bail!("the backup is encrypted: give --passphrase-file");
        };
        let pass = read_passphrase(file)?;
        let decryptor = age::Decryptor::new(&bytes[..])?;
        let identity = age::scrypt::Identity::new(pass);
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| anyhow::anyhow!("cannot decrypt the backup: {e}"))?;
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain)?;
        std::fs::write(&scratch.0, plain)?;
    } else {
        std::fs::write(&scratch.0, &bytes)?;
    }
    let backup = Store::open(&sqlite_url(&scratch.0)).await?;
    check(&backup, None).await.context("the backup itself")?;
    if overwrite && let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    } else if overwrite {
        bail!("--overwrite replaces SQLite files only; restore into an empty PostgreSQL database");
    }
    let target = Store::connect(url).await?;
    if !target.is_empty().await? {
        bail!(
            "the target database is not empty; restore into an empty database (or, for a SQLite file, pass --overwrite)"
        );
    }
    let counts = transfer(&backup, &target, "restore").await?;
    check(&target, Some(&counts)).await?;
    same_timelines(&backup, &target).await?;
    backup.close().await;
    target.close().await;
    eprintln!("restore: ok");
    Ok(())
}

pub async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    let source = Store::connect(from).await?;
    let target = Store::connect(to).await?;
    if !target.is_empty().await? {
        bail!("the target database is not empty; copy into an empty database");
    }
    let counts = transfer(&source, &target, "copy").await?;
    check(&target, Some(&counts)).await?;
    same_timelines(&source, &target).await?;
    eprintln!(
        "copy: ok ({} → {})",
        source.backend_name(),
        target.backend_name()
    );
    Ok(())
}

/// Every stream has the same version and head hash on both sides: since each event's hash
/// covers its content and the one before, equal heads are equal timelines.
async fn same_timelines(a: &Store, b: &Store) -> anyhow::Result<()> {
    let (x, y) = (a.stream_heads().await?, b.stream_heads().await?);
    if x != y {
        let differing =
            x.iter().zip(&y).filter(|(p, q)| p != q).count() + x.len().abs_diff(y.len());
        bail!("{differing} stream(s) differ between the two databases");
    }
    eprintln!("timelines: {} streams identical", x.len());
    Ok(())
}
