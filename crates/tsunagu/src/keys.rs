//! The key file that seals TOTP secrets at rest, kept outside the database: by default
//! `secret.key` beside a SQLite database (or in `tsunagu-data/` for PostgreSQL), or the path in
//! `TSUNAGU_KEY_FILE`; `TSUNAGU_SECRET_KEY` (hex, comma-separated, current first) overrides it.
//! A backup of the database does not contain it: keep it (and its backups) apart.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tsunagu_app::secrets::{Secrets, new_key_hex};
use tsunagu_store::{AuditEntry, Store};

#[derive(clap::Args, Clone)]
pub struct KeyArg {
    /// The key file (created with a new key when missing).
    #[arg(long = "key-file", env = "TSUNAGU_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

impl KeyArg {
    pub fn path(&self, url: &str) -> PathBuf {
        if let Some(p) = &self.key_file {
            return p.clone();
        }
        let dir = url
            .strip_prefix("sqlite://")
            .map(Path::new)
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("tsunagu-data"), Path::to_path_buf);
        dir.join("secret.key")
    }

    /// The key ring: from `TSUNAGU_SECRET_KEY`, or the key file (created when missing).
    pub fn load(&self, url: &str) -> anyhow::Result<Secrets> {
        if let Ok(hex) = std::env::var("TSUNAGU_SECRET_KEY")
            && !hex.trim().is_empty()
        {
            return Secrets::from_hex(&hex).map_err(|e| anyhow::anyhow!("TSUNAGU_SECRET_KEY: {e}"));
        }
        let path = self.path(url);
        if !path.exists() {
            write_key_file(&path, &format!("{}\n", new_key_hex()))?;
            eprintln!(
                "created a new key file {} (keep it safe and apart from database backups)",
                path.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Secrets::from_hex(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

fn write_key_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("partial");
    {
        use std::io::Write;
        #[cfg(unix)]
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&partial)?
        };
        #[cfg(not(unix))]
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// Puts a new key first in the key file, re-seals every TOTP secret with it and keeps the old
/// keys after it (remove them once no backup that needs them is kept).
pub async fn rotate(store: &Store, arg: &KeyArg, url: &str) -> anyhow::Result<()> {
    if std::env::var("TSUNAGU_SECRET_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        bail!(
            "the keys come from TSUNAGU_SECRET_KEY: put a new key first there and run rotate with a key file instead"
        );
    }
    let path = arg.path(url);
    let old = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text = format!("{}\n{}", new_key_hex(), old.trim_start());
    let ring = Secrets::from_hex(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut resealed = 0;
    for tenant in store.tenants().await? {
        for user in store.users(tenant.id).await? {
            let Some(stored) = user.totp_secret.as_deref() else {
                continue;
            };
            if ring.is_current(stored) {
                continue;
            }
            let plain = ring.open(stored).with_context(|| {
                format!("user {}: the secret opens with none of the keys", user.id)
            })?;
            let sealed = ring.seal(&plain).map_err(|e| anyhow::anyhow!("{e}"))?;
            store
                .set_totp(
                    user.id,
                    Some(&sealed),
                    user.totp_confirmed,
                    &AuditEntry::new("cli.key_rotated")
                        .tenant(tenant.id)
                        .object("user", user.id),
                )
                .await?;
            resealed += 1;
        }
    }
    write_key_file(&path, &text)?;
    eprintln!(
        "key rotated: {resealed} secret(s) re-sealed; the old key stays in {} until you remove it",
        path.display()
    );
    Ok(())
}
