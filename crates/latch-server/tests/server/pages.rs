//! The web pages as the server serves them: which page for whom, in which language, with
//! which headers. What the pages do in a browser is tested in Chromium
//! (`crates/latch-web/browser-tests`).

use axum::http::StatusCode;
use serde_json::json;

use crate::client::{servers, Reply};
use crate::password::PASSWORD;

fn html(reply: &Reply) -> &str {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.headers["content-type"], "text/html; charset=utf-8",
        "{:?}",
        reply.headers
    );
    &reply.text
}

fn assert_locked_down(reply: &Reply) {
    let csp = reply.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(reply.headers["x-frame-options"], "DENY");
    assert_eq!(reply.headers["referrer-policy"], "same-origin");
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_sign_in_page_is_served_at_the_root() {
    for server in servers().await {
        let mut browser = server.client();
        let reply = browser.get("/").await;
        let page = html(&reply);
        assert_locked_down(&reply);
        assert!(page.contains("id=\"signin-form\""), "{page}");
        assert!(page.contains("autocomplete=\"username webauthn\""));
        assert_eq!(reply.headers["cache-control"], "no-store");
        // Nobody signed in: the signed-in pages send people to sign in.
        for path in ["/security", "/admin"] {
            let reply = browser.get(path).await;
            assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(reply.headers["location"], "/", "{path}");
        }
        assert!(html(&browser.get("/signup").await).contains("id=\"signup-form\""));
    }
}

#[tokio::test]
async fn a_signed_in_person_gets_security_info_and_no_admin_page() {
    for server in servers().await {
        let (mut ana, _) = server.signed_in("ana").await;
        let reply = ana.get("/").await;
        let page = html(&reply);
        assert!(page.contains("id=\"keys-table\""), "{page}");
        assert!(!page.contains("href=\"/admin\""), "not an administrator");
        assert!(html(&ana.get("/security").await).contains("id=\"keys-table\""));
        let reply = ana.get("/admin").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert_eq!(reply.headers["location"], "/security");
        let reply = ana.get("/signup").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        // After signing out, the root is the sign-in page again.
        ana.post("/api/v1/logout", json!({})).await;
        assert!(html(&ana.get("/").await).contains("id=\"signin-form\""));
    }
}

#[tokio::test]
async fn an_administrator_gets_the_admin_page() {
    for server in servers().await {
        let (root, _) = server.signed_in("root").await;
        let (ana, _) = server.signed_in("ana").await;
        let admin_server = server
            .another_instance_with(&["root"], &Default::default())
            .await;
        let mut root = admin_server.switch(&root);
        let page = html(&root.get("/admin").await).to_owned();
        assert!(page.contains("id=\"policy-form\""), "{page}");
        assert!(html(&root.get("/").await).contains("href=\"/admin\""));
        assert_eq!(root.get("/api/v1/me").await.ok()["admin"], true);
        // Without metadata there are no authenticators to name.
        let list = root.get("/api/v1/admin/authenticators").await.ok();
        assert_eq!(list["authenticators"], json!([]));
        let mut ana = admin_server.switch(&ana);
        ana.get("/api/v1/admin/authenticators")
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
    }
}

#[tokio::test]
async fn the_language_comes_from_the_switch_then_the_cookie_then_the_browser() {
    for server in servers().await {
        let mut browser = server.client();
        browser.headers = vec![("accept-language".into(), "ja-JP,ja;q=0.9,en;q=0.5".into())];
        let page = html(&browser.get("/").await).to_owned();
        assert!(page.contains("<html lang=\"ja\""), "{page}");
        assert!(page.contains("サインイン"));
        assert!(
            page.contains("href=\"/?lang=en\""),
            "the switch offers English"
        );

        let reply = browser.get("/?lang=en").await;
        assert!(html(&reply).contains("<html lang=\"en\""));
        let remembered = reply
            .cookie("__Host-latch_lang")
            .expect("the choice is remembered");
        assert!(
            remembered.contains("__Host-latch_lang=en; Path=/"),
            "{remembered}"
        );
        // The cookie keeps English over the browser's Japanese.
        let page = html(&browser.get("/signup").await).to_owned();
        assert!(page.contains("<html lang=\"en\""), "{page}");
        // An unknown language changes nothing.
        let reply = browser.get("/?lang=xx").await;
        assert!(html(&reply).contains("<html lang=\"en\""));
        assert!(reply.cookie("__Host-latch_lang").is_none());
    }
}

#[tokio::test]
async fn assets_are_served_with_their_types_and_nothing_else_is() {
    for server in servers().await {
        let mut browser = server.client();
        let reply = browser.get("/assets/signin.js").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.headers["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert!(reply.text.contains("login/begin"));
        assert_locked_down(&reply);
        let reply = browser.get("/assets/latch.css").await;
        assert_eq!(reply.headers["content-type"], "text/css; charset=utf-8");
        for path in [
            "/assets/nope.js",
            "/assets/..%2FCargo.toml",
            "/nothing-here",
        ] {
            browser
                .get(path)
                .await
                .assert_error(StatusCode::NOT_FOUND, "not_found");
        }
    }
}

#[tokio::test]
async fn sign_up_with_a_password_then_the_account_says_it_lacks_a_second_factor() {
    for server in servers().await {
        let mut bo = server.client();
        let body = bo
            .post(
                "/api/v1/signup/password",
                json!({ "username": "bo", "displayName": "Bo", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(body["user"]["username"], "bo");
        let me = bo.get("/api/v1/me").await.ok();
        assert_eq!(me["signIn"]["password"], true);
        assert_eq!(me["signIn"]["keys"], 0);
        assert_eq!(me["signIn"]["keysAreSecondFactor"], false);
        assert_eq!(me["signIn"]["totp"], false);
        assert_eq!(me["admin"], false);
        assert_eq!(me["rpId"], "example.com");

        // The name is taken now; weak passwords and bad names write nothing.
        let before = server.snapshot().await;
        let mut other = server.client();
        other
            .post(
                "/api/v1/signup/password",
                json!({ "username": "bo", "password": PASSWORD }),
            )
            .await
            .assert_error(StatusCode::CONFLICT, "username_taken");
        other
            .post(
                "/api/v1/signup/password",
                json!({ "username": "cy", "password": "short" }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "weak_password");
        other
            .post(
                "/api/v1/signup/password",
                json!({ "username": "a b", "password": PASSWORD }),
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_username");
        assert_eq!(server.snapshot().await.accounts(), before.accounts());

        // It signs in with the password alone until a second factor is added.
        let mut again = server.client();
        let body = again
            .post(
                "/api/v1/login/password",
                json!({ "username": "bo", "password": PASSWORD }),
            )
            .await
            .ok();
        assert_eq!(body["user"]["username"], "bo");
    }
}

#[tokio::test]
async fn the_display_name_can_be_changed() {
    for server in servers().await {
        let (mut ana, _) = server.signed_in("ana").await;
        let body = ana
            .patch("/api/v1/me", json!({ "displayName": "Ana Lima" }))
            .await
            .ok();
        assert_eq!(body["user"]["displayName"], "Ana Lima");
        assert_eq!(
            ana.get("/api/v1/me").await.ok()["user"]["displayName"],
            "Ana Lima"
        );
        let events = ana.get("/api/v1/me/activity").await.ok();
        assert_eq!(events[0]["kind"], "display_name_changed");
        ana.patch("/api/v1/me", json!({ "displayName": "" }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_display_name");
        let mut nobody = server.client();
        nobody
            .patch("/api/v1/me", json!({ "displayName": "X" }))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
    }
}
