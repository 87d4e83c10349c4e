//! The admin API (`/api/v1/admin/policy`, `/api/v1/admin/audit`) and the policy file at start.

use axum::http::{Method, StatusCode};
use latch_server::{Policy, Startup};
use serde_json::{json, Value};

use crate::client::{servers, Client, Server};

/// `root` signed up, then an instance started with `--admin root`; returns (that instance,
/// root's client on it).
pub async fn with_admin(server: &Server) -> (Server, Client) {
    let (client, _) = server.signed_in("root").await;
    let admin_instance = server
        .another_instance_with(&["Root"], &Startup::default())
        .await;
    let client = admin_instance.switch(&client);
    (admin_instance, client)
}

async fn put_policy(client: &mut Client, body: &Value) -> crate::client::Reply {
    client
        .send(Method::PUT, "/api/v1/admin/policy", Some(body))
        .await
}

#[tokio::test]
async fn non_admins_are_refused() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        client
            .get("/api/v1/admin/policy")
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
        client
            .get("/api/v1/admin/audit")
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
        let before = server.snapshot().await;
        put_policy(&mut client, &json!({ "maxCredentials": 6 }))
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
        assert_eq!(server.snapshot().await, before);
        server
            .client()
            .get("/api/v1/admin/policy")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");
    }
}

#[tokio::test]
async fn an_admin_replaces_the_policy_and_every_instance_enforces_it() {
    for server in servers().await {
        let (admin_server, mut admin) = with_admin(&server).await;
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(view["source"], "default");
        assert_eq!(view["policy"], Policy::default().to_json());

        let reply = put_policy(
            &mut admin,
            &json!({ "maxCredentials": 6, "minSecurityKeys": 2, "attestation": "direct" }),
        )
        .await
        .ok();
        assert_eq!(reply["policy"]["maxCredentials"], 6);
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(view["source"], "admin");
        assert_eq!(view["updatedBy"], "root");
        assert_eq!(view["policy"]["minSecurityKeys"], 2);
        assert_eq!(view["policy"]["passwordlessUv"], "required");

        let audit = admin.get("/api/v1/admin/audit").await.ok();
        let event = &audit["events"][0];
        assert_eq!(event["kind"], "policy_changed");
        assert_eq!(event["user"]["username"], "root");
        assert_eq!(
            event["detail"]["changes"],
            json!({
                "attestation": { "from": "none", "to": "direct" },
                "minSecurityKeys": { "from": 1, "to": 2 },
                "maxCredentials": { "from": 10, "to": 6 },
            })
        );
        // The first instance (not restarted) reads the same stored policy.
        let options = server.client().signup_begin("bob").await;
        assert_eq!(options["attestation"], "direct");
        drop(admin_server);
    }
}

#[tokio::test]
async fn an_invalid_policy_is_refused_and_nothing_is_stored() {
    for server in servers().await {
        let (_admin_server, mut admin) = with_admin(&server).await;
        let before = server.snapshot().await;
        for body in [
            json!({ "maxCredential": 6 }),
            json!({ "passwordlessUv": "always" }),
            json!({ "aaguidDeny": ["not-an-aaguid"] }),
            json!({ "aaguidAllow": [] }),
            json!({ "minSecurityKeys": 3, "maxCredentials": 2 }),
            json!({ "certifiedOnly": true }),
        ] {
            let reply = put_policy(&mut admin, &body).await;
            reply.assert_error(StatusCode::BAD_REQUEST, "invalid_policy");
        }
        for body in [json!([]), json!("maxCredentials")] {
            let reply = put_policy(&mut admin, &body).await;
            reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
        }
        assert_eq!(server.snapshot().await, before);
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(view["source"], "default");
        // From another site (a form posted there, say) nothing is even looked at.
        admin.origin = Some("https://evil.example".into());
        put_policy(&mut admin, &json!({ "maxCredentials": 6 }))
            .await
            .assert_error(StatusCode::FORBIDDEN, "origin_forbidden");
    }
}

#[tokio::test]
async fn the_audit_log_pages_through_every_account() {
    for server in servers().await {
        server.signed_in("ada").await;
        server.signed_in("bob").await;
        let (_admin_server, mut admin) = with_admin(&server).await;
        let page = admin.get("/api/v1/admin/audit?limit=3").await.ok();
        let events = page["events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["kind"], "admin_granted");
        assert_eq!(events[0]["user"]["username"], "root");
        assert_eq!(events[1]["user"]["username"], "root");
        assert_eq!(events[2]["user"]["username"], "bob");
        let next = page["next"].as_i64().unwrap();
        let rest = admin
            .get(&format!("/api/v1/admin/audit?before={next}&limit=2"))
            .await
            .ok();
        assert_eq!(rest["events"][0]["user"]["username"], "ada");
        assert_eq!(rest["events"].as_array().unwrap().len(), 1);
        assert_eq!(rest["next"], Value::Null);
        admin
            .get("/api/v1/admin/audit?limit=0")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
        admin
            .get("/api/v1/admin/audit?page=2")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test]
async fn a_policy_file_applies_once_and_an_admin_change_outlives_a_restart() {
    for server in servers().await {
        let file = |max: u32| Startup {
            policy: Some((
                Policy {
                    max_credentials: max,
                    ..Policy::default()
                },
                "policy.toml".into(),
            )),
            metadata: None,
            oidc_clients: None,
        };
        let (_, admin) = with_admin(&server).await;
        let started = server.another_instance_with(&["root"], &file(6)).await;
        let mut admin = started.switch(&admin);
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(
            (
                view["source"].clone(),
                view["policy"]["maxCredentials"].clone()
            ),
            (json!("file"), json!(6))
        );
        let audit = admin.get("/api/v1/admin/audit").await.ok();
        assert_eq!(audit["events"][0]["kind"], "policy_changed");
        assert_eq!(audit["events"][0]["user"], Value::Null);
        assert_eq!(audit["events"][0]["detail"]["source"], "file");

        put_policy(&mut admin, &json!({ "maxCredentials": 4 }))
            .await
            .ok();
        // The same file again: the administrator's value stays.
        let restarted = server.another_instance_with(&["root"], &file(6)).await;
        let mut admin = restarted.switch(&admin);
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(view["policy"]["maxCredentials"], 4);
        // An edited file wins again.
        let edited = server.another_instance_with(&["root"], &file(8)).await;
        let mut admin = edited.switch(&admin);
        let view = admin.get("/api/v1/admin/policy").await.ok();
        assert_eq!(view["policy"]["maxCredentials"], 8);
    }
}

#[tokio::test]
async fn a_policy_change_needs_a_recent_sign_in() {
    for server in servers().await {
        let (admin_server, mut admin) = with_admin(&server).await;
        admin_server.clock.advance(301);
        let before = admin_server.snapshot().await;
        put_policy(&mut admin, &json!({ "maxCredentials": 6 }))
            .await
            .assert_error(StatusCode::FORBIDDEN, "reauthentication_required");
        assert_eq!(admin_server.snapshot().await, before);
    }
}

/// Passkey sign-in options may use a policy read up to a second ago (they are the hottest
/// call); every other call, and every finish, reads the stored one.
#[tokio::test]
async fn sign_in_options_follow_a_policy_change_within_a_second() {
    for server in servers().await {
        let (_admin_server, mut admin) = with_admin(&server).await;
        let read = std::time::Instant::now();
        let before = server.client().login_begin(None).await;
        assert_eq!(before["userVerification"], "required");
        put_policy(&mut admin, &json!({ "passwordlessUv": "preferred" }))
            .await
            .ok();
        // Within the second, this instance may still offer what it read...
        let soon = server.client().login_begin(None).await;
        if read.elapsed() < std::time::Duration::from_millis(900) {
            assert_eq!(soon["userVerification"], "required");
        }
        // ...after it, the stored policy.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let after = server.client().login_begin(None).await;
        assert_eq!(after["userVerification"], "preferred");
        // A call that always reads the row sees it at once.
        let options = server.client().signup_begin("bob").await;
        let uv = &options["authenticatorSelection"]["userVerification"];
        assert_eq!(uv, "preferred");
    }
}
