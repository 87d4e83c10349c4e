//! Shared helpers for the command tests: a device over [`TestEnv`], request builders, response
//! parsers, signature checks and PIN tokens.

pub(crate) use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ED25519};
pub(crate) use ciborium::value::Value;

pub(crate) use super::{
    rp_id_hash, Authenticator, Config, FLAG_AT, FLAG_BE, FLAG_BS, FLAG_UP, FLAG_UV, GET_ASSERTION,
    GET_INFO, GET_NEXT_ASSERTION, MAKE_CREDENTIAL,
};
pub(crate) use crate::cbor;
pub(crate) use crate::cbor::{encode, int_key, text_key};
pub(crate) use crate::credential::MasterKey;
pub(crate) use crate::credential::MAX_CREDENTIAL_ID_LEN;
pub(crate) use crate::env::{Clock, Presence};
pub(crate) use crate::pin::platform::{decrypt_token, pin_hash_enc, set_pin_params};
pub(crate) use crate::pin::testing::RecordingStore;
pub(crate) use crate::pin::{
    encapsulate, GetToken, KeyAgreement, Permissions, PinContext, SetPin, TokenSubcommand,
};
pub(crate) use crate::pin::{PinState, PinUvAuthProtocol};
pub(crate) use crate::store::CredentialStore;
pub(crate) use crate::testing::TestEnv;

pub(crate) const RP: &str = "example.com";
pub(crate) const CDH: [u8; 32] = [0xCD; 32];
pub(crate) const AAGUID: [u8; 16] = [0xAA; 16];
pub(crate) const PIN: &str = "1234";

pub(crate) fn config() -> Config {
    Config {
        aaguid: AAGUID,
        firmware_version: 3,
        attestation: None,
        built_in_uv: false,
        synced_discoverable: false,
    }
}

pub(crate) fn device_with(config: Config) -> (Authenticator, TestEnv) {
    (
        Authenticator::new(config, MasterKey::new([0x4B; 32]), PinState::new()),
        TestEnv::new(42),
    )
}

pub(crate) fn device() -> (Authenticator, TestEnv) {
    device_with(config())
}

/// A device with built-in user verification.
pub(crate) fn device_uv() -> (Authenticator, TestEnv) {
    device_with(Config {
        built_in_uv: true,
        synced_discoverable: false,
        ..config()
    })
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub(crate) fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

pub(crate) fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

/// Sends `command || params`; Ok(response map) or Err(status byte).
pub(crate) fn call(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    command: u8,
    params: Option<Value>,
) -> Result<Vec<(Value, Value)>, u8> {
    let mut message = vec![command];
    if let Some(params) = params {
        message.extend(encode(&params).unwrap());
    }
    let response = auth.handle(&mut env.env(), &message);
    let (status, body) = response.split_first().unwrap();
    if *status != 0 {
        assert!(body.is_empty());
        return Err(*status);
    }
    // Responses are canonical: re-encoding gives the same bytes.
    let value: Value = ciborium::from_reader(body).unwrap();
    assert_eq!(encode(&value).unwrap(), body);
    Ok(value.into_map().unwrap())
}

pub(crate) fn get(map: &[(Value, Value)], key: i64) -> &Value {
    cbor::read::get(map, key).unwrap()
}

pub(crate) fn mc_params(alg: i64) -> Vec<(Value, Value)> {
    vec![
        int_key(0x01, bytes(&CDH)),
        int_key(
            0x02,
            Value::Map(vec![
                text_key("id", text(RP)),
                text_key("name", text("Example")),
            ]),
        ),
        int_key(
            0x03,
            Value::Map(vec![
                text_key("id", bytes(b"user-1")),
                text_key("name", text("alice")),
                text_key("displayName", text("Alice")),
            ]),
        ),
        int_key(
            0x04,
            Value::Array(vec![Value::Map(vec![
                text_key("alg", int(alg)),
                text_key("type", text("public-key")),
            ])]),
        ),
    ]
}

pub(crate) fn with(mut params: Vec<(Value, Value)>, key: i64, value: Value) -> Value {
    params.retain(|(k, _)| k != &int(key));
    params.push(int_key(key, value));
    Value::Map(params)
}

pub(crate) fn options(entries: &[(&str, bool)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| text_key(k, Value::Bool(*v)))
            .collect(),
    )
}

/// A parsed MakeCredential result.
pub(crate) struct Made {
    pub(crate) auth_data: Vec<u8>,
    pub(crate) fmt: String,
    pub(crate) att_stmt: Vec<(Value, Value)>,
    pub(crate) id: Vec<u8>,
    pub(crate) cose: Vec<(Value, Value)>,
}

pub(crate) fn parse_made(map: &[(Value, Value)]) -> Made {
    let auth_data = get(map, 2).as_bytes().unwrap().clone();
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let id = auth_data[55..55 + id_len].to_vec();
    let cose: Value = ciborium::from_reader(&auth_data[55 + id_len..]).unwrap();
    Made {
        fmt: get(map, 1).as_text().unwrap().to_owned(),
        att_stmt: get(map, 3).as_map().unwrap().clone(),
        auth_data,
        id,
        cose: cose.into_map().unwrap(),
    }
}

pub(crate) fn make(auth: &mut Authenticator, env: &mut TestEnv, params: Value) -> Made {
    parse_made(&call(auth, env, MAKE_CREDENTIAL, Some(params)).unwrap())
}

pub(crate) fn verify(cose: &[(Value, Value)], message: &[u8], signature: &[u8]) -> bool {
    let alg = cbor::read::int(get(cose, 3)).unwrap();
    if alg == -7 {
        let mut point = vec![4];
        point.extend(get(cose, -2).as_bytes().unwrap());
        point.extend(get(cose, -3).as_bytes().unwrap());
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
            .verify(message, signature)
            .is_ok()
    } else {
        UnparsedPublicKey::new(&ED25519, get(cose, -2).as_bytes().unwrap().clone())
            .verify(message, signature)
            .is_ok()
    }
}

pub(crate) fn ga_params(allow: Option<&[&[u8]]>) -> Vec<(Value, Value)> {
    let mut params = vec![int_key(0x01, text(RP)), int_key(0x02, bytes(&CDH))];
    if let Some(ids) = allow {
        params.push(int_key(
            0x03,
            Value::Array(
                ids.iter()
                    .map(|id| {
                        Value::Map(vec![
                            text_key("id", bytes(id)),
                            text_key("type", text("public-key")),
                        ])
                    })
                    .collect(),
            ),
        ));
    }
    params
}

/// Sets the PIN on the device, then gets a pinUvAuthToken for `permissions` on `rp_id`.
pub(crate) fn pin_token(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    permissions: Permissions,
    rp_id: Option<&str>,
) -> (PinUvAuthProtocol, [u8; 32]) {
    let protocol = PinUvAuthProtocol::Two;
    let mut key_agreement = KeyAgreement::generate(protocol, &mut env.rng).unwrap();
    let (platform_key, shared) =
        encapsulate(protocol, &key_agreement.public_key(), &mut env.rng).unwrap();
    let params = set_pin_params(&shared, &mut env.rng, PIN).unwrap();
    let mut ctx = PinContext {
        store: &mut RecordingStore::default(),
        rng: &mut env.rng,
        key_agreement: &mut key_agreement,
    };
    auth.pin_mut()
        .set_pin(
            &mut ctx,
            &SetPin {
                key_agreement: Some(&platform_key),
                new_pin_enc: Some(&params.new_pin_enc),
                pin_uv_auth_param: Some(&params.pin_uv_auth_param),
            },
        )
        .unwrap();
    token_with_pin(auth, env, permissions, rp_id)
}

pub(crate) fn pin_params(protocol: PinUvAuthProtocol, token: &[u8; 32]) -> [(Value, Value); 2] {
    [
        int_key(0, bytes(&protocol.authenticate(token, &CDH))),
        int_key(1, int(i64::from(protocol.wire()))),
    ]
}

pub(crate) fn with_pin(
    mut params: Vec<(Value, Value)>,
    param_key: i64,
    protocol: PinUvAuthProtocol,
    token: &[u8; 32],
) -> Value {
    let [(_, param), (_, proto)] = pin_params(protocol, token);
    params.push(int_key(param_key, param));
    params.push(int_key(param_key + 1, proto));
    Value::Map(params)
}

pub(crate) fn assertion_checks(
    response: &[(Value, Value)],
    cose: &[(Value, Value)],
    id: &[u8],
) -> Vec<u8> {
    let credential = get(response, 1).as_map().unwrap();
    assert_eq!(cbor::read::get_text(credential, "id"), Some(&bytes(id)));
    let auth_data = get(response, 2).as_bytes().unwrap().clone();
    assert_eq!(auth_data.len(), 37);
    assert_eq!(auth_data[..32], rp_id_hash(RP));
    let mut signed = auth_data.clone();
    signed.extend(CDH);
    assert!(verify(cose, &signed, get(response, 3).as_bytes().unwrap()));
    auth_data
}

/// getPinUvAuthTokenUsingPinWithPermissions with the PIN already set.
pub(crate) fn token_with_pin(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    permissions: Permissions,
    rp_id: Option<&str>,
) -> (PinUvAuthProtocol, [u8; 32]) {
    token_with_pin_protocol(auth, env, PinUvAuthProtocol::Two, permissions, rp_id)
}

/// [`token_with_pin`] under a chosen pinUvAuthProtocol.
pub(crate) fn token_with_pin_protocol(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    protocol: PinUvAuthProtocol,
    permissions: Permissions,
    rp_id: Option<&str>,
) -> (PinUvAuthProtocol, [u8; 32]) {
    let mut store = RecordingStore::default();
    let mut key_agreement = KeyAgreement::generate(protocol, &mut env.rng).unwrap();
    let (platform_key, shared) =
        encapsulate(protocol, &key_agreement.public_key(), &mut env.rng).unwrap();
    let enc = pin_hash_enc(&shared, &mut env.rng, PIN).unwrap();
    let mut ctx = PinContext {
        store: &mut store,
        rng: &mut env.rng,
        key_agreement: &mut key_agreement,
    };
    let encrypted = auth
        .pin_mut()
        .get_token(
            &mut ctx,
            &GetToken {
                subcommand: TokenSubcommand::WithPermissions {
                    offered: Permissions::ALL,
                },
                key_agreement: Some(&platform_key),
                pin_hash_enc: Some(&enc),
                permissions: Some(u64::from(permissions.bits())),
                rp_id,
            },
            env.clock.now_ms(),
        )
        .unwrap();
    (protocol, decrypt_token(&shared, &encrypted).unwrap())
}

/// Sends `command || params` for a command whose success has no response map: Ok(()) for a
/// bare CTAP2_OK, Err(status byte) otherwise.
pub(crate) fn call_empty(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    command: u8,
    params: Option<Value>,
) -> Result<(), u8> {
    let mut message = vec![command];
    if let Some(params) = params {
        message.extend(encode(&params).unwrap());
    }
    let response = auth.handle(&mut env.env(), &message);
    let (status, body) = response.split_first().unwrap();
    assert!(body.is_empty(), "unexpected body {body:02x?}");
    if *status != 0 {
        return Err(*status);
    }
    Ok(())
}

/// pinUvAuthParam = authenticate(token, message) under `protocol`.
pub(crate) fn auth_param(protocol: PinUvAuthProtocol, token: &[u8; 32], message: &[u8]) -> Value {
    bytes(&protocol.authenticate(token, message))
}
