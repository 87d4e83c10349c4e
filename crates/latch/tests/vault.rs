//! Passkey sync end to end, every part a real process: `latch serve` (the store), three
//! `latch guardian`s (the escrow) and several `latch vault` devices, each with its own folder.
//! A device creates the vault, a second joins by pairing, edits from both merge, a device is
//! revoked and cannot open what is written after, a device joins by recovery and the others
//! are told, forged and replayed ledger entries are refused by every device, and the store's
//! and the guardians' databases hold no plaintext.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../src/cmd/bench/site.rs"]
mod site;
#[allow(dead_code)]
#[path = "../src/cmd/key/udp.rs"]
mod udp;

#[allow(dead_code)]
mod e2e_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e_support::{block_on, databases, Db, Guardian, Key, Server, ORIGIN};
use latch_server::store::db::query;
use latch_server::store::Store;
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password 7";
const PASSCODE: &str = "864213";
const ACCOUNT: &str = "vaultowner";

struct World {
    server: Server,
    server_db: Db,
    _guardians: Vec<Guardian>,
    guardian_dbs: Vec<Db>,
    guardian_urls: Vec<String>,
    dir: PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sqlite_db() -> Db {
    databases().remove(0)
}

fn world() -> World {
    let server_db = sqlite_db();
    let server = Server::start(&server_db.url);
    let guardian_dbs: Vec<Db> = (0..3).map(|_| sqlite_db()).collect();
    let guardians: Vec<Guardian> = guardian_dbs
        .iter()
        .map(|d| Guardian::start(&d.url))
        .collect();
    let guardian_urls = guardians.iter().map(|g| g.url.clone()).collect();
    let reply = ureq::post(&format!("{}/api/v1/signup/password", server.url))
        .set("Content-Type", "application/json")
        .send_string(&json!({ "username": ACCOUNT, "password": PASSWORD }).to_string());
    assert!(reply.is_ok(), "sign-up: {reply:?}");
    let dir = std::env::temp_dir().join(format!(
        "latch_vault_test_{}_{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    World {
        server,
        server_db,
        _guardians: guardians,
        guardian_dbs,
        guardian_urls,
        dir,
    }
}

fn rand_suffix() -> String {
    let mut r = [0u8; 4];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    r.iter().map(|b| format!("{b:02x}")).collect()
}

fn latch(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latch"));
    c.arg("vault").arg("--dir").arg(dir).args(args);
    c.env("LATCH_PASSWORD", PASSWORD)
        .env("LATCH_VAULT_PASSCODE", PASSCODE);
    c.stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    latch(dir, args).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "latch vault {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        !out.status.success(),
        "latch vault {args:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl World {
    fn device(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn account(&self) -> Vec<String> {
        vec![
            "--server".into(),
            self.server.url.clone(),
            "--user".into(),
            ACCOUNT.into(),
        ]
    }

    fn init(&self, device: &Path) {
        let mut args: Vec<String> = vec!["init".into()];
        args.extend(self.account());
        for g in &self.guardian_urls {
            args.extend(["--guardian".into(), g.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(device, &args);
        assert!(out.contains("created vault"), "{out}");
    }

    /// `join` on `device`, approved from `sponsor` with the code the new device shows.
    fn pair(&self, device: &Path, sponsor: &Path) -> String {
        let mut args: Vec<String> = vec!["join".into()];
        args.extend(self.account());
        args.extend(["--timeout".into(), "60".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child: Child = latch(device, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let code = loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "join ended before showing a code"
            );
            if let Some(code) = line.trim().strip_prefix("pairing code: ") {
                break code.to_owned();
            }
        };
        let approved = ok(sponsor, &["approve", &code]);
        assert!(approved.contains("approved device"), "{approved}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert!(child.wait().unwrap().success(), "join failed: {rest}");
        assert!(rest.contains("joined vault"), "{rest}");
        code
    }
}

/// A CXF document of passkeys with real P-256 keys; returns it with the secrets to scan for.
fn cxf(passkeys: &[(&str, &str, &str)]) -> (String, Vec<Vec<u8>>) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut secrets = Vec::new();
    let items: Vec<Value> = passkeys
        .iter()
        .enumerate()
        .map(|(i, (rp, user, display))| {
            let key = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let handle = format!("handle-{user}-{i}").into_bytes();
            secrets.push(key.as_ref().to_vec());
            secrets.push(handle.clone());
            secrets.push(rp.as_bytes().to_vec());
            secrets.push(user.as_bytes().to_vec());
            json!({ "id": format!("i{i}"), "title": rp, "credentials": [{
                "type": "passkey",
                "credentialId": URL_SAFE_NO_PAD.encode(format!("cred-{i}-{user}")),
                "rpId": rp, "username": user, "userDisplayName": display,
                "userHandle": URL_SAFE_NO_PAD.encode(&handle),
                "key": URL_SAFE_NO_PAD.encode(key.as_ref()),
            }]})
        })
        .collect();
    let doc = json!({ "version": { "major": 1, "minor": 0 }, "exporterRpId": "test", "exporterDisplayName": "test",
        "timestamp": 0, "accounts": [{ "id": "YQ", "username": "", "email": "", "items": items }] });
    (doc.to_string(), secrets)
}

fn import(device: &Path, doc: &str) {
    let file = device.with_extension("cxf.json");
    std::fs::write(&file, doc).unwrap();
    let out = ok(device, &["import", file.to_str().unwrap()]);
    assert!(out.contains("imported"), "{out}");
}

/// `list`'s lines: (item, rp id, user name, display name).
fn list(device: &Path) -> Vec<(String, String, String, String)> {
    ok(device, &["list"])
        .lines()
        .filter(|l| !l.starts_with("ALERT"))
        .map(|l| {
            let mut words = l.split("  ");
            let item = words.next().unwrap().to_owned();
            let rp = words.next().unwrap().to_owned();
            let user = words.next().unwrap().to_owned();
            let display = words
                .next()
                .unwrap()
                .trim_start_matches('(')
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            (item, rp, user, display)
        })
        .collect()
}

fn this_device(device: &Path) -> String {
    let status = ok(device, &["status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("this device "))
        .unwrap()
        .to_owned()
}

fn sql(db: &Db, statement: &str, args: Vec<Vec<u8>>) {
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let mut conn = store.conn().await.unwrap();
        let mut q = query(statement);
        for a in args {
            q = q.bind(a);
        }
        q.execute(&mut conn).await.unwrap();
        drop(conn);
        store.close().await;
    });
}

fn ledger_rows(db: &Db) -> Vec<(Vec<u8>, i64, Vec<u8>)> {
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let mut conn = store.conn().await.unwrap();
        let rows = query("SELECT vault_id, seq, entry FROM vault_ledger ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        drop(conn);
        store.close().await;
        rows.iter()
            .map(|r| {
                (
                    r.try_get("vault_id").unwrap(),
                    r.try_get("seq").unwrap(),
                    r.try_get("entry").unwrap(),
                )
            })
            .collect()
    })
}

#[test]
fn devices_pair_merge_revoke_recover_and_refuse_a_forged_ledger() {
    let w = world();
    let (a, b, c, d) = (w.device("a"), w.device("b"), w.device("c"), w.device("d"));
    w.init(&a);
    let (doc, mut secrets) = cxf(&[
        ("bank.example", "ada.lovelace", "Ada L."),
        ("mail.example", "ada@mail", "Ada"),
    ]);
    import(&a, &doc);

    // Sponsor join: B sees A's passkeys.
    w.pair(&b, &a);
    let on_b = list(&b);
    assert_eq!(on_b.len(), 2, "{on_b:?}");
    let bank = on_b
        .iter()
        .find(|p| p.1 == "bank.example")
        .unwrap()
        .0
        .clone();

    // Concurrent edits of two fields of one passkey, from both devices at once: both survive.
    let mut ra = latch(&a, &["rename", &bank, "--user-name", "ada.renamed"])
        .spawn()
        .unwrap();
    let mut rb = latch(&b, &["rename", &bank, "--display-name", "Countess Ada"])
        .spawn()
        .unwrap();
    assert!(ra.wait().unwrap().success() && rb.wait().unwrap().success());
    for device in [&a, &b] {
        let p = list(device).into_iter().find(|p| p.0 == bank).unwrap();
        assert_eq!(
            (p.2.as_str(), p.3.as_str()),
            ("ada.renamed", "Countess Ada"),
            "on {}",
            device.display()
        );
    }

    // Revoke C (paired for the purpose): it cannot open what is written afterwards.
    w.pair(&c, &b);
    let c_id = this_device(&c);
    let out = ok(&a, &["revoke", &c_id]);
    assert!(out.contains("removed device"), "{out}");
    let (later, later_secrets) = cxf(&[("shop.example", "ada.shopper", "Ada S.")]);
    secrets.extend(later_secrets);
    import(&a, &later);
    let refusal = refused(&c, &["list"]);
    assert!(refusal.contains("was removed"), "{refusal}");
    let c_local: Value =
        serde_json::from_slice(&std::fs::read(c.join("vault.json")).unwrap()).unwrap();
    let c_epochs: Vec<&String> = c_local["vault"]["epochKeys"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        c_epochs,
        vec!["0"],
        "the revoked device holds no key of the new epoch"
    );
    assert_eq!(list(&b).len(), 3, "the remaining devices read the new item");

    // Recovery join with no other device: D gets everything, and A and B are told.
    let mut args: Vec<String> = vec!["recover".into()];
    args.extend(w.account());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ok(&d, &args);
    assert!(out.contains("recovered vault"), "{out}");
    assert_eq!(list(&d).len(), 3);
    let d_id = this_device(&d);
    for device in [&a, &b] {
        let status = ok(device, &["status"]);
        assert!(
            status.contains(&format!(
                "ALERT: device {d_id} joined this vault using recovery"
            )),
            "{status}"
        );
        // Told once.
        assert!(!ok(device, &["status"]).contains("ALERT"));
    }

    // A store that forges or replays a ledger entry: every device refuses the ledger.
    let rows = ledger_rows(&w.server_db);
    let (vault, last_seq, _) = rows.last().unwrap().clone();
    let forged = {
        let mut e = rows[1].2.clone();
        let n = e.len();
        e[n - 5] ^= 1; // inside the signature
        e
    };
    for (what, entry) in [("replayed", rows[1].2.clone()), ("forged", forged)] {
        let insert = format!(
            "INSERT INTO vault_ledger (vault_id, seq, entry) VALUES ($1, {}, $2)",
            last_seq + 1
        );
        sql(&w.server_db, &insert, vec![vault.clone(), entry]);
        sql(
            &w.server_db,
            "UPDATE vaults SET head_seq = head_seq + 1",
            vec![],
        );
        for device in [&a, &b, &d] {
            let refusal = refused(device, &["status"]);
            assert!(
                refusal.contains("refuses"),
                "{what} entry on {}: {refusal}",
                device.display()
            );
        }
        sql(
            &w.server_db,
            "DELETE FROM vault_ledger WHERE seq > (SELECT head_seq - 1 FROM vaults)",
            vec![],
        );
        sql(
            &w.server_db,
            "UPDATE vaults SET head_seq = head_seq - 1",
            vec![],
        );
        ok(&a, &["status"]);
    }

    // The operator's view: no plaintext in the store's or any guardian's database files.
    for db in std::iter::once(&w.server_db).chain(&w.guardian_dbs) {
        let path = db.file.clone().unwrap();
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            bytes.extend(std::fs::read(&p).unwrap_or_default());
        }
        for secret in &secrets {
            let b64 = URL_SAFE_NO_PAD.encode(secret);
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_slice())
                || bytes.windows(b64.len()).any(|w| w == b64.as_bytes());
            assert!(
                !found,
                "{} holds {:?} in plaintext",
                path.display(),
                String::from_utf8_lossy(secret)
            );
        }
    }
}

/// Deliverable 5: a passkey made through the key of device A (`latch key run --vault A`) signs
/// in to `latch serve` through the key of device B after sync, and the server shows it as a
/// synced passkey (backup eligible, backed up, counter 0).
#[test]
fn a_passkey_made_through_one_device_signs_in_through_another() {
    let w = world();
    let (a, b) = (w.device("a"), w.device("b"));
    w.init(&a);
    w.pair(&b, &a);

    let key_a = Key::start_with(&[std::ffi::OsStr::new("--vault"), a.as_os_str()]);
    let mut browser = site::Site::new(site::agent(1), &w.server.url, ORIGIN);
    let mut ctap = key_a.client();
    browser.signup(&mut ctap, "passkey-user", None).unwrap();
    let credentials = browser.get("/me/credentials").unwrap();
    assert_eq!(credentials[0]["kind"], "passkey", "{credentials}");
    assert_eq!(
        (
            credentials[0]["backupEligible"].clone(),
            credentials[0]["backedUp"].clone()
        ),
        (json!(true), json!(true))
    );
    drop(ctap);
    drop(key_a);

    // Device B never saw the key of A: its own key takes the passkey from the vault.
    let listed = list(&b);
    assert!(
        listed
            .iter()
            .any(|p| p.1 == "localhost" && p.2 == "passkey-user"),
        "{listed:?}"
    );
    let key_b = Key::start_with(&[std::ffi::OsStr::new("--vault"), b.as_os_str()]);
    let mut elsewhere = site::Site::new(site::agent(1), &w.server.url, ORIGIN);
    let mut ctap = key_b.client();
    let signed_in = elsewhere.login(&mut ctap, None, None).unwrap();
    assert_eq!(signed_in["user"]["username"], "passkey-user");
    let again = elsewhere
        .login(&mut ctap, Some("passkey-user"), None)
        .unwrap();
    assert_eq!(again["user"]["username"], "passkey-user");
    let credentials = elsewhere.get("/me/credentials").unwrap();
    assert_eq!(
        credentials.as_array().unwrap().len(),
        1,
        "one passkey, used from two devices"
    );
    assert_eq!(credentials[0]["kind"], "passkey");
}

/// One guardian is the development mode: it works, and both init and recover say that its
/// operator can brute-force the passcode.
#[test]
fn a_single_guardian_vault_says_its_operator_can_brute_force_it() {
    let w = world();
    let (a, d) = (w.device("a"), w.device("d"));
    let mut args: Vec<String> = vec!["init".into()];
    args.extend(w.account());
    args.extend(["--guardian".into(), w.guardian_urls[0].clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&a, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 guardian(s), 1 needed, at most 10 passcode guesses"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("brute-force"));
    // A device that pins other guardians than the ledger names refuses to recover.
    let mut args: Vec<String> = vec!["recover".into()];
    args.extend(w.account());
    args.extend(["--guardian".into(), "http://127.0.0.1:9".into()]);
    let pinned: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&w.device("f"), &pinned);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("names the guardians"));
    let mut args: Vec<String> = vec!["recover".into()];
    args.extend(w.account());
    args.extend(["--guardian".into(), w.guardian_urls[0].clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&d, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("brute-force"));
    // A wrong passcode spends one of the ten guesses and says how many are left.
    let out = latch(
        &w.device("e"),
        &["recover", "--server", &w.server.url, "--user", ACCOUNT],
    )
    .env("LATCH_VAULT_PASSCODE", "000000")
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the passcode is wrong; 9 guesses are left"),
        "{stderr}"
    );
}
