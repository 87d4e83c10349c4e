//! authenticatorClientPIN (CTAP 2.1 §6.5): getPINRetries, getKeyAgreement, setPIN, changePIN,
//! getPinToken and getPinUvAuthTokenUsingPinWithPermissions, over the [`PinState`] and the
//! per-protocol key-agreement keys the [`Authenticator`] owns for one power cycle.

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::{pin_status, Authenticator};
use crate::cbor::{int_key, read};
use crate::env::Env;
use crate::pin::protocol::{COSE_ALG_ECDH_ES_HKDF_256, COSE_CRV_P256, COSE_KTY_EC2};
use crate::pin::{
    ChangePin, CoseEcdhKey, GetToken, GetUvToken, KeyAgreement, Permissions, PinContext,
    PinUvAuthProtocol, Rng, SetPin, TokenSubcommand,
};
use crate::status::StatusCode;
use crate::store::PinWrites;

/// getPINRetries.
pub const GET_PIN_RETRIES: u64 = 0x01;
/// getKeyAgreement.
pub const GET_KEY_AGREEMENT: u64 = 0x02;
/// setPIN.
pub const SET_PIN: u64 = 0x03;
/// changePIN.
pub const CHANGE_PIN: u64 = 0x04;
/// getPinToken.
pub const GET_PIN_TOKEN: u64 = 0x05;
/// getPinUvAuthTokenUsingUvWithPermissions (built-in UV).
pub const GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS: u64 = 0x06;
/// getUVRetries (built-in UV).
pub const GET_UV_RETRIES: u64 = 0x07;
/// getPinUvAuthTokenUsingPinWithPermissions.
pub const GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS: u64 = 0x09;

/// The permissions this authenticator can grant: everything but bioEnroll (no fingerprint
/// enrollment) and pcmr (no persistent read-only token).
pub const OFFERED_PERMISSIONS: Permissions = Permissions::MAKE_CREDENTIAL
    .union(Permissions::GET_ASSERTION)
    .union(Permissions::CREDENTIAL_MANAGEMENT)
    .union(Permissions::LARGE_BLOB_WRITE)
    .union(Permissions::AUTHENTICATOR_CONFIG);

/// The key-agreement keys of one power cycle, one per protocol. A slot is filled at power-up
/// ([`KeyAgreements::generate`]) or, for an authenticator built without randomness, on first use.
#[derive(Debug, Default)]
pub struct KeyAgreements {
    one: Option<KeyAgreement>,
    two: Option<KeyAgreement>,
}

impl KeyAgreements {
    /// Fresh keys for both protocols (`initialize()` at power-up).
    pub fn generate(rng: &mut dyn Rng) -> Result<Self, StatusCode> {
        let new = |protocol, rng: &mut dyn Rng| {
            KeyAgreement::generate(protocol, rng).map_err(|error| pin_status(&error))
        };
        Ok(Self {
            one: Some(new(PinUvAuthProtocol::One, rng)?),
            two: Some(new(PinUvAuthProtocol::Two, rng)?),
        })
    }

    /// The key for `protocol`, generated now if this power cycle has none yet.
    pub fn get(
        &mut self,
        protocol: PinUvAuthProtocol,
        rng: &mut dyn Rng,
    ) -> Result<&mut KeyAgreement, StatusCode> {
        let slot = match protocol {
            PinUvAuthProtocol::One => &mut self.one,
            PinUvAuthProtocol::Two => &mut self.two,
        };
        if slot.is_none() {
            let key = KeyAgreement::generate(protocol, rng).map_err(|error| pin_status(&error))?;
            *slot = Some(key);
        }
        slot.as_mut().ok_or(StatusCode::Other)
    }
}

/// A parsed request; parameters not sent are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// pinUvAuthProtocol (0x01).
    pub protocol: Option<PinUvAuthProtocol>,
    /// subCommand (0x02).
    pub sub_command: u64,
    /// keyAgreement (0x03).
    pub key_agreement: Option<CoseEcdhKey>,
    /// pinUvAuthParam (0x04).
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// newPinEnc (0x05).
    pub new_pin_enc: Option<Vec<u8>>,
    /// pinHashEnc (0x06).
    pub pin_hash_enc: Option<Vec<u8>>,
    /// permissions (0x09).
    pub permissions: Option<u64>,
    /// rpId (0x0A).
    pub rp_id: Option<String>,
}

fn unsigned(value: &Value) -> Result<u64, StatusCode> {
    u64::try_from(read::int(value)?).map_err(|_| StatusCode::InvalidParameter)
}

fn optional_bytes(map: &[(Value, Value)], key: i64) -> Result<Option<Vec<u8>>, StatusCode> {
    read::get(map, key)
        .map(|value| read::bytes(value).map(<[u8]>::to_vec))
        .transpose()
}

/// A COSE_Key {1: kty, 3: alg, -1: crv, -2: x, -3: y}; a missing field or a key that is not
/// EC2 / ECDH-ES+HKDF-256 / P-256 is INVALID_PARAMETER.
pub(crate) fn cose_key(value: &Value) -> Result<CoseEcdhKey, StatusCode> {
    let map = read::map(value)?;
    let field = |key| read::get(map, key).ok_or(StatusCode::InvalidParameter);
    let kty = read::int(field(1)?)?;
    let alg = read::int(field(3)?)?;
    let crv = read::int(field(-1)?)?;
    let x = read::bytes(field(-2)?)?;
    let y = read::bytes(field(-3)?)?;
    CoseEcdhKey::from_cose(kty, alg, crv, x, y).map_err(|error| pin_status(&error))
}

/// The COSE_Key returned by getKeyAgreement.
fn cose_value(key: &CoseEcdhKey) -> Value {
    let (x, y) = key.cose_fields();
    Value::Map(vec![
        int_key(1, Value::Integer(COSE_KTY_EC2.into())),
        int_key(3, Value::Integer(COSE_ALG_ECDH_ES_HKDF_256.into())),
        int_key(-1, Value::Integer(COSE_CRV_P256.into())),
        int_key(-2, Value::Bytes(x.to_vec())),
        int_key(-3, Value::Bytes(y.to_vec())),
    ])
}

impl Request {
    /// Parses the parameter map: no subCommand → MISSING_PARAMETER, a pinUvAuthProtocol other
    /// than 1 or 2 → INVALID_PARAMETER, a wrong type → CBOR_UNEXPECTED_TYPE.
    pub fn parse(map: &[(Value, Value)]) -> Result<Self, StatusCode> {
        let sub_command = unsigned(read::get(map, 0x02).ok_or(StatusCode::MissingParameter)?)?;
        let protocol = read::get(map, 0x01)
            .map(|value| {
                PinUvAuthProtocol::from_wire(unsigned(value)?).map_err(|error| pin_status(&error))
            })
            .transpose()?;
        Ok(Self {
            protocol,
            sub_command,
            key_agreement: read::get(map, 0x03).map(cose_key).transpose()?,
            pin_uv_auth_param: optional_bytes(map, 0x04)?,
            new_pin_enc: optional_bytes(map, 0x05)?,
            pin_hash_enc: optional_bytes(map, 0x06)?,
            permissions: read::get(map, 0x09).map(unsigned).transpose()?,
            rp_id: read::get(map, 0x0A)
                .map(|value| read::text(value).map(str::to_owned))
                .transpose()?,
        })
    }
}

/// Runs one subcommand. `Ok(None)` is a success without a response map (setPIN, changePIN).
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
) -> Result<Option<Value>, StatusCode> {
    let sub_command = request.sub_command;
    if sub_command == GET_PIN_RETRIES {
        let pin = &authenticator.pin;
        return Ok(Some(Value::Map(vec![
            int_key(0x03, Value::Integer(pin.retries().into())),
            int_key(0x04, Value::Bool(pin.power_cycle_state())),
        ])));
    }
    let built_in_uv = authenticator.config.built_in_uv;
    if sub_command == GET_UV_RETRIES && built_in_uv {
        return Ok(Some(Value::Map(vec![int_key(
            0x05,
            Value::Integer(authenticator.uv_retries.into()),
        )])));
    }
    let uv_token = sub_command == GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS;
    let known = [
        GET_KEY_AGREEMENT,
        SET_PIN,
        CHANGE_PIN,
        GET_PIN_TOKEN,
        GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS,
    ]
    .contains(&sub_command);
    if !(known || (uv_token && built_in_uv)) {
        return Err(StatusCode::InvalidSubcommand);
    }
    // §6.5.5.7.3: check the parameters, then verify the user (which also collects presence)
    // before any key agreement work; a declined verification changes nothing else.
    let uv_proof = if uv_token {
        request.protocol.ok_or(StatusCode::MissingParameter)?;
        let Some(permissions) = request.permissions else {
            return Err(StatusCode::MissingParameter);
        };
        if request.key_agreement.is_none() {
            return Err(StatusCode::MissingParameter);
        }
        // A request that would be refused anyway must not cost a prompt (or a UV retry).
        crate::pin::check_permissions(permissions, OFFERED_PERMISSIONS, request.rp_id.as_deref())
            .map_err(|error| pin_status(&error))?;
        let rp_id = request.rp_id.as_deref().unwrap_or_default();
        Some(authenticator.perform_built_in_uv(env, rp_id, "verify")?)
    } else {
        None
    };
    let protocol = request.protocol.ok_or(StatusCode::MissingParameter)?;
    let Authenticator {
        pin,
        key_agreements,
        uv_retries,
        ..
    } = authenticator;
    let key_agreement = key_agreements.get(protocol, env.rng)?;
    if sub_command == GET_KEY_AGREEMENT {
        return Ok(Some(Value::Map(vec![int_key(
            0x01,
            cose_value(&key_agreement.public_key()),
        )])));
    }
    let now_ms = env.clock.now_ms();
    let mut store = PinWrites(&mut *env.store);
    let mut ctx = PinContext {
        store: &mut store,
        rng: &mut *env.rng,
        key_agreement,
    };
    let platform_key = request.key_agreement.as_ref();
    if let Some(proof) = uv_proof {
        return pin
            .get_uv_token(
                &mut ctx,
                &GetUvToken {
                    key_agreement: platform_key,
                    permissions: request.permissions,
                    rp_id: request.rp_id.as_deref(),
                    offered: OFFERED_PERMISSIONS,
                },
                proof,
                now_ms,
            )
            .map(|encrypted| Some(Value::Map(vec![int_key(0x02, Value::Bytes(encrypted))])))
            .map_err(|error| pin_status(&error));
    }
    let result = match sub_command {
        SET_PIN => pin
            .set_pin(
                &mut ctx,
                &SetPin {
                    key_agreement: platform_key,
                    new_pin_enc: request.new_pin_enc.as_deref(),
                    pin_uv_auth_param: request.pin_uv_auth_param.as_deref(),
                },
            )
            .map(|()| None),
        CHANGE_PIN => pin
            .change_pin(
                &mut ctx,
                &ChangePin {
                    key_agreement: platform_key,
                    pin_hash_enc: request.pin_hash_enc.as_deref(),
                    new_pin_enc: request.new_pin_enc.as_deref(),
                    pin_uv_auth_param: request.pin_uv_auth_param.as_deref(),
                },
            )
            .map(|()| None),
        _ => {
            let subcommand = if sub_command == GET_PIN_TOKEN {
                TokenSubcommand::GetPinToken
            } else {
                TokenSubcommand::WithPermissions {
                    offered: OFFERED_PERMISSIONS,
                }
            };
            pin.get_token(
                &mut ctx,
                &GetToken {
                    subcommand,
                    key_agreement: platform_key,
                    pin_hash_enc: request.pin_hash_enc.as_deref(),
                    permissions: request.permissions,
                    rp_id: request.rp_id.as_deref(),
                },
                now_ms,
            )
            .map(|encrypted| Some(Value::Map(vec![int_key(0x02, Value::Bytes(encrypted))])))
        }
    };
    // §6.5.5.5 and §6.5.5.7.2: a correct PIN (changePIN and the PIN token subcommands check
    // the current one) gives built-in UV its attempts back, as it does the PIN's own.
    if result.is_ok() && sub_command != SET_PIN {
        *uv_retries = super::MAX_UV_RETRIES;
    }
    result.map_err(|error| pin_status(&error))
}
