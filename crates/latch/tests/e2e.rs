//! End to end, as people would run it: a real `latch serve` process over real HTTP (a random
//! port; a temporary SQLite file, and PostgreSQL when `LATCH_TEST_POSTGRES_URL` is set) and a
//! real `latch key run` process over UDP (`--presence auto`), with the CTAP client
//! (`webauthn::create` / `get` through `HidDevice<UdpTransport>`) in between, as a browser.
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

mod e2e_support;

use std::sync::{Arc, Barrier, Mutex};

use e2e_support::{databases, Key, Server, ORIGIN, RP_ID};
use latch_ctap::client::loopback::Loopback;
use latch_ctap::client::{webauthn, Ctap2, HidDevice};
use latch_ctap::pin::Permissions;
use serde_json::json;
use site::{agent, Site, SiteError};

fn site(server: &Server) -> Site {
    Site::new(agent(1), &server.url, ORIGIN)
}

fn assert_api_error<T: std::fmt::Debug>(result: Result<T, SiteError>, expected: &str) {
    match result {
        Err(SiteError::Api { code, .. }) if code == expected => {}
        other => panic!("expected the API error {expected}, got {other:?}"),
    }
}

/// Sign up with the key, sign out, sign in with the discoverable passkey (no username), sign
/// out, sign in with the username.
#[test]
fn a_key_process_signs_up_and_in_over_http() {
    for db in databases() {
        let server = Server::start(&db.url);
        let key = Key::start();
        let mut ctap = key.client();
        let mut browser = site(&server);

        let what = |step: &str| format!("{}: {step}", db.name);
        let signed_up = browser
            .signup(&mut ctap, "ada", None)
            .unwrap_or_else(|e| panic!("{}: {e}", what("sign-up")));
        assert_eq!(signed_up["user"]["username"], "ada", "{}", db.name);
        assert_eq!(browser.get("/me").unwrap()["user"]["username"], "ada");

        browser.logout().unwrap();
        assert!(browser.cookie("latch_session").is_none());
        assert_api_error(browser.get("/me"), "not_signed_in");

        let signed_in = browser
            .login(&mut ctap, None, None)
            .unwrap_or_else(|e| panic!("{}: {e}", what("discoverable sign-in")));
        assert_eq!(signed_in["user"]["username"], "ada", "{}", db.name);
        assert_eq!(browser.get("/me").unwrap()["user"]["username"], "ada");

        browser.logout().unwrap();
        let signed_in = browser
            .login(&mut ctap, Some("ada"), None)
            .unwrap_or_else(|e| panic!("{}: {e}", what("sign-in with the username")));
        assert_eq!(signed_in["user"]["username"], "ada", "{}", db.name);
        let creds = browser.get("/me/credentials").unwrap();
        assert_eq!(creds.as_array().map(Vec::len), Some(1), "{creds}");
        assert!(!creds[0]["lastUsedAt"].is_null(), "{creds}");

        // Another browser without the key's cooperation gets nothing.
        let mut stranger = site(&server);
        assert_api_error(stranger.get("/me"), "not_signed_in");
        assert_api_error(stranger.post("/login/finish", &json!({})), "invalid_body");
    }
}

/// A key with a PIN: the client sets it, then every ceremony carries a PIN token, and the
/// assertion says the user was verified.
#[test]
fn a_pin_protected_key_signs_up_and_in_with_a_token() {
    for db in databases() {
        let server = Server::start(&db.url);
        let key = Key::start();
        let mut ctap = key.client();
        ctap.set_pin("4321").unwrap();
        ctap.refresh_info().unwrap();
        let mut browser = site(&server);

        let token = ctap
            .pin_token("4321", Permissions::MAKE_CREDENTIAL, Some(RP_ID))
            .unwrap();
        browser.signup(&mut ctap, "grace", Some(&token)).unwrap();
        browser.logout().unwrap();

        let token = ctap
            .pin_token("4321", Permissions::GET_ASSERTION, Some(RP_ID))
            .unwrap();
        let options = browser.login_begin(None).unwrap();
        let assertion = webauthn::get(&mut ctap, &options, ORIGIN, Some(&token)).unwrap();
        let flags = assertion.response.authenticator_data.0[32];
        assert_eq!(
            flags & 0x05,
            0x05,
            "user present and verified: {flags:#04x}"
        );
        let signed_in = browser
            .post("/login/finish", &json!({ "credential": assertion }))
            .unwrap();
        assert_eq!(signed_in["user"]["username"], "grace", "{}", db.name);

        // A wrong PIN is refused by the key, and nothing reaches the server.
        let wrong = ctap.pin_token("0000", Permissions::GET_ASSERTION, Some(RP_ID));
        assert!(wrong.is_err());
    }
}

/// 200 sign-ins with one credential finishing at once: whatever order they commit in, the
/// stored counter ends at the highest counter the key produced, and that sign-in succeeded.
#[test]
fn concurrent_sign_ins_never_move_the_counter_backwards() {
    const SIGN_INS: usize = 200;
    for db in databases() {
        let server = Server::start(&db.url);
        let device = HidDevice::open(Loopback::with_built_in_uv(11).unwrap(), [1; 8]).unwrap();
        let mut ctap = Ctap2::new(device).unwrap();
        site(&server).signup(&mut ctap, "ada", None).unwrap();
        let key = Arc::new(Mutex::new(ctap));
        let barrier = Arc::new(Barrier::new(SIGN_INS));
        let threads: Vec<_> = (0..SIGN_INS)
            .map(|_| {
                let (key, barrier, url) = (key.clone(), barrier.clone(), server.url.clone());
                std::thread::spawn(move || {
                    let mut browser = Site::new(agent(1), &url, ORIGIN);
                    let options = browser.login_begin(Some("ada")).unwrap();
                    let assertion = {
                        let mut key = key.lock().unwrap();
                        webauthn::get(&mut *key, &options, ORIGIN, None).unwrap()
                    };
                    let data = &assertion.response.authenticator_data.0;
                    let counter = u32::from_be_bytes(data[33..37].try_into().unwrap());
                    // Every finish goes out together.
                    barrier.wait();
                    let result = browser.post("/login/finish", &json!({ "credential": assertion }));
                    (counter, result.map_err(|e| e.code().to_owned()))
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let max = results.iter().map(|(c, _)| *c).max().unwrap();
        for (counter, result) in &results {
            match result {
                Ok(_) => {}
                Err(code) => assert_eq!(code, "counter_regressed", "counter {counter}"),
            }
        }
        let best = results.iter().find(|(c, _)| *c == max).unwrap();
        assert!(best.1.is_ok(), "the highest counter always wins: {best:?}");
        assert_eq!(db.counters(), vec![i64::from(max)], "{}", db.name);
        let succeeded = results.iter().filter(|(_, r)| r.is_ok()).count();
        eprintln!(
            "{}: {succeeded} of {SIGN_INS} concurrent sign-ins succeeded, counter {max}",
            db.name
        );
    }
}

/// Two clients of one key process, each on its own UDP socket and thread, asking at once:
/// each channel's replies go to the socket that spoke on it, not to whichever sent the last
/// datagram.
#[test]
fn two_clients_of_one_key_each_get_their_own_replies() {
    let key = Key::start();
    let clients: Vec<_> = (0..2).map(|_| key.client()).collect();
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let info = client.get_info().unwrap();
                    assert!(info.versions.iter().any(|v| v == "FIDO_2_1"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
