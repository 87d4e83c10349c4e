//! GetAssertion beside the raw ECDSA P-256 signature it wraps, in the same run: the ratio is
//! what the CTAP layer (CBOR in and out, unwrapping the credential ID, the counter write to an
//! in-memory store, authData) costs over the signature itself. `scripts/bench-ratios` prints it.
//! `wrapped_id` signs again with one credential (its key cached, as for a pre-flight followed
//! by the assertion); `wrapped_id_cold` cycles through more credentials than the cache holds,
//! so every assertion loads its key (one extra scalar multiplication).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use ciborium::value::Value;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use latch_ctap::cbor::{encode, int_key, text_key};
use latch_ctap::command::{Authenticator, Config, GET_ASSERTION, MAKE_CREDENTIAL};
use latch_ctap::testing::TestEnv;

fn request(allow: Option<&[u8]>) -> Vec<u8> {
    let mut params = vec![
        int_key(1, Value::Text("example.com".into())),
        int_key(2, Value::Bytes(vec![0xCD; 32])),
    ];
    if let Some(id) = allow {
        params.push(int_key(
            3,
            Value::Array(vec![Value::Map(vec![
                text_key("id", Value::Bytes(id.to_vec())),
                text_key("type", Value::Text("public-key".into())),
            ])]),
        ));
    }
    let mut message = vec![GET_ASSERTION];
    message.extend(encode(&Value::Map(params)).unwrap());
    message
}

fn register(auth: &mut Authenticator, env: &mut TestEnv, rk: bool) -> Vec<u8> {
    let params = Value::Map(vec![
        int_key(1, Value::Bytes(vec![0xCD; 32])),
        int_key(
            2,
            Value::Map(vec![text_key("id", Value::Text("example.com".into()))]),
        ),
        int_key(
            3,
            Value::Map(vec![text_key("id", Value::Bytes(b"user".to_vec()))]),
        ),
        int_key(
            4,
            Value::Array(vec![Value::Map(vec![
                text_key("alg", Value::Integer((-7).into())),
                text_key("type", Value::Text("public-key".into())),
            ])]),
        ),
        int_key(7, Value::Map(vec![text_key("rk", Value::Bool(rk))])),
    ]);
    let mut message = vec![MAKE_CREDENTIAL];
    message.extend(encode(&params).unwrap());
    let response = auth.handle(&mut env.env(), &message);
    assert_eq!(response[0], 0);
    let map: Value = ciborium::from_reader(&response[1..]).unwrap();
    let auth_data = map.as_map().unwrap()[1].1.as_bytes().unwrap().clone();
    let len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    auth_data[55..55 + len].to_vec()
}

fn bench(c: &mut Criterion) {
    let mut env = TestEnv::new(1);
    let config = Config {
        aaguid: [0; 16],
        firmware_version: 1,
        attestation: None,
        built_in_uv: false,
        synced_discoverable: false,
    };
    let mut auth = Authenticator::power_up(config, &mut env.env()).unwrap();
    let wrapped = register(&mut auth, &mut env, false);
    register(&mut auth, &mut env, true);
    let by_id = request(Some(&wrapped));
    let discoverable = request(None);
    // More credentials than the key cache holds, used in turn: every load is cold.
    let cold: Vec<Vec<u8>> = (0..2 * latch_ctap::credential::KEY_CACHE_LEN)
        .map(|_| request(Some(&register(&mut auth, &mut env, false))))
        .collect();

    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let raw_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let signed = [0x5A; 69]; // authData (37) || clientDataHash (32)

    let mut group = c.benchmark_group("get_assertion");
    group.bench_function("raw", |b| {
        b.iter(|| raw_key.sign(&rng, black_box(&signed)).unwrap());
    });
    group.bench_function("wrapped_id", |b| {
        b.iter(|| {
            let response = auth.handle(&mut env.env(), black_box(&by_id));
            assert_eq!(response[0], 0);
            response
        });
    });
    let mut turn = 0;
    group.bench_function("wrapped_id_cold", |b| {
        b.iter(|| {
            turn = (turn + 1) % cold.len();
            let response = auth.handle(&mut env.env(), black_box(&cold[turn]));
            assert_eq!(response[0], 0);
            response
        });
    });
    group.bench_function("discoverable", |b| {
        b.iter(|| {
            let response = auth.handle(&mut env.env(), black_box(&discoverable));
            assert_eq!(response[0], 0);
            response
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
