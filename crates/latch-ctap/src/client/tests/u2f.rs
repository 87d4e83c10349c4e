//! U2F against the authenticator's CTAP1 layer through CTAPHID_MSG: version, register with a
//! batch certificate, check-only, enforce and don't-enforce, every signature verified.

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

use super::*;
use crate::client::ctap2::GetAssertionRequest;
use crate::client::u2f::{AuthenticateMode, U2f};
use crate::command::{rp_id_hash, BatchAttestation, Config};
use crate::credential::PrivateKey;
use crate::env::Presence;

const CHALLENGE: [u8; 32] = [0xC4; 32];

/// A key with an rcgen batch attestation; also its certificate and the batch public point.
fn key_with_batch() -> (U2f<HidDevice<Loopback>>, Vec<u8>, Vec<u8>) {
    let batch = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Latch U2F test batch");
    let der = params.self_signed(&batch).unwrap().der().to_vec();
    let config = Config {
        aaguid: [0xAA; 16],
        firmware_version: 1,
        attestation: Some(BatchAttestation {
            key: PrivateKey::es256_from_pkcs8(&batch.serialize_der()).unwrap(),
            certificates: vec![der.clone()],
        }),
        built_in_uv: false,
        synced_discoverable: false,
    };
    let loopback = Loopback::with_config(config, 11).unwrap();
    let device = HidDevice::open(loopback, NONCE).unwrap();
    (U2f::new(device), der, batch.public_key_raw().to_vec())
}

fn loopback(u2f: &mut U2f<HidDevice<Loopback>>) -> &mut Loopback {
    u2f.device_mut().transport_mut()
}

fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(message, signature)
        .unwrap();
}

#[test]
fn register_then_authenticate_in_every_mode() {
    let (mut u2f, certificate, batch_point) = key_with_batch();
    assert_eq!(u2f.version().unwrap(), "U2F_V2");
    let app = rp_id_hash("example.com");
    let label = crate::u2f::presence_label(&app);

    // The first touch is declined: the client polls until the second is approved.
    loopback(&mut u2f)
        .env_mut()
        .presence
        .script
        .extend([Presence::Denied, Presence::Approved]);
    let registration = u2f.register(&CHALLENGE, &app).unwrap();
    assert_eq!(
        loopback(&mut u2f).env_mut().presence.requests,
        [
            (label.clone(), "register".into()),
            (label.clone(), "register".into())
        ]
    );
    assert_eq!(registration.public_key[0], 0x04);
    assert_eq!(registration.certificate, certificate);
    let mut signed = vec![0x00];
    signed.extend(app);
    signed.extend(CHALLENGE);
    signed.extend(&registration.key_handle);
    signed.extend(registration.public_key);
    verify(&batch_point, &signed, &registration.signature);

    // Check-only: ours for this application, not for another or when mangled.
    let handle = registration.key_handle.clone();
    assert!(u2f.check_key_handle(&app, &handle).unwrap());
    assert!(!u2f
        .check_key_handle(&rp_id_hash("example.org"), &handle)
        .unwrap());
    let mut mangled = handle.clone();
    mangled[0] ^= 1;
    assert!(!u2f.check_key_handle(&app, &mangled).unwrap());

    let sign = |u2f: &mut U2f<HidDevice<Loopback>>, mode| {
        let signature = u2f.authenticate(mode, &CHALLENGE, &app, &handle).unwrap();
        let mut message = app.to_vec();
        message.push(signature.user_presence);
        message.extend(signature.counter.to_be_bytes());
        message.extend(CHALLENGE);
        verify(&registration.public_key, &message, &signature.signature);
        signature
    };
    let touched = sign(&mut u2f, AuthenticateMode::EnforceUserPresence);
    assert_eq!((touched.user_presence, touched.counter), (0x01, 1));
    let requests = loopback(&mut u2f).env_mut().presence.requests.len();
    assert_eq!(requests, 3);
    let silent = sign(&mut u2f, AuthenticateMode::DontEnforceUserPresence);
    assert_eq!((silent.user_presence, silent.counter), (0x00, 2));
    assert_eq!(loopback(&mut u2f).env_mut().presence.requests.len(), 3);

    // Another application's key handle is refused when signing too.
    let err = u2f
        .authenticate(
            AuthenticateMode::DontEnforceUserPresence,
            &CHALLENGE,
            &rp_id_hash("example.org"),
            &handle,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "U2F status word 0x6a80: the key handle does not belong to this key or this application"
    );

    // The same key handle works over CTAP2 for the RP whose hash was the application.
    let mut ctap = Ctap2::with_rng(u2f.device_mut(), Box::new(XorShiftRng::new(1))).unwrap();
    let assertion = ctap
        .get_assertion(&GetAssertionRequest {
            rp_id: "example.com".into(),
            allow_list: vec![handle.clone()],
            ..GetAssertionRequest::default()
        })
        .unwrap();
    assert_eq!(assertion.credential_id, Some(handle));
    assert_eq!(assertion.auth_data[33..37], 3u32.to_be_bytes());
}

#[test]
fn nobody_touching_the_key_gives_up_after_max_polls() {
    let (mut u2f, _, _) = key_with_batch();
    u2f.max_polls = 3;
    loopback(&mut u2f).env_mut().presence.default = Presence::Timeout;
    let err = u2f.register(&CHALLENGE, &[0xA0; 32]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "U2F status word 0x6985: the key needs a touch"
    );
    assert_eq!(loopback(&mut u2f).env_mut().presence.requests.len(), 4);
}
