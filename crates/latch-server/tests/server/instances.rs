//! Several `latch serve` instances on one database: any of them finishes what another began.

use axum::http::StatusCode;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak};
use crate::client::{servers, ORIGIN};

#[tokio::test]
async fn a_ceremony_begun_on_one_instance_finishes_on_another() {
    for a in servers().await {
        let b = a.another_instance().await;
        let mut on_a = a.client();
        let options = on_a.signup_begin("ada").await;
        let (mut passkey, response) = Passkey::create(&options, ORIGIN, true, &Tweak::default());
        let mut on_b = b.switch(&on_a);
        on_b.post("/api/v1/signup/finish", json!({ "credential": response }))
            .await
            .ok();
        // The session made by B is good on A.
        let mut back_on_a = a.switch(&on_b);
        assert_eq!(
            back_on_a.get("/api/v1/me").await.ok()["user"]["username"],
            "ada"
        );

        let mut login_b = b.client();
        let options = login_b.login_begin(None).await;
        let assertion = passkey.get(&options, ORIGIN, &Tweak::default());
        let mut login_a = a.switch(&login_b);
        login_a.login_finish(&assertion).await.ok();
        // ...and only once, whichever instance is asked.
        let mut replay_b = b.switch(&login_a);
        replay_b.cookies = login_b.cookies.clone();
        replay_b
            .login_finish(&assertion)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "ceremony_not_found");
    }
}

#[tokio::test]
async fn every_instance_gives_an_unknown_user_the_same_fake_credentials() {
    for a in servers().await {
        let b = a.another_instance().await;
        let on_a = a.client().login_begin(Some("mallory")).await;
        let on_b = b.client().login_begin(Some("mallory")).await;
        assert_eq!(on_a["allowCredentials"], on_b["allowCredentials"]);
        assert!(!on_a["allowCredentials"].as_array().unwrap().is_empty());
    }
}
