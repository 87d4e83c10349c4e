//! Sensitive changes need a sign-in (or re-authentication) within the last 5 minutes.

use axum::http::{Method, StatusCode};
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::Tweak;
use crate::client::{servers, Client, ORIGIN};
use crate::password::{put_password, set_password, PASSWORD};

const REAUTH: &str = "reauthentication_required";

/// Every sensitive call, each refused with `reauthentication_required`.
async fn all_refused(client: &mut Client, key_id: &[u8]) {
    let key_path = format!("/api/v1/me/credentials/{}", b64::encode(key_id));
    client
        .post("/api/v1/me/credentials/begin", json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
    client
        .delete(&key_path)
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
    put_password(
        client,
        json!({ "password": "another password", "currentPassword": PASSWORD }),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, REAUTH);
    client
        .post("/api/v1/me/totp/begin", json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
    client
        .send(Method::DELETE, "/api/v1/me/totp", None)
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
    client
        .post("/api/v1/me/recovery-codes", json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
}

#[tokio::test]
async fn five_minutes_after_sign_in_sensitive_changes_ask_again() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        set_password(&mut client).await;
        // Exactly 5 minutes is still recent.
        server.clock.advance(300);
        client
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        server.clock.advance(1);
        let before = server.snapshot().await;
        all_refused(&mut client, &key.id).await;
        assert_eq!(
            server.snapshot().await,
            before,
            "a refused change writes nothing"
        );
        // Reading, renaming and signing out stay open.
        client.get("/api/v1/me/credentials").await.ok();
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        client.patch(&path, json!({ "name": "Phone" })).await.ok();

        // A passkey assertion re-authenticates this session.
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        assert_eq!(begun["methods"], json!(["webauthn"]));
        assert_eq!(
            begun["publicKey"]["allowCredentials"][0]["id"],
            b64::encode(&key.id)
        );
        let response = key.get(&begun["publicKey"], ORIGIN, &Tweak::default());
        let done = client
            .post(
                "/api/v1/me/reauth/finish",
                json!({ "credential": response }),
            )
            .await
            .ok();
        assert_eq!(done["authenticatedAt"], "2025-10-09T08:58:21Z");
        client
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        server.clock.advance(301);
        all_refused(&mut client, &key.id).await;
    }
}

#[tokio::test]
async fn a_broken_or_foreign_assertion_does_not_reauthenticate() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        let (_, mut bobs) = server.signed_in("bob").await;
        server.clock.advance(301);
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        let bad = key.get(
            &begun["publicKey"],
            ORIGIN,
            &Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
        );
        let before = server.snapshot().await;
        let reply = client
            .post("/api/v1/me/reauth/finish", json!({ "credential": bad }))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
        // Bob's passkey answering Ada's challenge (a new one: the failure used the first up).
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        let foreign = bobs.get(&begun["publicKey"], ORIGIN, &Tweak::default());
        let reply = client
            .post("/api/v1/me/reauth/finish", json!({ "credential": foreign }))
            .await;
        assert!(reply.status.is_client_error(), "{}", reply.body);
        assert_ne!(reply.body["error"]["code"], "ceremony_not_found");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
        all_refused(&mut client, &key.id).await;
        // Neither a password (the account has keys) nor both at once.
        client
            .post("/api/v1/me/reauth/finish", json!({ "password": PASSWORD }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "reauth_method_unavailable");
        client
            .post("/api/v1/me/reauth/finish", json!({}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    }
}

#[tokio::test]
async fn an_account_without_keys_reauthenticates_with_its_password() {
    for server in servers().await {
        let (mut client, key) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        assert_eq!(client.delete(&path).await.status, StatusCode::NO_CONTENT);
        server.clock.advance(301);
        put_password(
            &mut client,
            json!({ "password": "another password", "currentPassword": PASSWORD }),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, REAUTH);
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        assert_eq!(begun, json!({ "methods": ["password"] }));
        let before = server.snapshot().await;
        client
            .post(
                "/api/v1/me/reauth/finish",
                json!({ "password": "wrong password" }),
            )
            .await
            .assert_error(StatusCode::FORBIDDEN, "current_password_incorrect");
        assert_eq!(server.snapshot().await, before);
        client
            .post("/api/v1/me/reauth/finish", json!({ "password": PASSWORD }))
            .await
            .ok();
        let reply = put_password(
            &mut client,
            json!({ "password": "another password", "currentPassword": PASSWORD }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
}

#[tokio::test]
async fn an_account_with_neither_keys_nor_password_cannot_reauthenticate() {
    for server in servers().await {
        let mut client = server.client();
        client
            .post("/api/v1/me/reauth/begin", json!({}))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        let (mut client, _) = server.signed_in("ada").await;
        // Keys cannot all be removed without a password, so begin always has a way; the
        // password route is refused while keys exist.
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        assert_eq!(begun["methods"], json!(["webauthn"]));
    }
}

#[tokio::test]
async fn reauthentication_needs_user_verification_not_just_a_touch() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        server.clock.advance(301);
        let begun = client.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        assert_eq!(begun["publicKey"]["userVerification"], "required");
        // UP without UV (flags 0x01).
        let touch_only = key.get(
            &begun["publicKey"],
            ORIGIN,
            &Tweak {
                flags: Some(0x01),
                ..Tweak::default()
            },
        );
        let before = server.snapshot().await;
        client
            .post(
                "/api/v1/me/reauth/finish",
                json!({ "credential": touch_only }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "user_verification_required");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());
        all_refused(&mut client, &key.id).await;
    }
}
