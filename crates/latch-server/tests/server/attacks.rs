//! The security review's findings, each as the attack it described, through the HTTP API;
//! each must now be refused.

use axum::http::{Method, StatusCode};
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak, UP, UV};
use crate::client::{servers, servers_configured, ORIGIN};
use crate::password::{enrol_totp, PASSWORD};

/// Registration `transports` are stored and sent back in every allowCredentials: only the
/// values WebAuthn defines are kept, each once.
#[tokio::test]
async fn made_up_transports_are_not_stored() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        let (_, mut response) = Passkey::create(&options, ORIGIN, false, &Tweak::default());
        let mut junk = vec![json!("usb"), json!("<img src=x onerror=alert(1)>")];
        junk.extend(std::iter::repeat_n(json!("nfc"), 500));
        response["response"]["transports"] = json!(junk);
        client
            .post("/api/v1/signup/finish", json!({ "credential": response }))
            .await
            .ok();
        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list[0]["transports"], json!(["nfc", "usb"]));
        let begun = server.client().login_begin(Some("ada")).await;
        assert_eq!(
            begun["allowCredentials"][0]["transports"],
            json!(["nfc", "usb"])
        );
    }
}

/// Whether a credential is stored as backup eligible is told only to a request its key
/// signed: a forged assertion with the other BE flag fails at the signature.
#[tokio::test]
async fn the_stored_backup_flag_is_not_told_to_an_unsigned_assertion() {
    for server in servers().await {
        // A synced passkey: stored BE = 1.
        let (_, mut passkey) = server.signed_in("ada").await;
        let mut attacker = server.client();
        let options = attacker.login_begin(None).await;
        let forged = passkey.get(
            &options,
            ORIGIN,
            &Tweak {
                flags: Some(UP | UV),
                bad_signature: true,
                ..Tweak::default()
            },
        );
        let reply = attacker.login_finish(&forged).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_ne!(
            reply.body["error"]["code"], "backup_eligibility_changed",
            "{}",
            reply.body
        );
    }
}

/// Someone who took over a session (or signed in with a stolen factor) is signed out by each
/// change that cleans up after it; the session making the change stays.
#[tokio::test]
async fn cleaning_up_after_a_compromise_ends_the_attacker_s_session() {
    for server in servers().await {
        let (mut owner, mut passkey) = server.signed_in("ada").await;
        let mut attacker = server.client();
        let changes: [(&str, Method, &str); 4] = [
            ("a new password", Method::PUT, "/api/v1/me/password"),
            (
                "new recovery codes",
                Method::POST,
                "/api/v1/me/recovery-codes",
            ),
            (
                "removing the authenticator app",
                Method::DELETE,
                "/api/v1/me/totp",
            ),
            ("deleting a key", Method::DELETE, "key"),
        ];
        for (what, method, path) in changes {
            // Set up what the change removes.
            let path = match path {
                "/api/v1/me/totp" => {
                    enrol_totp(&server, &mut owner).await;
                    path.to_owned()
                }
                "key" => {
                    let (key, reply) = owner.add_credential(false, None).await;
                    reply.ok();
                    format!("/api/v1/me/credentials/{}", b64::encode(&key.id))
                }
                _ => path.to_owned(),
            };
            attacker.login(&mut passkey).await;
            attacker.get("/api/v1/me").await.ok();
            let body = (method == Method::PUT).then(|| json!({ "password": PASSWORD }));
            let reply = owner.send(method, &path, body.as_ref()).await;
            assert!(reply.status.is_success(), "{what}: {}", reply.body);
            attacker
                .get("/api/v1/me")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
            owner.get("/api/v1/me").await.ok();
        }
    }
}

/// A session nobody uses for the idle timeout (7 days by default) ends, even well within its
/// 30-day lifetime; one in use lasts the lifetime and no longer.
#[tokio::test]
async fn idle_sessions_end() {
    for server in servers().await {
        let (mut idle, _) = server.signed_in("ada").await;
        let (mut busy, _) = server.signed_in("bob").await;
        for _ in 0..4 {
            server.clock.advance(6 * 24 * 3600);
            busy.get("/api/v1/me").await.ok();
        }
        idle.get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "session_expired");
        server.clock.advance(6 * 24 * 3600 + 1);
        busy.get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "session_expired");
    }
}

#[tokio::test]
async fn the_idle_timeout_is_configurable() {
    for server in servers_configured(|c| c.session_idle = 3600).await {
        let (mut client, _) = server.signed_in("ada").await;
        server.clock.advance(3000);
        client.get("/api/v1/me").await.ok();
        server.clock.advance(3601);
        client
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "session_expired");
    }
}
