//! One passkey sign-in through the router, in process (`tower::ServiceExt::oneshot`, no
//! sockets), beside a raw ES256 verify in the same run: what the server costs per sign-in
//! apart from the network, in units of the one signature check it cannot avoid.
//!
//! - `sign_in/raw_es256_verify`: aws-lc-rs verifying one P-256 signature.
//! - `sign_in/passkey_sqlite`: `POST /api/v1/login/begin` then `POST /api/v1/login/finish` on a
//!   SQLite file (WAL, `synchronous=FULL`, the group-commit writer), timing only the two
//!   requests: the authenticator's signing between them is left out of the figure.
//! - `sign_in/passkey_sqlite_cpu`: the same, as the CPU time of the whole process (every
//!   thread) over those two requests: the server's cost of a sign-in without sockets.
//!
//! `scripts/bench-ratios` prints both over raw_es256_verify afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../tests/server/authenticator.rs"]
mod authenticator;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authenticator::{Passkey, Tweak};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};
use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use cpu_time::ProcessTime;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use latch_server::{app, AppState, Config, ManualClock, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";

#[derive(Clone, Copy)]
enum Clock {
    Wall,
    Cpu,
}

enum Started {
    Wall(Instant),
    Cpu(ProcessTime),
}

impl Clock {
    fn start(self) -> Started {
        match self {
            Clock::Wall => Started::Wall(Instant::now()),
            Clock::Cpu => Started::Cpu(ProcessTime::now()),
        }
    }
}

impl Started {
    fn elapsed(&self) -> Duration {
        match self {
            Started::Wall(at) => at.elapsed(),
            Started::Cpu(at) => at.elapsed(),
        }
    }
}

/// A client that keeps the cookies the server sets, as a browser would.
struct Client {
    app: Router,
    cookies: Vec<(String, String)>,
}

impl Client {
    async fn post(&mut self, path: &str, body: &Value) -> Value {
        let mut req = Request::post(path)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/json");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_success(), "{path}: {status} {bytes:?}");
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// A server on a fresh SQLite file with one account whose passkey is discoverable.
async fn server(dir: &std::path::Path) -> (Router, Passkey) {
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let config = Config {
        rp_id: RP_ID.into(),
        origins: vec![ORIGIN.into()],
        db: db.clone(),
        ..Config::default()
    };
    let store = Store::connect(&db).await.unwrap();
    let clock = Arc::new(ManualClock::new(1_760_000_000));
    let state = AppState::new(store, &config, clock).await.unwrap();
    let app = app(state);
    let mut client = Client {
        app: app.clone(),
        cookies: Vec::new(),
    };
    let options = client
        .post(
            "/api/v1/signup/begin",
            &json!({ "username": "bench", "displayName": "Bench" }),
        )
        .await;
    let (passkey, response) =
        Passkey::create(&options["publicKey"], ORIGIN, true, &Tweak::default());
    client
        .post("/api/v1/signup/finish", &json!({ "credential": response }))
        .await;
    (app, passkey)
}

fn sign_in(c: &mut Criterion) {
    let mut g = c.benchmark_group("sign_in");

    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let message = [0x5a_u8; 69];
    let signature = key.sign(&rng, &message).unwrap();
    let public = key.public_key().as_ref().to_vec();
    g.bench_function("raw_es256_verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, black_box(&public))
                .verify(black_box(&message), black_box(signature.as_ref()))
                .unwrap()
        })
    });

    let dir = std::env::temp_dir().join(format!("latch-bench-sign-in-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (app, mut passkey) = runtime.block_on(server(&dir));
    // Wall time, and the whole process's CPU time (request tasks, sqlx's SQLite threads and
    // the group-commit writer), both over the two requests only.
    for (name, clock) in [
        ("passkey_sqlite", Clock::Wall),
        ("passkey_sqlite_cpu", Clock::Cpu),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let mut client = Client {
                            app: app.clone(),
                            cookies: Vec::new(),
                        };
                        let started = clock.start();
                        let options = client.post("/api/v1/login/begin", &json!({})).await;
                        spent += started.elapsed();
                        let response =
                            passkey.get(&options["publicKey"], ORIGIN, &Tweak::default());
                        let started = clock.start();
                        let signed_in = client
                            .post("/api/v1/login/finish", &json!({ "credential": response }))
                            .await;
                        spent += started.elapsed();
                        assert_eq!(signed_in["user"]["username"], "bench");
                    }
                    spent
                })
            })
        });
    }
    g.finish();
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
}

criterion_group! {
    name = benches;
    config = config();
    targets = sign_in
}
criterion_main!(benches);
