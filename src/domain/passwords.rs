//! Passwords: argon2id with its default parameters (m = 19 MiB, t = 2, p = 1).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;

use super::DomainError;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 256;

/// Checks a new password against the policy, then hashes it.
pub fn hash_new(password: &str) -> Result<String, DomainError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(DomainError::invalid(
            "password",
            format!("The password must have at least {MIN_LENGTH} characters."),
        ));
    }
    if length > MAX_LENGTH {
        return Err(DomainError::invalid(
            "password",
            format!("The password can have at most {MAX_LENGTH} characters."),
        ));
    }
    hash(password)
}

pub fn hash(password: &str) -> Result<String, DomainError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| DomainError::storage(format!("cannot hash a password: {e}")))
}

/// What a user without a password has instead of a hash (a provisioned user, until an admin
/// resets it): no password matches it.
pub const NONE: &str = "!none";

/// True when `password` matches the stored hash. A malformed hash (or `NONE`) never matches,
/// and takes as long to say so, so the answer doesn't tell who has a password.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => {
            verify_nothing(password);
            false
        }
    }
}

/// Spends the time of one verification, so an unknown email answers as slowly as a known one.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("a password nobody has").unwrap_or_default());
    if let Ok(parsed) = PasswordHash::new(dummy) {
        let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
    }
}

/// A password for a person to read once and type: 16 letters and digits, no look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
