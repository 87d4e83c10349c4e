//! Escrow recovery against real guardians: three `latch guardian` processes, each on its own
//! database (two SQLite files and, when `LATCH_TEST_POSTGRES_URL` is set, one PostgreSQL
//! schema), driven over HTTP as `latch vault` drives them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../src/cmd/vault/guardians.rs"]
mod guardians;

#[allow(dead_code)]
#[path = "../src/cmd/key/udp.rs"]
mod udp;

#[allow(dead_code)]
mod e2e_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use e2e_support::{block_on, databases, Db, Guardian};
use guardians::{GuardianCallError, Guardians};
use latch_server::store::db::query;
use latch_server::store::Store;
use latch_vault::escrow::messages::{Evaluate, State};
use latch_vault::escrow::{register, Params, Recovery};
use latch_vault::recovery::RecoveryKey;
use latch_vault::VaultError;
use rand_core::OsRng;

const PASSCODE: &[u8] = b"246813";

/// Three guardians' databases: SQLite, SQLite, and PostgreSQL when the tests have one.
fn guardian_dbs() -> Vec<Db> {
    let mut a = databases();
    let mut b = databases();
    let mut c = databases();
    let third = c.pop().unwrap();
    vec![a.remove(0), b.remove(0), third]
}

fn start(dbs: &[Db]) -> Vec<Guardian> {
    dbs.iter().map(|db| Guardian::start(&db.url)).collect()
}

fn client(guardians: &[Guardian]) -> Guardians {
    let urls: Vec<String> = guardians.iter().map(|g| g.url.clone()).collect();
    Guardians::new(&urls)
}

/// A fresh escrow of a fresh recovery key, with the default three-guardian settings.
fn registered(client: &Guardians) -> ([u8; 16], RecoveryKey) {
    let key = RecoveryKey::generate(&mut OsRng);
    let mut escrow = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut escrow);
    let params = Params::for_guardians(3).unwrap();
    let stages = register(&params, &key, PASSCODE, &mut OsRng).unwrap();
    client
        .register(&escrow, &stages, &key.signing_key().unwrap())
        .unwrap();
    (escrow, key)
}

/// Rows at this guardian that still hold secrets.
fn rows_with_secrets(db: &Db) -> i64 {
    block_on(async {
        let store = Store::connect_guardian(&db.url).await.unwrap();
        let mut conn = store.conn().await.unwrap();
        let row = query("SELECT COUNT(*) AS n FROM escrows WHERE oprf_key IS NOT NULL OR masked_share IS NOT NULL OR wrapped_key IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        drop(conn);
        store.close().await;
        row.try_get::<i64>("n").unwrap()
    })
}

#[test]
fn a_hundred_parallel_wrong_guesses_spend_exactly_the_limit_and_destroy_the_escrow() {
    let dbs = guardian_dbs();
    let guardians = start(&dbs);
    let client = Arc::new(client(&guardians));
    let (escrow, _) = registered(&client);
    let allowed = client.status_of(0, &escrow).unwrap().guesses_left as usize;
    assert_eq!(allowed, 6);

    // Ten different wrong passcodes, blinded once each (a guess is the same at every guardian).
    let statuses = client.statuses(&escrow);
    let guesses: Vec<Evaluate> = (0..10)
        .map(|k| {
            let wrong = format!("wrong{k}");
            let (_, g) = Recovery::start(wrong.as_bytes(), &statuses, &mut OsRng).unwrap();
            g[0].1.clone()
        })
        .collect();
    let guesses = Arc::new(guesses);

    // A hundred attackers at once, each sending its guess to all three guardians.
    let answered: Arc<Vec<AtomicUsize>> = Arc::new((0..3).map(|_| AtomicUsize::new(0)).collect());
    let start = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|t| {
            let (client, guesses, answered, start) = (
                client.clone(),
                guesses.clone(),
                answered.clone(),
                start.clone(),
            );
            thread::spawn(move || {
                start.wait();
                for g in 0..3 {
                    match client.evaluate(g, &escrow, &guesses[t % 10]) {
                        Ok(_) => {
                            answered[g].fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => assert_eq!(e.code(), Some("no_guesses"), "{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for (g, n) in answered.iter().enumerate() {
        assert_eq!(
            n.load(Ordering::SeqCst),
            allowed,
            "guardian {g} answered exactly its limit"
        );
    }
    println!(
        "100 attackers × 3 guardians: {} evaluations released in all (limit {} per guardian; at most {} guesses)",
        answered.iter().map(|n| n.load(Ordering::SeqCst)).sum::<usize>(),
        allowed,
        Params::for_guardians(3).unwrap().total_guesses()
    );
    for g in 0..3 {
        let status = client.status_of(g, &escrow).unwrap();
        assert_eq!((status.state, status.guesses_left), (State::NoGuesses, 0));
    }
    // The right passcode is too late: the records are destroyed.
    match client.recover(&escrow, PASSCODE, &mut OsRng) {
        Err(GuardianCallError::Vault(VaultError::NoGuesses)) => {}
        other => panic!("expected no guesses, got {:?}", other.err()),
    }
    drop(guardians);
    for db in &dbs {
        assert_eq!(
            rows_with_secrets(db),
            0,
            "{}: the secrets are erased",
            db.name
        );
    }
}

#[test]
fn the_right_passcode_recovers_and_a_killed_guardian_keeps_its_count() {
    let dbs = guardian_dbs();
    let mut guardians = start(&dbs);
    let (escrow, key) = registered(&client(&guardians));

    for wrong in ["000000", "111111", "222222"] {
        match client(&guardians).recover(&escrow, wrong.as_bytes(), &mut OsRng) {
            Err(GuardianCallError::Vault(VaultError::WrongPasscode { .. })) => {}
            other => panic!("expected a wrong passcode, got {:?}", other.err()),
        }
    }
    let before: Vec<u32> = client(&guardians)
        .statuses(&escrow)
        .iter()
        .map(|s| s.as_ref().unwrap().guesses_left)
        .collect();
    assert_eq!(
        before.iter().sum::<u32>(),
        18 - 6,
        "three guesses, two guardians each"
    );

    // SIGKILL every guardian between attempts; each comes back with its count.
    for (g, db) in dbs.iter().enumerate() {
        let listen = guardians[g].listen.clone();
        guardians[g].kill();
        guardians[g] = Guardian::start_at(&db.url, &listen);
    }
    let after: Vec<u32> = client(&guardians)
        .statuses(&escrow)
        .iter()
        .map(|s| s.as_ref().unwrap().guesses_left)
        .collect();
    assert_eq!(after, before);

    let recovered = client(&guardians)
        .recover(&escrow, PASSCODE, &mut OsRng)
        .unwrap();
    assert_eq!(recovered.bytes(), key.bytes());
    for status in client(&guardians).statuses(&escrow) {
        assert_eq!(
            status.unwrap().guesses_left,
            6,
            "a right passcode resets every count"
        );
    }
}

#[test]
fn a_guardian_killed_during_a_burst_of_guesses_loses_none_it_answered() {
    let dbs = guardian_dbs();
    let mut guardians = start(&dbs);
    let client = Arc::new(client(&guardians));
    let (escrow, _) = registered(&client);
    let (_, g) = Recovery::start(b"nope", &client.statuses(&escrow), &mut OsRng).unwrap();
    let guess = Arc::new(g[0].1.clone());

    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (client, guess, answered, stop) = (
                client.clone(),
                guess.clone(),
                answered.clone(),
                stop.clone(),
            );
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if client.evaluate(0, &escrow, &guess).is_ok() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(40));
    let listen = guardians[0].listen.clone();
    guardians[0].kill();
    let acknowledged = answered.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    guardians[0] = Guardian::start_at(&dbs[0].url, &listen);
    let status = client.status_of(0, &escrow).unwrap();
    let counted = 6 - status.guesses_left as usize;
    println!("guardian killed mid-burst: {acknowledged} guesses answered, {counted} counted after restart");
    assert!(
        counted >= acknowledged,
        "{acknowledged} answered but only {counted} counted"
    );
}
