use super::*;

#[test]
fn get_info_is_parsed_into_fields() {
    let ctap = ctap2();
    let info = ctap.info();
    assert_eq!(info.versions, vec!["U2F_V2", "FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(info.aaguid, [0xAA; 16]);
    assert_eq!(info.option("rk"), Some(true));
    assert_eq!(info.option("clientPin"), Some(false));
    assert_eq!(info.pin_set(), Some(false));
    assert_eq!(info.max_msg_size, Some(7609));
    assert_eq!(info.pin_uv_auth_protocols, vec![2, 1]);
    assert_eq!(info.max_credential_id_length, Some(255));
    assert_eq!(info.algorithms, vec![-7, -8]);
    assert_eq!(info.min_pin_length, Some(4));
    assert_eq!(info.firmware_version, Some(1));
    assert_eq!(info.cred_mgmt_command(), Some(0x0A));
    assert!(info.supports_permissions());
}

#[test]
fn get_info_parses_every_field_a_full_key_sends() {
    // A CTAP 2.1 getInfo with every key 0x01..0x14 but 0x13.
    use crate::cbor::{encode, int_key, text_key};
    use ciborium::value::Value;
    let t = |s: &str| Value::Text(s.into());
    let n = |i: i64| Value::Integer(i.into());
    let body = encode(&Value::Map(vec![
        int_key(
            1,
            Value::Array(vec![t("U2F_V2"), t("FIDO_2_0"), t("FIDO_2_1")]),
        ),
        int_key(2, Value::Array(vec![t("credProtect"), t("hmac-secret")])),
        int_key(3, Value::Bytes((0..16).map(|i| i * 0x11).collect())),
        int_key(
            4,
            Value::Map(vec![
                text_key("rk", Value::Bool(true)),
                text_key("credMgmt", Value::Bool(true)),
                text_key("clientPin", Value::Bool(false)),
            ]),
        ),
        int_key(5, n(2048)),
        int_key(6, Value::Array(vec![n(2)])),
        int_key(7, n(8)),
        int_key(8, n(64)),
        int_key(9, Value::Array(vec![t("usb")])),
        int_key(
            10,
            Value::Array(vec![
                Value::Map(vec![
                    text_key("alg", n(-7)),
                    text_key("type", t("public-key")),
                ]),
                Value::Map(vec![text_key("alg", n(-9)), text_key("type", t("other"))]),
            ]),
        ),
        int_key(11, n(1024)),
        int_key(12, Value::Bool(false)),
        int_key(13, n(6)),
        int_key(14, n(0x0001_0203)),
        int_key(15, n(32)),
        int_key(16, n(1)),
        int_key(17, n(1)),
        int_key(18, n(64)),
        int_key(19, Value::Map(vec![text_key("FIDO", n(1))])),
        int_key(20, n(25)),
        int_key(99, t("unknown keys are ignored")),
    ]))
    .unwrap();
    let info = crate::client::Info::parse(&body).unwrap();
    assert_eq!(info.max_rpids_for_set_min_pin_length, Some(1));
    assert_eq!(info.uv_modality, Some(64));
    assert_eq!(info.versions.len(), 3);
    assert_eq!(info.extensions, vec!["credProtect", "hmac-secret"]);
    assert_eq!(info.aaguid[15], 0xFF);
    assert_eq!(info.max_msg_size(), 2048);
    assert_eq!(
        info.preferred_pin_protocol(),
        Some(crate::pin::PinUvAuthProtocol::Two)
    );
    assert_eq!(info.max_credential_count_in_list, Some(8));
    assert_eq!(info.max_credential_id_length, Some(64));
    assert_eq!(info.transports, vec!["usb"]);
    assert_eq!(info.algorithms, vec![-7]);
    assert_eq!(info.max_serialized_large_blob_array, Some(1024));
    assert_eq!(info.force_pin_change, Some(false));
    assert_eq!(info.min_pin_length, Some(6));
    assert_eq!(info.firmware_version, Some(0x0001_0203));
    assert_eq!(info.max_cred_blob_length, Some(32));
    assert_eq!(info.remaining_discoverable_credentials, Some(25));
    assert_eq!(info.pin_set(), Some(false));
    assert_eq!(info.cred_mgmt_command(), Some(0x0A));
}

#[test]
fn get_info_without_versions_or_aaguid_is_malformed() {
    assert!(matches!(
        crate::client::Info::parse(&hex("a0")),
        Err(Error::Response(_))
    ));
    // {1: ["FIDO_2_0"]}: no aaguid.
    assert!(matches!(
        crate::client::Info::parse(&hex("a1 01 81 68 4649444f5f325f30")),
        Err(Error::Response(ref m)) if m == "aaguid is missing"
    ));
    // Trailing garbage after the map.
    assert!(matches!(
        crate::client::Info::parse(&hex("a0 00")),
        Err(Error::Response(_))
    ));
}
