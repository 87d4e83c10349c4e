//! One error enum for the crate: one variant per failed check, each with a stable
//! machine-readable code (`Error::code`) and a message that says what was expected and what came.

use thiserror::Error;

use crate::attestation::AttestationError;

/// Why a ceremony (or a parse) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    // ---- decoding the response ------------------------------------------------------------
    #[error("the response JSON is malformed: {0}")]
    MalformedResponse(String),
    #[error("field {field} is not valid base64url")]
    Base64 { field: &'static str },
    #[error("credential type must be \"public-key\", got {got:?}")]
    CredentialTypeMismatch { got: String },
    #[error("credential id and rawId differ")]
    CredentialIdMismatch,
    #[error("clientDataJSON is not valid UTF-8")]
    ClientDataNotUtf8,
    #[error("clientDataJSON is not a valid CollectedClientData: {0}")]
    ClientDataMalformed(String),
    #[error("attestationObject is not valid CBOR: {0}")]
    AttestationObjectMalformed(String),
    #[error("authenticator data is malformed: {0}")]
    AuthenticatorDataMalformed(String),
    #[error("authenticator data has {0} trailing bytes after its declared content")]
    AuthenticatorDataTrailingBytes(usize),
    #[error("the credential public key is not a valid COSE_Key: {0}")]
    CoseKeyMalformed(String),

    // ---- client data (§7.1 steps 7-10, §7.2 steps 11-14) ------------------------------------
    #[error("clientData.type must be {expected:?}, got {got:?}")]
    ClientDataTypeMismatch { expected: &'static str, got: String },
    #[error("clientData.challenge does not match the challenge this ceremony issued")]
    ChallengeMismatch,
    #[error("clientData.origin {got:?} is not an origin this relying party accepts")]
    OriginMismatch { got: String },
    #[error("clientData.crossOrigin is true but this relying party does not allow cross-origin ceremonies")]
    CrossOriginNotAllowed,
    #[error("clientData.topOrigin {got:?} is not an accepted top-level origin")]
    TopOriginMismatch { got: String },
    #[error("clientData.tokenBinding.status {got:?} is not a valid token binding status")]
    TokenBindingInvalid { got: String },

    // ---- authenticator data (§7.1 steps 13-18, §7.2 steps 15-19) -----------------------------
    #[error("rpIdHash does not match SHA-256 of the RP ID {rp_id:?}")]
    RpIdHashMismatch { rp_id: String },
    #[error("the user-present (UP) flag is not set")]
    UserNotPresent,
    #[error("user verification is required but the UV flag is not set")]
    UserVerificationRequired,
    #[error("the backup-state (BS) flag is set without the backup-eligible (BE) flag")]
    BackupStateWithoutEligibility,
    #[error("backup eligibility changed from {stored} to {got}; this relying party does not accept that")]
    BackupEligibilityChanged { stored: bool, got: bool },
    #[error("synced (backup-eligible) credentials are not accepted by this relying party")]
    BackupEligibleNotAllowed,
    #[error("the attested-credential-data (AT) flag is not set in a registration")]
    MissingAttestedCredentialData,
    #[error("credential public key algorithm {got} was not offered in pubKeyCredParams")]
    AlgorithmNotAllowed { got: i64 },
    #[error("the credential id in authenticator data differs from the response's rawId")]
    AttestedCredentialIdMismatch,
    #[error("credential id is {len} bytes; at most 1023 are allowed")]
    CredentialIdTooLong { len: usize },

    // ---- attestation (§7.1 steps 19-24) -----------------------------------------------------
    #[error("unknown attestation statement format {fmt:?}")]
    UnsupportedAttestationFormat { fmt: String },
    #[error("attestation ({fmt}): {source}")]
    Attestation {
        fmt: &'static str,
        source: AttestationError,
    },
    #[error("attestation type {got} is not accepted by this relying party's policy")]
    AttestationTypeNotAllowed { got: &'static str },
    #[error(
        "the attestation does not chain to a trusted root, and this relying party requires one"
    )]
    AttestationNotTrusted,
    #[error("authenticator {aaguid} is not on the allow list")]
    AaguidNotAllowed { aaguid: String },
    #[error("authenticator {aaguid} is on the deny list")]
    AaguidDenied { aaguid: String },
    #[error("authenticator {aaguid} is not FIDO certified, and this relying party requires certification")]
    AuthenticatorNotCertified { aaguid: String },
    #[error("authenticator {aaguid} has a metadata status report of {status}")]
    AuthenticatorRevoked { aaguid: String, status: String },

    // ---- authentication (§7.2) ----------------------------------------------------------------
    #[error("the credential used is not in allowCredentials")]
    CredentialNotAllowed,
    #[error("the stored credential passed in is not the one the response names")]
    WrongStoredCredential,
    #[error("the response carries no userHandle, which a discoverable sign-in needs")]
    UserHandleMissing,
    #[error("the userHandle does not belong to the user who owns this credential")]
    UserHandleMismatch,
    #[error("the signature does not verify with the credential public key")]
    BadSignature,
    #[error("signature counter went from {stored} to {got}: the authenticator may be cloned")]
    CounterRegressed { stored: u32, got: u32 },

    // ---- algorithms -------------------------------------------------------------------------
    #[error("COSE algorithm {alg} is not supported")]
    UnsupportedAlgorithm { alg: i64 },
    #[error("COSE algorithm RS1 (SHA-1) is refused unless explicitly allowed")]
    Sha1NotAllowed,
    #[error("the COSE key type does not fit algorithm {alg}")]
    KeyAlgorithmMismatch { alg: i64 },

    // ---- metadata ---------------------------------------------------------------------------
    #[error("metadata BLOB: {0}")]
    Metadata(String),
}

impl Error {
    /// A stable, machine-readable code for this failure, used on the wire by the server.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MalformedResponse(_) => "malformed_response",
            Error::Base64 { .. } => "invalid_base64url",
            Error::CredentialTypeMismatch { .. } => "credential_type_mismatch",
            Error::CredentialIdMismatch => "credential_id_mismatch",
            Error::ClientDataNotUtf8 => "client_data_not_utf8",
            Error::ClientDataMalformed(_) => "client_data_malformed",
            Error::AttestationObjectMalformed(_) => "attestation_object_malformed",
            Error::AuthenticatorDataMalformed(_) => "authenticator_data_malformed",
            Error::AuthenticatorDataTrailingBytes(_) => "authenticator_data_trailing_bytes",
            Error::CoseKeyMalformed(_) => "cose_key_malformed",
            Error::ClientDataTypeMismatch { .. } => "client_data_type_mismatch",
            Error::ChallengeMismatch => "challenge_mismatch",
            Error::OriginMismatch { .. } => "origin_mismatch",
            Error::CrossOriginNotAllowed => "cross_origin_not_allowed",
            Error::TopOriginMismatch { .. } => "top_origin_mismatch",
            Error::TokenBindingInvalid { .. } => "token_binding_invalid",
            Error::RpIdHashMismatch { .. } => "rp_id_hash_mismatch",
            Error::UserNotPresent => "user_not_present",
            Error::UserVerificationRequired => "user_verification_required",
            Error::BackupStateWithoutEligibility => "backup_state_without_eligibility",
            Error::BackupEligibilityChanged { .. } => "backup_eligibility_changed",
            Error::BackupEligibleNotAllowed => "backup_eligible_not_allowed",
            Error::MissingAttestedCredentialData => "missing_attested_credential_data",
            Error::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            Error::AttestedCredentialIdMismatch => "attested_credential_id_mismatch",
            Error::CredentialIdTooLong { .. } => "credential_id_too_long",
            Error::UnsupportedAttestationFormat { .. } => "unsupported_attestation_format",
            Error::Attestation { source, .. } => source.code(),
            Error::AttestationTypeNotAllowed { .. } => "attestation_type_not_allowed",
            Error::AttestationNotTrusted => "attestation_not_trusted",
            Error::AaguidNotAllowed { .. } => "aaguid_not_allowed",
            Error::AaguidDenied { .. } => "aaguid_denied",
            Error::AuthenticatorNotCertified { .. } => "authenticator_not_certified",
            Error::AuthenticatorRevoked { .. } => "authenticator_revoked",
            Error::CredentialNotAllowed => "credential_not_allowed",
            Error::WrongStoredCredential => "wrong_stored_credential",
            Error::UserHandleMissing => "user_handle_missing",
            Error::UserHandleMismatch => "user_handle_mismatch",
            Error::BadSignature => "bad_signature",
            Error::CounterRegressed { .. } => "counter_regressed",
            Error::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Error::Sha1NotAllowed => "sha1_not_allowed",
            Error::KeyAlgorithmMismatch { .. } => "key_algorithm_mismatch",
            Error::Metadata(_) => "metadata_invalid",
        }
    }
}
