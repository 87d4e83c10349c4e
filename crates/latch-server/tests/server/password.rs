//! Passwords with a second factor: a security key or passkey, an authenticator app (TOTP),
//! or a recovery code.

use aws_lc_rs::hmac;
use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::{json, Value};

use crate::authenticator::Tweak;
use crate::client::{servers, Client, Server, ORIGIN};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// RFC 6238 with SHA-1, written out independently of the server's code.
pub fn totp(secret: &[u8], time: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &(time / 30).to_be_bytes());
    let h = tag.as_ref();
    let o = (h[19] & 0x0f) as usize;
    let v = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]);
    format!("{:06}", v % 1_000_000)
}

pub async fn set_password(client: &mut Client) {
    let reply = put_password(client, json!({ "password": PASSWORD })).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

pub async fn password_login(server: &Server, username: &str, password: &str) -> (Client, Value) {
    let mut client = server.client();
    let reply = client
        .post(
            "/api/v1/login/password",
            json!({ "username": username, "password": password }),
        )
        .await;
    let body = reply.body.clone();
    (
        client,
        if reply.status.is_success() {
            body
        } else {
            json!({ "status": reply.status.as_u16(), "error": body["error"] })
        },
    )
}

/// Enrols an authenticator app; returns its secret.
pub async fn enrol_totp(server: &Server, client: &mut Client) -> Vec<u8> {
    let begun = client.post("/api/v1/me/totp/begin", json!({})).await.ok();
    let text = begun["secret"].as_str().unwrap();
    assert_eq!(
        begun["uri"],
        format!(
            "otpauth://totp/Latch:ada?secret={text}&issuer=Latch&algorithm=SHA1&digits=6&period=30"
        )
    );
    let secret = base32_decode(text);
    assert_eq!(secret.len(), 20);
    let now = server.clock_now();
    let reply = client
        .post(
            "/api/v1/me/totp/finish",
            json!({ "code": totp(&secret, now) }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    secret
}

#[tokio::test]
async fn password_then_security_key() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        set_password(&mut client).await;

        let (mut pending, body) = password_login(&server, "Ada", PASSWORD).await;
        assert_eq!(
            body,
            json!({ "next": "second_factor", "methods": ["webauthn"] })
        );
        let pending_token = pending.cookies["__Host-latch_session"].clone();
        // Waiting for the second factor is not being signed in.
        pending
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");

        let options = pending
            .post("/api/v1/login/second-factor/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        assert_eq!(options["userVerification"], "discouraged");
        assert_eq!(options["allowCredentials"][0]["id"], b64::encode(&key.id));

        // A broken assertion writes nothing and leaves the sign-in waiting.
        let bad = key.get(
            &options,
            ORIGIN,
            &Tweak {
                origin: Some("https://evil.example".into()),
                ..Tweak::default()
            },
        );
        let before = server.snapshot().await;
        pending
            .post(
                "/api/v1/login/second-factor/finish",
                json!({ "credential": bad }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "origin_mismatch");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());

        // The failed finish used its ceremony up; a new one takes the good answer.
        let stale = key.get(&options, ORIGIN, &Tweak::default());
        pending
            .post(
                "/api/v1/login/second-factor/finish",
                json!({ "credential": stale }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        let options = pending
            .post("/api/v1/login/second-factor/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let response = key.get(&options, ORIGIN, &Tweak::default());
        let body = pending
            .post(
                "/api/v1/login/second-factor/finish",
                json!({ "credential": response }),
            )
            .await
            .ok();
        assert_eq!(body["user"]["username"], "ada");
        assert_ne!(
            pending.cookies["__Host-latch_session"], pending_token,
            "a new token"
        );
        assert_eq!(
            pending.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
        // The waiting token died with the upgrade.
        let mut stale = server.client();
        stale
            .cookies
            .insert("__Host-latch_session".into(), pending_token);
        stale
            .post("/api/v1/login/totp", json!({ "code": "123456" }))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "no_pending_sign_in");
    }
}

#[tokio::test]
async fn wrong_and_unknown_look_the_same() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        // Both are recorded (the same write, so they also take as long).
        let events = || async { server.snapshot().await.count("audit_events") };
        let before = events().await;
        let (_, wrong) = password_login(&server, "ada", "not the password").await;
        assert_eq!(events().await, before + 1);
        let (_, unknown) = password_login(&server, "nobody", PASSWORD).await;
        assert_eq!(events().await, before + 2);
        assert_eq!(wrong["status"], 401);
        assert_eq!(wrong["error"]["code"], "invalid_credentials");
        assert_eq!(wrong, unknown);
        // An account without a password cannot be signed into with one.
        server.signed_in("bob").await;
        let (_, none) = password_login(&server, "bob", "").await;
        assert_eq!(none, unknown);
    }
}

#[tokio::test]
async fn five_wrong_passwords_pause_password_sign_in() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        for _ in 0..5 {
            let (_, r) = password_login(&server, "ada", "wrong password").await;
            assert_eq!(r["error"]["code"], "invalid_credentials");
        }
        let (_, r) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(r["status"], 429);
        assert_eq!(r["error"]["code"], "too_many_attempts");
        server.clock.advance(901);
        let (_, r) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(r["next"], "second_factor");
    }
}

pub async fn put_password(client: &mut Client, body: Value) -> crate::client::Reply {
    client
        .send(axum::http::Method::PUT, "/api/v1/me/password", Some(&body))
        .await
}

#[tokio::test]
async fn changing_a_password_takes_the_current_one() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        put_password(&mut client, json!({ "password": "short" }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "weak_password");
        set_password(&mut client).await;
        put_password(&mut client, json!({ "password": "a new password" }))
            .await
            .assert_error(StatusCode::FORBIDDEN, "current_password_incorrect");
        put_password(
            &mut client,
            json!({ "password": "a new password", "currentPassword": "nope nope" }),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "current_password_incorrect");
        let reply = put_password(
            &mut client,
            json!({ "password": "a new password", "currentPassword": PASSWORD }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        let (_, r) = password_login(&server, "ada", "a new password").await;
        assert_eq!(r["next"], "second_factor");
        let (_, r) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(r["error"]["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn password_then_authenticator_app() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let secret = enrol_totp(&server, &mut client).await;
        client
            .post("/api/v1/me/totp/begin", json!({}))
            .await
            .assert_error(StatusCode::CONFLICT, "totp_already_enabled");

        server.clock.advance(30);
        let (mut pending, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["methods"], json!(["webauthn", "totp"]));
        pending
            .post("/api/v1/login/totp", json!({ "code": "12345" }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        let code = totp(&secret, server.clock_now());
        let body = pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await
            .ok();
        assert_eq!(body["user"]["username"], "ada");

        // The same code cannot sign in twice.
        let (mut again, _) = password_login(&server, "ada", PASSWORD).await;
        again
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");

        let reply = client
            .send(axum::http::Method::DELETE, "/api/v1/me/totp", None)
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        let (_, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["methods"], json!(["webauthn"]));
    }
}

#[tokio::test]
async fn enrolment_needs_a_current_code() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        client
            .post("/api/v1/me/totp/finish", json!({ "code": "123456" }))
            .await
            .assert_error(StatusCode::NOT_FOUND, "totp_not_enrolled");
        let begun = client.post("/api/v1/me/totp/begin", json!({})).await.ok();
        let secret = base32_decode(begun["secret"].as_str().unwrap());
        let stale = totp(&secret, server.clock_now() - 90);
        client
            .post("/api/v1/me/totp/finish", json!({ "code": stale }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
    }
}

#[tokio::test]
async fn password_then_recovery_code() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let codes = client
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        let codes: Vec<String> = codes["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 19, "xxxx-xxxx-xxxx-xxxx");

        let (mut pending, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["methods"], json!(["webauthn", "recovery_code"]));
        let typed = codes[3].to_uppercase().replace('-', " ");
        let body = pending
            .post("/api/v1/login/recovery", json!({ "code": typed }))
            .await
            .ok();
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(body["recoveryCodesLeft"], 9);

        let (mut again, _) = password_login(&server, "ada", PASSWORD).await;
        again
            .post("/api/v1/login/recovery", json!({ "code": codes[3] }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        // A new set replaces the old one, and ends the sign-ins waiting for a code.
        client
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        again
            .post("/api/v1/login/recovery", json!({ "code": codes[4] }))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "no_pending_sign_in");
        let (mut again, _) = password_login(&server, "ada", PASSWORD).await;
        again
            .post("/api/v1/login/recovery", json!({ "code": codes[4] }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
    }
}

#[tokio::test]
async fn five_wrong_second_factors_end_the_waiting_sign_in() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let (mut pending, _) = password_login(&server, "ada", PASSWORD).await;
        for _ in 0..4 {
            pending
                .post(
                    "/api/v1/login/recovery",
                    json!({ "code": "aaaa-bbbb-cccc-dddd" }),
                )
                .await
                .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        }
        pending
            .post(
                "/api/v1/login/recovery",
                json!({ "code": "aaaa-bbbb-cccc-dddd" }),
            )
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        pending
            .post(
                "/api/v1/login/recovery",
                json!({ "code": "aaaa-bbbb-cccc-dddd" }),
            )
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "no_pending_sign_in");
    }
}

/// With a password, the last passkey may go; the password alone then signs in.
#[tokio::test]
async fn a_password_is_a_way_to_sign_in() {
    for server in servers().await {
        let (mut client, key) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        assert_eq!(client.delete(&path).await.status, StatusCode::NO_CONTENT);
        let (mut signed_in, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(
            signed_in.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
    }
}
