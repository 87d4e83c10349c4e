//! A client that is not a browser (a script, an app, a command-line tool) sends neither
//! `Origin` nor `Sec-Fetch-*`, and can use every call: it is no forgery vector, since it can
//! only carry cookies it holds itself.

use axum::http::StatusCode;
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::Tweak;
use crate::client::{servers, ORIGIN};
use crate::password::{set_password, PASSWORD};

#[tokio::test]
async fn a_script_signs_up_signs_in_and_manages_its_keys() {
    for server in servers().await {
        let mut script = server.client();
        script.origin = None;

        // Sign up with a passkey (the WebAuthn client data still names the web origin).
        let mut passkey = script.signup("ada", true).await;
        assert_eq!(
            script.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );

        // Add a security key, rename it, then delete it.
        let (key, reply) = script.add_credential(false, Some("desk key")).await;
        reply.ok();
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        let renamed = script
            .patch(&path, json!({ "name": "YubiKey 5" }))
            .await
            .ok();
        assert_eq!(renamed["name"], "YubiKey 5");
        let reply = script.delete(&path).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
        assert_eq!(
            script
                .get("/api/v1/me/credentials")
                .await
                .ok()
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // A password, then sign out and back in with the password and the passkey.
        set_password(&mut script).await;
        let reply = script.post("/api/v1/logout", json!({})).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        let mut pending = server.client();
        pending.origin = None;
        let body = pending
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(body["next"], "second_factor");
        let options = pending
            .post("/api/v1/login/second-factor/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        let body = pending
            .post(
                "/api/v1/login/second-factor/finish",
                json!({ "credential": response }),
            )
            .await
            .ok();
        assert_eq!(body["user"]["username"], "ada");

        // Passwordless: a discoverable passkey sign-in with no body at all on begin.
        let mut fresh = server.client();
        fresh.origin = None;
        let signed_in = fresh.login(&mut passkey).await;
        assert_eq!(signed_in["user"]["username"], "ada");
        assert_eq!(
            fresh.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );
    }
}
