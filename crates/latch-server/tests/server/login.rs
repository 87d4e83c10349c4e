//! `login/begin` and `login/finish`.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::{json, Value};

use crate::authenticator::{Passkey, Tweak};
use crate::client::{servers, servers_with, ORIGIN, RP_ID, START};
use latch_server::{Policy, Startup};

#[tokio::test]
async fn a_discoverable_passkey_signs_in() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        assert_eq!(options["allowCredentials"], json!([]));
        assert_eq!(options["rpId"], RP_ID);
        assert_eq!(options["userVerification"], "required");
        assert!(client.cookies.contains_key("__Host-latch_ceremony"));
        server.clock.advance(10);
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let reply = client.login_finish(&response).await;
        assert!(reply.cookie("__Host-latch_session").is_some());
        let body = reply.ok();
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(
            client.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );

        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list[0]["lastUsedAt"], "2025-10-09T08:53:30Z");
        let s = server.snapshot().await;
        assert_eq!(s.counters, vec![(passkey.id.clone(), 1, Some(START + 10))]);
        assert_eq!(s.count("sessions"), 2);
        assert_eq!(s.count("ceremonies"), 0);
    }
}

#[tokio::test]
async fn username_first_sign_in_lists_the_users_credentials() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", false).await;
        let mut client = server.client();
        let options = client.login_begin(Some("Ada")).await;
        assert_eq!(
            options["allowCredentials"],
            json!([{ "type": "public-key", "id": b64::encode(&passkey.id), "transports": ["nfc", "usb"] }])
        );
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        client.login_finish(&response).await.ok();
        assert_eq!(
            client.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
    }
}

fn shape(options: &Value) -> BTreeSet<String> {
    options.as_object().unwrap().keys().cloned().collect()
}

/// An unknown username gets the same kind of answer as a known one: no user enumeration.
#[tokio::test]
async fn an_unknown_username_looks_like_a_known_one() {
    for server in servers().await {
        server.client().signup("ada", false).await;
        let mut client = server.client();
        let known = client.login_begin(Some("ada")).await;
        let reply = client
            .post("/api/v1/login/begin", json!({ "username": "mallory" }))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.cookie("__Host-latch_ceremony").is_some());
        let unknown = reply.body["publicKey"].clone();
        assert_eq!(shape(&known), shape(&unknown));
        let allow = unknown["allowCredentials"].as_array().unwrap();
        assert!((1..=10).contains(&allow.len()));
        for d in allow {
            assert_eq!(shape(d), shape(&known["allowCredentials"][0]));
            assert_eq!(d["type"], "public-key");
            let len = b64::decode(d["id"].as_str().unwrap()).unwrap().len();
            assert!((16..=96).contains(&len), "{len}");
        }
        // Not all alike: across many names, ids come in several lengths and lists in several
        // sizes, never more than an account may hold (10 by default).
        let (mut lengths, mut counts) = (BTreeSet::new(), BTreeSet::new());
        for i in 0..40 {
            let fake = client.login_begin(Some(&format!("nobody{i}"))).await;
            let allow = fake["allowCredentials"].as_array().unwrap();
            counts.insert(allow.len());
            for d in allow {
                lengths.insert(b64::decode(d["id"].as_str().unwrap()).unwrap().len());
            }
        }
        assert!(lengths.len() >= 4, "{lengths:?}");
        assert!(
            counts.len() >= 3 && counts.iter().all(|n| (1..=10).contains(n)),
            "{counts:?}"
        );
        // Stable: asking again gives the same list; another name gets another list.
        let again = client.login_begin(Some("mallory")).await;
        assert_eq!(again["allowCredentials"], unknown["allowCredentials"]);
        assert_ne!(again["challenge"], unknown["challenge"]);
        let other = client.login_begin(Some("eve")).await;
        assert_ne!(other["allowCredentials"], unknown["allowCredentials"]);
    }
}

/// A real account may hold up to the policy's most credentials, so fake lists come in every
/// size from one up to it (a list longer than three no longer gives a real account away).
#[tokio::test]
async fn fake_lists_cover_every_size_an_account_can_have() {
    let startup = Startup {
        policy: Some((
            Policy {
                max_credentials: 3,
                min_security_keys: 1,
                ..Policy::default()
            },
            "policy.toml".into(),
        )),
        metadata: None,
        oidc_clients: None,
    };
    for server in servers_with(&startup).await {
        let mut client = server.client();
        let mut counts = BTreeSet::new();
        for i in 0..80 {
            let fake = client.login_begin(Some(&format!("nobody{i}"))).await;
            counts.insert(fake["allowCredentials"].as_array().unwrap().len());
        }
        assert_eq!(counts, BTreeSet::from([1, 2, 3]));
    }
}

#[tokio::test]
async fn a_real_credential_cannot_answer_a_fake_list() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(Some("mallory")).await;
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let before = server.snapshot().await;
        let reply = client.login_finish(&response).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "credential_not_allowed");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
    }
}

#[tokio::test]
async fn another_users_credential_is_not_allowed() {
    for server in servers().await {
        server.client().signup("ada", true).await;
        let mut bobs = server.client().signup("bob", true).await;
        let mut client = server.client();
        let options = client.login_begin(Some("ada")).await;
        let response = bobs.get(&options, ORIGIN, &Tweak::default());
        let before = server.snapshot().await;
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "credential_not_allowed");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
    }
}

/// Each broken assertion: the stable code, no session, counter and ceremony untouched.
#[tokio::test]
async fn a_failed_login_writes_nothing() {
    let cases: [(&str, Tweak, &str); 5] = [
        (
            "wrong origin",
            Tweak {
                origin: Some("https://example.com.evil.net".into()),
                ..Tweak::default()
            },
            "origin_mismatch",
        ),
        (
            "wrong challenge",
            Tweak {
                challenge: Some(vec![1; 32]),
                ..Tweak::default()
            },
            "challenge_mismatch",
        ),
        (
            // Told like an unknown credential: whether an id is registered is not told to
            // someone who cannot sign for it.
            "bad signature",
            Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
            "unknown_credential",
        ),
        (
            "counter not above the stored one",
            Tweak {
                counter: Some(1),
                ..Tweak::default()
            },
            "counter_regressed",
        ),
        (
            "no user presence",
            Tweak {
                flags: Some(0x04 | 0x08 | 0x10),
                ..Tweak::default()
            },
            "user_not_present",
        ),
    ];
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        // Stored counter is 1 after one sign-in.
        server.client().login(&mut passkey).await;
        for (what, tweak, code) in &cases {
            println!("case: {what}");
            let mut client = server.client();
            let options = client.login_begin(None).await;
            let response = passkey.get(&options, ORIGIN, tweak);
            let before = server.snapshot().await;
            let reply = client.login_finish(&response).await;
            reply.assert_error(StatusCode::BAD_REQUEST, code);
            assert!(reply.cookie("__Host-latch_session").is_none());
            assert_eq!(
                server.snapshot().await.accounts(),
                before.accounts(),
                "{what}"
            );
            // The failure used the ceremony up: a good response to it is no longer taken.
            let good = passkey.get(&options, ORIGIN, &Tweak::default());
            client
                .login_finish(&good)
                .await
                .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        }
    }
}

#[tokio::test]
async fn an_unknown_credential_is_refused() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        // Made but never registered.
        let (mut stranger, _) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let response = stranger.get(&options, ORIGIN, &Tweak::default());
        let before = server.snapshot().await;
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unknown_credential");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
    }
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let ceremony = client.cookies["__Host-latch_ceremony"].clone();
        client.login_finish(&response).await.ok();

        // The same ceremony again: it was consumed.
        let mut replay = server.client();
        replay
            .cookies
            .insert("__Host-latch_ceremony".into(), ceremony);
        let before = server.snapshot().await;
        replay
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        // A fresh ceremony: the old response answers another challenge.
        let mut replay = server.client();
        replay.login_begin(None).await;
        let before_finish = server.snapshot().await;
        replay
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "challenge_mismatch");
        assert_eq!(server.snapshot().await.accounts(), before_finish.accounts());
        assert_eq!(before.counters, before_finish.counters);
    }
}

#[tokio::test]
async fn a_login_ceremony_cannot_finish_a_signup() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        client.signup_begin("bob").await;
        // The cookie names a signup ceremony; login/finish only takes login ceremonies.
        let options = json!({ "challenge": b64::encode([0u8; 32]) });
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

/// Two sign-ins finishing at once: whatever the order, the stored counter ends at the highest
/// value either carried, never lower.
#[tokio::test]
async fn concurrent_sign_ins_never_move_the_counter_backwards() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut a = server.client();
        let mut b = server.client();
        let oa = a.login_begin(None).await;
        let ob = b.login_begin(None).await;
        let ra = passkey.get(&oa, ORIGIN, &Tweak::default()); // counter 1
        let rb = passkey.get(&ob, ORIGIN, &Tweak::default()); // counter 2
        let (ya, yb) = tokio::join!(async { a.login_finish(&ra).await }, async {
            b.login_finish(&rb).await
        });
        for y in [&ya, &yb] {
            if y.status != StatusCode::OK {
                y.assert_error(StatusCode::BAD_REQUEST, "counter_regressed");
            }
        }
        assert_eq!(yb.status, StatusCode::OK, "the higher counter always wins");
        let s = server.snapshot().await;
        assert_eq!(s.counters[0].1, 2);
    }
}
