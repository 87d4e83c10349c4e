//! serde_json → AuthenticationResponseJson, then verify_authentication twice: against a fixed
//! StoredCredential (the W3C none-es256 vector's key) and fixed state, and against a stored
//! credential and state built from the response (id, user handle, challenge, origin, RP ID
//! hash; the key from the seed's hints when it has one, else the fixed key).
#![no_main]

mod common;

use latch_webauthn::auth_data::AuthenticatorData;
use latch_webauthn::client_data::CollectedClientData;
use latch_webauthn::wire::AuthenticationResponseJson;
use latch_webauthn::{b64, verify_authentication, AuthenticationState, StoredCredential};
use libfuzzer_sys::fuzz_target;

/// shared/conformance/authentication/w3c-l3-none-es256-auth.json
const FIXED_KEY: &str = "pQECAyYgASFYIK_voW-XypstI-uGzLZAmNINuQhWBi6yScM6m2cvJt9hIlggkwpWuHovymYzSwNFir-HlxfBLMaO1zKQry4mZHlrkiA";
const FIXED_ID: &str = "-R85HbTJsv3g6nAYnLo_tj9Xm6YSKzOtlP8-wzAIS-Q";
const FIXED_CHALLENGE: &str = "OcDnUhQXulTUPo3JUXT0I97pvzzYBP9tZchXyav01Ag";

fuzz_target!(|data: &[u8]| {
    let Ok(response) = serde_json::from_slice::<AuthenticationResponseJson>(data) else {
        return;
    };
    let hints = common::hints(data);
    let fixed_key = b64::decode(FIXED_KEY).unwrap_or_default();

    let fixed_credential = StoredCredential {
        id: b64::decode(FIXED_ID).unwrap_or_default(),
        user_id: b"latch-fuzz-user".to_vec(),
        public_key_cose: fixed_key.clone(),
        sign_count: 0,
        backup_eligible: true,
    };
    let fixed_state = AuthenticationState {
        challenge: b64::decode(FIXED_CHALLENGE).unwrap_or_default(),
        user_verification: common::PREFERRED,
        allow_credentials: Vec::new(),
        user_id: None,
        appid: Some("https://example.org/appid".into()),
    };
    let _ = verify_authentication(
        common::base_rp(),
        &fixed_state,
        &response,
        &fixed_credential,
        hints.now(),
    );

    // A credential and state that match what the response claims.
    let client_data = CollectedClientData::parse(response.response.client_data_json.as_ref()).ok();
    let auth_data = AuthenticatorData::parse(response.response.authenticator_data.as_ref()).ok();
    let rp_id_hash = auth_data
        .as_ref()
        .map_or(common::base_rp().rp_id_hash, |a| a.rp_id_hash);
    let rp = common::rp_for(rp_id_hash, client_data.as_ref());
    let user_id = response
        .response
        .user_handle
        .as_ref()
        .map_or_else(|| b"latch-fuzz-user".to_vec(), |h| h.0.clone());
    let credential = StoredCredential {
        id: response.raw_id.0.clone(),
        user_id: user_id.clone(),
        public_key_cose: hints
            .credential_public_key
            .as_deref()
            .and_then(b64::decode)
            .unwrap_or(fixed_key),
        sign_count: hints.stored_sign_count.unwrap_or(0),
        backup_eligible: auth_data
            .as_ref()
            .is_some_and(|a| a.flags.backup_eligible()),
    };
    let state = AuthenticationState {
        challenge: common::challenge_of(client_data.as_ref()),
        user_verification: common::PREFERRED,
        allow_credentials: vec![response.raw_id.0.clone()],
        user_id: Some(user_id),
        appid: None,
    };
    if let Ok(v) = verify_authentication(&rp, &state, &response, &credential, hints.now()) {
        assert_eq!(v.credential_id, credential.id);
        assert!(v.sign_count >= credential.sign_count);
        assert!(v.flags.user_present());
    }
});
