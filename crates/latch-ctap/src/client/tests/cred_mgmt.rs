//! Credential management against the authenticator: metadata, enumeration of RPs and
//! credentials, user updates, deletion, RP-bound tokens and the pre-2.1 command 0x41.

use ciborium::value::Value;

use super::*;
use crate::client::cred_mgmt::CredsMetadata;
use crate::client::ctap2::Rp;
use crate::command::rp_id_hash;
use crate::pin::Permissions;
use crate::status::StatusCode;

const CM: Permissions = Permissions::CREDENTIAL_MANAGEMENT;

/// The COSE public key of a made credential, decoded.
fn cose(made: &crate::client::MadeCredential) -> Value {
    ciborium::de::from_reader(made.public_key_cose().unwrap().as_slice()).unwrap()
}

/// Three discoverable credentials: ada and bob on example.com, cy on example.org.
fn three() -> (
    Ctap2<HidDevice<Recording<Loopback>>>,
    Vec<crate::client::MadeCredential>,
) {
    let mut ctap = ctap2_with_pin();
    let made = vec![
        make(
            &mut ctap,
            "example.com",
            user(b"u-ada", "ada", "Ada"),
            true,
            vec![],
        ),
        make(
            &mut ctap,
            "example.com",
            user(b"u-bob", "bob", "Bob"),
            true,
            vec![],
        ),
        make(
            &mut ctap,
            "example.org",
            user(b"u-cy", "cy", "Cy"),
            true,
            vec![],
        ),
    ];
    (ctap, made)
}

#[test]
fn an_empty_key_has_no_credentials_and_room_for_sixteen() {
    let mut ctap = ctap2_with_pin();
    let token = token(&mut ctap, CM);
    assert_eq!(
        ctap.creds_metadata(&token).unwrap(),
        CredsMetadata {
            existing: 0,
            remaining: 16
        }
    );
    assert_eq!(ctap.enumerate_rps(&token).unwrap(), vec![]);
    assert_eq!(
        ctap.enumerate_credentials(&token, &rp_id_hash("example.com"))
            .unwrap(),
        vec![]
    );
}

#[test]
fn rps_and_credentials_are_enumerated() {
    let (mut ctap, made) = three();
    // A non-discoverable credential is not counted or listed.
    make(
        &mut ctap,
        "example.net",
        user(b"u-nd", "nd", "Nd"),
        false,
        vec![],
    );
    let token = token(&mut ctap, CM);
    assert_eq!(
        ctap.creds_metadata(&token).unwrap(),
        CredsMetadata {
            existing: 3,
            remaining: 13
        }
    );
    let rps = ctap.enumerate_rps(&token).unwrap();
    let listed: Vec<(Rp, [u8; 32])> = rps.into_iter().map(|e| (e.rp, e.rp_id_hash)).collect();
    let rp = |id: &str| Rp {
        id: id.into(),
        name: None,
    };
    assert_eq!(
        listed,
        vec![
            (rp("example.com"), rp_id_hash("example.com")),
            (rp("example.org"), rp_id_hash("example.org")),
        ]
    );

    let com = ctap
        .enumerate_credentials(&token, &rp_id_hash("example.com"))
        .unwrap();
    let summary: Vec<_> = com
        .iter()
        .map(|c| (c.user.clone(), c.credential_id.clone(), c.cred_protect))
        .collect();
    let mut expected = vec![
        (
            user(b"u-ada", "ada", "Ada"),
            made[0].credential_id().unwrap(),
            Some(1),
        ),
        (
            user(b"u-bob", "bob", "Bob"),
            made[1].credential_id().unwrap(),
            Some(1),
        ),
    ];
    let mut sorted = summary.clone();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(sorted, expected);
    for entry in &com {
        let index = if entry.user.id == b"u-ada" { 0 } else { 1 };
        assert_eq!(entry.public_key, cose(&made[index]));
        assert_eq!(entry.large_blob_key, None);
        assert_eq!(entry.third_party_payment, None);
    }
    let org = ctap
        .enumerate_credentials(&token, &rp_id_hash("example.org"))
        .unwrap();
    assert_eq!(org.len(), 1);
    assert_eq!(org[0].user, user(b"u-cy", "cy", "Cy"));
    assert_eq!(org[0].credential_id, made[2].credential_id().unwrap());
    assert_eq!(org[0].public_key, cose(&made[2]));
    assert_eq!(
        ctap.enumerate_credentials(&token, &rp_id_hash("example.net"))
            .unwrap(),
        vec![]
    );
}

#[test]
fn user_information_is_updated() {
    let (mut ctap, made) = three();
    let token = token(&mut ctap, CM);
    let id = made[0].credential_id().unwrap();
    let renamed = user(b"u-ada", "ada.l", "Ada Lovelace");
    ctap.update_user_information(&token, &id, &renamed).unwrap();
    let com = ctap
        .enumerate_credentials(&token, &rp_id_hash("example.com"))
        .unwrap();
    let ada = com.iter().find(|c| c.credential_id == id).unwrap();
    assert_eq!(ada.user, renamed);
    // Another user's handle is refused.
    let err = ctap
        .update_user_information(&token, &id, &user(b"u-bob", "x", "X"))
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::InvalidParameter));
    assert_eq!(
        err.to_string(),
        "the key rejected a parameter of the request as invalid (CTAP status 0x02)"
    );
}

#[test]
fn credentials_are_deleted() {
    let (mut ctap, made) = three();
    let token = token(&mut ctap, CM);
    let cy = made[2].credential_id().unwrap();
    ctap.delete_credential(&token, &cy).unwrap();
    assert_eq!(
        ctap.creds_metadata(&token).unwrap(),
        CredsMetadata {
            existing: 2,
            remaining: 14
        }
    );
    let rps: Vec<String> = ctap
        .enumerate_rps(&token)
        .unwrap()
        .into_iter()
        .map(|e| e.rp.id)
        .collect();
    assert_eq!(rps, vec!["example.com"]);
    let err = ctap.delete_credential(&token, &cy).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NoCredentials));
    assert_eq!(
        err.to_string(),
        "the key holds no matching credential (CTAP status 0x2e)"
    );
}

#[test]
fn tokens_need_the_cm_permission_and_rp_bound_tokens_see_one_rp() {
    let (mut ctap, made) = three();
    let lbw = token(&mut ctap, Permissions::LARGE_BLOB_WRITE);
    let err = ctap.creds_metadata(&lbw).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UnauthorizedPermission));
    assert_eq!(
        err.to_string(),
        "the PIN token lacks the permission this operation needs (or is bound to another RP): \
         ask for a token with that permission (CTAP status 0x40)"
    );
    let bound = ctap
        .get_pin_uv_auth_token(PIN, CM, Some("example.org"))
        .unwrap();
    let org = ctap
        .enumerate_credentials(&bound, &rp_id_hash("example.org"))
        .unwrap();
    assert_eq!(org[0].credential_id, made[2].credential_id().unwrap());
    for err in [
        ctap.creds_metadata(&bound).unwrap_err(),
        ctap.enumerate_rps(&bound).unwrap_err(),
        ctap.enumerate_credentials(&bound, &rp_id_hash("example.com"))
            .unwrap_err(),
    ] {
        assert_eq!(err.status(), Some(StatusCode::PinAuthInvalid));
    }
}

#[test]
fn the_preview_command_is_used_when_only_it_is_offered() {
    let (mut ctap, _) = three();
    ctap.info_mut().options.remove("credMgmt");
    assert_eq!(ctap.cred_mgmt_command().unwrap(), 0x41);
    let token = token(&mut ctap, CM);
    ctap.device_mut().transport_mut().sent.clear();
    assert_eq!(
        ctap.creds_metadata(&token).unwrap(),
        CredsMetadata {
            existing: 3,
            remaining: 13
        }
    );
    let rps = ctap.enumerate_rps(&token).unwrap();
    assert_eq!(rps.len(), 2);
    // Every CBOR request since was 0x41 (CTAPHID_CBOR = 0x90, the command byte after
    // CID 4 + cmd 1 + length 2).
    let commands: Vec<u8> = ctap
        .device_mut()
        .transport_mut()
        .sent
        .iter()
        .filter(|r| r[4] == 0x90)
        .map(|r| r[7])
        .collect();
    assert_eq!(commands, vec![0x41, 0x41, 0x41]);
    ctap.info_mut().options.remove("credentialMgmtPreview");
    assert_eq!(
        ctap.creds_metadata(&token).unwrap_err().to_string(),
        "not supported by this key: the key has no credential management (credMgmt)"
    );
}
