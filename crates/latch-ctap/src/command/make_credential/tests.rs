//! authenticatorMakeCredential: every status path with its exact code, and the attestation.

use crate::command::testing::*;

#[test]
fn make_credential_packed_self_attestation_both_algs() {
    for alg in [-7, -8] {
        let (mut auth, mut env) = device();
        let made = make(&mut auth, &mut env, Value::Map(mc_params(alg)));
        assert_eq!(made.fmt, "packed");
        assert_eq!(made.auth_data[..32], rp_id_hash(RP));
        assert_eq!(made.auth_data[32], FLAG_UP | FLAG_AT);
        assert_eq!(made.auth_data[33..37], [0, 0, 0, 1]);
        assert_eq!(made.auth_data[37..53], AAGUID);
        assert!(made.id.len() <= MAX_CREDENTIAL_ID_LEN);
        assert_eq!(cbor::read::int(get(&made.cose, 3)), Ok(alg));
        assert_eq!(cbor::read::get_text(&made.att_stmt, "alg"), Some(&int(alg)));
        let sig = cbor::read::get_text(&made.att_stmt, "sig")
            .unwrap()
            .as_bytes()
            .unwrap();
        let mut signed = made.auth_data.clone();
        signed.extend(CDH);
        assert!(verify(&made.cose, &signed, sig));
        assert_eq!(
            env.presence.requests,
            vec![(RP.to_owned(), "register".to_owned())]
        );
        // Non-discoverable: nothing stored but the counter.
        assert_eq!(env.store.count(), 0);
        assert_eq!(env.store.sign_count(), 1);
    }
}

#[test]
fn make_credential_first_supported_alg_and_unknown_things_ignored() {
    let (mut auth, mut env) = device();
    let mut params = mc_params(-7);
    params.retain(|(k, _)| k != &int(4));
    params.push(int_key(
        4,
        Value::Array(vec![
            Value::Map(vec![
                text_key("alg", int(-257)),
                text_key("type", text("public-key")),
            ]),
            Value::Map(vec![
                text_key("alg", int(-8)),
                text_key("type", text("public-key")),
            ]),
            Value::Map(vec![
                text_key("alg", int(-7)),
                text_key("type", text("public-key")),
            ]),
        ]),
    ));
    params.push(int_key(
        6,
        Value::Map(vec![text_key("unknownExt", Value::Bool(true))]),
    ));
    params.push(int_key(
        7,
        options(&[("someFutureOption", true), ("up", true)]),
    ));
    let made = make(&mut auth, &mut env, Value::Map(params));
    assert_eq!(cbor::read::int(get(&made.cose, 3)), Ok(-8));
}

#[test]
fn make_credential_none_attestation_when_preferred() {
    let (mut auth, mut env) = device();
    let params = with(
        mc_params(-7),
        0x0B,
        Value::Array(vec![text("none"), text("packed")]),
    );
    let made = make(&mut auth, &mut env, params);
    assert_eq!(made.fmt, "none");
    assert!(made.att_stmt.is_empty());
}

#[test]
fn make_credential_parameter_errors() {
    let (mut auth, mut env) = device();
    for key in 1..=4 {
        let mut params = mc_params(-7);
        params.retain(|(k, _)| k != &int(key));
        assert_eq!(
            call(
                &mut auth,
                &mut env,
                MAKE_CREDENTIAL,
                Some(Value::Map(params))
            )
            .err(),
            Some(0x14),
            "without {key}"
        );
    }
    let wrong_type = with(mc_params(-7), 1, text("not bytes"));
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(wrong_type)).err(),
        Some(0x11)
    );
    let rp_without_id = with(
        mc_params(-7),
        2,
        Value::Map(vec![text_key("name", text("x"))]),
    );
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(rp_without_id)).err(),
        Some(0x14)
    );
    let cases = [
        (with(mc_params(-257), 0x0A, int(1)), 0x26),
        (with(mc_params(-7), 7, options(&[("up", false)])), 0x2C),
        (with(mc_params(-7), 7, options(&[("uv", true)])), 0x2C),
        (with(mc_params(-7), 0x0A, int(1)), 0x02),
        (
            with(mc_params(-7), 7, Value::Map(vec![text_key("rk", int(1))])),
            0x11,
        ),
        // pinUvAuthParam without pinUvAuthProtocol.
        (with(mc_params(-7), 8, bytes(&[1; 32])), 0x14),
    ];
    for (params, status) in cases {
        assert_eq!(
            call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(params)).err(),
            Some(status)
        );
    }
    // An unsupported protocol.
    let mut params = mc_params(-7);
    params.push(int_key(8, bytes(&[1; 32])));
    params.push(int_key(9, int(3)));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(params))
        )
        .err(),
        Some(0x02)
    );
    // No presence was asked for any of them.
    assert!(env.presence.requests.is_empty());
}

#[test]
fn make_credential_presence_denied_and_timeout() {
    let (mut auth, mut env) = device();
    env.presence
        .script
        .extend([Presence::Denied, Presence::Timeout]);
    let params = Value::Map(mc_params(-7));
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(params.clone())).err(),
        Some(0x27)
    );
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(params)).err(),
        Some(0x2F)
    );
    assert_eq!(env.store.batches, 0);
}

#[test]
fn zero_length_pin_uv_auth_param_probe() {
    let (mut auth, mut env) = device();
    let probe = |params: Vec<(Value, Value)>, key| with(params, key, bytes(&[]));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(probe(mc_params(-7), 8))
        )
        .err(),
        Some(0x35)
    );
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(probe(ga_params(None), 6))
        )
        .err(),
        Some(0x35)
    );
    env.presence.script.push_back(Presence::Denied);
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(probe(mc_params(-7), 8))
        )
        .err(),
        Some(0x27)
    );
    pin_token(&mut auth, &mut env, Permissions::DEFAULT, Some(RP));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(probe(mc_params(-7), 8))
        )
        .err(),
        Some(0x31)
    );
    assert_eq!(env.presence.requests.len(), 4);
}

#[test]
fn make_credential_with_pin() {
    let (mut auth, mut env) = device();
    let (protocol, token) = pin_token(&mut auth, &mut env, Permissions::DEFAULT, Some(RP));
    // PIN set, no pinUvAuthParam → PUAT_REQUIRED.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(mc_params(-7)))
        )
        .err(),
        Some(0x36)
    );
    // A wrong param → PIN_AUTH_INVALID.
    let mut wrong = mc_params(-7);
    wrong.push(int_key(8, bytes(&[0; 32])));
    wrong.push(int_key(9, int(2)));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(wrong))
        )
        .err(),
        Some(0x33)
    );
    // Another RP → PIN_AUTH_INVALID.
    let mut other_rp = mc_params(-7);
    other_rp[1] = int_key(2, Value::Map(vec![text_key("id", text("other.example"))]));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(with_pin(other_rp, 8, protocol, &token))
        )
        .err(),
        Some(0x33)
    );
    // "uv": true is fine with a pinUvAuthParam; the result is user verified.
    let mut params = mc_params(-7);
    params.push(int_key(7, options(&[("uv", true)])));
    let made = make(&mut auth, &mut env, with_pin(params, 8, protocol, &token));
    assert_eq!(made.auth_data[32], FLAG_UP | FLAG_UV | FLAG_AT);
    // The token's mc permission is used up.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(with_pin(mc_params(-7), 8, protocol, &token))
        )
        .err(),
        Some(0x40)
    );
}

#[test]
fn make_credential_token_without_mc_permission() {
    let (mut auth, mut env) = device();
    let (protocol, token) = pin_token(&mut auth, &mut env, Permissions::GET_ASSERTION, Some(RP));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(with_pin(mc_params(-7), 8, protocol, &token))
        )
        .err(),
        Some(0x40)
    );
    // Expired after 30 s → PIN_AUTH_INVALID.
    env.advance(30_000);
    let (protocol, token) = (protocol, token);
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(with_pin(mc_params(-7), 8, protocol, &token))
        )
        .err(),
        Some(0x33)
    );
}

#[test]
fn exclude_list_match_after_presence() {
    let (mut auth, mut env) = device();
    let wrapped = make(&mut auth, &mut env, Value::Map(mc_params(-7))).id;
    let resident = make(
        &mut auth,
        &mut env,
        with(mc_params(-8), 7, options(&[("rk", true)])),
    )
    .id;
    for id in [&wrapped, &resident] {
        let exclude = Value::Array(vec![Value::Map(vec![
            text_key("id", bytes(id)),
            text_key("type", text("public-key")),
        ])]);
        env.presence.requests.clear();
        assert_eq!(
            call(
                &mut auth,
                &mut env,
                MAKE_CREDENTIAL,
                Some(with(mc_params(-7), 5, exclude))
            )
            .err(),
            Some(0x19)
        );
        assert_eq!(
            env.presence.requests,
            vec![(RP.to_owned(), "excluded".to_owned())]
        );
    }
    // An unknown ID does not exclude.
    let exclude = Value::Array(vec![Value::Map(vec![
        text_key("id", bytes(&[9; 40])),
        text_key("type", text("public-key")),
    ])]);
    make(&mut auth, &mut env, with(mc_params(-7), 5, exclude));
}

#[test]
fn resident_store_full_and_write_failure() {
    let (mut auth, mut env) = device();
    env.store = crate::store::MemoryStore::new(1);
    let rk = |user: &[u8]| {
        let mut params = mc_params(-7);
        params[2] = int_key(3, Value::Map(vec![text_key("id", bytes(user))]));
        with(params, 7, options(&[("rk", true)]))
    };
    make(&mut auth, &mut env, rk(b"a"));
    // The same user replaces its credential; a new user does not fit.
    make(&mut auth, &mut env, rk(b"a"));
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(rk(b"b"))).err(),
        Some(0x28)
    );
    // A storage failure is not a full store: CTAP2_ERR_OTHER.
    env.store.fail_writes = true;
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(rk(b"a"))).err(),
        Some(0x7F)
    );
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(mc_params(-7)))
        )
        .err(),
        Some(0x7F)
    );
    assert_eq!(env.store.sign_count(), 2);
}

#[test]
fn pub_key_cred_params_entries() {
    let (mut auth, mut env) = device();
    let entry = |entries: Vec<(Value, Value)>| {
        with(mc_params(-7), 4, Value::Array(vec![Value::Map(entries)]))
    };
    let cases = [
        // An entry without "alg" or "type" → MISSING_PARAMETER.
        (entry(vec![text_key("type", text("public-key"))]), 0x14),
        (entry(vec![text_key("alg", int(-7))]), 0x14),
        // A supported alg of another type is skipped → UNSUPPORTED_ALGORITHM.
        (
            entry(vec![
                text_key("alg", int(-7)),
                text_key("type", text("other")),
            ]),
            0x26,
        ),
        // An empty list → UNSUPPORTED_ALGORITHM.
        (with(mc_params(-7), 4, Value::Array(vec![])), 0x26),
        // Not an array / an entry not a map → CBOR_UNEXPECTED_TYPE.
        (with(mc_params(-7), 4, int(-7)), 0x11),
        (with(mc_params(-7), 4, Value::Array(vec![int(-7)])), 0x11),
    ];
    for (params, status) in cases {
        assert_eq!(
            call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(params)).err(),
            Some(status)
        );
    }
}

#[test]
fn make_credential_with_pin_protocol_one() {
    let (mut auth, mut env) = device();
    let (_, token) = pin_token(&mut auth, &mut env, Permissions::DEFAULT, Some(RP));
    // The token was issued under protocol two: a protocol-one param is PIN_AUTH_INVALID.
    let params = with_pin(mc_params(-7), 8, PinUvAuthProtocol::One, &token);
    assert_eq!(
        call(&mut auth, &mut env, MAKE_CREDENTIAL, Some(params)).err(),
        Some(0x33)
    );
}
