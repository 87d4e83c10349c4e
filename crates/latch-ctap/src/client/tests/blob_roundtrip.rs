//! Large blobs against the authenticator: the initial array, per-credential blobs sealed with
//! the largeBlobKey of a discoverable credential, fragmented writes and a full store.

use ciborium::value::Value;

use super::*;
use crate::client::ctap2::GetAssertionRequest;
use crate::client::large_blobs::serialize;
use crate::pin::{Permissions, Rng};
use crate::status::StatusCode;

/// CTAP 2.1 §6.10.2: the initial serialized large-blob array.
const EMPTY: &str = "80 76be8b528d0075f7aae98d6fa57a6d3c";

fn large_blob_key() -> Vec<(String, Value)> {
    vec![("largeBlobKey".into(), Value::Bool(true))]
}

/// `n` incompressible bytes.
fn noise(n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    XorShiftRng::new(77).fill(&mut data);
    data
}

/// The CTAPHID_CBOR command bytes sent since the recording was last cleared.
fn commands(ctap: &mut Ctap2<HidDevice<Recording<Loopback>>>) -> Vec<u8> {
    let sent = std::mem::take(&mut ctap.device_mut().transport_mut().sent);
    sent.iter().filter(|r| r[4] == 0x90).map(|r| r[7]).collect()
}

#[test]
fn a_fresh_key_holds_the_initial_array() {
    let mut ctap = ctap2();
    assert_eq!(ctap.info().max_serialized_large_blob_array, Some(4096));
    assert_eq!(ctap.read_large_blob_array().unwrap(), hex(EMPTY));
    assert_eq!(ctap.read_large_blob_entries().unwrap(), vec![]);
}

#[test]
fn per_credential_blobs_are_stored_read_and_deleted() {
    let mut ctap = ctap2_with_pin();
    let ada = make(
        &mut ctap,
        "example.com",
        user(b"u-a", "ada", "Ada"),
        true,
        large_blob_key(),
    );
    let bob = make(
        &mut ctap,
        "example.com",
        user(b"u-b", "bob", "Bob"),
        true,
        large_blob_key(),
    );
    let ada_key = ada.large_blob_key.clone().unwrap();
    let bob_key = bob.large_blob_key.clone().unwrap();
    assert_eq!((ada_key.len(), bob_key.len()), (32, 32));
    assert_ne!(ada_key, bob_key);
    // getAssertion hands out the same key.
    let token = ctap
        .get_pin_uv_auth_token(PIN, Permissions::GET_ASSERTION, Some("example.com"))
        .unwrap();
    let assertion = ctap
        .get_assertion(&GetAssertionRequest {
            rp_id: "example.com".into(),
            allow_list: vec![ada.credential_id().unwrap()],
            extensions: large_blob_key(),
            pin_uv_auth: Some(crate::client::ctap2::PinUvAuthParam::for_client_data(
                &token, &[0; 32],
            )),
            ..GetAssertionRequest::default()
        })
        .unwrap();
    assert_eq!(assertion.large_blob_key, Some(ada_key.clone()));
    // And credential management lists it.
    let cm = super::token(&mut ctap, Permissions::CREDENTIAL_MANAGEMENT);
    let listed = ctap
        .enumerate_credentials(&cm, &crate::command::rp_id_hash("example.com"))
        .unwrap();
    let listed_ada = listed.iter().find(|c| c.user.id == b"u-a").unwrap();
    assert_eq!(listed_ada.large_blob_key, Some(ada_key.clone()));

    let lbw = super::token(&mut ctap, Permissions::LARGE_BLOB_WRITE);
    assert_eq!(ctap.get_blob(&ada_key).unwrap(), None);
    ctap.put_blob(&lbw, &ada_key, Some(b"ada's blob")).unwrap();
    ctap.put_blob(&lbw, &bob_key, Some(b"bob's blob")).unwrap();
    assert_eq!(ctap.read_large_blob_entries().unwrap().len(), 2);
    assert_eq!(
        ctap.get_blob(&ada_key).unwrap(),
        Some(b"ada's blob".to_vec())
    );
    assert_eq!(
        ctap.get_blob(&bob_key).unwrap(),
        Some(b"bob's blob".to_vec())
    );
    // Replacing keeps one entry per credential.
    ctap.put_blob(&lbw, &ada_key, Some(b"ada, again")).unwrap();
    assert_eq!(ctap.read_large_blob_entries().unwrap().len(), 2);
    assert_eq!(
        ctap.get_blob(&ada_key).unwrap(),
        Some(b"ada, again".to_vec())
    );

    assert!(ctap.delete_blob(&lbw, &ada_key).unwrap());
    assert_eq!(ctap.get_blob(&ada_key).unwrap(), None);
    assert!(!ctap.delete_blob(&lbw, &ada_key).unwrap());
    assert!(ctap.delete_blob(&lbw, &bob_key).unwrap());
    assert_eq!(ctap.read_large_blob_array().unwrap(), hex(EMPTY));

    // The key holds one token at a time: the cm token died when the lbw one was issued.
    let err = ctap.put_blob(&cm, &ada_key, Some(b"x")).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinAuthInvalid));
    // And writing needs the lbw permission.
    let cm = super::token(&mut ctap, Permissions::CREDENTIAL_MANAGEMENT);
    let err = ctap.put_blob(&cm, &ada_key, Some(b"x")).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UnauthorizedPermission));
}

#[test]
fn a_blob_longer_than_a_fragment_is_written_and_read_in_pieces() {
    let mut ctap = ctap2_with_pin();
    let made = make(
        &mut ctap,
        "example.com",
        user(b"u", "u", "U"),
        true,
        large_blob_key(),
    );
    let key = made.large_blob_key.unwrap();
    // Pretend the key's messages are 1024 bytes: fragments of 960.
    ctap.info_mut().max_msg_size = Some(1024);
    assert_eq!(ctap.max_fragment_length().unwrap(), 960);
    let data = noise(2000);
    let lbw = super::token(&mut ctap, Permissions::LARGE_BLOB_WRITE);
    commands(&mut ctap);
    ctap.put_blob(&lbw, &key, Some(&data)).unwrap();
    // One read of the initial array, then three write fragments.
    assert_eq!(commands(&mut ctap), vec![0x0C; 4]);
    let array = ctap.read_large_blob_array().unwrap();
    assert!(array.len() > 1920 && array.len() < 2880, "{}", array.len());
    assert_eq!(commands(&mut ctap), vec![0x0C; 3]);
    assert_eq!(ctap.get_blob(&key).unwrap(), Some(data));
}

#[test]
fn a_full_store_is_refused_by_the_client_and_by_the_key() {
    let mut ctap = ctap2_with_pin();
    let made = make(
        &mut ctap,
        "example.com",
        user(b"u", "u", "U"),
        true,
        large_blob_key(),
    );
    let key = made.large_blob_key.unwrap();
    let lbw = super::token(&mut ctap, Permissions::LARGE_BLOB_WRITE);
    let data = noise(4096);
    let err = ctap.put_blob(&lbw, &key, Some(&data)).unwrap_err();
    let size = {
        let entry = crate::client::large_blobs::seal_entry(&key, [0; 12], &data).unwrap();
        serialize(&[entry]).unwrap().len()
    };
    assert_eq!(
        err.to_string(),
        format!("the large-blob array would be {size} bytes; the key holds at most 4096")
    );
    // A client that does not know the limit learns it from the key.
    ctap.info_mut().max_serialized_large_blob_array = None;
    let err = ctap.put_blob(&lbw, &key, Some(&data)).unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::LargeBlobStorageFull));
    assert_eq!(
        err.to_string(),
        "the key's large-blob storage is full: delete some blobs first with `latch key blob \
         delete` (CTAP status 0x18)"
    );
    assert_eq!(ctap.read_large_blob_array().unwrap(), hex(EMPTY));
}
