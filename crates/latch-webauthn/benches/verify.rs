//! What latch-webauthn costs on top of the signature check it wraps.
//!
//! Each group measures, in the same run:
//! - `raw`: aws-lc-rs verifying the exact signature the ceremony carries
//!   (`authenticatorData || SHA-256(clientDataJSON)`), with the key already in hand;
//! - `verify_authentication` / `verify_registration`: the whole latch check of that ceremony,
//!   given the already-deserialized response, stored credential, RP and state;
//! - `parse_and_verify`: the same including `serde_json` parsing of the response JSON text.
//!
//! Groups: `es256`, `eddsa`, `rs256` (assertions made here with fresh aws-lc-rs keys) and
//! `packed_x5c_registration` (the W3C L3 packed full-attestation ES256 vector from the shared
//! conformance corpus). `scripts/bench-ratios` prints verify/raw per group afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey,
    VerificationAlgorithm,
};
use ciborium::value::Value;
use criterion::{criterion_group, criterion_main, Criterion};
use latch_webauthn::cose::KeyMaterial;
use latch_webauthn::registration::AttestationObject;
use latch_webauthn::wire::{
    AuthenticationResponseJson, AuthenticatorAssertionResponseJson, RegistrationResponseJson,
};
use latch_webauthn::{
    attestation, b64, cert, verify_authentication, verify_registration, AuthenticationState,
    RegistrationState, RelyingParty, StoredCredential, UnixTime, UserVerification,
};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const NOW: UnixTime = UnixTime(1_767_225_600); // 2026-01-01T00:00:00Z

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

fn cose_map(entries: Vec<(i64, Value)>) -> Vec<u8> {
    cbor(&Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    ))
}

/// One DER element at the front of `der`: (tag, contents, rest).
fn der_element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => (usize::from(u16::from_be_bytes([der[2], der[3]])), 4),
        other => panic!("unexpected DER length byte {other:#x}"),
    };
    (tag, &der[header..header + len], &der[header + len..])
}

/// (n, e) of a DER RSAPublicKey (RFC 8017), without leading zero bytes.
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (tag, seq, _) = der_element(der);
    assert_eq!(tag, 0x30);
    let (_, n, rest) = der_element(seq);
    let (_, e, _) = der_element(rest);
    let strip = |b: &[u8]| {
        b.iter()
            .skip_while(|x| **x == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

/// A signed assertion and everything needed to check it both ways.
struct Assertion {
    rp: RelyingParty,
    state: AuthenticationState,
    credential: StoredCredential,
    response: AuthenticationResponseJson,
    json: String,
    raw_alg: &'static dyn VerificationAlgorithm,
    raw_key: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Alg {
    Es256,
    EdDsa,
    Rs256,
}

fn assertion(alg: Alg) -> Assertion {
    let challenge = sha256(b"latch bench challenge");
    let client_data_json = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":false}}"#,
        b64::encode(&challenge)
    );
    let mut auth_data = sha256(RP_ID.as_bytes());
    auth_data.push(0x05); // UP | UV
    auth_data.extend_from_slice(&1u32.to_be_bytes());
    let mut msg = auth_data.clone();
    msg.extend_from_slice(&sha256(client_data_json.as_bytes()));

    let rng = SystemRandom::new();
    let (raw_alg, raw_key, cose, sig): (&'static dyn VerificationAlgorithm, _, _, _) = match alg {
        Alg::Es256 => {
            let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
            let point = kp.public_key().as_ref().to_vec();
            let cose = cose_map(vec![
                (1, Value::from(2)),
                (3, Value::from(-7)),
                (-1, Value::from(1)),
                (-2, Value::Bytes(point[1..33].to_vec())),
                (-3, Value::Bytes(point[33..65].to_vec())),
            ]);
            let sig = kp.sign(&rng, &msg).unwrap().as_ref().to_vec();
            (&signature::ECDSA_P256_SHA256_ASN1, point, cose, sig)
        }
        Alg::EdDsa => {
            let kp = Ed25519KeyPair::generate().unwrap();
            let x = kp.public_key().as_ref().to_vec();
            let cose = cose_map(vec![
                (1, Value::from(1)),
                (3, Value::from(-8)),
                (-1, Value::from(6)),
                (-2, Value::Bytes(x.clone())),
            ]);
            let sig = kp.sign(&msg).as_ref().to_vec();
            (&signature::ED25519, x, cose, sig)
        }
        Alg::Rs256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
            let der = kp.public_key().as_ref().to_vec();
            let (n, e) = rsa_components(&der);
            let cose = cose_map(vec![
                (1, Value::from(3)),
                (3, Value::from(-257)),
                (-1, Value::Bytes(n)),
                (-2, Value::Bytes(e)),
            ]);
            let mut sig = vec![0u8; kp.public_modulus_len()];
            kp.sign(&signature::RSA_PKCS1_SHA256, &rng, &msg, &mut sig)
                .unwrap();
            (&signature::RSA_PKCS1_2048_8192_SHA256, der, cose, sig)
        }
    };

    let credential_id = sha256(b"latch bench credential")[..16].to_vec();
    let user_id = b"bench-user".to_vec();
    let response = AuthenticationResponseJson {
        id: b64::encode(&credential_id),
        raw_id: credential_id.clone().into(),
        response: AuthenticatorAssertionResponseJson {
            client_data_json: client_data_json.into_bytes().into(),
            authenticator_data: auth_data.into(),
            signature: sig.clone().into(),
            user_handle: Some(user_id.clone().into()),
        },
        authenticator_attachment: Some("platform".into()),
        client_extension_results: serde_json::Map::new(),
        ty: "public-key".into(),
    };
    let json = serde_json::to_string(&response).unwrap();
    let credential = StoredCredential {
        id: credential_id.clone(),
        user_id: user_id.clone(),
        public_key_cose: cose,
        sign_count: 0,
        backup_eligible: false,
    };
    let state = AuthenticationState {
        challenge,
        user_verification: UserVerification::Preferred,
        allow_credentials: vec![credential_id],
        user_id: Some(user_id),
        appid: None,
    };
    let a = Assertion {
        rp: RelyingParty::new(RP_ID, [ORIGIN]),
        state,
        credential,
        response,
        json,
        raw_alg,
        raw_key,
        msg,
        sig,
    };
    // Both paths must accept the fixture, or the timings mean nothing.
    UnparsedPublicKey::new(a.raw_alg, &a.raw_key)
        .verify(&a.msg, &a.sig)
        .unwrap();
    verify_authentication(&a.rp, &a.state, &a.response, &a.credential, NOW).unwrap();
    a
}

fn bench_assertion(c: &mut Criterion, group: &str, alg: Alg) {
    let a = assertion(alg);
    let mut g = c.benchmark_group(group);
    g.bench_function("raw", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(a.raw_alg, black_box(&a.raw_key))
                .verify(black_box(&a.msg), black_box(&a.sig))
                .unwrap();
        });
    });
    g.bench_function("verify_authentication", |b| {
        b.iter(|| {
            verify_authentication(&a.rp, &a.state, black_box(&a.response), &a.credential, NOW)
                .unwrap()
        });
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let response: AuthenticationResponseJson =
                serde_json::from_str(black_box(&a.json)).unwrap();
            verify_authentication(&a.rp, &a.state, &response, &a.credential, NOW).unwrap()
        });
    });
    g.finish();
}

fn es256(c: &mut Criterion) {
    bench_assertion(c, "es256", Alg::Es256);
}

fn eddsa(c: &mut Criterion) {
    bench_assertion(c, "eddsa", Alg::EdDsa);
}

fn rs256(c: &mut Criterion) {
    bench_assertion(c, "rs256", Alg::Rs256);
}

/// The W3C L3 §16.7 packed full-attestation (x5c) ES256 registration vector.
fn packed_x5c_registration(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/registration/w3c-l3-packed-full-es256.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let case: serde_json::Value = serde_json::from_str(&text).unwrap();
    let str_of = |v: &serde_json::Value| v.as_str().unwrap().to_owned();

    let origins: Vec<String> = case["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    let mut rp = RelyingParty::new(case["rpId"].as_str().unwrap(), origins);
    for root in case["expect"]["trustRoots"]
        .as_array()
        .into_iter()
        .flatten()
    {
        rp.attestation
            .trust
            .add_root(b64::decode(root.as_str().unwrap()).unwrap());
    }
    let verify_at = time::OffsetDateTime::parse(
        case["verifyAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let now = UnixTime(verify_at.unix_timestamp());
    let state = RegistrationState {
        challenge: b64::decode(case["challenge"].as_str().unwrap()).unwrap(),
        user_id: Vec::new(),
        user_verification: UserVerification::parse(
            case["userVerification"].as_str().unwrap_or("preferred"),
        ),
        allowed_algs: Vec::new(),
        require_user_presence: true,
    };
    let json = serde_json::to_string(&case["response"]).unwrap();
    let response: RegistrationResponseJson = serde_json::from_str(&json).unwrap();

    // The raw baseline: the statement's signature over authData || SHA-256(clientDataJSON),
    // checked with the x5c leaf's key.
    let att = AttestationObject::parse(response.response.attestation_object.as_ref()).unwrap();
    let sig = attestation::stmt_bytes(&att.att_stmt, "sig")
        .unwrap()
        .to_vec();
    let x5c = attestation::stmt_x5c(&att.att_stmt).unwrap().unwrap();
    let leaf = cert::parse(&x5c[0]).unwrap();
    let KeyMaterial::Ec { point, .. } = cert::spki_key(leaf.public_key()).unwrap() else {
        panic!("the packed-full-es256 leaf key is not EC");
    };
    let mut msg = att.auth_data.clone();
    msg.extend_from_slice(&sha256(response.response.client_data_json.as_ref()));
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &point)
        .verify(&msg, &sig)
        .unwrap();
    let verified = verify_registration(&rp, &state, &response, now).unwrap();
    assert_eq!(verified.fmt(), "packed");

    let mut g = c.benchmark_group("packed_x5c_registration");
    g.bench_function("raw", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, black_box(&point))
                .verify(black_box(&msg), black_box(&sig))
                .unwrap();
        });
    });
    g.bench_function("verify_registration", |b| {
        b.iter(|| verify_registration(&rp, &state, black_box(&response), now).unwrap());
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let response: RegistrationResponseJson =
                serde_json::from_str(black_box(&json)).unwrap();
            verify_registration(&rp, &state, &response, now).unwrap()
        });
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(200)
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = es256, eddsa, rs256, packed_x5c_registration
}
criterion_main!(benches);
