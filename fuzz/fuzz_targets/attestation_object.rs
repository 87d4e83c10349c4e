//! AttestationObject::parse, AuthenticatorData::parse of its authData, then the whole
//! verify_registration around it (fixed client data; RP ID hash and credential id taken from
//! the authData so the attestation statement is reached).
#![no_main]

mod common;

use latch_webauthn::auth_data::AuthenticatorData;
use latch_webauthn::registration::AttestationObject;
use latch_webauthn::wire::{AuthenticatorAttestationResponseJson, RegistrationResponseJson};
use latch_webauthn::{b64, verify_registration, RegistrationState, UserVerification};
use libfuzzer_sys::fuzz_target;

const CHALLENGE: &[u8] = b"latch-fuzz-registration-challenge";

fuzz_target!(|data: &[u8]| {
    let Ok(att) = AttestationObject::parse(data) else {
        return;
    };
    let auth_data = AuthenticatorData::parse(&att.auth_data).ok();
    let credential_id = auth_data
        .as_ref()
        .and_then(|a| a.attested.as_ref())
        .map_or_else(|| b"latch-fuzz".to_vec(), |c| c.credential_id.clone());
    let rp_id_hash = auth_data
        .as_ref()
        .map_or(common::base_rp().rp_id_hash, |a| a.rp_id_hash);
    let rp = common::rp_for(rp_id_hash, None);
    let client_data_json = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"https://example.org","crossOrigin":false}}"#,
        b64::encode(CHALLENGE)
    );
    let response = RegistrationResponseJson {
        id: b64::encode(&credential_id),
        raw_id: credential_id.into(),
        response: AuthenticatorAttestationResponseJson {
            client_data_json: client_data_json.into_bytes().into(),
            attestation_object: data.to_vec().into(),
            authenticator_data: None,
            transports: Vec::new(),
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: None,
        client_extension_results: serde_json::Map::new(),
        ty: "public-key".into(),
    };
    let state = RegistrationState {
        challenge: CHALLENGE.to_vec(),
        user_id: b"latch-fuzz-user".to_vec(),
        user_verification: UserVerification::Discouraged,
        allowed_algs: Vec::new(),
        require_user_presence: true,
    };
    if let Ok(v) = verify_registration(&rp, &state, &response, common::NOW) {
        assert_eq!(v.credential_id, response.raw_id.0);
    }
});
