//! `/api/v1/me/credentials`: list, add, rename, delete.

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak};
use crate::client::{servers, ORIGIN};

#[tokio::test]
async fn list_shows_each_credential_with_its_kind() {
    for server in servers().await {
        let (mut client, passkey) = server.signed_in("ada").await;
        // Listed oldest first.
        server.clock.advance(5);
        let (key, reply) = client.add_credential(false, Some("YubiKey")).await;
        let added = reply.ok();
        assert_eq!(added["credential"]["kind"], "security_key");
        assert_eq!(added["credential"]["name"], "YubiKey");
        let list = client.get("/api/v1/me/credentials").await.ok();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], b64::encode(&passkey.id));
        assert_eq!(list[0]["kind"], "passkey");
        assert_eq!(list[0]["name"], "Passkey");
        assert_eq!(list[0]["backupEligible"], true);
        assert_eq!(list[0]["createdAt"], "2025-10-09T08:53:20Z");
        assert_eq!(list[0]["authenticatorName"], json!(null));
        assert_eq!(list[1]["id"], b64::encode(&key.id));
        assert_eq!(list[1]["kind"], "security_key");
        assert_eq!(list[1]["backedUp"], false);
        assert_eq!(list[1]["transports"], json!(["nfc", "usb"]));
        assert_eq!(server.snapshot().await.count("audit_events"), 2);
    }
}

#[tokio::test]
async fn adding_a_key_excludes_the_accounts_credentials() {
    for server in servers().await {
        let (mut client, passkey) = server.signed_in("ada").await;
        let options = client
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        assert_eq!(
            options["excludeCredentials"],
            json!([{ "type": "public-key", "id": b64::encode(&passkey.id), "transports": ["hybrid", "internal"] }])
        );
        assert_eq!(options["user"]["name"], "ada");
        // An authenticator that ignores the exclusion and re-registers is refused.
        let response = passkey.registration(&options, ORIGIN, &Tweak::default());
        let before = server.snapshot().await;
        client
            .post(
                "/api/v1/me/credentials/finish",
                json!({ "credential": response }),
            )
            .await
            .assert_error(StatusCode::CONFLICT, "credential_exists");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn a_failed_add_writes_nothing() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        let options = client
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let tweak = Tweak {
            origin: Some("https://evil.example".into()),
            ..Tweak::default()
        };
        let (_, response) = Passkey::create(&options, ORIGIN, false, &tweak);
        let before = server.snapshot().await;
        client
            .post(
                "/api/v1/me/credentials/finish",
                json!({ "credential": response }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "origin_mismatch");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn another_accounts_ceremony_cannot_be_finished() {
    for server in servers().await {
        let (mut ada, _) = server.signed_in("ada").await;
        let (mut bob, _) = server.signed_in("bob").await;
        let options = ada
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let (_, response) = Passkey::create(&options, ORIGIN, false, &Tweak::default());
        // Bob's session with Ada's ceremony cookie.
        bob.cookies.insert(
            "__Host-latch_ceremony".into(),
            ada.cookies["__Host-latch_ceremony"].clone(),
        );
        let before = server.snapshot().await;
        bob.post(
            "/api/v1/me/credentials/finish",
            json!({ "credential": response }),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "ceremony_user_mismatch");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn rename_changes_only_the_name() {
    for server in servers().await {
        let (mut client, passkey) = server.signed_in("ada").await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        let body = client
            .patch(&path, json!({ "name": "  Work laptop " }))
            .await
            .ok();
        assert_eq!(body["name"], "Work laptop");
        assert_eq!(body["kind"], "passkey");
        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list[0]["name"], "Work laptop");

        client
            .patch(&path, json!({ "name": "" }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_credential_name");
        client
            .patch("/api/v1/me/credentials/AAAA", json!({ "name": "x" }))
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");
        client
            .patch("/api/v1/me/credentials/%%%", json!({ "name": "x" }))
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");
        // Another account's credential is as good as absent.
        let (mut bob, _) = server.signed_in("bob").await;
        bob.patch(&path, json!({ "name": "mine" }))
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");
        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list[0]["name"], "Work laptop");
    }
}

#[tokio::test]
async fn delete_removes_a_key_but_never_the_last_one() {
    for server in servers().await {
        let (mut client, passkey) = server.signed_in("ada").await;
        let (key, reply) = client.add_credential(false, None).await;
        reply.ok();
        let (mut bob, _) = server.signed_in("bob").await;

        let key_path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        let before = server.snapshot().await;
        bob.delete(&key_path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");
        assert_eq!(server.snapshot().await, before);

        let reply = client.delete(&key_path).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list.as_array().unwrap().len(), 1);
        client
            .delete(&key_path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");

        let last = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        let before = server.snapshot().await;
        client
            .delete(&last)
            .await
            .assert_error(StatusCode::CONFLICT, "last_credential");
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn credentials_need_a_session() {
    for server in servers().await {
        let (_, passkey) = server.signed_in("ada").await;
        let mut anonymous = server.client();
        anonymous
            .get("/api/v1/me/credentials")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        anonymous
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        anonymous
            .delete(&path)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        anonymous
            .cookies
            .insert("__Host-latch_session".into(), "forged".into());
        anonymous
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
    }
}
