//! `Authenticator::handle` on arbitrary CTAP2 messages (command byte || CBOR), several per
//! input, on a powered-up authenticator over `TestEnv`.
//!
//! Input: `flags | record*`, a record being `advance | len (u16 BE) | message`. Flags: bit 0 a
//! PIN ("1234") is set beforehand, bit 1 built-in UV, bit 2 a batch attestation, bits 3-4 how
//! the user answers presence and UV requests (approve, deny, time out), bit 5 alwaysUv is on.
//! Before each message the clock advances `advance & 0x7F` × 100 ms; 0x7F power-cycles the
//! authenticator instead (a restart from what is stored), 0x7E fetches a new token for
//! example.com (mc, ga, cm, lbw, acfg), 0x7D one for no RP (cm, lbw, acfg).
//!
//! With a PIN, the harness gets a pinUvAuthToken (the first kind) through
//! the crate's own client, as a platform would, and a record with `advance` bit 7 set has its
//! pinUvAuthParam/pinUvAuthProtocol filled in by the harness before it is sent (makeCredential,
//! getAssertion, credentialManagement, largeBlobs set, authenticatorConfig), so mutations get
//! past the PIN checks into the authenticated paths.
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
use latch_ctap::cbor::int_key;
use latch_ctap::client::{large_blobs, Ctap2, CtapDevice, Error, PinUvAuthToken};
use latch_ctap::env::Presence;
use latch_ctap::hid::MAX_MESSAGE_LEN;
use latch_ctap::pin::Permissions;
use latch_ctap::pin::{pin_hash, PersistedPin, MAX_PIN_RETRIES};
use latch_ctap::store::{CredentialStore, Settings, StoreState, Write};
use latch_ctap::testing::TestEnv;
use latch_ctap::testing::XorShiftRng;
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

/// `LATCH_FUZZ_DEBUG=1` prints each command and its status (to check what seeds reach).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("LATCH_FUZZ_DEBUG").is_some())
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

/// The authenticator as the client sees it, for the harness's own ClientPIN exchange.
struct Direct<'a> {
    auth: &'a mut Authenticator,
    env: &'a mut TestEnv,
}

impl CtapDevice for Direct<'_> {
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.auth.handle(&mut self.env.env(), request))
    }
    fn msg(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, Error> {
        Err(Error::Unsupported("no U2F here".into()))
    }
    fn pause(&mut self, _duration: std::time::Duration) -> Result<(), Error> {
        Ok(())
    }
}

/// A pinUvAuthToken from getPinUvAuthTokenUsingPinWithPermissions: mc, ga, cm, lbw and acfg
/// bound to example.com, or (`rp_bound` false) cm, lbw and acfg for no RP (the authenticator
/// wants an RP ID with mc and ga; RP-wide credential management wants none).
fn get_token(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    rp_bound: bool,
) -> Option<PinUvAuthToken> {
    let mut permissions = Permissions::CREDENTIAL_MANAGEMENT
        .union(Permissions::LARGE_BLOB_WRITE)
        .union(Permissions::AUTHENTICATOR_CONFIG);
    if rp_bound {
        permissions = permissions
            .union(Permissions::MAKE_CREDENTIAL)
            .union(Permissions::GET_ASSERTION);
    }
    let device = Direct { auth, env };
    let mut ctap = Ctap2::with_rng(device, Box::new(XorShiftRng::new(9))).ok()?;
    ctap.get_pin_uv_auth_token("1234", permissions, rp_bound.then_some("example.com"))
        .ok()
}

/// `message` with pinUvAuthParam and pinUvAuthProtocol set from `token`, as a platform would
/// compute them; unchanged if it is not a map-carrying command the harness knows.
fn authenticate(message: &[u8], token: &PinUvAuthToken) -> Vec<u8> {
    let Some((&command, params)) = message.split_first() else {
        return message.to_vec();
    };
    let Ok(mut map) = cbor::decode_map(params) else {
        return message.to_vec();
    };
    let get = |map: &[(Value, Value)], key: i64| cbor::read::get(map, key).cloned();
    let bytes = |v: Option<Value>| v.and_then(|v| v.into_bytes().ok()).unwrap_or_default();
    let encoded = |v: Option<Value>| v.and_then(|v| cbor::encode(&v).ok()).unwrap_or_default();
    let sub = get(&map, 1)
        .and_then(|v| v.as_integer())
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0);
    let (signed, param_key, protocol_key) = match command {
        0x01 => (bytes(get(&map, 1)), 8, 9),
        0x02 => (bytes(get(&map, 2)), 6, 7),
        0x0A | 0x41 => {
            let mut m = vec![sub];
            m.extend(encoded(get(&map, 2)));
            (m, 4, 3)
        }
        0x0C => {
            let offset = get(&map, 3)
                .and_then(|v| v.as_integer())
                .and_then(|i| u32::try_from(i).ok())
                .unwrap_or(0);
            (
                large_blobs::write_message(offset, &bytes(get(&map, 2))),
                5,
                6,
            )
        }
        0x0D => {
            let mut m = vec![0xFF; 32];
            m.extend([0x0D, sub]);
            m.extend(encoded(get(&map, 2)));
            (m, 4, 3)
        }
        _ => return message.to_vec(),
    };
    map.retain(|(k, _)| {
        let k = k.as_integer().and_then(|i| i64::try_from(i).ok());
        k != Some(param_key) && k != Some(protocol_key)
    });
    map.push(int_key(
        param_key,
        Value::Bytes(token.authenticate(&signed)),
    ));
    map.push(int_key(
        protocol_key,
        Value::Integer(token.protocol().wire().into()),
    ));
    let mut out = vec![command];
    out.extend(cbor::encode(&Value::Map(map)).unwrap_or_default());
    out
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
    let mut token = None;
    let has_pin = flags & 1 != 0;
    if has_pin {
        // Later fetches may fail (PIN blocked, forcePINChange); the first one must not.
        token = get_token(&mut auth, &mut env, true);
        assert!(token.is_some(), "the harness could not get a PIN token");
    }

    while !input.is_empty() {
        let advance = input.u8();
        let message = input.chunk();
        match advance & 0x7F {
            0x7F => {
                auth = auth.power_cycle(&mut env.env()).unwrap();
                token = None;
            }
            0x7E if has_pin => token = get_token(&mut auth, &mut env, true),
            0x7D if has_pin => token = get_token(&mut auth, &mut env, false),
            ticks => env.advance(u64::from(ticks) * 100),
        }
        let message = match (&token, advance & 0x80) {
            (Some(token), 0x80) => authenticate(message, token),
            _ => message.to_vec(),
        };
        let response = auth.handle(&mut env.env(), &message);
        let status = check_response(&message, &response);
        if debug() {
            eprintln!("{:02x?} -> status {status:#04x}", message.first());
        }

        let state = env.store.state();
        let round = StoreState::from_bytes(&state.to_bytes());
        assert_eq!(
            round.as_ref(),
            Ok(state),
            "stored state does not round-trip"
        );
    }
});
