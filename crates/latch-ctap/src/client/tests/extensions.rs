//! WebAuthn extensions through the browser part against the authenticator: credProps,
//! credProtect, hmac-secret / prf enablement, largeBlob (support, write, read), credBlob and
//! getCredBlob; and the refusals when the key cannot do what the RP requires.

use latch_webauthn::options::{creation_options, request_options, SystemRng};
use latch_webauthn::options::{AuthenticationPolicy, RegistrationPolicy};
use latch_webauthn::wire::{CreationOptionsJson, RequestOptionsJson, UserEntity};
use latch_webauthn::{b64::Base64Url, RelyingParty, UserVerification};
use serde_json::{json, Value as Json};

use super::*;
use crate::client::webauthn::{create, get};
use crate::command::rp_id_hash;
use crate::pin::Permissions;

const ORIGIN: &str = "https://example.com";

fn create_options(extensions: Json, resident_key: &str) -> CreationOptionsJson {
    let rp = RelyingParty::new("example.com", [ORIGIN]);
    let user = UserEntity {
        id: Base64Url(b"user-7".to_vec()),
        name: "ada".into(),
        display_name: "Ada".into(),
    };
    let policy = RegistrationPolicy {
        user_verification: UserVerification::Required,
        ..RegistrationPolicy::default()
    };
    let (mut options, _) = creation_options(&rp, &policy, user, vec![], &mut SystemRng);
    let mut selection = options.authenticator_selection.clone().unwrap_or_default();
    selection.resident_key = Some(resident_key.into());
    options.authenticator_selection = Some(selection);
    options.extensions = extensions.as_object().unwrap().clone();
    options
}

fn get_options(extensions: Json) -> RequestOptionsJson {
    let rp = RelyingParty::new("example.com", [ORIGIN]);
    let policy = AuthenticationPolicy {
        user_verification: UserVerification::Required,
        ..AuthenticationPolicy::default()
    };
    let (mut options, _) = request_options(&rp, &policy, vec![], None, &mut SystemRng);
    options.extensions = extensions.as_object().unwrap().clone();
    options
}

#[test]
fn extensions_reach_the_key_and_come_back_as_client_results() {
    let mut ctap = ctap2_with_pin();
    let options = create_options(
        json!({
            "credProps": true,
            "credentialProtectionPolicy": "userVerificationRequired",
            "enforceCredentialProtectionPolicy": true,
            "hmacCreateSecret": true,
            "prf": {},
            "largeBlob": { "support": "required" },
            "credBlob": "AQID",
        }),
        "required",
    );
    let token = ctap
        .get_pin_uv_auth_token(PIN, Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    let response = create(&mut ctap, &options, ORIGIN, Some(&token)).unwrap();
    assert_eq!(
        Json::Object(response.client_extension_results),
        json!({
            "credProps": { "rk": true },
            "hmacCreateSecret": true,
            "prf": { "enabled": true },
            "largeBlob": { "supported": true },
            "credBlob": true,
        })
    );
    // The key stored the protection level and a largeBlobKey.
    let cm = super::token(&mut ctap, Permissions::CREDENTIAL_MANAGEMENT);
    let listed = ctap
        .enumerate_credentials(&cm, &rp_id_hash("example.com"))
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].credential_id, response.raw_id.0);
    assert_eq!(listed[0].cred_protect, Some(3));
    assert_eq!(listed[0].large_blob_key.as_ref().map(Vec::len), Some(32));

    // get(): write a large blob, read it back, and fetch the credBlob.
    let ga_lbw = Permissions::GET_ASSERTION.union(Permissions::LARGE_BLOB_WRITE);
    let token = ctap
        .get_pin_uv_auth_token(PIN, ga_lbw, Some("example.com"))
        .unwrap();
    let written = get(
        &mut ctap,
        &get_options(json!({ "largeBlob": { "write": "aGVsbG8" } })),
        ORIGIN,
        Some(&token),
    )
    .unwrap();
    assert_eq!(
        Json::Object(written.client_extension_results),
        json!({ "largeBlob": { "written": true } })
    );
    let token = ctap
        .get_pin_uv_auth_token(PIN, Permissions::GET_ASSERTION, Some("example.com"))
        .unwrap();
    let read = get(
        &mut ctap,
        &get_options(json!({ "largeBlob": { "read": true }, "getCredBlob": true })),
        ORIGIN,
        Some(&token),
    )
    .unwrap();
    assert_eq!(
        Json::Object(read.client_extension_results),
        json!({ "largeBlob": { "blob": "aGVsbG8" }, "getCredBlob": "AQID" })
    );
}

#[test]
fn cred_props_reports_a_non_discoverable_credential() {
    let mut ctap = ctap2_with_pin();
    let token = ctap
        .get_pin_uv_auth_token(PIN, Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    let options = create_options(
        json!({ "credProps": true, "hmacCreateSecret": true }),
        "discouraged",
    );
    let response = create(&mut ctap, &options, ORIGIN, Some(&token)).unwrap();
    assert_eq!(
        Json::Object(response.client_extension_results),
        json!({ "credProps": { "rk": false }, "hmacCreateSecret": true })
    );
}

#[test]
fn what_the_key_cannot_do_is_refused_before_sending() {
    let mut ctap = ctap2_with_pin();
    ctap.info_mut().options.insert("largeBlobs".into(), false);
    ctap.info_mut().extensions.retain(|e| e != "credProtect");
    let token = ctap
        .get_pin_uv_auth_token(PIN, Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    let cases = [
        (
            json!({ "largeBlob": { "support": "required" } }),
            "not supported by this key: the key has no large-blob storage (largeBlobs) and the \
             RP requires it",
        ),
        (
            json!({
                "credentialProtectionPolicy": "userVerificationRequired",
                "enforceCredentialProtectionPolicy": true,
            }),
            "not supported by this key: the key cannot protect credentials (credProtect) and \
             the RP enforces it",
        ),
        (
            json!({ "credentialProtectionPolicy": "always" }),
            "extension input credentialProtectionPolicy is not a known policy",
        ),
        (
            json!({ "largeBlob": { "read": true } }),
            "extension input largeBlob: read and write are for get(), not create()",
        ),
        (
            json!({ "credBlob": "not base64!" }),
            "extension input credBlob is not base64url",
        ),
    ];
    for (extensions, message) in cases {
        let options = create_options(extensions, "required");
        let err = create(&mut ctap, &options, ORIGIN, Some(&token)).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    // Not enforced, and "preferred": the credential is made without them.
    let options = create_options(
        json!({
            "credentialProtectionPolicy": "userVerificationRequired",
            "largeBlob": { "support": "preferred" },
        }),
        "required",
    );
    let response = create(&mut ctap, &options, ORIGIN, Some(&token)).unwrap();
    assert_eq!(
        Json::Object(response.client_extension_results),
        json!({ "largeBlob": { "supported": false } })
    );
}
