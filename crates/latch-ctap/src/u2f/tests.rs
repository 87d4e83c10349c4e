//! CTAP1/U2F: APDU encodings, every instruction and control byte with its status words, the
//! register → authenticate round trip with signatures checked, and CTAP1 ↔ CTAP2 interop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::digest;
use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use ciborium::value::Value;

use super::apdu::{ApduError, Command, StatusWord};
use super::{handle, presence_label};
use crate::cbor::{self, int_key, text_key};
use crate::command::{rp_id_hash, Authenticator, BatchAttestation, Config};
use crate::credential::{Alg, MasterKey, PrivateKey};
use crate::env::Presence;
use crate::pin::PinState;
use crate::store::{CredProtect, CredentialOptions, CredentialStore};
use crate::testing::TestEnv;

const MASTER: [u8; 32] = [0x4B; 32];
const RP: &str = "example.com";
const CHALLENGE: [u8; 32] = [0xC4; 32];

/// A batch attestation from rcgen: the key, its self-signed certificate, and the raw public
/// point (to check the certificate carries it).
struct Batch {
    attestation: BatchAttestation,
    public_point: Vec<u8>,
}

fn batch() -> Batch {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Latch U2F test batch");
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let public_point = key.public_key_raw().to_vec();
    assert_eq!(public_point.len(), 65);
    assert!(der.windows(65).any(|w| w == public_point.as_slice()));
    Batch {
        attestation: BatchAttestation {
            key: PrivateKey::es256_from_pkcs8(&key.serialize_der()).unwrap(),
            certificates: vec![der],
        },
        public_point,
    }
}

fn config(attestation: Option<BatchAttestation>) -> Config {
    Config {
        aaguid: [0xAA; 16],
        firmware_version: 1,
        attestation,
        built_in_uv: false,
        synced_discoverable: false,
    }
}

/// A device with a batch attestation (returned: its public point and certificate).
fn device() -> (Authenticator, TestEnv, Vec<u8>, Vec<u8>) {
    let batch = batch();
    let cert = batch.attestation.certificates[0].clone();
    let auth = Authenticator::new(
        config(Some(batch.attestation)),
        MasterKey::new(MASTER),
        PinState::new(),
    );
    (auth, TestEnv::new(5), batch.public_point, cert)
}

fn bare_device() -> (Authenticator, TestEnv) {
    let auth = Authenticator::new(config(None), MasterKey::new(MASTER), PinState::new());
    (auth, TestEnv::new(5))
}

/// Extended encoding with a two-byte Le, as python-fido2 and browsers send.
fn extended(ins: u8, p1: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, ins, p1, 0x00, 0x00];
    apdu.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
    apdu.extend_from_slice(data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    apdu
}

/// Short encoding with Lc and no Le.
fn short(ins: u8, p1: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, ins, p1, 0x00, u8::try_from(data.len()).unwrap()];
    apdu.extend_from_slice(data);
    apdu
}

/// Sends `apdu`: Ok(data) on 0x9000, Err(status word) otherwise (with no data).
fn send(auth: &mut Authenticator, env: &mut TestEnv, apdu: &[u8]) -> Result<Vec<u8>, u16> {
    let mut response = handle(auth, &mut env.env(), apdu);
    assert!(response.len() >= 2);
    let sw = response.split_off(response.len() - 2);
    let sw = u16::from_be_bytes([sw[0], sw[1]]);
    if sw == 0x9000 {
        Ok(response)
    } else {
        assert!(response.is_empty(), "data with SW {sw:04x}");
        Err(sw)
    }
}

fn register_data(challenge: &[u8; 32], application: &[u8; 32]) -> Vec<u8> {
    [challenge.as_slice(), application.as_slice()].concat()
}

fn authenticate_data(challenge: &[u8; 32], application: &[u8; 32], handle: &[u8]) -> Vec<u8> {
    let mut data = register_data(challenge, application);
    data.push(u8::try_from(handle.len()).unwrap());
    data.extend_from_slice(handle);
    data
}

/// A parsed registration response.
struct Registration {
    public_key: Vec<u8>,
    key_handle: Vec<u8>,
    certificate: Vec<u8>,
    signature: Vec<u8>,
}

fn parse_registration(data: &[u8], cert_len: usize) -> Registration {
    assert_eq!(data[0], 0x05);
    let public_key = data[1..66].to_vec();
    assert_eq!(public_key[0], 0x04);
    let handle_len = usize::from(data[66]);
    let key_handle = data[67..67 + handle_len].to_vec();
    let rest = &data[67 + handle_len..];
    Registration {
        public_key,
        key_handle,
        certificate: rest[..cert_len].to_vec(),
        signature: rest[cert_len..].to_vec(),
    }
}

fn register(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    challenge: &[u8; 32],
    application: &[u8; 32],
    cert_len: usize,
) -> Registration {
    let data = send(
        auth,
        env,
        &extended(
            super::REGISTER,
            0x00,
            &register_data(challenge, application),
        ),
    )
    .unwrap();
    parse_registration(&data, cert_len)
}

fn verify(public_point: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_point)
        .verify(message, signature)
        .is_ok()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, data)
        .as_ref()
        .try_into()
        .unwrap()
}

/// Checks an authentication response and returns (flags, counter).
fn check_authentication(
    data: &[u8],
    public_key: &[u8],
    application: &[u8; 32],
    challenge: &[u8; 32],
) -> (u8, u32) {
    let flags = data[0];
    let counter = u32::from_be_bytes(data[1..5].try_into().unwrap());
    let mut signed = application.to_vec();
    signed.extend_from_slice(&data[..5]);
    signed.extend_from_slice(challenge);
    assert!(verify(public_key, &signed, &data[5..]), "bad signature");
    (flags, counter)
}

// ---------------------------------------------------------------------------------------------
// APDU encodings.

#[test]
fn short_apdus_parse() {
    let case1 = Command::parse(&[0x00, 0x03, 0x01, 0x02]).unwrap();
    assert_eq!(
        (case1.cla, case1.ins, case1.p1, case1.p2),
        (0x00, 0x03, 0x01, 0x02)
    );
    assert_eq!((case1.data, case1.le), (&[][..], None));
    let case2 = Command::parse(&[0x00, 0x03, 0x00, 0x00, 0x00]).unwrap();
    assert_eq!((case2.data, case2.le), (&[][..], Some(256)));
    let case2 = Command::parse(&[0x00, 0x03, 0x00, 0x00, 0x10]).unwrap();
    assert_eq!(case2.le, Some(16));
    let case3 = Command::parse(&[0x00, 0x01, 0x00, 0x00, 0x02, 0xAB, 0xCD]).unwrap();
    assert_eq!((case3.data, case3.le), (&[0xAB, 0xCD][..], None));
    let case4 = Command::parse(&[0x00, 0x01, 0x00, 0x00, 0x02, 0xAB, 0xCD, 0x00]).unwrap();
    assert_eq!((case4.data, case4.le), (&[0xAB, 0xCD][..], Some(256)));
}

#[test]
fn extended_apdus_parse() {
    let data = [0x5A; 300];
    let apdu = extended(0x02, 0x03, &data);
    let command = Command::parse(&apdu).unwrap();
    assert_eq!((command.ins, command.p1), (0x02, 0x03));
    assert_eq!((command.data, command.le), (&data[..], Some(65_536)));
    // Without Le.
    let command = Command::parse(&apdu[..apdu.len() - 2]).unwrap();
    assert_eq!((command.data, command.le), (&data[..], None));
    // With a non-zero Le.
    let mut with_le = apdu[..apdu.len() - 2].to_vec();
    with_le.extend_from_slice(&[0x01, 0x00]);
    assert_eq!(Command::parse(&with_le).unwrap().le, Some(256));
    // Case 2E: 00 Le1 Le2.
    let command = Command::parse(&[0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00]).unwrap();
    assert_eq!((command.data, command.le), (&[][..], Some(256)));
    // python-fido2's form for a request without data: Lc = 0, then Le.
    let version = extended(0x03, 0x00, &[]);
    let command = Command::parse(&version).unwrap();
    assert_eq!((command.data, command.le), (&[][..], Some(65_536)));
}

#[test]
fn malformed_apdus_are_refused() {
    assert_eq!(Command::parse(&[]), Err(ApduError::TooShort));
    assert_eq!(
        Command::parse(&[0x00, 0x03, 0x00]),
        Err(ApduError::TooShort)
    );
    for bad in [
        // Short Lc larger than the data.
        &[0x00, 0x01, 0x00, 0x00, 0x05, 0x01, 0x02, 0x03][..],
        // Short Lc, data, then two bytes.
        &[0x00, 0x01, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x00],
        // Extended with a truncated length field.
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
        // Extended Lc larger than the data.
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x02],
        // Extended Lc, data, then one byte (a short Le after extended Lc).
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0x00],
        // Extended Lc, data, then three bytes.
        &[
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x00, 0x00,
        ],
        // Lc = 0 followed by one byte.
        &[0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    ] {
        assert_eq!(Command::parse(bad), Err(ApduError::BadLength), "{bad:02x?}");
    }
    let (mut auth, mut env, ..) = device();
    for bad in [
        &[][..],
        &[0x00, 0x03, 0x00],
        &[0x00, 0x03, 0x00, 0x00, 0x05, 0x01],
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01],
    ] {
        assert_eq!(send(&mut auth, &mut env, bad), Err(0x6700), "{bad:02x?}");
    }
    assert!(env.presence.requests.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Header checks and U2F_VERSION.

#[test]
fn version_in_every_encoding() {
    let (mut auth, mut env) = bare_device();
    for apdu in [
        vec![0x00, 0x03, 0x00, 0x00],
        vec![0x00, 0x03, 0x00, 0x00, 0x00],
        vec![0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00],
        extended(0x03, 0x00, &[]),
    ] {
        assert_eq!(
            handle(&mut auth, &mut env.env(), &apdu),
            b"U2F_V2\x90\x00".to_vec(),
            "{apdu:02x?}"
        );
    }
    // VERSION takes no data.
    assert_eq!(
        send(&mut auth, &mut env, &short(0x03, 0, &[1])),
        Err(0x6700)
    );
    assert_eq!(
        send(&mut auth, &mut env, &extended(0x03, 0, &[1])),
        Err(0x6700)
    );
}

#[test]
fn class_and_instruction_are_checked_first() {
    let (mut auth, mut env, ..) = device();
    // CLA before INS, both before the body.
    assert_eq!(
        send(&mut auth, &mut env, &[0x80, 0x03, 0x00, 0x00]),
        Err(0x6E00)
    );
    assert_eq!(
        send(&mut auth, &mut env, &[0x80, 0x99, 0x00, 0x00, 0x05]),
        Err(0x6E00)
    );
    for ins in [0x00, 0x04, 0x40, 0xBF, 0xC0, 0xFF] {
        assert_eq!(
            send(&mut auth, &mut env, &[0x00, ins, 0x00, 0x00]),
            Err(0x6D00),
            "INS {ins:02x}"
        );
    }
    assert_eq!(
        send(&mut auth, &mut env, &[0x00, 0x04, 0x00, 0x00, 0x05, 0x01]),
        Err(0x6D00)
    );
    assert_eq!(StatusWord::NO_ERROR.to_bytes(), [0x90, 0x00]);
}

// ---------------------------------------------------------------------------------------------
// U2F_REGISTER.

#[test]
fn register_signs_with_the_batch_key() {
    let (mut auth, mut env, batch_point, cert) = device();
    let application = sha256(b"https://example.com");
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    assert_eq!(registration.certificate, cert);
    assert_eq!(
        registration.key_handle.len(),
        crate::credential::WRAPPED_ID_LEN
    );
    let mut signed = vec![0x00];
    signed.extend_from_slice(&application);
    signed.extend_from_slice(&CHALLENGE);
    signed.extend_from_slice(&registration.key_handle);
    signed.extend_from_slice(&registration.public_key);
    assert!(verify(&batch_point, &signed, &registration.signature));
    // The key handle is a wrapped ES256 credential for the application, with default options.
    let (key, options) = MasterKey::new(MASTER)
        .unwrap(&registration.key_handle, &application)
        .unwrap();
    assert_eq!(key.alg(), Alg::Es256);
    assert_eq!(options, CredentialOptions::default());
    // Presence was asked once, for this application; nothing was stored.
    assert_eq!(
        env.presence.requests,
        vec![(presence_label(&application), "register".to_owned())]
    );
    assert_eq!(env.store.batches, 0);
    assert_eq!(env.store.sign_count(), 0);
    // Every registration is a new key.
    let again = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    assert_ne!(again.public_key, registration.public_key);
    assert_ne!(again.key_handle, registration.key_handle);
}

#[test]
fn register_in_short_form_and_with_any_p1() {
    let (mut auth, mut env, batch_point, cert) = device();
    let application = [0x11; 32];
    // Browsers send P1 = 0x03 on register; it is ignored.
    for apdu in [
        short(0x01, 0x00, &register_data(&CHALLENGE, &application)),
        extended(0x01, 0x03, &register_data(&CHALLENGE, &application)),
    ] {
        let data = send(&mut auth, &mut env, &apdu).unwrap();
        let registration = parse_registration(&data, cert.len());
        let mut signed = vec![0x00];
        signed.extend_from_slice(&application);
        signed.extend_from_slice(&CHALLENGE);
        signed.extend_from_slice(&registration.key_handle);
        signed.extend_from_slice(&registration.public_key);
        assert!(verify(&batch_point, &signed, &registration.signature));
    }
}

#[test]
fn register_needs_64_bytes() {
    let (mut auth, mut env, ..) = device();
    for len in [0, 32, 63, 65, 200] {
        assert_eq!(
            send(&mut auth, &mut env, &extended(0x01, 0, &vec![0x22; len])),
            Err(0x6700),
            "{len} bytes"
        );
    }
    assert!(env.presence.requests.is_empty());
}

#[test]
fn register_without_presence_is_refused_and_retried() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x33; 32];
    let apdu = extended(0x01, 0, &register_data(&CHALLENGE, &application));
    env.presence.script = [Presence::Denied, Presence::Timeout].into();
    assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6985));
    assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6985));
    // The client retries; the third touch is approved.
    let data = send(&mut auth, &mut env, &apdu).unwrap();
    parse_registration(&data, cert.len());
    assert_eq!(env.presence.requests.len(), 3);
    assert_eq!(env.store.batches, 0);
}

#[test]
fn register_without_batch_attestation_is_not_supported() {
    let (mut auth, mut env) = bare_device();
    let apdu = extended(0x01, 0, &register_data(&CHALLENGE, &[0x44; 32]));
    assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6D00));
    assert!(env.presence.requests.is_empty());
    // A batch without a certificate, or with an Ed25519 key, does not do either.
    for attestation in [
        BatchAttestation {
            key: PrivateKey::generate(Alg::Es256, &mut env.rng).unwrap(),
            certificates: vec![],
        },
        BatchAttestation {
            key: PrivateKey::generate(Alg::Ed25519, &mut env.rng).unwrap(),
            certificates: vec![vec![0x30, 0x00]],
        },
    ] {
        let mut auth = Authenticator::new(
            config(Some(attestation)),
            MasterKey::new(MASTER),
            PinState::new(),
        );
        assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6D00));
    }
    // VERSION still answers.
    assert_eq!(
        send(&mut auth, &mut env, &[0x00, 0x03, 0x00, 0x00]),
        Ok(b"U2F_V2".to_vec())
    );
}

#[test]
fn pkcs8_batch_keys() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let private = PrivateKey::es256_from_pkcs8(&key.serialize_der()).unwrap();
    assert_eq!(private.alg(), Alg::Es256);
    let signature = private.sign(b"message").unwrap();
    assert!(verify(key.public_key_raw(), b"message", &signature));
    // The scalar survives the material round trip.
    let back = PrivateKey::from_material(&private.to_material().unwrap()).unwrap();
    assert_eq!(back.cose_public_key(), private.cose_public_key());
    let ed25519 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    assert!(PrivateKey::es256_from_pkcs8(&ed25519.serialize_der()).is_none());
    assert!(PrivateKey::es256_from_pkcs8(&[0x30, 0x00]).is_none());
    assert!(PrivateKey::es256_from_pkcs8(&[]).is_none());
}

// ---------------------------------------------------------------------------------------------
// U2F_AUTHENTICATE.

#[test]
fn authenticate_round_trip_with_a_persisted_counter() {
    let (mut auth, mut env, _, cert) = device();
    let application = sha256(b"https://example.com");
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.presence.requests.clear();
    let challenge = [0x77; 32];
    let apdu = extended(
        0x02,
        0x03,
        &authenticate_data(&challenge, &application, &registration.key_handle),
    );
    for expected in 1..=3u32 {
        let data = send(&mut auth, &mut env, &apdu).unwrap();
        let (flags, counter) =
            check_authentication(&data, &registration.public_key, &application, &challenge);
        assert_eq!(flags, 0x01);
        assert_eq!(counter, expected);
        assert_eq!(env.store.sign_count(), expected);
        assert_eq!(env.store.batches, usize::try_from(expected).unwrap());
    }
    assert_eq!(
        env.presence.requests,
        vec![(presence_label(&application), "authenticate".to_owned()); 3]
    );
    // The short form works too (65 + 64 bytes fit in a short Lc).
    let data = send(
        &mut auth,
        &mut env,
        &short(
            0x02,
            0x03,
            &authenticate_data(&challenge, &application, &registration.key_handle),
        ),
    )
    .unwrap();
    assert_eq!(
        check_authentication(&data, &registration.public_key, &application, &challenge),
        (0x01, 4)
    );
}

#[test]
fn always_uv_switches_ctap1_off() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x56; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.store
        .apply(&[crate::store::Write::Settings(crate::store::Settings {
            always_uv: true,
            min_pin_length_rp_ids: vec![],
        })])
        .unwrap();
    let count = env.store.sign_count();
    for (ins, p1, data) in [
        (
            0x02,
            0x08,
            authenticate_data(&CHALLENGE, &application, &registration.key_handle),
        ),
        (
            0x02,
            0x03,
            authenticate_data(&CHALLENGE, &application, &registration.key_handle),
        ),
        (0x01, 0x00, [CHALLENGE, application].concat()),
        (0x03, 0x00, Vec::new()),
    ] {
        assert_eq!(
            send(&mut auth, &mut env, &extended(ins, p1, &data)),
            Err(0x6986),
            "INS {ins:#04x}"
        );
    }
    assert_eq!(env.store.sign_count(), count);
    // And getInfo stops offering U2F.
    let info = auth.handle(&mut env.env(), &[0x04]);
    let info: ciborium::value::Value = ciborium::from_reader(&info[1..]).unwrap();
    let versions = crate::cbor::read::get(info.as_map().unwrap(), 1).unwrap();
    assert!(!versions
        .as_array()
        .unwrap()
        .contains(&ciborium::value::Value::Text("U2F_V2".into())));
}

#[test]
fn dont_enforce_signs_without_presence() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x55; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.presence.requests.clear();
    env.presence.default = Presence::Denied;
    let data = send(
        &mut auth,
        &mut env,
        &extended(
            0x02,
            0x08,
            &authenticate_data(&CHALLENGE, &application, &registration.key_handle),
        ),
    )
    .unwrap();
    let (flags, counter) =
        check_authentication(&data, &registration.public_key, &application, &CHALLENGE);
    assert_eq!(flags, 0x00);
    // Every signature moves the counter on, with or without presence.
    assert_eq!(counter, 1);
    assert_eq!(env.store.sign_count(), 1);
    assert!(env.presence.requests.is_empty());
}

#[test]
fn check_only_tells_ours_from_others() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x66; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.presence.requests.clear();
    let check = |application: &[u8; 32], handle: &[u8]| {
        extended(
            0x02,
            0x07,
            &authenticate_data(&CHALLENGE, application, handle),
        )
    };
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            &check(&application, &registration.key_handle)
        ),
        Err(0x6985)
    );
    // Another application.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            &check(&[0x67; 32], &registration.key_handle)
        ),
        Err(0x6A80)
    );
    // Another device's handle.
    let foreign = MasterKey::new([0x99; 32])
        .wrap(
            &PrivateKey::generate(Alg::Es256, &mut env.rng).unwrap(),
            &CredentialOptions::default(),
            &application,
            &mut env.rng,
        )
        .unwrap();
    assert_eq!(
        send(&mut auth, &mut env, &check(&application, &foreign)),
        Err(0x6A80)
    );
    // Garbage and empty handles.
    assert_eq!(
        send(&mut auth, &mut env, &check(&application, &[0x02; 64])),
        Err(0x6A80)
    );
    assert_eq!(
        send(&mut auth, &mut env, &check(&application, &[])),
        Err(0x6A80)
    );
    // No presence asked, no counter moved.
    assert!(env.presence.requests.is_empty());
    assert_eq!(env.store.batches, 0);
}

#[test]
fn unknown_handles_are_refused_without_asking() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x12; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.presence.requests.clear();
    let foreign = MasterKey::new([0x98; 32])
        .wrap(
            &PrivateKey::generate(Alg::Es256, &mut env.rng).unwrap(),
            &CredentialOptions::default(),
            &application,
            &mut env.rng,
        )
        .unwrap();
    for p1 in [0x03, 0x08] {
        for (app, handle) in [
            (&[0x13; 32], registration.key_handle.as_slice()),
            (&application, foreign.as_slice()),
        ] {
            assert_eq!(
                send(
                    &mut auth,
                    &mut env,
                    &extended(0x02, p1, &authenticate_data(&CHALLENGE, app, handle))
                ),
                Err(0x6A80)
            );
        }
    }
    assert!(env.presence.requests.is_empty());
    assert_eq!(env.store.batches, 0);
}

#[test]
fn presence_denied_moves_no_counter() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x21; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    let apdu = extended(
        0x02,
        0x03,
        &authenticate_data(&CHALLENGE, &application, &registration.key_handle),
    );
    env.presence.script = [Presence::Denied, Presence::Timeout].into();
    assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6985));
    assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6985));
    assert_eq!(env.store.sign_count(), 0);
    assert_eq!(env.store.batches, 0);
    // The retry after a touch signs with counter 1.
    let data = send(&mut auth, &mut env, &apdu).unwrap();
    assert_eq!(
        check_authentication(&data, &registration.public_key, &application, &CHALLENGE),
        (0x01, 1)
    );
}

#[test]
fn a_failed_counter_write_gives_no_signature() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x23; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.store.fail_writes = true;
    for p1 in [0x03, 0x08] {
        let apdu = extended(
            0x02,
            p1,
            &authenticate_data(&CHALLENGE, &application, &registration.key_handle),
        );
        assert_eq!(send(&mut auth, &mut env, &apdu), Err(0x6F00));
    }
    assert_eq!(env.store.sign_count(), 0);
    env.store.fail_writes = false;
    let apdu = extended(
        0x02,
        0x03,
        &authenticate_data(&CHALLENGE, &application, &registration.key_handle),
    );
    let data = send(&mut auth, &mut env, &apdu).unwrap();
    assert_eq!(data[1..5], [0, 0, 0, 1]);
}

#[test]
fn authenticate_lengths_and_control_bytes() {
    let (mut auth, mut env, _, cert) = device();
    let application = [0x31; 32];
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    env.presence.requests.clear();
    let good = authenticate_data(&CHALLENGE, &application, &registration.key_handle);
    // Shorter than challenge || application || L.
    for len in [0, 32, 64] {
        assert_eq!(
            send(&mut auth, &mut env, &extended(0x02, 0x03, &good[..len])),
            Err(0x6700)
        );
    }
    // L disagreeing with the handle's length, both ways.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            &extended(0x02, 0x03, &good[..good.len() - 1])
        ),
        Err(0x6700)
    );
    let mut longer = good.clone();
    longer.push(0x00);
    assert_eq!(
        send(&mut auth, &mut env, &extended(0x02, 0x03, &longer)),
        Err(0x6700)
    );
    // Unknown control bytes.
    for p1 in [0x00, 0x01, 0x04, 0x09, 0x83, 0xFF] {
        assert_eq!(
            send(&mut auth, &mut env, &extended(0x02, p1, &good)),
            Err(0x6A80),
            "P1 {p1:02x}"
        );
    }
    assert!(env.presence.requests.is_empty());
    assert_eq!(env.store.batches, 0);
}

// ---------------------------------------------------------------------------------------------
// CTAP1 ↔ CTAP2.

fn ctap2(auth: &mut Authenticator, env: &mut TestEnv, command: u8, params: Value) -> Value {
    let mut message = vec![command];
    message.extend(cbor::encode(&params).unwrap());
    let response = auth.handle(&mut env.env(), &message);
    assert_eq!(response[0], 0x00, "CTAP2 status {:02x}", response[0]);
    ciborium::from_reader(&response[1..]).unwrap()
}

fn get_assertion(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    rp_id: &str,
    client_data_hash: &[u8; 32],
    id: &[u8],
) -> Vec<(Value, Value)> {
    let params = Value::Map(vec![
        int_key(0x01, Value::Text(rp_id.to_owned())),
        int_key(0x02, Value::Bytes(client_data_hash.to_vec())),
        int_key(
            0x03,
            Value::Array(vec![Value::Map(vec![
                text_key("id", Value::Bytes(id.to_vec())),
                text_key("type", Value::Text("public-key".to_owned())),
            ])]),
        ),
    ]);
    ctap2(auth, env, 0x02, params).into_map().unwrap()
}

#[test]
fn a_u2f_credential_works_over_ctap2() {
    let (mut auth, mut env, _, cert) = device();
    let application = rp_id_hash(RP);
    let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
    // One U2F signature, then CTAP2 GetAssertion with the key handle in the allowList.
    let data = send(
        &mut auth,
        &mut env,
        &extended(
            0x02,
            0x03,
            &authenticate_data(&CHALLENGE, &application, &registration.key_handle),
        ),
    )
    .unwrap();
    assert_eq!(data[1..5], [0, 0, 0, 1]);
    let cdh = [0xCD; 32];
    let response = get_assertion(&mut auth, &mut env, RP, &cdh, &registration.key_handle);
    let credential = cbor::read::get(&response, 1).unwrap().as_map().unwrap();
    assert_eq!(
        cbor::read::get_text(credential, "id"),
        Some(&Value::Bytes(registration.key_handle.clone()))
    );
    let auth_data = cbor::read::get(&response, 2).unwrap().as_bytes().unwrap();
    assert_eq!(auth_data[..32], application);
    assert_eq!(auth_data[32], 0x01);
    // The counter is the same global one.
    assert_eq!(auth_data[33..37], [0, 0, 0, 2]);
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&cdh);
    let signature = cbor::read::get(&response, 3).unwrap().as_bytes().unwrap();
    assert!(verify(&registration.public_key, &signed, signature));
}

fn make_credential(auth: &mut Authenticator, env: &mut TestEnv, alg: i64, rk: bool) -> Vec<u8> {
    let mut params = vec![
        int_key(0x01, Value::Bytes(vec![0xCD; 32])),
        int_key(
            0x02,
            Value::Map(vec![text_key("id", Value::Text(RP.to_owned()))]),
        ),
        int_key(
            0x03,
            Value::Map(vec![
                text_key("id", Value::Bytes(b"user".to_vec())),
                text_key("name", Value::Text("alice".to_owned())),
            ]),
        ),
        int_key(
            0x04,
            Value::Array(vec![Value::Map(vec![
                text_key("alg", Value::Integer(alg.into())),
                text_key("type", Value::Text("public-key".to_owned())),
            ])]),
        ),
    ];
    if rk {
        params.push(int_key(
            0x07,
            Value::Map(vec![text_key("rk", Value::Bool(true))]),
        ));
    }
    let made = ctap2(auth, env, 0x01, Value::Map(params))
        .into_map()
        .unwrap();
    let auth_data = cbor::read::get(&made, 2).unwrap().as_bytes().unwrap();
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    auth_data[55..55 + id_len].to_vec()
}

/// The uncompressed point of a CTAP2 credential, from an assertion-independent place: its
/// COSE key in the store or the wrapped ID.
fn point_of(auth: &Authenticator, env: &TestEnv, id: &[u8]) -> Vec<u8> {
    let key = match env.store.credential(id) {
        Some(stored) => PrivateKey::from_material(&stored.private_key).unwrap(),
        None => auth.master().unwrap(id, &rp_id_hash(RP)).unwrap().0,
    };
    let cose = key.cose_public_key().into_map().unwrap();
    let mut point = vec![0x04];
    point.extend(cbor::read::get(&cose, -2).unwrap().as_bytes().unwrap());
    point.extend(cbor::read::get(&cose, -3).unwrap().as_bytes().unwrap());
    point
}

#[test]
fn ctap2_credentials_work_over_u2f() {
    let (mut auth, mut env) = bare_device();
    let application = rp_id_hash(RP);
    for rk in [false, true] {
        let id = make_credential(&mut auth, &mut env, -7, rk);
        let point = point_of(&auth, &env, &id);
        let before = env.store.sign_count();
        let apdu = extended(
            0x02,
            0x03,
            &authenticate_data(&CHALLENGE, &application, &id),
        );
        let data = send(&mut auth, &mut env, &apdu).unwrap();
        let (flags, counter) = check_authentication(&data, &point, &application, &CHALLENGE);
        assert_eq!((flags, counter), (0x01, before + 1), "rk {rk}");
        // Check-only knows it; another application does not.
        let check = extended(
            0x02,
            0x07,
            &authenticate_data(&CHALLENGE, &application, &id),
        );
        assert_eq!(send(&mut auth, &mut env, &check), Err(0x6985));
        let other = extended(0x02, 0x07, &authenticate_data(&CHALLENGE, &[0; 32], &id));
        assert_eq!(send(&mut auth, &mut env, &other), Err(0x6A80));
    }
    // Ed25519 credentials cannot sign U2F responses.
    let id = make_credential(&mut auth, &mut env, -8, false);
    let check = extended(
        0x02,
        0x07,
        &authenticate_data(&CHALLENGE, &application, &id),
    );
    assert_eq!(send(&mut auth, &mut env, &check), Err(0x6A80));
}

#[test]
fn cred_protect_uv_required_is_not_for_u2f() {
    let (mut auth, mut env) = bare_device();
    let application = [0x41; 32];
    let master = MasterKey::new(MASTER);
    for (level, usable) in [
        (CredProtect::UvOptional, true),
        (CredProtect::UvOptionalWithCredentialIdList, true),
        (CredProtect::UvRequired, false),
    ] {
        let key = PrivateKey::generate(Alg::Es256, &mut env.rng).unwrap();
        let options = CredentialOptions {
            cred_protect: level,
            ..CredentialOptions::default()
        };
        let id = master
            .wrap(&key, &options, &application, &mut env.rng)
            .unwrap();
        for p1 in [0x07, 0x03, 0x08] {
            let result = send(
                &mut auth,
                &mut env,
                &extended(0x02, p1, &authenticate_data(&CHALLENGE, &application, &id)),
            );
            let expected = match (usable, p1) {
                (false, _) => Err(0x6A80),
                (true, 0x07) => Err(0x6985),
                (true, _) => Ok(()),
            };
            assert_eq!(result.map(|_| ()), expected, "{level:?} P1 {p1:02x}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A relying party's view: latch-webauthn verifies what a browser builds from U2F responses.

mod relying_party {
    use latch_webauthn::authentication::{
        verify_authentication, AuthenticationState, StoredCredential,
    };
    use latch_webauthn::b64;
    use latch_webauthn::wire::{
        AuthenticationResponseJson, AuthenticatorAssertionResponseJson,
        AuthenticatorAttestationResponseJson, RegistrationResponseJson,
    };
    use latch_webauthn::{
        verify_registration, RegistrationState, RelyingParty, TrustStatus, UnixTime,
        UserVerification,
    };

    use super::*;

    const ORIGIN: &str = "https://example.com";
    const APPID: &str = "https://example.com/u2f/app-id.json";
    const NOW: UnixTime = UnixTime(1_800_000_000);

    fn client_data(ty: &str, challenge: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": ty,
            "challenge": b64::encode(challenge),
            "origin": ORIGIN,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// The COSE_Key of an uncompressed P-256 point, canonical.
    fn cose_key(point: &[u8]) -> Vec<u8> {
        cbor::encode(&Value::Map(vec![
            int_key(1, Value::Integer(2.into())),
            int_key(3, Value::Integer((-7).into())),
            int_key(-1, Value::Integer(1.into())),
            int_key(-2, Value::Bytes(point[1..33].to_vec())),
            int_key(-3, Value::Bytes(point[33..65].to_vec())),
        ]))
        .unwrap()
    }

    fn registration_response(
        registration: &Registration,
        client_data_json: Vec<u8>,
        application: &[u8; 32],
    ) -> RegistrationResponseJson {
        // WebAuthn §8.6 / CTAP 2.1 §11.1.1.2: authData = application || UP|AT || counter 0 ||
        // zero AAGUID || L || key handle || COSE key; attStmt = {sig, x5c: [certificate]}.
        let mut auth_data = application.to_vec();
        auth_data.push(0x41);
        auth_data.extend_from_slice(&[0; 4]);
        auth_data.extend_from_slice(&[0; 16]);
        auth_data.extend_from_slice(
            &u16::try_from(registration.key_handle.len())
                .unwrap()
                .to_be_bytes(),
        );
        auth_data.extend_from_slice(&registration.key_handle);
        auth_data.extend_from_slice(&cose_key(&registration.public_key));
        let attestation_object = cbor::encode(&Value::Map(vec![
            text_key("fmt", Value::Text("fido-u2f".to_owned())),
            text_key(
                "attStmt",
                Value::Map(vec![
                    text_key("sig", Value::Bytes(registration.signature.clone())),
                    text_key(
                        "x5c",
                        Value::Array(vec![Value::Bytes(registration.certificate.clone())]),
                    ),
                ]),
            ),
            text_key("authData", Value::Bytes(auth_data)),
        ]))
        .unwrap();
        RegistrationResponseJson {
            id: b64::encode(&registration.key_handle),
            raw_id: registration.key_handle.clone().into(),
            response: AuthenticatorAttestationResponseJson {
                client_data_json: client_data_json.into(),
                attestation_object: attestation_object.into(),
                authenticator_data: None,
                transports: vec!["usb".into()],
                public_key: None,
                public_key_algorithm: None,
            },
            authenticator_attachment: Some("cross-platform".into()),
            client_extension_results: serde_json::Map::new(),
            ty: "public-key".into(),
        }
    }

    fn assertion_response(
        id: &[u8],
        client_data_json: Vec<u8>,
        authenticator_data: Vec<u8>,
        signature: Vec<u8>,
        appid: bool,
    ) -> AuthenticationResponseJson {
        let mut extensions = serde_json::Map::new();
        if appid {
            extensions.insert("appid".into(), serde_json::Value::Bool(true));
        }
        AuthenticationResponseJson {
            id: b64::encode(id),
            raw_id: id.to_vec().into(),
            response: AuthenticatorAssertionResponseJson {
                client_data_json: client_data_json.into(),
                authenticator_data: authenticator_data.into(),
                signature: signature.into(),
                user_handle: None,
            },
            authenticator_attachment: None,
            client_extension_results: extensions,
            ty: "public-key".into(),
        }
    }

    /// navigator.credentials.create() through U2F_REGISTER, verified as "fido-u2f"; then
    /// navigator.credentials.get() through U2F_AUTHENTICATE, verified as an assertion.
    #[test]
    fn a_browser_registers_and_signs_in_over_u2f() {
        let (mut auth, mut env, _, cert) = device();
        let mut rp = RelyingParty::new(RP, [ORIGIN]);
        rp.attestation.trust.add_root(cert.clone());
        let application = rp_id_hash(RP);
        let user_id = b"user-1".to_vec();

        let challenge = vec![0xC1; 32];
        let client_data_json = client_data("webauthn.create", &challenge);
        let registration = register(
            &mut auth,
            &mut env,
            &sha256(&client_data_json),
            &application,
            cert.len(),
        );
        let state = RegistrationState {
            challenge,
            user_id: user_id.clone(),
            user_verification: UserVerification::Discouraged,
            allowed_algs: vec![-7],
            require_user_presence: true,
        };
        let response = registration_response(&registration, client_data_json, &application);
        let verified = verify_registration(&rp, &state, &response, NOW).unwrap();
        assert_eq!(verified.fmt(), "fido-u2f");
        assert_eq!(verified.attestation.trust, TrustStatus::Trusted);
        assert_eq!(verified.credential_id, registration.key_handle);
        assert_eq!(verified.aaguid, [0; 16]);
        let mut stored = StoredCredential {
            id: registration.key_handle.clone(),
            user_id: user_id.clone(),
            public_key_cose: verified.public_key_cose.clone(),
            sign_count: verified.sign_count,
            backup_eligible: false,
        };

        for round in 0..2u8 {
            let challenge = vec![0xA0 + round; 32];
            let client_data_json = client_data("webauthn.get", &challenge);
            let data = send(
                &mut auth,
                &mut env,
                &extended(
                    0x02,
                    0x03,
                    &authenticate_data(
                        &sha256(&client_data_json),
                        &application,
                        &registration.key_handle,
                    ),
                ),
            )
            .unwrap();
            // authenticatorData = application || flags || counter; the signature as is.
            let mut authenticator_data = application.to_vec();
            authenticator_data.extend_from_slice(&data[..5]);
            let response = assertion_response(
                &registration.key_handle,
                client_data_json,
                authenticator_data,
                data[5..].to_vec(),
                false,
            );
            let state = AuthenticationState {
                challenge,
                user_verification: UserVerification::Discouraged,
                allow_credentials: vec![registration.key_handle.clone()],
                user_id: Some(user_id.clone()),
                appid: None,
            };
            let verified = verify_authentication(&rp, &state, &response, &stored, NOW).unwrap();
            assert!(verified.sign_count > stored.sign_count);
            assert!(!verified.used_appid);
            stored.sign_count = verified.sign_count;
        }
    }

    /// A key registered through the U2F JavaScript API (application = SHA-256 of the AppID)
    /// signs in through WebAuthn's appid extension: the browser sends CTAP2 GetAssertion with the
    /// AppID as rpId and the U2F key handle in the allowList.
    #[test]
    fn a_legacy_u2f_registration_signs_in_with_the_appid_extension() {
        let (mut auth, mut env, _, cert) = device();
        let rp = RelyingParty::new(RP, [ORIGIN]);
        let application = sha256(APPID.as_bytes());
        let registration = register(&mut auth, &mut env, &CHALLENGE, &application, cert.len());
        // A U2F server stored the raw point; migrated, it is a COSE key.
        let stored = StoredCredential {
            id: registration.key_handle.clone(),
            user_id: b"user-2".to_vec(),
            public_key_cose: cose_key(&registration.public_key),
            sign_count: 0,
            backup_eligible: false,
        };
        let challenge = vec![0xB7; 32];
        let client_data_json = client_data("webauthn.get", &challenge);
        let asserted = get_assertion(
            &mut auth,
            &mut env,
            APPID,
            &sha256(&client_data_json),
            &registration.key_handle,
        );
        let authenticator_data = cbor::read::get(&asserted, 2)
            .unwrap()
            .as_bytes()
            .unwrap()
            .clone();
        let signature = cbor::read::get(&asserted, 3)
            .unwrap()
            .as_bytes()
            .unwrap()
            .clone();
        let response = assertion_response(
            &registration.key_handle,
            client_data_json,
            authenticator_data,
            signature,
            true,
        );
        let state = AuthenticationState {
            challenge,
            user_verification: UserVerification::Discouraged,
            allow_credentials: vec![registration.key_handle.clone()],
            user_id: Some(b"user-2".to_vec()),
            appid: Some(APPID.to_owned()),
        };
        let verified = verify_authentication(&rp, &state, &response, &stored, NOW).unwrap();
        assert!(verified.used_appid);
        assert_eq!(verified.sign_count, 1);
    }
}
