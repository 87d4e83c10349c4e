//! Client tests: HID framing against scripts and the in-process key, exact request bytes, and
//! round trips of every client call (CTAP2, ClientPIN, credential management, config, large
//! blobs, reset, selection, U2F, built-in UV, WebAuthn) against the real authenticator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod blob_roundtrip;
mod config;
mod cred_mgmt;
mod ctap2;
mod encoding;
mod extensions;
mod hid;
mod large_blobs;
mod pin;
mod reset;
mod u2f;
mod uv;
mod webauthn;

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use super::loopback::Loopback;
use super::{Ctap2, CtapDevice, Error, HidDevice, Transport};
use crate::hid::{split, Cid, Command, Report};
use crate::testing::XorShiftRng;

pub(super) const NONCE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Records every report sent through it.
pub(super) struct Recording<T> {
    pub(super) inner: T,
    pub(super) sent: Vec<Report>,
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        self.sent.push(*report);
        self.inner.send(report)
    }
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        self.inner.recv(timeout)
    }
}

/// Replies from a script whatever is sent; `None` is a timeout.
#[derive(Default)]
pub(super) struct Script {
    pub(super) sent: Vec<Report>,
    pub(super) replies: VecDeque<Option<Report>>,
}

impl Script {
    pub(super) fn reply(&mut self, cid: u32, cmd: Command, payload: &[u8]) {
        self.replies
            .extend(split(Cid(cid), cmd, payload).unwrap().map(Some));
    }

    pub(super) fn raw(&mut self, report: Report) {
        self.replies.push_back(Some(report));
    }
}

impl Transport for Script {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        self.sent.push(*report);
        Ok(())
    }
    fn recv(&mut self, _timeout: Duration) -> io::Result<Option<Report>> {
        Ok(self.replies.pop_front().flatten())
    }
}

/// A fresh in-process key behind a recording transport, opened.
pub(super) fn open_loopback() -> HidDevice<Recording<Loopback>> {
    let inner = Loopback::fresh(42).unwrap();
    HidDevice::open(
        Recording {
            inner,
            sent: Vec::new(),
        },
        NONCE,
    )
    .unwrap()
}

/// A CTAP2 client over a fresh in-process key.
pub(super) fn ctap2() -> Ctap2<HidDevice<Recording<Loopback>>> {
    Ctap2::with_rng(open_loopback(), Box::new(XorShiftRng::new(9))).unwrap()
}

/// The PIN [`ctap2_with_pin`] sets.
pub(super) const PIN: &str = "1234";

/// A CTAP2 client over a fresh in-process key whose PIN is [`PIN`].
pub(super) fn ctap2_with_pin() -> Ctap2<HidDevice<Recording<Loopback>>> {
    let mut ctap = ctap2();
    ctap.set_pin(PIN).unwrap();
    ctap.refresh_info().unwrap();
    ctap
}

/// The in-process key behind a client.
pub(super) fn key(ctap: &mut Ctap2<HidDevice<Recording<Loopback>>>) -> &mut Loopback {
    &mut ctap.device_mut().transport_mut().inner
}

/// A PIN token with `permissions` (and no RP ID) for [`PIN`].
pub(super) fn token<D: CtapDevice>(
    ctap: &mut Ctap2<D>,
    permissions: crate::pin::Permissions,
) -> super::PinUvAuthToken {
    ctap.get_pin_uv_auth_token(PIN, permissions, None).unwrap()
}

/// makeCredential for `rp_id` and `user` with a fresh mc token for [`PIN`]; ES256, client
/// data hash 0x42 × 32.
pub(super) fn make<D: CtapDevice>(
    ctap: &mut Ctap2<D>,
    rp_id: &str,
    user: super::ctap2::User,
    rk: bool,
    extensions: Vec<(String, ciborium::value::Value)>,
) -> super::MadeCredential {
    use super::ctap2::{MakeCredentialRequest, PinUvAuthParam, Rp};
    let token = ctap
        .get_pin_uv_auth_token(PIN, crate::pin::Permissions::MAKE_CREDENTIAL, Some(rp_id))
        .unwrap();
    let hash = [0x42; 32];
    ctap.make_credential(&MakeCredentialRequest {
        client_data_hash: hash,
        rp: Rp {
            id: rp_id.into(),
            name: None,
        },
        user,
        algorithms: vec![-7],
        extensions,
        rk: rk.then_some(true),
        pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
        ..MakeCredentialRequest::default()
    })
    .unwrap()
}

/// A user entity.
pub(super) fn user(id: &[u8], name: &str, display_name: &str) -> super::ctap2::User {
    super::ctap2::User {
        id: id.to_vec(),
        name: Some(name.into()),
        display_name: Some(display_name.into()),
    }
}

/// A CtapDevice that records each CBOR request and answers from a list (status + body).
pub(super) struct Canned {
    pub(super) requests: Vec<Vec<u8>>,
    pub(super) answers: VecDeque<Vec<u8>>,
}

impl CtapDevice for Canned {
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.requests.push(request.to_vec());
        self.answers
            .pop_front()
            .ok_or_else(|| Error::Invalid("script exhausted".into()))
    }
    fn msg(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        self.requests.push(apdu.to_vec());
        self.answers
            .pop_front()
            .ok_or_else(|| Error::Invalid("script exhausted".into()))
    }
    fn pause(&mut self, _: Duration) -> Result<(), Error> {
        Ok(())
    }
}

/// A CTAP2 client over a [`Canned`] device whose getInfo lists `options`, protocol 2 and
/// maxMsgSize `max_msg_size`; `answers` follow.
pub(super) fn canned(
    options: &[(&str, bool)],
    max_msg_size: u64,
    answers: Vec<Vec<u8>>,
) -> Ctap2<Canned> {
    use crate::cbor::{encode, int_key, text_key};
    use ciborium::value::Value;
    let info = Value::Map(vec![
        int_key(1, Value::Array(vec![Value::Text("FIDO_2_1".into())])),
        int_key(3, Value::Bytes(vec![0; 16])),
        int_key(
            4,
            Value::Map(
                options
                    .iter()
                    .map(|(k, v)| text_key(k, Value::Bool(*v)))
                    .collect(),
            ),
        ),
        int_key(5, Value::Integer(max_msg_size.into())),
        int_key(6, Value::Array(vec![Value::Integer(2.into())])),
    ]);
    let mut first = vec![0];
    first.extend(encode(&info).unwrap());
    let mut all = vec![first];
    all.extend(answers);
    let mut ctap = Ctap2::with_rng(
        Canned {
            requests: Vec::new(),
            answers: all.into(),
        },
        Box::new(XorShiftRng::new(5)),
    )
    .unwrap();
    ctap.device_mut().requests.clear();
    ctap
}

/// HMAC-SHA-256(key, message), computed independently of the client.
pub(super) fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    use aws_lc_rs::hmac;
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .to_vec()
}

/// Hex for readable expected bytes.
pub(super) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The extension outputs of authData (makeCredential's, after the attested credential data,
/// or getAssertion's, after the 37-byte header); `None` without the ED flag.
pub(super) fn extension_outputs(auth_data: &[u8]) -> Option<ciborium::value::Value> {
    if auth_data[32] & 0x80 == 0 {
        return None;
    }
    let mut rest = &auth_data[37..];
    if auth_data[32] & 0x40 != 0 {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        rest = &rest[18 + len..];
        let _key: ciborium::value::Value = ciborium::de::from_reader(&mut rest).unwrap();
    }
    let outputs = ciborium::de::from_reader(&mut rest).unwrap();
    assert!(rest.is_empty(), "bytes after the extension outputs");
    Some(outputs)
}

/// A text-keyed CBOR map from pairs.
pub(super) fn text_map(pairs: &[(&str, ciborium::value::Value)]) -> ciborium::value::Value {
    ciborium::value::Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (ciborium::value::Value::Text((*k).into()), v.clone()))
            .collect(),
    )
}
