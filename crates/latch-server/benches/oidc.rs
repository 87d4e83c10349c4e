//! The OpenID Connect provider's hot path in process (`tower::ServiceExt::oneshot`, no
//! sockets), beside the one signature each answer cannot avoid, in the same run:
//!
//! - `oidc/raw_rs256_sign`, `oidc/raw_es256_sign`: aws-lc-rs signing one ID token's worth of
//!   bytes with RSA-2048 (PKCS#1 v1.5) and P-256.
//! - `oidc/code_flow_rs256`: a signed-in person's `GET /oauth2/authorize` (consent remembered:
//!   straight back with a code) and the app's `POST /oauth2/token` (client_secret_basic, PKCE),
//!   on a SQLite file: a grant, a code spent, two tokens stored, an RS256 ID token.
//! - `oidc/refresh_rs256`: one refresh-token rotation (the old one spent, a new pair stored,
//!   a new ID token).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../tests/server/authenticator.rs"]
mod authenticator;
#[allow(dead_code)]
#[path = "../tests/server/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/server/db.rs"]
mod db;

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use axum::http::{Method, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use latch_server::Startup;
use serde_json::Value;

const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
const CALLBACK: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn startup() -> Startup {
    let file = format!(
        "[[client]]\nid = \"app\"\nname = \"App\"\nsecret = \"{SECRET}\"\nredirectUris = [\"{CALLBACK}\"]\n"
    );
    Startup {
        oidc_clients: Some(latch_server::oidc::client::from_file(&file).unwrap()),
        ..Startup::default()
    }
}

async fn token(client: &mut client::Client, form: &[(&str, &str)]) -> Value {
    let body = serde_urlencoded::to_string(form).unwrap();
    let reply = client
        .send_raw(
            Method::POST,
            "/oauth2/token",
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// A code for the signed-in `browser` (consent given before).
async fn code(browser: &mut client::Client) -> String {
    let url = format!(
        "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+profile&state=s&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let reply = browser.get(&url).await;
    let to = reply.headers["location"].to_str().unwrap().to_owned();
    if let Some(id) = to.strip_prefix("/oauth2/consent?request=") {
        let next = browser
            .post(
                &format!("/api/v1/oauth2/requests/{id}/consent"),
                serde_json::json!({ "allow": true }),
            )
            .await
            .ok();
        let to = next["redirect"].as_str().unwrap().to_owned();
        return param(&to, "code");
    }
    param(&to, "code")
}

fn param(url: &str, name: &str) -> String {
    let q = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
    pairs.into_iter().find(|(k, _)| k == name).unwrap().1
}

fn oidc(c: &mut Criterion) {
    let mut g = c.benchmark_group("oidc");
    let rng = SystemRandom::new();
    let message = [0x5a_u8; 700];
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let mut signature = vec![0; rsa.public_modulus_len()];
    g.bench_function("raw_rs256_sign", |b| {
        b.iter(|| {
            rsa.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature)
                .unwrap()
        })
    });
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    g.bench_function("raw_es256_sign", |b| {
        b.iter(|| ec.sign(&rng, black_box(&message)).unwrap())
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(client::servers_with(&startup()))
        .into_iter()
        .find(|s| s.backend == "sqlite")
        .unwrap();
    let (mut browser, _passkey) = runtime.block_on(server.signed_in("bench"));
    let mut app = server.client();
    app.origin = None;
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("app:{SECRET}"));
    app.headers
        .push(("authorization".into(), format!("Basic {basic}")));
    // The first request asks for consent and makes the signing keys.
    runtime.block_on(async {
        let code = code(&mut browser).await;
        token(
            &mut app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    });
    g.bench_function("code_flow_rs256", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let code = code(&mut browser).await;
                let answer = token(
                    &mut app,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", CALLBACK),
                        ("code_verifier", VERIFIER),
                    ],
                )
                .await;
                assert!(answer["id_token"].is_string());
            })
        })
    });
    let mut refresh = runtime.block_on(async {
        let code = code(&mut browser).await;
        let answer = token(
            &mut app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        answer["refresh_token"].as_str().unwrap().to_owned()
    });
    g.bench_function("refresh_rs256", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let answer = token(
                    &mut app,
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                )
                .await;
                refresh = answer["refresh_token"].as_str().unwrap().to_owned();
            })
        })
    });
    g.finish();
    runtime.block_on(async move { drop(server) });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(6));
    targets = oidc
}
criterion_main!(benches);
