//! `latch key` end to end over real UDP against an in-process key: info, pin, wink, creds,
//! config, blob and reset, with the key's virtual clock moved to leave the reset window.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ciborium::value::Value;
use latch_ctap::client::ctap2::{MakeCredentialRequest, PinUvAuthParam, Rp, User};
use latch_ctap::client::loopback::Loopback;
use latch_ctap::client::{Ctap2, HidDevice, Transport};
use latch_ctap::pin::Permissions;
use latch_ctap::testing::XorShiftRng;
use latch_webauthn::b64;

use super::format::RESET_NOTICE;
use super::manage::{
    execute, BlobCommand, BlobTarget, ConfigCommand, CredsCommand, ManageCommand, PinArg,
    PinCommand,
};

fn pin(p: &str) -> PinArg {
    PinArg {
        pin: Some(p.into()),
    }
}

/// A key answering CTAPHID over UDP on 127.0.0.1, driven by a thread.
fn spawn_key() -> (String, Arc<Mutex<Loopback>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let key = Arc::new(Mutex::new(Loopback::fresh(7).unwrap()));
    let shared = Arc::clone(&key);
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let Ok(report) = <[u8; 64]>::try_from(&buf[..n]) else {
                continue;
            };
            let mut key = shared.lock().unwrap();
            key.send(&report).unwrap();
            while let Some(reply) = key.recv(Duration::ZERO).unwrap() {
                socket.send_to(&reply, peer).unwrap();
            }
        }
    });
    (addr, key)
}

fn run(addr: &str, command: ManageCommand) -> Result<String, String> {
    let mut out = Vec::new();
    execute(addr, command, &mut out)
        .map(|()| String::from_utf8(out).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn end_to_end_over_udp() {
    let (addr, key) = spawn_key();
    let info = run(&addr, ManageCommand::Info).unwrap();
    assert!(
        info.contains("PIN:                               not set"),
        "{info}"
    );
    assert!(
        info.contains("AAGUID:                            aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")
    );

    assert_eq!(
        run(&addr, ManageCommand::Wink).unwrap(),
        "The key winked.\n"
    );
    assert_eq!(key.lock().unwrap().winks(), 1);

    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Set(pin("12")))).unwrap_err(),
        "the PIN must be at least 4 characters (got 2)"
    );
    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Set(pin("1234")))).unwrap(),
        "PIN set.\n"
    );
    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Set(pin("5678")))).unwrap_err(),
        "a PIN is already set: change it with `latch key pin change`"
    );
    let info = run(&addr, ManageCommand::Info).unwrap();
    assert!(
        info.contains("PIN:                               set, 8 retries left"),
        "{info}"
    );

    let change = |current: &str, new: &str| {
        ManageCommand::Pin(PinCommand::Change {
            pin: pin(current),
            new_pin: Some(new.into()),
        })
    };
    assert_eq!(
        run(&addr, change("0000", "abcd")).unwrap_err(),
        "wrong PIN, 7 retries left (CTAP status 0x31)"
    );
    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Retries)).unwrap(),
        "7 PIN retries left.\n"
    );
    assert_eq!(
        run(&addr, change("1234", "abcd")).unwrap(),
        "PIN changed.\n"
    );
    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Retries)).unwrap(),
        "8 PIN retries left.\n"
    );

    // Credential management and authenticatorConfig against the real commands.
    assert_eq!(
        run(&addr, ManageCommand::Creds(CredsCommand::List(pin("abcd")))).unwrap(),
        "0 discoverable credentials, room for 16 more.\n"
    );
    let always_uv = || ManageCommand::Config(ConfigCommand::AlwaysUv(pin("abcd")));
    assert_eq!(run(&addr, always_uv()).unwrap(), "alwaysUv is now on.\n");
    let info = run(&addr, ManageCommand::Info).unwrap();
    assert!(info.contains("alwaysUv=yes"), "{info}");
    assert_eq!(run(&addr, always_uv()).unwrap(), "alwaysUv is now off.\n");
}

#[test]
fn nothing_listening_is_a_clear_error() {
    // Bind and drop a socket to get a port nobody listens on.
    let addr = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let err = run(&addr, ManageCommand::Info).unwrap_err();
    assert!(
        err.contains("nothing is listening") || err.contains("did not answer"),
        "{err}"
    );
}

/// Makes a discoverable credential on the key in-process (the CLI has no makeCredential).
fn make(key: &Mutex<Loopback>, rp_id: &str, user: User, large_blob_key: bool) -> Vec<u8> {
    let mut guard = key.lock().unwrap();
    let device = HidDevice::open(&mut *guard, [9; 8]).unwrap();
    let mut ctap = Ctap2::with_rng(device, Box::new(XorShiftRng::new(3))).unwrap();
    let token = ctap
        .get_pin_uv_auth_token("1234", Permissions::MAKE_CREDENTIAL, Some(rp_id))
        .unwrap();
    let hash = [0x42; 32];
    let extensions = if large_blob_key {
        vec![("largeBlobKey".to_owned(), Value::Bool(true))]
    } else {
        vec![]
    };
    ctap.make_credential(&MakeCredentialRequest {
        client_data_hash: hash,
        rp: Rp {
            id: rp_id.into(),
            name: None,
        },
        user,
        algorithms: vec![-7],
        extensions,
        rk: Some(true),
        pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
        ..MakeCredentialRequest::default()
    })
    .unwrap()
    .credential_id()
    .unwrap()
}

fn user(id: &[u8], name: &str, display_name: &str) -> User {
    User {
        id: id.to_vec(),
        name: Some(name.into()),
        display_name: Some(display_name.into()),
    }
}

/// `creds list` lines for one credential.
fn listed(name: &str, id: &[u8], handle: &[u8], blob: bool) -> String {
    let mut out = format!(
        "  {name}\n    credential ID: {}\n    user handle:   {}\n    credProtect:   1 \
         (userVerificationOptional)",
        b64::encode(id),
        b64::encode(handle)
    );
    if blob {
        out.push_str("\n    large blob:    supported");
    }
    out
}

#[test]
fn credentials_blobs_config_and_reset_over_udp() {
    let (addr, key) = spawn_key();
    let list = || ManageCommand::Creds(CredsCommand::List(pin("1234")));
    assert_eq!(
        run(&addr, ManageCommand::Pin(PinCommand::Set(pin("1234")))).unwrap(),
        "PIN set.\n"
    );
    let ada = make(&key, "example.com", user(b"u-ada", "ada", "Ada"), true);
    let bob = make(&key, "example.org", user(b"u-bob", "bob", "Bob"), false);
    assert_eq!(
        run(&addr, list()).unwrap(),
        format!(
            "2 discoverable credentials, room for 14 more.\nexample.com\n{}\nexample.org\n{}\n",
            listed("ada (Ada)", &ada, b"u-ada", true),
            listed("bob (Bob)", &bob, b"u-bob", false)
        )
    );

    // update-user keeps what is not given.
    let update = ManageCommand::Creds(CredsCommand::UpdateUser {
        id: b64::encode(&ada),
        name: Some("ada.l".into()),
        display_name: None,
        pin: pin("1234"),
    });
    assert_eq!(run(&addr, update).unwrap(), "User information updated.\n");
    assert!(run(&addr, list())
        .unwrap()
        .contains(&listed("ada.l (Ada)", &ada, b"u-ada", true)));

    // Blobs: set from a file, get to the output, delete.
    let target = |id: &[u8], rp_id: &str| BlobTarget {
        rp_id: rp_id.into(),
        id: b64::encode(id),
        pin: pin("1234"),
    };
    let file = std::env::temp_dir().join(format!("latch-e2e-blob-{}", std::process::id()));
    std::fs::write(&file, b"hello blob").unwrap();
    let set = ManageCommand::Blob(BlobCommand::Set {
        target: target(&ada, "example.com"),
        file: Some(file.clone()),
    });
    assert_eq!(run(&addr, set).unwrap(), "Stored a 10-byte blob.\n");
    std::fs::remove_file(&file).unwrap();
    let get = || {
        ManageCommand::Blob(BlobCommand::Get {
            target: target(&ada, "example.com"),
            out: None,
        })
    };
    assert_eq!(run(&addr, get()).unwrap(), "hello blob");
    let delete = || {
        ManageCommand::Blob(BlobCommand::Delete {
            target: target(&ada, "example.com"),
        })
    };
    assert_eq!(run(&addr, delete()).unwrap(), "Blob deleted.\n");
    assert_eq!(
        run(&addr, delete()).unwrap(),
        "That credential had no blob.\n"
    );
    assert_eq!(
        run(&addr, get()).unwrap_err(),
        "that credential has no blob"
    );
    let no_key = ManageCommand::Blob(BlobCommand::Get {
        target: target(&bob, "example.org"),
        out: None,
    });
    assert_eq!(
        run(&addr, no_key).unwrap_err(),
        "that credential has no largeBlobKey (it was created without the largeBlob extension)"
    );

    // Delete one credential.
    let delete = ManageCommand::Creds(CredsCommand::Delete {
        id: b64::encode(&bob),
        pin: pin("1234"),
    });
    assert_eq!(run(&addr, delete).unwrap(), "Credential deleted.\n");
    assert_eq!(
        run(&addr, list()).unwrap(),
        format!(
            "1 discoverable credential, room for 15 more.\nexample.com\n{}\n",
            listed("ada.l (Ada)", &ada, b"u-ada", true)
        )
    );

    // A longer minimum PIN, and the forced change it brings.
    let min = ManageCommand::Config(ConfigCommand::MinPinLength {
        length: 6,
        rp_ids: vec!["example.com".into()],
        force_change: true,
        pin: pin("1234"),
    });
    assert_eq!(run(&addr, min).unwrap(), "Minimum PIN length is now 6.\n");
    let info = run(&addr, ManageCommand::Info).unwrap();
    assert!(
        info.contains("\nPIN change required:               yes\n"),
        "{info}"
    );
    assert!(
        info.contains("\nMinimum PIN length:                6\n"),
        "{info}"
    );
    assert_eq!(
        run(&addr, list()).unwrap_err(),
        "the PIN is right, but the key requires a new one first: change it with `latch key pin \
         change` (CTAP status 0x31)"
    );

    assert_eq!(
        run(&addr, ManageCommand::Wink).unwrap(),
        "The key winked.\n"
    );
    assert_eq!(key.lock().unwrap().winks(), 1);

    // Reset: refused once the key has been up 10 s, allowed after a replug.
    key.lock().unwrap().env_mut().advance(10_001);
    let reset = || ManageCommand::Reset { yes: true };
    assert_eq!(
        run(&addr, reset()).unwrap_err(),
        "reset is only allowed within 10 seconds of plugging the key in (restart `latch key \
         run`), then touch it (CTAP status 0x30)"
    );
    {
        let mut guard = key.lock().unwrap();
        let unplugged = std::mem::replace(&mut *guard, Loopback::fresh(1).unwrap());
        *guard = unplugged.power_cycle().unwrap();
    }
    assert_eq!(
        run(&addr, reset()).unwrap(),
        format!("{RESET_NOTICE}\nThe key is reset: no credentials, no PIN.\n")
    );
    let info = run(&addr, ManageCommand::Info).unwrap();
    assert!(
        info.contains("\nPIN:                               not set\n"),
        "{info}"
    );
    assert!(
        info.contains("\nRemaining discoverable credentials: 16"),
        "{info}"
    );
}
