//! Attestation statement formats (§8): one file per format, each a function from the statement
//! and the signed data to an `AttestationOutcome`, with one error variant per check.

pub mod android_key;
pub mod android_safetynet;
pub mod apple;
pub mod compound;
pub mod fido_u2f;
pub mod none;
pub mod packed;
pub mod tpm;
pub mod trust;

use ciborium::value::Value;
use serde::Serialize;
use thiserror::Error;

use crate::auth_data::{AttestedCredentialData, AuthenticatorData};
use crate::time::UnixTime;
pub use trust::TrustStore;

/// The attestation types of §6.5.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AttestationType {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "self")]
    SelfAttestation,
    #[serde(rename = "basic")]
    Basic,
    #[serde(rename = "attca")]
    AttCa,
    #[serde(rename = "anonca")]
    AnonCa,
    #[serde(rename = "compound")]
    Compound,
}

impl AttestationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationType::None => "none",
            AttestationType::SelfAttestation => "self",
            AttestationType::Basic => "basic",
            AttestationType::AttCa => "attca",
            AttestationType::AnonCa => "anonca",
            AttestationType::Compound => "compound",
        }
    }
}

/// How far the attestation's certificate path was trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TrustStatus {
    /// No certificate path (none, self).
    NotApplicable,
    /// The path ends at an anchor configured for this format or AAGUID.
    Trusted,
    /// No anchor is configured for this authenticator; the path is only internally consistent.
    Unverified,
}

/// What a verified attestation statement proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationOutcome {
    pub fmt: &'static str,
    pub attestation_type: AttestationType,
    /// The x5c path (DER), leaf first; empty for none/self.
    pub trust_path: Vec<Vec<u8>>,
    pub trust: TrustStatus,
    /// Sub-statement outcomes of a compound statement.
    pub sub: Vec<AttestationOutcome>,
}

impl AttestationOutcome {
    pub(crate) fn without_path(fmt: &'static str, attestation_type: AttestationType) -> Self {
        AttestationOutcome {
            fmt,
            attestation_type,
            trust_path: Vec::new(),
            trust: TrustStatus::NotApplicable,
            sub: Vec::new(),
        }
    }
}

/// Policy knobs the formats themselves need.
#[derive(Debug, Clone)]
pub struct FormatPolicy {
    /// Android SafetyNet: require ctsProfileMatch (true) or only basicIntegrity (false).
    pub safetynet_require_cts: bool,
    /// Android SafetyNet: how old (ms) the JWS timestamp may be.
    pub safetynet_max_age_ms: i64,
    /// TPM manufacturer ids accepted beyond the TCG vendor registry (e.g. test vendors).
    pub tpm_extra_vendors: Vec<u32>,
    /// Android key: require the key to live in a TEE or StrongBox (not software).
    pub android_key_require_hardware: bool,
    /// Accept RS1 (SHA-1) statement signatures (old TPMs).
    pub allow_sha1: bool,
}

impl Default for FormatPolicy {
    fn default() -> Self {
        FormatPolicy {
            safetynet_require_cts: true,
            safetynet_max_age_ms: 60_000,
            tpm_extra_vendors: Vec::new(),
            android_key_require_hardware: false,
            allow_sha1: false,
        }
    }
}

/// Everything a format needs to verify its statement.
pub struct AttestationInput<'a> {
    pub att_stmt: &'a Value,
    pub auth_data_raw: &'a [u8],
    pub auth_data: &'a AuthenticatorData,
    pub credential: &'a AttestedCredentialData,
    pub client_data_hash: &'a [u8; 32],
    pub now: UnixTime,
    pub trust: &'a TrustStore,
    pub policy: &'a FormatPolicy,
}

impl AttestationInput<'_> {
    /// authenticatorData || clientDataHash: what packed, apple, android and tpm sign.
    pub fn signed_data(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.auth_data_raw.len() + 32);
        v.extend_from_slice(self.auth_data_raw);
        v.extend_from_slice(self.client_data_hash);
        v
    }

    /// The trust anchors for `fmt` and this credential's AAGUID.
    pub fn anchors(&self, fmt: &str) -> Vec<&[u8]> {
        self.trust.anchors_for(fmt, &self.credential.aaguid)
    }
}

/// A failed check inside an attestation statement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttestationError {
    #[error("attestation statement is malformed: {0}")]
    StatementMalformed(String),
    #[error("fmt \"none\" must have an empty attStmt")]
    NoneStatementNotEmpty,
    #[error("statement alg {stmt} differs from the credential key's alg {key}")]
    AlgMismatch { stmt: i64, key: i64 },
    #[error("the attestation signature does not verify")]
    SignatureInvalid,
    #[error("statement alg {0} is not supported")]
    UnsupportedAlgorithm(i64),
    #[error("attestation certificate is malformed: {0}")]
    CertificateMalformed(String),
    #[error("attestation certificate key type {0} is not supported")]
    CertificateKeyUnsupported(String),
    #[error("certificate {index} of the chain is not valid at the verification time")]
    CertificateNotValidAtTime { index: usize },
    #[error("certificate {index} of the chain is not signed by the next one")]
    ChainBroken { index: usize },
    #[error("certificate {index} of the chain signs others but is not a CA")]
    IssuerNotCa { index: usize },
    #[error("the certificate chain does not end at a trusted root for this authenticator")]
    UntrustedRoot,
    #[error("attestation certificate must be X.509 version 3")]
    CertificateVersion,
    #[error("attestation certificate subject lacks or has a wrong {0}")]
    CertificateSubject(&'static str),
    #[error("attestation certificate must not be a CA (basicConstraints CA is true)")]
    CertificateIsCa,
    #[error("the certificate's AAGUID extension is marked critical")]
    AaguidExtensionCritical,
    #[error("the certificate's AAGUID extension differs from the authenticator data's AAGUID")]
    AaguidExtensionMismatch,
    #[error("the attestation certificate's public key differs from the credential public key")]
    CredentialKeyMismatch,
    #[error("fido-u2f: x5c must hold exactly one certificate, got {0}")]
    U2fCertificateCount(usize),
    #[error("fido-u2f: the attestation certificate key is not on P-256")]
    U2fCertificateNotP256,
    #[error("fido-u2f: the credential public key is not an ES256 P-256 key")]
    U2fKeyNotP256,
    #[error("apple: the nonce extension (1.2.840.113635.100.8.2) is missing or malformed")]
    AppleNonceMissing,
    #[error("apple: the nonce does not match SHA-256(authenticatorData || clientDataHash)")]
    AppleNonceMismatch,
    #[error("compound: attStmt must be an array of at least two statements, got {0}")]
    CompoundCount(usize),
    #[error("compound: sub-statement {index} ({fmt}) failed: {source}")]
    CompoundSubStatement {
        index: usize,
        fmt: String,
        source: Box<AttestationError>,
    },
    #[error("compound: sub-statement {0} may not itself be compound")]
    CompoundNested(usize),
    #[error("tpm: {0}")]
    Tpm(#[from] tpm::TpmError),
    #[error("android-key: {0}")]
    AndroidKey(#[from] android_key::AndroidKeyError),
    #[error("android-safetynet: {0}")]
    SafetyNet(#[from] android_safetynet::SafetyNetError),
}

impl AttestationError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use AttestationError as E;
        match self {
            E::StatementMalformed(_) => "attestation_statement_malformed",
            E::NoneStatementNotEmpty => "none_statement_not_empty",
            E::AlgMismatch { .. } => "attestation_alg_mismatch",
            E::SignatureInvalid => "attestation_signature_invalid",
            E::UnsupportedAlgorithm(_) => "attestation_alg_unsupported",
            E::CertificateMalformed(_) => "attestation_certificate_malformed",
            E::CertificateKeyUnsupported(_) => "attestation_certificate_key_unsupported",
            E::CertificateNotValidAtTime { .. } => "certificate_not_valid_at_time",
            E::ChainBroken { .. } => "certificate_chain_broken",
            E::IssuerNotCa { .. } => "certificate_issuer_not_ca",
            E::UntrustedRoot => "untrusted_attestation_root",
            E::CertificateVersion => "attestation_certificate_version",
            E::CertificateSubject(_) => "attestation_certificate_subject",
            E::CertificateIsCa => "attestation_certificate_is_ca",
            E::AaguidExtensionCritical => "aaguid_extension_critical",
            E::AaguidExtensionMismatch => "aaguid_extension_mismatch",
            E::CredentialKeyMismatch => "attestation_credential_key_mismatch",
            E::U2fCertificateCount(_) => "u2f_certificate_count",
            E::U2fCertificateNotP256 => "u2f_certificate_not_p256",
            E::U2fKeyNotP256 => "u2f_key_not_p256",
            E::AppleNonceMissing => "apple_nonce_missing",
            E::AppleNonceMismatch => "apple_nonce_mismatch",
            E::CompoundCount(_) => "compound_statement_count",
            E::CompoundSubStatement { source, .. } => source.code(),
            E::CompoundNested(_) => "compound_nested",
            E::Tpm(e) => e.code(),
            E::AndroidKey(e) => e.code(),
            E::SafetyNet(e) => e.code(),
        }
    }
}

/// The formats this crate verifies, by their registered identifier.
pub const FORMATS: &[&str] = &[
    "none",
    "packed",
    "fido-u2f",
    "apple",
    "tpm",
    "android-key",
    "android-safetynet",
    "compound",
];

/// Verifies one statement of format `fmt`. Returns `None` for an unknown format.
pub fn verify_format(
    fmt: &str,
    input: &AttestationInput<'_>,
) -> Option<Result<AttestationOutcome, AttestationError>> {
    Some(match fmt {
        "none" => none::verify(input),
        "packed" => packed::verify(input),
        "fido-u2f" => fido_u2f::verify(input),
        "apple" => apple::verify(input),
        "tpm" => tpm::verify(input),
        "android-key" => android_key::verify(input),
        "android-safetynet" => android_safetynet::verify(input),
        "compound" => compound::verify(input),
        _ => return None,
    })
}

/// Canonical `&'static str` for a known format name.
pub fn format_name(fmt: &str) -> Option<&'static str> {
    FORMATS.iter().find(|f| **f == fmt).copied()
}

// ---- helpers for reading attStmt maps --------------------------------------------------------

/// The statement as a CBOR map.
pub fn stmt_map(stmt: &Value) -> Result<&[(Value, Value)], AttestationError> {
    match stmt {
        Value::Map(m) => Ok(m),
        _ => Err(AttestationError::StatementMalformed(
            "attStmt is not a map".into(),
        )),
    }
}

/// A member of the statement map by text key.
pub fn stmt_get<'a>(stmt: &'a Value, key: &str) -> Result<Option<&'a Value>, AttestationError> {
    Ok(stmt_map(stmt)?
        .iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v))
}

/// A required integer member.
pub fn stmt_int(stmt: &Value, key: &str) -> Result<i64, AttestationError> {
    match stmt_get(stmt, key)? {
        Some(Value::Integer(i)) => i64::try_from(*i)
            .map_err(|_| AttestationError::StatementMalformed(format!("{key} is out of range"))),
        Some(_) => Err(AttestationError::StatementMalformed(format!(
            "{key} is not an integer"
        ))),
        None => Err(AttestationError::StatementMalformed(format!(
            "{key} is missing"
        ))),
    }
}

/// A required byte-string member.
pub fn stmt_bytes<'a>(stmt: &'a Value, key: &str) -> Result<&'a [u8], AttestationError> {
    match stmt_get(stmt, key)? {
        Some(Value::Bytes(b)) => Ok(b),
        Some(_) => Err(AttestationError::StatementMalformed(format!(
            "{key} is not a byte string"
        ))),
        None => Err(AttestationError::StatementMalformed(format!(
            "{key} is missing"
        ))),
    }
}

/// The optional x5c member: a non-empty array of DER certificates.
pub fn stmt_x5c(stmt: &Value) -> Result<Option<Vec<Vec<u8>>>, AttestationError> {
    match stmt_get(stmt, "x5c")? {
        None => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Value::Bytes(b) => Ok(b.clone()),
                _ => Err(AttestationError::StatementMalformed(
                    "x5c item is not bytes".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(AttestationError::StatementMalformed(
            "x5c is not a non-empty array".into(),
        )),
    }
}

/// Validates an x5c path against the anchors configured for `fmt`; maps the result to a trust status.
pub fn check_path(
    input: &AttestationInput<'_>,
    fmt: &str,
    chain: &[x509_parser::certificate::X509Certificate<'_>],
) -> Result<TrustStatus, AttestationError> {
    let anchors = input.anchors(fmt);
    match crate::cert::verify_chain(chain, &anchors, input.now)? {
        crate::cert::ChainTrust::Anchored => Ok(TrustStatus::Trusted),
        crate::cert::ChainTrust::NoAnchorConfigured => Ok(TrustStatus::Unverified),
    }
}
