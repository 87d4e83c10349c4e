//! The security review's findings, each as the attack it described, through the HTTP API;
//! each must now be refused.

use std::net::SocketAddr;

use axum::http::{Method, StatusCode};
use latch_server::Startup;
use latch_webauthn::b64;
use serde_json::json;

use crate::authenticator::{Passkey, Tweak, UP, UV};
use crate::client::{servers, servers_configured, Client, Server, ORIGIN};
use crate::password::{enrol_totp, password_login, set_password, totp, PASSWORD};
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
        let text = server.metrics_client().get("/metrics").await.text;
        assert!(!text.contains("method=\"X"), "{text}");
        let others = text
            .lines()
            .filter(|l| l.contains("method=\"other\""))
            .count();
        assert_eq!(others, 1, "{text}");
    }
}

fn from(server: &Server, ip: &str) -> Client {
    let mut client = server.client();
    client.peer = Some(SocketAddr::new(ip.parse().unwrap(), 40000));
    client
}

/// A no-username sign-in answers a made-up credential id exactly as a registered one, for
/// every response its sender can make without the key: no user handle, someone else's user
/// handle, a signature that does not verify.
#[tokio::test]
async fn a_discoverable_finish_does_not_tell_registered_credential_ids() {
    for server in servers().await {
        let (_, mut real) = server.signed_in("ada").await;
        let mut client = server.client();
        let options = client.signup_begin("nobody").await;
        let (mut fake, _) = Passkey::create(&options, ORIGIN, true, &Tweak::default());

        let cases: [(Tweak, Option<&str>); 3] = [
            (Tweak::default(), None),
            (Tweak::default(), Some("c29tZW9uZSBlbHNl")),
            (
                Tweak {
                    bad_signature: true,
                    ..Tweak::default()
                },
                Some("c29tZW9uZSBlbHNl"),
            ),
        ];
        for (tweak, handle) in cases {
            let mut said = Vec::new();
            for passkey in [&mut real, &mut fake] {
                let mut client = server.client();
                let options = client.login_begin(None).await;
                let mut response = passkey.get(&options, ORIGIN, &tweak);
                match handle {
                    None => {
                        response["response"]
                            .as_object_mut()
                            .unwrap()
                            .remove("userHandle");
                    }
                    Some(h) => response["response"]["userHandle"] = json!(h),
                }
                let reply = client.login_finish(&response).await;
                said.push((reply.status, reply.body["error"].clone()));
            }
            assert_eq!(said[0], said[1], "{handle:?}");
            assert_eq!(said[0].0, StatusCode::BAD_REQUEST);
        }
    }
}

/// Sign-up begins are counted per client network: past 20 in 15 minutes the answer is 429,
/// so a script cannot ask which of thousands of names are taken.
#[tokio::test]
async fn signup_begins_are_limited_per_network() {
    for server in servers().await {
        for i in 0..20 {
            // Addresses in one IPv6 /64 are one network.
            let mut client = from(&server, &format!("2001:db8:5:6::{:x}", i + 1));
            let body = json!({ "username": format!("probe{i}") });
            client.post("/api/v1/signup/begin", body).await.ok();
        }
        let mut client = from(&server, "2001:db8:5:6:ffff::1");
        let reply = client
            .post("/api/v1/signup/begin", json!({ "username": "probe-last" }))
            .await;
        reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        assert!(reply.headers.contains_key("retry-after"));
        // Another network is not held back.
        let mut other = from(&server, "2001:db8:5:7::1");
        other
            .post("/api/v1/signup/begin", json!({ "username": "probe-last" }))
            .await
            .ok();
    }
}

async fn wrong_password(client: &mut Client, username: &str) -> crate::client::Reply {
    client
        .post(
            "/api/v1/login/password",
            json!({ "username": username, "password": "not the password" }),
        )
        .await
}

/// Guessing ada's password from one network locks that network out of her account, not ada:
/// from elsewhere her password still works, and so does her passkey. Every address of an
/// IPv6 /64 is one network.
#[tokio::test]
async fn password_guessing_cannot_lock_the_owner_out() {
    for server in servers().await {
        let (mut owner, mut passkey) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        for i in 0..5 {
            let mut attacker = from(&server, &format!("2001:db8:bad:1::{:x}", i + 1));
            wrong_password(&mut attacker, "ada")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        let mut attacker = from(&server, "2001:db8:bad:1:1234::99");
        wrong_password(&mut attacker, "ada")
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        let mut elsewhere = from(&server, "198.51.100.20");
        let body = json!({ "username": "ada", "password": PASSWORD });
        let reply = elsewhere.post("/api/v1/login/password", body).await.ok();
        assert_eq!(reply["next"], "second_factor");
        from(&server, "2001:db8:bad:1::1").login(&mut passkey).await;
    }
}

/// Guesses spread over many networks meet the account's ceiling (100 per 15 minutes), and a
/// passkey sign-in is let through all the same.
#[tokio::test]
async fn spread_guessing_meets_the_account_s_ceiling() {
    for server in servers().await {
        let (mut owner, mut passkey) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        for i in 0..100 {
            let mut attacker = from(&server, &format!("2001:db8:{:x}::1", i + 1));
            wrong_password(&mut attacker, "ada").await;
        }
        let mut fresh = from(&server, "198.51.100.30");
        wrong_password(&mut fresh, "ada")
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        from(&server, "198.51.100.30").login(&mut passkey).await;
    }
}

/// Password checks past the concurrent-hash bound are refused at once with 503 and
/// Retry-After, instead of queueing 19 MiB each.
#[tokio::test]
async fn concurrent_password_checks_are_bounded() {
    for server in servers().await {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let mut client = from(&server, &format!("198.51.100.{}", i + 1));
            tasks.spawn(async move { wrong_password(&mut client, &format!("user{i}")).await });
        }
        let replies = tasks.join_all().await;
        let busy: Vec<_> = replies
            .iter()
            .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
            .collect();
        assert!(!busy.is_empty(), "no request was refused");
        for reply in &busy {
            reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "busy");
            assert!(reply.headers.contains_key("retry-after"));
        }
        let checked = replies
            .iter()
            .filter(|r| r.status == StatusCode::UNAUTHORIZED)
            .count();
        assert!(checked >= 8, "{checked} checked");
    }
}

/// An `--admin` name nobody has yet would go to whoever signs up with it first: the server
/// refuses to start with it, and changes nothing.
#[tokio::test]
async fn an_admin_name_without_an_account_stops_the_start() {
    for server in servers().await {
        let refused = server
            .try_another_instance_with(&["root"], &Startup::default())
            .await;
        let error = refused.err().expect("a start with an unknown admin");
        assert!(error.to_string().contains("root"), "{error}");
        // Squatting the name afterwards gives nothing either.
        let (mut squatter, _) = server.signed_in("root").await;
        squatter
            .get("/api/v1/admin/policy")
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
    }
}

/// The administrators are exactly what the configuration says at each start: a name taken
/// off `--admin` is no longer one, and the change is in the audit log.
#[tokio::test]
async fn an_admin_taken_off_the_list_is_demoted() {
    for server in servers().await {
        let (mut root, _) = server.signed_in("root").await;
        let admin_instance = server
            .another_instance_with(&["root"], &Startup::default())
            .await;
        let mut root_there = admin_instance.switch(&root);
        root_there.get("/api/v1/admin/policy").await.ok();
        let plain = server.another_instance_with(&[], &Startup::default()).await;
        let mut root_after = plain.switch(&root);
        root_after
            .get("/api/v1/admin/policy")
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_required");
        let kinds: Vec<String> = root
            .get("/api/v1/me/activity")
            .await
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds[..2], ["admin_removed", "admin_granted"], "{kinds:?}");
    }
}

/// `/metrics` is off the public listener unless a token is configured, and then only with it;
/// the private listener serves it.
#[tokio::test]
async fn metrics_are_private_by_default() {
    for server in servers().await {
        server
            .client()
            .get("/metrics")
            .await
            .assert_error(StatusCode::FORBIDDEN, "metrics_private");
        let reply = server.metrics_client().get("/metrics").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.text.contains("latch_http_requests_total"));
    }
    let token = "a-long-metrics-token-1234";
    for server in servers_configured(|c| c.metrics_token = Some(token.into())).await {
        for header in [None, Some("Bearer wrong-token-but-long"), Some(token)] {
            let mut client = server.client();
            client.headers = header
                .map(|h| vec![("authorization".into(), h.into())])
                .unwrap_or_default();
            client
                .get("/metrics")
                .await
                .assert_error(StatusCode::UNAUTHORIZED, "metrics_token_required");
        }
        let mut client = server.client();
        client.headers = vec![("authorization".into(), format!("Bearer {token}"))];
        let reply = client.get("/metrics").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
}

async fn stored_totp_secret(server: &Server, user_id: i64) -> Vec<u8> {
    use latch_server::store::db::query;
    let mut conn = server.store.conn().await.unwrap();
    let row = query("SELECT secret FROM totp WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.try_get::<Vec<u8>>("secret").unwrap()
}

async fn user_id(server: &Server, username: &str) -> i64 {
    use latch_server::store::db::query;
    let mut conn = server.store.conn().await.unwrap();
    query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get::<i64>("id")
        .unwrap()
}

/// Authenticator-app secrets are sealed under the key kept outside the database: a dump of
/// the database does not hold them, and a sealed row copied to another account does not open.
#[tokio::test]
async fn a_database_dump_holds_no_authenticator_app_secret() {
    for server in servers().await {
        let (mut owner, _) = server.signed_in("ada").await;
        let secret = enrol_totp(&server, &mut owner).await;
        let ada = user_id(&server, "ada").await;
        let stored = stored_totp_secret(&server, ada).await;
        assert!(stored.len() > secret.len());
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_slice()),
            "the secret is in the database"
        );
        // Copied onto bob's account, ada's sealed secret is no secret of bob's.
        let (mut bob_client, _) = server.signed_in("bob").await;
        set_password(&mut bob_client).await;
        let bob = user_id(&server, "bob").await;
        let mut conn = server.store.conn().await.unwrap();
        latch_server::store::db::query(
            "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) \
             VALUES ($1, $2, 1, 0, 0)",
        )
        .bind(bob)
        .bind(stored)
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let (mut pending, _) = password_login(&server, "bob", PASSWORD).await;
        let code = totp(&secret, server.clock_now());
        let reply = pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await;
        assert!(!reply.status.is_success(), "{}", reply.body);
    }
}

/// Secrets stored in plain text by an earlier version are sealed at the next start, and keep
/// working.
#[tokio::test]
async fn plain_secrets_from_before_are_sealed_at_start() {
    for server in servers().await {
        let (mut owner, _) = server.signed_in("ada").await;
        set_password(&mut owner).await;
        let ada = user_id(&server, "ada").await;
        let secret = [7u8; 20];
        let mut conn = server.store.conn().await.unwrap();
        latch_server::store::db::query(
            "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) \
             VALUES ($1, $2, 1, 0, 0)",
        )
        .bind(ada)
        .bind(secret.to_vec())
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let restarted = server.another_instance().await;
        let stored = stored_totp_secret(&restarted, ada).await;
        assert_ne!(stored, secret);
        let mut pending = restarted.client();
        pending
            .post(
                "/api/v1/login/password",
                json!({ "username": "ada", "password": PASSWORD }),
            )
            .await
            .ok();
        let code = totp(&secret, restarted.clock_now());
        pending
            .post("/api/v1/login/totp", json!({ "code": code }))
            .await
            .ok();
    }
}

/// On an https site every cookie has a `__Host-` name (Secure, Path=/, no Domain), so a
/// sibling subdomain cannot plant one; a plain `latch_session` it planted is not read, and a
/// request carrying two cookies of one name is refused.
#[tokio::test]
async fn cookies_cannot_be_planted_by_a_sibling_subdomain() {
    for server in servers().await {
        let mut client = server.client();
        client.signup_begin("ada").await;
        let reply = client.post("/api/v1/login/begin", json!({})).await;
        let set = reply.cookie("__Host-latch_ceremony").unwrap().to_owned();
        assert!(
            set.contains("; Path=/;") && set.contains("; Secure"),
            "{set}"
        );
        assert!(!set.contains("Domain"), "{set}");
        let (mut victim, _) = server.signed_in("bob").await;
        let session = victim.cookies["__Host-latch_session"].clone();

        // The attacker's own session, planted under the plain name: not read.
        let (attacker, _) = server.signed_in("mallory").await;
        let planted = attacker.cookies["__Host-latch_session"].clone();
        let mut fresh = server.client();
        fresh
            .cookies
            .insert("latch_session".into(), planted.clone());
        fresh
            .get("/api/v1/me")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "not_signed_in");

        // Two cookies of one name (one planted with a narrower path): refused, whichever
        // comes first.
        for header in [
            format!("__Host-latch_session={planted}; __Host-latch_session={session}"),
            format!("latch_session=x; latch_session={planted}"),
        ] {
            let mut two = server.client();
            two.headers = vec![("cookie".into(), header)];
            two.get("/api/v1/me")
                .await
                .assert_error(StatusCode::BAD_REQUEST, "duplicate_cookie");
        }
        assert_eq!(
            victim.get("/api/v1/me").await.ok()["user"]["username"],
            "bob"
        );
    }
}

/// On http://localhost, where `Secure` cannot apply, the plain names.
#[tokio::test]
async fn a_localhost_site_uses_plain_cookie_names() {
    let local = |c: &mut latch_server::Config| {
        c.rp_id = "localhost".into();
        c.origins = vec!["http://localhost:8080".into()];
    };
    for server in servers_configured(local).await {
        let mut client = server.client();
        client.origin = Some("http://localhost:8080".into());
        let reply = client.post("/api/v1/login/begin", json!({})).await;
        let set = reply.cookie("latch_ceremony").unwrap();
        assert!(!set.contains("Secure"), "{set}");
    }
}
