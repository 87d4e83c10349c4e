//! Shared by the latch-ctap fuzz targets: a byte cursor for splitting one input into several
//! records, and a fixed U2F/CTAP2 batch attestation (a P-256 key and a self-signed certificate
//! made once with openssl, so every run signs with the same key and no certificate has to be
//! generated per input).
#![allow(dead_code)]

use latch_ctap::command::{BatchAttestation, Config};
use latch_ctap::credential::PrivateKey;

/// PKCS#8 of the batch key (P-256).
const BATCH_KEY_PKCS8: &str = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104209a108103c408c2b6c99814a3c008fc50bc89b4c92ec912c9fa3cadfb966a128aa14403420004afd80d74a13326964fb2a656091e4e90cfb6114ac060a9f4d77a6a872ca962df0a5ca7e5f4398a7157168de25d539062de1cc9cbbcf4fea46ab831d2700de11f";

/// Self-signed certificate of the batch key, CN "Latch U2F fuzz batch".
const BATCH_CERT_DER: &str = "308201953082013ba003020102021424342bb122ccd3660d2ebdf8bbcc15c5d00798c1300a06082a8648ce3d040302301f311d301b06035504030c144c61746368205532462066757a7a2062617463683020170d3236313132333133303831315a180f32313236313033303133303831315a301f311d301b06035504030c144c61746368205532462066757a7a2062617463683059301306072a8648ce3d020106082a8648ce3d03010703420004afd80d74a13326964fb2a656091e4e90cfb6114ac060a9f4d77a6a872ca962df0a5ca7e5f4398a7157168de25d539062de1cc9cbbcf4fea46ab831d2700de11fa3533051301d0603551d0e041604146a9744c527e520bf5a0d16b388edb4772f268e37301f0603551d230418301680146a9744c527e520bf5a0d16b388edb4772f268e37300f0603551d130101ff040530030101ff300a06082a8648ce3d040302034800304502201233dd5d4c72fdba69e3f195650fb9cbef825c6bad8a507c1adbeae0ce2a5ad7022100f7f8a023a218758ab1e3f2d0d8033963cbbbf4b64158bf317bf91dbcd0b2b7b5";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex constant"))
        .collect()
}

/// The fixed batch attestation (a fresh value each call: `PrivateKey` is not `Clone`).
pub fn batch_attestation() -> BatchAttestation {
    BatchAttestation {
        key: PrivateKey::es256_from_pkcs8(&hex(BATCH_KEY_PKCS8)).expect("fixed P-256 PKCS#8"),
        certificates: vec![hex(BATCH_CERT_DER)],
    }
}

/// The authenticator configuration the targets use.
pub fn config(attestation: bool, built_in_uv: bool) -> Config {
    Config {
        aaguid: [0xAA; 16],
        firmware_version: 1,
        attestation: attestation.then(batch_attestation),
        built_in_uv,
        synced_discoverable: false,
    }
}

/// Reads an input front to back; every read past the end yields zeros or empty slices, so a
/// target never has to reject a short input.
pub struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn u8(&mut self) -> u8 {
        let (first, rest) = self
            .rest
            .split_first()
            .map_or((0, &[][..]), |(f, r)| (*f, r));
        self.rest = rest;
        first
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    /// A record with a two-byte big-endian length prefix (clamped to what is left).
    pub fn chunk(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        self.take(len)
    }
}
