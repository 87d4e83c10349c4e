//! CollectedClientData::parse on arbitrary bytes, then the checks that read its members.
#![no_main]

use latch_webauthn::client_data::CollectedClientData;
use latch_webauthn::origin::OriginPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = CollectedClientData::parse(data) else {
        return;
    };
    let _ = c.check_token_binding();
    let _ = latch_webauthn::b64::decode(&c.challenge);
    let policy = OriginPolicy {
        exact: vec!["https://example.org".into(), "http://localhost:8080".into()],
        subdomains_of: vec!["example.org".into()],
        any_port: true,
    };
    let _ = policy.allows(&c.origin);
    if let Some(top) = &c.top_origin {
        let _ = policy.allows(top);
    }
});
