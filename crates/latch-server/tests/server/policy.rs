//! The policy's rules in the ceremonies: each test breaks exactly one rule.

use std::sync::Arc;

use axum::http::StatusCode;
use latch_server::store::policy::{put, Stored};
use latch_server::{Policy, Startup};
use latch_webauthn::mds::Metadata;
use latch_webauthn::UserVerification;
use serde_json::{json, Value};

use crate::authenticator::{Passkey, Tweak, AT, BE, UP, UV};
use crate::client::{servers, servers_with, Client, Server, ORIGIN};

pub const OTHER_AAGUID: &str = "ee882879-721c-4913-9775-3dfcce97072a";
const OTHER: [u8; 16] = [
    0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a,
];
const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

/// Stores `policy` as an administrator would.
pub async fn set_policy(server: &Server, policy: Policy) {
    let mut conn = server.store.conn().await.unwrap();
    let stored = Stored {
        policy,
        source: "admin".into(),
        updated_at: server.clock_now(),
        updated_by: None,
    };
    put(&mut conn, &stored).await.unwrap();
}

/// A sign-up whose authenticator answers with this tweak; returns the finish reply.
async fn signup_with(client: &mut Client, synced: bool, tweak: &Tweak) -> crate::client::Reply {
    let options = client.signup_begin("ada").await;
    let (_, response) = Passkey::create(&options, ORIGIN, synced, tweak);
    client
        .post("/api/v1/signup/finish", json!({ "credential": response }))
        .await
}

/// The finish is refused with `code` and writes nothing.
async fn refused(server: &Server, synced: bool, tweak: &Tweak, code: &str) {
    let mut client = server.client();
    let options = client.signup_begin("ada").await;
    let (_, response) = Passkey::create(&options, ORIGIN, synced, tweak);
    let before = server.snapshot().await;
    client
        .post("/api/v1/signup/finish", json!({ "credential": response }))
        .await
        .assert_error(StatusCode::BAD_REQUEST, code);
    assert_eq!(server.snapshot().await, before);
}

#[tokio::test]
async fn options_carry_the_configured_uv_and_attestation() {
    for server in servers().await {
        let mut client = server.client();
        let options = client.signup_begin("ada").await;
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(options["attestation"], "none");
        set_policy(
            &server,
            Policy {
                passwordless_uv: UserVerification::Preferred,
                attestation: latch_server::policy::Conveyance::Direct,
                ..Policy::default()
            },
        )
        .await;
        let options = client.signup_begin("ada").await;
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "preferred"
        );
        assert_eq!(options["attestation"], "direct");
        assert_eq!(
            client.login_begin(None).await["userVerification"],
            "preferred"
        );
    }
}

#[tokio::test]
async fn uv_required_refuses_a_response_without_uv() {
    for server in servers().await {
        let tweak = Tweak {
            flags: Some(UP | AT),
            ..Tweak::default()
        };
        refused(&server, false, &tweak, "user_verification_required").await;
        // And at sign-in.
        let mut key = server.client().signup("ada", false).await;
        let mut client = server.client();
        let options = client.login_begin(None).await;
        let response = key.get(
            &options,
            ORIGIN,
            &Tweak {
                flags: Some(UP),
                ..Tweak::default()
            },
        );
        client
            .login_finish(&response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "user_verification_required");
    }
}

#[tokio::test]
async fn a_denied_aaguid_is_refused() {
    for server in servers().await {
        set_policy(
            &server,
            Policy {
                aaguid_deny: vec![YUBIKEY.into()],
                ..Policy::default()
            },
        )
        .await;
        refused(&server, false, &Tweak::default(), "aaguid_denied").await;
        let other = Tweak {
            aaguid: Some(OTHER),
            ..Tweak::default()
        };
        signup_with(&mut server.client(), false, &other).await.ok();
    }
}

#[tokio::test]
async fn an_aaguid_not_on_the_allow_list_is_refused() {
    for server in servers().await {
        set_policy(
            &server,
            Policy {
                aaguid_allow: Some(vec![OTHER_AAGUID.into()]),
                ..Policy::default()
            },
        )
        .await;
        refused(&server, false, &Tweak::default(), "aaguid_not_allowed").await;
        let allowed = Tweak {
            aaguid: Some(OTHER),
            ..Tweak::default()
        };
        signup_with(&mut server.client(), false, &allowed)
            .await
            .ok();
    }
}

#[tokio::test]
async fn synced_passkeys_can_be_refused() {
    for server in servers().await {
        set_policy(
            &server,
            Policy {
                synced_passkeys: false,
                ..Policy::default()
            },
        )
        .await;
        // BE and BS set: a synced passkey.
        refused(
            &server,
            true,
            &Tweak::default(),
            "backup_eligible_not_allowed",
        )
        .await;
        // BE alone (eligible, not yet backed up) is a synced passkey too.
        let eligible = Tweak {
            flags: Some(UP | UV | AT | BE),
            ..Tweak::default()
        };
        refused(&server, false, &eligible, "backup_eligible_not_allowed").await;
        // A device-bound key is fine.
        signup_with(&mut server.client(), false, &Tweak::default())
            .await
            .ok();
    }
}

#[tokio::test]
async fn no_more_than_the_maximum_credentials() {
    for server in servers().await {
        set_policy(
            &server,
            Policy {
                max_credentials: 3,
                ..Policy::default()
            },
        )
        .await;
        let (mut client, _) = server.signed_in("ada").await;
        client.add_credential(false, None).await.1.ok();
        // Two add ceremonies begun with two credentials: the first finish takes the last place.
        let mut other_tab = client.clone();
        let first = client
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let second = other_tab
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let (_, response) = Passkey::create(&first, ORIGIN, false, &Tweak::default());
        client
            .post(
                "/api/v1/me/credentials/finish",
                json!({ "credential": response }),
            )
            .await
            .ok();
        let (_, response) = Passkey::create(&second, ORIGIN, false, &Tweak::default());
        let before = server.snapshot().await;
        other_tab
            .post(
                "/api/v1/me/credentials/finish",
                json!({ "credential": response }),
            )
            .await
            .assert_error(StatusCode::CONFLICT, "too_many_credentials");
        assert_eq!(server.snapshot().await, before);
        assert_eq!(before.count("credentials"), 3);
        // And the next begin is refused at once.
        client
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .assert_error(StatusCode::CONFLICT, "too_many_credentials");
    }
}

async fn password_login(server: &Server, username: &str) -> (Client, Value) {
    let mut client = server.client();
    let body = client
        .post(
            "/api/v1/login/password",
            json!({ "username": username, "password": "correct horse battery staple" }),
        )
        .await
        .ok();
    (client, body)
}

#[tokio::test]
async fn keys_count_as_a_second_factor_from_the_minimum_on() {
    for server in servers().await {
        set_policy(
            &server,
            Policy {
                min_security_keys: 2,
                ..Policy::default()
            },
        )
        .await;
        let (mut client, _) = server.signed_in("ada").await;
        client
            .send(
                axum::http::Method::PUT,
                "/api/v1/me/password",
                Some(&json!({ "password": "correct horse battery staple" })),
            )
            .await;
        // One key of the two needed: the key is not offered, and a second-factor
        // ceremony for it is refused; with nothing else enrolled the password suffices.
        let (_, body) = password_login(&server, "ada").await;
        assert_eq!(body["user"]["username"], "ada", "{body}");
        assert!(body.get("next").is_none());
        // Two keys: the key is the second factor.
        client.add_credential(false, None).await.1.ok();
        let (mut pending, body) = password_login(&server, "ada").await;
        assert_eq!(
            body,
            json!({ "next": "second_factor", "methods": ["webauthn"] })
        );
        let options = pending
            .post("/api/v1/login/second-factor/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        assert_eq!(options["userVerification"], "discouraged");
        // Back to a minimum of three: the waiting sign-in cannot use a key.
        set_policy(
            &server,
            Policy {
                min_security_keys: 3,
                ..Policy::default()
            },
        )
        .await;
        pending
            .post("/api/v1/login/second-factor/begin", json!({}))
            .await
            .assert_error(StatusCode::CONFLICT, "security_keys_below_minimum");
    }
}

/// Metadata naming two authenticators, of which only the YubiKey is certified.
pub fn metadata() -> Arc<Metadata> {
    let payload = json!({
        "no": 7, "nextUpdate": "2030-01-01",
        "entries": [
            { "aaguid": YUBIKEY, "statusReports": [{ "status": "FIDO_CERTIFIED_L1" }],
              "metadataStatement": { "description": "YubiKey 5 Series", "attestationRootCertificates": [] } },
            { "aaguid": OTHER_AAGUID, "statusReports": [{ "status": "NOT_FIDO_CERTIFIED" }],
              "metadataStatement": { "description": "Uncertified Key", "attestationRootCertificates": [] } },
        ]
    });
    Arc::new(Metadata::from_payload_json(payload.to_string().as_bytes()).unwrap())
}

#[tokio::test]
async fn certified_only_refuses_uncertified_authenticators_and_names_them() {
    let startup = Startup {
        policy: Some((
            Policy {
                certified_only: true,
                ..Policy::default()
            },
            "policy.toml".into(),
        )),
        metadata: Some(metadata()),
        oidc_clients: None,
    };
    for server in servers_with(&startup).await {
        let uncertified = Tweak {
            aaguid: Some(OTHER),
            ..Tweak::default()
        };
        refused(&server, false, &uncertified, "authenticator_not_certified").await;
        let mut client = server.client();
        let reply = signup_with(&mut client, false, &Tweak::default())
            .await
            .ok();
        assert_eq!(reply["credential"]["authenticatorName"], "YubiKey 5 Series");
        assert_eq!(reply["credential"]["name"], "YubiKey 5 Series");
        let list = client.get("/api/v1/me/credentials").await.ok();
        assert_eq!(list[0]["authenticatorName"], "YubiKey 5 Series");
        assert_eq!(list[0]["aaguid"], YUBIKEY);
    }
}
