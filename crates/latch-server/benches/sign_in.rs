//! One passkey sign-in through the router, in process (`tower::ServiceExt::oneshot`, no
//! sockets), beside a raw ES256 verify in the same run: what the server costs per sign-in
//! apart from the network, in units of the one signature check it cannot avoid.
//!
//! - `sign_in/raw_es256_verify`: aws-lc-rs verifying one P-256 signature.
//! - `sign_in/passkey_sqlite`: `POST /api/v1/login/begin` then `POST /api/v1/login/finish` on a
//!   SQLite file (WAL, `synchronous=FULL`, the group-commit writer), timing only the two
//!   requests: the authenticator's signing between them is left out of the figure.
//! - `sign_in/passkey_sqlite_cpu`: the same, as the CPU time of the whole process (every
//!   thread) over those two requests: the server's cost of a sign-in without sockets. One at a
//!   time, so every sign-in pays a commit (an fsync) of its own.
//! - `sign_in/passkey_sqlite_cpu_16`: 16 sign-ins in flight at once (the begins together, then
//!   the finishes together, the signing between them left out), CPU time per sign-in: what a
//!   sign-in costs under load, where the group commit shares each fsync.
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
    const IN_FLIGHT: usize = 16;
    let mut browsers: Vec<_> = (0..IN_FLIGHT)
        .map(|i| runtime.block_on(server.signed_in(&format!("bench{i}"))))
        .collect();
    g.bench_function("passkey_sqlite_cpu_16", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                for (client, _) in &mut browsers {
                    client.cookies.clear();
                }
                let started = ProcessTime::now();
                let begun = runtime.block_on(in_flight(&mut browsers, |client, _| {
                    Box::pin(async move { client.login_begin(None).await })
                }));
                spent += started.elapsed();
                let responses: Vec<_> = browsers
                    .iter_mut()
                    .zip(&begun)
                    .map(|((_, passkey), options)| passkey.get(options, ORIGIN, &Tweak::default()))
                    .collect();
                let started = ProcessTime::now();
                let finished = runtime.block_on(in_flight(&mut browsers, |client, i| {
                    let response = responses[i].clone();
                    Box::pin(async move { client.login_finish(&response).await.ok() })
                }));
                spent += started.elapsed();
                assert!(finished.iter().all(|f| f["user"]["username"].is_string()));
            }
            // Per sign-in: the figure is comparable with passkey_sqlite_cpu's.
            spent / u32::try_from(IN_FLIGHT).unwrap()
        })
    });
    g.finish();
    // The database goes with the server, inside the runtime its pool was made on.
    runtime.block_on(async move { drop(server) });
}

type Step<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = serde_json::Value> + 'a>>;

/// Runs `step` for every browser at once, on the runtime's thread, and gathers the answers.
async fn in_flight<'a>(
    browsers: &'a mut [(client::Client, authenticator::Passkey)],
    step: impl Fn(&'a mut client::Client, usize) -> Step<'a>,
) -> Vec<serde_json::Value> {
    let steps: Vec<_> = browsers
        .iter_mut()
        .enumerate()
        .map(|(i, (client, _))| step(client, i))
        .collect();
    join_all(steps).await
}

/// Polls every future until all are done (the benches add no dependency for this).
async fn join_all(steps: Vec<Step<'_>>) -> Vec<serde_json::Value> {
    let mut steps: Vec<Option<Step<'_>>> = steps.into_iter().map(Some).collect();
    let mut done: Vec<Option<serde_json::Value>> = vec![None; steps.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (step, out) in steps.iter_mut().zip(done.iter_mut()) {
            if let Some(future) = step {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *step = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().map(|v| v.unwrap()).collect()
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
