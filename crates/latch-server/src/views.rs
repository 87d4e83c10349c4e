//! What the API shows of stored rows (camelCase JSON, base64url ids, RFC 3339 times).

use latch_webauthn::auth_data::format_aaguid;
use latch_webauthn::b64;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::state::AppState;
use crate::store::credentials::Credential;
use crate::store::users::User;

/// Unix seconds as RFC 3339 (UTC).
pub fn timestamp(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// The WebAuthn user handle, base64url: the account's public id.
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            id: b64::encode(&u.user_handle),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            created_at: timestamp(u.created_at),
        }
    }
}

/// `"passkey"` for backup-eligible (synced) credentials, `"security_key"` for device-bound ones.
pub fn kind(backup_eligible: bool) -> &'static str {
    if backup_eligible {
        "passkey"
    } else {
        "security_key"
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub aaguid: String,
    pub authenticator_name: Option<String>,
    /// The authenticator's icon from FIDO metadata (a `data:` URL), when known.
    pub authenticator_icon: Option<String>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub discoverable: Option<bool>,
    pub user_verified: bool,
    pub attestation_format: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub transports: Vec<String>,
}

impl CredentialView {
    pub fn new(state: &AppState, c: &Credential) -> CredentialView {
        CredentialView {
            id: b64::encode(&c.id),
            name: c.name.clone(),
            kind: kind(c.backup_eligible),
            aaguid: format_aaguid(&c.aaguid),
            authenticator_name: authenticator_name(state, &c.aaguid),
            authenticator_icon: state
                .rp
                .attestation
                .metadata
                .as_ref()
                .and_then(|m| m.entry(&c.aaguid))
                .and_then(|e| e.icon.clone()),
            backup_eligible: c.backup_eligible,
            backed_up: c.backed_up,
            discoverable: c.discoverable,
            user_verified: c.user_verified,
            attestation_format: c.attestation_fmt.clone(),
            created_at: timestamp(c.created_at),
            last_used_at: c.last_used_at.map(timestamp),
            transports: c.transports.clone(),
        }
    }
}

/// The authenticator's name from FIDO metadata, when the server has metadata.
pub fn authenticator_name(state: &AppState, aaguid: &[u8; 16]) -> Option<String> {
    state
        .rp
        .attestation
        .metadata
        .as_ref()
        .and_then(|m| m.name_of(aaguid))
        .map(str::to_owned)
}
