//! The storage layer on its own: migrations, the single-use ceremony, the forward-only counter.

use latch_server::store::credentials::{self, Credential, Use};
use latch_server::store::{ceremonies, factors, rate_limits, settings, sign_in, users};
use latch_server::Store;

use crate::db::{databases, snapshot};

fn credential(id: &[u8], user_id: i64, sign_count: u32) -> Credential {
    Credential {
        id: id.to_vec(),
        user_id,
        public_key: vec![0xa5, 1, 2],
        alg: -7,
        sign_count,
        transports: vec!["usb".into(), "nfc".into()],
        aaguid: [7; 16],
        attestation_fmt: "none".into(),
        backup_eligible: true,
        backed_up: false,
        user_verified: true,
        discoverable: Some(true),
        name: "Key".into(),
        created_at: 100,
        last_used_at: None,
    }
}

#[tokio::test]
async fn migrations_apply_once_and_reopen_cleanly() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        store.close().await;
        // A second instance on the same database finds the schema in place.
        let store = db.store().await;
        let s = snapshot(&store).await;
        assert_eq!(s.count("users"), 0);
        store.close().await;
    }
}

#[tokio::test]
async fn users_and_credentials_round_trip() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let user = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        assert_eq!(user.username, "ada");
        assert_eq!(user.user_handle, vec![1; 32]);
        assert_eq!(user.password_hash, None);
        let dup = users::insert(&mut conn, "ada", "Other", &[2; 32], 51)
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");

        let c = credential(b"cred-1", user.id, 3);
        credentials::insert(&mut conn, &c).await.unwrap();
        let dup = credentials::insert(&mut conn, &c).await.unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
        assert_eq!(
            credentials::by_id(&mut conn, b"cred-1").await.unwrap(),
            Some(c.clone())
        );
        assert_eq!(
            credentials::of_user(&mut conn, user.id).await.unwrap(),
            vec![c]
        );
        assert_eq!(
            credentials::count_of_user(&mut conn, user.id)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            users::by_username(&mut conn, "ada").await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(users::by_username(&mut conn, "bob").await.unwrap(), None);
    }
}

#[tokio::test]
async fn the_counter_only_moves_forward() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let user = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        credentials::insert(&mut conn, &credential(b"c", user.id, 5))
            .await
            .unwrap();
        let at = |n: u32| Use {
            sign_count: n,
            backup_eligible: true,
            backed_up: true,
            now: 60,
        };
        assert!(credentials::record_use(&mut conn, b"c", at(7))
            .await
            .unwrap());
        assert!(!credentials::record_use(&mut conn, b"c", at(7))
            .await
            .unwrap());
        assert!(!credentials::record_use(&mut conn, b"c", at(6))
            .await
            .unwrap());
        let stored = credentials::by_id(&mut conn, b"c").await.unwrap().unwrap();
        assert_eq!(stored.sign_count, 7);
        assert!(stored.backed_up);
        assert_eq!(stored.last_used_at, Some(60));

        // An authenticator without a counter (always zero) signs in again and again.
        credentials::insert(&mut conn, &credential(b"z", user.id, 0))
            .await
            .unwrap();
        assert!(credentials::record_use(&mut conn, b"z", at(0))
            .await
            .unwrap());
        assert!(credentials::record_use(&mut conn, b"z", at(0))
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn a_ceremony_is_deleted_once_and_a_rollback_puts_it_back() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        ceremonies::insert(&mut conn, b"id", "login", None, "{}", 10, 310)
            .await
            .unwrap();
        drop(conn);

        let mut tx = store.begin().await.unwrap();
        assert!(ceremonies::delete(&mut tx, b"id").await.unwrap());
        tx.rollback().await.unwrap();

        let mut conn = store.conn().await.unwrap();
        assert_eq!(
            ceremonies::get(&mut conn, b"id", "signup").await.unwrap(),
            None
        );
        let stored = ceremonies::get(&mut conn, b"id", "login")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, "{}");
        assert_eq!(stored.expires_at, 310);
        assert!(ceremonies::delete(&mut conn, b"id").await.unwrap());
        assert!(!ceremonies::delete(&mut conn, b"id").await.unwrap());
        assert_eq!(
            ceremonies::get(&mut conn, b"id", "login").await.unwrap(),
            None
        );

        ceremonies::insert(&mut conn, b"old", "login", None, "{}", 10, 20)
            .await
            .unwrap();
        ceremonies::insert(&mut conn, b"new", "login", None, "{}", 10, 400)
            .await
            .unwrap();
        assert_eq!(ceremonies::purge_expired(&mut conn, 300).await.unwrap(), 1);
        assert!(ceremonies::get(&mut conn, b"new", "login")
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn a_sealed_token_is_marked_used_once_until_it_expires() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut tx = store.begin().await.unwrap();
        assert!(ceremonies::mark_used(&mut tx, b"t", 310).await.unwrap());
        tx.rollback().await.unwrap();

        let mut conn = store.conn().await.unwrap();
        assert!(ceremonies::mark_used(&mut conn, b"t", 310).await.unwrap());
        assert!(!ceremonies::mark_used(&mut conn, b"t", 310).await.unwrap());
        assert!(ceremonies::mark_used(&mut conn, b"u", 500).await.unwrap());
        assert_eq!(ceremonies::purge_used(&mut conn, 300).await.unwrap(), 0);
        assert_eq!(ceremonies::purge_used(&mut conn, 311).await.unwrap(), 1);
        assert!(!ceremonies::mark_used(&mut conn, b"u", 500).await.unwrap());
    }
}

#[tokio::test]
async fn a_setting_keeps_its_first_value() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        assert_eq!(
            settings::get_or_insert(&mut conn, "k", b"one")
                .await
                .unwrap(),
            b"one"
        );
        assert_eq!(
            settings::get_or_insert(&mut conn, "k", b"two")
                .await
                .unwrap(),
            b"one"
        );
    }
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported database URL \"mysql://localhost/x\": use sqlite://FILE, sqlite::memory: or postgres://…"
    );
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync() {
    let db = databases().await.into_iter().next().unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    let mut conn = store.conn().await.unwrap();
    use latch_server::store::db::query;
    let mode: String = query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("journal_mode")
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = query("PRAGMA synchronous")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("synchronous")
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

/// A transaction that reads, then writes, while another commits a write in between: both
/// succeed (on SQLite the second waits for the first instead of failing at its write).
#[tokio::test]
async fn read_then_write_transactions_do_not_trip_over_each_other() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let user = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        drop(conn);

        let mut first = store.begin().await.unwrap();
        assert!(users::by_id(&mut first, user.id).await.unwrap().is_some());
        let other = store.clone();
        let second = tokio::spawn(async move {
            let mut tx = other.begin().await.unwrap();
            users::insert(&mut tx, "bob", "Bob", &[2; 32], 51)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        users::insert(&mut first, "eve", "Eve", &[3; 32], 52)
            .await
            .unwrap();
        first.commit().await.unwrap();
        second.await.unwrap();
        assert_eq!(snapshot(&store).await.count("users"), 3);
    }
}

/// Concurrent writes (on SQLite, batched into shared transactions): each is all or nothing,
/// and a failing one takes nothing of the others with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_commit_or_vanish_one_by_one() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let tasks: Vec<_> = (0..24u8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(move |tx| {
                            Box::pin(async move {
                                for part in ["a", "b"] {
                                    let key = format!("test-{i}-{part}");
                                    settings::get_or_insert(tx, &key, &[i]).await?;
                                }
                                if i % 3 == 0 {
                                    // Fails after writing: both rows must go.
                                    return Err(latch_server::store::DbError::RowNotFound);
                                }
                                Ok(i)
                            })
                        })
                        .await
                })
            })
            .collect();
        for (i, task) in (0..24u8).zip(tasks) {
            let result = task.await.unwrap();
            assert_eq!(result.is_ok(), i % 3 != 0, "write {i}: {result:?}");
        }
        let mut conn = store.conn().await.unwrap();
        for i in 0..24u8 {
            for part in ["a", "b"] {
                let key = format!("test-{i}-{part}");
                // A value that was kept answers with its own; a rolled-back one is fresh.
                let value = settings::get_or_insert(&mut conn, &key, &[0xFF])
                    .await
                    .unwrap();
                let expected = if i % 3 == 0 { 0xFF } else { i };
                assert_eq!(value, vec![expected], "{key}");
            }
        }
    }
}

#[tokio::test]
async fn a_username_comes_with_its_credentials_in_one_query() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        assert!(credentials::of_username(&mut conn, "ada")
            .await
            .unwrap()
            .is_none());
        let ada = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        let (user, none) = credentials::of_username(&mut conn, "ada")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((user, none), (ada.clone(), Vec::new()));
        let mut later = credential(b"b-later", ada.id, 0);
        later.created_at = 200;
        credentials::insert(&mut conn, &later).await.unwrap();
        credentials::insert(&mut conn, &credential(b"a-first", ada.id, 0))
            .await
            .unwrap();
        let bob = users::insert(&mut conn, "bob", "Bob", &[2; 32], 50)
            .await
            .unwrap();
        credentials::insert(&mut conn, &credential(b"bob's", bob.id, 0))
            .await
            .unwrap();
        let (user, creds) = credentials::of_username(&mut conn, "ada")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user, ada);
        let ids: Vec<_> = creds.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, vec![b"a-first".to_vec(), b"b-later".to_vec()]);
        assert_eq!(creds[1], later);
    }
}

#[tokio::test]
async fn a_sign_in_reads_credential_owner_policy_and_attempts_at_once() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let limits = [("scope_a", "key", 900), ("scope_b", "1.2.3.4", 900)];
        let read = sign_in::read(&mut conn, b"nope", &limits).await.unwrap();
        assert!(read.found.is_none());
        assert_eq!(read.policy, None);
        assert_eq!(read.attempts, vec![0, 0]);

        let ada = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        let c = credential(b"cred", ada.id, 4);
        credentials::insert(&mut conn, &c).await.unwrap();
        settings::get_or_insert(&mut conn, "policy", b"{}")
            .await
            .unwrap();
        for _ in 0..3 {
            rate_limits::hit(&mut conn, "scope_b", "1.2.3.4", 900, 1800)
                .await
                .unwrap();
        }
        // Another window and another key count for nothing here.
        rate_limits::hit(&mut conn, "scope_a", "key", 0, 900)
            .await
            .unwrap();
        rate_limits::hit(&mut conn, "scope_a", "other", 900, 1800)
            .await
            .unwrap();
        let read = sign_in::read(&mut conn, b"cred", &limits).await.unwrap();
        assert_eq!(read.found, Some((c, ada)));
        assert_eq!(read.policy.as_deref(), Some(&b"{}"[..]));
        assert_eq!(read.attempts, vec![0, 3]);
        let one = sign_in::read(&mut conn, b"cred", &limits[1..])
            .await
            .unwrap();
        assert_eq!(one.attempts, vec![3]);
    }
}

/// A write that panics (a bug) fails alone: on SQLite the group-commit writer lives on.
#[tokio::test]
async fn the_writer_outlives_a_write_that_panics() {
    for db in databases().await {
        if db.name != "sqlite" {
            continue;
        }
        let store = db.store().await;
        let panicked = store
            .write(|_tx| Box::pin(async move { panic!("a bug in a write") }))
            .await;
        let _: () = match panicked {
            Ok(()) => panic!("a panicking write reported success"),
            Err(latch_server::store::DbError::Other(_)) => (),
            Err(e) => panic!("unexpected error {e}"),
        };
        let kept = store
            .write(|tx| Box::pin(async move { settings::get_or_insert(tx, "after", b"x").await }))
            .await
            .unwrap();
        assert_eq!(kept, b"x".to_vec());
    }
}

#[tokio::test]
async fn a_new_authenticator_secret_never_replaces_a_confirmed_one() {
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let ada = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        let key = store.secrets_key().unwrap();
        let sealed = |secret: &[u8]| factors::SealedSecret::new(key, ada.id, secret).unwrap();
        assert!(
            factors::put_unconfirmed_totp(&mut conn, &sealed(b"first"), 60)
                .await
                .unwrap()
        );
        // An unconfirmed secret is replaced by the next enrolment.
        assert!(
            factors::put_unconfirmed_totp(&mut conn, &sealed(b"second"), 61)
                .await
                .unwrap()
        );
        let totp = factors::totp(&mut conn, key, ada.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (totp.secret.as_slice(), totp.confirmed),
            (&b"second"[..], false)
        );
        assert!(factors::accept_totp_step(&mut conn, ada.id, 5)
            .await
            .unwrap());
        // Confirmed: a new enrolment changes nothing.
        assert!(
            !factors::put_unconfirmed_totp(&mut conn, &sealed(b"third"), 62)
                .await
                .unwrap()
        );
        let totp = factors::totp(&mut conn, key, ada.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (totp.secret.as_slice(), totp.confirmed),
            (&b"second"[..], true)
        );
    }
}

/// A sign-in's commit, through the store's interface on each backend: it writes its rows
/// together, and each re-check inside it (the ceremony, the counter, the credential, the
/// token's expiry) refuses on its own and leaves everything as it was.
#[tokio::test]
async fn a_sign_in_commit_writes_all_or_nothing_and_rechecks_each_thing() {
    use latch_server::store::audit::Caller;
    use latch_server::store::commit::{
        Assertion, CeremonyUse, Commit, CommitError, Committed, NewSession,
    };
    for db in databases().await {
        println!("backend: {}", db.name);
        let store = db.store().await;
        let mut conn = store.conn().await.unwrap();
        let ada = users::insert(&mut conn, "ada", "Ada", &[1; 32], 50)
            .await
            .unwrap();
        credentials::insert(&mut conn, &credential(b"cred", ada.id, 5))
            .await
            .unwrap();
        drop(conn);
        let sign_in = |count: u32, session: &[u8]| Commit::SignIn {
            assertion: Assertion {
                user_id: ada.id,
                credential_id: b"cred".to_vec(),
                usage: Use {
                    sign_count: count,
                    backup_eligible: true,
                    backed_up: true,
                    now: 100,
                },
            },
            session: NewSession {
                id_hash: session.to_vec(),
                expires_at: 200,
                second_factor_done: true,
                proven: true,
                amr: "hwk user uv".into(),
            },
        };
        let sealed = |token: &[u8], expires_at| CeremonyUse::Sealed {
            hash: token.to_vec(),
            expires_at,
            sweep_before: None,
        };
        let caller = Caller {
            ip: Some("192.0.2.1".into()),
            user_agent: None,
        };
        let before = snapshot(&store).await;
        let done = store
            .commit(sealed(b"t1", 400), sign_in(6, b"s1"), caller.clone(), 100)
            .await
            .unwrap();
        assert_eq!(done, Committed::SignIn);
        let after = snapshot(&store).await;
        assert_eq!(after.count("sessions"), before.count("sessions") + 1);
        assert_eq!(after.count("used_ceremonies"), 1);
        assert_eq!(
            after.count("audit_events"),
            before.count("audit_events") + 1
        );
        assert_eq!(after.counters, vec![(b"cred".to_vec(), 6, Some(100))]);
        let mut conn = store.conn().await.unwrap();
        let session = latch_server::store::sessions::by_id_hash(&mut conn, b"s1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((session.user_id, session.expires_at), (ada.id, 200));
        drop(conn);

        // The same token again: a replay.
        let replay = store
            .commit(sealed(b"t1", 400), sign_in(7, b"s2"), caller.clone(), 100)
            .await;
        assert!(
            matches!(replay, Err(CommitError::CeremonyUsed)),
            "{replay:?}"
        );
        // A counter that another sign-in moved past this one's.
        let raced = store
            .commit(sealed(b"t2", 400), sign_in(6, b"s3"), caller.clone(), 100)
            .await;
        assert!(matches!(raced, Err(CommitError::CounterRaced)), "{raced:?}");
        // A token that expired since it was opened.
        let late = store
            .commit(sealed(b"t3", 100), sign_in(9, b"s4"), caller.clone(), 100)
            .await;
        assert!(
            matches!(late, Err(CommitError::CeremonyExpired)),
            "{late:?}"
        );
        // A stored ceremony that is not there (used up by another instance).
        let gone = CeremonyUse::Stored {
            hash: b"nothing".to_vec(),
        };
        let used = store
            .commit(gone, sign_in(9, b"s5"), caller.clone(), 100)
            .await;
        assert!(matches!(used, Err(CommitError::CeremonyUsed)), "{used:?}");
        assert_eq!(
            snapshot(&store).await,
            after,
            "refused commits wrote nothing"
        );

        // A ceremony stored in the database (PostgreSQL's way, and SQLite's for large ones):
        // a lost counter race leaves it in place, a success takes it, a replay finds it gone.
        let mut conn = store.conn().await.unwrap();
        ceremonies::insert(&mut conn, b"c1", "login", None, "{}", 100, 400)
            .await
            .unwrap();
        drop(conn);
        let stored = || CeremonyUse::Stored {
            hash: b"c1".to_vec(),
        };
        let with_ceremony = snapshot(&store).await;
        let raced = store
            .commit(stored(), sign_in(6, b"s7"), caller.clone(), 100)
            .await;
        assert!(matches!(raced, Err(CommitError::CounterRaced)), "{raced:?}");
        assert_eq!(
            snapshot(&store).await,
            with_ceremony,
            "the race wrote nothing"
        );
        let done = store
            .commit(stored(), sign_in(8, b"s8"), caller.clone(), 100)
            .await
            .unwrap();
        assert_eq!(done, Committed::SignIn);
        let taken = snapshot(&store).await;
        assert_eq!(
            taken.count("ceremonies"),
            with_ceremony.count("ceremonies") - 1
        );
        assert_eq!(taken.count("sessions"), with_ceremony.count("sessions") + 1);
        assert_eq!(
            taken.count("audit_events"),
            with_ceremony.count("audit_events") + 1
        );
        assert_eq!(taken.counters, vec![(b"cred".to_vec(), 8, Some(100))]);
        let replay = store
            .commit(stored(), sign_in(9, b"s9"), caller.clone(), 100)
            .await;
        assert!(
            matches!(replay, Err(CommitError::CeremonyUsed)),
            "{replay:?}"
        );
        assert_eq!(snapshot(&store).await, taken);

        // The credential deleted since the check.
        let mut conn = store.conn().await.unwrap();
        assert!(credentials::delete(&mut conn, ada.id, b"cred")
            .await
            .unwrap());
        drop(conn);
        let deleted = snapshot(&store).await;
        let vanished = store
            .commit(sealed(b"t4", 400), sign_in(10, b"s6"), caller, 100)
            .await;
        assert!(
            matches!(vanished, Err(CommitError::CredentialGone)),
            "{vanished:?}"
        );
        assert_eq!(snapshot(&store).await, deleted);
    }
}
