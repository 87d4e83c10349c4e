//! authenticatorConfig: toggleAlwaysUv, setMinPINLength, enableEnterpriseAttestation, and
//! every status path.

use super::{
    ENABLE_ENTERPRISE_ATTESTATION, MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH, SET_MIN_PIN_LENGTH,
    TOGGLE_ALWAYS_UV,
};
use crate::command::testing::*;
use crate::command::CONFIG;
use crate::store::{Settings, Write};

const ACFG: Permissions = Permissions::AUTHENTICATOR_CONFIG;

type Token = (PinUvAuthProtocol, [u8; 32]);

/// A request; with a token, pinUvAuthParam over
/// 32×0xff || 0x0d || subCommand || CBOR(subCommandParams).
fn request(sub: u64, params: Option<Value>, token: Option<&Token>) -> Value {
    let mut map = vec![int_key(1, int(i64::try_from(sub).unwrap()))];
    let mut message = vec![0xff; 32];
    message.extend([0x0d, u8::try_from(sub).unwrap()]);
    if let Some(params) = params {
        message.extend(encode(&params).unwrap());
        map.push(int_key(2, params));
    }
    if let Some((protocol, key)) = token {
        map.push(int_key(3, int(i64::from(protocol.wire()))));
        map.push(int_key(4, auth_param(*protocol, key, &message)));
    }
    Value::Map(map)
}

fn config(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    sub: u64,
    params: Option<Value>,
    token: Option<&Token>,
) -> Result<(), u8> {
    call_empty(auth, env, CONFIG, Some(request(sub, params, token)))
}

fn min_pin(length: Option<i64>, rp_ids: Option<&[&str]>, force: Option<bool>) -> Option<Value> {
    let mut map = Vec::new();
    if let Some(length) = length {
        map.push(int_key(1, int(length)));
    }
    if let Some(rp_ids) = rp_ids {
        map.push(int_key(
            2,
            Value::Array(rp_ids.iter().map(|id| text(id)).collect()),
        ));
    }
    if let Some(force) = force {
        map.push(int_key(3, Value::Bool(force)));
    }
    Some(Value::Map(map))
}

fn always_uv(env: &TestEnv) -> bool {
    env.store.state().settings.always_uv
}

#[test]
fn toggle_always_uv_without_a_pin() {
    let (mut auth, mut env) = device();
    assert_eq!(
        config(&mut auth, &mut env, TOGGLE_ALWAYS_UV, None, None),
        Ok(())
    );
    assert!(always_uv(&env));
    // alwaysUv protects the other subcommands, but can be turned off again.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            SET_MIN_PIN_LENGTH,
            min_pin(Some(6), None, None),
            None
        ),
        Err(0x36)
    );
    assert_eq!(
        config(&mut auth, &mut env, TOGGLE_ALWAYS_UV, None, None),
        Ok(())
    );
    assert!(!always_uv(&env));
    // The other settings are kept.
    env.store
        .apply(&[Write::Settings(Settings {
            always_uv: false,
            min_pin_length_rp_ids: vec![RP.to_owned()],
        })])
        .unwrap();
    assert_eq!(
        config(&mut auth, &mut env, TOGGLE_ALWAYS_UV, None, None),
        Ok(())
    );
    assert_eq!(
        env.store.state().settings,
        Settings {
            always_uv: true,
            min_pin_length_rp_ids: vec![RP.to_owned()],
        }
    );
    // A failed write changes nothing.
    env.store.fail_writes = true;
    assert_eq!(
        config(&mut auth, &mut env, TOGGLE_ALWAYS_UV, None, None),
        Err(0x7F)
    );
    assert!(always_uv(&env));
}

#[test]
fn with_a_pin_every_subcommand_needs_an_acfg_token() {
    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, ACFG, None);
    let toggle = |token: Option<&Token>| request(TOGGLE_ALWAYS_UV, None, token);
    let send = |auth: &mut Authenticator, env: &mut TestEnv, params: Value| {
        call_empty(auth, env, CONFIG, Some(params))
    };
    // No pinUvAuthParam → PUAT_REQUIRED.
    assert_eq!(send(&mut auth, &mut env, toggle(None)), Err(0x36));
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            SET_MIN_PIN_LENGTH,
            min_pin(Some(6), None, None),
            None
        ),
        Err(0x36)
    );
    // No protocol → MISSING_PARAMETER; protocol 3 → INVALID_PARAMETER.
    let Value::Map(mut params) = toggle(Some(&token)) else {
        unreachable!()
    };
    params.retain(|(k, _)| k != &int(3));
    assert_eq!(
        send(&mut auth, &mut env, Value::Map(params.clone())),
        Err(0x14)
    );
    params.push(int_key(3, int(3)));
    assert_eq!(send(&mut auth, &mut env, Value::Map(params)), Err(0x02));
    // A param over other params → PIN_AUTH_INVALID.
    let Value::Map(mut params) = request(
        SET_MIN_PIN_LENGTH,
        min_pin(Some(6), None, None),
        Some(&token),
    ) else {
        unreachable!()
    };
    params.retain(|(k, _)| k != &int(2));
    params.push(int_key(2, min_pin(Some(8), None, None).unwrap()));
    assert_eq!(send(&mut auth, &mut env, Value::Map(params)), Err(0x33));
    assert_eq!(auth.pin().min_pin_length(), 4);
    // A token without acfg → UNAUTHORIZED_PERMISSION.
    let cm = token_with_pin(
        &mut auth,
        &mut env,
        Permissions::CREDENTIAL_MANAGEMENT,
        None,
    );
    assert_eq!(send(&mut auth, &mut env, toggle(Some(&cm))), Err(0x40));
    assert!(!always_uv(&env));
    // With it.
    let token = token_with_pin(&mut auth, &mut env, ACFG, None);
    assert_eq!(send(&mut auth, &mut env, toggle(Some(&token))), Ok(()));
    assert!(always_uv(&env));
    assert_eq!(send(&mut auth, &mut env, toggle(Some(&token))), Ok(()));
    assert!(!always_uv(&env));
    // Expired 30 s after minting → PIN_AUTH_INVALID.
    env.advance(30_000);
    assert_eq!(send(&mut auth, &mut env, toggle(Some(&token))), Err(0x33));
}

#[test]
fn subcommand_errors() {
    let (mut auth, mut env) = device();
    // enableEnterpriseAttestation: not enterprise attestation capable.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            ENABLE_ENTERPRISE_ATTESTATION,
            None,
            None
        ),
        Err(0x02)
    );
    // Unknown subcommands, also with a PIN and no token.
    for sub in [0x00, 0x04, 0xFF] {
        assert_eq!(config(&mut auth, &mut env, sub, None, None), Err(0x3E));
    }
    pin_token(&mut auth, &mut env, ACFG, None);
    assert_eq!(config(&mut auth, &mut env, 0x04, None, None), Err(0x3E));
    // Request shape.
    assert_eq!(
        call_empty(&mut auth, &mut env, CONFIG, Some(Value::Map(vec![]))),
        Err(0x14)
    );
    assert_eq!(call_empty(&mut auth, &mut env, CONFIG, None), Err(0x14));
    assert_eq!(
        call_empty(
            &mut auth,
            &mut env,
            CONFIG,
            Some(Value::Map(vec![int_key(1, text("x"))]))
        ),
        Err(0x11)
    );
    let token = token_with_pin(&mut auth, &mut env, ACFG, None);
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            ENABLE_ENTERPRISE_ATTESTATION,
            None,
            Some(&token)
        ),
        Err(0x02)
    );
}

#[test]
fn set_min_pin_length_without_a_pin() {
    let (mut auth, mut env) = device();
    let set = SET_MIN_PIN_LENGTH;
    assert_eq!(
        config(&mut auth, &mut env, set, min_pin(Some(6), None, None), None),
        Ok(())
    );
    assert_eq!(auth.pin().min_pin_length(), 6);
    assert_eq!(env.store.pin().unwrap().min_pin_length, 6);
    assert!(!auth.pin().force_change());
    // Only up: lower → PIN_POLICY_VIOLATION; the same is fine; absent keeps it.
    assert_eq!(
        config(&mut auth, &mut env, set, min_pin(Some(5), None, None), None),
        Err(0x37)
    );
    assert_eq!(
        config(&mut auth, &mut env, set, min_pin(Some(6), None, None), None),
        Ok(())
    );
    assert_eq!(
        config(&mut auth, &mut env, set, min_pin(None, None, None), None),
        Ok(())
    );
    assert_eq!(config(&mut auth, &mut env, set, None, None), Ok(()));
    assert_eq!(auth.pin().min_pin_length(), 6);
    // A minimum no PIN can meet.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(64), None, None),
            None
        ),
        Err(0x37)
    );
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(300), None, None),
            None
        ),
        Err(0x37)
    );
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(63), None, None),
            None
        ),
        Ok(())
    );
    // forceChangePin without a PIN → PIN_NOT_SET.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(None, None, Some(true)),
            None
        ),
        Err(0x35)
    );
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(None, None, Some(false)),
            None
        ),
        Ok(())
    );
    // Wrong types.
    let bad = Some(Value::Map(vec![int_key(1, text("8"))]));
    assert_eq!(config(&mut auth, &mut env, set, bad, None), Err(0x11));
    let bad = Some(Value::Map(vec![int_key(2, Value::Array(vec![int(1)]))]));
    assert_eq!(config(&mut auth, &mut env, set, bad, None), Err(0x11));
    let bad = Some(Value::Map(vec![int_key(3, int(1))]));
    assert_eq!(config(&mut auth, &mut env, set, bad, None), Err(0x11));
}

#[test]
fn set_min_pin_length_rp_ids() {
    let (mut auth, mut env) = device();
    let set = SET_MIN_PIN_LENGTH;
    let ids: Vec<String> = (0..=MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH)
        .map(|i| format!("rp{i}.example"))
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    // One too many → KEY_STORE_FULL, nothing stored (not even the new minimum).
    let too_many = min_pin(Some(6), Some(&ids), None);
    assert_eq!(config(&mut auth, &mut env, set, too_many, None), Err(0x28));
    assert_eq!(auth.pin().min_pin_length(), 4);
    assert!(env.store.state().settings.min_pin_length_rp_ids.is_empty());
    // maxRPIDsForSetMinPINLength exactly: stored with the minimum, in one batch.
    let batches = env.store.batches;
    let fits = &ids[..MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH];
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(6), Some(fits), None),
            None
        ),
        Ok(())
    );
    assert_eq!(env.store.batches, batches + 1);
    assert_eq!(env.store.state().settings.min_pin_length_rp_ids, fits);
    assert_eq!(env.store.pin().unwrap().min_pin_length, 6);
    // A new list replaces the old one; no list keeps it; alwaysUv is untouched.
    assert_eq!(
        config(&mut auth, &mut env, set, min_pin(None, None, None), None),
        Ok(())
    );
    assert_eq!(env.store.state().settings.min_pin_length_rp_ids, fits);
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(None, Some(&[RP]), None),
            None
        ),
        Ok(())
    );
    assert_eq!(
        env.store.state().settings,
        Settings {
            always_uv: false,
            min_pin_length_rp_ids: vec![RP.to_owned()],
        }
    );
    // A failed write changes nothing, in memory either.
    env.store.fail_writes = true;
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(8), Some(&[]), None),
            None
        ),
        Err(0x7F)
    );
    env.store.fail_writes = false;
    assert_eq!(auth.pin().min_pin_length(), 6);
    assert_eq!(
        env.store.state().settings.min_pin_length_rp_ids,
        vec![RP.to_owned()]
    );
}

#[test]
fn set_min_pin_length_with_a_pin_forces_a_change_when_needed() {
    // PIN "1234": 4 code points.
    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, ACFG, None);
    let set = SET_MIN_PIN_LENGTH;
    // The PIN still meets 4: no forced change.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(4), None, None),
            Some(&token)
        ),
        Ok(())
    );
    assert!(!auth.pin().force_change());
    // Asked for explicitly.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(None, None, Some(true)),
            Some(&token)
        ),
        Ok(())
    );
    assert!(auth.pin().force_change());
    assert!(env.store.pin().unwrap().force_change);

    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, ACFG, None);
    // A minimum above the current PIN's length forces a change.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(5), None, None),
            Some(&token)
        ),
        Ok(())
    );
    assert_eq!(auth.pin().min_pin_length(), 5);
    assert!(auth.pin().force_change());
    let stored = env.store.pin().unwrap();
    assert_eq!((stored.min_pin_length, stored.force_change), (5, true));
    // Lowering is still refused.
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(Some(4), None, None),
            Some(&token)
        ),
        Err(0x37)
    );
}

#[test]
fn empty_params_verify_with_or_without_their_encoding() {
    let (mut auth, mut env) = device();
    let (protocol, key) = pin_token(&mut auth, &mut env, ACFG, None);
    let set = SET_MIN_PIN_LENGTH;
    // As the spec reads: the MAC covers the empty map (0xa0).
    let token = (protocol, key);
    assert_eq!(
        config(
            &mut auth,
            &mut env,
            set,
            min_pin(None, None, None),
            Some(&token)
        ),
        Ok(())
    );
    // As python-fido2 sends `set_min_pin_length()`: {} on the wire, not in the MAC.
    let mut message = vec![0xff; 32];
    message.extend([0x0d, 0x03]);
    let params = Value::Map(vec![
        int_key(1, int(3)),
        int_key(2, Value::Map(vec![])),
        int_key(3, int(2)),
        int_key(4, auth_param(protocol, &key, &message)),
    ]);
    assert_eq!(
        call_empty(&mut auth, &mut env, CONFIG, Some(params)),
        Ok(())
    );
    // Non-empty params are never left out of the MAC.
    let params = Value::Map(vec![
        int_key(1, int(3)),
        int_key(2, min_pin(Some(6), None, None).unwrap()),
        int_key(3, int(2)),
        int_key(4, auth_param(protocol, &key, &message)),
    ]);
    assert_eq!(
        call_empty(&mut auth, &mut env, CONFIG, Some(params)),
        Err(0x33)
    );
    assert_eq!(auth.pin().min_pin_length(), 4);
}
