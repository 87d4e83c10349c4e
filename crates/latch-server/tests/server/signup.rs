//! `signup/begin` and `signup/finish`.

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak, AAGUID};
use crate::client::{servers, ORIGIN, RP_ID};

#[tokio::test]
async fn signup_creates_the_account_its_passkey_and_a_session() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("Ada").await;
        assert_eq!(options["rp"], json!({ "id": RP_ID, "name": "Latch" }));
        assert_eq!(options["user"]["name"], "ada");
        assert_eq!(options["user"]["displayName"], "Ada display");
        let handle = b64::decode(options["user"]["id"].as_str().unwrap()).unwrap();
        assert_eq!(handle.len(), 32);
        let challenge = b64::decode(options["challenge"].as_str().unwrap()).unwrap();
        assert_eq!(challenge.len(), 32);
        assert_eq!(options["excludeCredentials"], json!([]));
        assert_eq!(
            options["pubKeyCredParams"][0],
            json!({"type": "public-key", "alg": -7})
        );
        assert!(client.cookies.contains_key("__Host-latch_ceremony"));

        let (passkey, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        let reply = client
            .post(
                "/api/v1/signup/finish",
                json!({ "credential": response, "name": "My phone" }),
            )
            .await;
        let session = reply.cookie("__Host-latch_session").unwrap().to_owned();
        assert!(
            session.ends_with("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure"),
            "{session}"
        );
        assert!(reply
            .cookie("__Host-latch_ceremony")
            .unwrap()
            .contains("Max-Age=0"));
        let body = reply.ok();
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(body["user"]["displayName"], "Ada display");
        assert_eq!(body["user"]["id"], b64::encode(&handle));
        assert_eq!(body["user"]["createdAt"], "2025-10-09T08:53:20Z");
        let cred = &body["credential"];
        assert_eq!(cred["id"], b64::encode(&passkey.id));
        assert_eq!(cred["name"], "My phone");
        assert_eq!(cred["kind"], "passkey");
        assert_eq!(cred["aaguid"], "cb69481e-8ff7-4039-93ec-0a2729a154a8");
        assert_eq!(cred["backupEligible"], true);
        assert_eq!(cred["backedUp"], true);
        assert_eq!(cred["discoverable"], true);
        assert_eq!(cred["transports"], json!(["hybrid", "internal"]));
        assert_eq!(cred["lastUsedAt"], json!(null));
        assert_eq!(AAGUID.len(), 16);

        let me = client.get("/api/v1/me").await.ok();
        assert_eq!(me["user"]["username"], "ada");

        let s = server.snapshot().await;
        assert_eq!(s.count("users"), 1);
        assert_eq!(s.count("credentials"), 1);
        assert_eq!(s.count("sessions"), 1);
        assert_eq!(s.count("ceremonies"), 0);
        assert_eq!(s.count("audit_events"), 1);
    }
}

#[tokio::test]
async fn a_security_key_gets_a_default_name_and_its_kind() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("bob").await;
        let (_, response) = Passkey::create(&options, ORIGIN, false, &Tweak::default());
        let body = client
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await
            .ok();
        assert_eq!(body["credential"]["kind"], "security_key");
        assert_eq!(body["credential"]["name"], "Security key");
        assert_eq!(body["credential"]["backupEligible"], false);
    }
}

#[tokio::test]
async fn a_taken_username_is_refused_at_begin() {
    for server in servers().await {
        let mut client = server.client();
        client.signup("ada", true).await;
        let mut other = server.client();
        let reply = other
            .post("/api/v1/signup/begin", json!({ "username": " ADA " }))
            .await;
        reply.assert_error(StatusCode::CONFLICT, "username_taken");
    }
}

#[tokio::test]
async fn two_signups_racing_for_one_username_create_one_account() {
    for server in servers().await {
        let mut first = server.client();
        let mut second = server.client();
        let o1 = first.signup_begin("ada").await;
        let o2 = second.signup_begin("ada").await;
        let (_, r1) = Passkey::create(&o1, ORIGIN, true, &Tweak::default());
        let (_, r2) = Passkey::create(&o2, ORIGIN, true, &Tweak::default());
        first
            .post("/api/v1/signup/finish", json!({ "credential": r1 }))
            .await
            .ok();
        let before = server.snapshot().await;
        let reply = second
            .post("/api/v1/signup/finish", json!({ "credential": r2 }))
            .await;
        reply.assert_error(StatusCode::CONFLICT, "username_taken");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn names_are_checked() {
    for server in servers().await {
        let mut client = server.client();
        let reply = client
            .post("/api/v1/signup/begin", json!({ "username": "a b" }))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_username");
        let reply = client
            .post(
                "/api/v1/signup/begin",
                json!({ "username": "ada", "displayName": "  " }),
            )
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_display_name");
        let options = client.signup_begin("ada").await;
        let (_, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        let before = server.snapshot().await;
        let reply = client
            .post(
                "/api/v1/signup/finish",
                json!({ "credential": response, "name": "x".repeat(65) }),
            )
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_credential_name");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn a_malformed_body_is_invalid_body() {
    for server in servers().await {
        let mut client = server.client();
        let reply = client
            .post("/api/v1/signup/begin", json!({ "user": "ada" }))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
        client.signup_begin("ada").await;
        let before = server.snapshot().await;
        let reply = client
            .post(
                "/api/v1/signup/finish",
                json!({ "credential": { "id": 1 } }),
            )
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
        assert_eq!(server.snapshot().await, before);
    }
}

/// Each broken finish: the stable code, and nothing written (the ceremony stays, too).
#[tokio::test]
async fn a_failed_finish_writes_nothing() {
    let cases: [(&str, Tweak, &str); 4] = [
        (
            "wrong origin",
            Tweak {
                origin: Some("https://evil.example".into()),
                ..Tweak::default()
            },
            "origin_mismatch",
        ),
        (
            "wrong challenge",
            Tweak {
                challenge: Some(vec![7; 32]),
                ..Tweak::default()
            },
            "challenge_mismatch",
        ),
        (
            "no user presence",
            Tweak {
                flags: Some(0x04 | 0x40),
                ..Tweak::default()
            },
            "user_not_present",
        ),
        (
            "backup state without eligibility",
            Tweak {
                flags: Some(0x01 | 0x04 | 0x10 | 0x40),
                ..Tweak::default()
            },
            "backup_state_without_eligibility",
        ),
    ];
    for server in servers().await {
        for (what, tweak, code) in &cases {
            println!("case: {what}");
            let mut client = server.client();
            let options = client.signup_begin("ada").await;
            let (_, response) = Passkey::create(&options, ORIGIN, true, tweak);
            let before = server.snapshot().await;
            let reply = client
                .post("/api/v1/signup/finish", json!({ "credential": response }))
                .await;
            reply.assert_error(StatusCode::BAD_REQUEST, code);
            assert_eq!(server.snapshot().await, before, "{what}");
            assert!(reply.cookie("__Host-latch_session").is_none());
        }
    }
}

#[tokio::test]
async fn a_replayed_finish_finds_no_ceremony() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let (_, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        let ceremony = client.cookies["__Host-latch_ceremony"].clone();
        client
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await
            .ok();
        let mut replay = server.client();
        replay
            .cookies
            .insert("__Host-latch_ceremony".into(), ceremony);
        let before = server.snapshot().await;
        let reply = replay
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn a_finish_without_its_cookie_finds_no_ceremony() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let (_, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        client.cookies.clear();
        let reply = client
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

#[tokio::test]
async fn an_expired_ceremony_cannot_be_finished() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let (_, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        server.clock.advance(301);
        let before = server.snapshot().await;
        let reply = client
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "ceremony_expired");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn a_credential_registered_already_is_refused() {
    for server in servers().await {
        let mut client = server.client();
        let passkey = client.signup("ada", true).await;
        // Another sign-up presents the same credential id (§7.1 step 26).
        let mut other = server.client();
        let options = other.signup_begin("bob").await;
        let response = passkey.registration(&options, ORIGIN, &Tweak::default());
        let before = server.snapshot().await;
        let reply = other
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await;
        reply.assert_error(StatusCode::CONFLICT, "credential_exists");
        assert_eq!(server.snapshot().await, before);
    }
}
