//! Extensions, built-in user verification, alwaysUv and batch attestation, through
//! MakeCredential / GetAssertion / ClientPIN on the wire.

use aws_lc_rs::hmac;

use crate::command::testing::*;
use crate::command::{BatchAttestation, CLIENT_PIN, FLAG_ED};
use crate::credential::{Alg, PrivateKey};
use crate::env::Presence;
use crate::pin::{CoseEcdhKey, SharedSecret};
use crate::status::StatusCode;
use crate::store::{Settings, Write};

fn ext(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries)
}

fn extension_outputs(auth_data: &[u8], offset: usize) -> Vec<(Value, Value)> {
    assert_ne!(auth_data[32] & FLAG_ED, 0, "ED flag");
    let value: Value = ciborium::from_reader(&auth_data[offset..]).unwrap();
    value.into_map().unwrap()
}

/// Offset of the extensions in a MakeCredential authData (after the COSE key).
fn mc_extensions_offset(made: &Made) -> usize {
    55 + made.id.len() + encode(&Value::Map(made.cose.clone())).unwrap().len()
}

fn make_with(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    extensions: Vec<(Value, Value)>,
    rk: bool,
) -> Result<Vec<(Value, Value)>, u8> {
    let mut params = mc_params(-7);
    params.push(int_key(0x06, ext(extensions)));
    params.push(int_key(0x07, options(&[("rk", rk)])));
    call(auth, env, MAKE_CREDENTIAL, Some(Value::Map(params)))
}

/// The authenticator's key agreement over the wire, and a shared secret with it.
fn agree(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
) -> (Value, SharedSecret) {
    let response = call(
        auth,
        env,
        CLIENT_PIN,
        Some(Value::Map(vec![
            int_key(1, int(i64::from(protocol.wire()))),
            int_key(2, int(2)),
        ])),
    )
    .unwrap();
    let key = get(&response, 1).as_map().unwrap();
    let field = |k| cbor::read::get(key, k).unwrap();
    let authenticator_key = CoseEcdhKey::from_cose(
        cbor::read::int(field(1)).unwrap(),
        cbor::read::int(field(3)).unwrap(),
        cbor::read::int(field(-1)).unwrap(),
        field(-2).as_bytes().unwrap(),
        field(-3).as_bytes().unwrap(),
    )
    .unwrap();
    let (platform, shared) = encapsulate(protocol, &authenticator_key, &mut env.rng).unwrap();
    let (x, y) = platform.cose_fields();
    let cose = Value::Map(vec![
        int_key(1, int(2)),
        int_key(3, int(-25)),
        int_key(-1, int(1)),
        int_key(-2, bytes(&x)),
        int_key(-3, bytes(&y)),
    ]);
    (cose, shared)
}

fn hmac_input(
    cose: Value,
    shared: &SharedSecret,
    env: &mut TestEnv,
    salts: &[u8],
    protocol: PinUvAuthProtocol,
) -> Value {
    let salt_enc = shared.encrypt(&mut env.rng, salts).unwrap();
    let salt_auth = shared.authenticate(&salt_enc);
    Value::Map(vec![
        int_key(1, cose),
        int_key(2, bytes(&salt_enc)),
        int_key(3, bytes(&salt_auth)),
        int_key(4, int(i64::from(protocol.wire()))),
    ])
}

fn expected_hmac(id: &[u8], uv: bool, salt: &[u8]) -> Vec<u8> {
    let cred_random = MasterKey::new([0x4B; 32]).cred_random(id, uv);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &cred_random);
    salt.chunks(32)
        .flat_map(|s| hmac::sign(&key, s).as_ref().to_vec())
        .collect()
}

#[test]
fn hmac_secret_derives_per_uv_state_and_checks_salt_auth() {
    for protocol in [PinUvAuthProtocol::One, PinUvAuthProtocol::Two] {
        let (mut auth, mut env) = device();
        let made = parse_made(
            &make_with(
                &mut auth,
                &mut env,
                vec![text_key("hmac-secret", Value::Bool(true))],
                false,
            )
            .unwrap(),
        );
        let outputs = extension_outputs(&made.auth_data, mc_extensions_offset(&made));
        assert_eq!(outputs, vec![text_key("hmac-secret", Value::Bool(true))]);

        let salts: Vec<u8> = (0..64).collect();
        for salt in [&salts[..32], &salts[..]] {
            let (cose, shared) = agree(&mut auth, &mut env, protocol);
            let input = hmac_input(cose, &shared, &mut env, salt, protocol);
            let mut params = ga_params(Some(&[&made.id]));
            params.push(int_key(0x04, ext(vec![text_key("hmac-secret", input)])));
            let response =
                call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).unwrap();
            let auth_data = get(&response, 2).as_bytes().unwrap().clone();
            let outputs = extension_outputs(&auth_data, 37);
            let encrypted = cbor::read::get_text(&outputs, "hmac-secret")
                .unwrap()
                .as_bytes()
                .unwrap();
            let output = shared.decrypt(encrypted).unwrap();
            assert_eq!(output, expected_hmac(&made.id, false, salt));
            assert_ne!(output, expected_hmac(&made.id, true, salt));
            // The signature covers the extensions.
            let mut signed = auth_data.clone();
            signed.extend(CDH);
            assert!(verify(
                &made.cose,
                &signed,
                get(&response, 3).as_bytes().unwrap()
            ));
        }

        // A wrong saltAuth → PIN_AUTH_INVALID, and the counter does not move.
        let (cose, shared) = agree(&mut auth, &mut env, protocol);
        let mut input = hmac_input(cose, &shared, &mut env, &salts[..32], protocol)
            .into_map()
            .unwrap();
        input[2].1 = bytes(
            &[0u8; 32][..if protocol == PinUvAuthProtocol::One {
                16
            } else {
                32
            }],
        );
        let count = env.store.sign_count();
        let mut params = ga_params(Some(&[&made.id]));
        params.push(int_key(
            0x04,
            ext(vec![text_key("hmac-secret", Value::Map(input))]),
        ));
        assert_eq!(
            call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))),
            Err(StatusCode::PinAuthInvalid.byte())
        );
        assert_eq!(env.store.sign_count(), count);

        // A 16-byte salt → INVALID_LENGTH.
        let (cose, shared) = agree(&mut auth, &mut env, protocol);
        let input = hmac_input(cose, &shared, &mut env, &salts[..16], protocol);
        let mut params = ga_params(Some(&[&made.id]));
        params.push(int_key(0x04, ext(vec![text_key("hmac-secret", input)])));
        assert_eq!(
            call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))),
            Err(StatusCode::InvalidLength.byte())
        );
    }
}

#[test]
fn hmac_secret_with_uv_uses_the_other_secret_and_needs_the_extension_at_creation() {
    let (mut auth, mut env) = device();
    let (protocol, token) = pin_token(
        &mut auth,
        &mut env,
        Permissions::MAKE_CREDENTIAL.union(Permissions::GET_ASSERTION),
        Some(RP),
    );
    let mut params = mc_params(-7);
    params.push(int_key(
        0x06,
        ext(vec![text_key("hmac-secret", Value::Bool(true))]),
    ));
    let made = make(
        &mut auth,
        &mut env,
        with_pin(params, 0x08, protocol, &token),
    );
    let (_, second) = token_with_pin(&mut auth, &mut env, Permissions::MAKE_CREDENTIAL, Some(RP));
    let plain = make(
        &mut auth,
        &mut env,
        with_pin(mc_params(-7), 0x08, protocol, &second),
    );
    let salt = [7u8; 32];
    for (id, expect_output) in [(&made.id, true), (&plain.id, false)] {
        let (_, token) = token_with_pin(&mut auth, &mut env, Permissions::GET_ASSERTION, Some(RP));
        let (cose, shared) = agree(&mut auth, &mut env, PinUvAuthProtocol::Two);
        let input = hmac_input(cose, &shared, &mut env, &salt, PinUvAuthProtocol::Two);
        let mut params = ga_params(Some(&[id]));
        params.push(int_key(0x04, ext(vec![text_key("hmac-secret", input)])));
        let response = call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(with_pin(params, 0x06, PinUvAuthProtocol::Two, &token)),
        )
        .unwrap();
        let auth_data = get(&response, 2).as_bytes().unwrap();
        assert_ne!(auth_data[32] & FLAG_UV, 0);
        if expect_output {
            let outputs = extension_outputs(auth_data, 37);
            let encrypted = cbor::read::get_text(&outputs, "hmac-secret")
                .unwrap()
                .as_bytes()
                .unwrap();
            assert_eq!(
                shared.decrypt(encrypted).unwrap(),
                expected_hmac(id, true, &salt)
            );
        } else {
            assert_eq!(auth_data.len(), 37, "no extension output");
            assert_eq!(auth_data[32] & FLAG_ED, 0);
        }
    }
}

#[test]
fn cred_protect_is_reported_and_enforced() {
    let (mut auth, mut env) = device();
    // Level 3, not discoverable: invisible without UV even when listed.
    let required = parse_made(
        &make_with(
            &mut auth,
            &mut env,
            vec![text_key("credProtect", int(3))],
            false,
        )
        .unwrap(),
    );
    let outputs = extension_outputs(&required.auth_data, mc_extensions_offset(&required));
    assert_eq!(outputs, vec![text_key("credProtect", int(3))]);
    let params = ga_params(Some(&[&required.id]));
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))),
        Err(StatusCode::NoCredentials.byte())
    );
    // ... and not excluded from a new registration without UV (it is invisible).
    let mut params = mc_params(-7);
    params.push(int_key(
        0x05,
        Value::Array(vec![Value::Map(vec![
            text_key("id", bytes(&required.id)),
            text_key("type", text("public-key")),
        ])]),
    ));
    assert!(call(
        &mut auth,
        &mut env,
        MAKE_CREDENTIAL,
        Some(Value::Map(params))
    )
    .is_ok());

    // Level 2, discoverable: found with an allowList, not by discovery without UV.
    let (mut auth, mut env) = device();
    let listed = parse_made(
        &make_with(
            &mut auth,
            &mut env,
            vec![text_key("credProtect", int(2))],
            true,
        )
        .unwrap(),
    );
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(Value::Map(ga_params(None)))
        ),
        Err(StatusCode::NoCredentials.byte())
    );
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(Some(&[&listed.id])))),
    )
    .unwrap();
    assertion_checks(&response, &listed.cose, &listed.id);
    // With UV (a PIN token) both levels are usable, discoverably too.
    let (protocol, token) = pin_token(&mut auth, &mut env, Permissions::GET_ASSERTION, Some(RP));
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(with_pin(ga_params(None), 0x06, protocol, &token)),
    )
    .unwrap();
    assert_eq!(
        cbor::read::get_text(get(&response, 1).as_map().unwrap(), "id"),
        Some(&bytes(&listed.id))
    );
    // An unknown level is ignored: the credential gets the default and no output.
    let (mut auth, mut env) = device();
    let made = parse_made(
        &make_with(
            &mut auth,
            &mut env,
            vec![text_key("credProtect", int(9))],
            false,
        )
        .unwrap(),
    );
    assert_eq!(made.auth_data[32] & FLAG_ED, 0);
}

#[test]
fn cred_blob_is_stored_up_to_32_bytes_and_returned() {
    for (rk, len, stored) in [(true, 32, true), (false, 32, true), (true, 33, false)] {
        let (mut auth, mut env) = device();
        let blob = vec![0xB0; len];
        let made = parse_made(
            &make_with(
                &mut auth,
                &mut env,
                vec![text_key("credBlob", bytes(&blob))],
                rk,
            )
            .unwrap(),
        );
        let outputs = extension_outputs(&made.auth_data, mc_extensions_offset(&made));
        assert_eq!(outputs, vec![text_key("credBlob", Value::Bool(stored))]);
        let mut params = ga_params(Some(&[&made.id]));
        params.push(int_key(
            0x04,
            ext(vec![text_key("credBlob", Value::Bool(true))]),
        ));
        let response = call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).unwrap();
        let outputs = extension_outputs(get(&response, 2).as_bytes().unwrap(), 37);
        let expected = if stored { blob } else { Vec::new() };
        assert_eq!(outputs, vec![text_key("credBlob", bytes(&expected))]);
    }
}

#[test]
fn large_blob_key_only_for_discoverable_credentials() {
    let (mut auth, mut env) = device();
    let response = make_with(
        &mut auth,
        &mut env,
        vec![text_key("largeBlobKey", Value::Bool(true))],
        true,
    )
    .unwrap();
    let made = parse_made(&response);
    let key = get(&response, 5).as_bytes().unwrap().clone();
    assert_eq!(key.len(), 32);
    assert_eq!(key, MasterKey::new([0x4B; 32]).large_blob_key(&made.id));
    // Not an authData extension.
    assert_eq!(made.auth_data[32] & FLAG_ED, 0);
    let mut params = ga_params(None);
    params.push(int_key(
        0x04,
        ext(vec![text_key("largeBlobKey", Value::Bool(true))]),
    ));
    let assertion = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(params.clone())),
    )
    .unwrap();
    assert_eq!(get(&assertion, 7), &bytes(&key));
    // Without the extension, no key.
    let assertion = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    )
    .unwrap();
    assert!(cbor::read::get(&assertion, 7).is_none());
    // false, or a non-discoverable credential → INVALID_OPTION.
    for (value, rk) in [(false, true), (true, false)] {
        assert_eq!(
            make_with(
                &mut auth,
                &mut env,
                vec![text_key("largeBlobKey", Value::Bool(value))],
                rk,
            )
            .map(|_| ()),
            Err(StatusCode::InvalidOption.byte())
        );
    }
    params.retain(|(k, _)| k != &int(0x04));
    params.push(int_key(
        0x04,
        ext(vec![text_key("largeBlobKey", Value::Bool(false))]),
    ));
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))),
        Err(StatusCode::InvalidOption.byte())
    );
}

#[test]
fn min_pin_length_only_for_listed_rp_ids() {
    for (listed, expected) in [(false, None), (true, Some(int(4)))] {
        let (mut auth, mut env) = device();
        if listed {
            env.store
                .apply(&[Write::Settings(Settings {
                    always_uv: false,
                    min_pin_length_rp_ids: vec![RP.to_owned()],
                })])
                .unwrap();
        }
        let made = parse_made(
            &make_with(
                &mut auth,
                &mut env,
                vec![text_key("minPinLength", Value::Bool(true))],
                false,
            )
            .unwrap(),
        );
        match expected {
            Some(length) => {
                let outputs = extension_outputs(&made.auth_data, mc_extensions_offset(&made));
                assert_eq!(outputs, vec![text_key("minPinLength", length)]);
            }
            None => assert_eq!(made.auth_data[32] & FLAG_ED, 0),
        }
    }
}

#[test]
fn unknown_extensions_are_ignored_and_known_ones_type_checked() {
    let (mut auth, mut env) = device();
    let made = parse_made(
        &make_with(
            &mut auth,
            &mut env,
            vec![text_key("future-extension", int(1))],
            false,
        )
        .unwrap(),
    );
    assert_eq!(made.auth_data[32] & FLAG_ED, 0);
    assert_eq!(
        make_with(
            &mut auth,
            &mut env,
            vec![text_key("hmac-secret", int(1))],
            false
        )
        .map(|_| ()),
        Err(StatusCode::CborUnexpectedType.byte())
    );
}

#[test]
fn built_in_uv_verifies_instead_of_a_touch() {
    // Without built-in UV, "uv": true is INVALID_OPTION.
    let (mut auth, mut env) = device();
    let mut params = mc_params(-7);
    params.push(int_key(0x07, options(&[("uv", true)])));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(params.clone()))
        ),
        Err(StatusCode::InvalidOption.byte())
    );

    let (mut auth, mut env) = device_uv();
    // Protected by built-in UV: a registration without UV or a token → PUAT_REQUIRED.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(mc_params(-7)))
        ),
        Err(StatusCode::PuatRequired.byte())
    );
    let made = make(&mut auth, &mut env, Value::Map(params));
    assert_eq!(made.auth_data[32] & (FLAG_UP | FLAG_UV), FLAG_UP | FLAG_UV);
    assert_eq!(
        env.presence.uv_requests,
        vec![(RP.into(), "register".into())]
    );
    assert!(env.presence.requests.is_empty(), "UV collected presence");

    let mut ga = ga_params(Some(&[&made.id]));
    ga.push(int_key(0x05, options(&[("uv", true)])));
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga.clone())),
    )
    .unwrap();
    let auth_data = assertion_checks(&response, &made.cose, &made.id);
    assert_eq!(auth_data[32], FLAG_UP | FLAG_UV);

    // Declined: UV_INVALID and the retries count down to UV_BLOCKED; nothing is signed.
    env.presence.uv_default = Presence::Denied;
    let count = env.store.sign_count();
    for left in (1..8).rev() {
        assert_eq!(
            call(
                &mut auth,
                &mut env,
                GET_ASSERTION,
                Some(Value::Map(ga.clone()))
            ),
            Err(StatusCode::UvInvalid.byte())
        );
        assert_eq!(auth.uv_retries(), left);
    }
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(Value::Map(ga.clone()))
        ),
        Err(StatusCode::UvBlocked.byte())
    );
    env.presence.uv_default = Presence::Approved;
    assert_eq!(
        call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(ga))),
        Err(StatusCode::UvBlocked.byte())
    );
    assert_eq!(env.store.sign_count(), count);
}

#[test]
fn uv_token_and_uv_retries_over_client_pin() {
    let uv_token_request = |cose: Value, permissions: i64| {
        Value::Map(vec![
            int_key(1, int(2)),
            int_key(2, int(6)),
            int_key(3, cose),
            int_key(9, int(permissions)),
            int_key(0x0A, text(RP)),
        ])
    };
    // Without built-in UV both subcommands are unknown.
    let (mut auth, mut env) = device();
    for sub in [6, 7] {
        assert_eq!(
            call(
                &mut auth,
                &mut env,
                CLIENT_PIN,
                Some(Value::Map(vec![int_key(1, int(2)), int_key(2, int(sub))]))
            ),
            Err(StatusCode::InvalidSubcommand.byte())
        );
    }

    let (mut auth, mut env) = device_uv();
    let retries = |auth: &mut Authenticator, env: &mut TestEnv| {
        let response = call(
            auth,
            env,
            CLIENT_PIN,
            Some(Value::Map(vec![int_key(1, int(2)), int_key(2, int(7))])),
        )
        .unwrap();
        get(&response, 5).clone()
    };
    assert_eq!(retries(&mut auth, &mut env), int(8));
    env.presence.uv_script.push_back(Presence::Denied);
    let (cose, _) = agree(&mut auth, &mut env, PinUvAuthProtocol::Two);
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            CLIENT_PIN,
            Some(uv_token_request(cose, 2))
        ),
        Err(StatusCode::UvInvalid.byte())
    );
    assert_eq!(retries(&mut auth, &mut env), int(7));

    let (cose, shared) = agree(&mut auth, &mut env, PinUvAuthProtocol::Two);
    let response = call(
        &mut auth,
        &mut env,
        CLIENT_PIN,
        Some(uv_token_request(cose, 3)),
    )
    .unwrap();
    let token = decrypt_token(&shared, get(&response, 2).as_bytes().unwrap()).unwrap();
    assert_eq!(retries(&mut auth, &mut env), int(8));
    // The token works like a PIN token: UV in the assertion.
    let made = make(
        &mut auth,
        &mut env,
        with_pin(mc_params(-7), 0x08, PinUvAuthProtocol::Two, &token),
    );
    assert_eq!(made.auth_data[32] & FLAG_UV, FLAG_UV);
    // Missing permissions → MISSING_PARAMETER, before asking the user.
    let (cose, _) = agree(&mut auth, &mut env, PinUvAuthProtocol::Two);
    let asked = env.presence.uv_requests.len();
    let mut request = uv_token_request(cose, 2).into_map().unwrap();
    request.retain(|(k, _)| k != &int(9));
    assert_eq!(
        call(&mut auth, &mut env, CLIENT_PIN, Some(Value::Map(request))),
        Err(StatusCode::MissingParameter.byte())
    );
    assert_eq!(env.presence.uv_requests.len(), asked);
    // A permission that is not offered (bio enrollment) → UNAUTHORIZED_PERMISSION, also
    // without a prompt; mc without an RP ID → MISSING_PARAMETER.
    for (permissions, rp_id, status) in [
        (0x08, Some(RP), StatusCode::UnauthorizedPermission),
        (0x01, None, StatusCode::MissingParameter),
    ] {
        let (cose, _) = agree(&mut auth, &mut env, PinUvAuthProtocol::Two);
        let mut request = uv_token_request(cose, permissions).into_map().unwrap();
        if rp_id.is_none() {
            request.retain(|(k, _)| k != &int(0x0A));
        }
        assert_eq!(
            call(&mut auth, &mut env, CLIENT_PIN, Some(Value::Map(request))),
            Err(status.byte())
        );
    }
    assert_eq!(env.presence.uv_requests.len(), asked);
}

#[test]
fn always_uv_demands_verification() {
    let always = |env: &mut TestEnv| {
        env.store
            .apply(&[Write::Settings(Settings {
                always_uv: true,
                min_pin_length_rp_ids: vec![],
            })])
            .unwrap();
    };
    let (mut auth, mut env) = device();
    let made = make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    always(&mut env);
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            MAKE_CREDENTIAL,
            Some(Value::Map(mc_params(-7)))
        ),
        Err(StatusCode::PuatRequired.byte())
    );
    let ga = ga_params(Some(&[&made.id]));
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            GET_ASSERTION,
            Some(Value::Map(ga.clone()))
        ),
        Err(StatusCode::PuatRequired.byte())
    );
    // A silent pre-flight (up = false) still works.
    let mut silent = ga.clone();
    silent.push(int_key(0x05, options(&[("up", false)])));
    let response = call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(silent))).unwrap();
    assert_eq!(get(&response, 2).as_bytes().unwrap()[32], 0);

    // With built-in UV, alwaysUv turns into a verification.
    let (mut auth, mut env) = device_uv();
    always(&mut env);
    let mut params = mc_params(-7);
    params.push(int_key(0x07, options(&[("uv", true)])));
    let made = make(&mut auth, &mut env, Value::Map(params));
    env.presence.uv_requests.clear();
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(Some(&[&made.id])))),
    )
    .unwrap();
    assert_eq!(get(&response, 2).as_bytes().unwrap()[32], FLAG_UP | FLAG_UV);
    assert_eq!(env.presence.uv_requests.len(), 1);
}

#[test]
fn batch_attestation_signs_with_the_batch_key_and_sends_the_chain() {
    let mut rng = crate::testing::XorShiftRng::new(5);
    let batch_key = PrivateKey::generate(Alg::Es256, &mut rng).unwrap();
    let batch_cose = batch_key.cose_public_key().into_map().unwrap();
    let chain = vec![b"leaf certificate".to_vec(), b"issuing CA".to_vec()];
    let (mut auth, mut env) = device_with(Config {
        attestation: Some(BatchAttestation {
            key: batch_key,
            certificates: chain.clone(),
        }),
        ..config()
    });
    let made = make(&mut auth, &mut env, Value::Map(mc_params(-8)));
    assert_eq!(made.fmt, "packed");
    assert_eq!(
        cbor::read::get_text(&made.att_stmt, "alg"),
        Some(&int(-7)),
        "the batch key's algorithm, not the credential's"
    );
    assert_eq!(
        cbor::read::get_text(&made.att_stmt, "x5c"),
        Some(&Value::Array(chain.iter().map(|c| bytes(c)).collect()))
    );
    let mut signed = made.auth_data.clone();
    signed.extend(CDH);
    let sig = cbor::read::get_text(&made.att_stmt, "sig")
        .unwrap()
        .as_bytes()
        .unwrap();
    assert!(verify(&batch_cose, &signed, sig));
    assert!(!verify(&made.cose, &signed, sig));
    assert_eq!(made.auth_data[37..53], AAGUID);
}

/// A synced passkey made on another device brings its CredRandom pair: hmac-secret answers
/// from that pair, not from this authenticator's master secret, so PRF outputs match on every
/// device the passkey reaches.
#[test]
fn hmac_secret_answers_from_a_credential_s_own_cred_random() {
    use crate::store::{CredRandom, CredentialOptions, StoredCredential};
    let protocol = PinUvAuthProtocol::Two;
    let (mut auth, mut env) = device();
    let key = PrivateKey::generate(Alg::Es256, &mut env.rng).unwrap();
    let id = vec![0x5C; 16];
    let pair = CredRandom {
        with_uv: [0x11; 32],
        without_uv: [0x22; 32],
    };
    env.store
        .apply(&[Write::PutCredential(StoredCredential {
            id: id.clone(),
            rp_id: RP.to_owned(),
            rp_id_hash: rp_id_hash(RP),
            user_id: b"u1".to_vec(),
            user_name: None,
            user_display_name: None,
            private_key: key.to_material().unwrap(),
            created_ms: 0,
            options: CredentialOptions {
                hmac_secret: true,
                cred_random: Some(Box::new(pair.clone())),
                ..CredentialOptions::default()
            },
        })])
        .unwrap();
    let salt = [7u8; 32];
    let (cose, shared) = agree(&mut auth, &mut env, protocol);
    let input = hmac_input(cose, &shared, &mut env, &salt, protocol);
    let mut params = ga_params(Some(&[&id]));
    params.push(int_key(0x04, ext(vec![text_key("hmac-secret", input)])));
    let response = call(&mut auth, &mut env, GET_ASSERTION, Some(Value::Map(params))).unwrap();
    let auth_data = get(&response, 2).as_bytes().unwrap().clone();
    let outputs = extension_outputs(&auth_data, 37);
    let encrypted = cbor::read::get_text(&outputs, "hmac-secret")
        .unwrap()
        .as_bytes()
        .unwrap();
    let output = shared.decrypt(encrypted).unwrap();
    let from_pair = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &pair.without_uv), &salt);
    assert_eq!(output, from_pair.as_ref());
    assert_ne!(
        output,
        expected_hmac(&id, false, &salt),
        "not from this key's master secret"
    );
}
