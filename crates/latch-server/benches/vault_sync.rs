//! Passkey sync's two figures, in process through the router (no sockets) on a SQLite file:
//!
//! - `vault_sync/full_sync_10000`: a newly joined device takes a 10,000-passkey vault, every
//!   page of the change feed, and opens (checks and decrypts) every item.
//! - `vault_sync/one_change`: one device writes a change to one passkey, and a second device,
//!   caught up before, takes it from the feed and opens it.
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
// Its tests are not compiled here, so some of what they import is unused.
#[allow(dead_code, unused_imports)]
#[path = "../tests/server/vault.rs"]
mod vault;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use latch_vault::epoch::{EpochKey, Keyring};
use latch_vault::item::open_item;
use latch_vault::ItemId;
use latch_webauthn::b64;
use rand_core::OsRng;

const ITEMS: usize = 10_000;

/// Takes every change after `cursor`, opening each item; returns the new cursor and the count.
async fn pull(
    client: &mut client::Client,
    vault: latch_vault::VaultId,
    keys: &Keyring,
    mut cursor: i64,
) -> (i64, usize) {
    let mut opened = 0;
    loop {
        let page = client
            .get(&format!("/api/v1/vault/changes?after={cursor}"))
            .await
            .ok();
        for c in page["changes"].as_array().unwrap() {
            let item = ItemId::parse(c["item"].as_str().unwrap()).unwrap();
            let sealed = b64::decode(c["sealed"].as_str().unwrap()).unwrap();
            open_item(&sealed, vault, item, c["revision"].as_u64().unwrap(), keys).unwrap();
            opened += 1;
        }
        cursor = page["cursor"].as_i64().unwrap();
        if page["more"] != true {
            return (cursor, opened);
        }
    }
}

fn vault_sync(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(client::servers())
        .into_iter()
        .find(|s| s.backend == "sqlite")
        .unwrap();
    let (mut client, _) = runtime.block_on(server.signed_in("syncer"));
    let made = Arc::new(runtime.block_on(vault::make_vault(&server, &mut client)));
    let server = Arc::new(server);
    let items: Vec<ItemId> = (0..ITEMS).map(|_| ItemId::random(&mut OsRng)).collect();
    // The vault filled by 16 writers at once (the group commit shares their fsyncs).
    let started = Instant::now();
    runtime.block_on(async {
        let writers: Vec<_> = items
            .chunks(ITEMS / 16)
            .map(|chunk| {
                let (mut client, made, server, chunk) =
                    (client.clone(), made.clone(), server.clone(), chunk.to_vec());
                tokio::spawn(async move {
                    for (n, item) in chunk.into_iter().enumerate() {
                        vault::put(
                            &server,
                            &mut client,
                            &made,
                            item,
                            0,
                            &vault::passkey(n, &made.device),
                        )
                        .await
                        .ok();
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
    });
    eprintln!(
        "vault_sync: {ITEMS} passkeys written in {:.1?}",
        started.elapsed()
    );
    let vault = made.ledger.vault();
    let mut keys = Keyring::default();
    keys.insert(EpochKey::from_bytes(0, made.key.bytes()).unwrap());

    let mut g = c.benchmark_group("vault_sync");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("full_sync_10000", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let mut joined = client.clone();
                let started = Instant::now();
                let (_, opened) = runtime.block_on(pull(&mut joined, vault, &keys, 0));
                spent += started.elapsed();
                assert_eq!(opened, ITEMS);
            }
            spent
        })
    });
    let mut second = client.clone();
    let (mut cursor, _) = runtime.block_on(pull(&mut second, vault, &keys, 0));
    let mut revision = 1;
    let changed = items[0];
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("one_change", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for n in 0..iters {
                let started = Instant::now();
                runtime.block_on(async {
                    let content = vault::passkey(n as usize, &made.device);
                    vault::put(&server, &mut client, &made, changed, revision, &content)
                        .await
                        .ok();
                    let (next, opened) = pull(&mut second, vault, &keys, cursor).await;
                    assert_eq!(opened, 1);
                    cursor = next;
                });
                spent += started.elapsed();
                revision += 1;
            }
            spent
        })
    });
    g.finish();
    runtime.block_on(async move { drop(server) });
}

criterion_group!(benches, vault_sync);
criterion_main!(benches);
