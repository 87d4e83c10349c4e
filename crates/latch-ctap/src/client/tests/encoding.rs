//! Exact request bytes, derived by hand from CTAP 2.1, for the commands the authenticator does
//! not implement yet: credential management, config, U2F.

use super::*;
use crate::client::config::MinPinLength;
use crate::client::ctap2::User;
use crate::client::u2f::{AuthenticateMode, U2f};
use crate::client::PinUvAuthToken;
use crate::pin::PinUvAuthProtocol;
use crate::status::StatusCode;

const K: [u8; 32] = [0x11; 32];

fn token() -> PinUvAuthToken {
    PinUvAuthToken::from_parts(PinUvAuthProtocol::Two, K.to_vec())
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const OK: &[u8] = &[0x00];

#[test]
fn cred_mgmt_metadata_and_enumerate_rps() {
    let rp_hash = crate::client::sha256(b"example.com");
    let mut rp_answer = cat(&[
        &hex("00 a3 03 a2 62 6964 6b"),
        b"example.com",
        &hex("64 6e616d65 67"),
        b"Example",
        &hex("04 58 20"),
        &rp_hash,
        &hex("05 02"),
    ]);
    let mut second = cat(&[&hex("00 a2 03 a1 62 6964 65"), b"a.org", &hex("04 58 20")]);
    second.extend(crate::client::sha256(b"a.org"));
    let mut ctap = canned(
        &[("credMgmt", true)],
        1200,
        vec![hex("00 a2 01 03 02 18 16"), rp_answer.clone(), second],
    );
    let metadata = ctap.creds_metadata(&token()).unwrap();
    assert_eq!((metadata.existing, metadata.remaining), (3, 22));
    let rps = ctap.enumerate_rps(&token()).unwrap();
    assert_eq!(rps.len(), 2);
    assert_eq!(rps[0].rp.id, "example.com");
    assert_eq!(rps[0].rp.name.as_deref(), Some("Example"));
    assert_eq!(rps[0].rp_id_hash, rp_hash);
    assert_eq!(rps[1].rp.id, "a.org");
    let requests = &ctap.device_mut().requests;
    // getCredsMetadata: {1: 1, 3: 2, 4: authenticate(token, 0x01)}.
    assert_eq!(
        requests[0],
        cat(&[&hex("0a a3 01 01 03 02 04 58 20"), &hmac(&K, &[0x01])])
    );
    assert_eq!(
        requests[1],
        cat(&[&hex("0a a3 01 02 03 02 04 58 20"), &hmac(&K, &[0x02])])
    );
    // enumerateRPsGetNextRP: no auth.
    assert_eq!(requests[2], hex("0a a1 01 03"));

    // No RPs: NO_CREDENTIALS is an empty list.
    rp_answer.clear();
    let mut ctap = canned(&[("credMgmt", true)], 1200, vec![vec![0x2E]]);
    assert!(ctap.enumerate_rps(&token()).unwrap().is_empty());
}

#[test]
fn cred_mgmt_enumerate_credentials_delete_update() {
    let rp_hash = crate::client::sha256(b"example.com");
    let id = [0xC1u8; 16];
    // {6: {"id": h'75'}, 7: {"id": id, "type": "public-key"}, 8: {1: 2}, 9: 1, 10: 2}
    let answer = cat(&[
        &hex("00 a5 06 a1 62 6964 41 75 07 a2 62 6964 50"),
        &id,
        &hex("64 74797065 6a 7075626c69632d6b6579 08 a1 01 02 09 01 0a 02"),
    ]);
    let mut ctap = canned(
        &[("credentialMgmtPreview", true)],
        1200,
        vec![answer, OK.to_vec(), OK.to_vec()],
    );
    let creds = ctap.enumerate_credentials(&token(), &rp_hash).unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].credential_id, id);
    assert_eq!(creds[0].user.id, b"u");
    assert_eq!(creds[0].cred_protect, Some(2));
    ctap.delete_credential(&token(), &id).unwrap();
    let user = User {
        id: b"u".to_vec(),
        name: Some("bob".into()),
        display_name: Some("Bob".into()),
    };
    ctap.update_user_information(&token(), &id, &user).unwrap();

    let requests = &ctap.device_mut().requests;
    // Legacy command byte 0x41: the key only has credentialMgmtPreview.
    let params = cat(&[&hex("a1 01 58 20"), &rp_hash]);
    assert_eq!(
        requests[0],
        cat(&[
            &hex("41 a4 01 04 02"),
            &params,
            &hex("03 02 04 58 20"),
            &hmac(&K, &cat(&[&[0x04], &params]))
        ])
    );
    let descriptor = cat(&[
        &hex("a2 62 6964 50"),
        &id,
        &hex("64 74797065 6a 7075626c69632d6b6579"),
    ]);
    let params = cat(&[&hex("a1 02"), &descriptor]);
    assert_eq!(
        requests[1],
        cat(&[
            &hex("41 a4 01 06 02"),
            &params,
            &hex("03 02 04 58 20"),
            &hmac(&K, &cat(&[&[0x06], &params]))
        ])
    );
    let params = cat(&[
        &hex("a2 02"),
        &descriptor,
        &hex("03 a3 62 6964 41 75 64 6e616d65 63 626f62 6b 646973706c61794e616d65 63 426f62"),
    ]);
    assert_eq!(
        requests[2],
        cat(&[
            &hex("41 a4 01 07 02"),
            &params,
            &hex("03 02 04 58 20"),
            &hmac(&K, &cat(&[&[0x07], &params]))
        ])
    );
}

#[test]
fn cred_mgmt_needs_the_option() {
    let mut ctap = canned(&[], 1200, vec![]);
    assert!(matches!(
        ctap.creds_metadata(&token()),
        Err(Error::Unsupported(_))
    ));
    assert!(ctap.device_mut().requests.is_empty());
}

#[test]
fn config_toggle_always_uv_and_set_min_pin_length() {
    let mut ctap = canned(
        &[("authnrCfg", true)],
        1200,
        vec![OK.to_vec(), OK.to_vec(), OK.to_vec()],
    );
    ctap.toggle_always_uv(&token()).unwrap();
    ctap.set_min_pin_length(
        &token(),
        &MinPinLength {
            new_min_pin_length: Some(6),
            rp_ids: vec!["example.com".into()],
            force_change_pin: true,
        },
    )
    .unwrap();
    // Protocol 1: a 16-byte param.
    let one = PinUvAuthToken::from_parts(PinUvAuthProtocol::One, K.to_vec());
    ctap.set_min_pin_length(&one, &MinPinLength::default())
        .unwrap();

    let prefix = [0xFFu8; 32];
    let requests = &ctap.device_mut().requests;
    assert_eq!(
        requests[0],
        cat(&[
            &hex("0d a3 01 02 03 02 04 58 20"),
            &hmac(&K, &cat(&[&prefix, &[0x0D, 0x02]]))
        ])
    );
    let params = cat(&[&hex("a3 01 06 02 81 6b"), b"example.com", &hex("03 f5")]);
    assert_eq!(
        requests[1],
        cat(&[
            &hex("0d a4 01 03 02"),
            &params,
            &hex("03 02 04 58 20"),
            &hmac(&K, &cat(&[&prefix, &[0x0D, 0x03], &params]))
        ])
    );
    assert_eq!(
        requests[2],
        cat(&[
            &hex("0d a3 01 03 03 01 04 50"),
            &hmac(&K, &cat(&[&prefix, &[0x0D, 0x03]]))[..16]
        ])
    );
}

#[test]
fn config_refused_by_the_key_carries_the_status() {
    let mut ctap = canned(&[("authnrCfg", true)], 1200, vec![vec![0x33]]);
    let err = ctap.toggle_always_uv(&token()).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinAuthInvalid));
}

#[test]
fn reset_and_selection_bytes_and_reset_message() {
    let mut ctap = canned(&[], 1200, vec![OK.to_vec(), OK.to_vec(), vec![0x30]]);
    ctap.reset().unwrap();
    ctap.selection().unwrap();
    let err = ctap.reset().unwrap_err();
    assert!(err
        .to_string()
        .starts_with("reset is only allowed within 10 seconds"));
    assert_eq!(
        ctap.device_mut().requests,
        vec![vec![0x07], vec![0x0B], vec![0x07]]
    );
}

#[test]
fn u2f_apdus_and_responses() {
    let mut registration = hex("05");
    registration.extend([0x04; 65]);
    registration.push(3);
    registration.extend([0xAA, 0xBB, 0xCC]);
    registration.extend(hex("30 03 02 01 01")); // a 5-byte "certificate"
    registration.extend(hex("3006020101020101"));
    registration.extend(hex("9000"));
    let device = Canned {
        requests: Vec::new(),
        answers: vec![
            cat(&[b"U2F_V2", &hex("9000")]),
            hex("6985"),
            hex("6985"),
            registration,
            hex("6985"),
            hex("6a80"),
            hex("01 00000007 3006020101020101 9000"),
        ]
        .into(),
    };
    let mut u2f = U2f::new(device);
    assert_eq!(u2f.version().unwrap(), "U2F_V2");
    let reg = u2f.register(&[0xC0; 32], &[0xA0; 32]).unwrap();
    assert_eq!(reg.key_handle, [0xAA, 0xBB, 0xCC]);
    assert_eq!(reg.certificate, hex("30 03 02 01 01"));
    assert_eq!(reg.signature, hex("3006020101020101"));
    assert!(u2f
        .check_key_handle(&[0xA0; 32], &[0xAA, 0xBB, 0xCC])
        .unwrap());
    assert!(!u2f
        .check_key_handle(&[0xA1; 32], &[0xAA, 0xBB, 0xCC])
        .unwrap());
    let sig = u2f
        .authenticate(
            AuthenticateMode::DontEnforceUserPresence,
            &[0xC1; 32],
            &[0xA0; 32],
            &[0xAA, 0xBB, 0xCC],
        )
        .unwrap();
    assert_eq!((sig.user_presence, sig.counter), (1, 7));

    let requests = &u2f.device_mut().requests;
    assert_eq!(requests[0], hex("00 03 00 00 00 0000 0000"));
    // Register was sent three times (two "touch needed" polls).
    let register = cat(&[
        &hex("00 01 00 00 00 0040"),
        &[0xC0; 32],
        &[0xA0; 32],
        &hex("0000"),
    ]);
    assert_eq!(
        requests[1..4],
        [register.clone(), register.clone(), register]
    );
    let check = cat(&[
        &hex("00 02 07 00 00 0044"),
        &[0; 32],
        &[0xA0; 32],
        &hex("03 aabbcc 0000"),
    ]);
    assert_eq!(requests[4], check);
    let sign = cat(&[
        &hex("00 02 08 00 00 0044"),
        &[0xC1; 32],
        &[0xA0; 32],
        &hex("03 aabbcc 0000"),
    ]);
    assert_eq!(requests[6], sign);
}

#[test]
fn u2f_registration_without_a_batch_certificate_reports_the_status_word() {
    // Loopback::fresh has self attestation only: U2F answers VERSION but not REGISTER.
    let mut u2f = U2f::new(open_loopback());
    assert_eq!(u2f.version().unwrap(), "U2F_V2");
    let err = u2f.register(&[0xC0; 32], &[0xA0; 32]).unwrap_err();
    assert!(matches!(err, Error::U2f(0x6D00)));
    assert_eq!(
        err.to_string(),
        "U2F status word 0x6d00: the key does not support this U2F instruction"
    );
}
