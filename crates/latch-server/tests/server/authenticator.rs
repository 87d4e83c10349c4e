//! A software authenticator: ES256 credentials (aws-lc-rs), `none` attestation, and the
//! WebAuthn L3 JSON a browser's `toJSON()` would send, built from the options the server
//! returned. Each ceremony takes a [`Tweak`] so a test can break exactly one thing.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use ciborium::value::Value as Cbor;
use latch_webauthn::b64;
use serde_json::{json, Value};

pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
pub const AT: u8 = 0x40;

pub const AAGUID: [u8; 16] = [
    0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8,
];

/// What to change in one response (everything else stays valid).
#[derive(Debug, Clone, Default)]
pub struct Tweak {
    pub origin: Option<String>,
    pub challenge: Option<Vec<u8>>,
    /// The counter to send instead of the next one.
    pub counter: Option<u32>,
    pub flags: Option<u8>,
    /// Corrupt the signature.
    pub bad_signature: bool,
    /// The AAGUID to register with instead of [`AAGUID`].
    pub aaguid: Option<[u8; 16]>,
    /// The length of a new credential's id instead of 32 bytes.
    pub id_len: Option<usize>,
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

fn client_data(ty: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    format!(
        "{{\"type\":{},\"challenge\":{},\"origin\":{},\"crossOrigin\":false}}",
        json!(ty),
        json!(b64::encode(challenge)),
        json!(origin)
    )
    .into_bytes()
}

/// A credential living in the authenticator.
pub struct Passkey {
    pub id: Vec<u8>,
    key: EcdsaKeyPair,
    pub user_handle: Vec<u8>,
    pub rp_id: String,
    pub counter: u32,
    /// Synced (backup eligible and backed up), as a platform passkey; else a security key.
    pub synced: bool,
}

fn challenge_of(options: &Value) -> Vec<u8> {
    b64::decode(options["challenge"].as_str().unwrap()).unwrap()
}

impl Passkey {
    /// `navigator.credentials.create()` with the `publicKey` options the server sent.
    pub fn create(options: &Value, origin: &str, synced: bool, tweak: &Tweak) -> (Passkey, Value) {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let mut id = vec![0u8; tweak.id_len.unwrap_or(32)];
        aws_lc_rs::rand::fill(&mut id).unwrap();
        let passkey = Passkey {
            id,
            key,
            user_handle: b64::decode(options["user"]["id"].as_str().unwrap()).unwrap(),
            rp_id: options["rp"]["id"].as_str().unwrap().to_owned(),
            counter: 0,
            synced,
        };
        let response = passkey.registration(options, origin, tweak);
        (passkey, response)
    }

    fn flags(&self, base: u8) -> u8 {
        if self.synced {
            base | BE | BS
        } else {
            base
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        let p = self.key.public_key().as_ref();
        cbor(&Cbor::Map(vec![
            (Cbor::from(1), Cbor::from(2)),
            (Cbor::from(3), Cbor::from(-7)),
            (Cbor::from(-1), Cbor::from(1)),
            (Cbor::from(-2), Cbor::from(&p[1..33])),
            (Cbor::from(-3), Cbor::from(&p[33..65])),
        ]))
    }

    /// Authenticator data; `attested` carries the AAGUID of the attested credential data.
    fn auth_data(&self, flags: u8, counter: u32, attested: Option<[u8; 16]>) -> Vec<u8> {
        let mut out = sha256(self.rp_id.as_bytes());
        out.push(flags);
        out.extend_from_slice(&counter.to_be_bytes());
        if let Some(aaguid) = attested {
            out.extend_from_slice(&aaguid);
            out.extend_from_slice(&u16::try_from(self.id.len()).unwrap().to_be_bytes());
            out.extend_from_slice(&self.id);
            out.extend_from_slice(&self.cose_key());
        }
        out
    }

    /// The RegistrationResponseJSON for this credential and these options.
    pub fn registration(&self, options: &Value, origin: &str, tweak: &Tweak) -> Value {
        let challenge = tweak
            .challenge
            .clone()
            .unwrap_or_else(|| challenge_of(options));
        let origin = tweak.origin.as_deref().unwrap_or(origin);
        let cdata = client_data("webauthn.create", &challenge, origin);
        let flags = tweak.flags.unwrap_or_else(|| self.flags(UP | UV | AT));
        let aaguid = tweak.aaguid.unwrap_or(AAGUID);
        let auth_data = self.auth_data(flags, tweak.counter.unwrap_or(0), Some(aaguid));
        let att_obj = cbor(&Cbor::Map(vec![
            (Cbor::from("fmt"), Cbor::from("none")),
            (Cbor::from("attStmt"), Cbor::Map(Vec::new())),
            (Cbor::from("authData"), Cbor::Bytes(auth_data.clone())),
        ]));
        let transports = if self.synced {
            json!(["hybrid", "internal"])
        } else {
            json!(["nfc", "usb"])
        };
        json!({
            "id": b64::encode(&self.id),
            "rawId": b64::encode(&self.id),
            "type": "public-key",
            "authenticatorAttachment": if self.synced { "platform" } else { "cross-platform" },
            "clientExtensionResults": { "credProps": { "rk": true } },
            "response": {
                "clientDataJSON": b64::encode(&cdata),
                "attestationObject": b64::encode(&att_obj),
                "authenticatorData": b64::encode(&auth_data),
                "transports": transports,
                "publicKeyAlgorithm": -7,
            }
        })
    }

    /// `navigator.credentials.get()`: an AuthenticationResponseJSON (the counter advances).
    pub fn get(&mut self, options: &Value, origin: &str, tweak: &Tweak) -> Value {
        let challenge = tweak
            .challenge
            .clone()
            .unwrap_or_else(|| challenge_of(options));
        let origin = tweak.origin.as_deref().unwrap_or(origin);
        let cdata = client_data("webauthn.get", &challenge, origin);
        self.counter += 1;
        let counter = tweak.counter.unwrap_or(self.counter);
        let flags = tweak.flags.unwrap_or_else(|| self.flags(UP | UV));
        let auth_data = self.auth_data(flags, counter, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&cdata));
        let mut signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .unwrap()
            .as_ref()
            .to_vec();
        if tweak.bad_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        json!({
            "id": b64::encode(&self.id),
            "rawId": b64::encode(&self.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64::encode(&cdata),
                "authenticatorData": b64::encode(&auth_data),
                "signature": b64::encode(&signature),
                "userHandle": b64::encode(&self.user_handle),
            }
        })
    }
}
