//! authenticatorGetAssertion and authenticatorGetNextAssertion: lookup, presence, counter,
//! numberOfCredentials, and every status path with its exact code.

use crate::command::testing::*;

#[test]
fn get_assertion_with_wrapped_allow_list() {
    for alg in [-7, -8] {
        let (mut auth, mut env) = device();
        let made = make(&mut auth, &mut env, Value::Map(mc_params(alg)));
        let params = Value::Map(ga_params(Some(&[&[7; 20], &made.id])));
        let response = call(&mut auth, &mut env, GET_ASSERTION, Some(params)).unwrap();
        let auth_data = assertion_checks(&response, &made.cose, &made.id);
        assert_eq!(auth_data[32], FLAG_UP);
        assert_eq!(auth_data[33..37], [0, 0, 0, 2]);
        assert_eq!(env.store.sign_count(), 2);
        assert!(cbor::read::get(&response, 4).is_none());
        assert!(cbor::read::get(&response, 5).is_none());
    }
}

#[test]
fn get_assertion_no_credentials_after_presence() {
    let (mut auth, mut env) = device();
    let made = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    env.presence.requests.clear();
    // The wrapped ID is bound to its RP.
    let mut params = ga_params(Some(&[&made.id]));
    params[0] = int_key(1, text("other.example"));
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).err(),
        Some(0x2E)
    );
    assert_eq!(env.presence.requests.len(), 1);
    // No discoverable credentials.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(Value::Map(ga_params(None)))
        )
        .err(),
        Some(0x2E)
    );
    assert_eq!(env.store.sign_count(), 1);
}

#[test]
fn get_assertion_errors() {
    let (mut auth, mut env) = device();
    let made = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    for key in [1, 2] {
        let mut params = ga_params(Some(&[&made.id]));
        params.retain(|(k, _)| k != &int(key));
        assert_eq!(
            call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).err(),
            Some(0x14)
        );
    }
    let allow = Some(&[made.id.as_slice()][..]);
    let cases = [
        (with(ga_params(allow), 5, options(&[("rk", true)])), 0x2B),
        (with(ga_params(allow), 5, options(&[("uv", true)])), 0x2C),
        (with(ga_params(allow), 3, text("x")), 0x11),
    ];
    for (params, status) in cases {
        assert_eq!(
            call(&mut auth, &mut env, GET_ASSERTION, Some(params)).err(),
            Some(status)
        );
    }
    env.presence
        .script
        .extend([Presence::Denied, Presence::Timeout]);
    let params = Value::Map(ga_params(allow));
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(params.clone())).err(),
        Some(0x27)
    );
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(params.clone())).err(),
        Some(0x2F)
    );
    // The counter cannot be persisted → no assertion.
    env.store.fail_writes = true;
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(params)).err(),
        Some(0x7F)
    );
    assert_eq!(env.store.sign_count(), 1);
}

#[test]
fn silent_preflight_has_no_up_and_keeps_the_counter() {
    let (mut auth, mut env) = device();
    let made = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    env.presence.requests.clear();
    let params = with(ga_params(Some(&[&made.id])), 5, options(&[("up", false)]));
    let response = call(&mut auth, &mut env, GET_ASSERTION, Some(params)).unwrap();
    let auth_data = assertion_checks(&response, &made.cose, &made.id);
    assert_eq!(auth_data[32], 0);
    assert_eq!(auth_data[33..37], [0, 0, 0, 1]);
    assert!(env.presence.requests.is_empty());
    let batches = env.store.batches;
    // up = false with nothing matching: NO_CREDENTIALS, still silent.
    let params = with(ga_params(Some(&[&[1; 30]])), 5, options(&[("up", false)]));
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(params)).err(),
        Some(0x2E)
    );
    assert!(env.presence.requests.is_empty());
    assert_eq!(env.store.batches, batches);
}

#[test]
fn discoverable_credentials_and_get_next_assertion() {
    let (mut auth, mut env) = device();
    let mut made = Vec::new();
    for user in [b"u1", b"u2"] {
        let mut params = mc_params(-7);
        params[2] = int_key(
            3,
            Value::Map(vec![
                text_key("id", bytes(user)),
                text_key("name", text("n")),
            ]),
        );
        made.push(make(
            &mut auth,
            &mut env,
            with(params, 7, options(&[("rk", true)])),
        ));
        env.advance(1);
    }
    // No state yet.
    assert_eq!(
        call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).err(),
        Some(0x30)
    );
    let first = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    )
    .unwrap();
    // Newest first.
    assertion_checks(&first, &made[1].cose, &made[1].id);
    assert_eq!(get(&first, 5), &int(2));
    // Without UV: only the user ID.
    assert_eq!(
        get(&first, 4),
        &Value::Map(vec![text_key("id", bytes(b"u2"))])
    );
    let second = call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).unwrap();
    let auth_data = assertion_checks(&second, &made[0].cose, &made[0].id);
    assert_eq!(auth_data[33..37], [0, 0, 0, 4]);
    assert!(cbor::read::get(&second, 5).is_none());
    assert_eq!(
        get(&second, 4),
        &Value::Map(vec![text_key("id", bytes(b"u1"))])
    );
    // Exhausted.
    assert_eq!(
        call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).err(),
        Some(0x30)
    );
    // Expired after 30 s.
    call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    )
    .unwrap();
    env.advance(30_001);
    assert_eq!(
        call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).err(),
        Some(0x30)
    );
    // Any other command in between drops the state.
    call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    )
    .unwrap();
    call(&mut auth, &mut env, GET_INFO, None).unwrap();
    assert_eq!(
        call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).err(),
        Some(0x30)
    );
}

#[test]
fn get_assertion_with_pin_token_is_user_verified() {
    let (mut auth, mut env) = device();
    let (protocol, token) = pin_token(&mut auth, &mut env, Permissions::DEFAULT, Some(RP));
    let mut params = mc_params(-7);
    params.push(int_key(7, options(&[("rk", true)])));
    let made = make(&mut auth, &mut env, with_pin(params, 8, protocol, &token));
    // The mc use cleared the token's permissions; get a fresh one for ga.
    let (protocol, token) =
        token_with_pin(&mut auth, &mut env, Permissions::GET_ASSERTION, Some(RP));
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(with_pin(ga_params(None), 6, protocol, &token)),
    )
    .unwrap();
    let auth_data = assertion_checks(&response, &made.cose, &made.id);
    assert_eq!(auth_data[32], FLAG_UP | FLAG_UV);
    let user = get(&response, 4).as_map().unwrap();
    assert_eq!(cbor::read::get_text(user, "name"), Some(&text("alice")));
    assert_eq!(
        cbor::read::get_text(user, "displayName"),
        Some(&text("Alice"))
    );
    // The token is spent by a GetAssertion with user presence.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(with_pin(ga_params(None), 6, protocol, &token))
        )
        .err(),
        Some(0x40)
    );
    // A silent (up = false) GetAssertion does not spend it: UV but no UP.
    let (protocol, token) =
        token_with_pin(&mut auth, &mut env, Permissions::GET_ASSERTION, Some(RP));
    for _ in 0..2 {
        let params = with_pin(ga_params(None), 6, protocol, &token);
        let mut params = params.into_map().unwrap();
        params.push(int_key(5, options(&[("up", false)])));
        let response = call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).unwrap();
        let auth_data = assertion_checks(&response, &made.cose, &made.id);
        assert_eq!(auth_data[32], FLAG_UV);
    }
    // A ga token bound to another RP → UNAUTHORIZED_PERMISSION.
    let (protocol, token) = token_with_pin(
        &mut auth,
        &mut env,
        Permissions::GET_ASSERTION,
        Some("other.example"),
    );
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(with_pin(ga_params(None), 6, protocol, &token))
        )
        .err(),
        Some(0x33)
    );
}

#[test]
fn allow_list_with_a_discoverable_credential() {
    let (mut auth, mut env) = device();
    let resident = make(
        &mut auth,
        &mut env,
        with(mc_params(-8), 7, options(&[("rk", true)])),
    );
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    let params = Value::Map(ga_params(Some(&[&resident.id, &wrapped.id])));
    let response = call(&mut auth, &mut env, GET_ASSERTION, Some(params)).unwrap();
    assertion_checks(&response, &resident.cose, &resident.id);
    // The user handle (ID only, no UV), and no numberOfCredentials with an allowList.
    assert_eq!(
        get(&response, 4),
        &Value::Map(vec![text_key("id", bytes(b"user-1"))])
    );
    assert!(cbor::read::get(&response, 5).is_none());
    assert_eq!(
        call(&mut auth, &mut env, GET_NEXT_ASSERTION, None).err(),
        Some(0x30)
    );
    // Descriptors of another type are skipped.
    let params = with(
        ga_params(None),
        3,
        Value::Array(vec![Value::Map(vec![
            text_key("id", bytes(&wrapped.id)),
            text_key("type", text("other")),
        ])]),
    );
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(params)).err(),
        Some(0x2E)
    );
}

/// With `synced_discoverable`, discoverable credentials are synced passkeys: made and used
/// with BE and BS set and a counter of 0, the stored counter untouched; credentials wrapped
/// into their ID stay device-bound and count. Without it, nothing says backed up.
#[test]
fn synced_passkeys_say_backed_up_and_count_nothing() {
    let be_bs = FLAG_BE | FLAG_BS;
    let (mut auth, mut env) = device_with(Config {
        synced_discoverable: true,
        ..config()
    });
    let passkey = make(
        &mut auth,
        &mut env,
        with(mc_params(-7), 7, options(&[("rk", true)])),
    );
    assert_eq!(passkey.auth_data[32] & be_bs, be_bs);
    assert_eq!(passkey.auth_data[33..37], [0, 0, 0, 0]);
    assert_eq!(env.store.sign_count(), 0);
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    assert_eq!(wrapped.auth_data[32] & be_bs, 0);
    assert_eq!(wrapped.auth_data[33..37], [0, 0, 0, 1]);

    let found = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    )
    .unwrap();
    let auth_data = assertion_checks(&found, &passkey.cose, &passkey.id);
    assert_eq!(auth_data[32] & be_bs, be_bs);
    assert_eq!(auth_data[33..37], [0, 0, 0, 0]);
    let by_id = Value::Map(ga_params(Some(&[&wrapped.id])));
    let counted = call(&mut auth, &mut env, GET_ASSERTION, Some(by_id)).unwrap();
    let auth_data = assertion_checks(&counted, &wrapped.cose, &wrapped.id);
    assert_eq!(auth_data[32] & be_bs, 0);
    assert_eq!(auth_data[33..37], [0, 0, 0, 2]);

    let (mut auth, mut env) = device();
    let bound = make(
        &mut auth,
        &mut env,
        with(mc_params(-7), 7, options(&[("rk", true)])),
    );
    assert_eq!(bound.auth_data[32] & be_bs, 0);
    assert_eq!(bound.auth_data[33..37], [0, 0, 0, 1]);
}
