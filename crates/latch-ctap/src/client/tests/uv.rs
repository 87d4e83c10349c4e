//! Built-in user verification against an authenticator that has it: getUVRetries,
//! getPinUvAuthTokenUsingUvWithPermissions, a token used for makeCredential, and the
//! UV_INVALID → UV_BLOCKED sequence.

use super::*;
use crate::client::ctap2::{MakeCredentialRequest, PinUvAuthParam, Rp};
use crate::command::Config;
use crate::env::Presence;
use crate::pin::Permissions;
use crate::status::StatusCode;

fn uv_key() -> Ctap2<HidDevice<Loopback>> {
    let config = Config {
        aaguid: [0xAA; 16],
        firmware_version: 1,
        attestation: None,
        built_in_uv: true,
        synced_discoverable: false,
    };
    let device = HidDevice::open(Loopback::with_config(config, 21).unwrap(), NONCE).unwrap();
    Ctap2::with_rng(device, Box::new(XorShiftRng::new(4))).unwrap()
}

fn uv(ctap: &mut Ctap2<HidDevice<Loopback>>) -> &mut crate::testing::ScriptedPresence {
    &mut ctap.device_mut().transport_mut().env_mut().presence
}

#[test]
fn a_uv_token_makes_a_verified_credential() {
    let mut ctap = uv_key();
    let info = ctap.info();
    assert_eq!(info.option("uv"), Some(true));
    assert_eq!(info.preferred_platform_uv_attempts, Some(1));
    assert_eq!(info.uv_modality, Some(2));
    assert_eq!(ctap.get_uv_retries().unwrap(), 8);
    let token = ctap
        .get_uv_token(Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    assert_eq!(uv(&mut ctap).uv_requests.len(), 1);
    let hash = [0x42; 32];
    let made = ctap
        .make_credential(&MakeCredentialRequest {
            client_data_hash: hash,
            rp: Rp {
                id: "example.com".into(),
                name: None,
            },
            user: user(b"u", "u", "U"),
            algorithms: vec![-7],
            pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
            ..MakeCredentialRequest::default()
        })
        .unwrap();
    // UP | UV | AT.
    assert_eq!(made.auth_data[32], 0x45);
    // The token is bound to example.com (the authenticator answers an RP mismatch with
    // UNAUTHORIZED_PERMISSION, like credential management does).
    let err = ctap
        .make_credential(&MakeCredentialRequest {
            client_data_hash: hash,
            rp: Rp {
                id: "example.org".into(),
                name: None,
            },
            user: user(b"u", "u", "U"),
            algorithms: vec![-7],
            pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
            ..MakeCredentialRequest::default()
        })
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UnauthorizedPermission));
}

#[test]
fn failed_verifications_count_down_to_blocked() {
    let mut ctap = uv_key();
    uv(&mut ctap).uv_default = Presence::Denied;
    for left in (1..8).rev() {
        let err = ctap
            .get_uv_token(Permissions::MAKE_CREDENTIAL, Some("example.com"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "built-in user verification failed: try again, or use the PIN instead (CTAP status \
             0x3f)"
        );
        assert_eq!(ctap.get_uv_retries().unwrap(), left);
    }
    for _ in 0..2 {
        let err = ctap
            .get_uv_token(Permissions::MAKE_CREDENTIAL, Some("example.com"))
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::UvBlocked));
        assert_eq!(
            err.to_string(),
            "built-in user verification is blocked after too many failures: use the PIN \
             instead (a PIN unlocks it again, as does replugging the key) (CTAP status 0x3c)"
        );
    }
    assert_eq!(ctap.get_uv_retries().unwrap(), 0);
    // Once blocked the key no longer asks.
    assert_eq!(uv(&mut ctap).uv_requests.len(), 8);
}

/// §6.5.5.5: a correct PIN gives built-in UV its attempts back (the error message promises
/// it), and a wrong one does not.
#[test]
fn a_correct_pin_unblocks_built_in_uv() {
    let mut ctap = uv_key();
    ctap.set_pin("4321").unwrap();
    uv(&mut ctap).uv_default = Presence::Denied;
    for _ in 0..8 {
        let _ = ctap.get_uv_token(Permissions::MAKE_CREDENTIAL, Some("example.com"));
    }
    assert_eq!(ctap.get_uv_retries().unwrap(), 0);
    assert!(ctap
        .pin_token("0000", Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .is_err());
    assert_eq!(ctap.get_uv_retries().unwrap(), 0);
    ctap.pin_token("4321", Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    assert_eq!(ctap.get_uv_retries().unwrap(), 8);
    uv(&mut ctap).uv_default = Presence::Approved;
    ctap.get_uv_token(Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
}
