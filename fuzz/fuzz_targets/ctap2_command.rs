//! `Authenticator::handle` on arbitrary CTAP2 messages (command byte || CBOR), several per
//! input, on a powered-up authenticator over `TestEnv`.
//!
//! Input: `flags | record*`, a record being `advance | len (u16 BE) | message`. Flags: bit 0 a
//! PIN ("1234") is set beforehand, bit 1 built-in UV, bit 2 a batch attestation, bits 3-4 how
//! the user answers presence and UV requests (approve, deny, time out), bit 5 alwaysUv is on.
//! Before each message the clock advances `advance` × 100 ms; `advance` 0xFF power-cycles
//! the authenticator instead (a restart from what is stored).
//!
//! Invariants: a response is never empty; a non-zero status comes alone (no body); status 0x00
//! is followed by nothing or by exactly one CBOR item that `latch_ctap::cbor::encode`
//! re-encodes to the same bytes, with no map key repeated (canonical CTAP2 CBOR); a response
//! fits one CTAPHID message (7609 bytes); and the stored state survives `to_bytes` /
//! `from_bytes` after every command.
#![no_main]

mod ctap_common;

use ciborium::value::Value;
use ctap_common::{config, Cursor};
use latch_ctap::env::Presence;
use latch_ctap::hid::MAX_MESSAGE_LEN;
use latch_ctap::pin::{pin_hash, PersistedPin, MAX_PIN_RETRIES};
use latch_ctap::store::{CredentialStore, Settings, StoreState, Write};
use latch_ctap::testing::TestEnv;
use latch_ctap::{cbor, Authenticator};
use libfuzzer_sys::fuzz_target;

/// Canonical CBOR also means no map has the same key twice (re-encoding would keep both).
fn assert_unique_keys(value: &Value) {
    match value {
        Value::Map(entries) => {
            for (i, (key, v)) in entries.iter().enumerate() {
                assert!(
                    !entries[..i].iter().any(|(k, _)| k == key),
                    "duplicate map key {key:?}"
                );
                assert_unique_keys(key);
                assert_unique_keys(v);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_unique_keys),
        Value::Tag(_, inner) => assert_unique_keys(inner),
        _ => {}
    }
}

/// Checks one response; returns the status.
fn check_response(request: &[u8], response: &[u8]) -> u8 {
    let (&status, body) = response.split_first().expect("empty response");
    assert!(
        response.len() <= MAX_MESSAGE_LEN,
        "a {}-byte response cannot be framed (request {request:02x?})",
        response.len()
    );
    if status != 0 {
        assert!(
            body.is_empty(),
            "status {status:#04x} with a body {body:02x?}"
        );
        return status;
    }
    if body.is_empty() {
        return status;
    }
    let mut reader = body;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, 64)
        .unwrap_or_else(|e| panic!("response body is not CBOR ({e}): {body:02x?}"));
    assert!(
        reader.is_empty(),
        "{} bytes after the CBOR response",
        reader.len()
    );
    assert_unique_keys(&value);
    let canonical = cbor::encode(&value).expect("response value not encodable");
    assert_eq!(
        canonical, body,
        "response is not canonical CTAP2 CBOR (request {request:02x?})"
    );
    status
}

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor::new(data);
    let flags = input.u8();
    let mut env = TestEnv::new(7);
    let answer = match flags >> 3 & 3 {
        1 => Presence::Denied,
        2 => Presence::Timeout,
        _ => Presence::Approved,
    };
    env.presence.default = answer;
    env.presence.uv_default = answer;
    let mut setup = Vec::new();
    if flags & 1 != 0 {
        setup.push(Write::Pin(PersistedPin {
            pin_hash: Some(pin_hash(b"1234")),
            retries: MAX_PIN_RETRIES,
            pin_code_points: 4,
            min_pin_length: 4,
            force_change: false,
        }));
    }
    if flags & 0x20 != 0 {
        setup.push(Write::Settings(Settings {
            always_uv: true,
            min_pin_length_rp_ids: vec!["example.com".into()],
        }));
    }
    if !setup.is_empty() {
        env.store.apply(&setup).unwrap();
    }
    let make_config = || config(flags & 4 != 0, flags & 2 != 0);
    let mut auth = Authenticator::power_up(make_config(), &mut env.env()).unwrap();
    assert_eq!(auth.pin().is_set(), flags & 1 != 0);

    while !input.is_empty() {
        let advance = input.u8();
        let message = input.chunk();
        if advance == 0xFF {
            auth = auth.power_cycle(&mut env.env()).unwrap();
        } else {
            env.advance(u64::from(advance) * 100);
        }
        let response = auth.handle(&mut env.env(), message);
        check_response(message, &response);

        let state = env.store.state();
        let round = StoreState::from_bytes(&state.to_bytes());
        assert_eq!(
            round.as_ref(),
            Ok(state),
            "stored state does not round-trip"
        );
    }
});
