//! authenticatorConfig against the authenticator: toggleAlwaysUv, setMinPINLength with RP IDs
//! and forceChangePin, and the minPinLength extension output.

use ciborium::value::Value;

use super::*;
use crate::client::config::MinPinLength;
use crate::client::ctap2::{MakeCredentialRequest, Rp};
use crate::pin::Permissions;
use crate::status::StatusCode;

const ACFG: Permissions = Permissions::AUTHENTICATOR_CONFIG;

#[test]
fn always_uv_is_toggled_and_shows_in_get_info() {
    let mut ctap = ctap2_with_pin();
    assert_eq!(ctap.info().option("alwaysUv"), Some(false));
    let token = token(&mut ctap, ACFG);
    ctap.toggle_always_uv(&token).unwrap();
    assert_eq!(ctap.refresh_info().unwrap().option("alwaysUv"), Some(true));
    // With alwaysUv a makeCredential without a token is refused, and the message says why.
    let err = ctap
        .make_credential(&MakeCredentialRequest {
            rp: Rp {
                id: "example.com".into(),
                name: None,
            },
            user: user(b"u", "u", "U"),
            algorithms: vec![-7],
            ..MakeCredentialRequest::default()
        })
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PuatRequired));
    assert_eq!(
        err.to_string(),
        "this key requires user verification for every operation (alwaysUv): give the PIN \
         (CTAP status 0x36)"
    );
    // The same token toggles it back.
    ctap.toggle_always_uv(&token).unwrap();
    assert_eq!(ctap.refresh_info().unwrap().option("alwaysUv"), Some(false));
}

#[test]
fn min_pin_length_with_rp_ids_reaches_the_extension() {
    let mut ctap = ctap2_with_pin();
    assert_eq!(ctap.info().min_pin_length, Some(4));
    let token = token(&mut ctap, ACFG);
    ctap.set_min_pin_length(
        &token,
        &MinPinLength {
            new_min_pin_length: Some(6),
            rp_ids: vec!["example.com".into()],
            force_change_pin: false,
        },
    )
    .unwrap();
    let info = ctap.refresh_info().unwrap();
    assert_eq!(info.min_pin_length, Some(6));
    // The PIN is shorter than the new minimum: the key demands a change.
    assert_eq!(info.force_pin_change, Some(true));
    ctap.change_pin(PIN, "123456").unwrap();
    assert_eq!(ctap.refresh_info().unwrap().force_pin_change, Some(false));

    let want = vec![("minPinLength".to_owned(), Value::Bool(true))];
    let listed = make_with_pin(&mut ctap, "123456", "example.com", want.clone());
    assert_eq!(
        extension_outputs(&listed.auth_data),
        Some(text_map(&[("minPinLength", Value::Integer(6.into()))]))
    );
    // An RP not in the list learns nothing.
    let other = make_with_pin(&mut ctap, "123456", "example.org", want);
    assert_eq!(extension_outputs(&other.auth_data), None);

    // The minimum only grows.
    let token = ctap.get_pin_uv_auth_token("123456", ACFG, None).unwrap();
    let err = ctap
        .set_min_pin_length(
            &token,
            &MinPinLength {
                new_min_pin_length: Some(5),
                ..MinPinLength::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinPolicyViolation));
}

#[test]
fn force_change_pin_blocks_tokens_until_the_pin_changes() {
    let mut ctap = ctap2_with_pin();
    let token = token(&mut ctap, ACFG);
    ctap.set_min_pin_length(
        &token,
        &MinPinLength {
            force_change_pin: true,
            ..MinPinLength::default()
        },
    )
    .unwrap();
    assert_eq!(ctap.refresh_info().unwrap().force_pin_change, Some(true));
    // CTAP 2.1 answers PIN_INVALID to the right PIN; the client tells it from a wrong one.
    let err = ctap.get_pin_uv_auth_token(PIN, ACFG, None).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinInvalid));
    assert_eq!(
        err.to_string(),
        "the PIN is right, but the key requires a new one first: change it with `latch key pin \
         change` (CTAP status 0x31)"
    );
    let err = ctap.get_pin_uv_auth_token("0000", ACFG, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wrong PIN, 7 retries left (CTAP status 0x31)"
    );
    // The same PIN again is not a change.
    let err = ctap.change_pin(PIN, PIN).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinPolicyViolation));
    ctap.change_pin(PIN, "4321").unwrap();
    assert_eq!(ctap.refresh_info().unwrap().force_pin_change, Some(false));
    ctap.get_pin_uv_auth_token("4321", ACFG, None).unwrap();
}

/// makeCredential (non-discoverable) with a token for `pin`.
fn make_with_pin<D: CtapDevice>(
    ctap: &mut Ctap2<D>,
    pin: &str,
    rp_id: &str,
    extensions: Vec<(String, Value)>,
) -> crate::client::MadeCredential {
    use crate::client::ctap2::PinUvAuthParam;
    let token = ctap
        .get_pin_uv_auth_token(pin, Permissions::MAKE_CREDENTIAL, Some(rp_id))
        .unwrap();
    let hash = [0x42; 32];
    ctap.make_credential(&MakeCredentialRequest {
        client_data_hash: hash,
        rp: Rp {
            id: rp_id.into(),
            name: None,
        },
        user: user(b"u", "u", "U"),
        algorithms: vec![-7],
        extensions,
        pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
        ..MakeCredentialRequest::default()
    })
    .unwrap()
}
