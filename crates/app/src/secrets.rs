//! Secrets at rest: TOTP secrets are sealed with ChaCha20-Poly1305 under a key kept outside the
//! database (a key file, or `TSUNAGU_SECRET_KEY`). The ring holds the current key first and
//! older ones after it, so a rotation (`tsunagu key rotate`) can re-seal every secret while
//! the old key still opens what is not yet re-sealed. A stored secret reads
//! `v1:<key id>:<nonce>:<ciphertext>` (hex); the key id is the start of the key's SHA-256.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A key ring; `Debug` never prints a key.
#[derive(Clone)]
pub struct Secrets {
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Secrets({ids:?})")
    }
}

fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(key)[..4])
}

/// A new random key, as the hex line a key file holds.
pub fn new_key_hex() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    hex::encode(key)
}

impl Secrets {
    /// A ring from hex keys, current first (lines of a key file, or comma-separated).
    pub fn from_hex(text: &str) -> Result<Secrets, String> {
        let mut keys = Vec::new();
        for part in text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.starts_with('#'))
        {
            let bytes = hex::decode(part).map_err(|_| "a key is not hexadecimal".to_owned())?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| "a key must be 32 bytes (64 hexadecimal digits)".to_owned())?;
            keys.push((key_id(&key), key));
        }
        if keys.is_empty() {
            return Err("no key found".into());
        }
        Ok(Secrets { keys })
    }

    /// A ring with one random key that lives as long as the process (tests, in-process use).
    pub fn ephemeral() -> Secrets {
        Secrets::from_hex(&new_key_hex()).unwrap_or(Secrets { keys: Vec::new() })
    }

    /// Seals with the current key.
    pub fn seal(&self, plain: &str) -> Result<String, String> {
        let (id, key) = self.keys.first().ok_or("no key")?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| "sealing failed".to_owned())?;
        Ok(format!(
            "v1:{id}:{}:{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// Opens a sealed secret with whichever key of the ring sealed it. Text stored before
    /// sealing existed is returned as it is (and re-sealed by the next rotation).
    pub fn open(&self, stored: &str) -> Option<String> {
        let Some(rest) = stored.strip_prefix("v1:") else {
            return Some(stored.to_owned());
        };
        let mut parts = rest.splitn(3, ':');
        let (id, nonce, sealed) = (parts.next()?, parts.next()?, parts.next()?);
        let (_, key) = self.keys.iter().find(|(k, _)| k == id)?;
        let nonce = hex::decode(nonce).ok().filter(|n| n.len() == 12)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                hex::decode(sealed).ok()?.as_slice(),
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }

    /// Whether a stored value is sealed with the current key (rotation skips those).
    pub fn is_current(&self, stored: &str) -> bool {
        self.keys
            .first()
            .is_some_and(|(id, _)| stored.starts_with(&format!("v1:{id}:")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_only_and_survive_rotation() {
        let (a, b) = (new_key_hex(), new_key_hex());
        let old = Secrets::from_hex(&a).unwrap();
        let sealed = old.seal("JBSWY3DPEHPK3PXP").unwrap();
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(old.open(&sealed).as_deref(), Some("JBSWY3DPEHPK3PXP"));
        // Another key cannot open it; a ring with the new key first and the old one after can.
        assert_eq!(Secrets::from_hex(&b).unwrap().open(&sealed), None);
        let ring = Secrets::from_hex(&format!("{b}\n{a}")).unwrap();
        assert_eq!(ring.open(&sealed).as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert!(!ring.is_current(&sealed));
        let resealed = ring.seal(&ring.open(&sealed).unwrap()).unwrap();
        assert!(ring.is_current(&resealed));
        assert_eq!(
            Secrets::from_hex(&b).unwrap().open(&resealed).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        // Tampering is detected.
        let mut bad = resealed.clone();
        bad.pop();
        bad.push(if resealed.ends_with('0') { '1' } else { '0' });
        assert_eq!(ring.open(&bad), None);
        assert!(format!("{ring:?}").starts_with("Secrets(["));
        assert!(!format!("{ring:?}").contains(&a));
    }
}
