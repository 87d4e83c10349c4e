//! "Trust this browser for 30 days": a password sign-in from a trusted browser skips the
//! second factor; trust is listed, revoked one by one or all at once, and ends with a
//! password change.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::authenticator::{Passkey, Tweak};
use crate::client::{servers, Client, Server, ORIGIN};
use crate::password::{password_login, put_password, set_password, PASSWORD};

/// Password, then the key with `trustBrowser: true`; returns the browser and its cookie.
pub async fn trusted_browser(server: &Server, key: &mut Passkey) -> (Client, String) {
    let (mut browser, body) = password_login(server, "ada", PASSWORD).await;
    assert_eq!(body["next"], "second_factor");
    let options = browser
        .post("/api/v1/login/second-factor/begin", json!({}))
        .await
        .ok()["publicKey"]
        .clone();
    let response = key.get(&options, ORIGIN, &Tweak::default());
    let reply = browser
        .post(
            "/api/v1/login/second-factor/finish",
            json!({ "credential": response, "trustBrowser": true }),
        )
        .await;
    let cookie = reply.cookie("__Host-latch_trusted").unwrap().to_owned();
    reply.ok();
    (browser, cookie)
}

async fn password_again(browser: &mut Client) -> Value {
    browser.post("/api/v1/logout", json!({})).await;
    let reply = browser
        .post(
            "/api/v1/login/password",
            json!({ "username": "ada", "password": PASSWORD }),
        )
        .await;
    reply.ok()
}

#[tokio::test]
async fn a_trusted_browser_skips_the_second_factor() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let (mut browser, cookie) = trusted_browser(&server, &mut key).await;
        // An https site: a host-only name a sibling subdomain cannot plant.
        assert!(cookie.starts_with("__Host-latch_trusted="));
        for attribute in [
            "Path=/;",
            "Max-Age=2592000",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
        ] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }

        let body = password_again(&mut browser).await;
        assert_eq!(body["trustedBrowser"], true);
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(
            browser.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
        // Trust skips the second factor, never the password.
        browser.post("/api/v1/logout", json!({})).await;
        let reply = browser
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": "wrong password" }),
            )
            .await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

        // Another browser still needs the second factor.
        let (_, body) = password_login(&server, "ada", PASSWORD).await;
        assert_eq!(body["next"], "second_factor");
        // A cookie whose MAC is wrong is not trusted.
        let token = browser.cookies["__Host-latch_trusted"]
            .split('.')
            .next()
            .unwrap();
        let mut forged = server.client();
        forged
            .cookies
            .insert("__Host-latch_trusted".into(), format!("{token}.AAAA"));
        let body = forged
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(body["next"], "second_factor");
        // Ada's trust does not vouch for Bob.
        let (mut bob, _) = server.signed_in("bob").await;
        set_password(&mut bob).await;
        let mut borrowed = server.client();
        borrowed.cookies.insert(
            "__Host-latch_trusted".into(),
            browser.cookies["__Host-latch_trusted"].clone(),
        );
        let body = borrowed
            .post(
                "/api/v1/login/password",
                json!({ "username": "bob", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(body["next"], "second_factor");

        // Listed, with this browser marked; then revoked.
        assert_eq!(password_again(&mut browser).await["trustedBrowser"], true);
        let list = browser.get("/api/v1/me/trusted-browsers").await.ok();
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["current"], true);
        assert_eq!(list[0]["expiresAt"], "2025-11-08T08:53:20Z");
        assert!(list[0]["lastUsedAt"].is_string());
        let path = format!(
            "/api/v1/me/trusted-browsers/{}",
            list[0]["id"].as_str().unwrap()
        );
        // Bob cannot revoke Ada's.
        bob.delete(&path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "trusted_browser_not_found");
        let reply = browser.delete(&path).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply
            .cookie("__Host-latch_trusted")
            .unwrap()
            .contains("Max-Age=0"));
        browser
            .delete(&path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "trusted_browser_not_found");
        assert_eq!(password_again(&mut browser).await["next"], "second_factor");
    }
}

#[tokio::test]
async fn trust_ends_after_thirty_days_with_a_new_password_or_when_revoked() {
    for server in servers().await {
        let (mut client, mut key) = server.signed_in("ada").await;
        set_password(&mut client).await;

        // Thirty days.
        let (mut browser, _) = trusted_browser(&server, &mut key).await;
        server.clock.advance(30 * 24 * 3600 - 1);
        assert_eq!(password_again(&mut browser).await["trustedBrowser"], true);
        server.clock.advance(1);
        assert_eq!(password_again(&mut browser).await["next"], "second_factor");

        // All at once.
        let (mut first, _) = trusted_browser(&server, &mut key).await;
        let (mut second, _) = trusted_browser(&server, &mut key).await;
        let reply = first.delete("/api/v1/me/trusted-browsers").await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        let list = first.get("/api/v1/me/trusted-browsers").await.ok();
        assert_eq!(list, json!([]));
        assert_eq!(password_again(&mut second).await["next"], "second_factor");

        // A new password.
        let (mut third, _) = trusted_browser(&server, &mut key).await;
        let reply = put_password(
            &mut third,
            json!({ "password": "a new password", "currentPassword": PASSWORD }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        let log = third.get("/api/v1/me/activity").await.ok();
        assert_eq!(log[1]["kind"], "trusted_browsers_revoked");
        assert_eq!(log[1]["detail"]["reason"], "password_changed");
        third.post("/api/v1/logout", json!({})).await;
        let body = third
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": "a new password" }),
            )
            .await
            .ok();
        assert_eq!(body["next"], "second_factor");
    }
}

#[tokio::test]
async fn an_authenticator_app_code_can_trust_the_browser_too() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        set_password(&mut client).await;
        let secret = crate::password::enrol_totp(&server, &mut client).await;
        server.clock.advance(30);
        let (mut browser, _) = password_login(&server, "ada", PASSWORD).await;
        let code = crate::password::totp(&secret, server.clock_now());
        let reply = browser
            .post(
                "/api/v1/login/totp",
                json!({ "code": code, "trustBrowser": true }),
            )
            .await;
        assert!(reply.cookie("__Host-latch_trusted").is_some());
        reply.ok();
        assert_eq!(password_again(&mut browser).await["trustedBrowser"], true);
        // Without trustBrowser, no cookie.
        let (mut other, _) = password_login(&server, "ada", PASSWORD).await;
        server.clock.advance(30);
        let code = crate::password::totp(&secret, server.clock_now());
        let reply = other
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await;
        assert!(reply.cookie("__Host-latch_trusted").is_none());
        reply.ok();
        // Removing the app revokes the trust it vouched for.
        let reply = client.send(Method::DELETE, "/api/v1/me/totp", None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(password_again(&mut browser).await["next"], "second_factor");
    }
}
