//! webauthn.rs end to end: latch-webauthn builds the options, the client plays the browser
//! against the in-process key, latch-webauthn verifies the responses.

use latch_webauthn::authentication::StoredCredential;
use latch_webauthn::options::{
    creation_options, request_options, AuthenticationPolicy, RegistrationPolicy, SystemRng,
};
use latch_webauthn::wire::{CredentialDescriptor, UserEntity};
use latch_webauthn::{
    b64::Base64Url, verify_authentication, verify_registration, RelyingParty, UnixTime,
    UserVerification,
};

use super::*;
use crate::client::webauthn::{client_data_json, create, get, origin_host};
use crate::pin::Permissions;

const ORIGIN: &str = "https://example.com";

#[test]
fn client_data_json_is_byte_exact() {
    assert_eq!(
        String::from_utf8(client_data_json(
            "webauthn.get",
            &[0xFB, 0xFF],
            "https://a.b"
        ))
        .unwrap(),
        r#"{"type":"webauthn.get","challenge":"-_8","origin":"https://a.b","crossOrigin":false}"#
    );
    assert_eq!(
        origin_host("https://Login.Example.com:8443/x").unwrap(),
        "login.example.com"
    );
    assert_eq!(origin_host("http://localhost").unwrap(), "localhost");
    assert!(origin_host("example.com").is_err());
}

fn register_and_authenticate(with_pin: bool) {
    let rp = RelyingParty::new("example.com", [ORIGIN]);
    let mut ctap = ctap2();
    let user_verification = if with_pin {
        ctap.set_pin("1234").unwrap();
        ctap.refresh_info().unwrap();
        UserVerification::Required
    } else {
        UserVerification::Discouraged
    };
    let policy = RegistrationPolicy {
        user_verification,
        ..RegistrationPolicy::default()
    };
    let user = UserEntity {
        id: Base64Url(b"user-42".to_vec()),
        name: "ada".into(),
        display_name: "Ada".into(),
    };
    let (options, state) = creation_options(&rp, &policy, user, vec![], &mut SystemRng);
    let token = with_pin.then(|| {
        ctap.get_pin_uv_auth_token("1234", Permissions::MAKE_CREDENTIAL, Some("example.com"))
            .unwrap()
    });
    let response = create(&mut ctap, &options, ORIGIN, token.as_ref()).unwrap();
    assert_eq!(response.client_extension_results["credProps"]["rk"], true);
    // Round trip through JSON, as a browser would send it.
    let json = serde_json::to_string(&response).unwrap();
    let response = serde_json::from_str(&json).unwrap();
    let verified = verify_registration(&rp, &state, &response, UnixTime(1_800_000_000)).unwrap();
    assert_eq!(verified.aaguid, [0xAA; 16]);
    assert_eq!(verified.user_verified, with_pin);
    assert_eq!(verified.alg, -7);
    let mut stored = StoredCredential {
        id: verified.credential_id.clone(),
        user_id: b"user-42".to_vec(),
        public_key_cose: verified.public_key_cose.clone(),
        sign_count: verified.sign_count,
        backup_eligible: verified.backup_eligible,
    };

    for allow in [true, false] {
        let policy = AuthenticationPolicy {
            user_verification,
            ..AuthenticationPolicy::default()
        };
        let allow_list = if allow {
            vec![CredentialDescriptor::public_key(stored.id.clone(), vec![])]
        } else {
            vec![]
        };
        let (options, state) = request_options(&rp, &policy, allow_list, None, &mut SystemRng);
        let token = with_pin.then(|| {
            ctap.get_pin_uv_auth_token("1234", Permissions::GET_ASSERTION, Some("example.com"))
                .unwrap()
        });
        let response = get(&mut ctap, &options, ORIGIN, token.as_ref()).unwrap();
        let verified =
            verify_authentication(&rp, &state, &response, &stored, UnixTime(1_800_000_000))
                .unwrap();
        assert_eq!(verified.user_id, b"user-42");
        assert_eq!(verified.user_verified, with_pin);
        assert!(verified.sign_count > stored.sign_count);
        stored.sign_count = verified.sign_count;
    }
}

#[test]
fn registration_and_authentication_verify_without_pin() {
    register_and_authenticate(false);
}

#[test]
fn registration_and_authentication_verify_with_pin() {
    register_and_authenticate(true);
}

#[test]
fn required_user_verification_without_a_token_is_refused_locally() {
    let rp = RelyingParty::new("example.com", [ORIGIN]);
    let mut ctap = ctap2();
    let policy = RegistrationPolicy {
        user_verification: UserVerification::Required,
        ..RegistrationPolicy::default()
    };
    let user = UserEntity {
        id: Base64Url(vec![1]),
        name: "a".into(),
        display_name: "A".into(),
    };
    let (options, _) = creation_options(&rp, &policy, user, vec![], &mut SystemRng);
    assert!(matches!(
        create(&mut ctap, &options, ORIGIN, None),
        Err(Error::Invalid(_))
    ));
}
