//! Registering a new credential (WebAuthn L3 §7.1), step by step in the spec's order.

use aws_lc_rs::digest;
use ciborium::value::Value;
use serde::{Deserialize, Serialize};

use crate::attestation::{
    self, AttestationInput, AttestationOutcome, AttestationType, TrustStatus,
};
use crate::auth_data::{format_aaguid, AuthenticatorData, Flags};
use crate::client_data::{verify_client_data, CollectedClientData};
use crate::wire::RegistrationResponseJson;
use crate::{b64, Error, RelyingParty, UnixTime, UserVerification};

/// What the relying party remembers between `create()` options and the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationState {
    pub challenge: Vec<u8>,
    pub user_id: Vec<u8>,
    pub user_verification: UserVerification,
    /// The `alg`s offered in pubKeyCredParams; the new key must use one of them.
    pub allowed_algs: Vec<i64>,
    /// Conditional create may omit user presence (§7.1 step 14 note); default is to require it.
    #[serde(default = "yes")]
    pub require_user_presence: bool,
}

fn yes() -> bool {
    true
}

/// A registration that passed every check. Only `verify_registration` builds one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedRegistration {
    pub credential_id: Vec<u8>,
    /// The credential public key as the authenticator encoded it (store this).
    pub public_key_cose: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub flags: Flags,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub transports: Vec<String>,
    pub authenticator_attachment: Option<String>,
    pub attestation: AttestationOutcome,
    /// Authenticator extension outputs (CBOR), if any.
    pub authenticator_extensions: Option<Value>,
    /// Client extension results as the client reported them.
    pub client_extension_results: serde_json::Map<String, serde_json::Value>,
    /// credProps.rk, when the client reported it.
    pub resident_key: Option<bool>,
    /// The authenticator's name from metadata, when known.
    pub authenticator_name: Option<String>,
}

impl VerifiedRegistration {
    pub fn fmt(&self) -> &'static str {
        self.attestation.fmt
    }
    pub fn attestation_type(&self) -> AttestationType {
        self.attestation.attestation_type
    }
    pub fn aaguid_string(&self) -> String {
        format_aaguid(&self.aaguid)
    }
}

/// The members of an attestation object (§6.5.4).
pub struct AttestationObject {
    pub fmt: String,
    pub att_stmt: Value,
    pub auth_data: Vec<u8>,
}

impl AttestationObject {
    /// Decodes the CBOR map {fmt, attStmt, authData}.
    pub fn parse(bytes: &[u8]) -> Result<AttestationObject, Error> {
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader(&mut rest)
            .map_err(|e| Error::AttestationObjectMalformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::AttestationObjectMalformed(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        let Value::Map(map) = value else {
            return Err(Error::AttestationObjectMalformed("not a CBOR map".into()));
        };
        let mut fmt = None;
        let mut att_stmt = None;
        let mut auth_data = None;
        for (k, v) in map {
            match (k.as_text(), v) {
                (Some("fmt"), Value::Text(t)) => fmt = Some(t),
                (Some("attStmt"), v @ (Value::Map(_) | Value::Array(_))) => att_stmt = Some(v),
                (Some("authData"), Value::Bytes(b)) => auth_data = Some(b),
                (Some(name @ ("fmt" | "attStmt" | "authData")), _) => {
                    return Err(Error::AttestationObjectMalformed(format!(
                        "{name} has the wrong type"
                    )))
                }
                _ => {}
            }
        }
        let missing = |n: &str| Error::AttestationObjectMalformed(format!("{n} is missing"));
        Ok(AttestationObject {
            fmt: fmt.ok_or_else(|| missing("fmt"))?,
            att_stmt: att_stmt.ok_or_else(|| missing("attStmt"))?,
            auth_data: auth_data.ok_or_else(|| missing("authData"))?,
        })
    }
}

/// §7.1: verifies a registration response against the state saved when the options were made.
pub fn verify_registration(
    rp: &RelyingParty,
    state: &RegistrationState,
    response: &RegistrationResponseJson,
    now: UnixTime,
) -> Result<VerifiedRegistration, Error> {
    // Step 3-4: a public-key credential whose id is its rawId.
    if response.ty != "public-key" {
        return Err(Error::CredentialTypeMismatch {
            got: response.ty.clone(),
        });
    }
    if b64::decode(&response.id).as_deref() != Some(response.raw_id.as_ref()) {
        return Err(Error::CredentialIdMismatch);
    }
    // Steps 5-6: JSONtext = UTF-8 decode(clientDataJSON); C = parse(JSONtext).
    let client_data_json = response.response.client_data_json.as_ref();
    let c = CollectedClientData::parse(client_data_json)?;
    // Steps 7-11: type, challenge, origin, crossOrigin, topOrigin.
    verify_client_data(rp, &c, "webauthn.create", &state.challenge)?;
    // Step 12: hash = SHA-256(clientDataJSON).
    let hash = sha256(client_data_json);
    // Step 13: CBOR-decode the attestation object.
    let att_obj = AttestationObject::parse(response.response.attestation_object.as_ref())?;
    let auth_data = AuthenticatorData::parse(&att_obj.auth_data)?;
    // Step 14: rpIdHash.
    if auth_data.rp_id_hash != rp.rp_id_hash {
        return Err(Error::RpIdHashMismatch {
            rp_id: rp.rp_id.clone(),
        });
    }
    // Step 15: user present (conditional create may omit it).
    if state.require_user_presence && !auth_data.flags.user_present() {
        return Err(Error::UserNotPresent);
    }
    // Step 16: user verified, when required.
    if state.user_verification == UserVerification::Required && !auth_data.flags.user_verified() {
        return Err(Error::UserVerificationRequired);
    }
    // Steps 17-19: BS only with BE; the RP may refuse synced credentials.
    if auth_data.flags.backed_up() && !auth_data.flags.backup_eligible() {
        return Err(Error::BackupStateWithoutEligibility);
    }
    if auth_data.flags.backup_eligible() && !rp.allow_backup_eligible {
        return Err(Error::BackupEligibleNotAllowed);
    }
    let Some(credential) = auth_data.attested.as_ref() else {
        return Err(Error::MissingAttestedCredentialData);
    };
    if credential.credential_id != response.raw_id.as_ref() {
        return Err(Error::AttestedCredentialIdMismatch);
    }
    // Step 20: the key's algorithm was one the RP offered (an empty pubKeyCredParams makes
    // clients use ES256 and RS256, §5.4.3), and the key itself is usable.
    let alg = credential.public_key.alg;
    let offered: &[i64] = if state.allowed_algs.is_empty() {
        &[crate::cose::alg::ES256, crate::cose::alg::RS256]
    } else {
        &state.allowed_algs
    };
    if !offered.contains(&alg) {
        return Err(Error::AlgorithmNotAllowed { got: alg });
    }
    credential.public_key.validate()?;
    // Steps 21-22: the attestation statement format, then its verification procedure.
    let Some(fmt) = attestation::format_name(&att_obj.fmt) else {
        return Err(Error::UnsupportedAttestationFormat { fmt: att_obj.fmt });
    };
    let input = AttestationInput {
        att_stmt: &att_obj.att_stmt,
        auth_data_raw: &att_obj.auth_data,
        auth_data: &auth_data,
        credential,
        client_data_hash: &hash,
        now,
        trust: &rp.attestation.trust,
        policy: &rp.attestation.formats,
    };
    let outcome = match attestation::verify_format(fmt, &input) {
        Some(r) => r.map_err(|source| Error::Attestation { fmt, source })?,
        None => {
            return Err(Error::UnsupportedAttestationFormat {
                fmt: fmt.to_owned(),
            })
        }
    };
    // Steps 23-24: trust anchors and trustworthiness, per the RP's policy.
    let authenticator_name = assess_trust(rp, &credential.aaguid, &outcome, now)?;
    // Step 25: credential ids longer than 1023 bytes are refused.
    if credential.credential_id.len() > 1023 {
        return Err(Error::CredentialIdTooLong {
            len: credential.credential_id.len(),
        });
    }
    // Step 26 (not already registered) and step 27 (store) are the caller's.
    let resident_key = response
        .client_extension_results
        .get("credProps")
        .and_then(|p| p.get("rk"))
        .and_then(serde_json::Value::as_bool);
    Ok(VerifiedRegistration {
        credential_id: credential.credential_id.clone(),
        public_key_cose: credential.public_key_cose.clone(),
        alg,
        sign_count: auth_data.sign_count,
        aaguid: credential.aaguid,
        flags: auth_data.flags,
        user_verified: auth_data.flags.user_verified(),
        backup_eligible: auth_data.flags.backup_eligible(),
        backed_up: auth_data.flags.backed_up(),
        transports: response.response.transports.clone(),
        authenticator_attachment: response.authenticator_attachment.clone(),
        attestation: outcome,
        authenticator_extensions: auth_data.extensions.clone(),
        client_extension_results: response.client_extension_results.clone(),
        resident_key,
        authenticator_name,
    })
}

/// Steps 23-24: AAGUID lists, metadata status and certification, and the trust requirement.
/// Returns the authenticator's name from metadata when there is one.
fn assess_trust(
    rp: &RelyingParty,
    aaguid: &[u8; 16],
    outcome: &AttestationOutcome,
    now: UnixTime,
) -> Result<Option<String>, Error> {
    let policy = &rp.attestation;
    let aaguid_text = || format_aaguid(aaguid);
    if policy.aaguid_deny.contains(aaguid) {
        return Err(Error::AaguidDenied {
            aaguid: aaguid_text(),
        });
    }
    if let Some(allow) = &policy.aaguid_allow {
        if !allow.contains(aaguid) {
            return Err(Error::AaguidNotAllowed {
                aaguid: aaguid_text(),
            });
        }
    }
    let entry = policy.metadata.as_ref().and_then(|m| m.entry(aaguid));
    if let Some(status) = entry.and_then(|e| e.compromised_status(now)) {
        return Err(Error::AuthenticatorRevoked {
            aaguid: aaguid_text(),
            status,
        });
    }
    if policy.require_certified && !entry.is_some_and(|e| e.is_certified(now)) {
        return Err(Error::AuthenticatorNotCertified {
            aaguid: aaguid_text(),
        });
    }
    if let Some(types) = &policy.accepted_types {
        if !types.contains(&outcome.attestation_type) {
            return Err(Error::AttestationTypeNotAllowed {
                got: outcome.attestation_type.as_str(),
            });
        }
    }
    if policy.require_trusted && outcome.trust != TrustStatus::Trusted {
        return Err(Error::AttestationNotTrusted);
    }
    Ok(entry.map(|e| e.description.clone()))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
