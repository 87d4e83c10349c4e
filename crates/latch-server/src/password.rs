//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes), run off
//! the async workers because it is slow on purpose.

use std::sync::OnceLock;

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

/// The PHC string for a new password.
pub async fn hash(password: String) -> Result<String, ApiError> {
    let salt = crypto::random_bytes(16)?;
    tokio::task::spawn_blocking(move || hash_now(&password, &salt))
        .await
        .map_err(ApiError::internal)?
}

/// Does `password` match `phc`? With no hash (unknown user), a dummy hash is checked so the
/// answer takes as long either way.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    let known = phc.is_some();
    let phc = match phc {
        Some(p) => p,
        None => dummy_hash()?,
    };
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
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
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("correct horse batterx".into(), Some(h))
            .await
            .unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
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
