//! authenticatorClientPIN through `Authenticator::handle`, with the platform side from
//! `pin::platform` and `pin::encapsulate`.

use super::{CHANGE_PIN, GET_KEY_AGREEMENT, GET_PIN_RETRIES, GET_PIN_TOKEN, SET_PIN};
use crate::command::testing::*;
use crate::command::CLIENT_PIN;
use crate::pin::platform::change_pin_params;
use crate::pin::{CoseEcdhKey, SharedSecret};

const WITH_PERMISSIONS: u64 = super::GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS;
const PROTOCOLS: [PinUvAuthProtocol; 2] = [PinUvAuthProtocol::One, PinUvAuthProtocol::Two];
const MC: u64 = 0x01;

fn config() -> Config {
    Config {
        aaguid: AAGUID,
        firmware_version: 3,
        attestation: None,
        built_in_uv: false,
        synced_discoverable: false,
    }
}

fn powered(seed: u64) -> (Authenticator, TestEnv) {
    let mut env = TestEnv::new(seed);
    let auth = Authenticator::power_up(config(), &mut env.env()).unwrap();
    (auth, env)
}

fn cycle(auth: Authenticator, env: &mut TestEnv) -> Authenticator {
    auth.power_cycle(&mut env.env()).unwrap()
}

/// Sends a ClientPIN request; returns the whole response (status byte first).
fn send(auth: &mut Authenticator, env: &mut TestEnv, params: Vec<(Value, Value)>) -> Vec<u8> {
    let mut message = vec![CLIENT_PIN];
    message.extend(encode(&Value::Map(params)).unwrap());
    auth.handle(&mut env.env(), &message)
}

fn status(response: &[u8]) -> u8 {
    response[0]
}

fn base(protocol: PinUvAuthProtocol, sub_command: u64) -> Vec<(Value, Value)> {
    vec![
        int_key(0x01, int(i64::from(protocol.wire()))),
        int_key(0x02, int(i64::try_from(sub_command).unwrap())),
    ]
}

fn cose(key: &CoseEcdhKey) -> Value {
    Value::Map(vec![
        int_key(1, int(2)),
        int_key(3, int(-25)),
        int_key(-1, int(1)),
        int_key(-2, bytes(key.x())),
        int_key(-3, bytes(key.y())),
    ])
}

/// getKeyAgreement, then the platform's encapsulate.
fn agree(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
) -> (CoseEcdhKey, SharedSecret) {
    let response = call(
        auth,
        env,
        CLIENT_PIN,
        Some(Value::Map(base(protocol, GET_KEY_AGREEMENT))),
    )
    .unwrap();
    assert_eq!(response.len(), 1);
    let key = get(&response, 1).as_map().unwrap();
    assert_eq!(key.len(), 5);
    assert_eq!(get(key, 1), &int(2));
    assert_eq!(get(key, 3), &int(-25));
    assert_eq!(get(key, -1), &int(1));
    let authenticator_key = CoseEcdhKey::from_cose(
        2,
        -25,
        1,
        get(key, -2).as_bytes().unwrap(),
        get(key, -3).as_bytes().unwrap(),
    )
    .unwrap();
    encapsulate(protocol, &authenticator_key, &mut env.rng).unwrap()
}

fn set_pin(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
    pin: &str,
) -> u8 {
    let (platform_key, shared) = agree(auth, env, protocol);
    let params = set_pin_params(&shared, &mut env.rng, pin).unwrap();
    let mut request = base(protocol, SET_PIN);
    request.push(int_key(0x03, cose(&platform_key)));
    request.push(int_key(0x04, bytes(&params.pin_uv_auth_param)));
    request.push(int_key(0x05, bytes(&params.new_pin_enc)));
    let response = send(auth, env, request);
    if status(&response) == 0 {
        assert_eq!(response, vec![0x00]);
    }
    status(&response)
}

fn change_pin(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
    current: &str,
    new: &str,
) -> u8 {
    let (platform_key, shared) = agree(auth, env, protocol);
    let params = change_pin_params(&shared, &mut env.rng, current, new).unwrap();
    let mut request = base(protocol, CHANGE_PIN);
    request.push(int_key(0x03, cose(&platform_key)));
    request.push(int_key(0x04, bytes(&params.pin_uv_auth_param)));
    request.push(int_key(0x05, bytes(&params.new_pin_enc)));
    request.push(int_key(0x06, bytes(&params.pin_hash_enc)));
    status(&send(auth, env, request))
}

/// getPinUvAuthTokenUsingPinWithPermissions (mc on RP) with `pin`.
fn token(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
    pin: &str,
) -> Result<[u8; 32], u8> {
    let (platform_key, shared) = agree(auth, env, protocol);
    let enc = pin_hash_enc(&shared, &mut env.rng, pin).unwrap();
    let mut request = base(protocol, WITH_PERMISSIONS);
    request.push(int_key(0x03, cose(&platform_key)));
    request.push(int_key(0x06, bytes(&enc)));
    request.push(int_key(0x09, int(i64::try_from(MC).unwrap())));
    request.push(int_key(0x0A, text(RP)));
    let response = call(auth, env, CLIENT_PIN, Some(Value::Map(request)))?;
    assert_eq!(response.len(), 1);
    Ok(decrypt_token(&shared, get(&response, 2).as_bytes().unwrap()).unwrap())
}

fn retries(auth: &mut Authenticator, env: &mut TestEnv) -> (i64, bool) {
    // getPINRetries needs no pinUvAuthProtocol.
    let response = call(
        auth,
        env,
        CLIENT_PIN,
        Some(Value::Map(vec![int_key(0x02, int(1))])),
    )
    .unwrap();
    assert_eq!(response.len(), 2);
    (
        cbor::read::int(get(&response, 3)).unwrap(),
        get(&response, 4).as_bool().unwrap(),
    )
}

fn make_with_token(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
    token: &[u8; 32],
) -> Result<Made, u8> {
    let params = with_pin(mc_params(-7), 0x08, protocol, token);
    call(auth, env, MAKE_CREDENTIAL, Some(params)).map(|map| parse_made(&map))
}

#[test]
fn set_pin_get_token_make_credential() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(7);
        assert_eq!(retries(&mut auth, &mut env), (8, false));
        let info = call(&mut auth, &mut env, GET_INFO, None).unwrap();
        let options = get(&info, 4).as_map().unwrap();
        assert_eq!(
            cbor::read::get_text(options, "clientPin"),
            Some(&Value::Bool(false))
        );

        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        assert!(auth.pin().is_set());
        assert_eq!(env.store.pin().unwrap().retries, 8);
        assert_eq!(retries(&mut auth, &mut env), (8, false));
        let info = call(&mut auth, &mut env, GET_INFO, None).unwrap();
        let options = get(&info, 4).as_map().unwrap();
        assert_eq!(
            cbor::read::get_text(options, "clientPin"),
            Some(&Value::Bool(true))
        );

        // A PIN is set: MakeCredential without a token is refused.
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
        let token = token(&mut auth, &mut env, protocol, PIN).unwrap();
        let made = make_with_token(&mut auth, &mut env, protocol, &token).unwrap();
        assert_eq!(made.auth_data[32], FLAG_UP | FLAG_UV | FLAG_AT);
        // A wrong pinUvAuthParam is refused.
        assert_eq!(
            make_with_token(&mut auth, &mut env, protocol, &[0u8; 32]).err(),
            Some(0x33)
        );
    }
}

#[test]
fn get_pin_token_has_default_permissions() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(8);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        let (platform_key, shared) = agree(&mut auth, &mut env, protocol);
        let enc = pin_hash_enc(&shared, &mut env.rng, PIN).unwrap();
        let mut request = base(protocol, GET_PIN_TOKEN);
        request.push(int_key(0x03, cose(&platform_key)));
        request.push(int_key(0x06, bytes(&enc)));
        let response = call(&mut auth, &mut env, CLIENT_PIN, Some(Value::Map(request))).unwrap();
        let token = decrypt_token(&shared, get(&response, 2).as_bytes().unwrap()).unwrap();
        let made = make_with_token(&mut auth, &mut env, protocol, &token).unwrap();
        assert_eq!(made.auth_data[32] & FLAG_UV, FLAG_UV);
    }
}

#[test]
fn wrong_pins_auth_block_then_power_cycle() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(9);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        assert_eq!(
            token(&mut auth, &mut env, protocol, "9999").err(),
            Some(0x31)
        );
        assert_eq!(retries(&mut auth, &mut env), (7, false));
        assert_eq!(env.store.pin().unwrap().retries, 7);
        assert_eq!(
            token(&mut auth, &mut env, protocol, "9999").err(),
            Some(0x31)
        );
        assert_eq!(
            token(&mut auth, &mut env, protocol, "9999").err(),
            Some(0x34)
        );
        assert_eq!(retries(&mut auth, &mut env), (5, true));
        // Auth-blocked even for the right PIN, and the attempt costs nothing.
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x34));
        assert_eq!(retries(&mut auth, &mut env), (5, true));

        // The power cycle clears the block, not the retries.
        auth = cycle(auth, &mut env);
        assert_eq!(retries(&mut auth, &mut env), (5, false));
        let token = token(&mut auth, &mut env, protocol, PIN).unwrap();
        assert_eq!(retries(&mut auth, &mut env), (8, false));
        assert!(make_with_token(&mut auth, &mut env, protocol, &token).is_ok());
    }
}

#[test]
fn eight_wrong_pins_block() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(10);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        let mut codes = Vec::new();
        for attempt in 0..8 {
            if attempt > 0 && attempt % 3 == 0 {
                auth = cycle(auth, &mut env);
            }
            codes.push(token(&mut auth, &mut env, protocol, "0000").unwrap_err());
        }
        assert_eq!(codes, vec![0x31, 0x31, 0x34, 0x31, 0x31, 0x34, 0x31, 0x32]);
        assert_eq!(retries(&mut auth, &mut env).0, 0);
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x32));
        auth = cycle(auth, &mut env);
        assert_eq!(retries(&mut auth, &mut env).0, 0);
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x32));
        assert_eq!(change_pin(&mut auth, &mut env, protocol, PIN, "5678"), 0x32);
    }
}

#[test]
fn change_pin_drops_old_token() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(11);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        let old = token(&mut auth, &mut env, protocol, PIN).unwrap();
        assert_eq!(change_pin(&mut auth, &mut env, protocol, PIN, "5678"), 0x00);
        assert_eq!(
            make_with_token(&mut auth, &mut env, protocol, &old).err(),
            Some(0x33)
        );
        // The old PIN is wrong now; the new one works and survives a power cycle.
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x31));
        auth = cycle(auth, &mut env);
        let new = token(&mut auth, &mut env, protocol, "5678").unwrap();
        assert!(make_with_token(&mut auth, &mut env, protocol, &new).is_ok());
        // changePIN with a wrong current PIN costs a retry.
        assert_eq!(
            change_pin(&mut auth, &mut env, protocol, "0000", "4321"),
            0x31
        );
        assert_eq!(retries(&mut auth, &mut env), (7, false));
    }
}

#[test]
fn set_pin_twice_and_policy() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(12);
        // 3 code points (5 bytes) is too short.
        assert_eq!(set_pin(&mut auth, &mut env, protocol, "ab€"), 0x37);
        assert!(!auth.pin().is_set());
        assert_eq!(env.store.pin(), None);
        // Without a PIN there is nothing to check.
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x35));
        // 4 code points is enough.
        assert_eq!(set_pin(&mut auth, &mut env, protocol, "ab€d"), 0x00);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x33);
        assert!(token(&mut auth, &mut env, protocol, "ab€d").is_ok());
    }
}

#[test]
fn request_shape_errors() {
    let (mut auth, mut env) = powered(13);
    let two = PinUvAuthProtocol::Two;
    // No subCommand.
    assert_eq!(
        send(&mut auth, &mut env, vec![int_key(0x01, int(2))]),
        vec![0x14]
    );
    // No pinUvAuthProtocol for a subcommand that needs one.
    assert_eq!(
        send(&mut auth, &mut env, vec![int_key(0x02, int(2))]),
        vec![0x14]
    );
    // Unsupported protocol.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![int_key(0x01, int(3)), int_key(0x02, int(2))]
        ),
        vec![0x02]
    );
    // Unknown subcommands, including ones this authenticator does not offer (getUVRetries,
    // getPinUvAuthTokenUsingUvWithPermissions).
    for sub_command in [0x06, 0x07, 0x08, 0x0A, 0xFF] {
        assert_eq!(
            send(&mut auth, &mut env, base(two, sub_command)),
            vec![0x3E],
            "{sub_command:#x}"
        );
    }
    // Wrong types.
    assert_eq!(
        send(&mut auth, &mut env, vec![int_key(0x02, text("x"))]),
        vec![0x11]
    );
    // setPIN without its parameters.
    assert_eq!(send(&mut auth, &mut env, base(two, SET_PIN)), vec![0x14]);
    // A keyAgreement that is not a P-256 COSE key.
    let mut request = base(two, SET_PIN);
    request.push(int_key(0x03, Value::Map(vec![int_key(1, int(2))])));
    assert_eq!(send(&mut auth, &mut env, request), vec![0x02]);
    // getPINRetries needs no protocol, but a given one must be valid.
    assert_eq!(
        status(&send(&mut auth, &mut env, base(two, GET_PIN_RETRIES))),
        0x00
    );
}

#[test]
fn failed_retry_write_changes_nothing() {
    for protocol in PROTOCOLS {
        let (mut auth, mut env) = powered(14);
        assert_eq!(set_pin(&mut auth, &mut env, protocol, PIN), 0x00);
        let batches = env.store.batches;
        env.store.fail_writes = true;
        // The decrement cannot be persisted: nothing is compared, right PIN or wrong.
        assert_eq!(token(&mut auth, &mut env, protocol, PIN).err(), Some(0x7F));
        assert_eq!(
            token(&mut auth, &mut env, protocol, "0000").err(),
            Some(0x7F)
        );
        assert_eq!(change_pin(&mut auth, &mut env, protocol, PIN, "5678"), 0x7F);
        assert_eq!(retries(&mut auth, &mut env), (8, false));
        assert_eq!(env.store.pin().unwrap().retries, 8);
        assert_eq!(env.store.batches, batches);
        env.store.fail_writes = false;
        let token = token(&mut auth, &mut env, protocol, PIN).unwrap();
        assert!(make_with_token(&mut auth, &mut env, protocol, &token).is_ok());
        // A failing setPIN leaves no PIN behind.
        let (mut fresh, mut fresh_env) = powered(15);
        fresh_env.store.fail_writes = true;
        assert_eq!(set_pin(&mut fresh, &mut fresh_env, protocol, PIN), 0x7F);
        assert!(!fresh.pin().is_set());
    }
}

#[test]
fn key_agreement_per_protocol_and_power_cycle() {
    let (mut auth, mut env) = powered(16);
    let key = |auth: &mut Authenticator, env: &mut TestEnv, protocol| {
        let response = call(
            auth,
            env,
            CLIENT_PIN,
            Some(Value::Map(base(protocol, GET_KEY_AGREEMENT))),
        )
        .unwrap();
        get(&response, 1).clone()
    };
    let one = key(&mut auth, &mut env, PinUvAuthProtocol::One);
    let two = key(&mut auth, &mut env, PinUvAuthProtocol::Two);
    assert_ne!(one, two);
    // Stable within a power cycle, new after one.
    assert_eq!(key(&mut auth, &mut env, PinUvAuthProtocol::Two), two);
    auth = cycle(auth, &mut env);
    assert_ne!(key(&mut auth, &mut env, PinUvAuthProtocol::Two), two);
    assert_ne!(key(&mut auth, &mut env, PinUvAuthProtocol::One), one);
}
