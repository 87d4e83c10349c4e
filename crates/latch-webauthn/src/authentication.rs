//! Verifying an authentication assertion (WebAuthn L3 §7.2), step by step in the spec's order.

use serde::{Deserialize, Serialize};

use crate::auth_data::{AuthenticatorData, Flags};
use crate::client_data::{verify_client_data, CollectedClientData};
use crate::cose::CoseKey;
use crate::registration::sha256;
use crate::rp::{rp_id_hash, BackupEligibilityChange};
use crate::wire::AuthenticationResponseJson;
use crate::{b64, Error, RelyingParty, UnixTime, UserVerification};

/// What the relying party remembers between `get()` options and the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationState {
    pub challenge: Vec<u8>,
    pub user_verification: UserVerification,
    /// The credential ids offered in allowCredentials; empty for a discoverable sign-in.
    pub allow_credentials: Vec<Vec<u8>>,
    /// The user identified before the ceremony (username first), if any.
    pub user_id: Option<Vec<u8>>,
    /// The FIDO AppID offered through the `appid` extension, if any.
    pub appid: Option<String>,
}

/// What the relying party stored for a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    pub id: Vec<u8>,
    /// The user handle of the account that owns it.
    pub user_id: Vec<u8>,
    pub public_key_cose: Vec<u8>,
    pub sign_count: u32,
    pub backup_eligible: bool,
}

/// An assertion that passed every check. Only `verify_authentication` builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedAuthentication {
    pub credential_id: Vec<u8>,
    pub user_id: Vec<u8>,
    /// The counter to store (the old one if the authenticator keeps none).
    pub sign_count: u32,
    pub flags: Flags,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// Whether the AppID hash (U2F migration) was what matched.
    pub used_appid: bool,
}

/// §7.2: verifies an assertion for `credential` against the saved state.
pub fn verify_authentication(
    rp: &RelyingParty,
    state: &AuthenticationState,
    response: &AuthenticationResponseJson,
    credential: &StoredCredential,
    now: UnixTime,
) -> Result<VerifiedAuthentication, Error> {
    let _ = now; // assertions carry no time-bound data; the parameter keeps the API uniform.
    if response.ty != "public-key" {
        return Err(Error::CredentialTypeMismatch {
            got: response.ty.clone(),
        });
    }
    let raw_id = response.raw_id.as_ref();
    if b64::decode(&response.id).as_deref() != Some(raw_id) {
        return Err(Error::CredentialIdMismatch);
    }
    if credential.id != raw_id {
        return Err(Error::WrongStoredCredential);
    }
    // Step 5: the credential is one the RP allowed.
    if !state.allow_credentials.is_empty() && !state.allow_credentials.iter().any(|id| id == raw_id)
    {
        return Err(Error::CredentialNotAllowed);
    }
    // Step 6: the credential belongs to the user being authenticated.
    let user_handle = response.response.user_handle.as_ref().map(AsRef::as_ref);
    match &state.user_id {
        Some(user) => {
            if credential.user_id != *user || user_handle.is_some_and(|h| h != user.as_slice()) {
                return Err(Error::UserHandleMismatch);
            }
        }
        None => match user_handle {
            None => return Err(Error::UserHandleMissing),
            Some(h) if h != credential.user_id.as_slice() => return Err(Error::UserHandleMismatch),
            Some(_) => {}
        },
    }
    // Steps 7-9: the stored key; cData, authData and sig; C = parse(UTF-8 decode(cData)).
    let c_data = response.response.client_data_json.as_ref();
    let auth_data_raw = response.response.authenticator_data.as_ref();
    let c = CollectedClientData::parse(c_data)?;
    // Steps 10-14: type, challenge, origin, crossOrigin, topOrigin.
    verify_client_data(rp, &c, "webauthn.get", &state.challenge)?;
    let auth_data = AuthenticatorData::parse(auth_data_raw)?;
    // Step 15: rpIdHash is the RP ID's (or the AppID's, when the appid extension was used).
    let used_appid = if auth_data.rp_id_hash == rp.rp_id_hash {
        false
    } else {
        let appid_used =
            response.client_extension_results.get("appid") == Some(&serde_json::Value::Bool(true));
        match &state.appid {
            Some(appid) if appid_used && auth_data.rp_id_hash == rp_id_hash(appid) => true,
            _ => {
                return Err(Error::RpIdHashMismatch {
                    rp_id: rp.rp_id.clone(),
                })
            }
        }
    };
    // Step 16: user present.
    let flags = auth_data.flags;
    if !flags.user_present() {
        return Err(Error::UserNotPresent);
    }
    // Step 17: user verified, when required.
    if state.user_verification == UserVerification::Required && !flags.user_verified() {
        return Err(Error::UserVerificationRequired);
    }
    // Steps 18-19: backup flags: BS only with BE (the BE comparison with the stored flag
    // waits for the signature, below).
    if flags.backed_up() && !flags.backup_eligible() {
        return Err(Error::BackupStateWithoutEligibility);
    }
    if flags.backup_eligible() && !rp.allow_backup_eligible {
        return Err(Error::BackupEligibleNotAllowed);
    }
    // Steps 20-21: hash = SHA-256(cData); sig over authData || hash (extension outputs are
    // taken as reported).
    let hash = sha256(c_data);
    let key = CoseKey::from_bytes(&credential.public_key_cose)?;
    let mut signed = Vec::with_capacity(auth_data_raw.len() + 32);
    signed.extend_from_slice(auth_data_raw);
    signed.extend_from_slice(&hash);
    key.verify(
        &signed,
        response.response.signature.as_ref(),
        rp.attestation.formats.allow_sha1,
    )?;
    // Step 18, against what is stored: BE fixed since registration (or upgraded). Only after
    // the signature, so a request nobody signed cannot learn the stored flag.
    if flags.backup_eligible() != credential.backup_eligible {
        // The two differ, so BE set now means it was gained, never lost.
        let gained = flags.backup_eligible();
        if !(gained && rp.backup_eligibility_change == BackupEligibilityChange::AllowUpgrade) {
            return Err(Error::BackupEligibilityChanged {
                stored: credential.backup_eligible,
                got: flags.backup_eligible(),
            });
        }
    }
    // Step 22: the signature counter must grow, unless both are zero.
    let got = auth_data.sign_count;
    let stored = credential.sign_count;
    if (got != 0 || stored != 0) && got <= stored && rp.reject_counter_regression {
        return Err(Error::CounterRegressed { stored, got });
    }
    Ok(VerifiedAuthentication {
        credential_id: credential.id.clone(),
        user_id: credential.user_id.clone(),
        sign_count: got.max(stored),
        flags,
        user_verified: flags.user_verified(),
        backup_eligible: flags.backup_eligible(),
        backed_up: flags.backed_up(),
        used_appid,
    })
}
