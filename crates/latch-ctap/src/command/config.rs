//! authenticatorConfig (CTAP 2.1 §6.11): enableEnterpriseAttestation (unsupported here),
//! toggleAlwaysUv and setMinPINLength.

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::auth::require_token;
use super::{pin_status, Authenticator};
use crate::cbor::{self, read};
use crate::env::Env;
use crate::pin::{Permissions, PersistedPin, PinStore, StorageError, MAX_PIN_BYTES};
use crate::status::StatusCode;
use crate::store::{CredentialStore, Settings, Write};

/// enableEnterpriseAttestation.
pub const ENABLE_ENTERPRISE_ATTESTATION: u64 = 0x01;
/// toggleAlwaysUv.
pub const TOGGLE_ALWAYS_UV: u64 = 0x02;
/// setMinPINLength.
pub const SET_MIN_PIN_LENGTH: u64 = 0x03;
/// maxRPIDsForSetMinPINLength (getInfo 0x10).
pub const MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH: usize = 8;

/// A parsed request: the same {subCommand, subCommandParams, pinUvAuthProtocol,
/// pinUvAuthParam} shape as the other management commands.
pub type Request = super::auth::SubcommandRequest;

/// Runs the request; success has no response map.
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
) -> Result<(), StatusCode> {
    let sub_command = request.sub_command;
    if ![
        ENABLE_ENTERPRISE_ATTESTATION,
        TOGGLE_ALWAYS_UV,
        SET_MIN_PIN_LENGTH,
    ]
    .contains(&sub_command)
    {
        return Err(StatusCode::InvalidSubcommand);
    }
    // "If the authenticator is protected by some form of user verification" (a PIN or
    // built-in UV), or
    // alwaysUv is on (except to turn it off again, which an authenticator without a PIN must
    // allow), or a pinUvAuthParam was sent: pinUvAuthParam missing →
    // CTAP2_ERR_PUAT_REQUIRED; "verify(pinUvAuthToken, 32×0xff || 0x0d ||
    // uint8(subCommand) || subCommandParams, pinUvAuthParam)" → CTAP2_ERR_PIN_AUTH_INVALID;
    // no acfg permission → CTAP2_ERR_UNAUTHORIZED_PERMISSION.
    let always_uv = env.store.state().settings.always_uv;
    if authenticator.is_protected()
        || (always_uv && sub_command != TOGGLE_ALWAYS_UV)
        || request.pin_uv_auth.is_some()
    {
        let mut message = vec![0xff; 32];
        message.push(0x0d);
        message.push(u8::try_from(sub_command).map_err(|_| StatusCode::Other)?);
        let bare = message.clone();
        if let Some(params) = &request.sub_command_params {
            let encoded =
                cbor::encode(&Value::Map(params.clone())).map_err(|_| StatusCode::InvalidCbor)?;
            message.extend_from_slice(&encoded);
        }
        let now_ms = env.clock.now_ms();
        let mut verify = |message: &[u8]| {
            require_token(
                &mut authenticator.pin,
                now_ms,
                request.pin_uv_auth.as_ref(),
                message,
                Permissions::AUTHENTICATOR_CONFIG,
            )
            .map(|_| ())
        };
        match verify(&message) {
            // python-fido2 sends an empty subCommandParams map for setMinPINLength without
            // arguments, but authenticates the message without it. Empty params carry nothing
            // to protect, so that form is accepted too.
            Err(StatusCode::PinAuthInvalid)
                if request
                    .sub_command_params
                    .as_ref()
                    .is_some_and(Vec::is_empty) =>
            {
                verify(&bare)?;
            }
            result => result?,
        }
    }
    match sub_command {
        // §6.11.1: this authenticator is not enterprise attestation capable ("ep" is absent
        // from getInfo), so the subcommand's parameter is invalid here.
        ENABLE_ENTERPRISE_ATTESTATION => Err(StatusCode::InvalidParameter),
        // §6.11.2: "toggle the alwaysUv option to its opposite value", persisted.
        TOGGLE_ALWAYS_UV => {
            let settings = Settings {
                always_uv: !always_uv,
                ..env.store.state().settings.clone()
            };
            env.store
                .apply(&[Write::Settings(settings)])
                .map_err(|_| StatusCode::Other)
        }
        _ => set_min_pin_length(
            authenticator,
            env,
            request.sub_command_params.as_deref().unwrap_or_default(),
        ),
    }
}

/// §6.11.4 setMinPINLength, params {newMinPINLength (0x01), minPinLengthRPIDs (0x02),
/// forceChangePin (0x03)}, all optional.
fn set_min_pin_length(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    params: &[(Value, Value)],
) -> Result<(), StatusCode> {
    let current = authenticator.pin.min_pin_length();
    // 1. "If newMinPINLength is absent, then let newMinPINLength be present with the value of
    //    the current minimum PIN length."
    // 2. "If newMinPINLength is less than the current minimum PIN length, return
    //    CTAP2_ERR_PIN_POLICY_VIOLATION." A minimum no PIN can meet (over 63, the most code
    //    points a 63-byte PIN has) is refused the same way.
    let new_min = match read::get(params, 0x01) {
        None => current,
        Some(value) => u8::try_from(read::int(value)?)
            .ok()
            .filter(|min| usize::from(*min) <= MAX_PIN_BYTES)
            .ok_or(StatusCode::PinPolicyViolation)?,
    };
    if new_min < current {
        return Err(StatusCode::PinPolicyViolation);
    }
    let rp_ids = read::get(params, 0x02)
        .map(|value| {
            read::array(value)?
                .iter()
                .map(|rp_id| read::text(rp_id).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let force_change = read::get(params, 0x03)
        .map(read::boolean)
        .transpose()?
        .unwrap_or(false);
    // 3. "If forceChangePin is true and no PIN is set, return CTAP2_ERR_PIN_NOT_SET."
    if force_change && !authenticator.pin.is_set() {
        return Err(StatusCode::PinNotSet);
    }
    // 4. More RP IDs than maxRPIDsForSetMinPINLength do not fit:
    //    CTAP2_ERR_KEY_STORE_FULL.
    let mut extra = Vec::new();
    if let Some(rp_ids) = rp_ids {
        if rp_ids.len() > MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH {
            return Err(StatusCode::KeyStoreFull);
        }
        extra.push(Write::Settings(Settings {
            min_pin_length_rp_ids: rp_ids,
            ..env.store.state().settings.clone()
        }));
    }
    // 5.-6. Store the new minimum; forcePINChange is set when asked for, or when the current
    //    PIN is shorter than the new minimum. The PIN state and the RP IDs land in one batch.
    let mut store = WithPin {
        store: &mut *env.store,
        extra,
    };
    authenticator
        .pin
        .set_min_pin_length(&mut store, new_min, force_change)
        .map_err(|error| pin_status(&error))
}

/// A [`PinStore`] whose one PIN write carries other writes in the same batch.
struct WithPin<'a, 'b> {
    store: &'a mut (dyn CredentialStore + 'b),
    extra: Vec<Write>,
}

impl PinStore for WithPin<'_, '_> {
    fn persist_pin(&mut self, state: &PersistedPin) -> Result<(), StorageError> {
        let mut batch = vec![Write::Pin(*state)];
        batch.append(&mut self.extra);
        self.store.apply(&batch).map_err(|_| StorageError)
    }
}
