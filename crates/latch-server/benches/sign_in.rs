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

// The API tests' software authenticator and browser-like client, over the same SQLite file
// the tests use.
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
use std::time::{Duration, Instant};

use authenticator::Tweak;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};
use client::ORIGIN;
use cpu_time::ProcessTime;
use criterion::{criterion_group, criterion_main, Criterion};

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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(client::servers())
        .into_iter()
        .find(|s| s.backend == "sqlite")
        .unwrap();
    let (mut client, mut passkey) = runtime.block_on(server.signed_in("bench"));
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
                        // A browser that is not signed in.
                        client.cookies.clear();
                        let started = clock.start();
                        let options = client.login_begin(None).await;
                        spent += started.elapsed();
                        let response = passkey.get(&options, ORIGIN, &Tweak::default());
                        let started = clock.start();
                        let signed_in = client.login_finish(&response).await.ok();
                        spent += started.elapsed();
                        assert_eq!(signed_in["user"]["username"], "bench");
                    }
                    spent
                })
            })
        });
    }
    g.finish();
    // The database goes with the server, inside the runtime its pool was made on.
    runtime.block_on(async move { drop(server) });
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
