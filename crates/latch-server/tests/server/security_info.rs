//! The account's security information: signing other sessions out, ending the sessions a
//! removed key started, the activity list, the authenticator app's QR code, and the fallback
//! to codes once every key is gone.

use std::net::SocketAddr;

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::json;

use crate::client::servers;
use crate::password::{enrol_totp, password_login, set_password, totp, PASSWORD};

#[tokio::test]
async fn sign_out_others_keeps_only_this_session() {
    for server in servers().await {
        let (mut phone, mut key) = server.signed_in("ada").await;
        set_password(&mut phone).await;
        let mut laptop = server.client();
        laptop.login(&mut key).await;
        let mut tablet = server.client();
        tablet.login(&mut key).await;
        // A password sign-in waiting for its second factor ends too.
        let (mut waiting, _) = password_login(&server, "ada", PASSWORD).await;
        let (mut bob, _) = server.signed_in("bob").await;

        let body = laptop
            .post("/api/v1/me/sessions/sign-out-others", json!({}))
            .await
            .ok();
        assert_eq!(body, json!({ "ended": 3 }));
        for other in [&mut phone, &mut tablet] {
            other
                .get("/api/v1/me")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        }
        waiting
            .post("/api/v1/login/totp", json!({ "code": "123456" }))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "no_pending_sign_in");
        laptop.get("/api/v1/me").await.ok();
        bob.get("/api/v1/me").await.ok();
        let sessions = laptop.get("/api/v1/me/sessions").await.ok();
        assert_eq!(sessions.as_array().unwrap().len(), 1);
        let log = laptop.get("/api/v1/me/activity").await.ok();
        assert_eq!(log[0]["kind"], "sessions_ended");
        assert_eq!(log[0]["detail"]["count"], 3);
        // Alone, it ends nothing and still succeeds.
        let body = laptop
            .post("/api/v1/me/sessions/sign-out-others", json!({}))
            .await
            .ok();
        assert_eq!(body, json!({ "ended": 0 }));
    }
}

#[tokio::test]
async fn deleting_a_key_ends_the_other_sessions_and_can_end_this_one() {
    for server in servers().await {
        let (mut phone, mut first) = server.signed_in("ada").await;
        set_password(&mut phone).await;
        let (mut second, reply) = phone.add_credential(false, Some("Key B")).await;
        reply.ok();
        let (mut third, reply) = phone.add_credential(false, Some("Key C")).await;
        reply.ok();
        let mut laptop = server.client();
        laptop.login(&mut second).await;
        let mut tablet = server.client();
        tablet.login(&mut first).await;
        let mut kiosk = server.client();
        kiosk.login(&mut third).await;

        // The laptop removes key C: every other session ends, whichever key started it.
        let third_path = format!("/api/v1/me/credentials/{}", b64::encode(&third.id));
        assert_eq!(
            laptop.delete(&third_path).await.status,
            StatusCode::NO_CONTENT
        );
        for ended in [&mut phone, &mut tablet, &mut kiosk] {
            ended
                .get("/api/v1/me")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        }
        laptop.get("/api/v1/me").await.ok();
        let log = laptop.get("/api/v1/me/activity").await.ok();
        assert_eq!(log[0]["kind"], "sessions_ended");
        assert_eq!(log[0]["detail"]["count"], 3);
        assert_eq!(log[0]["detail"]["reason"], "credential_deleted");
        assert_eq!(log[1]["kind"], "credential_deleted");

        // Removing, with endSessions, the key this session was started by signs it out too.
        let second_path = format!("/api/v1/me/credentials/{}", b64::encode(&second.id));
        let reply = laptop
            .delete(&format!("{second_path}?endSessions=true"))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply
            .cookie("__Host-latch_session")
            .unwrap()
            .contains("Max-Age=0"));
        laptop
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        tablet.login(&mut first).await;
        let log = tablet.get("/api/v1/me/activity").await.ok();
        assert_eq!(log[1]["kind"], "sessions_ended");
        assert_eq!(log[1]["detail"]["reason"], "credential_deleted");
        assert_eq!(log[2]["kind"], "credential_deleted");
    }
}

#[tokio::test]
async fn activity_lists_events_with_time_ip_and_user_agent() {
    for server in servers().await {
        let (mut client, key) = server.signed_in("ada").await;
        client.peer = Some(SocketAddr::new("198.51.100.20".parse().unwrap(), 50000));
        client.headers = vec![("user-agent".into(), "Firefox/140".into())];
        set_password(&mut client).await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        client.patch(&path, json!({ "name": "Phone" })).await.ok();
        let mut outside = server.client();
        outside.peer = Some(SocketAddr::new("203.0.113.66".parse().unwrap(), 1));
        outside.headers = vec![("user-agent".into(), "curl/8".into())];
        outside
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": "not it at all" }),
            )
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        server.clock.advance(5);
        let log = client.get("/api/v1/me/activity").await.ok();
        let kinds: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "login_failed",
                "credential_renamed",
                "password_set",
                "signup"
            ]
        );
        assert_eq!(log[0]["detail"], json!({ "method": "password" }));
        assert_eq!(log[0]["ip"], "203.0.113.66");
        assert_eq!(log[0]["userAgent"], "curl/8");
        assert_eq!(log[1]["ip"], "198.51.100.20");
        assert_eq!(log[1]["userAgent"], "Firefox/140");
        assert_eq!(log[1]["createdAt"], "2025-10-09T08:53:20Z");
        // The older name answers the same.
        assert_eq!(client.get("/api/v1/me/audit").await.ok(), log);
    }
}

#[tokio::test]
async fn the_authenticator_app_comes_with_a_qr_code() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        let begun = client.post("/api/v1/me/totp/begin", json!({})).await.ok();
        let uri = begun["uri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/Latch:ada?secret="), "{uri}");
        for part in ["issuer=Latch", "algorithm=SHA1", "digits=6", "period=30"] {
            assert!(uri.contains(part), "{part} in {uri}");
        }
        let svg = begun["qrSvg"].as_str().unwrap();
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}

/// Once every key is gone, the second factor falls back to the authenticator app and the
/// recovery codes.
#[tokio::test]
async fn without_keys_the_second_factor_falls_back_to_codes() {
    for server in servers().await {
        let (mut client, key) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let secret = enrol_totp(&server, &mut client).await;
        client
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        let (_, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(
            body["methods"],
            json!(["webauthn", "totp", "recovery_code"])
        );

        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        assert_eq!(client.delete(&path).await.status, StatusCode::NO_CONTENT);
        let (mut pending, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
        server.clock.advance(30);
        let code = totp(&secret, server.clock_now());
        let body = pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await
            .ok();
        assert_eq!(body["user"]["username"], "ada");
    }
}

#[tokio::test]
async fn the_new_calls_are_documented() {
    for server in servers().await {
        let mut client = server.client();
        let doc = client.get("/api/openapi.json").await.ok();
        for (path, method) in [
            ("/api/v1/me/reauth/begin", "post"),
            ("/api/v1/me/reauth/finish", "post"),
            ("/api/v1/me/trusted-browsers", "get"),
            ("/api/v1/me/trusted-browsers", "delete"),
            ("/api/v1/me/trusted-browsers/{id}", "delete"),
            ("/api/v1/me/sessions/sign-out-others", "post"),
            ("/api/v1/me/activity", "get"),
            ("/api/v1/me/audit", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
        let totp = &doc["paths"]["/api/v1/me/totp/begin"]["post"]["responses"]["200"];
        assert!(totp.to_string().contains("qrSvg"));
    }
}
