//! A small software authenticator for the ceremony tests.
//!
//! It makes credentials (ES256, EdDSA, and an ES384 key for the key/alg mismatch case), encodes
//! their COSE keys, builds authenticator data, clientDataJSON, attestation objects (`none` and
//! `packed` self attestation) and assertions, and returns the WebAuthn L3 JSON the relying party
//! receives. Every field is public and every encoded piece has an override, so each test can
//! break exactly one thing and leave the rest valid (signatures are always computed over the
//! bytes that are finally sent, unless the signature itself is what a test overrides).
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};
use ciborium::value::Value;
use latch_webauthn::auth_data::Flags;
use latch_webauthn::b64::{self, Base64Url};
use latch_webauthn::rp::rp_id_hash;
use latch_webauthn::wire::{
    AuthenticationResponseJson, AuthenticatorAssertionResponseJson,
    AuthenticatorAttestationResponseJson, RegistrationResponseJson,
};
use latch_webauthn::{
    AuthenticationState, Error, RegistrationState, RelyingParty, StoredCredential, UnixTime,
    UserVerification,
};

// ---- fixed test parameters ------------------------------------------------------------------

pub const RP_ID: &str = "example.com";
pub const ORIGIN: &str = "https://example.com";
pub const OTHER_RP_ID: &str = "evil.example";
pub const APPID: &str = "https://example.com/u2f/app-id.json";
/// 32 bytes, so its base64url form (43 characters) needs one `=` when padded.
pub const CHALLENGE: &[u8] = b"0123456789abcdef0123456789ABCDEF";
pub const USER_ID: &[u8] = b"user-alice-0001";
pub const OTHER_USER_ID: &[u8] = b"user-mallory-0002";
pub const CREDENTIAL_ID: &[u8] = b"credential-id-0123456789";
pub const OTHER_CREDENTIAL_ID: &[u8] = b"credential-id-9876543210";
pub const AAGUID: [u8; 16] = [
    0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8,
];
pub const AAGUID_TEXT: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
pub const OTHER_AAGUID: [u8; 16] = [0x11; 16];
pub const NOW: UnixTime = UnixTime(1_760_000_000);

pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const ES384: i64 = -35;

pub const UP: u8 = Flags::UP;
pub const UV: u8 = Flags::UV;
pub const BE: u8 = Flags::BE;
pub const BS: u8 = Flags::BS;
pub const AT: u8 = Flags::AT;
pub const ED: u8 = Flags::ED;

/// The relying party every test starts from: RP ID `example.com`, origin `https://example.com`,
/// default policy.
pub fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, [ORIGIN])
}

pub fn registration_state() -> RegistrationState {
    RegistrationState {
        challenge: CHALLENGE.to_vec(),
        user_id: USER_ID.to_vec(),
        user_verification: UserVerification::Preferred,
        allowed_algs: vec![ES256, EDDSA],
        require_user_presence: true,
    }
}

/// A username-first sign-in: the user is known and the credential is in allowCredentials.
pub fn authentication_state() -> AuthenticationState {
    AuthenticationState {
        challenge: CHALLENGE.to_vec(),
        user_verification: UserVerification::Preferred,
        allow_credentials: vec![CREDENTIAL_ID.to_vec()],
        user_id: Some(USER_ID.to_vec()),
        appid: None,
    }
}

/// A discoverable sign-in: no user known beforehand, empty allowCredentials.
pub fn discoverable_state() -> AuthenticationState {
    AuthenticationState {
        allow_credentials: Vec::new(),
        user_id: None,
        ..authentication_state()
    }
}

/// The error of a result that must have failed.
pub fn err<T: std::fmt::Debug>(r: Result<T, Error>) -> Error {
    match r {
        Ok(v) => panic!("expected the ceremony to fail, but it passed: {v:?}"),
        Err(e) => e,
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("CBOR encoding");
    out
}

pub fn int(i: i64) -> Value {
    Value::from(i)
}

pub fn text(s: &str) -> Value {
    Value::from(s)
}

pub fn bytes(b: &[u8]) -> Value {
    Value::from(b)
}

/// An EC2 COSE_Key: {1: 2, 3: alg, -1: crv, -2: x, -3: y}.
pub fn cose_ec2(alg: i64, crv: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
    cbor(&Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(alg)),
        (int(-1), int(crv)),
        (int(-2), bytes(x)),
        (int(-3), bytes(y)),
    ]))
}

/// An OKP COSE_Key: {1: 1, 3: alg, -1: crv, -2: x}.
pub fn cose_okp(alg: i64, crv: i64, x: &[u8]) -> Vec<u8> {
    cbor(&Value::Map(vec![
        (int(1), int(1)),
        (int(3), int(alg)),
        (int(-1), int(crv)),
        (int(-2), bytes(x)),
    ]))
}

// ---- keys -----------------------------------------------------------------------------------

enum KeyInner {
    P256(EcdsaKeyPair),
    P384(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A credential (or attestation) private key.
pub struct TestKey {
    inner: KeyInner,
}

impl TestKey {
    pub fn es256() -> TestKey {
        TestKey {
            inner: KeyInner::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap()),
        }
    }

    pub fn eddsa() -> TestKey {
        TestKey {
            inner: KeyInner::Ed25519(Ed25519KeyPair::generate().unwrap()),
        }
    }

    /// A P-384 key; its COSE encoding says ES384 unless a test overrides the alg.
    pub fn es384() -> TestKey {
        TestKey {
            inner: KeyInner::P384(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).unwrap()),
        }
    }

    /// The COSE algorithm this key signs with.
    pub fn alg(&self) -> i64 {
        match self.inner {
            KeyInner::P256(_) => ES256,
            KeyInner::P384(_) => ES384,
            KeyInner::Ed25519(_) => EDDSA,
        }
    }

    /// The public key as COSE_Key bytes, with the key's own alg.
    pub fn cose(&self) -> Vec<u8> {
        self.cose_with_alg(self.alg())
    }

    /// The public key as COSE_Key bytes claiming `alg` (for alg/key mismatch cases).
    pub fn cose_with_alg(&self, alg: i64) -> Vec<u8> {
        match &self.inner {
            KeyInner::P256(k) => {
                let p = k.public_key().as_ref();
                assert_eq!(p.len(), 65);
                cose_ec2(alg, 1, &p[1..33], &p[33..65])
            }
            KeyInner::P384(k) => {
                let p = k.public_key().as_ref();
                assert_eq!(p.len(), 97);
                cose_ec2(alg, 2, &p[1..49], &p[49..97])
            }
            KeyInner::Ed25519(k) => cose_okp(alg, 6, k.public_key().as_ref()),
        }
    }

    /// Signs `msg` the way an authenticator does (ECDSA: ASN.1 DER; EdDSA: raw 64 bytes).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.inner {
            KeyInner::P256(k) | KeyInner::P384(k) => {
                k.sign(&SystemRandom::new(), msg).unwrap().as_ref().to_vec()
            }
            KeyInner::Ed25519(k) => k.sign(msg).as_ref().to_vec(),
        }
    }
}

// ---- authenticator data ---------------------------------------------------------------------

/// Attested credential data (§6.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// Written as-is after the credential id.
    pub cose_key: Vec<u8>,
}

/// Authenticator data (§6.1), encoded exactly as the fields say: the flags byte is not derived
/// from which parts are present, so tests can make them disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<Attested>,
    /// Encoded extension outputs (a CBOR map), written after the attested data.
    pub extensions: Option<Vec<u8>>,
    /// Bytes appended at the very end.
    pub trailing: Vec<u8>,
}

impl AuthData {
    pub fn new(rp_id: &str, flags: u8, sign_count: u32) -> AuthData {
        AuthData {
            rp_id_hash: rp_id_hash(rp_id),
            flags,
            sign_count,
            attested: None,
            extensions: None,
            trailing: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.rp_id_hash);
        out.push(self.flags);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(a) = &self.attested {
            out.extend_from_slice(&a.aaguid);
            let len = u16::try_from(a.credential_id.len()).expect("credential id fits u16");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&a.credential_id);
            out.extend_from_slice(&a.cose_key);
        }
        if let Some(ext) = &self.extensions {
            out.extend_from_slice(ext);
        }
        out.extend_from_slice(&self.trailing);
        out
    }
}

// ---- client data ----------------------------------------------------------------------------

/// CollectedClientData, serialized the way browsers do (type, challenge, origin, crossOrigin,
/// topOrigin, then anything extra), unless `raw` replaces the whole text.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientData {
    pub ty: String,
    /// Written verbatim as the challenge member (normally base64url without padding).
    pub challenge: String,
    pub origin: String,
    pub cross_origin: Option<bool>,
    pub top_origin: Option<String>,
    pub token_binding: Option<serde_json::Value>,
    /// Further members, in order.
    pub extra: Vec<(String, serde_json::Value)>,
    /// The exact bytes to send instead of the serialization above.
    pub raw: Option<Vec<u8>>,
}

impl ClientData {
    pub fn new(ty: &str, challenge: &[u8]) -> ClientData {
        ClientData {
            ty: ty.to_owned(),
            challenge: b64::encode(challenge),
            origin: ORIGIN.to_owned(),
            cross_origin: Some(false),
            top_origin: None,
            token_binding: None,
            extra: Vec::new(),
            raw: None,
        }
    }

    pub fn create(challenge: &[u8]) -> ClientData {
        ClientData::new("webauthn.create", challenge)
    }

    pub fn get(challenge: &[u8]) -> ClientData {
        ClientData::new("webauthn.get", challenge)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let j = |v: &str| serde_json::to_string(v).unwrap();
        let mut s = format!(
            "{{\"type\":{},\"challenge\":{},\"origin\":{}",
            j(&self.ty),
            j(&self.challenge),
            j(&self.origin)
        );
        if let Some(c) = self.cross_origin {
            s.push_str(&format!(",\"crossOrigin\":{c}"));
        }
        if let Some(t) = &self.top_origin {
            s.push_str(&format!(",\"topOrigin\":{}", j(t)));
        }
        if let Some(tb) = &self.token_binding {
            s.push_str(&format!(",\"tokenBinding\":{tb}"));
        }
        for (k, v) in &self.extra {
            s.push_str(&format!(",{}:{v}", j(k)));
        }
        s.push('}');
        s.into_bytes()
    }
}

// ---- credentials ----------------------------------------------------------------------------

/// A credential living in the test authenticator.
pub struct TestCredential {
    pub key: TestKey,
    pub id: Vec<u8>,
    pub user_id: Vec<u8>,
    pub aaguid: [u8; 16],
}

impl TestCredential {
    pub fn new(key: TestKey) -> TestCredential {
        TestCredential {
            key,
            id: CREDENTIAL_ID.to_vec(),
            user_id: USER_ID.to_vec(),
            aaguid: AAGUID,
        }
    }

    pub fn es256() -> TestCredential {
        TestCredential::new(TestKey::es256())
    }

    pub fn eddsa() -> TestCredential {
        TestCredential::new(TestKey::eddsa())
    }

    /// What the relying party stored at registration.
    pub fn stored(&self, sign_count: u32, backup_eligible: bool) -> StoredCredential {
        StoredCredential {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            public_key_cose: self.key.cose(),
            sign_count,
            backup_eligible,
        }
    }

    /// A valid registration with `none` attestation, flags UP|UV|AT and counter 0.
    pub fn register(&self) -> Registration<'_> {
        Registration {
            cred: self,
            ty: "public-key".into(),
            id: None,
            raw_id: self.id.clone(),
            client_data: ClientData::create(CHALLENGE),
            auth_data: AuthData {
                attested: Some(Attested {
                    aaguid: self.aaguid,
                    credential_id: self.id.clone(),
                    cose_key: self.key.cose(),
                }),
                ..AuthData::new(RP_ID, UP | UV | AT, 0)
            },
            auth_data_override: None,
            fmt: "none".into(),
            packed_alg: None,
            packed_sig: None,
            att_stmt: None,
            attestation_object_override: None,
            transports: vec!["internal".into(), "hybrid".into()],
            authenticator_attachment: Some("platform".into()),
            client_extension_results: serde_json::Map::new(),
        }
    }

    /// A valid assertion: flags UP|UV, counter 6, userHandle present.
    pub fn assert(&self) -> Assertion<'_> {
        Assertion {
            signer: &self.key,
            ty: "public-key".into(),
            id: None,
            raw_id: self.id.clone(),
            client_data: ClientData::get(CHALLENGE),
            auth_data: AuthData::new(RP_ID, UP | UV, 6),
            auth_data_override: None,
            user_handle: Some(self.user_id.clone()),
            signed_data_override: None,
            signature_override: None,
            authenticator_attachment: Some("platform".into()),
            client_extension_results: serde_json::Map::new(),
        }
    }
}

// ---- registration ---------------------------------------------------------------------------

/// A registration response under construction. Defaults are valid; change one field to break
/// one check.
pub struct Registration<'a> {
    pub cred: &'a TestCredential,
    pub ty: String,
    /// `id`; `None` means base64url(rawId).
    pub id: Option<String>,
    pub raw_id: Vec<u8>,
    pub client_data: ClientData,
    pub auth_data: AuthData,
    /// Exact authenticator data bytes to send (and sign) instead of `auth_data`.
    pub auth_data_override: Option<Vec<u8>>,
    pub fmt: String,
    /// packed: the statement's alg (default: the credential key's).
    pub packed_alg: Option<i64>,
    /// packed: the statement's sig (default: a valid self-attestation signature).
    pub packed_sig: Option<Vec<u8>>,
    /// The whole attStmt (default: `{}` for every format but packed).
    pub att_stmt: Option<Value>,
    /// Exact attestation object bytes to send.
    pub attestation_object_override: Option<Vec<u8>>,
    pub transports: Vec<String>,
    pub authenticator_attachment: Option<String>,
    pub client_extension_results: serde_json::Map<String, serde_json::Value>,
}

impl Registration<'_> {
    pub fn packed(mut self) -> Self {
        self.fmt = "packed".into();
        self
    }

    pub fn auth_data_bytes(&self) -> Vec<u8> {
        self.auth_data_override
            .clone()
            .unwrap_or_else(|| self.auth_data.to_bytes())
    }

    pub fn client_data_json(&self) -> Vec<u8> {
        self.client_data.to_bytes()
    }

    /// authenticatorData || SHA-256(clientDataJSON), what a packed statement signs.
    pub fn signed_data(&self) -> Vec<u8> {
        let mut m = self.auth_data_bytes();
        m.extend_from_slice(&sha256(&self.client_data_json()));
        m
    }

    pub fn att_stmt(&self) -> Value {
        if let Some(s) = &self.att_stmt {
            return s.clone();
        }
        if self.fmt == "packed" {
            let alg = self.packed_alg.unwrap_or_else(|| self.cred.key.alg());
            let sig = self
                .packed_sig
                .clone()
                .unwrap_or_else(|| self.cred.key.sign(&self.signed_data()));
            return Value::Map(vec![
                (text("alg"), int(alg)),
                (text("sig"), Value::Bytes(sig)),
            ]);
        }
        Value::Map(Vec::new())
    }

    pub fn attestation_object(&self) -> Vec<u8> {
        if let Some(o) = &self.attestation_object_override {
            return o.clone();
        }
        cbor(&Value::Map(vec![
            (text("fmt"), text(&self.fmt)),
            (text("attStmt"), self.att_stmt()),
            (text("authData"), Value::Bytes(self.auth_data_bytes())),
        ]))
    }

    pub fn response(&self) -> RegistrationResponseJson {
        RegistrationResponseJson {
            id: self.id.clone().unwrap_or_else(|| b64::encode(&self.raw_id)),
            raw_id: Base64Url(self.raw_id.clone()),
            response: AuthenticatorAttestationResponseJson {
                client_data_json: Base64Url(self.client_data_json()),
                attestation_object: Base64Url(self.attestation_object()),
                authenticator_data: Some(Base64Url(self.auth_data_bytes())),
                transports: self.transports.clone(),
                public_key: None,
                public_key_algorithm: Some(self.cred.key.alg()),
            },
            authenticator_attachment: self.authenticator_attachment.clone(),
            client_extension_results: self.client_extension_results.clone(),
            ty: self.ty.clone(),
        }
    }
}

// ---- authentication -------------------------------------------------------------------------

/// An assertion response under construction. Defaults are valid; change one field to break one
/// check.
pub struct Assertion<'a> {
    /// The key that signs (the credential's own by default).
    pub signer: &'a TestKey,
    pub ty: String,
    pub id: Option<String>,
    pub raw_id: Vec<u8>,
    pub client_data: ClientData,
    pub auth_data: AuthData,
    pub auth_data_override: Option<Vec<u8>>,
    pub user_handle: Option<Vec<u8>>,
    /// Sign these bytes instead of authenticatorData || SHA-256(clientDataJSON).
    pub signed_data_override: Option<Vec<u8>>,
    pub signature_override: Option<Vec<u8>>,
    pub authenticator_attachment: Option<String>,
    pub client_extension_results: serde_json::Map<String, serde_json::Value>,
}

impl Assertion<'_> {
    pub fn auth_data_bytes(&self) -> Vec<u8> {
        self.auth_data_override
            .clone()
            .unwrap_or_else(|| self.auth_data.to_bytes())
    }

    pub fn client_data_json(&self) -> Vec<u8> {
        self.client_data.to_bytes()
    }

    /// authenticatorData || SHA-256(clientDataJSON), what an assertion signs.
    pub fn signed_data(&self) -> Vec<u8> {
        let mut m = self.auth_data_bytes();
        m.extend_from_slice(&sha256(&self.client_data_json()));
        m
    }

    pub fn signature(&self) -> Vec<u8> {
        if let Some(s) = &self.signature_override {
            return s.clone();
        }
        let msg = self
            .signed_data_override
            .clone()
            .unwrap_or_else(|| self.signed_data());
        self.signer.sign(&msg)
    }

    pub fn response(&self) -> AuthenticationResponseJson {
        AuthenticationResponseJson {
            id: self.id.clone().unwrap_or_else(|| b64::encode(&self.raw_id)),
            raw_id: Base64Url(self.raw_id.clone()),
            response: AuthenticatorAssertionResponseJson {
                client_data_json: Base64Url(self.client_data_json()),
                authenticator_data: Base64Url(self.auth_data_bytes()),
                signature: Base64Url(self.signature()),
                user_handle: self.user_handle.clone().map(Base64Url),
            },
            authenticator_attachment: self.authenticator_attachment.clone(),
            client_extension_results: self.client_extension_results.clone(),
            ty: self.ty.clone(),
        }
    }
}
