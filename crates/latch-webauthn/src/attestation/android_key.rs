//! `android-key` attestation (§8.4): an Android Keystore / KeyMint key attestation chain whose
//! leaf certifies the credential key and carries the KeyDescription extension.
//!
//! The checks run in the spec's order, each with its own [`AndroidKeyError`] variant:
//! `alg`, `sig` and `x5c` are present; `sig` verifies over authenticatorData || clientDataHash
//! with the leaf's key; the leaf's key is the credential key; the KeyDescription extension
//! (1.3.6.1.4.1.11129.2.1.17) is present and well-formed DER; its `attestationChallenge` is the
//! clientDataHash; `allApplications` is on neither authorization list; `origin` is
//! `KM_ORIGIN_GENERATED` and `purpose` holds `KM_PURPOSE_SIGN` (in `teeEnforced` only when the
//! policy requires hardware keys, else in the union of both lists); then the certificate path.

use thiserror::Error;
use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer, Tag};

use super::{
    check_path, stmt_get, AttestationError, AttestationInput, AttestationOutcome, AttestationType,
};
use crate::cert;
use crate::cose;

/// The Android key attestation extension (KeyDescription).
pub const KEY_DESCRIPTION_OID: &str = "1.3.6.1.4.1.11129.2.1.17";
/// `KM_ORIGIN_GENERATED`: the key was generated inside the keystore.
pub const KM_ORIGIN_GENERATED: i64 = 0;
/// `KM_PURPOSE_SIGN`.
pub const KM_PURPOSE_SIGN: i64 = 2;

/// AuthorizationList tags this format reads (all EXPLICIT, context-specific).
const TAG_PURPOSE: u32 = 1;
const TAG_ALL_APPLICATIONS: u32 = 600;
const TAG_ORIGIN: u32 = 702;

/// A failed android-key check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AndroidKeyError {
    #[error("attStmt alg is missing or not an integer")]
    AlgMissing,
    #[error("attStmt sig is missing or not a byte string")]
    SigMissing,
    #[error("attStmt x5c is missing, empty, or holds a non-byte-string item")]
    X5cMissing,
    #[error("statement alg {0} cannot be used with the attestation certificate's key")]
    AlgUnsupported(i64),
    #[error(
        "sig does not verify over authenticatorData || clientDataHash with the certificate's key"
    )]
    SignatureInvalid,
    #[error("the attestation certificate's public key differs from the credential public key")]
    CredentialKeyMismatch,
    #[error("the attestation certificate lacks the key description extension (1.3.6.1.4.1.11129.2.1.17)")]
    KeyDescriptionMissing,
    #[error("the key description extension is malformed: {0}")]
    KeyDescriptionMalformed(String),
    #[error("attestationChallenge differs from clientDataHash")]
    ChallengeMismatch,
    #[error("allApplications is present: the key is not scoped to one application")]
    AllApplications,
    #[error("origin is missing or is not KM_ORIGIN_GENERATED in the authorization list(s) used")]
    OriginNotGenerated,
    #[error("purpose does not include KM_PURPOSE_SIGN in the authorization list(s) used")]
    PurposeNotSign,
}

impl AndroidKeyError {
    pub fn code(&self) -> &'static str {
        use AndroidKeyError as E;
        match self {
            E::AlgMissing => "android_key_alg_missing",
            E::SigMissing => "android_key_sig_missing",
            E::X5cMissing => "android_key_x5c_missing",
            E::AlgUnsupported(_) => "android_key_alg_unsupported",
            E::SignatureInvalid => "android_key_signature_invalid",
            E::CredentialKeyMismatch => "android_key_credential_key_mismatch",
            E::KeyDescriptionMissing => "android_key_key_description_missing",
            E::KeyDescriptionMalformed(_) => "android_key_key_description_malformed",
            E::ChallengeMismatch => "android_key_challenge_mismatch",
            E::AllApplications => "android_key_all_applications",
            E::OriginNotGenerated => "android_key_origin_not_generated",
            E::PurposeNotSign => "android_key_purpose_not_sign",
        }
    }
}

/// The parts of an `AuthorizationList` this format checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationList {
    /// `[1] purpose SET OF INTEGER`
    pub purpose: Option<Vec<i64>>,
    /// `[600] allApplications NULL`
    pub all_applications: bool,
    /// `[702] origin INTEGER`
    pub origin: Option<i64>,
}

/// The KeyDescription extension value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescription {
    pub attestation_version: i64,
    pub attestation_security_level: u32,
    pub keymint_version: i64,
    pub keymint_security_level: u32,
    pub attestation_challenge: Vec<u8>,
    pub unique_id: Vec<u8>,
    pub software_enforced: AuthorizationList,
    pub tee_enforced: AuthorizationList,
}

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    // CBOR syntax: alg, sig, x5c.
    let alg = match stmt_get(input.att_stmt, "alg")? {
        Some(ciborium::value::Value::Integer(i)) => {
            i64::try_from(*i).map_err(|_| AndroidKeyError::AlgMissing)?
        }
        _ => return Err(AndroidKeyError::AlgMissing.into()),
    };
    let sig = match stmt_get(input.att_stmt, "sig")? {
        Some(ciborium::value::Value::Bytes(b)) => b.as_slice(),
        _ => return Err(AndroidKeyError::SigMissing.into()),
    };
    let x5c = read_x5c(input.att_stmt)?;
    let chain = cert::parse_all(&x5c)?;
    let leaf = chain.first().ok_or(AndroidKeyError::X5cMissing)?;

    // sig over authenticatorData || clientDataHash with the leaf's key and alg.
    let leaf_key = cert::spki_key(leaf.public_key())?;
    cose::verify_with(
        &leaf_key,
        alg,
        &input.signed_data(),
        sig,
        input.policy.allow_sha1,
    )
    .map_err(|e| match e {
        crate::Error::BadSignature => AndroidKeyError::SignatureInvalid,
        _ => AndroidKeyError::AlgUnsupported(alg),
    })?;

    // The leaf certifies the credential key.
    if leaf_key != input.credential.public_key.key {
        return Err(AndroidKeyError::CredentialKeyMismatch.into());
    }

    // The key description extension.
    let (_, ext) =
        cert::extension(leaf, KEY_DESCRIPTION_OID).ok_or(AndroidKeyError::KeyDescriptionMissing)?;
    let description = parse_key_description(ext)?;

    if description.attestation_challenge.as_slice() != input.client_data_hash.as_slice() {
        return Err(AndroidKeyError::ChallengeMismatch.into());
    }
    check_authorizations(&description, input.policy.android_key_require_hardware)?;

    let trust = check_path(input, "android-key", &chain)?;
    Ok(AttestationOutcome {
        fmt: "android-key",
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        trust,
        sub: Vec::new(),
    })
}

/// x5c: an array of byte strings (an empty one is refused where the leaf is taken).
fn read_x5c(stmt: &ciborium::value::Value) -> Result<Vec<Vec<u8>>, AttestationError> {
    match stmt_get(stmt, "x5c")? {
        Some(ciborium::value::Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                ciborium::value::Value::Bytes(b) => Ok(b.clone()),
                _ => Err(AndroidKeyError::X5cMissing.into()),
            })
            .collect(),
        _ => Err(AndroidKeyError::X5cMissing.into()),
    }
}

/// allApplications on neither list; origin GENERATED and purpose SIGN in the lists used.
fn check_authorizations(
    description: &KeyDescription,
    require_hardware: bool,
) -> Result<(), AndroidKeyError> {
    let software = &description.software_enforced;
    let tee = &description.tee_enforced;
    if software.all_applications || tee.all_applications {
        return Err(AndroidKeyError::AllApplications);
    }
    let lists: &[&AuthorizationList] = if require_hardware {
        &[tee]
    } else {
        &[tee, software]
    };
    // Every origin stated in the lists used must be GENERATED, and at least one must be stated.
    let mut origins = lists.iter().filter_map(|l| l.origin).peekable();
    if origins.peek().is_none() || origins.any(|o| o != KM_ORIGIN_GENERATED) {
        return Err(AndroidKeyError::OriginNotGenerated);
    }
    let signs = lists
        .iter()
        .filter_map(|l| l.purpose.as_ref())
        .any(|p| p.contains(&KM_PURPOSE_SIGN));
    if !signs {
        return Err(AndroidKeyError::PurposeNotSign);
    }
    Ok(())
}

// ---- KeyDescription (DER) ---------------------------------------------------------------------

fn malformed(what: impl Into<String>) -> AndroidKeyError {
    AndroidKeyError::KeyDescriptionMalformed(what.into())
}

/// The elements of a constructed value, read one at a time.
struct Elements<'a>(&'a [u8]);

impl<'a> Elements<'a> {
    fn next_any(&mut self) -> Option<Result<Any<'a>, AndroidKeyError>> {
        if self.0.is_empty() {
            return None;
        }
        Some(match Any::from_der(self.0) {
            Ok((rest, any)) => {
                self.0 = rest;
                Ok(any)
            }
            Err(e) => {
                self.0 = &[];
                Err(malformed(format!("bad DER element: {e}")))
            }
        })
    }

    fn require(&mut self, what: &str) -> Result<Any<'a>, AndroidKeyError> {
        self.next_any()
            .unwrap_or_else(|| Err(malformed(format!("{what} is missing"))))
    }
}

/// One DER value that fills `bytes` exactly.
fn single<'a>(bytes: &'a [u8], what: &str) -> Result<Any<'a>, AndroidKeyError> {
    match Any::from_der(bytes) {
        Ok(([], any)) => Ok(any),
        Ok((rest, _)) => Err(malformed(format!("{} bytes after {what}", rest.len()))),
        Err(e) => Err(malformed(format!("{what}: {e}"))),
    }
}

fn expect_universal(
    any: &Any<'_>,
    tag: Tag,
    constructed: bool,
    what: &str,
) -> Result<(), AndroidKeyError> {
    if any.class() != Class::Universal
        || any.tag() != tag
        || any.header.is_constructed() != constructed
    {
        return Err(malformed(format!(
            "{what} has the wrong type ({:?} {} {})",
            any.class(),
            any.tag(),
            if any.header.is_constructed() {
                "constructed"
            } else {
                "primitive"
            }
        )));
    }
    Ok(())
}

fn integer(any: &Any<'_>, what: &str) -> Result<i64, AndroidKeyError> {
    expect_universal(any, Tag::Integer, false, what)?;
    i64::try_from(any).map_err(|e| malformed(format!("{what}: {e}")))
}

fn enumerated(any: &Any<'_>, what: &str) -> Result<u32, AndroidKeyError> {
    expect_universal(any, Tag::Enumerated, false, what)?;
    x509_parser::der_parser::asn1_rs::Enumerated::try_from(any)
        .map(|e| e.0)
        .map_err(|e| malformed(format!("{what}: {e}")))
}

fn octets(any: &Any<'_>, what: &str) -> Result<Vec<u8>, AndroidKeyError> {
    expect_universal(any, Tag::OctetString, false, what)?;
    Ok(any.data.to_vec())
}

/// Parses `KeyDescription ::= SEQUENCE { attestationVersion INTEGER, attestationSecurityLevel
/// SecurityLevel, keyMintVersion INTEGER, keyMintSecurityLevel SecurityLevel,
/// attestationChallenge OCTET STRING, uniqueId OCTET STRING, softwareEnforced AuthorizationList,
/// hardwareEnforced AuthorizationList }`. Elements after these eight are ignored (later schema
/// versions may append some).
pub fn parse_key_description(der: &[u8]) -> Result<KeyDescription, AndroidKeyError> {
    let outer = single(der, "KeyDescription")?;
    expect_universal(&outer, Tag::Sequence, true, "KeyDescription")?;
    let mut items = Elements(outer.data);
    let attestation_version = integer(&items.require("attestationVersion")?, "attestationVersion")?;
    let attestation_security_level = enumerated(
        &items.require("attestationSecurityLevel")?,
        "attestationSecurityLevel",
    )?;
    let keymint_version = integer(&items.require("keyMintVersion")?, "keyMintVersion")?;
    let keymint_security_level = enumerated(
        &items.require("keyMintSecurityLevel")?,
        "keyMintSecurityLevel",
    )?;
    let attestation_challenge = octets(
        &items.require("attestationChallenge")?,
        "attestationChallenge",
    )?;
    let unique_id = octets(&items.require("uniqueId")?, "uniqueId")?;
    let software_enforced =
        authorization_list(&items.require("softwareEnforced")?, "softwareEnforced")?;
    let tee_enforced = authorization_list(&items.require("teeEnforced")?, "teeEnforced")?;
    // Later elements must still be well-formed DER.
    while let Some(extra) = items.next_any() {
        extra?;
    }
    Ok(KeyDescription {
        attestation_version,
        attestation_security_level,
        keymint_version,
        keymint_security_level,
        attestation_challenge,
        unique_id,
        software_enforced,
        tee_enforced,
    })
}

/// An AuthorizationList: a SEQUENCE of optional `[n] EXPLICIT` fields. Tags the format does not
/// use are skipped (but must be well-formed); a repeated tag is malformed.
fn authorization_list(any: &Any<'_>, what: &str) -> Result<AuthorizationList, AndroidKeyError> {
    expect_universal(any, Tag::Sequence, true, what)?;
    let mut list = AuthorizationList::default();
    let mut seen: Vec<u32> = Vec::new();
    let mut fields = Elements(any.data);
    while let Some(field) = fields.next_any() {
        let field = field?;
        if field.class() != Class::ContextSpecific || !field.header.is_constructed() {
            return Err(malformed(format!(
                "{what} holds a {:?} {} element, expected an explicit context-specific tag",
                field.class(),
                field.tag()
            )));
        }
        let tag = field.tag().0;
        if seen.contains(&tag) {
            return Err(malformed(format!("{what} repeats tag [{tag}]")));
        }
        seen.push(tag);
        let name = format!("{what} [{tag}]");
        let inner = single(field.data, &name)?;
        match tag {
            TAG_PURPOSE => {
                expect_universal(&inner, Tag::Set, true, &name)?;
                let mut purposes = Vec::new();
                let mut members = Elements(inner.data);
                while let Some(member) = members.next_any() {
                    purposes.push(integer(&member?, &name)?);
                }
                list.purpose = Some(purposes);
            }
            // Its presence is what matters, whatever it holds (the schema says NULL).
            TAG_ALL_APPLICATIONS => list.all_applications = true,
            TAG_ORIGIN => list.origin = Some(integer(&inner, &name)?),
            _ => {}
        }
    }
    Ok(list)
}

/// Fixtures shared by the android-key and android-safetynet tests: the conformance corpus cases
/// as owned statement inputs, and synthetic certificates minted with rcgen.
#[cfg(test)]
pub(crate) mod test_support {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, EcdsaSigningAlgorithm};
    use ciborium::value::Value;
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DistinguishedName,
        DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256,
    };
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    use crate::attestation::{AttestationInput, FormatPolicy, TrustStore};
    use crate::auth_data::{AttestedCredentialData, AuthenticatorData};
    use crate::registration::{sha256, AttestationObject};
    use crate::wire::RegistrationResponseJson;
    use crate::{
        b64, verify_registration, Error, RegistrationState, RelyingParty, UnixTime,
        UserVerification, VerifiedRegistration,
    };

    pub const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/registration/"
    );

    pub fn load(name: &str) -> serde_json::Value {
        let path = format!("{CORPUS}{name}.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    pub fn verify_at(case: &serde_json::Value) -> UnixTime {
        let text = case["verifyAt"].as_str().unwrap();
        UnixTime(
            OffsetDateTime::parse(text, &Rfc3339)
                .unwrap()
                .unix_timestamp(),
        )
    }

    fn response(case: &serde_json::Value) -> RegistrationResponseJson {
        serde_json::from_value(case["response"].clone()).unwrap()
    }

    /// Runs a corpus case through `verify_registration` as the corpus README prescribes:
    /// bundled roots plus the case's `expect.trustRoots`, clock at `verifyAt`.
    pub fn run_case(name: &str) -> Result<VerifiedRegistration, Error> {
        let case = load(name);
        let origins: Vec<String> = serde_json::from_value(case["origins"].clone()).unwrap();
        let mut rp = RelyingParty::new(case["rpId"].as_str().unwrap(), origins);
        if let Some(roots) = case["expect"]["trustRoots"].as_array() {
            for root in roots {
                rp.attestation
                    .trust
                    .add_root(b64::decode(root.as_str().unwrap()).unwrap());
            }
        }
        let state = RegistrationState {
            challenge: b64::decode(case["challenge"].as_str().unwrap()).unwrap(),
            user_id: vec![],
            user_verification: UserVerification::parse(
                case["userVerification"].as_str().unwrap_or("preferred"),
            ),
            allowed_algs: crate::cose::ALL_ALGORITHMS.to_vec(),
            require_user_presence: true,
        };
        verify_registration(&rp, &state, &response(&case), verify_at(&case))
    }

    /// Everything an `AttestationInput` borrows, owned so tests can alter any part.
    pub struct Parts {
        pub att_stmt: Value,
        pub auth_data_raw: Vec<u8>,
        pub auth_data: AuthenticatorData,
        pub credential: AttestedCredentialData,
        pub client_data_hash: [u8; 32],
        pub now: UnixTime,
        pub trust: TrustStore,
        pub policy: FormatPolicy,
    }

    impl Parts {
        /// A corpus case's statement, with the bundled roots and the case's own roots.
        pub fn from_case(name: &str) -> Parts {
            let case = load(name);
            let resp = response(&case);
            let obj = AttestationObject::parse(resp.response.attestation_object.as_ref()).unwrap();
            let auth_data = AuthenticatorData::parse(&obj.auth_data).unwrap();
            let credential = auth_data.attested.clone().unwrap();
            let mut trust = TrustStore::with_bundled_roots();
            if let Some(roots) = case["expect"]["trustRoots"].as_array() {
                for root in roots {
                    trust.add_root(b64::decode(root.as_str().unwrap()).unwrap());
                }
            }
            Parts {
                att_stmt: obj.att_stmt,
                auth_data_raw: obj.auth_data,
                auth_data,
                credential,
                client_data_hash: sha256(resp.response.client_data_json.as_ref()),
                now: verify_at(&case),
                trust,
                policy: FormatPolicy::default(),
            }
        }

        /// Synthetic parts: authenticator data certifying `point` (an uncompressed P-256 key).
        pub fn synthetic(point: &[u8], att_stmt: Value, client_data_hash: [u8; 32]) -> Parts {
            let auth_data_raw = auth_data_for(point);
            let auth_data = AuthenticatorData::parse(&auth_data_raw).unwrap();
            let credential = auth_data.attested.clone().unwrap();
            Parts {
                att_stmt,
                auth_data_raw,
                auth_data,
                credential,
                client_data_hash,
                now: UnixTime(1_700_000_000),
                trust: TrustStore::empty(),
                policy: FormatPolicy::default(),
            }
        }

        pub fn input(&self) -> AttestationInput<'_> {
            AttestationInput {
                att_stmt: &self.att_stmt,
                auth_data_raw: &self.auth_data_raw,
                auth_data: &self.auth_data,
                credential: &self.credential,
                client_data_hash: &self.client_data_hash,
                now: self.now,
                trust: &self.trust,
                policy: &self.policy,
            }
        }

        /// authenticatorData || clientDataHash.
        pub fn signed_data(&self) -> Vec<u8> {
            self.input().signed_data()
        }

        /// Replaces (`Some`) or removes (`None`) a member of the statement map.
        pub fn set_stmt(&mut self, key: &str, value: Option<Value>) {
            let Value::Map(map) = &mut self.att_stmt else {
                panic!("attStmt is not a map")
            };
            map.retain(|(k, _)| k.as_text() != Some(key));
            if let Some(v) = value {
                map.push((Value::Text(key.into()), v));
            }
        }

        pub fn stmt(&self, key: &str) -> &Value {
            let Value::Map(map) = &self.att_stmt else {
                panic!("attStmt is not a map")
            };
            &map.iter()
                .find(|(k, _)| k.as_text() == Some(key))
                .unwrap()
                .1
        }
    }

    /// Authenticator data (UP, UV, AT) with an ES256 COSE key for `point`.
    pub fn auth_data_for(point: &[u8]) -> Vec<u8> {
        assert_eq!(point.len(), 65);
        let key = Value::Map(vec![
            (Value::from(1), Value::from(2)),
            (Value::from(3), Value::from(-7)),
            (Value::from(-1), Value::from(1)),
            (Value::from(-2), Value::Bytes(point[1..33].to_vec())),
            (Value::from(-3), Value::Bytes(point[33..].to_vec())),
        ]);
        let mut out = vec![0x11; 32];
        out.push(0x45);
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&[0x22; 16]);
        out.extend_from_slice(&[0, 16]);
        out.extend_from_slice(&[0x33; 16]);
        ciborium::ser::into_writer(&key, &mut out).unwrap();
        out
    }

    /// A fresh P-256 key: rcgen's view (for certificates) and aws-lc-rs's (for signing).
    pub struct P256 {
        pub rcgen: KeyPair,
    }

    impl P256 {
        pub fn generate() -> P256 {
            P256 {
                rcgen: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
            }
        }
        pub fn point(&self) -> Vec<u8> {
            self.rcgen.public_key_raw().to_vec()
        }
        pub fn sign(&self, alg: &'static EcdsaSigningAlgorithm, msg: &[u8]) -> Vec<u8> {
            let key = EcdsaKeyPair::from_pkcs8(alg, self.rcgen.serialized_der()).unwrap();
            key.sign(&SystemRandom::new(), msg)
                .unwrap()
                .as_ref()
                .to_vec()
        }
    }

    /// A self-signed CA, and a leaf for `subject_key` with common name `cn` and extensions
    /// `(oid, value)`, signed by it. Both valid 2020-2040.
    pub struct Minted {
        pub ca_der: Vec<u8>,
        pub leaf_der: Vec<u8>,
    }

    pub fn mint(cn: &str, subject_key: &P256, extensions: Vec<(&[u64], Vec<u8>)>) -> Minted {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name = DistinguishedName::new();
        ca.distinguished_name
            .push(DnType::CommonName, "Latch test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.not_before = date_time_ymd(2020, 1, 1);
        ca.not_after = date_time_ymd(2040, 1, 1);
        let ca_cert = ca.self_signed(&ca_key).unwrap();

        let mut leaf = CertificateParams::default();
        leaf.distinguished_name = DistinguishedName::new();
        leaf.distinguished_name.push(DnType::CommonName, cn);
        leaf.not_before = date_time_ymd(2020, 1, 1);
        leaf.not_after = date_time_ymd(2040, 1, 1);
        for (oid, value) in extensions {
            leaf.custom_extensions
                .push(CustomExtension::from_oid_content(oid, value));
        }
        let leaf_cert = leaf
            .signed_by(&subject_key.rcgen, &ca_cert, &ca_key)
            .unwrap();
        Minted {
            ca_der: ca_cert.der().to_vec(),
            leaf_der: leaf_cert.der().to_vec(),
        }
    }

    // ---- a tiny DER writer for KeyDescription fixtures ----

    fn der_len(len: usize) -> Vec<u8> {
        match len {
            0..=127 => vec![len as u8],
            128..=255 => vec![0x81, len as u8],
            _ => vec![0x82, (len >> 8) as u8, len as u8],
        }
    }

    pub fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
        let mut out = tag.to_vec();
        out.extend(der_len(content.len()));
        out.extend_from_slice(content);
        out
    }

    /// `[n] EXPLICIT`, in the high-tag-number form above 30.
    pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
        if n < 31 {
            return tlv(&[0xa0 | n as u8], inner);
        }
        let mut groups = vec![(n & 0x7f) as u8];
        let mut rest = n >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        groups.push(0xbf);
        groups.reverse();
        tlv(&groups, inner)
    }

    pub fn int(v: u8) -> Vec<u8> {
        tlv(&[0x02], &[v])
    }

    pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(&[0x30], &items.concat())
    }

    /// `[1] purpose SET OF INTEGER`.
    pub fn purpose(values: &[u8]) -> Vec<u8> {
        let members: Vec<Vec<u8>> = values.iter().map(|v| int(*v)).collect();
        explicit(1, &tlv(&[0x31], &members.concat()))
    }

    /// `[702] origin INTEGER`.
    pub fn origin(v: u8) -> Vec<u8> {
        explicit(702, &int(v))
    }

    /// `[600] allApplications NULL`.
    pub fn all_applications() -> Vec<u8> {
        explicit(600, &[0x05, 0x00])
    }

    /// A KeyDescription (version 300, TEE) with these lists.
    pub fn key_description(challenge: &[u8], software: &[Vec<u8>], tee: &[Vec<u8>]) -> Vec<u8> {
        seq(&[
            tlv(&[0x02], &[0x01, 0x2c]),
            tlv(&[0x0a], &[1]),
            tlv(&[0x02], &[0x01, 0x2c]),
            tlv(&[0x0a], &[1]),
            tlv(&[0x04], challenge),
            tlv(&[0x04], &[]),
            seq(software),
            seq(tee),
        ])
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    use ciborium::value::Value;

    use super::test_support::*;
    use super::*;
    use crate::attestation::{TrustStatus, TrustStore};
    use crate::cose::{Curve, KeyMaterial};
    use crate::{Error, UnixTime};

    const OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17];
    const CDH: [u8; 32] = [0x5a; 32];

    fn android_err(parts: &Parts) -> AttestationError {
        verify(&parts.input()).unwrap_err()
    }

    fn key_err(e: AndroidKeyError) -> AttestationError {
        AttestationError::AndroidKey(e)
    }

    /// A synthetic android-key statement: a fresh credential key certified by a leaf carrying
    /// `extension` (None: no key description at all), signed by a fresh CA; sig over
    /// authenticatorData || CDH. Returns the parts (no anchors) and the CA.
    fn synthetic(extension: Option<Vec<u8>>) -> (Parts, Vec<u8>) {
        let cred = P256::generate();
        let exts = extension.map(|e| vec![(OID, e)]).unwrap_or_default();
        let minted = mint("Android Keystore Key", &cred, exts);
        let x5c = Value::Array(vec![
            Value::Bytes(minted.leaf_der.clone()),
            Value::Bytes(minted.ca_der.clone()),
        ]);
        let mut parts = Parts::synthetic(&cred.point(), Value::Map(vec![]), CDH);
        let sig = cred.sign(&ECDSA_P256_SHA256_ASN1_SIGNING, &parts.signed_data());
        parts.att_stmt = Value::Map(vec![
            (Value::Text("alg".into()), Value::from(-7)),
            (Value::Text("sig".into()), Value::Bytes(sig)),
            (Value::Text("x5c".into()), x5c),
        ]);
        (parts, minted.ca_der)
    }

    fn good_tee() -> Vec<Vec<u8>> {
        vec![purpose(&[2, 3]), origin(0)]
    }

    // ---- the conformance corpus ----------------------------------------------------------

    #[test]
    fn conformance_cases_give_the_expected_verdicts() {
        let expected: &[(&str, Option<AttestationError>)] = &[
            ("pywebauthn-android-key-pixel-8a", None),
            ("swa-android-key-fido-conformance-2020", None),
            ("swa-android-key-galaxy-s9plus", None),
            ("swa-android-key", None),
            (
                "w3c-l3-android-key-es256",
                Some(key_err(AndroidKeyError::OriginNotGenerated)),
            ),
            (
                "swa-android-safetynet-cts-fail",
                Some(AttestationError::SafetyNet(
                    crate::attestation::android_safetynet::SafetyNetError::CtsProfileMismatch,
                )),
            ),
        ];
        for (name, want) in expected {
            let case = load(name);
            let got = run_case(name);
            match (want, got) {
                (None, Ok(reg)) => {
                    assert_eq!(case["expect"]["ok"], true, "{name}");
                    assert_eq!(reg.fmt(), case["expect"]["fmt"].as_str().unwrap(), "{name}");
                    assert_eq!(
                        reg.attestation_type(),
                        crate::AttestationType::Basic,
                        "{name}"
                    );
                    assert_eq!(
                        reg.aaguid_string(),
                        case["expect"]["aaguid"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(reg.attestation.trust, TrustStatus::Trusted, "{name}");
                    assert_eq!(
                        i64::from(reg.sign_count),
                        case["expect"]["signCount"].as_i64().unwrap(),
                        "{name}"
                    );
                }
                (Some(want), Err(got)) => {
                    assert_eq!(case["expect"]["ok"], false, "{name}");
                    let fmt = case_fmt(name);
                    assert_eq!(
                        got,
                        Error::Attestation {
                            fmt,
                            source: want.clone()
                        },
                        "{name}"
                    );
                }
                (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
            }
        }
    }

    fn case_fmt(name: &str) -> &'static str {
        if name.contains("safetynet") {
            "android-safetynet"
        } else {
            "android-key"
        }
    }

    #[test]
    fn galaxy_chain_ends_at_google_root_1_and_is_unverified_without_anchors() {
        let mut parts = Parts::from_case("swa-android-key-galaxy-s9plus");
        let outcome = verify(&parts.input()).unwrap();
        assert_eq!(outcome.fmt, "android-key");
        assert_eq!(outcome.attestation_type, AttestationType::Basic);
        assert_eq!(outcome.trust, TrustStatus::Trusted);
        assert_eq!(outcome.trust_path.len(), 4);
        parts.trust = TrustStore::empty();
        assert_eq!(
            verify(&parts.input()).unwrap().trust,
            TrustStatus::Unverified
        );
    }

    // ---- one test per check, in order ------------------------------------------------------

    #[test]
    fn alg_missing_or_not_an_integer() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.set_stmt("alg", None);
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::AlgMissing));
        parts.set_stmt("alg", Some(Value::Text("ES256".into())));
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::AlgMissing));
    }

    #[test]
    fn sig_missing_or_not_bytes() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.set_stmt("sig", None);
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::SigMissing));
        parts.set_stmt("sig", Some(Value::Text("sig".into())));
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::SigMissing));
    }

    #[test]
    fn x5c_missing_empty_or_not_bytes() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.set_stmt("x5c", None);
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::X5cMissing));
        parts.set_stmt("x5c", Some(Value::Array(vec![])));
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::X5cMissing));
        parts.set_stmt("x5c", Some(Value::Array(vec![Value::Text("cert".into())])));
        assert_eq!(android_err(&parts), key_err(AndroidKeyError::X5cMissing));
    }

    #[test]
    fn x5c_item_that_is_not_a_certificate() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.set_stmt(
            "x5c",
            Some(Value::Array(vec![Value::Bytes(vec![0x30, 0x03, 1, 2, 3])])),
        );
        assert!(matches!(
            android_err(&parts),
            AttestationError::CertificateMalformed(_)
        ));
    }

    #[test]
    fn alg_that_does_not_fit_the_leaf_key() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.set_stmt("alg", Some(Value::from(crate::cose::alg::RS256)));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::AlgUnsupported(-257))
        );
    }

    #[test]
    fn signature_over_other_client_data() {
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.client_data_hash[0] ^= 1;
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::SignatureInvalid)
        );
        let mut parts = Parts::from_case("swa-android-key-galaxy-s9plus");
        let Value::Bytes(mut sig) = parts.stmt("sig").clone() else {
            panic!()
        };
        let last = sig.len() - 3;
        sig[last] ^= 0x40;
        parts.set_stmt("sig", Some(Value::Bytes(sig)));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::SignatureInvalid)
        );
    }

    #[test]
    fn leaf_key_is_not_the_credential_key() {
        // The statement is intact (sig verifies); only the credential the RP sees differs.
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.credential.public_key.key = KeyMaterial::Ec {
            curve: Curve::P256,
            point: P256::generate().point(),
        };
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::CredentialKeyMismatch)
        );
    }

    #[test]
    fn key_description_extension_missing() {
        let (parts, _) = synthetic(None);
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::KeyDescriptionMissing)
        );
    }

    #[test]
    fn key_description_extension_malformed() {
        // A SEQUENCE holding only attestationVersion.
        let (parts, _) = synthetic(Some(seq(&[int(3)])));
        assert!(matches!(
            android_err(&parts),
            AttestationError::AndroidKey(AndroidKeyError::KeyDescriptionMalformed(_))
        ));
        // Not DER at all.
        let (parts, _) = synthetic(Some(vec![0x30, 0x80, 0x00]));
        assert!(matches!(
            android_err(&parts),
            AttestationError::AndroidKey(AndroidKeyError::KeyDescriptionMalformed(_))
        ));
    }

    #[test]
    fn attestation_challenge_is_not_the_client_data_hash() {
        let (parts, _) = synthetic(Some(key_description(&[0x5b; 32], &[], &good_tee())));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::ChallengeMismatch)
        );
    }

    #[test]
    fn all_applications_on_either_list() {
        let mut tee = good_tee();
        tee.insert(1, all_applications());
        let (parts, _) = synthetic(Some(key_description(&CDH, &[], &tee)));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::AllApplications)
        );
        let (parts, _) = synthetic(Some(key_description(
            &CDH,
            &[all_applications()],
            &good_tee(),
        )));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::AllApplications)
        );
    }

    #[test]
    fn origin_not_generated() {
        // Imported key (KM_ORIGIN_IMPORTED = 2).
        let (parts, _) = synthetic(Some(key_description(
            &CDH,
            &[],
            &[purpose(&[2]), origin(2)],
        )));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::OriginNotGenerated)
        );
        // No origin anywhere.
        let (parts, _) = synthetic(Some(key_description(&CDH, &[], &[purpose(&[2])])));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::OriginNotGenerated)
        );
        // The union may not disagree with itself.
        let (parts, _) = synthetic(Some(key_description(&CDH, &[origin(2)], &good_tee())));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::OriginNotGenerated)
        );
    }

    #[test]
    fn purpose_without_sign() {
        let (parts, _) = synthetic(Some(key_description(
            &CDH,
            &[purpose(&[3])],
            &[purpose(&[0, 1]), origin(0)],
        )));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::PurposeNotSign)
        );
        let (parts, _) = synthetic(Some(key_description(&CDH, &[], &[origin(0)])));
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::PurposeNotSign)
        );
    }

    #[test]
    fn union_of_lists_is_used_unless_hardware_is_required() {
        // origin in software, purpose in tee: fine for the union, not for tee only.
        let kd = key_description(&CDH, &[origin(0)], &[purpose(&[2])]);
        let (mut parts, _) = synthetic(Some(kd));
        assert_eq!(
            verify(&parts.input()).unwrap().trust,
            TrustStatus::Unverified
        );
        parts.policy.android_key_require_hardware = true;
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::OriginNotGenerated)
        );

        let kd = key_description(&CDH, &[purpose(&[2])], &[origin(0)]);
        let (mut parts, _) = synthetic(Some(kd));
        parts.policy.android_key_require_hardware = true;
        assert_eq!(
            android_err(&parts),
            key_err(AndroidKeyError::PurposeNotSign)
        );

        let (mut parts, _) = synthetic(Some(key_description(&CDH, &[], &good_tee())));
        parts.policy.android_key_require_hardware = true;
        assert!(verify(&parts.input()).is_ok());
    }

    #[test]
    fn real_tee_keys_pass_when_hardware_is_required() {
        // Both vectors state origin and purpose in teeEnforced.
        for case in ["swa-android-key", "pywebauthn-android-key-pixel-8a"] {
            let mut parts = Parts::from_case(case);
            parts.policy.android_key_require_hardware = true;
            assert_eq!(
                verify(&parts.input()).unwrap().trust,
                TrustStatus::Trusted,
                "{case}"
            );
        }
    }

    #[test]
    fn chain_must_end_at_an_anchor_when_one_is_configured() {
        let (mut parts, ca) = synthetic(Some(key_description(&CDH, &[], &good_tee())));
        let outcome = verify(&parts.input()).unwrap();
        assert_eq!(outcome.trust, TrustStatus::Unverified);
        assert_eq!(outcome.trust_path.len(), 2);
        parts.trust = TrustStore::with_bundled_roots();
        assert_eq!(android_err(&parts), AttestationError::UntrustedRoot);
        parts.trust.add_root_for_format("android-key", ca);
        assert_eq!(verify(&parts.input()).unwrap().trust, TrustStatus::Trusted);
    }

    #[test]
    fn chain_is_checked_at_the_injected_time() {
        // The Pixel's RKP intermediate expired on 2025-02-02.
        let mut parts = Parts::from_case("pywebauthn-android-key-pixel-8a");
        parts.now = UnixTime(1_739_000_000);
        assert_eq!(
            android_err(&parts),
            AttestationError::CertificateNotValidAtTime { index: 1 }
        );
    }

    // ---- the DER parser --------------------------------------------------------------------

    fn extension_of(case: &str) -> Vec<u8> {
        let parts = Parts::from_case(case);
        let Value::Array(x5c) = parts.stmt("x5c") else {
            panic!()
        };
        let Value::Bytes(leaf) = &x5c[0] else {
            panic!()
        };
        let leaf = crate::cert::parse(leaf).unwrap();
        crate::cert::extension(&leaf, KEY_DESCRIPTION_OID)
            .unwrap()
            .1
            .to_vec()
    }

    #[test]
    fn parses_a_real_key_description_with_high_tag_numbers() {
        let kd = parse_key_description(&extension_of("pywebauthn-android-key-pixel-8a")).unwrap();
        assert_eq!(kd.attestation_version, 300);
        assert_eq!(kd.attestation_security_level, 1);
        assert_eq!(kd.attestation_challenge.len(), 32);
        assert_eq!(kd.software_enforced, AuthorizationList::default());
        assert_eq!(
            kd.tee_enforced,
            AuthorizationList {
                purpose: Some(vec![2]),
                all_applications: false,
                origin: Some(0)
            }
        );
        // The W3C vector: both lists empty.
        let kd = parse_key_description(&extension_of("w3c-l3-android-key-es256")).unwrap();
        assert_eq!(kd.software_enforced, AuthorizationList::default());
        assert_eq!(kd.tee_enforced, AuthorizationList::default());
    }

    #[test]
    fn high_tag_numbers_are_not_confused_with_low_ones() {
        // [600] and [702] in multi-byte form next to [1]; [701] (creationDateTime) is skipped.
        let sw = vec![explicit(701, &int(9)), all_applications()];
        let tee = vec![purpose(&[2, 7]), origin(0)];
        let kd = parse_key_description(&key_description(&CDH, &sw, &tee)).unwrap();
        assert!(kd.software_enforced.all_applications);
        assert_eq!(kd.software_enforced.origin, None);
        assert_eq!(kd.tee_enforced.purpose, Some(vec![2, 7]));
        assert_eq!(kd.tee_enforced.origin, Some(0));
        // [2] (algorithm) is not [702].
        let kd =
            parse_key_description(&key_description(&CDH, &[explicit(2, &int(0))], &[])).unwrap();
        assert_eq!(kd.software_enforced.origin, None);
    }

    #[test]
    fn malformed_key_descriptions_are_refused() {
        let bad = |der: Vec<u8>| {
            assert!(
                matches!(
                    parse_key_description(&der),
                    Err(AndroidKeyError::KeyDescriptionMalformed(_))
                ),
                "{der:02x?}"
            )
        };
        let good = key_description(&CDH, &[], &good_tee());
        // Trailing bytes after the SEQUENCE.
        let mut trailing = good.clone();
        trailing.push(0);
        bad(trailing);
        // Truncated.
        bad(good[..good.len() - 1].to_vec());
        // attestationSecurityLevel as INTEGER instead of ENUMERATED.
        bad(seq(&[
            int(3),
            int(1),
            int(4),
            tlv(&[0x0a], &[1]),
            tlv(&[0x04], &CDH),
            tlv(&[0x04], &[]),
            seq(&[]),
            seq(&[]),
        ]));
        // A repeated tag.
        bad(key_description(&CDH, &[], &[origin(0), origin(0)]));
        // A list element without an explicit context tag.
        bad(key_description(&CDH, &[int(1)], &[]));
        // [702] holding a non-INTEGER.
        bad(key_description(&CDH, &[explicit(702, &[0x05, 0x00])], &[]));
        // [1] purpose not a SET.
        bad(key_description(&CDH, &[explicit(1, &int(2))], &[]));
        // Not a SEQUENCE.
        bad(tlv(&[0x31], &[]));
        // Empty.
        bad(vec![]);
    }

    /// Each of class, tag number and constructed bit is checked on its own: an element wrong in
    /// only one of them is refused.
    #[test]
    fn an_element_wrong_in_class_tag_or_form_alone_is_refused() {
        let with_challenge = |challenge: Vec<u8>| {
            seq(&[
                tlv(&[0x02], &[0x01, 0x2c]),
                tlv(&[0x0a], &[1]),
                tlv(&[0x02], &[0x01, 0x2c]),
                tlv(&[0x0a], &[1]),
                challenge,
                tlv(&[0x04], &[]),
                seq(&[]),
                seq(&good_tee()),
            ])
        };
        let parsed = parse_key_description(&with_challenge(tlv(&[0x04], &CDH))).unwrap();
        assert_eq!(parsed.attestation_challenge, CDH);
        for (why, tag) in [
            ("context-specific class", 0x84),
            ("UTF8String tag", 0x0c),
            ("constructed form", 0x24),
        ] {
            assert!(
                matches!(
                    parse_key_description(&with_challenge(tlv(&[tag], &CDH))),
                    Err(AndroidKeyError::KeyDescriptionMalformed(_))
                ),
                "{why}"
            );
        }
    }

    /// An authorization list field must be an explicit (constructed) context tag: a primitive
    /// `[702]` holding origin's bytes is refused.
    #[test]
    fn a_primitive_context_tag_in_a_list_is_refused() {
        let mut primitive_origin = origin(0);
        primitive_origin[0] &= !0x20;
        assert!(matches!(
            parse_key_description(&key_description(&CDH, &[primitive_origin], &good_tee())),
            Err(AndroidKeyError::KeyDescriptionMalformed(_))
        ));
        assert!(parse_key_description(&key_description(&CDH, &[origin(0)], &good_tee())).is_ok());
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            AndroidKeyError::AlgMissing,
            AndroidKeyError::SigMissing,
            AndroidKeyError::X5cMissing,
            AndroidKeyError::AlgUnsupported(0),
            AndroidKeyError::SignatureInvalid,
            AndroidKeyError::CredentialKeyMismatch,
            AndroidKeyError::KeyDescriptionMissing,
            AndroidKeyError::KeyDescriptionMalformed(String::new()),
            AndroidKeyError::ChallengeMismatch,
            AndroidKeyError::AllApplications,
            AndroidKeyError::OriginNotGenerated,
            AndroidKeyError::PurposeNotSign,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(AndroidKeyError::code).collect();
        assert_eq!(codes.len(), all.len());
    }
}
