//! The pinUvAuthParam check shared by the management commands (credentialManagement,
//! largeBlobs, authenticatorConfig): unlike makeCredential and getAssertion, they authenticate
//! a command-specific message and never bind an RP ID to the token.

use super::{pin_status, PinUvAuth};
use crate::pin::{Permissions, PinState, PinToken, PinUvAuthProtocol, TokenUse};
use crate::status::StatusCode;

/// Verifies a required pinUvAuthParam over `message` for `permission`:
/// - no pinUvAuthParam → CTAP2_ERR_PUAT_REQUIRED;
/// - no pinUvAuthProtocol → CTAP2_ERR_MISSING_PARAMETER, an unsupported one →
///   CTAP1_ERR_INVALID_PARAMETER;
/// - `verify(pinUvAuthToken, message, pinUvAuthParam)` fails (or no token, or it expired) →
///   CTAP2_ERR_PIN_AUTH_INVALID;
/// - the token lacks `permission` → CTAP2_ERR_UNAUTHORIZED_PERMISSION.
///
/// The token's permissions RP ID is not compared here: the caller decides what a bound token
/// may do. Returns the token.
pub fn require_token<'p>(
    pin: &'p mut PinState,
    now_ms: u64,
    auth: Option<&PinUvAuth>,
    message: &[u8],
    permission: Permissions,
) -> Result<&'p mut PinToken, StatusCode> {
    let auth = auth.ok_or(StatusCode::PuatRequired)?;
    let protocol = auth.protocol.ok_or(StatusCode::MissingParameter)?;
    let protocol = PinUvAuthProtocol::from_wire(protocol).map_err(|error| pin_status(&error))?;
    pin.authorize(
        now_ms,
        &TokenUse {
            protocol,
            message,
            param: &auth.param,
            permission,
            rp_id: None,
        },
    )
    .map_err(|error| pin_status(&error))
}
