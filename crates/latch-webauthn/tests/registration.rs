//! WebAuthn L3 §7.1 (registering a new credential), one test per verification step: each
//! failing test breaks exactly that step and asserts the exact error; the happy paths assert
//! what was verified. Step numbers follow /work/shared/specs/webauthn-level3.bs, where step 10
//! is crossOrigin and step 11 topOrigin (so rpIdHash is step 14 and the credential id length
//! step 25).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ciborium::value::Value;
use common::*;
use latch_webauthn::attestation::{AttestationError, AttestationType};
use latch_webauthn::auth_data::Flags;
use latch_webauthn::b64;
use latch_webauthn::mds::{Metadata, MetadataEntry};
use latch_webauthn::rp::rp_id_hash;
use latch_webauthn::wire::RegistrationResponseJson;
use latch_webauthn::{
    verify_authentication, verify_registration, Error, RegistrationState, RelyingParty,
    StoredCredential, TrustStatus, UserVerification, VerifiedRegistration,
};

fn verify(r: &Registration<'_>) -> Result<VerifiedRegistration, Error> {
    verify_registration(&rp(), &registration_state(), &r.response(), NOW)
}

fn verify_with(
    rp: &RelyingParty,
    state: &RegistrationState,
    r: &Registration<'_>,
) -> Result<VerifiedRegistration, Error> {
    verify_registration(rp, state, &r.response(), NOW)
}

fn credprops_rk() -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("credProps".into(), serde_json::json!({ "rk": true }));
    m
}

// ---- happy paths ----------------------------------------------------------------------------

#[test]
fn happy_path_es256_none() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.sign_count = 7;
    r.client_extension_results = credprops_rk();
    let v = verify(&r).unwrap();

    assert_eq!(v.fmt(), "none");
    assert_eq!(v.attestation_type(), AttestationType::None);
    assert_eq!(v.attestation.trust, TrustStatus::NotApplicable);
    assert!(v.attestation.trust_path.is_empty());
    assert_eq!(v.aaguid, AAGUID);
    assert_eq!(v.aaguid_string(), AAGUID_TEXT);
    assert_eq!(v.alg, ES256);
    assert_eq!(v.sign_count, 7);
    assert_eq!(v.flags, Flags(UP | UV | AT));
    assert!(v.user_verified);
    assert!(!v.backup_eligible);
    assert!(!v.backed_up);
    assert_eq!(v.credential_id, CREDENTIAL_ID);
    assert_eq!(v.public_key_cose, cred.key.cose());
    assert_eq!(v.resident_key, Some(true));
    assert_eq!(v.client_extension_results, credprops_rk());
    assert_eq!(
        v.transports,
        vec!["internal".to_owned(), "hybrid".to_owned()]
    );
    assert_eq!(v.authenticator_attachment.as_deref(), Some("platform"));
    assert_eq!(v.authenticator_extensions, None);
    assert_eq!(v.authenticator_name, None);
}

#[test]
fn happy_path_es256_packed_self() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.auth_data.flags = UP | UV | BE | BS | AT;
    r.auth_data.sign_count = 1;
    r.client_extension_results = credprops_rk();
    let v = verify(&r).unwrap();

    assert_eq!(v.fmt(), "packed");
    assert_eq!(v.attestation_type(), AttestationType::SelfAttestation);
    assert_eq!(v.attestation.trust, TrustStatus::NotApplicable);
    assert_eq!(v.aaguid, AAGUID);
    assert_eq!(v.alg, ES256);
    assert_eq!(v.sign_count, 1);
    assert_eq!(v.flags, Flags(UP | UV | BE | BS | AT));
    assert!(v.user_verified);
    assert!(v.backup_eligible);
    assert!(v.backed_up);
    assert_eq!(v.public_key_cose, cred.key.cose());
    assert_eq!(v.resident_key, Some(true));
}

#[test]
fn happy_path_eddsa_packed_self() {
    let cred = TestCredential::eddsa();
    let mut r = cred.register().packed();
    r.auth_data.flags = UP | AT;
    r.auth_data.sign_count = 42;
    r.client_extension_results = credprops_rk();
    let v = verify(&r).unwrap();

    assert_eq!(v.fmt(), "packed");
    assert_eq!(v.attestation_type(), AttestationType::SelfAttestation);
    assert_eq!(v.aaguid, AAGUID);
    assert_eq!(v.alg, EDDSA);
    assert_eq!(v.sign_count, 42);
    assert_eq!(v.flags, Flags(UP | AT));
    assert!(!v.user_verified);
    assert_eq!(v.public_key_cose, cred.key.cose());
    assert_eq!(v.resident_key, Some(true));
}

#[test]
fn registered_credential_verifies_a_later_assertion() {
    let cred = TestCredential::es256();
    let v = verify(&cred.register()).unwrap();
    let stored = StoredCredential {
        id: v.credential_id.clone(),
        user_id: USER_ID.to_vec(),
        public_key_cose: v.public_key_cose.clone(),
        sign_count: v.sign_count,
        backup_eligible: v.backup_eligible,
    };
    let a = verify_authentication(
        &rp(),
        &authentication_state(),
        &cred.assert().response(),
        &stored,
        NOW,
    )
    .unwrap();
    assert_eq!(a.credential_id, CREDENTIAL_ID);
    assert_eq!(a.sign_count, 6);
}

#[test]
fn tolerates_spacing_unknown_members_escaped_slashes_and_padded_base64url() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    let padded_challenge = format!("{}=", b64::encode(CHALLENGE));
    assert_eq!(
        padded_challenge.len() % 4,
        0,
        "the challenge must need padding for this test"
    );
    let raw = format!(
        "{{ \"type\" : \"webauthn.create\" ,\n  \"challenge\" : \"{padded_challenge}\",\n  \
         \"origin\" : \"https:\\/\\/example.com\", \"crossOrigin\" : false,\n  \
         \"other_keys_can_be_added_here\" : \"do not compare clientDataJSON against a template\",\n  \
         \"unknownMember\" : {{ \"nested\" : [1, 2, {{\"x\": null}}] }} }}"
    );
    r.client_data.raw = Some(raw.into_bytes());
    // The response's own base64url fields, padded, as some clients send them.
    let mut json = serde_json::to_value(r.response()).unwrap();
    let pad = |v: &mut serde_json::Value| {
        let s = v.as_str().unwrap().to_owned();
        let padded = format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
        *v = serde_json::Value::String(padded);
    };
    pad(&mut json["id"]);
    pad(&mut json["rawId"]);
    pad(&mut json["response"]["clientDataJSON"]);
    pad(&mut json["response"]["attestationObject"]);
    assert!(json["response"]["clientDataJSON"]
        .as_str()
        .unwrap()
        .ends_with('='));
    let response: RegistrationResponseJson = serde_json::from_value(json).unwrap();

    let v = verify_registration(&rp(), &registration_state(), &response, NOW).unwrap();
    assert_eq!(v.credential_id, CREDENTIAL_ID);
    assert_eq!(v.fmt(), "none");
}

// ---- step 3: the credential and its response -----------------------------------------------

#[test]
fn step_03_credential_type_must_be_public_key() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.ty = "password".into();
    assert_eq!(
        err(verify(&r)),
        Error::CredentialTypeMismatch {
            got: "password".into()
        }
    );
}

#[test]
fn step_03_id_must_equal_raw_id() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.id = Some(b64::encode(OTHER_CREDENTIAL_ID));
    assert_eq!(err(verify(&r)), Error::CredentialIdMismatch);
}

// ---- steps 5-6: clientDataJSON decoding -----------------------------------------------------

#[test]
fn step_05_client_data_must_be_utf8() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    let mut bytes = r.client_data.to_bytes();
    bytes.insert(10, 0xff);
    r.client_data.raw = Some(bytes);
    assert_eq!(err(verify(&r)), Error::ClientDataNotUtf8);
}

#[test]
fn step_05_leading_byte_order_mark_is_stripped() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(&r.client_data.to_bytes());
    r.client_data.raw = Some(bytes);
    assert_eq!(verify(&r).unwrap().credential_id, CREDENTIAL_ID);
}

#[test]
fn step_06_client_data_must_be_json() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.raw = Some(b"type=webauthn.create&origin=https://example.com".to_vec());
    assert!(matches!(err(verify(&r)), Error::ClientDataMalformed(_)));
}

#[test]
fn step_06_client_data_without_origin_is_malformed() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    let raw = format!(
        r#"{{"type":"webauthn.create","challenge":"{}"}}"#,
        b64::encode(CHALLENGE)
    );
    r.client_data.raw = Some(raw.into_bytes());
    assert!(matches!(err(verify(&r)), Error::ClientDataMalformed(_)));
}

// ---- steps 7-11: client data members --------------------------------------------------------

#[test]
fn step_07_type_must_be_webauthn_create() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.ty = "webauthn.get".into();
    assert_eq!(
        err(verify(&r)),
        Error::ClientDataTypeMismatch {
            expected: "webauthn.create",
            got: "webauthn.get".into()
        }
    );
}

#[test]
fn step_08_challenge_must_match() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.challenge = b64::encode(b"0123456789abcdef0123456789ABCDEX");
    assert_eq!(err(verify(&r)), Error::ChallengeMismatch);
}

#[test]
fn step_08_challenge_that_is_not_base64url_does_not_match() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.challenge = "!!not base64!!".into();
    assert_eq!(err(verify(&r)), Error::ChallengeMismatch);
}

#[test]
fn step_09_origin_must_be_expected() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.origin = "https://example.org".into();
    assert_eq!(
        err(verify(&r)),
        Error::OriginMismatch {
            got: "https://example.org".into()
        }
    );
}

#[test]
fn step_09_origin_scheme_and_port_matter() {
    let cred = TestCredential::es256();
    for origin in ["http://example.com", "https://example.com:8443"] {
        let mut r = cred.register();
        r.client_data.origin = origin.into();
        assert_eq!(
            err(verify(&r)),
            Error::OriginMismatch { got: origin.into() },
            "{origin}"
        );
    }
}

fn rp_with_subdomains() -> RelyingParty {
    let mut rp = rp();
    rp.origins.subdomains_of = vec!["example.com".into()];
    rp
}

#[test]
fn step_09_subdomain_origin_is_accepted_with_subdomains_of() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.origin = "https://login.example.com".into();
    // Not accepted without the subdomain policy...
    assert_eq!(
        err(verify(&r)),
        Error::OriginMismatch {
            got: "https://login.example.com".into()
        }
    );
    // ...and accepted with it.
    let v = verify_with(&rp_with_subdomains(), &registration_state(), &r).unwrap();
    assert_eq!(v.credential_id, CREDENTIAL_ID);
}

#[test]
fn step_09_evil_example_com_is_not_a_subdomain_of_example_com() {
    let cred = TestCredential::es256();
    for origin in [
        "https://evil-example.com",
        "https://example.com.evil.net",
        "https://notexample.com",
    ] {
        let mut r = cred.register();
        r.client_data.origin = origin.into();
        assert_eq!(
            err(verify_with(
                &rp_with_subdomains(),
                &registration_state(),
                &r
            )),
            Error::OriginMismatch { got: origin.into() },
            "{origin}"
        );
    }
}

#[test]
fn step_09_subdomain_over_http_is_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.origin = "http://login.example.com".into();
    assert_eq!(
        err(verify_with(
            &rp_with_subdomains(),
            &registration_state(),
            &r
        )),
        Error::OriginMismatch {
            got: "http://login.example.com".into()
        }
    );
}

#[test]
fn step_10_cross_origin_true_is_refused_unless_allowed() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.cross_origin = Some(true);
    assert_eq!(err(verify(&r)), Error::CrossOriginNotAllowed);

    let mut rp = rp();
    rp.allow_cross_origin = true;
    assert_eq!(
        verify_with(&rp, &registration_state(), &r)
            .unwrap()
            .credential_id,
        CREDENTIAL_ID
    );
}

#[test]
fn step_11_top_origin_needs_cross_origin_to_be_allowed() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.cross_origin = None;
    r.client_data.top_origin = Some("https://partner.example".into());
    assert_eq!(err(verify(&r)), Error::CrossOriginNotAllowed);
}

#[test]
fn step_11_top_origin_must_be_an_expected_top_origin() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.allow_cross_origin = true;
    rp.top_origins = vec!["https://partner.example".into()];

    let mut r = cred.register();
    r.client_data.cross_origin = Some(true);
    r.client_data.top_origin = Some("https://evil.example".into());
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::TopOriginMismatch {
            got: "https://evil.example".into()
        }
    );

    r.client_data.top_origin = Some("https://partner.example".into());
    assert_eq!(
        verify_with(&rp, &registration_state(), &r)
            .unwrap()
            .credential_id,
        CREDENTIAL_ID
    );
}

#[test]
fn legacy_token_binding_status_must_be_valid() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.client_data.token_binding = Some(serde_json::json!({ "status": "bogus" }));
    assert_eq!(
        err(verify(&r)),
        Error::TokenBindingInvalid {
            got: "bogus".into()
        }
    );

    r.client_data.token_binding = Some(serde_json::json!({ "status": "supported" }));
    assert_eq!(verify(&r).unwrap().credential_id, CREDENTIAL_ID);
}

// ---- step 13: the attestation object and authenticator data ----------------------------------

#[test]
fn step_13_attestation_object_must_be_cbor() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.attestation_object_override = Some(vec![0xff, 0xff, 0xff]);
    assert!(matches!(
        err(verify(&r)),
        Error::AttestationObjectMalformed(_)
    ));
}

#[test]
fn step_13_attestation_object_must_be_a_map_with_fmt_att_stmt_and_auth_data() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.attestation_object_override = Some(cbor(&Value::Array(vec![text("none")])));
    assert!(matches!(
        err(verify(&r)),
        Error::AttestationObjectMalformed(_)
    ));

    let mut r2 = cred.register();
    let without_auth_data = cbor(&Value::Map(vec![
        (text("fmt"), text("none")),
        (text("attStmt"), Value::Map(vec![])),
    ]));
    r2.attestation_object_override = Some(without_auth_data);
    assert!(matches!(
        err(verify(&r2)),
        Error::AttestationObjectMalformed(_)
    ));
}

/// A member of the wrong CBOR type is named as such, not reported as missing.
#[test]
fn step_13_attestation_object_members_of_the_wrong_type_are_named() {
    let cred = TestCredential::es256();
    let auth_data = Value::Bytes(cred.register().auth_data_bytes());
    let cases = [
        (
            "fmt",
            Value::Integer(1.into()),
            Value::Map(vec![]),
            auth_data.clone(),
        ),
        ("attStmt", text("none"), text("x"), auth_data.clone()),
        ("authData", text("none"), Value::Map(vec![]), text("x")),
    ];
    for (name, fmt, att_stmt, auth_data) in cases {
        let mut r = cred.register();
        r.attestation_object_override = Some(cbor(&Value::Map(vec![
            (text("fmt"), fmt),
            (text("attStmt"), att_stmt),
            (text("authData"), auth_data),
        ])));
        assert_eq!(
            err(verify(&r)),
            Error::AttestationObjectMalformed(format!("{name} has the wrong type"))
        );
    }
}

#[test]
fn step_13_attestation_object_trailing_bytes_are_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    let mut bytes = r.attestation_object();
    bytes.push(0x00);
    r.attestation_object_override = Some(bytes);
    assert!(matches!(
        err(verify(&r)),
        Error::AttestationObjectMalformed(_)
    ));
}

#[test]
fn step_13_truncated_auth_data_is_malformed() {
    let cred = TestCredential::es256();
    let full = cred.register().auth_data_bytes();
    // Cut inside signCount, inside the AAGUID, and inside the credential id.
    for len in [35, 37 + 10, 37 + 16 + 2 + 5] {
        let mut r = cred.register();
        r.auth_data_override = Some(full[..len].to_vec());
        assert!(
            matches!(err(verify(&r)), Error::AuthenticatorDataMalformed(_)),
            "cut at {len}"
        );
    }
}

#[test]
fn step_13_auth_data_trailing_bytes_are_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.trailing = vec![0x00, 0x01, 0x02];
    assert_eq!(err(verify(&r)), Error::AuthenticatorDataTrailingBytes(3));
}

#[test]
fn step_13_attested_data_without_at_flag_is_trailing_bytes() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | UV;
    let attested_len = r.auth_data_bytes().len() - 37;
    assert_eq!(
        err(verify(&r)),
        Error::AuthenticatorDataTrailingBytes(attested_len)
    );
}

#[test]
fn step_13_cose_key_with_unsupported_alg_is_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.attested.as_mut().unwrap().cose_key = cred.key.cose_with_alg(-4711);
    assert_eq!(err(verify(&r)), Error::UnsupportedAlgorithm { alg: -4711 });
}

#[test]
fn step_13_es256_on_p384_is_a_key_algorithm_mismatch() {
    let cred = TestCredential::new(TestKey::es384());
    let mut r = cred.register();
    r.auth_data.attested.as_mut().unwrap().cose_key = cred.key.cose_with_alg(ES256);
    assert_eq!(err(verify(&r)), Error::KeyAlgorithmMismatch { alg: ES256 });
}

// ---- steps 14-19: authenticator data checks --------------------------------------------------

#[test]
fn step_14_rp_id_hash_must_be_the_rp_ids() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.rp_id_hash = rp_id_hash(OTHER_RP_ID);
    assert_eq!(
        err(verify(&r)),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

#[test]
fn step_14_rp_id_hash_of_the_origin_is_not_the_rp_ids() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.rp_id_hash = rp_id_hash(ORIGIN);
    assert_eq!(
        err(verify(&r)),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

#[test]
fn step_15_user_present_flag_must_be_set() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UV | AT;
    assert_eq!(err(verify(&r)), Error::UserNotPresent);
}

#[test]
fn step_15_conditional_create_may_omit_user_presence() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UV | AT;
    let state = RegistrationState {
        require_user_presence: false,
        ..registration_state()
    };
    let v = verify_with(&rp(), &state, &r).unwrap();
    assert_eq!(v.flags, Flags(UV | AT));
}

/// A state stored before the flag existed (or written by a client that leaves it out) still
/// requires user presence.
#[test]
fn step_15_a_stored_state_without_the_flag_requires_user_presence() {
    let json = serde_json::json!({
        "challenge": [1, 2, 3],
        "user_id": [4],
        "user_verification": "preferred",
        "allowed_algs": [-7],
    });
    let state: RegistrationState = serde_json::from_value(json).unwrap();
    assert!(state.require_user_presence);
}

#[test]
fn step_16_user_verification_required_needs_uv() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | AT;
    let state = RegistrationState {
        user_verification: UserVerification::Required,
        ..registration_state()
    };
    assert_eq!(
        err(verify_with(&rp(), &state, &r)),
        Error::UserVerificationRequired
    );
}

#[test]
fn step_16_user_verification_preferred_accepts_no_uv() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | AT;
    let state = RegistrationState {
        user_verification: UserVerification::Preferred,
        ..registration_state()
    };
    let v = verify_with(&rp(), &state, &r).unwrap();
    assert!(!v.user_verified);
    assert_eq!(v.flags, Flags(UP | AT));
}

#[test]
fn step_17_backup_state_without_backup_eligibility_is_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | UV | BS | AT;
    assert_eq!(err(verify(&r)), Error::BackupStateWithoutEligibility);
}

#[test]
fn step_18_backup_eligible_refused_when_policy_forbids_synced_credentials() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | UV | BE | AT;
    let mut rp = rp();
    rp.allow_backup_eligible = false;
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::BackupEligibleNotAllowed
    );

    // The default policy accepts it and reports it.
    let v = verify(&r).unwrap();
    assert!(v.backup_eligible);
    assert!(!v.backed_up);
}

// ---- step 20: attested credential data and its algorithm -----------------------------------

#[test]
fn step_20_attested_credential_data_must_be_present() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | UV;
    r.auth_data.attested = None;
    assert_eq!(err(verify(&r)), Error::MissingAttestedCredentialData);
}

#[test]
fn step_20_alg_must_be_in_pub_key_cred_params() {
    let cred = TestCredential::eddsa();
    let r = cred.register();
    let state = RegistrationState {
        allowed_algs: vec![ES256],
        ..registration_state()
    };
    assert_eq!(
        err(verify_with(&rp(), &state, &r)),
        Error::AlgorithmNotAllowed { got: EDDSA }
    );
}

#[test]
fn step_20_empty_pub_key_cred_params_means_es256_and_rs256() {
    let cred = TestCredential::eddsa();
    let r = cred.register();
    let state = RegistrationState {
        allowed_algs: vec![],
        ..registration_state()
    };
    assert_eq!(
        err(verify_with(&rp(), &state, &r)),
        Error::AlgorithmNotAllowed { got: EDDSA }
    );
    let es256 = TestCredential::es256();
    assert!(verify_with(&rp(), &state, &es256.register()).is_ok_and(|v| v.alg == ES256));
}

#[test]
fn step_20_public_key_off_its_curve_is_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.attested.as_mut().unwrap().cose_key = cose_ec2(ES256, 1, &[1; 32], &[2; 32]);
    assert!(matches!(err(verify(&r)), Error::CoseKeyMalformed(m) if m.contains("curve")));
}

// ---- steps 21-22: the attestation statement --------------------------------------------------

#[test]
fn step_21_unknown_attestation_format_is_refused() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.fmt = "com.example.custom".into();
    assert_eq!(
        err(verify(&r)),
        Error::UnsupportedAttestationFormat {
            fmt: "com.example.custom".into()
        }
    );
}

#[test]
fn step_21_format_match_is_case_sensitive() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.fmt = "Packed".into();
    r.att_stmt = Some(cred.register().packed().att_stmt());
    assert_eq!(
        err(verify(&r)),
        Error::UnsupportedAttestationFormat {
            fmt: "Packed".into()
        }
    );
}

#[test]
fn step_22_none_attestation_statement_must_be_empty() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.att_stmt = Some(Value::Map(vec![(text("alg"), int(ES256))]));
    assert_eq!(
        err(verify(&r)),
        Error::Attestation {
            fmt: "none",
            source: AttestationError::NoneStatementNotEmpty
        }
    );
}

#[test]
fn step_22_packed_self_alg_must_be_the_credential_keys() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.packed_alg = Some(EDDSA);
    assert_eq!(
        err(verify(&r)),
        Error::Attestation {
            fmt: "packed",
            source: AttestationError::AlgMismatch {
                stmt: EDDSA,
                key: ES256
            }
        }
    );
}

#[test]
fn step_22_packed_self_signature_must_verify() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    // A well-formed signature by the credential key, but over other client data.
    let mut other = r.auth_data_bytes();
    other.extend_from_slice(&sha256(b"{\"type\":\"webauthn.create\"}"));
    r.packed_sig = Some(cred.key.sign(&other));
    assert_eq!(
        err(verify(&r)),
        Error::Attestation {
            fmt: "packed",
            source: AttestationError::SignatureInvalid
        }
    );
}

#[test]
fn step_22_packed_self_signature_by_another_key_is_invalid() {
    let cred = TestCredential::eddsa();
    let other_key = TestKey::eddsa();
    let mut r = cred.register().packed();
    r.packed_sig = Some(other_key.sign(&r.signed_data()));
    assert_eq!(
        err(verify(&r)),
        Error::Attestation {
            fmt: "packed",
            source: AttestationError::SignatureInvalid
        }
    );
}

#[test]
fn step_22_packed_signature_covers_client_data_hash() {
    // Signed correctly, then the client data changes (same challenge and origin): the
    // signature no longer covers what was sent.
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.packed_sig = Some(cred.key.sign(&r.signed_data()));
    r.client_data
        .extra
        .push(("note".into(), serde_json::json!("changed after signing")));
    assert_eq!(
        err(verify(&r)),
        Error::Attestation {
            fmt: "packed",
            source: AttestationError::SignatureInvalid
        }
    );
}

// ---- steps 23-24: trustworthiness policy -----------------------------------------------------

#[test]
fn step_24_aaguid_on_the_deny_list_is_refused() {
    let cred = TestCredential::es256();
    let r = cred.register();
    let mut rp = rp();
    rp.attestation.aaguid_deny.insert(AAGUID);
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::AaguidDenied {
            aaguid: AAGUID_TEXT.into()
        }
    );
}

#[test]
fn step_24_aaguid_must_be_on_the_allow_list_when_there_is_one() {
    let cred = TestCredential::es256();
    let r = cred.register();
    let mut rp = rp();
    rp.attestation.aaguid_allow = Some(HashSet::from([OTHER_AAGUID]));
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::AaguidNotAllowed {
            aaguid: AAGUID_TEXT.into()
        }
    );

    rp.attestation.aaguid_allow = Some(HashSet::from([OTHER_AAGUID, AAGUID]));
    assert_eq!(
        verify_with(&rp, &registration_state(), &r).unwrap().aaguid,
        AAGUID
    );
}

fn metadata_for_aaguid(status_reports: &[(&str, Option<i64>)]) -> Arc<Metadata> {
    let entry = MetadataEntry {
        aaguid: AAGUID,
        description: "Test key".into(),
        icon: None,
        status_reports: status_reports
            .iter()
            .map(|(s, at)| ((*s).to_owned(), *at))
            .collect(),
        attestation_root_certificates: vec![],
    };
    Arc::new(Metadata {
        entries: HashMap::from([(AAGUID, entry)]),
        number: 1,
        next_update: NOW.0 + 86_400,
        legal_header: String::new(),
    })
}

#[test]
fn step_24_require_certified_accepts_only_what_metadata_lists_as_certified() {
    let cred = TestCredential::es256();
    let not_certified = Error::AuthenticatorNotCertified {
        aaguid: AAGUID_TEXT.into(),
    };
    let mut rp = rp();
    rp.attestation.require_certified = true;
    // No metadata at all: nothing is known to be certified.
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &cred.register())),
        not_certified
    );
    // Listed, but only as not certified.
    rp.attestation.metadata = Some(metadata_for_aaguid(&[("NOT_FIDO_CERTIFIED", None)]));
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &cred.register())),
        not_certified
    );
    // Certified: accepted.
    rp.attestation.metadata = Some(metadata_for_aaguid(&[("FIDO_CERTIFIED_L1", None)]));
    assert_eq!(
        verify_with(&rp, &registration_state(), &cred.register())
            .unwrap()
            .aaguid,
        AAGUID
    );
    // The same metadata does not matter when certification is not required.
    rp.attestation.require_certified = false;
    rp.attestation.metadata = Some(metadata_for_aaguid(&[("NOT_FIDO_CERTIFIED", None)]));
    assert!(verify_with(&rp, &registration_state(), &cred.register()).is_ok());
}

#[test]
fn step_24_a_revoked_authenticator_is_refused() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.attestation.metadata = Some(metadata_for_aaguid(&[
        ("FIDO_CERTIFIED_L1", None),
        ("REVOKED", Some(NOW.0 - 1)),
    ]));
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &cred.register())),
        Error::AuthenticatorRevoked {
            aaguid: AAGUID_TEXT.into(),
            status: "REVOKED".into()
        }
    );
    // A report dated after now is not yet in effect.
    rp.attestation.metadata = Some(metadata_for_aaguid(&[("REVOKED", Some(NOW.0 + 1))]));
    assert!(verify_with(&rp, &registration_state(), &cred.register()).is_ok());
}

#[test]
fn step_24_none_attestation_refused_when_not_an_accepted_type() {
    let cred = TestCredential::es256();
    let r = cred.register();
    let mut rp = rp();
    rp.attestation.accepted_types = Some(HashSet::from([
        AttestationType::SelfAttestation,
        AttestationType::Basic,
    ]));
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::AttestationTypeNotAllowed { got: "none" }
    );

    // The same policy accepts self attestation.
    let v = verify_with(&rp, &registration_state(), &cred.register().packed()).unwrap();
    assert_eq!(v.attestation_type(), AttestationType::SelfAttestation);
}

#[test]
fn step_24_self_attestation_refused_when_trust_is_required() {
    let cred = TestCredential::es256();
    let r = cred.register().packed();
    let mut rp = rp();
    rp.attestation.require_trusted = true;
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::AttestationNotTrusted
    );
}

#[test]
fn step_24_none_attestation_refused_when_trust_is_required() {
    let cred = TestCredential::es256();
    let r = cred.register();
    let mut rp = rp();
    rp.attestation.require_trusted = true;
    assert_eq!(
        err(verify_with(&rp, &registration_state(), &r)),
        Error::AttestationNotTrusted
    );
}

// ---- step 25: the credential id --------------------------------------------------------------

fn with_credential_id(cred: &TestCredential, id: Vec<u8>) -> Registration<'_> {
    let mut r = cred.register();
    r.raw_id = id.clone();
    r.auth_data.attested.as_mut().unwrap().credential_id = id;
    r
}

#[test]
fn step_25_credential_id_in_auth_data_must_equal_raw_id() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.attested.as_mut().unwrap().credential_id = OTHER_CREDENTIAL_ID.to_vec();
    assert_eq!(err(verify(&r)), Error::AttestedCredentialIdMismatch);
}

#[test]
fn step_25_credential_id_of_1024_bytes_is_refused() {
    let cred = TestCredential::es256();
    let r = with_credential_id(&cred, vec![0xa5; 1024]);
    assert_eq!(err(verify(&r)), Error::CredentialIdTooLong { len: 1024 });
}

#[test]
fn step_25_credential_id_of_1023_bytes_is_accepted() {
    let cred = TestCredential::es256();
    let r = with_credential_id(&cred, vec![0xa5; 1023]);
    assert_eq!(verify(&r).unwrap().credential_id, vec![0xa5; 1023]);
}

// ---- step 28: extension outputs --------------------------------------------------------------

#[test]
fn step_28_unsolicited_extension_outputs_are_tolerated_and_reported() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.auth_data.flags = UP | UV | AT | ED;
    let ext = Value::Map(vec![(text("credProtect"), int(2))]);
    r.auth_data.extensions = Some(cbor(&ext));
    r.client_extension_results
        .insert("unknownExtension".into(), serde_json::json!({ "x": 1 }));
    let v = verify(&r).unwrap();
    assert_eq!(v.authenticator_extensions, Some(ext));
    assert_eq!(v.resident_key, None);
    assert_eq!(
        v.client_extension_results.get("unknownExtension"),
        Some(&serde_json::json!({ "x": 1 }))
    );
}
