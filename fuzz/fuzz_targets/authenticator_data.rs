//! AuthenticatorData::parse on arbitrary bytes, then what callers do with a parsed one.
#![no_main]

use latch_webauthn::auth_data::{format_aaguid, AuthenticatorData};
use latch_webauthn::cose::CoseKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ad) = AuthenticatorData::parse(data) else {
        return;
    };
    let _ = ad.flags.to_json();
    if let Some(cred) = &ad.attested {
        let _ = format_aaguid(&cred.aaguid);
        let _ = cred.public_key.describe();
        // The stored COSE bytes must parse on their own to the same key (they are what an RP
        // keeps and later hands to verify_authentication).
        assert_eq!(
            CoseKey::from_bytes(&cred.public_key_cose).as_ref(),
            Ok(&cred.public_key)
        );
    }
});
