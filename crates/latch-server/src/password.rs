//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes), run off
//! the async workers because it is slow on purpose. At most [`CONCURRENT_HASHES`] run at
//! once: each costs 19 MiB and a core for tens of milliseconds, so a flood of password
//! requests past that is answered 503 with `Retry-After` instead of exhausting memory.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::crypto;
use crate::error::ApiError;

/// Shortest and longest password accepted (NIST SP 800-63B: at least 8; allow long phrases).
pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;

pub fn check_policy(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(ApiError::WeakPassword("must be at least 8 characters"));
    }
    if n > MAX_CHARS {
        return Err(ApiError::WeakPassword("must be at most 256 characters"));
    }
    Ok(())
}

fn hash_now(password: &str, salt: &[u8]) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(salt).map_err(ApiError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// How many Argon2id computations one server runs at once (about 19 MiB each).
pub const CONCURRENT_HASHES: usize = 8;

/// The permits of one server's password hashing.
#[derive(Debug)]
pub struct Hashing(Semaphore);

impl Default for Hashing {
    fn default() -> Self {
        Hashing(Semaphore::new(CONCURRENT_HASHES))
    }
}

/// Runs `work` on the blocking pool while holding one of the hashing permits, or refuses at
/// once when every permit is taken.
async fn with_permit<T: Send + 'static>(
    hashing: &Hashing,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let Ok(_permit) = hashing.0.try_acquire() else {
        return Err(ApiError::Busy { retry_after: 1 });
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

/// The PHC string for a new password.
pub async fn hash(hashing: &Hashing, password: String) -> Result<String, ApiError> {
    let salt = crypto::random_bytes(16)?;
    with_permit(hashing, move || hash_now(&password, &salt)).await
}

/// Does `password` match `phc`? With no hash (unknown user), a dummy hash is checked so the
/// answer takes as long either way.
pub async fn verify(
    hashing: &Hashing,
    password: String,
    phc: Option<String>,
) -> Result<bool, ApiError> {
    let known = phc.is_some();
    let phc = match phc {
        Some(p) => p,
        None => dummy_hash()?,
    };
    let ok = with_permit(hashing, move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .map_err(ApiError::internal)
    })
    .await?;
    Ok(ok && known)
}

fn dummy_hash() -> Result<String, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let password = crypto::random_bytes(16)?;
    let salt = crypto::random_bytes(16)?;
    let h = hash_now(&latch_webauthn::b64::encode(password), &salt)?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashing = Hashing::default();
        let h = hash(&hashing, "correct horse battery".into())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify(&hashing, "correct horse battery".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(&hashing, "correct horse batterx".into(), Some(h))
            .await
            .unwrap());
        assert!(!verify(&hashing, "anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn past_the_permits_a_hash_is_refused_at_once() {
        let hashing = Hashing::default();
        let held: Vec<_> = (0..CONCURRENT_HASHES)
            .map(|_| hashing.0.try_acquire().unwrap())
            .collect();
        let refused = hash(&hashing, "correct horse battery".into()).await;
        assert_eq!(refused.unwrap_err().code(), "busy");
        drop(held);
        assert!(hash(&hashing, "correct horse battery".into()).await.is_ok());
    }

    #[test]
    fn policy_counts_characters() {
        assert_eq!(check_policy("1234567").unwrap_err().code(), "weak_password");
        assert!(check_policy("12345678").is_ok());
        assert!(check_policy(&"é".repeat(256)).is_ok());
        assert_eq!(
            check_policy(&"é".repeat(257)).unwrap_err().code(),
            "weak_password"
        );
    }
}
