//! authenticatorReset: the 10 s window, presence, what is forgotten, and failed writes.

use crate::command::testing::*;
use crate::command::{CLIENT_PIN, RESET};
use crate::store::{Settings, Write};

fn config() -> Config {
    Config {
        aaguid: AAGUID,
        firmware_version: 3,
        attestation: None,
        built_in_uv: false,
        synced_discoverable: false,
    }
}

/// An authenticator powered up at clock time 100 s, from an already used store.
fn powered() -> (Authenticator, TestEnv) {
    let mut env = TestEnv::new(7);
    env.advance(100_000);
    let auth = Authenticator::power_up(config(), &mut env.env()).unwrap();
    (auth, env)
}

fn rk_params() -> Value {
    with(mc_params(-7), 7, options(&[("rk", true)]))
}

fn assert_with_allow_list(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    id: &[u8],
) -> Result<(), u8> {
    let params = Value::Map(ga_params(Some(&[id])));
    call(auth, env, GET_ASSERTION, Some(params)).map(|_| ())
}

#[test]
fn reset_forgets_credentials_pin_blobs_and_settings() {
    let (mut auth, mut env) = powered();
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7))).id;
    make(&mut auth, &mut env, rk_params());
    env.store
        .apply(&[
            Write::LargeBlobs(vec![0x81, 0x01].into_iter().chain([0; 16]).collect()),
            Write::Settings(Settings {
                always_uv: true,
                min_pin_length_rp_ids: vec![RP.to_owned()],
            }),
        ])
        .unwrap();
    pin_token(
        &mut auth,
        &mut env,
        Permissions::CREDENTIAL_MANAGEMENT,
        None,
    );
    assert!(auth.pin().is_set());
    let old_secret = env.store.state().master_secret;
    let sign_count = env.store.sign_count();
    let batches = env.store.batches;
    env.presence.requests.clear();

    env.advance(10_000);
    assert_eq!(auth.handle(&mut env.env(), &[RESET]), vec![0x00]);
    assert_eq!(
        env.presence.requests,
        vec![(String::new(), "reset".to_owned())]
    );
    // One batch.
    assert_eq!(env.store.batches, batches + 1);
    let state = env.store.state();
    assert!(state.credentials.is_empty());
    assert_eq!(state.pin, None);
    assert_eq!(state.large_blobs, crate::store::INITIAL_LARGE_BLOB_ARRAY);
    assert_eq!(state.settings, Settings::default());
    assert_eq!(state.sign_count, sign_count);
    assert!(state.master_secret.is_some());
    assert_ne!(state.master_secret, old_secret);
    // The PIN is gone in memory too, with its token.
    assert!(!auth.pin().is_set());
    assert!(auth.pin().token().is_none());
    assert_eq!(auth.pin().retries(), 8);
    // The wrapped credential died with the old master secret.
    assert_eq!(
        assert_with_allow_list(&mut auth, &mut env, &wrapped),
        Err(0x2E)
    );
    // The new master secret is the one in use, and survives a power cycle.
    let fresh = make(&mut auth, &mut env, Value::Map(mc_params(-7))).id;
    let mut auth = auth.power_cycle(&mut env.env()).unwrap();
    assert_eq!(assert_with_allow_list(&mut auth, &mut env, &fresh), Ok(()));
}

#[test]
fn reset_only_within_ten_seconds_of_power_up() {
    let (mut auth, mut env) = powered();
    env.advance(10_001);
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Err(0x30));
    // Refused before asking the user.
    assert!(env.presence.requests.is_empty());
    // A power cycle opens a new window.
    let mut auth = auth.power_cycle(&mut env.env()).unwrap();
    env.advance(9_999);
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Ok(()));
}

#[test]
fn reset_needs_presence() {
    let (mut auth, mut env) = powered();
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7))).id;
    let before = env.store.state().clone();
    env.presence
        .script
        .extend([Presence::Denied, Presence::Timeout]);
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Err(0x27));
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Err(0x2F));
    assert_eq!(env.store.state(), &before);
    assert_eq!(
        assert_with_allow_list(&mut auth, &mut env, &wrapped),
        Ok(())
    );
}

#[test]
fn failed_reset_write_changes_nothing() {
    let (mut auth, mut env) = powered();
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7))).id;
    make(&mut auth, &mut env, rk_params());
    pin_token(
        &mut auth,
        &mut env,
        Permissions::CREDENTIAL_MANAGEMENT,
        None,
    );
    let before = env.store.state().clone();
    env.store.fail_writes = true;
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Err(0x7F));
    env.store.fail_writes = false;
    assert_eq!(env.store.state(), &before);
    // Same master key, same PIN and token in memory.
    assert!(auth.pin().is_set());
    assert!(auth.pin().token().is_some());
    let params = Value::Map(vec![int_key(0x02, int(0x01))]);
    // getPINRetries still answers 8 (the PIN state was not replaced by a fresh one).
    let retries = call(&mut auth, &mut env, CLIENT_PIN, Some(params)).unwrap();
    assert_eq!(get(&retries, 3), &int(8));
    assert_eq!(
        assert_with_allow_list(&mut auth, &mut env, &wrapped),
        Ok(())
    );
}

#[test]
fn reset_of_a_new_authenticator_counts_from_clock_zero() {
    let (mut auth, mut env) = device();
    env.advance(10_000);
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Ok(()));
    env.advance(1);
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Err(0x30));
}

#[test]
fn reset_ends_a_large_blob_write_and_an_enumeration() {
    use crate::command::{CREDENTIAL_MANAGEMENT, LARGE_BLOBS};
    let (mut auth, mut env) = device();
    make(&mut auth, &mut env, rk_params());
    // A write of 100 bytes, half done.
    let first = Value::Map(vec![
        int_key(2, bytes(&[0; 50])),
        int_key(3, int(0)),
        int_key(4, int(100)),
    ]);
    assert_eq!(
        call_empty(&mut auth, &mut env, LARGE_BLOBS, Some(first)),
        Ok(())
    );
    assert_eq!(call_empty(&mut auth, &mut env, RESET, None), Ok(()));
    let second = Value::Map(vec![int_key(2, bytes(&[0; 50])), int_key(3, int(50))]);
    assert_eq!(
        call_empty(&mut auth, &mut env, LARGE_BLOBS, Some(second)),
        Err(0x04)
    );
    // No enumeration survives either (nor anything to enumerate).
    let next = Value::Map(vec![int_key(1, int(0x05))]);
    assert_eq!(
        call(&mut auth, &mut env, CREDENTIAL_MANAGEMENT, Some(next)).err(),
        Some(0x30)
    );
    assert_eq!(env.store.count(), 0);
}
