//! authenticatorGetInfo (CTAP 2.1 §6.4).

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::config::MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH;
use super::large_blobs::MAX_SERIALIZED_LARGE_BLOB_ARRAY;
use super::{extensions, Authenticator};
use crate::cbor::{int_key, text_key};
use crate::credential::MAX_CREDENTIAL_ID_LEN;
use crate::env::Env;
use crate::hid;
use crate::store::MAX_CRED_BLOB_LEN;

/// "versions": U2F is answered over CTAPHID_MSG; FIDO_2_2 must not appear.
pub const VERSIONS: [&str; 3] = ["U2F_V2", "FIDO_2_0", "FIDO_2_1"];
/// maxMsgSize: the CTAPHID maximum, 57 + 128 × 59 = 7609.
pub const MAX_MSG_SIZE: usize = hid::MAX_MESSAGE_LEN;

/// maxCredentialCountInList: allowList / excludeList entries processed per request.
pub const MAX_CREDENTIAL_COUNT_IN_LIST: usize = 16;
/// uvModality: USER_VERIFY_PRESENCE_INTERNAL (0x01) is a touch; the simulated biometric is an
/// operator's approval, closest to USER_VERIFY_FINGERPRINT_INTERNAL (0x02).
pub const UV_MODALITY_FINGERPRINT: u64 = 0x02;

/// The getInfo response map (§6.4), describing exactly what this authenticator does.
pub fn response(authenticator: &Authenticator, env: &Env<'_>) -> Value {
    let config = authenticator.config();
    let pin = authenticator.pin();
    let state = env.store.state();
    let text = |s: &str| Value::Text(s.to_owned());
    let int = |i: i64| Value::Integer(i.into());
    let count = |n: usize| Value::Integer(u64::try_from(n).unwrap_or(u64::MAX).into());
    let flag = |key: &str, value: bool| text_key(key, Value::Bool(value));
    let algorithm = |alg: i64| {
        Value::Map(vec![
            text_key("alg", int(alg)),
            text_key("type", text("public-key")),
        ])
    };
    let mut options = vec![
        flag("rk", true),
        flag("up", true),
        flag("plat", false),
        flag("alwaysUv", state.settings.always_uv),
        flag("credMgmt", true),
        flag("authnrCfg", true),
        flag("clientPin", pin.is_set()),
        flag("largeBlobs", true),
        flag("pinUvAuthToken", true),
        flag("setMinPINLength", true),
        flag("makeCredUvNotRqd", false),
        flag("credentialMgmtPreview", true),
    ];
    if config.built_in_uv {
        // "uv": true means built-in UV is configured and ready.
        options.push(flag("uv", true));
    }
    let remaining = env.store.capacity().saturating_sub(env.store.count());
    // With alwaysUv on, CTAP1/U2F is switched off, so it is not offered.
    let versions = VERSIONS
        .iter()
        .filter(|v| !(state.settings.always_uv && **v == "U2F_V2"))
        .map(|v| text(v))
        .collect();
    let mut info = vec![
        int_key(0x01, Value::Array(versions)),
        int_key(
            0x02,
            Value::Array(extensions::SUPPORTED.iter().map(|e| text(e)).collect()),
        ),
        int_key(0x03, Value::Bytes(config.aaguid.to_vec())),
        int_key(0x04, Value::Map(options)),
        int_key(0x05, count(MAX_MSG_SIZE)),
        int_key(0x06, Value::Array(vec![int(2), int(1)])),
        int_key(0x07, count(MAX_CREDENTIAL_COUNT_IN_LIST)),
        int_key(0x08, count(MAX_CREDENTIAL_ID_LEN)),
        int_key(0x09, Value::Array(vec![text("usb")])),
        int_key(0x0A, Value::Array(vec![algorithm(-7), algorithm(-8)])),
        int_key(0x0B, count(MAX_SERIALIZED_LARGE_BLOB_ARRAY)),
        int_key(0x0C, Value::Bool(pin.force_change())),
        int_key(0x0D, Value::Integer(pin.min_pin_length().into())),
        int_key(0x0E, Value::Integer(config.firmware_version.into())),
        int_key(0x0F, count(MAX_CRED_BLOB_LEN)),
        int_key(0x10, count(MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH)),
        int_key(0x14, count(remaining)),
    ];
    if config.built_in_uv {
        info.push(int_key(0x11, Value::Integer(1.into())));
        info.push(int_key(
            0x12,
            Value::Integer(UV_MODALITY_FINGERPRINT.into()),
        ));
    }
    Value::Map(info)
}
