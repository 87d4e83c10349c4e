//! A device's signature on each request it makes to the vault store, beside the account's
//! session: the store accepts a write only from a current member device, and a captured request
//! cannot be replayed for long or sent to another path.

use crate::error::VaultError;
use crate::identity::{verify, DeviceSecret};
use crate::wire::sha256;

const REQUEST_CONTEXT: &[u8] = b"latch-vault/request/v1";
/// How far a request's timestamp may be from the store's clock, in seconds.
pub const MAX_SKEW: i64 = 300;

fn signed_bytes(method: &str, path: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{method}\n{path}\n{timestamp}\n").into_bytes();
    m.extend_from_slice(&sha256(b"latch-vault/request-body/v1", body));
    m
}

/// The signature for `method path` (path with its query) at `timestamp` over `body`.
pub fn sign_request(
    device: &DeviceSecret,
    method: &str,
    path: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<u8> {
    device.sign(
        REQUEST_CONTEXT,
        &signed_bytes(method, path, timestamp, body),
    )
}

/// Checks a request's timestamp against `now`, then its signature by the device whose signing
/// key is `signing`.
pub fn verify_request(
    signing: &[u8; 32],
    method: &str,
    path: &str,
    timestamp: i64,
    now: i64,
    body: &[u8],
    sig: &[u8],
) -> Result<(), VaultError> {
    // `abs_diff`: the timestamp is an untrusted header, and `now - timestamp` could overflow.
    if now.abs_diff(timestamp) > MAX_SKEW.unsigned_abs() {
        return Err(VaultError::StaleRequest {
            skew: now.saturating_sub(timestamp),
        });
    }
    verify(
        signing,
        REQUEST_CONTEXT,
        &signed_bytes(method, path, timestamp, body),
        sig,
        "request",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;

    #[test]
    fn a_request_signature_binds_method_path_time_and_body() {
        let d = DeviceSecret::generate(&mut rng(80)).unwrap();
        let sig = sign_request(&d, "PUT", "/api/v1/vault/items/x", 1000, b"{}");
        let ok =
            |m, p, t, now, b: &[u8]| verify_request(&d.public().signing, m, p, t, now, b, &sig);
        assert_eq!(
            ok("PUT", "/api/v1/vault/items/x", 1000, 1100, b"{}"),
            Ok(())
        );
        let bad = Err(VaultError::BadSignature { what: "request" });
        assert_eq!(ok("POST", "/api/v1/vault/items/x", 1000, 1000, b"{}"), bad);
        assert_eq!(ok("PUT", "/api/v1/vault/items/y", 1000, 1000, b"{}"), bad);
        assert_eq!(ok("PUT", "/api/v1/vault/items/x", 1001, 1000, b"{}"), bad);
        assert_eq!(ok("PUT", "/api/v1/vault/items/x", 1000, 1000, b"[]"), bad);
        assert_eq!(
            ok("PUT", "/api/v1/vault/items/x", 1000, 1400, b"{}"),
            Err(VaultError::StaleRequest { skew: 400 })
        );
        assert!(matches!(
            ok("PUT", "/api/v1/vault/items/x", i64::MIN, 1000, b"{}"),
            Err(VaultError::StaleRequest { .. })
        ));
    }
}
