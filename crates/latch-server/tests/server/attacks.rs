//! The security review's findings, each as the attack it described, through the HTTP API;
//! each must now be refused.

use axum::http::{Method, StatusCode};
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak, UP, UV};
use crate::client::{servers, servers_configured, ORIGIN};
use crate::password::{enrol_totp, set_password, totp, PASSWORD};
use crate::trusted::trusted_browser;

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

/// An account without keys, protected by a password and an authenticator app: a stolen
/// session plus the password does not re-authenticate (it would let the attacker register
/// a passkey of their own); the password with a current code does, once per code.
#[tokio::test]
async fn reauthentication_takes_the_strongest_factor_the_account_has() {
    for server in servers().await {
        let (mut owner, passkey) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        let secret = enrol_totp(&server, &mut owner).await;
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        assert_eq!(owner.delete(&path).await.status, StatusCode::NO_CONTENT);

        // Later, the attacker holds the session (no longer recent) and knows the password.
        server.clock.advance(3600);
        let mut attacker = owner.clone();
        let begun = attacker
            .post("/api/v1/me/reauth/begin", json!({}))
            .await
            .ok();
        assert_eq!(begun, json!({ "methods": ["password"], "code": "totp" }));
        attacker
            .post("/api/v1/me/reauth/finish", json!({ "password": PASSWORD }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        let wrong = json!({ "password": PASSWORD, "code": "000000" });
        attacker
            .post("/api/v1/me/reauth/finish", wrong)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        attacker
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .assert_error(StatusCode::FORBIDDEN, "reauthentication_required");

        // The owner, with the app.
        let code = totp(&secret, server.clock_now());
        let body = json!({ "password": PASSWORD, "code": code });
        owner
            .post("/api/v1/me/reauth/finish", body.clone())
            .await
            .ok();
        owner
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok();
        // The same code again is no good.
        owner
            .post("/api/v1/me/reauth/finish", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
    }
}

/// With recovery codes and neither keys nor an app, a recovery code comes with the password
/// (and is used up).
#[tokio::test]
async fn reauthentication_with_recovery_codes_takes_one() {
    for server in servers().await {
        let (mut owner, passkey) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        let codes = owner
            .post("/api/v1/me/recovery-codes", json!({}))
            .await
            .ok();
        let first = codes["codes"][0].as_str().unwrap().to_owned();
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&passkey.id));
        assert_eq!(owner.delete(&path).await.status, StatusCode::NO_CONTENT);
        server.clock.advance(3600);
        let begun = owner.post("/api/v1/me/reauth/begin", json!({})).await.ok();
        assert_eq!(begun["code"], "recovery_code");
        owner
            .post("/api/v1/me/reauth/finish", json!({ "password": PASSWORD }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
        let body = json!({ "password": PASSWORD, "code": first });
        owner
            .post("/api/v1/me/reauth/finish", body.clone())
            .await
            .ok();
        owner
            .post("/api/v1/me/reauth/finish", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_code");
    }
}

/// A password sign-in that a trusted browser let skip the second factor is a sign-in, but not
/// a recent one: adding a key first takes re-authentication with a key.
#[tokio::test]
async fn a_trusted_browser_s_password_sign_in_is_not_recent() {
    for server in servers().await {
        let (mut owner, mut passkey) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        let (mut browser, _) = trusted_browser(&server, &mut passkey).await;
        browser.post("/api/v1/logout", json!({})).await;
        let signed_in = browser
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(signed_in["trustedBrowser"], true);
        browser.get("/api/v1/me").await.ok();
        browser
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .assert_error(StatusCode::FORBIDDEN, "reauthentication_required");
        let body = json!({ "password": "another good password" });
        browser
            .send(Method::PUT, "/api/v1/me/password", Some(&body))
            .await
            .assert_error(StatusCode::FORBIDDEN, "reauthentication_required");
    }
}

/// Made-up HTTP methods all count as `other`: a client cannot add metric series forever.
#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    for server in servers().await {
        let mut client = server.client();
        for i in 0..50 {
            let method = Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            client.send(method, "/api/v1/me", None).await;
        }
        let text = client.get("/metrics").await.text;
        assert!(!text.contains("method=\"X"), "{text}");
        let others = text
            .lines()
            .filter(|l| l.contains("method=\"other\""))
            .count();
        assert_eq!(others, 1, "{text}");
    }
}
