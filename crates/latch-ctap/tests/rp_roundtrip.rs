//! Our authenticator's MakeCredential and GetAssertion output, verified by latch-webauthn as a
//! relying party would: packed self attestation, then assertions with a rising counter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::digest;
use ciborium::value::Value;
use latch_ctap::cbor::{self, int_key, text_key};
use latch_ctap::credential::MasterKey;
use latch_ctap::pin::PinState;
use latch_ctap::testing::TestEnv;
use latch_ctap::{Authenticator, Config};
use latch_webauthn::authentication::{
    verify_authentication, AuthenticationState, StoredCredential,
};
use latch_webauthn::b64;
use latch_webauthn::wire::{
    AuthenticationResponseJson, AuthenticatorAssertionResponseJson,
    AuthenticatorAttestationResponseJson, RegistrationResponseJson,
};
use latch_webauthn::{
    verify_registration, RegistrationState, RelyingParty, UnixTime, UserVerification,
};

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";

fn client_data(ty: &str, challenge: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": ty,
        "challenge": b64::encode(challenge),
        "origin": ORIGIN,
        "crossOrigin": false,
    }))
    .unwrap()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

fn call(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    command: u8,
    params: Value,
) -> Vec<(Value, Value)> {
    let mut message = vec![command];
    message.extend(cbor::encode(&params).unwrap());
    let response = auth.handle(&mut env.env(), &message);
    assert_eq!(response.first(), Some(&0x00), "status {response:02x?}");
    let value: Value = ciborium::from_reader(&response[1..]).unwrap();
    value.into_map().unwrap()
}

fn get(map: &[(Value, Value)], key: i64) -> Value {
    cbor::read::get(map, key).unwrap().clone()
}

fn round_trip(alg: i64, resident: bool) {
    let rp = RelyingParty::new(RP, [ORIGIN]);
    let mut auth = Authenticator::new(
        Config {
            aaguid: [0x11; 16],
            firmware_version: 1,
            attestation: None,
            built_in_uv: false,
            synced_discoverable: false,
        },
        MasterKey::new([0x22; 32]),
        PinState::new(),
    );
    let mut env = TestEnv::new(7);
    let user_id = b"user-handle-1".to_vec();

    // Registration.
    let challenge = vec![0xC1; 32];
    let client_data_json = client_data("webauthn.create", &challenge);
    let mut params = vec![
        int_key(1, Value::Bytes(sha256(&client_data_json))),
        int_key(2, Value::Map(vec![text_key("id", Value::Text(RP.into()))])),
        int_key(
            3,
            Value::Map(vec![
                text_key("id", Value::Bytes(user_id.clone())),
                text_key("name", Value::Text("alice".into())),
            ]),
        ),
        int_key(
            4,
            Value::Array(vec![Value::Map(vec![
                text_key("alg", Value::Integer(alg.into())),
                text_key("type", Value::Text("public-key".into())),
            ])]),
        ),
    ];
    if resident {
        params.push(int_key(
            7,
            Value::Map(vec![text_key("rk", Value::Bool(true))]),
        ));
    }
    let made = call(&mut auth, &mut env, 0x01, Value::Map(params));
    let attestation_object = cbor::encode(&Value::Map(vec![
        text_key("fmt", get(&made, 1)),
        text_key("attStmt", get(&made, 3)),
        text_key("authData", get(&made, 2)),
    ]))
    .unwrap();
    let auth_data = get(&made, 2).into_bytes().unwrap();
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let credential_id = auth_data[55..55 + id_len].to_vec();
    let registration = RegistrationResponseJson {
        id: b64::encode(&credential_id),
        raw_id: credential_id.clone().into(),
        response: AuthenticatorAttestationResponseJson {
            client_data_json: client_data_json.into(),
            attestation_object: attestation_object.into(),
            authenticator_data: None,
            transports: vec!["usb".into()],
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: Some("cross-platform".into()),
        client_extension_results: serde_json::Map::new(),
        ty: "public-key".into(),
    };
    let state = RegistrationState {
        challenge,
        user_id: user_id.clone(),
        user_verification: UserVerification::Discouraged,
        allowed_algs: vec![alg],
        require_user_presence: true,
    };
    let verified =
        verify_registration(&rp, &state, &registration, UnixTime(1_800_000_000)).unwrap();
    assert_eq!(verified.credential_id, credential_id);
    assert_eq!(verified.alg, alg);
    assert_eq!(verified.aaguid, [0x11; 16]);
    assert_eq!(verified.fmt(), "packed");
    let mut stored = StoredCredential {
        id: credential_id.clone(),
        user_id: user_id.clone(),
        public_key_cose: verified.public_key_cose.clone(),
        sign_count: verified.sign_count,
        backup_eligible: verified.backup_eligible,
    };

    // Two authentications: the counter rises and the RP accepts both.
    for round in 0..2u8 {
        let challenge = vec![0xA0 + round; 32];
        let client_data_json = client_data("webauthn.get", &challenge);
        let mut params = vec![
            int_key(1, Value::Text(RP.into())),
            int_key(2, Value::Bytes(sha256(&client_data_json))),
        ];
        if !resident {
            params.push(int_key(
                3,
                Value::Array(vec![Value::Map(vec![
                    text_key("id", Value::Bytes(credential_id.clone())),
                    text_key("type", Value::Text("public-key".into())),
                ])]),
            ));
        }
        let asserted = call(&mut auth, &mut env, 0x02, Value::Map(params));
        let user_handle = cbor::read::get(&asserted, 4).map(|user| {
            let user = user.as_map().unwrap();
            cbor::read::get_text(user, "id")
                .unwrap()
                .as_bytes()
                .unwrap()
                .clone()
                .into()
        });
        assert_eq!(user_handle.is_some(), resident);
        let response = AuthenticationResponseJson {
            id: b64::encode(&credential_id),
            raw_id: credential_id.clone().into(),
            response: AuthenticatorAssertionResponseJson {
                client_data_json: client_data_json.into(),
                authenticator_data: get(&asserted, 2).into_bytes().unwrap().into(),
                signature: get(&asserted, 3).into_bytes().unwrap().into(),
                user_handle,
            },
            authenticator_attachment: None,
            client_extension_results: serde_json::Map::new(),
            ty: "public-key".into(),
        };
        let state = AuthenticationState {
            challenge,
            user_verification: UserVerification::Discouraged,
            allow_credentials: if resident {
                vec![]
            } else {
                vec![credential_id.clone()]
            },
            user_id: if resident {
                None
            } else {
                Some(user_id.clone())
            },
            appid: None,
        };
        let verified =
            verify_authentication(&rp, &state, &response, &stored, UnixTime(1_800_000_000))
                .unwrap();
        assert!(verified.sign_count > stored.sign_count);
        assert_eq!(verified.user_id, user_id);
        stored.sign_count = verified.sign_count;
    }
}

#[test]
fn es256_server_side_credential() {
    round_trip(-7, false);
}

#[test]
fn ed25519_server_side_credential() {
    round_trip(-8, false);
}

#[test]
fn es256_discoverable_credential() {
    round_trip(-7, true);
}
