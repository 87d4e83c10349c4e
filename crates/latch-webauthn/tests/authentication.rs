//! WebAuthn L3 §7.2 (verifying an authentication assertion), one test per verification step:
//! each failing test breaks exactly that step and asserts the exact error; the happy paths
//! assert what was verified. Step numbers follow /work/shared/specs/webauthn-level3.bs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use latch_webauthn::auth_data::Flags;
use latch_webauthn::b64;
use latch_webauthn::rp::rp_id_hash;
use latch_webauthn::wire::AuthenticationResponseJson;
use latch_webauthn::{
    verify_authentication, AuthenticationState, BackupEligibilityChange, Error, RelyingParty,
    StoredCredential, UserVerification, VerifiedAuthentication,
};

/// The stored counter every test starts from; the authenticator sends 6 by default.
const STORED_COUNT: u32 = 5;

fn stored(cred: &TestCredential) -> StoredCredential {
    cred.stored(STORED_COUNT, false)
}

fn verify(cred: &TestCredential, a: &Assertion<'_>) -> Result<VerifiedAuthentication, Error> {
    verify_authentication(
        &rp(),
        &authentication_state(),
        &a.response(),
        &stored(cred),
        NOW,
    )
}

fn verify_with(
    rp: &RelyingParty,
    state: &AuthenticationState,
    a: &Assertion<'_>,
    stored: &StoredCredential,
) -> Result<VerifiedAuthentication, Error> {
    verify_authentication(rp, state, &a.response(), stored, NOW)
}

// ---- happy paths ----------------------------------------------------------------------------

#[test]
fn happy_path_es256() {
    let cred = TestCredential::es256();
    let v = verify(&cred, &cred.assert()).unwrap();
    assert_eq!(v.credential_id, CREDENTIAL_ID);
    assert_eq!(v.user_id, USER_ID);
    assert_eq!(v.sign_count, 6);
    assert_eq!(v.flags, Flags(UP | UV));
    assert!(v.user_verified);
    assert!(!v.backup_eligible);
    assert!(!v.backed_up);
    assert!(!v.used_appid);
}

#[test]
fn happy_path_eddsa() {
    let cred = TestCredential::eddsa();
    let mut a = cred.assert();
    a.auth_data.flags = UP | BE | BS;
    a.auth_data.sign_count = 0;
    let v = verify_with(&rp(), &authentication_state(), &a, &cred.stored(0, true)).unwrap();
    assert_eq!(v.credential_id, CREDENTIAL_ID);
    assert_eq!(v.user_id, USER_ID);
    assert_eq!(v.sign_count, 0);
    assert_eq!(v.flags, Flags(UP | BE | BS));
    assert!(!v.user_verified);
    assert!(v.backup_eligible);
    assert!(v.backed_up);
    assert!(!v.used_appid);
}

#[test]
fn happy_path_discoverable() {
    let cred = TestCredential::es256();
    let v = verify_with(&rp(), &discoverable_state(), &cred.assert(), &stored(&cred)).unwrap();
    assert_eq!(v.credential_id, CREDENTIAL_ID);
    assert_eq!(v.user_id, USER_ID);
    assert_eq!(v.sign_count, 6);
}

#[test]
fn padded_base64url_in_the_response_is_accepted() {
    let cred = TestCredential::es256();
    let a = cred.assert();
    let mut json = serde_json::to_value(a.response()).unwrap();
    for path in [
        &["id"][..],
        &["rawId"],
        &["response", "clientDataJSON"],
        &["response", "signature"],
    ] {
        let mut v = &mut json;
        for k in path {
            v = &mut v[*k];
        }
        let s = v.as_str().unwrap().to_owned();
        *v = serde_json::Value::String(format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4)));
    }
    let response: AuthenticationResponseJson = serde_json::from_value(json).unwrap();
    let v = verify_authentication(
        &rp(),
        &authentication_state(),
        &response,
        &stored(&cred),
        NOW,
    )
    .unwrap();
    assert_eq!(v.sign_count, 6);
}

// ---- step 3: the credential and its response -----------------------------------------------

#[test]
fn step_03_credential_type_must_be_public_key() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.ty = "otp".into();
    assert_eq!(
        err(verify(&cred, &a)),
        Error::CredentialTypeMismatch { got: "otp".into() }
    );
}

#[test]
fn step_03_id_must_equal_raw_id() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.id = Some(b64::encode(OTHER_CREDENTIAL_ID));
    assert_eq!(err(verify(&cred, &a)), Error::CredentialIdMismatch);
}

// ---- step 5: allowCredentials ----------------------------------------------------------------

#[test]
fn step_05_credential_must_be_in_allow_credentials() {
    let cred = TestCredential::es256();
    let state = AuthenticationState {
        allow_credentials: vec![OTHER_CREDENTIAL_ID.to_vec()],
        ..authentication_state()
    };
    assert_eq!(
        err(verify_with(&rp(), &state, &cred.assert(), &stored(&cred))),
        Error::CredentialNotAllowed
    );
}

// ---- step 6: identify the user and the credential record -------------------------------------

#[test]
fn step_06_stored_credential_must_be_the_one_used() {
    let cred = TestCredential::es256();
    let mut other = stored(&cred);
    other.id = OTHER_CREDENTIAL_ID.to_vec();
    assert_eq!(
        err(verify_with(
            &rp(),
            &authentication_state(),
            &cred.assert(),
            &other
        )),
        Error::WrongStoredCredential
    );
}

#[test]
fn step_06_identified_user_must_own_the_credential() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.user_handle = None;
    let mut owned_by_other = stored(&cred);
    owned_by_other.user_id = OTHER_USER_ID.to_vec();
    assert_eq!(
        err(verify_with(
            &rp(),
            &authentication_state(),
            &a,
            &owned_by_other
        )),
        Error::UserHandleMismatch
    );
}

#[test]
fn step_06_identified_user_user_handle_must_match_when_present() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.user_handle = Some(OTHER_USER_ID.to_vec());
    assert_eq!(err(verify(&cred, &a)), Error::UserHandleMismatch);
}

#[test]
fn step_06_identified_user_user_handle_may_be_absent() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.user_handle = None;
    let v = verify(&cred, &a).unwrap();
    assert_eq!(v.user_id, USER_ID);
}

#[test]
fn step_06_discoverable_needs_a_user_handle() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.user_handle = None;
    assert_eq!(
        err(verify_with(
            &rp(),
            &discoverable_state(),
            &a,
            &stored(&cred)
        )),
        Error::UserHandleMissing
    );
}

#[test]
fn step_06_discoverable_user_handle_must_own_the_credential() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.user_handle = Some(OTHER_USER_ID.to_vec());
    assert_eq!(
        err(verify_with(
            &rp(),
            &discoverable_state(),
            &a,
            &stored(&cred)
        )),
        Error::UserHandleMismatch
    );
}

// ---- steps 8-9: clientDataJSON decoding ------------------------------------------------------

#[test]
fn step_08_client_data_must_be_utf8() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    let mut bytes = a.client_data.to_bytes();
    bytes.insert(10, 0xc3);
    a.client_data.raw = Some(bytes);
    assert_eq!(err(verify(&cred, &a)), Error::ClientDataNotUtf8);
}

#[test]
fn step_09_client_data_must_be_json() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.raw = Some(b"{\"type\":\"webauthn.get\",".to_vec());
    assert!(matches!(
        err(verify(&cred, &a)),
        Error::ClientDataMalformed(_)
    ));
}

// ---- steps 10-14: client data members --------------------------------------------------------

#[test]
fn step_10_type_must_be_webauthn_get() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.ty = "webauthn.create".into();
    assert_eq!(
        err(verify(&cred, &a)),
        Error::ClientDataTypeMismatch {
            expected: "webauthn.get",
            got: "webauthn.create".into()
        }
    );
}

#[test]
fn step_11_challenge_must_match() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.challenge = b64::encode(b"a challenge from another ceremony");
    assert_eq!(err(verify(&cred, &a)), Error::ChallengeMismatch);
}

#[test]
fn step_12_origin_must_be_expected() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.origin = "https://evil-example.com".into();
    assert_eq!(
        err(verify(&cred, &a)),
        Error::OriginMismatch {
            got: "https://evil-example.com".into()
        }
    );
}

#[test]
fn step_12_evil_example_com_is_not_a_subdomain_of_example_com() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.origins.subdomains_of = vec!["example.com".into()];
    let mut a = cred.assert();
    a.client_data.origin = "https://login.example.com".into();
    assert_eq!(
        verify_with(&rp, &authentication_state(), &a, &stored(&cred))
            .unwrap()
            .sign_count,
        6
    );

    a.client_data.origin = "https://evil-example.com".into();
    assert_eq!(
        err(verify_with(
            &rp,
            &authentication_state(),
            &a,
            &stored(&cred)
        )),
        Error::OriginMismatch {
            got: "https://evil-example.com".into()
        }
    );
}

#[test]
fn step_13_cross_origin_true_is_refused_unless_allowed() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.cross_origin = Some(true);
    assert_eq!(err(verify(&cred, &a)), Error::CrossOriginNotAllowed);

    let mut rp = rp();
    rp.allow_cross_origin = true;
    assert_eq!(
        verify_with(&rp, &authentication_state(), &a, &stored(&cred))
            .unwrap()
            .sign_count,
        6
    );
}

#[test]
fn step_14_top_origin_must_be_an_expected_top_origin() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.allow_cross_origin = true;
    rp.top_origins = vec!["https://partner.example".into()];
    let mut a = cred.assert();
    a.client_data.cross_origin = Some(true);
    a.client_data.top_origin = Some("https://evil.example".into());
    assert_eq!(
        err(verify_with(
            &rp,
            &authentication_state(),
            &a,
            &stored(&cred)
        )),
        Error::TopOriginMismatch {
            got: "https://evil.example".into()
        }
    );

    a.client_data.top_origin = Some("https://partner.example".into());
    assert_eq!(
        verify_with(&rp, &authentication_state(), &a, &stored(&cred))
            .unwrap()
            .sign_count,
        6
    );
}

#[test]
fn step_14_top_origin_needs_cross_origin_to_be_allowed() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.cross_origin = None;
    a.client_data.top_origin = Some("https://partner.example".into());
    assert_eq!(err(verify(&cred, &a)), Error::CrossOriginNotAllowed);
}

#[test]
fn legacy_token_binding_status_must_be_valid() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.client_data.token_binding = Some(serde_json::json!({ "status": "bogus" }));
    assert_eq!(
        err(verify(&cred, &a)),
        Error::TokenBindingInvalid {
            got: "bogus".into()
        }
    );
}

// ---- authenticator data decoding --------------------------------------------------------------

#[test]
fn truncated_auth_data_is_malformed() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    let mut bytes = a.auth_data.to_bytes();
    bytes.truncate(36);
    a.auth_data_override = Some(bytes);
    assert!(matches!(
        err(verify(&cred, &a)),
        Error::AuthenticatorDataMalformed(_)
    ));
}

#[test]
fn auth_data_trailing_bytes_are_refused() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.trailing = vec![0xa0];
    assert_eq!(
        err(verify(&cred, &a)),
        Error::AuthenticatorDataTrailingBytes(1)
    );
}

// ---- step 15: rpIdHash (and the appid extension) ---------------------------------------------

#[test]
fn step_15_rp_id_hash_must_be_the_rp_ids() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.rp_id_hash = rp_id_hash(OTHER_RP_ID);
    assert_eq!(
        err(verify(&cred, &a)),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

fn appid_assertion(cred: &TestCredential, appid_output: Option<bool>) -> Assertion<'_> {
    let mut a = cred.assert();
    a.auth_data.rp_id_hash = rp_id_hash(APPID);
    if let Some(used) = appid_output {
        a.client_extension_results
            .insert("appid".into(), serde_json::Value::Bool(used));
    }
    a
}

fn appid_state() -> AuthenticationState {
    AuthenticationState {
        appid: Some(APPID.into()),
        ..authentication_state()
    }
}

#[test]
fn step_15_appid_hash_accepted_when_offered_and_used() {
    let cred = TestCredential::es256();
    let a = appid_assertion(&cred, Some(true));
    let v = verify_with(&rp(), &appid_state(), &a, &stored(&cred)).unwrap();
    assert!(v.used_appid);
    assert_eq!(v.sign_count, 6);
}

#[test]
fn step_15_appid_hash_refused_when_the_rp_did_not_offer_an_appid() {
    let cred = TestCredential::es256();
    let a = appid_assertion(&cred, Some(true));
    assert_eq!(
        err(verify(&cred, &a)),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

#[test]
fn step_15_appid_hash_refused_when_the_client_did_not_report_using_it() {
    let cred = TestCredential::es256();
    for output in [None, Some(false)] {
        let a = appid_assertion(&cred, output);
        assert_eq!(
            err(verify_with(&rp(), &appid_state(), &a, &stored(&cred))),
            Error::RpIdHashMismatch {
                rp_id: RP_ID.into()
            },
            "appid output {output:?}"
        );
    }
}

#[test]
fn step_15_appid_output_must_be_the_boolean_true() {
    let cred = TestCredential::es256();
    let mut a = appid_assertion(&cred, None);
    a.client_extension_results
        .insert("appid".into(), serde_json::json!("true"));
    assert_eq!(
        err(verify_with(&rp(), &appid_state(), &a, &stored(&cred))),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

#[test]
fn step_15_hash_of_another_appid_is_refused() {
    let cred = TestCredential::es256();
    let mut a = appid_assertion(&cred, Some(true));
    a.auth_data.rp_id_hash = rp_id_hash("https://evil.example/app-id.json");
    assert_eq!(
        err(verify_with(&rp(), &appid_state(), &a, &stored(&cred))),
        Error::RpIdHashMismatch {
            rp_id: RP_ID.into()
        }
    );
}

#[test]
fn step_15_rp_id_hash_still_accepted_when_an_appid_was_offered_but_not_used() {
    let cred = TestCredential::es256();
    let v = verify_with(&rp(), &appid_state(), &cred.assert(), &stored(&cred)).unwrap();
    assert!(!v.used_appid);
}

// ---- steps 16-19: flags ----------------------------------------------------------------------

#[test]
fn step_16_user_present_flag_must_be_set() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UV;
    assert_eq!(err(verify(&cred, &a)), Error::UserNotPresent);
}

#[test]
fn step_17_user_verification_required_needs_uv() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP;
    let state = AuthenticationState {
        user_verification: UserVerification::Required,
        ..authentication_state()
    };
    assert_eq!(
        err(verify_with(&rp(), &state, &a, &stored(&cred))),
        Error::UserVerificationRequired
    );
}

#[test]
fn step_17_uv_is_ignored_unless_required() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP;
    for uv in [UserVerification::Preferred, UserVerification::Discouraged] {
        let state = AuthenticationState {
            user_verification: uv,
            ..authentication_state()
        };
        let v = verify_with(&rp(), &state, &a, &stored(&cred)).unwrap();
        assert!(!v.user_verified, "{uv:?}");
    }
}

#[test]
fn step_18_backup_state_without_backup_eligibility_is_refused() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | BS;
    assert_eq!(err(verify(&cred, &a)), Error::BackupStateWithoutEligibility);
}

#[test]
fn step_19_backup_eligibility_may_not_be_lost() {
    let cred = TestCredential::es256();
    let a = cred.assert(); // BE = 0
    assert_eq!(
        err(verify_with(
            &rp(),
            &authentication_state(),
            &a,
            &cred.stored(STORED_COUNT, true)
        )),
        Error::BackupEligibilityChanged {
            stored: true,
            got: false
        }
    );
}

/// The stored flag is compared only once the signature holds: a request signed by another key
/// learns nothing about it.
#[test]
fn step_19_the_stored_backup_eligibility_is_not_told_to_an_unsigned_request() {
    let cred = TestCredential::es256();
    let other_key = TestKey::es256();
    let mut a = cred.assert(); // BE = 0, stored BE = 1
    a.signer = &other_key;
    let stored = cred.stored(STORED_COUNT, true);
    let mut rp = rp();
    rp.backup_eligibility_change = BackupEligibilityChange::Reject;
    assert_eq!(
        err(verify_with(&rp, &authentication_state(), &a, &stored)),
        Error::BadSignature
    );
}

#[test]
fn step_19_backup_eligibility_gain_accepted_under_allow_upgrade() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | BE;
    let rp = rp();
    assert_eq!(
        rp.backup_eligibility_change,
        BackupEligibilityChange::AllowUpgrade
    );
    let v = verify_with(
        &rp,
        &authentication_state(),
        &a,
        &cred.stored(STORED_COUNT, false),
    )
    .unwrap();
    assert!(v.backup_eligible);
    assert!(!v.backed_up);
}

#[test]
fn step_19_backup_eligibility_gain_refused_under_reject() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | BE;
    let mut rp = rp();
    rp.backup_eligibility_change = BackupEligibilityChange::Reject;
    assert_eq!(
        err(verify_with(
            &rp,
            &authentication_state(),
            &a,
            &cred.stored(STORED_COUNT, false)
        )),
        Error::BackupEligibilityChanged {
            stored: false,
            got: true
        }
    );
}

#[test]
fn step_19_backup_eligibility_loss_refused_under_reject_too() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.backup_eligibility_change = BackupEligibilityChange::Reject;
    assert_eq!(
        err(verify_with(
            &rp,
            &authentication_state(),
            &cred.assert(),
            &cred.stored(STORED_COUNT, true)
        )),
        Error::BackupEligibilityChanged {
            stored: true,
            got: false
        }
    );
}

#[test]
fn step_19_backup_eligible_refused_when_policy_forbids_synced_credentials() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | BE | BS;
    let mut rp = rp();
    rp.allow_backup_eligible = false;
    assert_eq!(
        err(verify_with(
            &rp,
            &authentication_state(),
            &a,
            &cred.stored(STORED_COUNT, true)
        )),
        Error::BackupEligibleNotAllowed
    );
}

#[test]
fn step_19_backup_state_may_change_while_eligibility_stays() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | BE | BS;
    let v = verify_with(
        &rp(),
        &authentication_state(),
        &a,
        &cred.stored(STORED_COUNT, true),
    )
    .unwrap();
    assert!(v.backed_up);
    a.auth_data.flags = UP | UV | BE;
    let v = verify_with(
        &rp(),
        &authentication_state(),
        &a,
        &cred.stored(STORED_COUNT, true),
    )
    .unwrap();
    assert!(!v.backed_up);
}

// ---- steps 20-21: the signature ---------------------------------------------------------------

#[test]
fn step_21_signature_over_other_data_is_refused() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    let mut other = a.auth_data_bytes();
    other.extend_from_slice(&sha256(b"{\"type\":\"webauthn.get\"}"));
    a.signed_data_override = Some(other);
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

#[test]
fn step_21_signature_by_another_key_is_refused() {
    let cred = TestCredential::es256();
    let other_key = TestKey::es256();
    let mut a = cred.assert();
    a.signer = &other_key;
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

#[test]
fn step_21_eddsa_signature_over_other_data_is_refused() {
    let cred = TestCredential::eddsa();
    let mut a = cred.assert();
    let mut other = a.auth_data_bytes();
    other.extend_from_slice(&sha256(b"other client data"));
    a.signed_data_override = Some(other);
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

#[test]
fn step_21_signature_covers_the_auth_data() {
    // Signed, then the counter in authenticator data is raised: the signature no longer covers it.
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.signature_override = Some(cred.key.sign(&a.signed_data()));
    a.auth_data.sign_count = 7;
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

#[test]
fn step_21_signature_covers_the_client_data_hash() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.signature_override = Some(cred.key.sign(&a.signed_data()));
    a.client_data
        .extra
        .push(("note".into(), serde_json::json!("changed after signing")));
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

#[test]
fn step_21_garbage_signature_is_refused() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.signature_override = Some(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
    assert_eq!(err(verify(&cred, &a)), Error::BadSignature);
}

// ---- step 22: the signature counter -----------------------------------------------------------

fn with_count(cred: &TestCredential, got: u32) -> Assertion<'_> {
    let mut a = cred.assert();
    a.auth_data.sign_count = got;
    a
}

#[test]
fn step_22_counter_regression_is_refused() {
    let cred = TestCredential::es256();
    assert_eq!(
        err(verify(&cred, &with_count(&cred, 3))),
        Error::CounterRegressed {
            stored: STORED_COUNT,
            got: 3
        }
    );
}

#[test]
fn step_22_equal_counter_is_refused() {
    let cred = TestCredential::es256();
    assert_eq!(
        err(verify(&cred, &with_count(&cred, STORED_COUNT))),
        Error::CounterRegressed {
            stored: STORED_COUNT,
            got: STORED_COUNT
        }
    );
}

#[test]
fn step_22_counter_dropping_to_zero_is_a_regression() {
    let cred = TestCredential::es256();
    assert_eq!(
        err(verify(&cred, &with_count(&cred, 0))),
        Error::CounterRegressed {
            stored: STORED_COUNT,
            got: 0
        }
    );
}

#[test]
fn step_22_both_counters_zero_is_accepted() {
    let cred = TestCredential::es256();
    let v = verify_with(
        &rp(),
        &authentication_state(),
        &with_count(&cred, 0),
        &cred.stored(0, false),
    )
    .unwrap();
    assert_eq!(v.sign_count, 0);
}

#[test]
fn step_22_counter_increase_is_accepted_and_returned() {
    let cred = TestCredential::es256();
    let v = verify(&cred, &with_count(&cred, 1_000)).unwrap();
    assert_eq!(v.sign_count, 1_000);
    // The first non-zero count after zero is an increase too.
    let v = verify_with(
        &rp(),
        &authentication_state(),
        &with_count(&cred, 1),
        &cred.stored(0, false),
    )
    .unwrap();
    assert_eq!(v.sign_count, 1);
}

#[test]
fn step_22_regression_accepted_when_policy_allows_it() {
    let cred = TestCredential::es256();
    let mut rp = rp();
    rp.reject_counter_regression = false;
    let v = verify_with(
        &rp,
        &authentication_state(),
        &with_count(&cred, 3),
        &stored(&cred),
    )
    .unwrap();
    // The stored counter is kept rather than moved backwards.
    assert_eq!(v.sign_count, STORED_COUNT);
}

// ---- step 23: extension outputs ---------------------------------------------------------------

#[test]
fn step_23_unsolicited_extension_outputs_are_tolerated() {
    let cred = TestCredential::es256();
    let mut a = cred.assert();
    a.auth_data.flags = UP | UV | ED;
    a.auth_data.extensions = Some(cbor(&ciborium::value::Value::Map(vec![(
        text("unknownExt"),
        int(1),
    )])));
    a.client_extension_results
        .insert("largeBlob".into(), serde_json::json!({ "written": false }));
    let v = verify(&cred, &a).unwrap();
    assert_eq!(v.flags, Flags(UP | UV | ED));
}
