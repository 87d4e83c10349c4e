//! authenticatorConfig (CTAP 2.1 §6.11): enableEnterpriseAttestation, toggleAlwaysUv,
//! setMinPINLength. pinUvAuthParam = authenticate(token, 32×0xff || 0x0d || subCommand ||
//! subCommandParams).

use ciborium::value::Value;

use super::ctap2::{Ctap2, CONFIG};
use super::pin::PinUvAuthToken;
use super::{CtapDevice, Error};
use crate::cbor::{self, int_key};

/// enableEnterpriseAttestation.
pub const ENABLE_ENTERPRISE_ATTESTATION: u8 = 0x01;
/// toggleAlwaysUv.
pub const TOGGLE_ALWAYS_UV: u8 = 0x02;
/// setMinPINLength.
pub const SET_MIN_PIN_LENGTH: u8 = 0x03;

/// setMinPINLength's parameters; all optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MinPinLength {
    /// newMinPINLength (0x01): can only grow until reset.
    pub new_min_pin_length: Option<u64>,
    /// minPinLengthRPIDs (0x02): RPs allowed to read the minimum via the minPinLength
    /// extension.
    pub rp_ids: Vec<String>,
    /// forceChangePin (0x03).
    pub force_change_pin: bool,
}

impl MinPinLength {
    fn to_cbor(&self) -> Option<Value> {
        let mut map = Vec::new();
        if let Some(n) = self.new_min_pin_length {
            map.push(int_key(0x01, Value::Integer(n.into())));
        }
        if !self.rp_ids.is_empty() {
            let ids = self
                .rp_ids
                .iter()
                .map(|id| Value::Text(id.clone()))
                .collect();
            map.push(int_key(0x02, Value::Array(ids)));
        }
        if self.force_change_pin {
            map.push(int_key(0x03, Value::Bool(true)));
        }
        (!map.is_empty()).then_some(Value::Map(map))
    }
}

/// The config request map.
pub fn request(
    sub_command: u8,
    params: Option<Value>,
    token: &PinUvAuthToken,
) -> Result<Value, Error> {
    let mut message = vec![0xFF; 32];
    message.push(CONFIG);
    message.push(sub_command);
    let mut map = vec![int_key(0x01, Value::Integer(sub_command.into()))];
    if let Some(params) = params {
        message.extend(
            cbor::encode(&params).map_err(|_| Error::Invalid("parameters not encodable".into()))?,
        );
        map.push(int_key(0x02, params));
    }
    map.push(int_key(
        0x03,
        Value::Integer(token.protocol().wire().into()),
    ));
    map.push(int_key(0x04, Value::Bytes(token.authenticate(&message))));
    Ok(Value::Map(map))
}

impl<D: CtapDevice> Ctap2<D> {
    fn config(
        &mut self,
        sub_command: u8,
        params: Option<Value>,
        token: &PinUvAuthToken,
    ) -> Result<(), Error> {
        if self.info().option("authnrCfg") != Some(true) {
            return Err(Error::Unsupported(
                "the key has no authenticatorConfig (authnrCfg)".into(),
            ));
        }
        let body = request(sub_command, params, token)?;
        self.send_cbor(CONFIG, Some(&body)).map(|_| ())
    }

    /// enableEnterpriseAttestation.
    pub fn enable_enterprise_attestation(&mut self, token: &PinUvAuthToken) -> Result<(), Error> {
        self.config(ENABLE_ENTERPRISE_ATTESTATION, None, token)
    }

    /// toggleAlwaysUv: flips alwaysUv; read the new value from getInfo.
    pub fn toggle_always_uv(&mut self, token: &PinUvAuthToken) -> Result<(), Error> {
        self.config(TOGGLE_ALWAYS_UV, None, token)
    }

    /// setMinPINLength.
    pub fn set_min_pin_length(
        &mut self,
        token: &PinUvAuthToken,
        params: &MinPinLength,
    ) -> Result<(), Error> {
        self.config(SET_MIN_PIN_LENGTH, params.to_cbor(), token)
    }
}
