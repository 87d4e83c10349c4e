//! Randomness, token hashing and keyed derivations, all through aws-lc-rs.

use aws_lc_rs::{digest, hmac, rand};
use latch_webauthn::b64;

use crate::error::ApiError;

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = vec![0u8; n];
    rand::fill(&mut out).map_err(|_| ApiError::internal("the system RNG failed"))?;
    Ok(out)
}

/// A new bearer token (cookie value) and the hash the database keeps of it.
pub fn new_token() -> Result<(String, Vec<u8>), ApiError> {
    let raw = random_bytes(32)?;
    let token = b64::encode(&raw);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What the database stores for a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    self::digest(token.as_bytes())
}

/// SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

/// HMAC-SHA-256 of `parts` (each length-prefixed, so part boundaries cannot shift).
pub fn derive(key: &hmac::Key, parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = hmac::Context::with_key(key);
    for part in parts {
        let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
        ctx.update(&len.to_be_bytes());
        ctx.update(part);
    }
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// A fresh P-256 public key as a COSE_Key, whose private key is dropped at once: nothing can
/// sign for it (see [`crate::state::Inner::decoy_key`]).
pub fn decoy_public_key() -> Result<Vec<u8>, ApiError> {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(ApiError::internal)?;
    latch_webauthn::cose::CoseKey::es256_bytes(pair.public_key().as_ref())
        .map_err(ApiError::internal)
}
