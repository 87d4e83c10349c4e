//! authenticatorSelection (CTAP 2.1 §6.9): the platform asks every connected authenticator
//! for a touch and uses the one the user picks.

#[cfg(test)]
mod tests;

use super::require_presence;
use crate::env::Env;
use crate::status::StatusCode;

/// Runs the command; success has no response map.
pub fn handle(env: &mut Env<'_>) -> Result<(), StatusCode> {
    // "The authenticator waits for user presence": touched → CTAP2_OK; declined →
    // CTAP2_ERR_OPERATION_DENIED; no answer → CTAP2_ERR_USER_ACTION_TIMEOUT.
    require_presence(env, "", "select")
}
