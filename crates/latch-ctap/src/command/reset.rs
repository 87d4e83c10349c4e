//! authenticatorReset (CTAP 2.1 §6.6): forget every credential (discoverable ones, and
//! non-discoverable ones through a new master secret), the PIN, the large blobs and the
//! authenticatorConfig settings.

#[cfg(test)]
mod tests;

use super::{client_pin, require_presence, Authenticator};
use crate::credential::MasterKey;
use crate::env::Env;
use crate::pin::PinState;
use crate::status::StatusCode;
use crate::store::Write;

/// Reset is refused this long after power-up.
pub const RESET_WINDOW_MS: u64 = 10_000;

/// Runs the command; success has no response map.
pub fn handle(authenticator: &mut Authenticator, env: &mut Env<'_>) -> Result<(), StatusCode> {
    // "In order to prevent accidental trigger of this mechanism, some form of user approval MAY
    //  be performed": the request must come within 10 s of power-up, else
    //  CTAP2_ERR_NOT_ALLOWED.
    let since_power_up = env
        .clock
        .now_ms()
        .saturating_sub(authenticator.powered_up_ms);
    if since_power_up > RESET_WINDOW_MS {
        return Err(StatusCode::NotAllowed);
    }
    // "... user presence": declined → CTAP2_ERR_OPERATION_DENIED, no answer →
    // CTAP2_ERR_USER_ACTION_TIMEOUT.
    require_presence(env, "", "reset")?;
    // Everything new is made before anything is written, so a failure changes nothing.
    let mut secret = [0u8; 32];
    env.rng.fill(&mut secret);
    let key_agreements = client_pin::KeyAgreements::generate(env.rng)?;
    // One batch: the store forgets credentials, PIN, large blobs and settings, and the new
    // master secret makes every wrapped (non-discoverable) credential ID undecryptable.
    let written = env
        .store
        .apply(&[Write::Wipe, Write::MasterSecret(secret)])
        .map_err(|_| StatusCode::Other);
    let master = MasterKey::new(secret);
    secret.fill(0);
    written?;
    // The volatile state follows: fresh PIN state (no token), new key-agreement keys, no
    // pending largeBlobs write, enumeration or getNextAssertion state.
    authenticator.master = master;
    authenticator.pin = PinState::new();
    authenticator.key_agreements = key_agreements;
    authenticator.keys.clear();
    authenticator.large_blob_write = None;
    authenticator.enumeration = None;
    authenticator.next_assertion = None;
    Ok(())
}
