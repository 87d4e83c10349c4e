//! CoseKey::from_bytes on arbitrary bytes; then, with the bytes after the key as the
//! signature, verification of a fixed message under the key's own and other algorithms.
#![no_main]

use latch_webauthn::cose::{alg, verify_with, CoseKey};
use libfuzzer_sys::fuzz_target;

const MSG: &[u8] = b"latch fuzz: authenticatorData || SHA-256(clientDataJSON)";

fuzz_target!(|data: &[u8]| {
    let whole = CoseKey::from_bytes(data);
    let Ok((key, used)) = CoseKey::parse_prefix(data) else {
        assert!(whole.is_err());
        return;
    };
    let sig = data.get(used..).unwrap_or_default();
    if sig.is_empty() {
        assert_eq!(whole.as_ref(), Ok(&key));
    } else {
        assert!(whole.is_err());
    }
    let _ = key.describe();
    let _ = key.verify(MSG, sig, false);
    let _ = key.verify(MSG, sig, true);
    for a in [
        alg::ES256,
        alg::ES384,
        alg::ES512,
        alg::EDDSA,
        alg::RS256,
        alg::PS256,
        alg::RS1,
        alg::ML_DSA_44,
    ] {
        let _ = verify_with(&key.key, a, MSG, sig, true);
    }
});
