//! The CTAP client (`latch_ctap::client`) reading answers from a hostile key: nothing may panic
//! (or loop without consuming input).
//!
//! Input: `mode | ops (4) | rest`. Mode 0 hands `rest` straight to the public parsers:
//! `Info::parse`, the U2F `split_response` / `Registration::parse` / `Signature::parse`,
//! `large_blobs::deserialize` / `open_entry`, `MadeCredential`'s authData accessors and
//! `webauthn::origin_host`. Mode 1 puts `Ctap2` on a fake `CtapDevice` whose answers are the
//! length-prefixed (u16 BE) chunks of `rest`, in order: the first is the getInfo answer
//! (status byte || CBOR), then each op byte picks a call (makeCredential, getAssertion(s),
//! credential management, large blobs, ClientPIN, WebAuthn create/get, U2F). Mode 2 opens a
//! `HidDevice` (CTAPHID INIT, nonce 07×8) on a fake `Transport` whose received reports are the
//! 64-byte chunks of `rest`, then runs PING / WINK / LOCK / CBOR / MSG / getInfo on it, so the
//! client's CTAPHID reassembly, KEEPALIVE (answered with CANCEL) and error handling see
//! arbitrary reports.
#![no_main]

mod ctap_common;

use std::io;
use std::time::Duration;

use ciborium::value::Value;
use ctap_common::Cursor;
use latch_ctap::client::ctap2::{
    GetAssertionRequest, MadeCredential, MakeCredentialRequest, PinUvAuthParam, Rp, User,
};
use latch_ctap::client::u2f::{self, AuthenticateMode, Registration, Signature, U2f};
use latch_ctap::client::{
    large_blobs, webauthn, Ctap2, CtapDevice, Error, HidDevice, Info, KeepaliveAction,
    PinUvAuthToken, Transport,
};
use latch_ctap::hid::{Command, KeepaliveStatus, Report, REPORT_LEN};
use latch_ctap::pin::{Permissions, PinUvAuthProtocol};
use latch_ctap::testing::XorShiftRng;
use latch_webauthn::wire::{CreationOptionsJson, RequestOptionsJson};
use libfuzzer_sys::fuzz_target;

const CREATE_OPTIONS: &str = r#"{"rp":{"id":"example.com","name":"Example"},"user":{"id":"dXNlcg","name":"ada","displayName":"Ada"},"challenge":"Y2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}],"authenticatorSelection":{"residentKey":"preferred"},"extensions":{"credProps":true}}"#;
const GET_OPTIONS: &str = r#"{"challenge":"Y2hhbGxlbmdl","rpId":"example.com","allowCredentials":[{"type":"public-key","id":"AAECAw"}]}"#;

/// Answers every CTAP message with the next chunk of the input.
struct Canned<'a> {
    answers: Cursor<'a>,
}

impl CtapDevice for Canned<'_> {
    fn cbor(&mut self, _request: &[u8]) -> Result<Vec<u8>, Error> {
        self.next()
    }
    fn msg(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, Error> {
        self.next()
    }
    fn pause(&mut self, _duration: Duration) -> Result<(), Error> {
        Ok(())
    }
}

impl Canned<'_> {
    fn next(&mut self) -> Result<Vec<u8>, Error> {
        if self.answers.is_empty() {
            return Err(Error::Timeout(Duration::ZERO));
        }
        Ok(self.answers.chunk().to_vec())
    }
}

/// Receives the input as 64-byte reports; sends go nowhere.
struct Reports<'a> {
    reports: Cursor<'a>,
}

impl Transport for Reports<'_> {
    fn send(&mut self, _report: &Report) -> io::Result<()> {
        Ok(())
    }
    fn recv(&mut self, _timeout: Duration) -> io::Result<Option<Report>> {
        if self.reports.is_empty() {
            return Ok(None);
        }
        let mut report = [0u8; REPORT_LEN];
        report
            .iter_mut()
            .zip(self.reports.take(REPORT_LEN))
            .for_each(|(r, b)| *r = *b);
        Ok(Some(report))
    }
}

fn token() -> PinUvAuthToken {
    PinUvAuthToken::from_parts(PinUvAuthProtocol::Two, vec![0x11; 32])
}

fn parsers(rest: &[u8]) {
    if let Ok(info) = Info::parse(rest) {
        let _ = (info.preferred_pin_protocol(), info.cred_mgmt_command());
        let _ = (
            info.max_msg_size(),
            info.pin_set(),
            info.supports_permissions(),
        );
    }
    if let Ok((data, _sw)) = u2f::split_response(rest) {
        let _ = Registration::parse(data);
        let _ = Signature::parse(data);
    }
    let _ = Registration::parse(rest);
    let _ = Signature::parse(rest);
    for entry in large_blobs::deserialize(rest) {
        let _ = large_blobs::open_entry(&[0x22; 32], &entry);
    }
    // A blob entry on its own (the check would almost never pass in the array form).
    if let Ok(entry) = ciborium::de::from_reader::<Value, _>(rest) {
        let _ = large_blobs::open_entry(&[0x22; 32], &entry);
    }
    let made = MadeCredential {
        fmt: "none".into(),
        auth_data: rest.to_vec(),
        att_stmt: Value::Map(vec![]),
        ep_att: None,
        large_blob_key: None,
    };
    let _ = (
        made.credential_id(),
        made.public_key_cose(),
        made.attestation_object(),
    );
    let _ = webauthn::origin_host(&String::from_utf8_lossy(rest));
}

fn ctap2_ops<D: CtapDevice>(ctap: &mut Ctap2<D>, ops: &[u8]) {
    let hash = [0x42; 32];
    for &op in ops {
        match op % 20 {
            0 => {
                let _ = ctap.refresh_info();
            }
            1 => {
                let request = MakeCredentialRequest {
                    client_data_hash: hash,
                    rp: Rp {
                        id: "example.com".into(),
                        name: None,
                    },
                    user: User {
                        id: b"user".to_vec(),
                        name: Some("ada".into()),
                        display_name: None,
                    },
                    algorithms: vec![-7, -8],
                    pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token(), &hash)),
                    ..MakeCredentialRequest::default()
                };
                if let Ok(made) = ctap.make_credential(&request) {
                    let _ = (made.credential_id(), made.public_key_cose());
                    let _ = made.attestation_object();
                }
            }
            2 => {
                let request = GetAssertionRequest {
                    rp_id: "example.com".into(),
                    client_data_hash: hash,
                    allow_list: vec![vec![1, 2, 3]],
                    ..GetAssertionRequest::default()
                };
                let _ = ctap.get_assertions(&request);
            }
            3 => {
                let _ = ctap.get_next_assertion();
            }
            4 => {
                let _ = ctap.creds_metadata(&token());
            }
            5 => {
                let _ = ctap.enumerate_rps(&token());
            }
            6 => {
                let _ = ctap.enumerate_credentials(&token(), &[0x33; 32]);
            }
            7 => {
                let _ = ctap.get_blob(&[0x22; 32]);
            }
            8 => {
                let _ = ctap.put_blob(&token(), &[0x22; 32], Some(b"blob data"));
            }
            9 => {
                let _ = ctap.delete_blob(&token(), &[0x22; 32]);
            }
            10 => {
                let _ = ctap.get_pin_retries();
                let _ = ctap.get_uv_retries();
            }
            11 => {
                let _ = ctap.get_key_agreement(PinUvAuthProtocol::One);
            }
            12 => {
                let _ = ctap.set_pin("123456");
            }
            13 => {
                let _ = ctap.change_pin("123456", "654321");
            }
            14 => {
                let _ = ctap.pin_token("123456", Permissions::MAKE_CREDENTIAL, Some("example.com"));
                let _ = ctap.get_pin_token("123456");
            }
            15 => {
                let _ = ctap.get_uv_token(Permissions::GET_ASSERTION, None);
            }
            16 => {
                let options: CreationOptionsJson = serde_json::from_str(CREATE_OPTIONS).unwrap();
                let _ = webauthn::create(ctap, &options, "https://example.com", Some(&token()));
            }
            17 => {
                let options: RequestOptionsJson = serde_json::from_str(GET_OPTIONS).unwrap();
                let _ = webauthn::get(ctap, &options, "https://example.com", None);
            }
            18 => {
                let _ = ctap.delete_credential(&token(), &[1, 2, 3]);
                let user = User {
                    id: b"user".to_vec(),
                    name: Some("ada".into()),
                    display_name: Some("Ada".into()),
                };
                let _ = ctap.update_user_information(&token(), &[1, 2, 3], &user);
                let _ = ctap.reset();
                let _ = ctap.selection();
            }
            _ => {
                let mut u2f = U2f::new(ctap.device_mut());
                u2f.max_polls = 3;
                let _ = u2f.version();
                if let Ok(reg) = u2f.register(&[1; 32], &[2; 32]) {
                    let _ = u2f.check_key_handle(&[2; 32], &reg.key_handle);
                }
                let _ = u2f.authenticate(
                    AuthenticateMode::EnforceUserPresence,
                    &[1; 32],
                    &[2; 32],
                    &[9; 16],
                );
            }
        }
    }
}

fn hid_ops(transport: Reports<'_>, ops: &[u8]) {
    let Ok(mut device) = HidDevice::open(transport, [7; 8]) else {
        return;
    };
    let cancel = ops.first().is_some_and(|op| op & 0x80 != 0);
    device.set_keepalive_handler(move |status| {
        if cancel && status == KeepaliveStatus::UpNeeded {
            KeepaliveAction::Cancel
        } else {
            KeepaliveAction::Continue
        }
    });
    let _ = (device.info(), device.cid());
    for &op in ops {
        let _ = match op % 7 {
            0 => device.ping(&[0x55; 100]),
            1 => device.wink(),
            2 => device.lock(3),
            3 => device.cbor(&[0x04]).map(drop),
            4 => device.msg(&[0x00, 0x03, 0x00, 0x00]).map(drop),
            5 => device.call(Command::Ping, &[]).map(drop),
            _ => match Ctap2::with_rng(&mut device, Box::new(XorShiftRng::new(3))) {
                Ok(mut ctap) => {
                    ctap2_ops(&mut ctap, &[op >> 3]);
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor::new(data);
    let mode = input.u8();
    let ops = input.take(4);
    let rest = input.rest();
    match mode % 3 {
        0 => parsers(rest),
        1 => {
            let device = Canned {
                answers: Cursor::new(rest),
            };
            if let Ok(mut ctap) = Ctap2::with_rng(device, Box::new(XorShiftRng::new(3))) {
                let _ = ctap.info().max_msg_size();
                ctap2_ops(&mut ctap, ops);
            }
        }
        _ => hid_ops(
            Reports {
                reports: Cursor::new(rest),
            },
            ops,
        ),
    }
});
