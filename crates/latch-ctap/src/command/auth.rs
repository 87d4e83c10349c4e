//! The pinUvAuthParam check shared by the management commands (credentialManagement,
//! largeBlobs, authenticatorConfig): unlike makeCredential and getAssertion, they authenticate
//! a command-specific message and never bind an RP ID to the token.

use ciborium::value::Value;

use super::{parse_pin_uv_auth, pin_status, PinUvAuth};
use crate::cbor::read;
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

/// The request shape of authenticatorCredentialManagement and authenticatorConfig.
#[derive(Debug, Clone, PartialEq)]
pub struct SubcommandRequest {
    /// subCommand (0x01).
    pub sub_command: u64,
    /// subCommandParams (0x02), as received.
    pub sub_command_params: Option<Vec<(Value, Value)>>,
    /// pinUvAuthParam (0x04) and pinUvAuthProtocol (0x03).
    pub pin_uv_auth: Option<PinUvAuth>,
}

impl SubcommandRequest {
    /// Parses the parameter map: no subCommand → MISSING_PARAMETER, a wrong type →
    /// CBOR_UNEXPECTED_TYPE.
    pub fn parse(map: &[(Value, Value)]) -> Result<Self, StatusCode> {
        let sub_command = read::get(map, 0x01).ok_or(StatusCode::MissingParameter)?;
        let sub_command =
            u64::try_from(read::int(sub_command)?).map_err(|_| StatusCode::InvalidSubcommand)?;
        let sub_command_params = read::get(map, 0x02)
            .map(|params| read::map(params).map(<[_]>::to_vec))
            .transpose()?;
        Ok(Self {
            sub_command,
            sub_command_params,
            pin_uv_auth: parse_pin_uv_auth(map, 0x04, 0x03)?,
        })
    }
}
