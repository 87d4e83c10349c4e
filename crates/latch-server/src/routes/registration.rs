//! What signup and "add a key" share: turning a verified registration into a stored row.

use latch_webauthn::VerifiedRegistration;
use sqlx::AnyConnection;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::credentials::{self, Credential};
use crate::store::is_unique_violation;
use crate::views::authenticator_name;

/// Stores the verified credential for `user_id` (inside the caller's transaction).
/// §7.1 step 26: a credential id registered already (to anyone) is refused.
pub async fn store(
    conn: &mut AnyConnection,
    state: &AppState,
    verified: &VerifiedRegistration,
    user_id: i64,
    name: Option<String>,
    now: i64,
) -> Result<Credential, ApiError> {
    let name = name.unwrap_or_else(|| {
        authenticator_name(state, &verified.aaguid).unwrap_or_else(|| {
            if verified.backup_eligible {
                "Passkey".to_owned()
            } else {
                "Security key".to_owned()
            }
        })
    });
    let credential = Credential {
        id: verified.credential_id.clone(),
        user_id,
        public_key: verified.public_key_cose.clone(),
        alg: verified.alg,
        sign_count: verified.sign_count,
        transports: verified.transports.clone(),
        aaguid: verified.aaguid,
        attestation_fmt: verified.fmt().to_owned(),
        backup_eligible: verified.backup_eligible,
        backed_up: verified.backed_up,
        user_verified: verified.user_verified,
        discoverable: verified.resident_key,
        name,
        created_at: now,
        last_used_at: None,
    };
    match credentials::insert(conn, &credential).await {
        Ok(()) => Ok(credential),
        Err(e) if is_unique_violation(&e) => Err(ApiError::CredentialExists),
        Err(e) => Err(e.into()),
    }
}
