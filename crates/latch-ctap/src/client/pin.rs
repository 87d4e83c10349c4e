//! authenticatorClientPIN (0x06) from the platform side: retries, key agreement, setPIN,
//! changePIN and the token requests. Protocol 2 is used when the key offers it, else 1. The
//! cryptography is [`crate::pin::platform`] and [`crate::pin::protocol`], shared with the
//! authenticator's own tests.

use ciborium::value::Value;

use super::ctap2::{Ctap2, CLIENT_PIN};
use super::error::Hint;
use super::parse;
use super::{CtapDevice, Error};
use crate::cbor::int_key;
use crate::pin::platform::{change_pin_params, pin_hash_enc, set_pin_params};
use crate::pin::protocol::{COSE_ALG_ECDH_ES_HKDF_256, COSE_CRV_P256, COSE_KTY_EC2};
use crate::pin::{encapsulate, CoseEcdhKey, Permissions, PinUvAuthProtocol, SharedSecret};
use crate::status::StatusCode;

/// getPINRetries.
pub const GET_PIN_RETRIES: u8 = 0x01;
/// getKeyAgreement.
pub const GET_KEY_AGREEMENT: u8 = 0x02;
/// setPIN.
pub const SET_PIN: u8 = 0x03;
/// changePIN.
pub const CHANGE_PIN: u8 = 0x04;
/// getPinToken.
pub const GET_PIN_TOKEN: u8 = 0x05;
/// getPinUvAuthTokenUsingUvWithPermissions.
pub const GET_TOKEN_USING_UV: u8 = 0x06;
/// getUVRetries.
pub const GET_UV_RETRIES: u8 = 0x07;
/// getPinUvAuthTokenUsingPinWithPermissions.
pub const GET_TOKEN_USING_PIN: u8 = 0x09;

/// A pinUvAuthToken held by the platform, with the protocol it was issued under.
pub struct PinUvAuthToken {
    protocol: PinUvAuthProtocol,
    key: Vec<u8>,
}

impl std::fmt::Debug for PinUvAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinUvAuthToken")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Drop for PinUvAuthToken {
    fn drop(&mut self) {
        self.key.fill(0);
    }
}

impl PinUvAuthToken {
    /// A token from its parts (tests, or a token obtained elsewhere).
    pub fn from_parts(protocol: PinUvAuthProtocol, key: Vec<u8>) -> Self {
        Self { protocol, key }
    }

    /// The protocol the token belongs to.
    pub const fn protocol(&self) -> PinUvAuthProtocol {
        self.protocol
    }

    /// authenticate(token, message): the pinUvAuthParam over `message`.
    pub fn authenticate(&self, message: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(&self.key, message)
    }
}

/// The platform's COSE key as sent in keyAgreement (0x03).
pub(crate) fn cose_key(key: &CoseEcdhKey) -> Value {
    let int = |i: i64| Value::Integer(i.into());
    Value::Map(vec![
        int_key(1, int(COSE_KTY_EC2)),
        int_key(3, int(COSE_ALG_ECDH_ES_HKDF_256)),
        int_key(-1, int(COSE_CRV_P256)),
        int_key(-2, Value::Bytes(key.x().to_vec())),
        int_key(-3, Value::Bytes(key.y().to_vec())),
    ])
}

fn parse_cose_key(value: &Value) -> Result<CoseEcdhKey, Error> {
    let map = parse::map(value, "keyAgreement")?;
    let kty = parse::int(parse::req(map, 1, "keyAgreement kty")?, "keyAgreement kty")?;
    let crv = parse::int(parse::req(map, -1, "keyAgreement crv")?, "keyAgreement crv")?;
    if kty != COSE_KTY_EC2 || crv != COSE_CRV_P256 {
        return Err(Error::response("keyAgreement is not an EC2 P-256 key"));
    }
    let x = parse::fixed::<32>(parse::req(map, -2, "keyAgreement x")?, "keyAgreement x")?;
    let y = parse::fixed::<32>(parse::req(map, -3, "keyAgreement y")?, "keyAgreement y")?;
    Ok(CoseEcdhKey::from_xy(x, y))
}

/// A ClientPIN request map.
fn request(
    protocol: Option<PinUvAuthProtocol>,
    sub_command: u8,
    rest: Vec<(Value, Value)>,
) -> Value {
    let mut map = Vec::with_capacity(rest.len() + 2);
    if let Some(protocol) = protocol {
        map.push(int_key(0x01, Value::Integer(protocol.wire().into())));
    }
    map.push(int_key(0x02, Value::Integer(sub_command.into())));
    map.extend(rest);
    Value::Map(map)
}

impl<D: CtapDevice> Ctap2<D> {
    /// The protocol to use: 2 if offered, else 1.
    pub fn pin_protocol(&self) -> Result<PinUvAuthProtocol, Error> {
        self.info().preferred_pin_protocol().ok_or_else(|| {
            Error::Unsupported("the key offers no PIN/UV auth protocol (no PIN support)".into())
        })
    }

    fn client_pin(&mut self, params: &Value) -> Result<Vec<(Value, Value)>, Error> {
        self.send_cbor(CLIENT_PIN, Some(params))
    }

    /// getPINRetries: (retries left, powerCycleState if reported).
    pub fn get_pin_retries(&mut self) -> Result<(u8, Option<bool>), Error> {
        let protocol = self.info().preferred_pin_protocol();
        let map = self.client_pin(&request(protocol, GET_PIN_RETRIES, vec![]))?;
        let retries = parse::uint(parse::req(&map, 0x03, "pinRetries")?, "pinRetries")?;
        Ok((
            u8::try_from(retries).unwrap_or(u8::MAX),
            parse::opt_bool(&map, 0x04, "powerCycleState")?,
        ))
    }

    /// getUVRetries.
    pub fn get_uv_retries(&mut self) -> Result<u8, Error> {
        let protocol = self.info().preferred_pin_protocol();
        let map = self.client_pin(&request(protocol, GET_UV_RETRIES, vec![]))?;
        let retries = parse::uint(parse::req(&map, 0x05, "uvRetries")?, "uvRetries")?;
        Ok(u8::try_from(retries).unwrap_or(u8::MAX))
    }

    /// getKeyAgreement: the key's current COSE key for `protocol`.
    pub fn get_key_agreement(&mut self, protocol: PinUvAuthProtocol) -> Result<CoseEcdhKey, Error> {
        let map = self.client_pin(&request(Some(protocol), GET_KEY_AGREEMENT, vec![]))?;
        parse_cose_key(parse::req(&map, 0x01, "keyAgreement")?)
    }

    /// getKeyAgreement, then encapsulate: the platform key to send and the shared secret.
    fn agree(&mut self) -> Result<(PinUvAuthProtocol, CoseEcdhKey, SharedSecret), Error> {
        let protocol = self.pin_protocol()?;
        let peer = self.get_key_agreement(protocol)?;
        let (platform, shared) = encapsulate(protocol, &peer, self.rng.as_mut())?;
        Ok((protocol, platform, shared))
    }

    /// Refuses a PIN shorter than the key's minPINLength (in code points) before sending it.
    fn check_new_pin(&self, pin: &str) -> Result<(), Error> {
        let min = self.info().min_pin_length.unwrap_or(4);
        let len = pin.chars().count();
        if (len as u64) < min {
            return Err(Error::Invalid(format!(
                "the PIN must be at least {min} characters (got {len})"
            )));
        }
        if pin.len() > crate::pin::MAX_PIN_BYTES {
            return Err(Error::Invalid(format!(
                "the PIN must be at most {} bytes of UTF-8 (got {})",
                crate::pin::MAX_PIN_BYTES,
                pin.len()
            )));
        }
        Ok(())
    }

    /// setPIN: sets the first PIN.
    pub fn set_pin(&mut self, pin: &str) -> Result<(), Error> {
        self.check_new_pin(pin)?;
        let (protocol, platform, shared) = self.agree()?;
        let params = set_pin_params(&shared, self.rng.as_mut(), pin)?;
        let body = request(
            Some(protocol),
            SET_PIN,
            vec![
                int_key(0x03, cose_key(&platform)),
                int_key(0x04, Value::Bytes(params.pin_uv_auth_param)),
                int_key(0x05, Value::Bytes(params.new_pin_enc)),
            ],
        );
        self.client_pin(&body).map(|_| ())
    }

    /// changePIN.
    pub fn change_pin(&mut self, current: &str, new: &str) -> Result<(), Error> {
        self.check_new_pin(new)?;
        let (protocol, platform, shared) = self.agree()?;
        let params = change_pin_params(&shared, self.rng.as_mut(), current, new)?;
        let body = request(
            Some(protocol),
            CHANGE_PIN,
            vec![
                int_key(0x03, cose_key(&platform)),
                int_key(0x04, Value::Bytes(params.pin_uv_auth_param)),
                int_key(0x05, Value::Bytes(params.new_pin_enc)),
                int_key(0x06, Value::Bytes(params.pin_hash_enc)),
            ],
        );
        let result = self.client_pin(&body).map(|_| ());
        self.with_retries(result)
    }

    /// getPinToken (0x05): the CTAP 2.0 token, implicitly mc + ga.
    pub fn get_pin_token(&mut self, pin: &str) -> Result<PinUvAuthToken, Error> {
        self.token_request(pin, None)
    }

    /// getPinUvAuthTokenUsingPinWithPermissions (0x09).
    pub fn get_pin_uv_auth_token(
        &mut self,
        pin: &str,
        permissions: Permissions,
        rp_id: Option<&str>,
    ) -> Result<PinUvAuthToken, Error> {
        self.token_request(pin, Some((permissions, rp_id)))
    }

    /// The token a manager or browser wants: 0x09 with `permissions` if the key supports
    /// pinUvAuthToken, else getPinToken (CTAP 2.0 keys).
    pub fn pin_token(
        &mut self,
        pin: &str,
        permissions: Permissions,
        rp_id: Option<&str>,
    ) -> Result<PinUvAuthToken, Error> {
        if self.info().supports_permissions() {
            self.get_pin_uv_auth_token(pin, permissions, rp_id)
        } else {
            self.get_pin_token(pin)
        }
    }

    fn token_request(
        &mut self,
        pin: &str,
        permissions: Option<(Permissions, Option<&str>)>,
    ) -> Result<PinUvAuthToken, Error> {
        let (protocol, platform, shared) = self.agree()?;
        let enc = pin_hash_enc(&shared, self.rng.as_mut(), pin)?;
        let mut rest = vec![
            int_key(0x03, cose_key(&platform)),
            int_key(0x06, Value::Bytes(enc)),
        ];
        let sub_command = match permissions {
            None => GET_PIN_TOKEN,
            Some((permissions, rp_id)) => {
                rest.push(int_key(0x09, Value::Integer(permissions.bits().into())));
                if let Some(rp_id) = rp_id {
                    rest.push(int_key(0x0A, Value::Text(rp_id.to_owned())));
                }
                GET_TOKEN_USING_PIN
            }
        };
        let result = self.client_pin(&request(Some(protocol), sub_command, rest));
        let map = self.with_retries(result)?;
        decrypt(&shared, &map)
    }

    /// getPinUvAuthTokenUsingUvWithPermissions (0x06): built-in UV instead of the PIN.
    pub fn get_uv_token(
        &mut self,
        permissions: Permissions,
        rp_id: Option<&str>,
    ) -> Result<PinUvAuthToken, Error> {
        let (protocol, platform, shared) = self.agree()?;
        let mut rest = vec![
            int_key(0x03, cose_key(&platform)),
            int_key(0x09, Value::Integer(permissions.bits().into())),
        ];
        if let Some(rp_id) = rp_id {
            rest.push(int_key(0x0A, Value::Text(rp_id.to_owned())));
        }
        let map = self.client_pin(&request(Some(protocol), GET_TOKEN_USING_UV, rest))?;
        decrypt(&shared, &map)
    }

    /// On PIN_INVALID, asks getPINRetries so the message can say how many are left. A key with
    /// forcePINChange answers PIN_INVALID to the right PIN too (and then has every retry
    /// left): that gets its own message.
    fn with_retries<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        match result {
            Err(Error::Ctap(mut e)) if e.status == StatusCode::PinInvalid => {
                if let Ok((retries, _)) = self.get_pin_retries() {
                    e.retries = Some(retries);
                    if retries == crate::pin::MAX_PIN_RETRIES
                        && self
                            .get_info()
                            .is_ok_and(|i| i.force_pin_change == Some(true))
                    {
                        e.hint = Hint::PinChangeRequired;
                    }
                }
                Err(Error::Ctap(e))
            }
            other => other,
        }
    }
}

/// Decrypts pinUvAuthToken (0x02): 32 bytes (CTAP 2.1) or 16 (some CTAP 2.0 keys).
fn decrypt(shared: &SharedSecret, map: &[(Value, Value)]) -> Result<PinUvAuthToken, Error> {
    let enc = parse::bytes(parse::req(map, 0x02, "pinUvAuthToken")?, "pinUvAuthToken")?;
    let key = shared.decrypt(&enc)?;
    if key.len() != 16 && key.len() != 32 {
        return Err(Error::response(format!(
            "pinUvAuthToken is {} bytes, expected 16 or 32",
            key.len()
        )));
    }
    Ok(PinUvAuthToken::from_parts(shared.protocol(), key))
}
