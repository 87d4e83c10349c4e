//! Sessions, logout, CSRF, and the error shape of what is not a ceremony.

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::json;

use crate::client::{servers, ORIGIN};

#[tokio::test]
async fn logout_ends_the_session() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        let token = client.cookies["__Host-latch_session"].clone();
        let reply = client.post("/api/v1/logout", json!({})).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply
            .cookie("__Host-latch_session")
            .unwrap()
            .contains("Max-Age=0"));
        assert_eq!(server.snapshot().await.count("sessions"), 0);
        // The old token is dead even if a client kept it.
        client.cookies.insert("__Host-latch_session".into(), token);
        client
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        // Logging out again is harmless.
        let reply = client.post("/api/v1/logout", json!({})).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn sessions_expire_after_thirty_days() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        // In use all the while (the idle timeout is 7 days).
        for _ in 0..5 {
            server.clock.advance(29 * 24 * 3600 / 5);
            client.get("/api/v1/me").await.ok();
        }
        server.clock.advance(24 * 3600);
        client
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "session_expired");
        assert_eq!(server.snapshot().await.count("sessions"), 0);
    }
}

#[tokio::test]
async fn browsers_on_other_sites_cannot_change_anything() {
    for server in servers().await {
        let (mut client, passkey) = server.signed_in("ada").await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        let before = server.snapshot().await;

        // A lookalike, another scheme or port, and the opaque origin of a sandboxed page.
        for evil in [
            "https://evil.example",
            "https://example.com.evil.example",
            "http://example.com",
            "https://example.com:8443",
            "null",
        ] {
            client.origin = Some(evil.into());
            client
                .post("/api/v1/login/begin", json!({}))
                .await
                .assert_error(StatusCode::FORBIDDEN, "origin_forbidden");
            client
                .delete(&path)
                .await
                .assert_error(StatusCode::FORBIDDEN, "origin_forbidden");
            client
                .post("/api/v1/logout", json!({}))
                .await
                .assert_error(StatusCode::FORBIDDEN, "origin_forbidden");
        }
        // A browser that sends Sec-Fetch-Site is judged by it, with or without an Origin.
        for (site, origin) in [
            ("cross-site", None),
            ("cross-site", Some("https://evil.example")),
            ("same-site", Some("https://login.example.com")),
        ] {
            client.origin = origin.map(str::to_owned);
            client.headers = vec![("sec-fetch-site".into(), site.into())];
            client
                .patch(&path, json!({ "name": "pwned" }))
                .await
                .assert_error(StatusCode::FORBIDDEN, "cross_site_request");
            client
                .post("/api/v1/signup/begin", json!({ "username": "bob" }))
                .await
                .assert_error(StatusCode::FORBIDDEN, "cross_site_request");
        }
        assert_eq!(server.snapshot().await, before);

        // The browser's own page, by either header.
        client.headers = vec![("sec-fetch-site".into(), "same-origin".into())];
        client.origin = None;
        client
            .patch(&path, json!({ "name": "by the page" }))
            .await
            .ok();
        client.headers.clear();
        client.origin = Some(ORIGIN.into());
        client
            .patch(&path, json!({ "name": "by origin" }))
            .await
            .ok();
        // Reads do not change state and are never refused.
        client.headers = vec![("sec-fetch-site".into(), "cross-site".into())];
        assert_eq!(
            client.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
    }
}

#[tokio::test]
async fn unknown_routes_answer_in_the_error_shape() {
    for server in servers().await {
        let mut client = server.client();
        client
            .get("/api/v1/nope")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn healthz_reports_the_database() {
    for server in servers().await {
        let mut client = server.client();
        let reply = client.get("/healthz").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, json!({ "status": "ok" }));
        server.store.close().await;
        let reply = client.get("/healthz").await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

/// A failure inside the server is a bare 500: no cause, no detail.
#[tokio::test]
async fn internal_errors_do_not_leak_their_cause() {
    for server in servers().await {
        let mut client = server.client();
        server.store.close().await;
        let reply = client.post("/api/v1/login/begin", json!({})).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            reply.body,
            json!({ "error": { "code": "internal", "message": "internal error" } })
        );
    }
}

#[tokio::test]
async fn sessions_are_listed_and_revoked() {
    for server in servers().await {
        let (mut phone, mut passkey) = server.signed_in("ada").await;
        server.clock.advance(60);
        let mut laptop = server.client();
        laptop.login(&mut passkey).await;
        let list = laptop.get("/api/v1/me/sessions").await.ok();
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 2);
        // Most recently seen first: the laptop's, which is the current one.
        assert_eq!(list[0]["current"], true);
        assert_eq!(list[1]["current"], false);
        assert_eq!(list[0]["credentialId"], b64::encode(&passkey.id));
        assert_eq!(list[0]["createdAt"], "2025-10-09T08:54:20Z");
        assert_eq!(list[0]["expiresAt"], "2025-11-08T08:54:20Z");

        // Bob cannot end Ada's sessions.
        let (mut bob, _) = server.signed_in("bob").await;
        let phone_path = format!("/api/v1/me/sessions/{}", list[1]["id"].as_str().unwrap());
        bob.delete(&phone_path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "session_not_found");

        // The laptop signs the phone out.
        let reply = laptop.delete(&phone_path).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.cookie("__Host-latch_session").is_none());
        phone
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        laptop
            .delete(&phone_path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "session_not_found");

        // Revoking the current session signs this client out.
        let own = format!("/api/v1/me/sessions/{}", list[0]["id"].as_str().unwrap());
        let reply = laptop.delete(&own).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply
            .cookie("__Host-latch_session")
            .unwrap()
            .contains("Max-Age=0"));
        laptop
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
    }
}

#[tokio::test]
async fn the_audit_log_lists_what_happened_newest_first() {
    for server in servers().await {
        let (mut client, mut passkey) = server.signed_in("ada").await;
        server.clock.advance(1);
        client.login(&mut passkey).await;
        server.clock.advance(1);
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        client.patch(&path, json!({ "name": "Phone" })).await.ok();
        let log = client.get("/api/v1/me/audit").await.ok();
        let kinds: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["credential_renamed", "login", "signup"]);
        assert_eq!(log[0]["detail"]["name"], "Phone");
        assert_eq!(log[2]["detail"]["credentialId"], b64::encode(&passkey.id));
        // Another account sees only its own.
        let (mut bob, _) = server.signed_in("bob").await;
        let log = bob.get("/api/v1/me/audit").await.ok();
        assert_eq!(log.as_array().unwrap().len(), 1);
    }
}
