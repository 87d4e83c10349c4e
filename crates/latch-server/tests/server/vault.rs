//! The passkey-sync store through the API, on both backends: what it refuses (writes without a
//! member device's signature, entries that do not follow the chain, items that do not match
//! their headers, stale epochs) and what it does (compare-and-swap, a paging change feed).

use axum::http::{Method, StatusCode};
use latch_vault::content::{Content, Stamp, Stamped};
use latch_vault::epoch::{self, EpochKey};
use latch_vault::identity::DeviceSecret;
use latch_vault::item::seal_item;
use latch_vault::ledger::{Escrow, Ledger, Op, Via};
use latch_vault::recovery::RecoveryKey;
use latch_vault::request::sign_request;
use latch_vault::{ItemId, VaultId};
use latch_webauthn::b64;
use rand_core::OsRng;
use serde_json::{json, Value};

use crate::client::{servers, Client, Reply, Server};

/// A device's request, signed as `latch vault` signs it, at the server's time `at`.
pub async fn signed(
    client: &mut Client,
    device: &DeviceSecret,
    at: i64,
    method: Method,
    path: &str,
    body: &Value,
) -> Reply {
    let bytes = body.to_string().into_bytes();
    let sig = sign_request(device, method.as_str(), path, at, &bytes);
    client.headers = vec![
        ("Latch-Device".into(), device.id().to_string()),
        ("Latch-Timestamp".into(), at.to_string()),
        ("Latch-Signature".into(), b64::encode(sig)),
    ];
    let reply = client
        .send_raw(method, path, Some("application/json"), bytes)
        .await;
    client.headers.clear();
    reply
}

/// A signed-in account's new vault, from one device.
pub struct Made {
    pub device: DeviceSecret,
    pub ledger: Ledger,
    pub key: EpochKey,
    pub recovery: RecoveryKey,
}

pub async fn make_vault(server: &Server, client: &mut Client) -> Made {
    let (made, reply) = try_make_vault(server, client).await;
    reply.ok();
    made
}

pub async fn try_make_vault(server: &Server, client: &mut Client) -> (Made, Reply) {
    let device = DeviceSecret::generate(&mut OsRng).unwrap();
    let recovery = RecoveryKey::generate(&mut OsRng);
    let (ledger, genesis) = Ledger::create(
        VaultId::random(&mut OsRng),
        &device,
        recovery.signing_key().unwrap().public(),
        Escrow::new(
            [7; 16],
            vec!["http://g1".into(), "http://g2".into(), "http://g3".into()],
            2,
        )
        .unwrap(),
        0,
    )
    .unwrap();
    let key = EpochKey::generate(0, &mut OsRng);
    let vault = ledger.vault();
    let body = json!({
        "genesis": b64::encode(genesis.bytes()),
        "share": b64::encode(epoch::share(vault, &key, &recovery, &device.public(), &device, &mut OsRng).unwrap()),
        "wrap": b64::encode(recovery.wrap(vault, &key, &mut OsRng).unwrap()),
    });
    let reply = signed(
        client,
        &device,
        server.clock_now(),
        Method::POST,
        "/api/v1/vault",
        &body,
    )
    .await;
    (
        Made {
            device,
            ledger,
            key,
            recovery,
        },
        reply,
    )
}

pub fn passkey(n: usize, device: &DeviceSecret) -> Content {
    let at = Stamp {
        ms: 1,
        device: device.id(),
    };
    Content::Passkey(Box::new(latch_vault::content::Passkey {
        credential_id: format!("cred{n}").into_bytes(),
        rp_id: "example.com".into(),
        user_handle: vec![1; 16],
        key: vec![0x30; 138],
        hmac_secret: None,
        created: 0,
        user_name: Stamped {
            value: format!("user{n}"),
            at,
        },
        user_display_name: Stamped {
            value: format!("User {n}"),
            at,
        },
    }))
}

pub async fn put(
    server: &Server,
    client: &mut Client,
    m: &Made,
    item: ItemId,
    base: u64,
    content: &Content,
) -> Reply {
    let sealed = seal_item(
        m.ledger.vault(),
        item,
        base + 1,
        &m.key,
        content,
        &mut OsRng,
    )
    .unwrap();
    let body = json!({ "baseRevision": base, "sealed": b64::encode(sealed) });
    signed(
        client,
        &m.device,
        server.clock_now(),
        Method::PUT,
        &format!("/api/v1/vault/items/{item}"),
        &body,
    )
    .await
}

#[tokio::test]
async fn a_vault_write_needs_the_signature_of_a_member_device() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("vaulter").await;
        let m = make_vault(&server, &mut client).await;
        let item = ItemId::random(&mut OsRng);
        let sealed = seal_item(
            m.ledger.vault(),
            item,
            1,
            &m.key,
            &passkey(1, &m.device),
            &mut OsRng,
        )
        .unwrap();
        let body = json!({ "baseRevision": 0, "sealed": b64::encode(&sealed) });
        let path = format!("/api/v1/vault/items/{item}");
        let now = server.clock_now();

        client
            .send(Method::PUT, &path, Some(&body))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "device_signature_required");
        let stranger = DeviceSecret::generate(&mut OsRng).unwrap();
        signed(&mut client, &stranger, now, Method::PUT, &path, &body)
            .await
            .assert_error(StatusCode::FORBIDDEN, "device_not_member");
        // Signed over another body, or long ago: refused, and nothing is written.
        let sig = sign_request(&m.device, "PUT", &path, now, b"{}");
        client.headers = vec![
            ("Latch-Device".into(), m.device.id().to_string()),
            ("Latch-Timestamp".into(), now.to_string()),
            ("Latch-Signature".into(), b64::encode(sig)),
        ];
        let reply = client.send(Method::PUT, &path, Some(&body)).await;
        client.headers.clear();
        reply.assert_error(StatusCode::BAD_REQUEST, "vault_refused");
        signed(
            &mut client,
            &m.device,
            now - 3600,
            Method::PUT,
            &path,
            &body,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "vault_refused");
        let feed = client.get("/api/v1/vault/changes").await.ok();
        assert_eq!(feed["changes"].as_array().unwrap().len(), 0);
        // Another account's session does not reach this vault.
        let (mut other, _) = server.signed_in("someone").await;
        signed(&mut other, &m.device, now, Method::PUT, &path, &body)
            .await
            .assert_error(StatusCode::NOT_FOUND, "no_vault");

        signed(&mut client, &m.device, now, Method::PUT, &path, &body)
            .await
            .ok();
        // One vault per account.
        let (_, again) = try_make_vault(&server, &mut client).await;
        again.assert_error(StatusCode::CONFLICT, "vault_exists");
        let shown = client.get("/api/v1/vault").await.ok();
        assert_eq!(shown["vaultId"], b64::encode(m.ledger.vault().0));
    }
}

#[tokio::test]
async fn items_are_compare_and_swap_and_the_feed_pages() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("vaulter").await;
        let m = make_vault(&server, &mut client).await;
        let item = ItemId::random(&mut OsRng);
        assert_eq!(
            put(&server, &mut client, &m, item, 0, &passkey(1, &m.device))
                .await
                .ok()["revision"],
            1
        );
        let conflict = put(&server, &mut client, &m, item, 0, &passkey(2, &m.device)).await;
        conflict.assert_error(StatusCode::CONFLICT, "revision_conflict");
        assert_eq!(conflict.body["current"]["revision"], 1);
        assert_eq!(
            put(&server, &mut client, &m, item, 1, &passkey(2, &m.device))
                .await
                .ok()["revision"],
            2
        );

        // A sealed item that says another item id, or a revision that skips, is refused.
        let other = ItemId::random(&mut OsRng);
        let sealed = seal_item(
            m.ledger.vault(),
            other,
            1,
            &m.key,
            &passkey(3, &m.device),
            &mut OsRng,
        )
        .unwrap();
        let body = json!({ "baseRevision": 0, "sealed": b64::encode(&sealed) });
        let now = server.clock_now();
        signed(
            &mut client,
            &m.device,
            now,
            Method::PUT,
            &format!("/api/v1/vault/items/{item}"),
            &body,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "vault_refused");
        let skipping = seal_item(
            m.ledger.vault(),
            other,
            5,
            &m.key,
            &passkey(3, &m.device),
            &mut OsRng,
        )
        .unwrap();
        let body = json!({ "baseRevision": 0, "sealed": b64::encode(&skipping) });
        signed(
            &mut client,
            &m.device,
            now,
            Method::PUT,
            &format!("/api/v1/vault/items/{other}"),
            &body,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "vault_refused");

        for n in 0..3 {
            put(
                &server,
                &mut client,
                &m,
                ItemId::random(&mut OsRng),
                0,
                &passkey(10 + n, &m.device),
            )
            .await
            .ok();
        }
        let mut cursor = 0;
        let mut seen = Vec::new();
        loop {
            let page = client
                .get(&format!("/api/v1/vault/changes?after={cursor}&limit=2"))
                .await
                .ok();
            for c in page["changes"].as_array().unwrap() {
                seen.push((
                    c["item"].as_str().unwrap().to_owned(),
                    c["revision"].as_i64().unwrap(),
                ));
            }
            cursor = page["cursor"].as_i64().unwrap();
            if page["more"] != true {
                break;
            }
        }
        assert_eq!(
            seen.len(),
            4,
            "each item once, at its newest revision: {seen:?}"
        );
        assert!(seen.contains(&(item.to_string(), 2)));
        let after = client
            .get(&format!("/api/v1/vault/changes?after={cursor}"))
            .await
            .ok();
        assert_eq!(after["changes"].as_array().unwrap().len(), 0);
    }
}

#[tokio::test]
async fn the_store_takes_only_entries_that_follow_its_chain() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("vaulter").await;
        let m = make_vault(&server, &mut client).await;
        let other = DeviceSecret::generate(&mut OsRng).unwrap();
        let now = server.clock_now();
        let post = |entry: &[u8], wraps: Vec<String>| json!({ "entry": b64::encode(entry), "shares": [], "wraps": wraps });

        // Signed by a device that is not a member.
        let mut forged = m
            .ledger
            .propose(
                Op::Add {
                    device: other.public(),
                    via: Via::Sponsor,
                },
                &m.device,
                1,
            )
            .unwrap()
            .bytes()
            .to_vec();
        let n = forged.len();
        forged[n - 3] ^= 1;
        signed(
            &mut client,
            &m.device,
            now,
            Method::POST,
            "/api/v1/vault/ledger",
            &post(&forged, vec![]),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "vault_refused");
        // A removal starts an epoch: without its recovery wrap it is refused.
        let add = m
            .ledger
            .propose(
                Op::Add {
                    device: other.public(),
                    via: Via::Sponsor,
                },
                &m.device,
                1,
            )
            .unwrap();
        let mut ledger = m.ledger.clone();
        signed(
            &mut client,
            &m.device,
            now,
            Method::POST,
            "/api/v1/vault/ledger",
            &post(add.bytes(), vec![]),
        )
        .await
        .ok();
        ledger.append(add.bytes()).unwrap();
        // A share is filed only from the device that signed the request.
        let by_other = epoch::share(
            ledger.vault(),
            &m.key,
            &m.recovery,
            &m.device.public(),
            &other,
            &mut OsRng,
        )
        .unwrap();
        let shares = json!({ "shares": [b64::encode(&by_other)] });
        signed(
            &mut client,
            &m.device,
            now,
            Method::PUT,
            "/api/v1/vault/shares",
            &shares,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "vault_refused");
        let reply = signed(
            &mut client,
            &other,
            now,
            Method::PUT,
            "/api/v1/vault/shares",
            &shares,
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        // The same entry again no longer follows the head.
        signed(
            &mut client,
            &m.device,
            now,
            Method::POST,
            "/api/v1/vault/ledger",
            &post(add.bytes(), vec![]),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "ledger_conflict");
        let fresh = RecoveryKey::generate(&mut OsRng);
        let remove = ledger
            .propose(
                Op::Remove {
                    device: other.id(),
                    recovery: fresh.signing_key().unwrap().public(),
                },
                &m.device,
                2,
            )
            .unwrap();
        signed(
            &mut client,
            &m.device,
            now,
            Method::POST,
            "/api/v1/vault/ledger",
            &post(remove.bytes(), vec![]),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_body");
        let next = EpochKey::generate(1, &mut OsRng);
        let wrap = b64::encode(fresh.wrap(ledger.vault(), &next, &mut OsRng).unwrap());
        signed(
            &mut client,
            &m.device,
            now,
            Method::POST,
            "/api/v1/vault/ledger",
            &post(remove.bytes(), vec![wrap]),
        )
        .await
        .ok();
        // Now an item sealed under epoch 0 is stale.
        put(
            &server,
            &mut client,
            &m,
            ItemId::random(&mut OsRng),
            0,
            &passkey(1, &m.device),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "stale_epoch");
        // The removed device signs nothing any more.
        let body = json!({ "shares": [] });
        signed(
            &mut client,
            &other,
            now,
            Method::PUT,
            "/api/v1/vault/shares",
            &body,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "device_not_member");
        let entries = client.get("/api/v1/vault/ledger").await.ok();
        assert_eq!(entries["entries"].as_array().unwrap().len(), 3);
        let _ = m.recovery;
    }
}
