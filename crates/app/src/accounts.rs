//! Account rules shared by every surface: the password policy (the API, the pages and the CLI
//! refuse the same passwords) and the password hash.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::{Error, Result};

pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a password a user is about to set.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password.too_short",
            format!("パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。"),
        ));
    }
    // NIST SP 800-63B: no composition rules, but refuse what attackers try first. zxcvbn
    // knows the 30,000 most common leaked passwords, keyboard walks, repeats, sequences and
    // dates (with l33t and reversed variants); score 0–1 means guessable in under 10^6 tries.
    let estimate = zxcvbn::zxcvbn(password, &[]);
    if u8::from(estimate.score()) <= 1 {
        return Err(Error::invalid(
            "password.too_common",
            "このパスワードはよく使われていて推測されやすいため使えません。長めの文やフレーズにしてください。",
        ));
    }
    Ok(())
}

/// An argon2id hash of the password with a fresh salt.
pub fn hash_password(password: &str) -> std::result::Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_passwords_are_refused_and_a_phrase_is_not() {
        assert_eq!(
            check_new_password("abc").map_err(|e| e.code),
            Err("password.too_short".to_owned())
        );
        assert_eq!(
            check_new_password("password1").map_err(|e| e.code),
            Err("password.too_common".to_owned())
        );
        assert!(check_new_password("つなぐ支援の長い合言葉2026").is_ok());
    }
}
