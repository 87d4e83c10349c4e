//! The OpenID Connect provider through its endpoints: the code flow with PKCE, the three
//! client authentications, refresh rotation and reuse, userinfo, logout, key rotation,
//! acr/amr with step-up, and each refusal with its OAuth error and no token.

use axum::http::{header, Method, StatusCode};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use latch_server::oidc::keys::{self, Alg};
use latch_server::Startup;
use latch_webauthn::b64;
use serde_json::{json, Value};

use crate::authenticator::Tweak;
use crate::client::{servers_with, Client, Reply, Server, ORIGIN};
use crate::password::{enrol_totp, password_login, set_password, totp, PASSWORD};

const SECRET: &str = "wiki-secret-0123456789abcdef0123456789";
const WIKI_CB: &str = "https://wiki.example/cb";
const APP_CB: &str = "com.example.app:/cb";
// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn startup() -> Startup {
    let file = format!(
        r#"
        [[client]]
        id = "wiki"
        name = "Team wiki"
        secret = "{SECRET}"
        redirectUris = ["{WIKI_CB}"]
        postLogoutRedirectUris = ["https://wiki.example/bye"]

        [[client]]
        id = "post"
        name = "Mail"
        authMethod = "client_secret_post"
        secret = "{SECRET}"
        redirectUris = ["https://mail.example/cb"]

        [[client]]
        id = "app"
        name = "Phone app"
        authMethod = "none"
        redirectUris = ["{APP_CB}"]
        idTokenSignedResponseAlg = "ES256"
        "#
    );
    Startup {
        oidc_clients: Some(latch_server::oidc::client::from_file(&file).unwrap()),
        ..Startup::default()
    }
}

fn location(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    reply.headers[header::LOCATION].to_str().unwrap().to_owned()
}

/// The query parameters of a URL.
fn query(url: &str) -> Value {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
    Value::Object(pairs.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

fn authorize_url(client_id: &str, redirect: &str, extra: &str) -> String {
    let base = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "openid profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    format!("/oauth2/authorize?{base}{extra}")
}

/// Follows a request to its end in this browser: consent is given when asked. Returns the
/// URL the browser is sent back to the client with.
async fn run(browser: &mut Client, url: &str) -> String {
    let mut to = location(&browser.get(url).await);
    loop {
        if let Some(rest) = to.strip_prefix("/oauth2/consent?request=") {
            let answer = browser
                .post(
                    &format!("/api/v1/oauth2/requests/{rest}/consent"),
                    json!({ "allow": true }),
                )
                .await
                .ok();
            to = answer["redirect"].as_str().unwrap().to_owned();
        } else if let Some(path) = to
            .strip_prefix(ORIGIN)
            .or(Some(to.as_str()))
            .filter(|t| t.starts_with("/oauth2/continue"))
        {
            let path = path.to_owned();
            to = location(&browser.get(&path).await);
        } else {
            return to;
        }
    }
}

/// A code for this browser's person.
async fn code_for(browser: &mut Client, client_id: &str, redirect: &str, extra: &str) -> String {
    let back = run(browser, &authorize_url(client_id, redirect, extra)).await;
    assert!(back.starts_with(redirect), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], ORIGIN);
    q["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {back}"))
        .to_owned()
}

/// A client of the token endpoint (no cookies, no Origin: a server-side app).
fn backchannel(server: &Server) -> Client {
    let mut c = server.client();
    c.origin = None;
    c
}

async fn token(server: &Server, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
    let mut c = backchannel(server);
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        c.headers
            .push(("authorization".into(), format!("Basic {value}")));
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    c.send_raw(
        Method::POST,
        "/oauth2/token",
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
    )
    .await
}

/// A code exchange's form with `changes` (a value replaced, or the parameter left out).
fn changed<'a>(
    code: &'a str,
    changes: &[(&'static str, Option<&'a str>)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", WIKI_CB),
        ("code_verifier", VERIFIER),
    ];
    for (name, value) in changes {
        form.retain(|(n, _)| n != name);
        if let Some(v) = value {
            form.push((name, v));
        }
    }
    form
}

fn oauth_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(
        (reply.status, reply.body["error"].as_str()),
        (status, Some(code)),
        "{}",
        reply.text
    );
    assert!(reply.body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert!(reply.body.get("access_token").is_none() && reply.body.get("id_token").is_none());
}

async fn exchange(server: &Server, code: &str) -> Reply {
    token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WIKI_CB),
            ("code_verifier", VERIFIER),
        ],
        Some(("wiki", SECRET)),
    )
    .await
}

/// Verifies an ID token against the published keys and returns its claims.
async fn verified(server: &Server, id_token: &str, audience: &str) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(backchannel(server).get("/oauth2/jwks").await.ok()).unwrap();
    let header = decode_header(id_token).unwrap();
    let jwk: &Jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[ORIGIN]);
    // The test clock is not the system's.
    v.validate_exp = false;
    decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

async fn userinfo(server: &Server, access: &str) -> Reply {
    let mut c = backchannel(server);
    c.headers
        .push(("authorization".into(), format!("Bearer {access}")));
    c.get("/oauth2/userinfo").await
}

#[tokio::test]
async fn discovery_names_every_endpoint_and_keys_rotate() {
    for server in servers_with(&startup()).await {
        let mut c = backchannel(&server);
        let config = c.get("/.well-known/openid-configuration").await.ok();
        assert_eq!(config["issuer"], ORIGIN);
        assert_eq!(config["token_endpoint"], format!("{ORIGIN}/oauth2/token"));
        assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
        assert!(config["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:latch:acr:passkey")));
        let first = c.get("/oauth2/jwks").await.ok();
        let algs: Vec<&str> = first["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap())
            .collect();
        assert_eq!(algs.len(), 2);
        assert!(algs.contains(&"RS256") && algs.contains(&"ES256"));
        assert!(
            first["keys"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k.get("d").is_none()),
            "no private parts"
        );
        // 30 days on, a new key of each algorithm is published a day before it signs; the
        // old ones stay.
        server.clock.advance(30 * 86_400);
        let later = c.get("/oauth2/jwks").await.ok();
        assert_eq!(later["keys"].as_array().unwrap().len(), 4);
        // Well past the old keys' signing time and their publication after it, only the new
        // ones are left.
        server.clock.advance(10 * 86_400);
        let last = c.get("/oauth2/jwks").await.ok();
        let kids = |v: &Value| -> Vec<String> {
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(kids(&last).iter().all(|k| !kids(&first).contains(k)));
    }
}

#[tokio::test]
async fn a_passkey_sign_in_reaches_the_app_with_its_class_and_methods() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        // The first request asks for consent; the consent page needs the request's details.
        let to = location(&browser.get(&authorize_url("wiki", WIKI_CB, "")).await);
        let id = to
            .strip_prefix("/oauth2/consent?request=")
            .expect("consent first")
            .to_owned();
        let shown = browser
            .get(&format!("/api/v1/oauth2/requests/{id}"))
            .await
            .ok();
        assert_eq!(shown["client"]["name"], "Team wiki");
        assert_eq!(shown["scope"], json!(["openid", "profile"]));
        let next = browser
            .post(
                &format!("/api/v1/oauth2/requests/{id}/consent"),
                json!({ "allow": true }),
            )
            .await
            .ok();
        let code = query(next["redirect"].as_str().unwrap())["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let tokens = exchange(&server, &code).await;
        assert_eq!(tokens.headers[header::CACHE_CONTROL], "no-store");
        let tokens = tokens.ok();
        assert_eq!(tokens["token_type"], "Bearer");
        let claims = verified(&server, tokens["id_token"].as_str().unwrap(), "wiki").await;
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["acr"], "urn:latch:acr:passkey");
        assert_eq!(claims["amr"], json!(["swk", "user", "mfa"]));
        assert_eq!(claims["auth_time"], server.clock_now());
        assert_eq!(claims["preferred_username"], "ada");
        assert_eq!(
            claims["at_hash"],
            keys::half_hash(tokens["access_token"].as_str().unwrap())
        );
        // RS256 is the default algorithm.
        assert_eq!(
            decode_header(tokens["id_token"].as_str().unwrap())
                .unwrap()
                .alg,
            jsonwebtoken::Algorithm::RS256
        );
        let me = userinfo(&server, tokens["access_token"].as_str().unwrap())
            .await
            .ok();
        assert_eq!(me["sub"], claims["sub"]);
        assert_eq!(me["name"], "ada display");
        // Consent is remembered: the next request goes straight back with a code.
        let again = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        assert_ne!(again, code);
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_grant() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let code = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        let first = exchange(&server, &code).await.ok();
        let refresh = |t: &str| {
            [("grant_type", "refresh_token"), ("refresh_token", t)].map(|(a, b)| (a, b.to_owned()))
        };
        let form = refresh(first["refresh_token"].as_str().unwrap());
        let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let second = token(&server, &form, Some(("wiki", SECRET))).await.ok();
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        let claims = verified(&server, second["id_token"].as_str().unwrap(), "wiki").await;
        assert!(
            claims.get("nonce").is_none(),
            "no nonce after a refresh (Core §12.2)"
        );
        userinfo(&server, second["access_token"].as_str().unwrap())
            .await
            .ok();
        // The first refresh token again: reuse. The whole grant is revoked.
        oauth_error(
            &token(&server, &form, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        let newest = refresh(second["refresh_token"].as_str().unwrap());
        let newest: Vec<(&str, &str)> = newest.iter().map(|(a, b)| (*a, b.as_str())).collect();
        oauth_error(
            &token(&server, &newest, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        let revoked = userinfo(&server, second["access_token"].as_str().unwrap()).await;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
        assert!(revoked.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        // Another client's refresh token is not this one's.
        let fresh = exchange(&server, &code_for(&mut browser, "wiki", WIKI_CB, "").await)
            .await
            .ok();
        let other: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
            ("client_id", "post"),
            ("client_secret", SECRET),
        ];
        oauth_error(
            &token(&server, &other, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn each_bad_exchange_gets_its_oauth_error_and_no_token() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        // At the authorization endpoint: a redirect URI not registered is never redirected to.
        let wrong = browser
            .get(&authorize_url("wiki", "https://evil.example/cb", ""))
            .await;
        wrong.assert_error(StatusCode::BAD_REQUEST, "oauth_request_refused");
        assert!(wrong.headers.get(header::LOCATION).is_none());
        let unknown = browser.get(&authorize_url("nobody", WIKI_CB, "")).await;
        unknown.assert_error(StatusCode::BAD_REQUEST, "oauth_request_refused");
        // A public client without PKCE: the error goes back to the app.
        let no_pkce = "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=com.example.app%3A%2Fcb&scope=openid&state=s";
        let back = query(&location(&browser.get(no_pkce).await));
        assert_eq!(
            (back["error"].as_str(), back["state"].as_str()),
            (Some("invalid_request"), Some("s"))
        );
        let implicit =
            authorize_url("wiki", WIKI_CB, "").replace("response_type=code", "response_type=token");
        assert_eq!(
            query(&location(&browser.get(&implicit).await))["error"],
            "unsupported_response_type"
        );

        let code = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        let with = |changes: &[(&'static str, Option<&'static str>)]| changed(&code, changes);
        let bad = StatusCode::BAD_REQUEST;
        oauth_error(
            &token(
                &server,
                &with(&[("redirect_uri", Some("https://wiki.example/other"))]),
                Some(("wiki", SECRET)),
            )
            .await,
            bad,
            "invalid_grant",
        );
        oauth_error(
            &token(
                &server,
                &with(&[("code_verifier", None)]),
                Some(("wiki", SECRET)),
            )
            .await,
            bad,
            "invalid_grant",
        );
        let wrong_verifier = VERIFIER.replace('d', "e");
        let form = changed(&code, &[("code_verifier", Some(&wrong_verifier))]);
        oauth_error(
            &token(&server, &form, Some(("wiki", SECRET))).await,
            bad,
            "invalid_grant",
        );
        let unauthorized = StatusCode::UNAUTHORIZED;
        let wrong_secret = token(
            &server,
            &with(&[]),
            Some(("wiki", "not-the-secret-0123456789abcdef0123")),
        )
        .await;
        oauth_error(&wrong_secret, unauthorized, "invalid_client");
        assert!(wrong_secret.headers.contains_key(header::WWW_AUTHENTICATE));
        // A client registered for client_secret_basic may not post its secret instead.
        let mut posted = with(&[]);
        posted.extend([("client_id", "wiki"), ("client_secret", SECRET)]);
        oauth_error(
            &token(&server, &posted, None).await,
            unauthorized,
            "invalid_client",
        );
        oauth_error(
            &token(
                &server,
                &with(&[("grant_type", Some("password"))]),
                Some(("wiki", SECRET)),
            )
            .await,
            bad,
            "unsupported_grant_type",
        );
        // None of that spent the code: it still buys tokens once...
        let first = exchange(&server, &code).await.ok();
        // ...and a replay is refused and revokes what the first use got.
        oauth_error(&exchange(&server, &code).await, bad, "invalid_grant");
        assert_eq!(
            userinfo(&server, first["access_token"].as_str().unwrap())
                .await
                .status,
            unauthorized
        );
        // An expired code.
        let late = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        server.clock.advance(61);
        oauth_error(&exchange(&server, &late).await, bad, "invalid_grant");
        // A code is worth nothing to another client, even with its own good secret.
        let theirs = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", theirs.as_str()),
            ("redirect_uri", WIKI_CB),
            ("code_verifier", VERIFIER),
            ("client_id", "post"),
            ("client_secret", SECRET),
        ];
        oauth_error(&token(&server, &form, None).await, bad, "invalid_grant");
        // The form content type is required.
        let mut c = backchannel(&server);
        let json_body = c
            .send_raw(
                Method::POST,
                "/oauth2/token",
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await;
        oauth_error(&json_body, bad, "invalid_request");
    }
}

/// The signed-in person proves it is them again with `key` (what a step-up page does).
async fn reauth_with_key(browser: &mut Client, key: &mut crate::authenticator::Passkey) {
    let begun = browser
        .post("/api/v1/me/reauth/begin", json!({}))
        .await
        .ok();
    let assertion = key.get(&begun["publicKey"], ORIGIN, &Tweak::default());
    browser
        .post(
            "/api/v1/me/reauth/finish",
            json!({ "credential": assertion }),
        )
        .await
        .ok();
}

/// A person who signed in with a password and an authenticator-app code, with a key on the
/// account: its sign-in class, and the browser.
async fn password_and_code(server: &Server) -> (Client, crate::authenticator::Passkey) {
    let (mut setup, key) = server.signed_in("ada").await;
    set_password(&mut setup).await;
    let secret = enrol_totp(server, &mut setup).await;
    server.clock.advance(30);
    let (mut browser, body) = password_login(server, "ada", PASSWORD).await;
    assert_eq!(body["next"], "second_factor", "{body}");
    browser
        .post(
            "/api/v1/login/totp",
            json!({ "code": totp(&secret, server.clock_now()) }),
        )
        .await
        .ok();
    (browser, key)
}

#[tokio::test]
async fn acr_values_beyond_the_session_ask_for_a_key_then_say_how_it_went() {
    for server in servers_with(&startup()).await {
        let (mut browser, mut key) = password_and_code(&server).await;
        // As it stands: password and code.
        let code = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        let claims = verified(
            &server,
            exchange(&server, &code).await.ok()["id_token"]
                .as_str()
                .unwrap(),
            "wiki",
        )
        .await;
        assert_eq!(claims["acr"], "urn:latch:acr:password-otp");
        assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
        // Without interaction, a phishing-resistant request cannot be met.
        let quiet = authorize_url("wiki", WIKI_CB, "&acr_values=phr&prompt=none");
        let back = query(&location(&browser.get(&quiet).await));
        assert_eq!(back["error"], "interaction_required");
        // With it, the person is sent to step up...
        let url = authorize_url(
            "wiki",
            WIKI_CB,
            "&acr_values=urn%3Alatch%3Aacr%3Apassword-key",
        );
        let to = location(&browser.get(&url).await);
        let id = to
            .strip_prefix("/oauth2/step-up?request=")
            .expect("a step-up")
            .to_owned();
        let shown = browser
            .get(&format!("/api/v1/oauth2/requests/{id}"))
            .await
            .ok();
        assert_eq!(shown["stepUp"], "acr");
        // ...and continuing without it does not get a code.
        assert!(
            location(&browser.get(&format!("/oauth2/continue?request={id}")).await)
                .starts_with("/oauth2/step-up")
        );
        // A key re-authentication raises the class.
        reauth_with_key(&mut browser, &mut key).await;
        let back = run(&mut browser, &format!("/oauth2/continue?request={id}")).await;
        let code = query(&back)["code"].as_str().unwrap().to_owned();
        let claims = verified(
            &server,
            exchange(&server, &code).await.ok()["id_token"]
                .as_str()
                .unwrap(),
            "wiki",
        )
        .await;
        assert_eq!(claims["acr"], "urn:latch:acr:password-key");
        assert_eq!(claims["amr"], json!(["swk", "user", "pwd", "otp", "mfa"]));
        assert_eq!(claims["auth_time"], server.clock_now());
    }
}

#[tokio::test]
async fn an_account_without_a_key_cannot_step_up() {
    for server in servers_with(&startup()).await {
        let mut browser = server.client();
        browser
            .post(
                "/api/v1/signup/password",
                json!({ "username": "bo", "password": PASSWORD }),
            )
            .await
            .ok();
        let back = run(
            &mut browser,
            &authorize_url("wiki", WIKI_CB, "&acr_values=phr"),
        )
        .await;
        let q = query(&back);
        assert_eq!(q["error"], "unmet_authentication_requirements", "{back}");
        assert!(q.get("code").is_none());
    }
}

#[tokio::test]
async fn max_age_and_prompt_login_ask_for_a_fresh_sign_in() {
    for server in servers_with(&startup()).await {
        let (mut browser, mut key) = server.signed_in("ada").await;
        code_for(&mut browser, "wiki", WIKI_CB, "").await;
        server.clock.advance(120);
        for extra in ["&max_age=60", "&prompt=login"] {
            let to = location(&browser.get(&authorize_url("wiki", WIKI_CB, extra)).await);
            let id = to
                .strip_prefix("/oauth2/step-up?request=")
                .unwrap_or_else(|| panic!("{extra}: {to}"))
                .to_owned();
            reauth_with_key(&mut browser, &mut key).await;
            let back = run(&mut browser, &format!("/oauth2/continue?request={id}")).await;
            let code = query(&back)["code"].as_str().unwrap().to_owned();
            let claims = verified(
                &server,
                exchange(&server, &code).await.ok()["id_token"]
                    .as_str()
                    .unwrap(),
                "wiki",
            )
            .await;
            assert_eq!(claims["auth_time"], server.clock_now());
            server.clock.advance(120);
        }
        // Nobody signed in and prompt=none: login_required.
        let mut stranger = server.client();
        let back = query(&location(
            &stranger
                .get(&authorize_url("wiki", WIKI_CB, "&prompt=none"))
                .await,
        ));
        assert_eq!(back["error"], "login_required");
        // Nobody signed in: to the sign-in page, which comes back here.
        let to = location(&stranger.get(&authorize_url("wiki", WIKI_CB, "")).await);
        assert!(
            query(&to)["next"]
                .as_str()
                .unwrap()
                .starts_with("/oauth2/continue?request="),
            "{to}"
        );
        // Denied consent: access_denied.
        let (mut other, _) = server.signed_in("cy").await;
        let to = location(&other.get(&authorize_url("wiki", WIKI_CB, "")).await);
        let id = to
            .strip_prefix("/oauth2/consent?request=")
            .unwrap()
            .to_owned();
        let denied = other
            .post(
                &format!("/api/v1/oauth2/requests/{id}/consent"),
                json!({ "allow": false }),
            )
            .await
            .ok();
        assert_eq!(
            query(denied["redirect"].as_str().unwrap())["error"],
            "access_denied"
        );
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_its_grants() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let tokens = exchange(&server, &code_for(&mut browser, "wiki", WIKI_CB, "").await)
            .await
            .ok();
        let hint = tokens["id_token"].as_str().unwrap();
        // A post-logout URI that is not registered is refused.
        let bad = format!("/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F");
        browser
            .get(&bad)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "oauth_request_refused");
        browser.get("/api/v1/me").await.ok();
        let url = format!("/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fwiki.example%2Fbye&state=bye-1");
        let to = location(&browser.get(&url).await);
        assert_eq!(to, "https://wiki.example/bye?state=bye-1");
        browser
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ];
        oauth_error(
            &token(&server, &form, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        // A forged hint is refused.
        let last = if hint.ends_with('A') { 'B' } else { 'A' };
        let forged = format!(
            "/oauth2/logout?id_token_hint={}{last}",
            &hint[..hint.len() - 1]
        );
        server
            .client()
            .get(&forged)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "oauth_request_refused");
    }
}

#[tokio::test]
async fn admins_register_clients_and_private_key_jwt_works_once_per_assertion() {
    for server in servers_with(&startup()).await {
        let (admin_server, mut admin) = crate::policy_admin::with_admin(&server).await;
        let key = keys::generate(Alg::ES256).unwrap();
        let made = admin
            .post(
                "/api/v1/admin/oauth2/clients",
                json!({
                    "id": "svc", "name": "Service", "authMethod": "private_key_jwt",
                    "redirectUris": [WIKI_CB], "jwks": { "keys": [key.public_jwk] },
                    "idTokenSignedResponseAlg": "ES256",
                }),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert!(made.body.get("secret").is_none());
        let secretful = admin
            .post("/api/v1/admin/oauth2/clients", json!({ "name": "Posted", "authMethod": "client_secret_post", "redirectUris": [WIKI_CB] }))
            .await
            .ok();
        let secret = secretful["secret"].as_str().unwrap().to_owned();
        let posted_id = secretful["id"].as_str().unwrap().to_owned();
        admin
            .post("/api/v1/admin/oauth2/clients", json!({ "name": "Bad", "authMethod": "none", "redirectUris": ["http://evil.example/"] }))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_client_registration");
        let listed = admin.get("/api/v1/admin/oauth2/clients").await.ok();
        assert!(listed["clients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("secret").is_none()));
        let mut someone = admin_server.client();
        someone
            .get("/api/v1/admin/oauth2/clients")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");

        let code = code_for(&mut admin, "svc", WIKI_CB, "").await;
        let now = server.clock_now();
        let assertion = keys::sign(&key, "JWT", &json!({ "iss": "svc", "sub": "svc", "aud": format!("{ORIGIN}/oauth2/token"), "jti": "a-1", "exp": now + 60 })).unwrap();
        let form = |code: &str, assertion: &str| {
            vec![
                ("grant_type".to_owned(), "authorization_code".to_owned()),
                ("code".into(), code.to_owned()),
                ("redirect_uri".into(), WIKI_CB.into()),
                ("code_verifier".into(), VERIFIER.into()),
                (
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ),
                ("client_assertion".into(), assertion.to_owned()),
            ]
        };
        let instance = &admin_server;
        let send = move |f: Vec<(String, String)>| async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            token(instance, &f, None).await
        };
        let tokens = send(form(&code, &assertion)).await.ok();
        let claims = verified(&server, tokens["id_token"].as_str().unwrap(), "svc").await;
        assert_eq!(
            decode_header(tokens["id_token"].as_str().unwrap())
                .unwrap()
                .alg,
            jsonwebtoken::Algorithm::ES256
        );
        assert_eq!(claims["aud"], "svc");
        // The same assertion again (its jti) is refused, as is one signed by another key.
        let code = code_for(&mut admin, "svc", WIKI_CB, "").await;
        oauth_error(
            &send(form(&code, &assertion)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        );
        let stranger = keys::generate(Alg::ES256).unwrap();
        let forged = keys::sign(&stranger, "JWT", &json!({ "iss": "svc", "sub": "svc", "aud": format!("{ORIGIN}/oauth2/token"), "jti": "a-2", "exp": now + 60 })).unwrap();
        oauth_error(
            &send(form(&code, &forged)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        );

        // client_secret_post with the secret the registration answered.
        let code = code_for(&mut admin, &posted_id, WIKI_CB, "").await;
        let f = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", WIKI_CB),
            ("code_verifier", VERIFIER),
            ("client_id", posted_id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        token(&admin_server, &f, None).await.ok();
        // Removing a client ends its grants.
        let path = format!("/api/v1/admin/oauth2/clients/{posted_id}");
        assert_eq!(admin.delete(&path).await.status, StatusCode::NO_CONTENT);
        admin
            .delete(&path)
            .await
            .assert_error(StatusCode::NOT_FOUND, "client_not_found");
    }
}

#[tokio::test]
async fn a_public_client_uses_pkce_and_any_instance_serves_any_step() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let other = server.another_instance_with(&[], &startup()).await;
        // Begun here; consent and the exchange on the other instance.
        let to = location(&browser.get(&authorize_url("app", APP_CB, "")).await);
        let id = to
            .strip_prefix("/oauth2/consent?request=")
            .unwrap()
            .to_owned();
        let mut there = other.switch(&browser);
        let next = there
            .post(
                &format!("/api/v1/oauth2/requests/{id}/consent"),
                json!({ "allow": true }),
            )
            .await
            .ok();
        let back = next["redirect"].as_str().unwrap();
        assert!(back.starts_with(APP_CB));
        let code = query(back)["code"].as_str().unwrap().to_owned();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
            ("client_id", "app"),
        ];
        let tokens = token(&other, &form, None).await.ok();
        let claims = verified(&server, tokens["id_token"].as_str().unwrap(), "app").await;
        assert_eq!(
            claims["sub"],
            b64::encode(b64::decode(claims["sub"].as_str().unwrap()).unwrap())
        );
        // Without its verifier the public client gets nothing.
        let code = code_for(&mut browser, "app", APP_CB, "").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_CB),
            ("client_id", "app"),
        ];
        oauth_error(
            &token(&server, &form, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
    }
}

#[tokio::test]
async fn grants_end_with_their_session_unless_offline_access_was_granted() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let online = exchange(&server, &code_for(&mut browser, "wiki", WIKI_CB, "").await)
            .await
            .ok();
        let scope = "&scope=openid+offline_access";
        let url = authorize_url("wiki", WIKI_CB, "")
            .replace("scope=openid+profile", "scope=openid+offline_access");
        assert!(url.contains(scope.trim_start_matches('&')));
        let back = run(&mut browser, &url).await;
        let offline = exchange(&server, query(&back)["code"].as_str().unwrap())
            .await
            .ok();
        // Latch's own sign-out.
        assert_eq!(
            browser.post("/api/v1/logout", json!({})).await.status,
            StatusCode::NO_CONTENT
        );
        let form = |t: &Value| {
            vec![
                ("grant_type", "refresh_token".to_owned()),
                (
                    "refresh_token",
                    t["refresh_token"].as_str().unwrap().to_owned(),
                ),
            ]
        };
        let instance = &server;
        let send = move |f: Vec<(&'static str, String)>| async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(a, b)| (*a, b.as_str())).collect();
            token(instance, &f, Some(("wiki", SECRET))).await
        };
        oauth_error(
            &send(form(&online)).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        assert_eq!(
            userinfo(&server, online["access_token"].as_str().unwrap())
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        send(form(&offline)).await.ok();
    }
}

#[tokio::test]
async fn a_hint_of_someone_else_ends_no_session_and_max_age_zero_does_not_loop() {
    for server in servers_with(&startup()).await {
        let (mut ada, mut key) = server.signed_in("ada").await;
        let hint = exchange(&server, &code_for(&mut ada, "wiki", WIKI_CB, "").await)
            .await
            .ok()["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (mut bo, _) = server.signed_in("bo").await;
        let to = location(
            &bo.get(&format!("/oauth2/logout?id_token_hint={hint}"))
                .await,
        );
        assert_eq!(to, "/");
        bo.get("/api/v1/me").await.ok();
        ada.get("/api/v1/me").await.ok();
        // max_age=0: one step-up, then the code, even a second later.
        server.clock.advance(5);
        let to = location(&ada.get(&authorize_url("wiki", WIKI_CB, "&max_age=0")).await);
        let id = to
            .strip_prefix("/oauth2/step-up?request=")
            .unwrap_or_else(|| panic!("{to}"))
            .to_owned();
        server.clock.advance(2);
        reauth_with_key(&mut ada, &mut key).await;
        server.clock.advance(2);
        let back = run(&mut ada, &format!("/oauth2/continue?request={id}")).await;
        assert!(query(&back)["code"].is_string(), "{back}");
    }
}

#[tokio::test]
async fn apps_call_the_back_channel_from_any_origin_and_hints_name_who_is_expected() {
    for server in servers_with(&startup()).await {
        let mut spa = backchannel(&server);
        spa.headers
            .push(("origin".into(), "https://spa.example".into()));
        let preflight = spa
            .send_raw(Method::OPTIONS, "/oauth2/token", None, Vec::new())
            .await;
        assert_eq!(preflight.status, StatusCode::NO_CONTENT);
        assert_eq!(preflight.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(preflight.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .contains("Authorization"));
        let jwks = spa.get("/oauth2/jwks").await;
        assert_eq!(jwks.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        // Navigations get no CORS headers.
        let (mut ada, _) = server.signed_in("ada").await;
        let page = ada.get(&authorize_url("wiki", WIKI_CB, "")).await;
        assert!(page
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());

        let hint = exchange(&server, &code_for(&mut ada, "wiki", WIKI_CB, "").await)
            .await
            .ok()["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let with_hint =
            |h: &str| authorize_url("wiki", WIKI_CB, &format!("&prompt=none&id_token_hint={h}"));
        // The hinted person is signed in: a code.
        assert!(query(&location(&ada.get(&with_hint(&hint)).await))["code"].is_string());
        // Someone else is: login_required.
        let (mut bo, _) = server.signed_in("bo").await;
        code_for(&mut bo, "wiki", WIKI_CB, "").await;
        assert_eq!(
            query(&location(&bo.get(&with_hint(&hint)).await))["error"],
            "login_required"
        );
        // Not one of ours: invalid_request.
        let forged = format!("{}A", &hint[..hint.len() - 1]);
        let forged = if forged == hint {
            format!("{}B", &hint[..hint.len() - 1])
        } else {
            forged
        };
        assert_eq!(
            query(&location(&ada.get(&with_hint(&forged)).await))["error"],
            "invalid_request"
        );
    }
}

#[tokio::test]
async fn a_person_sent_with_a_bad_request_gets_a_page_not_json() {
    for server in servers_with(&startup()).await {
        let mut browser = server.client();
        browser
            .headers
            .push(("accept".into(), "text/html,application/xhtml+xml".into()));
        let reply = browser
            .get(&authorize_url("wiki", "https://evil.example/cb", ""))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            reply.text.contains("is not a redirect URI of"),
            "{}",
            reply.text
        );
        assert!(reply.headers.get(header::LOCATION).is_none());
        let gone = browser.get("/oauth2/continue?request=nope").await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert!(gone.text.contains("start again"), "{}", gone.text);
    }
}

#[tokio::test]
async fn a_refresh_may_ask_for_less_than_the_grant_but_not_more() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let first = exchange(&server, &code_for(&mut browser, "wiki", WIKI_CB, "").await)
            .await
            .ok();
        assert_eq!(first["scope"], "openid profile");
        let refresh = first["refresh_token"].as_str().unwrap();
        let wider = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid profile email"),
        ];
        oauth_error(
            &token(&server, &wider, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        );
        let less = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid"),
        ];
        let narrow = token(&server, &less, Some(("wiki", SECRET))).await.ok();
        assert_eq!(narrow["scope"], "openid");
        let claims = verified(&server, narrow["id_token"].as_str().unwrap(), "wiki").await;
        assert!(claims.get("name").is_none());
        let me = userinfo(&server, narrow["access_token"].as_str().unwrap())
            .await
            .ok();
        assert!(me.get("name").is_none(), "{me}");
        assert_eq!(me["sub"], claims["sub"]);
        // Left out, the scope is the whole grant again.
        let again = [
            ("grant_type", "refresh_token"),
            ("refresh_token", narrow["refresh_token"].as_str().unwrap()),
        ];
        assert_eq!(
            token(&server, &again, Some(("wiki", SECRET))).await.ok()["scope"],
            "openid profile"
        );
    }
}

#[tokio::test]
async fn a_removed_key_no_longer_counts_for_the_session_that_proved_itself_with_it() {
    for server in servers_with(&startup()).await {
        let (mut browser, mut key) = password_and_code(&server).await;
        reauth_with_key(&mut browser, &mut key).await;
        let code = code_for(&mut browser, "wiki", WIKI_CB, "&acr_values=phr").await;
        let claims = verified(
            &server,
            exchange(&server, &code).await.ok()["id_token"]
                .as_str()
                .unwrap(),
            "wiki",
        )
        .await;
        assert_eq!(claims["acr"], "urn:latch:acr:password-key");
        let path = format!("/api/v1/me/credentials/{}", b64::encode(&key.id));
        assert_eq!(browser.delete(&path).await.status, StatusCode::NO_CONTENT);
        let code = code_for(&mut browser, "wiki", WIKI_CB, "").await;
        let claims = verified(
            &server,
            exchange(&server, &code).await.ok()["id_token"]
                .as_str()
                .unwrap(),
            "wiki",
        )
        .await;
        assert_eq!(claims["acr"], "urn:latch:acr:password-otp");
        assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    }
}

async fn revoke(server: &Server, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
    let mut c = backchannel(server);
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        c.headers
            .push(("authorization".into(), format!("Basic {value}")));
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    c.send_raw(
        Method::POST,
        "/oauth2/revoke",
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
    )
    .await
}

#[tokio::test]
async fn revocation_ends_a_grant_of_the_calling_client_only() {
    for server in servers_with(&startup()).await {
        let (mut browser, _key) = server.signed_in("ada").await;
        let tokens = exchange(&server, &code_for(&mut browser, "wiki", WIKI_CB, "").await)
            .await
            .ok();
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let access = tokens["access_token"].as_str().unwrap();
        // Another client cannot revoke it (answered 200, as for an unknown token: RFC 7009 §2.2).
        let other = [
            ("token", refresh),
            ("client_id", "post"),
            ("client_secret", SECRET),
        ];
        assert_eq!(revoke(&server, &other, None).await.status, StatusCode::OK);
        userinfo(&server, access).await.ok();
        // A wrong secret is refused before anything is looked at.
        let wrong = revoke(
            &server,
            &[("token", refresh)],
            Some(("wiki", "not-the-secret-0123456789abcdef0123")),
        )
        .await;
        oauth_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
        userinfo(&server, access).await.ok();
        // Its own client revokes the whole grant.
        assert_eq!(
            revoke(&server, &[("token", refresh)], Some(("wiki", SECRET)))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            userinfo(&server, access).await.status,
            StatusCode::UNAUTHORIZED
        );
        let again = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        oauth_error(
            &token(&server, &again, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        assert_eq!(
            revoke(
                &server,
                &[("token", "never-issued")],
                Some(("wiki", SECRET))
            )
            .await
            .status,
            StatusCode::OK
        );
        // Two ways of authenticating at once: invalid_request.
        let both = [
            ("token", refresh),
            ("client_id", "wiki"),
            ("client_secret", SECRET),
        ];
        oauth_error(
            &revoke(&server, &both, Some(("wiki", SECRET))).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}
