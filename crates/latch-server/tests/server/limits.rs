//! Rate limits: per username (known or not) and per IP, counted in the database, 429
//! `too_many_attempts` with `Retry-After`.

use std::net::SocketAddr;

use axum::http::StatusCode;
use latch_server::store::db::query;
use serde_json::json;

use crate::authenticator::Tweak;
use crate::client::{servers, servers_configured, Client, Reply, Server, ORIGIN};
use crate::password::{enrol_totp, password_login, set_password, totp, PASSWORD};

fn retry_after(reply: &Reply) -> i64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn try_password(client: &mut Client, username: &str, password: &str) -> Reply {
    client
        .post(
            "/api/v1/login/password",
            json!({ "username": username, "password": password }),
        )
        .await
}

fn from(server: &Server, ip: &str) -> Client {
    let mut client = server.client();
    client.peer = Some(SocketAddr::new(ip.parse().unwrap(), 40000));
    client
}

/// Five wrong passwords for a real account and for a made-up username look the same,
/// down to the status, code and Retry-After of the sixth.
#[tokio::test]
async fn unknown_usernames_are_locked_exactly_like_real_ones() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        server.clock.advance(100);
        let mut outside = server.client();
        for _ in 0..5 {
            try_password(&mut outside, "ada", "wrong password")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
            try_password(&mut outside, "nobody", "wrong password")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        let real = try_password(&mut outside, "Ada", PASSWORD).await;
        let unknown = try_password(&mut outside, "nobody", PASSWORD).await;
        real.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        unknown.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        assert_eq!(real.body, unknown.body);
        let left = 900 - (server.clock_now() % 900);
        assert_eq!(retry_after(&real), left);
        assert_eq!(retry_after(&unknown), left);
        // The next window starts afresh.
        server.clock.advance(left);
        let body = try_password(&mut outside, "ada", PASSWORD).await.ok();
        assert_eq!(body["next"], "second_factor");
    }
}

#[tokio::test]
async fn a_right_password_resets_the_account_s_count() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let mut outside = server.client();
        for round in 0..2 {
            for _ in 0..4 {
                try_password(&mut outside, "ada", "wrong password")
                    .await
                    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
            }
            let reply = try_password(&mut outside, "ada", PASSWORD).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "round {round}: {}",
                reply.body
            );
        }
    }
}

/// One address trying many usernames is stopped by the per-IP limit; another address is not.
#[tokio::test]
async fn many_usernames_from_one_address_are_limited_per_ip() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        // 100 tries from 198.51.100.7 this window (each a different username), as if made.
        let now = server.clock_now();
        let start = now - now % 900;
        let mut conn = server.store.conn().await.unwrap();
        query(
            "INSERT INTO rate_limits (scope, key, window_start, attempts, expires_at) \
             VALUES ('password_ip', '198.51.100.7', $1, 100, $2)",
        )
        .bind(start)
        .bind(start + 900)
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let mut attacker = from(&server, "198.51.100.7");
        try_password(&mut attacker, "ada", PASSWORD)
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        let mut neighbour = from(&server, "198.51.100.8");
        try_password(&mut neighbour, "ada", PASSWORD).await.ok();
    }
}

/// Failed passkey sign-ins: ten per credential, a hundred per IP; X-Forwarded-For counts
/// only behind a trusted proxy.
#[tokio::test]
async fn failed_passkey_sign_ins_are_limited_per_credential_and_address_and_per_ip() {
    for server in servers().await {
        let (_, mut key) = server.signed_in("ada").await;
        let mut browser = from(&server, "203.0.113.1");
        let broken = Tweak {
            bad_signature: true,
            ..Tweak::default()
        };
        for _ in 0..10 {
            let options = browser.login_begin(None).await;
            let response = key.get(&options, ORIGIN, &broken);
            let reply = browser.login_finish(&response).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        }
        let options = browser.login_begin(None).await;
        let response = key.get(&options, ORIGIN, &Tweak::default());
        let reply = browser.login_finish(&response).await;
        reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        assert!(retry_after(&reply) > 0);
        // Credential IDs are public: failures from one address must not lock the owner out
        // elsewhere.
        let mut owner = from(&server, "198.51.100.7");
        owner.login(&mut key).await;
        // Another account's key from the same address still signs in.
        let (_, mut bobs) = server.signed_in("bob").await;
        browser.login(&mut bobs).await;

        // An address that used up its failures; without a trusted proxy, X-Forwarded-For is
        // the client's word and changes nothing.
        let now = server.clock_now();
        let start = now - now % 900;
        let mut conn = server.store.conn().await.unwrap();
        query(
            "INSERT INTO rate_limits (scope, key, window_start, attempts, expires_at) \
             VALUES ('assertion_ip', '192.0.2.9', $1, 100, $2)",
        )
        .bind(start)
        .bind(start + 900)
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let mut blocked = from(&server, "192.0.2.9");
        blocked.headers = vec![("x-forwarded-for".into(), "192.0.2.77".into())];
        let options = blocked.login_begin(None).await;
        let response = bobs.get(&options, ORIGIN, &Tweak::default());
        blocked
            .login_finish(&response)
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        let mut claims = from(&server, "10.0.0.2");
        claims.headers = vec![("x-forwarded-for".into(), "192.0.2.9".into())];
        claims.login(&mut bobs).await;
    }
    for server in servers_configured(|c| c.trust_proxy = true).await {
        let (_, mut key) = server.signed_in("ada").await;
        let mut proxied = from(&server, "10.0.0.1");
        proxied.headers = vec![("x-forwarded-for".into(), "192.0.2.9".into())];
        // Finishes with no ceremony, each naming another credential: only the IP adds up.
        let unknown = |i: usize| {
            let id = format!("AA{i:02}");
            json!({
                "id": id, "rawId": id, "type": "public-key",
                "clientExtensionResults": {},
                "response": { "clientDataJSON": "", "authenticatorData": "", "signature": "" },
            })
        };
        for i in 0..100 {
            let reply = proxied.login_finish(&unknown(i)).await;
            reply.assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        }
        proxied
            .login_finish(&unknown(0))
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");

        // The same proxy, another client behind it.
        proxied.headers = vec![("x-forwarded-for".into(), "192.0.2.10".into())];
        proxied.login(&mut key).await;
    }
}

/// Authenticator-app codes: ten per account per window, across waiting sign-ins.
#[tokio::test]
async fn code_guesses_are_limited_per_account() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let secret = enrol_totp(&server, &mut client).await;
        server.clock.advance(30);
        let mut guesses = 0;
        while guesses < 10 {
            let (mut pending, _) = password_login(&server, "ada", PASSWORD).await;
            for _ in 0..4 {
                if guesses == 10 {
                    break;
                }
                pending
                    .post("/api/v1/login/totp", json!({ "code": "000000" }))
                    .await
                    .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
                guesses += 1;
            }
        }
        let (mut pending, _) = password_login(&server, "ada", PASSWORD).await;
        let code = totp(&secret, server.clock_now());
        let reply = pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await;
        reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        let left = retry_after(&reply);
        server.clock.advance(left);
        let code = totp(&secret, server.clock_now());
        let (mut pending, _) = password_login(&server, "ada", PASSWORD).await;
        pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await
            .ok();
    }
}
