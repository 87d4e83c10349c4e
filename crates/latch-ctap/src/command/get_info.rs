//! authenticatorGetInfo (CTAP 2.1 §6.4).

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::Authenticator;
use crate::cbor::{int_key, text_key};
use crate::credential::MAX_CREDENTIAL_ID_LEN;
use crate::hid;

/// "versions": U2F is answered over CTAPHID_MSG; FIDO_2_2 must not appear.
pub const VERSIONS: [&str; 3] = ["U2F_V2", "FIDO_2_0", "FIDO_2_1"];
/// maxMsgSize: the CTAPHID maximum, 57 + 128 × 59 = 7609.
pub const MAX_MSG_SIZE: usize = hid::MAX_MESSAGE_LEN;

/// The getInfo response map. No extensions are implemented yet, so none are listed.
pub fn response(authenticator: &Authenticator) -> Value {
    let config = authenticator.config();
    let pin = authenticator.pin();
    let text = |s: &str| Value::Text(s.to_owned());
    let int = |i: i64| Value::Integer(i.into());
    let count = |n: usize| Value::Integer(u64::try_from(n).unwrap_or(u64::MAX).into());
    let algorithm = |alg: i64| {
        Value::Map(vec![
            text_key("alg", int(alg)),
            text_key("type", text("public-key")),
        ])
    };
    Value::Map(vec![
        int_key(
            0x01,
            Value::Array(VERSIONS.iter().map(|v| text(v)).collect()),
        ),
        int_key(0x03, Value::Bytes(config.aaguid.to_vec())),
        int_key(
            0x04,
            Value::Map(vec![
                text_key("rk", Value::Bool(true)),
                text_key("up", Value::Bool(true)),
                text_key("plat", Value::Bool(false)),
                text_key("clientPin", Value::Bool(pin.is_set())),
                text_key("pinUvAuthToken", Value::Bool(true)),
            ]),
        ),
        int_key(0x05, count(MAX_MSG_SIZE)),
        int_key(0x06, Value::Array(vec![int(2), int(1)])),
        int_key(0x08, count(MAX_CREDENTIAL_ID_LEN)),
        int_key(0x0A, Value::Array(vec![algorithm(-7), algorithm(-8)])),
        int_key(0x0D, Value::Integer(pin.min_pin_length().into())),
        int_key(0x0E, Value::Integer(config.firmware_version.into())),
    ])
}
