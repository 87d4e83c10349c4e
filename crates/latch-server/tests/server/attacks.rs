//! The security review's findings, each as the attack it described, through the HTTP API;
//! each must now be refused.

use axum::http::StatusCode;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak, UP, UV};
use crate::client::{servers, ORIGIN};

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
