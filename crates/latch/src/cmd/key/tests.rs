//! `latch key` manager: argument parsing and output formatting (end to end over UDP:
//! `e2e_tests.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use clap::Parser;
use latch_ctap::client::cred_mgmt::{CredentialEntry, CredsMetadata};
use latch_ctap::client::ctap2::User;
use latch_ctap::client::Info;

use super::manage::{
    BlobCommand, BlobTarget, ConfigCommand, CredsCommand, ManageCommand, PinArg, PinCommand,
};
use super::{format, KeyArgs};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    key: KeyArgs,
}

fn parse(args: &[&str]) -> (String, ManageCommand) {
    let cli =
        Cli::try_parse_from(std::iter::once("latch-key").chain(args.iter().copied())).unwrap();
    let udp = cli.key.udp.clone();
    (udp, cli.key.command.into_manage().ok().unwrap())
}

fn pin(p: &str) -> PinArg {
    PinArg {
        pin: Some(p.into()),
    }
}

#[test]
fn arguments_parse_into_manager_commands() {
    assert_eq!(
        parse(&["info"]),
        ("127.0.0.1:8111".into(), ManageCommand::Info)
    );
    assert_eq!(parse(&["wink", "--udp", "10.0.0.1:9"]).0, "10.0.0.1:9");
    assert_eq!(
        parse(&[
            "--udp",
            "[::1]:7",
            "pin",
            "change",
            "--pin",
            "1234",
            "--new-pin",
            "5678"
        ]),
        (
            "[::1]:7".into(),
            ManageCommand::Pin(PinCommand::Change {
                pin: pin("1234"),
                new_pin: Some("5678".into())
            })
        )
    );
    assert_eq!(
        parse(&["pin", "set"]).1,
        ManageCommand::Pin(PinCommand::Set(PinArg::default()))
    );
    assert_eq!(
        parse(&["pin", "retries"]).1,
        ManageCommand::Pin(PinCommand::Retries)
    );
    assert_eq!(
        parse(&[
            "creds",
            "update-user",
            "AAEC",
            "--name",
            "bob",
            "--display-name",
            "Bob B"
        ])
        .1,
        ManageCommand::Creds(CredsCommand::UpdateUser {
            id: "AAEC".into(),
            name: Some("bob".into()),
            display_name: Some("Bob B".into()),
            pin: PinArg::default(),
        })
    );
    assert_eq!(
        parse(&["creds", "delete", "AAEC", "--pin", "0000"]).1,
        ManageCommand::Creds(CredsCommand::Delete {
            id: "AAEC".into(),
            pin: pin("0000")
        })
    );
    assert_eq!(
        parse(&[
            "config",
            "min-pin-length",
            "6",
            "--rp-id",
            "a.com",
            "--rp-id",
            "b.com",
            "--force-change"
        ])
        .1,
        ManageCommand::Config(ConfigCommand::MinPinLength {
            length: 6,
            rp_ids: vec!["a.com".into(), "b.com".into()],
            force_change: true,
            pin: PinArg::default(),
        })
    );
    assert_eq!(
        parse(&["config", "always-uv"]).1,
        ManageCommand::Config(ConfigCommand::AlwaysUv(PinArg::default()))
    );
    assert_eq!(
        parse(&[
            "blob",
            "set",
            "--rp-id",
            "example.com",
            "AAEC",
            "--file",
            "x.bin"
        ])
        .1,
        ManageCommand::Blob(BlobCommand::Set {
            target: BlobTarget {
                rp_id: "example.com".into(),
                id: "AAEC".into(),
                pin: PinArg::default()
            },
            file: Some("x.bin".into()),
        })
    );
    assert_eq!(
        parse(&["reset", "--yes"]).1,
        ManageCommand::Reset { yes: true }
    );
    assert_eq!(parse(&["reset"]).1, ManageCommand::Reset { yes: false });
    // blob get needs --rp-id; min-pin-length needs a number.
    assert!(Cli::try_parse_from(["k", "blob", "get", "AAEC"]).is_err());
    assert!(Cli::try_parse_from(["k", "config", "min-pin-length", "six"]).is_err());
}

#[test]
fn info_is_formatted_for_humans() {
    let mut info = Info {
        versions: vec!["U2F_V2".into(), "FIDO_2_1".into()],
        aaguid: [0xAA; 16],
        pin_uv_auth_protocols: vec![2, 1],
        algorithms: vec![-7, -8, -99],
        min_pin_length: Some(4),
        firmware_version: Some(3),
        max_msg_size: Some(7609),
        ..Info::default()
    };
    info.options.insert("rk".into(), true);
    info.options.insert("clientPin".into(), true);
    assert_eq!(
        format::info(&info, Some((7, Some(false)))),
        "\
Versions:                          U2F_V2, FIDO_2_1
AAGUID:                            aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa
Firmware version:                  3
PIN:                               set, 7 retries left
Minimum PIN length:                4
PIN/UV auth protocols:             2, 1
Options:                           clientPin=yes, rk=yes
Extensions:                        (none)
Algorithms:                        ES256 (-7), EdDSA (-8), -99
Max message size:                  7609 bytes
Remaining discoverable credentials: not reported"
    );
    info.options.clear();
    assert!(format::info(&info, None).contains("PIN:                               not supported"));
}

#[test]
fn retries_and_credentials_are_formatted() {
    assert_eq!(format::retries(8, Some(false)), "8 PIN retries left.");
    assert_eq!(format::retries(1, None), "1 PIN retry left.");
    assert!(format::retries(5, Some(true)).contains("unplug the key"));
    assert!(format::retries(0, Some(false)).contains("only `latch key reset`"));
    let cred = CredentialEntry {
        user: User {
            id: vec![1, 2, 3],
            name: Some("alice".into()),
            display_name: Some("Alice".into()),
        },
        credential_id: vec![0xFB, 0xFF, 0x00],
        public_key: ciborium::value::Value::Null,
        cred_protect: Some(2),
        large_blob_key: None,
        third_party_payment: None,
    };
    let metadata = CredsMetadata {
        existing: 1,
        remaining: 24,
    };
    assert_eq!(
        format::credentials(&metadata, &[("example.com".into(), vec![cred])]),
        "\
1 discoverable credential, room for 24 more.
example.com
  alice (Alice)
    credential ID: -_8A
    user handle:   AQID
    credProtect:   2 (userVerificationOptionalWithCredentialIDList)"
    );
}
