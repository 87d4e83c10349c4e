//! Crash safety, measured: a real `latch serve` under load from several clients (sign-ups,
//! passkey sign-ins, keys added, renamed and deleted) is killed with SIGKILL at random moments,
//! 20 times, and started again on the same database. After each restart everything the server
//! had acknowledged must be there: every account, key, name and deletion, every session a
//! sign-in returned, and each key's stored signature counter at least the one last
//! acknowledged (and never lower than at the previous check); SQLite's `integrity_check`
//! passes. On PostgreSQL only the server process dies; the database stays up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../src/cmd/bench/site.rs"]
mod site;
#[allow(dead_code)]
#[path = "../src/cmd/key/udp.rs"]
mod udp;

#[allow(dead_code)]
mod e2e_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use e2e_support::{block_on, databases, Db, Server, ORIGIN};
use latch_ctap::client::loopback::Loopback;
use latch_ctap::client::{webauthn, Ctap2, HidDevice};
use latch_server::store::db::query;
use latch_server::store::Store;
use latch_webauthn::b64;
use latch_webauthn::wire::CreationOptionsJson;
use serde_json::{json, Value};
use site::{agent, Site, SiteError};

const KILLS: usize = 20;
const WORKERS: usize = 3;

fn random_below(n: u32) -> u32 {
    let mut b = [0u8; 4];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u32::from_le_bytes(b) % n.max(1)
}

type Key = Ctap2<HidDevice<Loopback>>;

fn new_key() -> Key {
    let mut seed = [0u8; 8];
    aws_lc_rs::rand::fill(&mut seed).unwrap();
    let loopback = Loopback::with_built_in_uv(u64::from_le_bytes(seed)).unwrap();
    Ctap2::new(HidDevice::open(loopback, seed).unwrap()).unwrap()
}

/// Whether a call's write may have happened: an API error means it did not, a lost
/// connection (the server died) that it may have.
fn maybe_written(e: &SiteError) -> bool {
    matches!(e, SiteError::Transport(_))
}

#[derive(PartialEq)]
enum Life {
    Live,
    /// A delete was sent and not answered: either is fine.
    MaybeDeleted,
    Deleted,
}

struct Cred {
    id: String,
    key: Key,
    /// The counter of the last acknowledged sign-in with it.
    counter: i64,
    /// The highest counter a check has seen stored.
    seen_counter: i64,
    name: String,
    /// Renames sent since the last acknowledged one, and not answered.
    maybe_names: Vec<String>,
    life: Life,
}

struct Account {
    username: String,
    site: Site,
    creds: Vec<Cred>,
}

#[derive(Default)]
struct Ledger {
    accounts: Vec<Account>,
    /// Acknowledged writes, by kind.
    acked: BTreeMap<&'static str, u64>,
    /// Calls cut off by a kill (no answer at all).
    interrupted: u64,
    next: u32,
}

struct Shared {
    paused: AtomicBool,
    stop: AtomicBool,
    in_op: AtomicUsize,
}

fn counter_of(assertion: &Value) -> i64 {
    let data = b64::decode(assertion["response"]["authenticatorData"].as_str().unwrap()).unwrap();
    i64::from(u32::from_be_bytes(data[33..37].try_into().unwrap()))
}

/// One operation against the server, recorded in the ledger once the server answers.
fn step(worker: usize, url: &str, ledger: &mut Ledger) {
    let roll = random_below(100);
    if ledger.accounts.is_empty() || roll < 20 {
        let username = format!("w{worker}-{}", ledger.next);
        ledger.next += 1;
        let mut key = new_key();
        let mut site = Site::new(agent(1), url, ORIGIN);
        let signed_up = site.signup(&mut key, &username, None);
        if signed_up.as_ref().is_err_and(maybe_written) {
            ledger.interrupted += 1;
        }
        if let Ok(reply) = signed_up {
            let cred = &reply["credential"];
            ledger.accounts.push(Account {
                username,
                site,
                creds: vec![Cred {
                    id: cred["id"].as_str().unwrap().to_owned(),
                    key,
                    counter: 0,
                    seen_counter: 0,
                    name: cred["name"].as_str().unwrap().to_owned(),
                    maybe_names: Vec::new(),
                    life: Life::Live,
                }],
            });
            *ledger.acked.entry("sign-up").or_default() += 1;
        }
        return;
    }
    let pick = random_below(u32::try_from(ledger.accounts.len()).unwrap()) as usize;
    let account = &mut ledger.accounts[pick];
    let live: Vec<usize> = (0..account.creds.len())
        .filter(|&i| account.creds[i].life == Life::Live)
        .collect();
    match roll {
        // A passkey sign-in with the account's first key, by username or discoverable.
        20..=59 => {
            let username = (roll % 2 == 0).then_some(account.username.as_str());
            let Ok(options) = account.site.login_begin(username) else {
                return;
            };
            let primary = &mut account.creds[0];
            let assertion = webauthn::get(&mut primary.key, &options, ORIGIN, None).unwrap();
            let assertion = serde_json::to_value(assertion).unwrap();
            let counter = counter_of(&assertion);
            let body = json!({ "credential": assertion });
            match account.site.post("/login/finish", &body) {
                Ok(_) => {
                    primary.counter = counter;
                    *ledger.acked.entry("sign-in").or_default() += 1;
                }
                Err(e) if maybe_written(&e) => ledger.interrupted += 1,
                Err(_) => {}
            }
        }
        // Another security key.
        60..=74 => {
            let Ok(begun) = account.site.post("/me/credentials/begin", &json!({})) else {
                return;
            };
            let options: CreationOptionsJson =
                serde_json::from_value(begun["publicKey"].clone()).unwrap();
            let mut key = new_key();
            let created = webauthn::create(&mut key, &options, ORIGIN, None).unwrap();
            let id = created.id.clone();
            let name = format!("key {}", account.creds.len());
            let body = json!({ "credential": created, "name": name });
            let added = account.site.post("/me/credentials/finish", &body);
            if added.as_ref().is_err_and(maybe_written) {
                ledger.interrupted += 1;
            }
            if added.is_ok() {
                account.creds.push(Cred {
                    id,
                    key,
                    counter: 0,
                    seen_counter: 0,
                    name,
                    maybe_names: Vec::new(),
                    life: Life::Live,
                });
                *ledger.acked.entry("key added").or_default() += 1;
            }
        }
        // A rename.
        75..=92 => {
            let i = live[random_below(u32::try_from(live.len()).unwrap()) as usize];
            let cred = &mut account.creds[i];
            let name = format!("renamed {}", random_below(1_000_000));
            let path = format!("/me/credentials/{}", cred.id);
            match account
                .site
                .request("PATCH", &path, Some(&json!({ "name": name })))
            {
                Ok(_) => {
                    cred.name = name;
                    cred.maybe_names.clear();
                    *ledger.acked.entry("key renamed").or_default() += 1;
                }
                Err(e) if maybe_written(&e) => {
                    cred.maybe_names.push(name);
                    ledger.interrupted += 1;
                }
                Err(_) => {}
            }
        }
        // Deleting a key other than the first.
        _ => {
            let Some(&i) = live.iter().find(|&&i| i > 0) else {
                return;
            };
            let cred = &mut account.creds[i];
            let path = format!("/me/credentials/{}", cred.id);
            match account.site.request("DELETE", &path, None) {
                Ok(_) => {
                    cred.life = Life::Deleted;
                    *ledger.acked.entry("key deleted").or_default() += 1;
                }
                Err(e) if maybe_written(&e) => {
                    cred.life = Life::MaybeDeleted;
                    ledger.interrupted += 1;
                }
                Err(_) => {}
            }
        }
    }
}

/// What the database holds.
struct Stored {
    usernames: Vec<String>,
    /// (name, counter) by credential id.
    creds: BTreeMap<String, (String, i64)>,
    /// SQLite's `integrity_check` answer.
    integrity: Option<String>,
}

fn stored(db: &Db) -> Stored {
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let mut conn = store.conn().await.unwrap();
        let usernames = query("SELECT username FROM users")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("username").unwrap())
            .collect();
        let creds = query("SELECT id, name, sign_count FROM credentials")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let id = b64::encode(r.try_get::<Vec<u8>>("id").unwrap());
                let name = r.try_get::<String>("name").unwrap();
                (id, (name, r.try_get::<i64>("sign_count").unwrap()))
            })
            .collect();
        let integrity = if db.name == "sqlite" {
            let row = query("PRAGMA integrity_check")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            Some(row.try_get::<String>("integrity_check").unwrap())
        } else {
            None
        };
        drop(conn);
        store.close().await;
        Stored {
            usernames,
            creds,
            integrity,
        }
    })
}

/// Every acknowledged write checked against the restarted server; the failures.
fn check(db: &Db, ledgers: &[Arc<Mutex<Ledger>>], checks: &mut u64) -> Vec<String> {
    let Stored {
        usernames: users,
        creds,
        integrity,
    } = stored(db);
    let mut lost = Vec::new();
    if let Some(result) = integrity {
        *checks += 1;
        if result != "ok" {
            lost.push(format!("integrity_check: {result}"));
        }
    }
    for ledger in ledgers {
        let mut ledger = ledger.lock().unwrap();
        for account in &mut ledger.accounts {
            *checks += 2;
            if !users.contains(&account.username) {
                lost.push(format!("account {} is gone", account.username));
            }
            // The session of the last acknowledged sign-up or sign-in still signs in.
            // (A keep-alive connection to the killed process may fail once.)
            let me = account.site.get("/me").or_else(|_| account.site.get("/me"));
            match me {
                Ok(me) if me["user"]["username"] == account.username.as_str() => {}
                other => lost.push(format!(
                    "{}'s session: {:?}",
                    account.username,
                    other.map_err(|e| e.to_string())
                )),
            }
            for cred in &mut account.creds {
                *checks += 1;
                match (&cred.life, creds.get(&cred.id)) {
                    (Life::Deleted, Some(_)) => {
                        lost.push(format!("deleted key {} is back", cred.id));
                    }
                    (Life::Live, None) => lost.push(format!("key {} is gone", cred.id)),
                    (_, Some((name, count))) => {
                        *checks += 2;
                        if *name != cred.name && !cred.maybe_names.contains(name) {
                            lost.push(format!(
                                "key {} is named {name:?}, acknowledged {:?}",
                                cred.id, cred.name
                            ));
                        }
                        if *count < cred.counter || *count < cred.seen_counter {
                            lost.push(format!(
                                "key {}'s counter went back to {count} (acknowledged {}, seen {})",
                                cred.id, cred.counter, cred.seen_counter
                            ));
                        }
                        cred.seen_counter = cred.seen_counter.max(*count);
                    }
                    (_, None) => {}
                }
            }
        }
    }
    lost
}

fn kill_test(db: &Db) {
    let first = Server::start(&db.url);
    let listen = first.url.trim_start_matches("http://").to_owned();
    let url = first.url.clone();
    let mut server = first;
    let shared = Arc::new(Shared {
        paused: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        in_op: AtomicUsize::new(0),
    });
    let ledgers: Vec<Arc<Mutex<Ledger>>> = (0..WORKERS).map(|_| Arc::default()).collect();
    let workers: Vec<_> = ledgers
        .iter()
        .enumerate()
        .map(|(w, ledger)| {
            let (shared, ledger, url) = (shared.clone(), ledger.clone(), url.clone());
            thread::spawn(move || {
                while !shared.stop.load(Ordering::SeqCst) {
                    shared.in_op.fetch_add(1, Ordering::SeqCst);
                    if shared.paused.load(Ordering::SeqCst) {
                        shared.in_op.fetch_sub(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    step(w, &url, &mut ledger.lock().unwrap());
                    shared.in_op.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    let started = Instant::now();
    let (mut checks, mut lost) = (0u64, Vec::new());
    for kill in 0..KILLS {
        // Let the load run, then kill the server in the middle of whatever it is doing.
        thread::sleep(Duration::from_millis(u64::from(150 + random_below(500))));
        shared.paused.store(true, Ordering::SeqCst);
        server.kill();
        while shared.in_op.load(Ordering::SeqCst) > 0 {
            thread::sleep(Duration::from_millis(2));
        }
        server = Server::start_at(&db.url, &listen);
        let found = check(db, &ledgers, &mut checks);
        if !found.is_empty() {
            eprintln!("{} after kill {}: {found:#?}", db.name, kill + 1);
        }
        lost.extend(found);
        shared.paused.store(false, Ordering::SeqCst);
    }
    shared.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let (mut acked, mut interrupted) = (BTreeMap::<&str, u64>::new(), 0);
    for ledger in &ledgers {
        let ledger = ledger.lock().unwrap();
        interrupted += ledger.interrupted;
        for (kind, n) in &ledger.acked {
            *acked.entry(kind).or_default() += n;
        }
    }
    let total: u64 = acked.values().sum();
    println!(
        "crash test, {}: {KILLS} kills survived in {:.1} s; {total} acknowledged writes ({acked:?}); \
         {interrupted} writes cut off unanswered; {checks} checks after restarts; {} lost",
        db.name,
        started.elapsed().as_secs_f64(),
        lost.len()
    );
    assert!(
        total > u64::try_from(KILLS).unwrap(),
        "the load did too little: {acked:?}"
    );
    assert!(lost.is_empty(), "{}: lost after a kill: {lost:#?}", db.name);
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    for db in databases() {
        kill_test(&db);
    }
}
