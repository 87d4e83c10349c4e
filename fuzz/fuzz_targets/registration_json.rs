//! serde_json → RegistrationResponseJson, then verify_registration twice: against the fixed
//! RP and state (example.org), and against an RP and state built from the response itself
//! (challenge, origin, RP ID hash), so mutations reach the attestation formats.
#![no_main]

mod common;

use latch_webauthn::auth_data::AuthenticatorData;
use latch_webauthn::client_data::CollectedClientData;
use latch_webauthn::cose::CoseKey;
use latch_webauthn::registration::AttestationObject;
use latch_webauthn::wire::RegistrationResponseJson;
use latch_webauthn::{b64, verify_registration, RegistrationState, UserVerification};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = serde_json::from_slice::<RegistrationResponseJson>(data) else {
        return;
    };
    let hints = common::hints(data);

    // The fixed RP: the W3C packed-full-es256 vector's challenge.
    let fixed_state = RegistrationState {
        challenge: b64::decode("wRhKX934BF4T3Ef1S2H1pla2ZrWQGPFthw6SVumVIBI").unwrap_or_default(),
        user_id: b"latch-fuzz-user".to_vec(),
        user_verification: UserVerification::Discouraged,
        allowed_algs: Vec::new(),
        require_user_presence: true,
    };
    let _ = verify_registration(common::base_rp(), &fixed_state, &response, hints.now());

    // An RP that expects exactly what this response claims.
    let client_data = CollectedClientData::parse(response.response.client_data_json.as_ref()).ok();
    let rp_id_hash = AttestationObject::parse(response.response.attestation_object.as_ref())
        .ok()
        .and_then(|a| AuthenticatorData::parse(&a.auth_data).ok())
        .map_or(common::base_rp().rp_id_hash, |a| a.rp_id_hash);
    let mut rp = common::rp_for(rp_id_hash, client_data.as_ref());
    hints.apply(&mut rp);
    let state = RegistrationState {
        challenge: common::challenge_of(client_data.as_ref()),
        ..fixed_state
    };
    if let Ok(v) = verify_registration(&rp, &state, &response, hints.now()) {
        assert_eq!(v.credential_id, response.raw_id.0);
        assert_eq!(
            CoseKey::from_bytes(&v.public_key_cose).map(|k| k.alg),
            Ok(v.alg)
        );
    }
});
