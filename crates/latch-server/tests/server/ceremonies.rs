//! Where a begun ceremony lives: sealed into its cookie on SQLite (nothing written at begin),
//! stored in the database on PostgreSQL and whenever the state is too large for a cookie.
//! Either way a finish accepts it once, before it expires, for its own kind only.

use axum::http::StatusCode;
use latch_webauthn::b64;

use crate::authenticator::{Passkey, Tweak};
use crate::client::{servers, ORIGIN};

fn sealed(token: &str) -> bool {
    token.starts_with("s.")
}

#[tokio::test]
async fn a_passkey_begin_writes_nothing_on_sqlite_and_a_row_on_postgres() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let before = server.snapshot().await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let token = client.cookies["__Host-latch_ceremony"].clone();
        let after_begin = server.snapshot().await;
        if server.backend == "sqlite" {
            assert!(sealed(&token), "{token}");
            assert_eq!(after_begin, before);
        } else {
            assert!(!sealed(&token), "{token}");
            assert_ne!(after_begin, before);
        }
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        client.login_finish(&response).await.ok();
        // Used once: the same cookie finds nothing the second time.
        let mut again = server.client();
        again.cookies.insert("__Host-latch_ceremony".into(), token);
        again
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

#[tokio::test]
async fn an_altered_sealed_token_names_no_ceremony_and_writes_nothing() {
    for server in servers().await {
        if server.backend != "sqlite" {
            continue;
        }
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let token = client.cookies["__Host-latch_ceremony"].clone();
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let raw = b64::decode(token.strip_prefix("s.").unwrap()).unwrap();
        let before = server.snapshot().await;
        for i in [0, raw.len() / 2, raw.len() - 1] {
            let mut bad = raw.clone();
            bad[i] ^= 0x40;
            client.cookies.insert(
                "__Host-latch_ceremony".into(),
                format!("s.{}", b64::encode(&bad)),
            );
            client
                .login_finish(&response)
                .await
                .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        }
        client
            .cookies
            .insert("__Host-latch_ceremony".into(), "s.not base64!".into());
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        assert_eq!(server.snapshot().await, before);
        // The untouched token still works.
        client.cookies.insert("__Host-latch_ceremony".into(), token);
        client.login_finish(&response).await.ok();
    }
}

#[tokio::test]
async fn a_sealed_ceremony_expires_and_another_database_cannot_open_it() {
    for server in servers().await {
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        server.clock.advance(301);
        let before = server.snapshot().await;
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_expired");
        assert_eq!(server.snapshot().await, before);

        // A server on another database has another key: it cannot open this one's tokens.
        let elsewhere = servers().await;
        let other = elsewhere
            .iter()
            .find(|s| s.backend == server.backend)
            .unwrap();
        let mut fresh = server.client();
        let options = fresh.login_begin(None).await;
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let mut there = other.switch(&fresh);
        there
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

#[tokio::test]
async fn a_state_too_large_for_a_cookie_is_stored_and_finishes_the_same() {
    for server in servers().await {
        // A 1000-byte credential id makes allowCredentials alone larger than a cookie.
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let tweak = Tweak {
            id_len: Some(1000),
            ..Tweak::default()
        };
        let (mut passkey, response) = Passkey::create(&options, ORIGIN, false, &tweak);
        client
            .post(
                "/api/v1/signup/finish",
                serde_json::json!({ "credential": response }),
            )
            .await
            .ok();

        let mut login = server.client();
        let options = login.login_begin(Some("ada")).await;
        let token = login.cookies["__Host-latch_ceremony"].clone();
        assert!(!sealed(&token), "a {}-byte token", token.len());
        assert!(token.len() < 100);
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        login.login_finish(&response).await.ok();
        login
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

/// base64 has several spellings of the same bytes (padding, the standard alphabet): a sealed
/// token is known by its bytes, so no other spelling of a used token is a fresh one.
#[tokio::test]
async fn another_spelling_of_a_used_token_is_still_used() {
    for server in servers().await {
        if server.backend != "sqlite" {
            continue;
        }
        let mut passkey = server.client().signup("ada", true).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let token = client.cookies["__Host-latch_ceremony"].clone();
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        client.login_finish(&response).await.ok();

        let body = token.strip_prefix("s.").unwrap();
        let mut spellings = vec![body.replace('-', "+").replace('_', "/")];
        if body.len() % 4 != 0 {
            spellings.push(format!("{body}{}", "=".repeat(4 - body.len() % 4)));
        }
        for spelling in spellings {
            assert_ne!(spelling, body);
            assert_eq!(b64::decode(&spelling), b64::decode(body));
            let mut replay = server.client();
            replay
                .cookies
                .insert("__Host-latch_ceremony".into(), format!("s.{spelling}"));
            replay
                .login_finish(&response)
                .await
                .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        }
    }
}

/// What a sealed ceremony holds can be measured by its length: an unknown username's holds a
/// user handle as long as a real account's, so the cookie says nothing about the account.
#[tokio::test]
async fn an_unknown_username_seals_a_user_handle_like_a_real_one() {
    for server in servers().await {
        if server.backend != "sqlite" {
            continue;
        }
        server.client().signup("ada", true).await;
        let handle_of = |username: &'static str| {
            let server = &server;
            async move {
                let mut client = server.client();
                client.login_begin(Some(username)).await;
                let token = client.cookies["__Host-latch_ceremony"].clone();
                let sealed = server.open_sealed("login", &token).unwrap();
                let handle = sealed["state"]["authentication"]["user_id"].clone();
                serde_json::from_value::<Vec<u8>>(handle).unwrap()
            }
        };
        let real = handle_of("ada").await;
        let fake = handle_of("mallory").await;
        assert_eq!(real.len(), 32);
        assert_eq!(fake.len(), real.len());
        assert_ne!(fake, real);
        // Stable, like the fake credentials.
        assert_eq!(handle_of("mallory").await, fake);
    }
}

/// A passkey that keeps no counter (most synced ones) cannot rely on the counter against a
/// replay: the ceremony alone must answer once, even to two finishes at the same moment.
#[tokio::test]
async fn a_counterless_assertion_signs_in_once_even_when_raced() {
    for server in servers().await {
        let zero = Tweak {
            counter: Some(0),
            ..Tweak::default()
        };
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let (mut passkey, response) = Passkey::create(&options, ORIGIN, true, &zero);
        client
            .post(
                "/api/v1/signup/finish",
                serde_json::json!({ "credential": response }),
            )
            .await
            .ok();

        let mut begun = server.client();
        let options = begun.login_begin(None).await;
        let assertion = passkey.get(&options, ORIGIN, &zero);
        let before = server.snapshot().await;
        let mut first = server.client();
        first.cookies = begun.cookies.clone();
        let mut second = server.client();
        second.cookies = begun.cookies.clone();
        let (a, b) = tokio::join!(
            first.login_finish(&assertion),
            second.login_finish(&assertion)
        );
        let (ok, refused) = if a.status.is_success() {
            (a, b)
        } else {
            (b, a)
        };
        assert!(ok.status.is_success(), "{}", ok.body);
        refused.assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        // Later, with the same cookie: refused again. One session came of it.
        let mut again = server.client();
        again.cookies = begun.cookies.clone();
        again
            .login_finish(&assertion)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        let after = server.snapshot().await;
        assert_eq!(after.count("sessions"), before.count("sessions") + 1);
    }
}
