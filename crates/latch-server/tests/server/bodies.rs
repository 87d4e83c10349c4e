//! Every state-changing call refuses a body it cannot take, before it looks at anything, and
//! writes nothing: malformed JSON, another content type, a shape it does not know, and a
//! body over the size limit.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{servers, Client, Reply, Server};
use crate::password::{password_login, set_password, PASSWORD};
use crate::policy_admin::with_admin;

/// Every (method, path) of the JSON API that changes state, from the OpenAPI document (which
/// a test holds to the router), with `{id}` filled in. (The OAuth endpoints take the forms
/// their RFCs name: `oidc.rs` tests those.)
async fn state_changing_routes(client: &mut Client) -> Vec<(Method, String)> {
    let doc = client.get("/api/openapi.json").await.ok();
    let mut routes = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
                continue;
            }
            routes.push((method, path.replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA")));
        }
    }
    assert!(routes.len() >= 25, "{routes:?}");
    routes
}

fn assert_refused(reply: &Reply, status: StatusCode, codes: &[&str], what: &str) {
    let code = reply.body["error"]["code"].as_str().unwrap_or_default();
    assert!(
        reply.status == status && codes.contains(&code),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        reply.body
    );
}

/// An administrator signed in just now (so no route stops at re-authentication), and a
/// password sign-in waiting for its second factor (for the routes that need one).
async fn clients(server: &Server) -> (Client, Client) {
    let (_, mut admin) = with_admin(server).await;
    set_password(&mut admin).await;
    let (pending, body) = password_login(server, "root", PASSWORD).await;
    assert_eq!(body["next"], "second_factor");
    (admin, pending)
}

fn client_for<'c>(path: &str, admin: &'c mut Client, pending: &'c mut Client) -> &'c mut Client {
    let needs_pending = ["/login/second-factor", "/login/totp", "/login/recovery"]
        .iter()
        .any(|p| path.starts_with(&format!("/api/v1{p}")));
    if needs_pending {
        pending
    } else {
        admin
    }
}

#[tokio::test]
async fn malformed_json_is_refused_by_every_route() {
    for server in servers().await {
        let (mut admin, mut pending) = clients(&server).await;
        let routes = state_changing_routes(&mut admin).await;
        let before = server.snapshot().await;
        for (method, path) in &routes {
            let client = client_for(path, &mut admin, &mut pending);
            for bad in [
                &b"{"[..],
                b"{\"username\": ",
                b"{\"name\": \"x\",}",
                b"not json",
                b"{} {}",
                b"\xff\xfe",
            ] {
                let reply = client
                    .send_raw(method.clone(), path, Some("application/json"), bad.to_vec())
                    .await;
                let what = format!("{method} {path} {:?}", String::from_utf8_lossy(bad));
                assert_refused(&reply, StatusCode::BAD_REQUEST, &["invalid_body"], &what);
            }
        }
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn other_content_types_and_oversized_bodies_are_refused() {
    for server in servers().await {
        let (mut admin, mut pending) = clients(&server).await;
        let routes = state_changing_routes(&mut admin).await;
        let before = server.snapshot().await;
        let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
        for (method, path) in &routes {
            let client = client_for(path, &mut admin, &mut pending);
            // What a cross-site form or `fetch` without preflight can send.
            for content_type in [
                Some("text/plain"),
                Some("application/x-www-form-urlencoded"),
                Some("multipart/form-data; boundary=x"),
                None,
            ] {
                let reply = client
                    .send_raw(method.clone(), path, content_type, b"{}".to_vec())
                    .await;
                let what = format!("{method} {path} {content_type:?}");
                assert_refused(
                    &reply,
                    StatusCode::BAD_REQUEST,
                    &["invalid_content_type"],
                    &what,
                );
            }
            let reply = client
                .send_raw(
                    method.clone(),
                    path,
                    Some("application/json"),
                    huge.clone().into_bytes(),
                )
                .await;
            let what = format!("{method} {path} (70 KiB)");
            assert_refused(
                &reply,
                StatusCode::PAYLOAD_TOO_LARGE,
                &["body_too_large"],
                &what,
            );
        }
        assert_eq!(server.snapshot().await, before);
    }
}

#[tokio::test]
async fn shapes_a_route_does_not_take_are_refused() {
    for server in servers().await {
        let (mut admin, mut pending) = clients(&server).await;
        let routes = state_changing_routes(&mut admin).await;
        let before = server.snapshot().await;
        for (method, path) in &routes {
            let client = client_for(path, &mut admin, &mut pending);
            for bad in [
                json!({ "bogus": 1 }),
                json!([]),
                json!("text"),
                json!(null),
                json!(42),
            ] {
                let reply = client.send(method.clone(), path, Some(&bad)).await;
                let what = format!("{method} {path} {bad}");
                // The policy is a map of its own keys, and says which one it does not know.
                assert_refused(
                    &reply,
                    StatusCode::BAD_REQUEST,
                    &["invalid_body", "invalid_policy"],
                    &what,
                );
            }
        }
        // Wrong types for known members, too.
        for (path, bad) in [
            ("/api/v1/signup/begin", json!({ "username": 7 })),
            ("/api/v1/login/begin", json!({ "username": ["ada"] })),
            ("/api/v1/login/password", json!({ "username": "root" })),
            ("/api/v1/login/finish", json!({ "credential": "abc" })),
        ] {
            let reply = admin.post(path, bad.clone()).await;
            assert_refused(
                &reply,
                StatusCode::BAD_REQUEST,
                &["invalid_body"],
                &format!("{path} {bad}"),
            );
        }
        assert_eq!(server.snapshot().await, before);
        // Still signed in, and still waiting for the second factor: nothing was used up.
        admin.get("/api/v1/me").await.ok();
        let reply = pending
            .post("/api/v1/login/second-factor/begin", Value::Null)
            .await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, &["invalid_body"], "null");
    }
}

#[tokio::test]
async fn calls_without_a_body_take_none_or_an_empty_object() {
    for server in servers().await {
        let (mut admin, _) = clients(&server).await;
        // A discoverable sign-in needs no body at all.
        let reply = admin
            .send_raw(Method::POST, "/api/v1/login/begin", None, Vec::new())
            .await;
        assert!(reply.ok()["publicKey"]["challenge"].is_string());
        let reply = admin.post("/api/v1/me/credentials/begin", json!({})).await;
        assert!(reply.ok()["publicKey"]["challenge"].is_string());
        let reply = admin
            .send_raw(
                Method::POST,
                "/api/v1/me/credentials/begin",
                None,
                Vec::new(),
            )
            .await;
        assert!(reply.ok()["publicKey"]["challenge"].is_string());
        // A call that needs a body says so when it gets none.
        let reply = admin
            .send_raw(Method::POST, "/api/v1/signup/begin", None, Vec::new())
            .await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, &["invalid_body"], "empty");
    }
}
