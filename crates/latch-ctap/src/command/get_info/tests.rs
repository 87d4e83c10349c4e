//! authenticatorGetInfo: the exact canonical bytes.

use crate::command::testing::*;

/// A CBOR text string of fewer than 24 bytes.
fn tstr(out: &mut Vec<u8>, s: &str) {
    out.push(0x60 + u8::try_from(s.len()).unwrap());
    out.extend(s.as_bytes());
}

#[test]
fn get_info_exact_bytes() {
    let (mut auth, mut env) = device();
    let response = auth.handle(&mut env.env(), &[GET_INFO]);
    let mut expected = vec![0x00, 0xB1];
    // 1: versions
    expected.extend([0x01, 0x83]);
    for version in ["U2F_V2", "FIDO_2_0", "FIDO_2_1"] {
        tstr(&mut expected, version);
    }
    // 2: extensions
    expected.extend([0x02, 0x85]);
    for extension in [
        "credBlob",
        "credProtect",
        "hmac-secret",
        "largeBlobKey",
        "minPinLength",
    ] {
        tstr(&mut expected, extension);
    }
    // 3: aaguid
    expected.extend([0x03, 0x50]);
    expected.extend(AAGUID);
    // 4: options in canonical order (length first, then bytes)
    expected.extend([0x04, 0xAC]);
    for (option, value) in [
        ("rk", true),
        ("up", true),
        ("plat", false),
        ("alwaysUv", false),
        ("credMgmt", true),
        ("authnrCfg", true),
        ("clientPin", false),
        ("largeBlobs", true),
        ("pinUvAuthToken", true),
        ("setMinPINLength", true),
        ("makeCredUvNotRqd", false),
        ("credentialMgmtPreview", true),
    ] {
        tstr(&mut expected, option);
        expected.push(if value { 0xF5 } else { 0xF4 });
    }
    // 5: maxMsgSize 7609; 6: [2, 1]; 7: 16 per list; 8: 255; 9: ["usb"]
    expected.extend([
        0x05, 0x19, 0x1D, 0xB9, 0x06, 0x82, 0x02, 0x01, 0x07, 0x10, 0x08, 0x18, 0xFF, 0x09, 0x81,
    ]);
    tstr(&mut expected, "usb");
    // 10: algorithms
    expected.extend([0x0A, 0x82]);
    for alg in [0x26, 0x27] {
        expected.push(0xA2);
        tstr(&mut expected, "alg");
        expected.push(alg);
        tstr(&mut expected, "type");
        tstr(&mut expected, "public-key");
    }
    // 11: maxSerializedLargeBlobArray 4096; 12: forcePINChange false; 13: minPINLength 4;
    // 14: firmwareVersion 3; 15: maxCredBlobLength 32; 16: maxRPIDsForSetMinPINLength 8;
    // 20: remainingDiscoverableCredentials 16
    expected.extend([
        0x0B, 0x19, 0x10, 0x00, 0x0C, 0xF4, 0x0D, 0x04, 0x0E, 0x03, 0x0F, 0x18, 0x20, 0x10, 0x08,
        0x14, 0x10,
    ]);
    assert_eq!(response, expected);
}

#[test]
fn get_info_with_built_in_uv_and_always_uv() {
    let (mut auth, mut env) = device_uv();
    env.store
        .apply(&[crate::store::Write::Settings(crate::store::Settings {
            always_uv: true,
            min_pin_length_rp_ids: vec![],
        })])
        .unwrap();
    let info = call(&mut auth, &mut env, GET_INFO, None).unwrap();
    let options = get(&info, 4).as_map().unwrap();
    assert_eq!(
        cbor::read::get_text(options, "uv"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        cbor::read::get_text(options, "alwaysUv"),
        Some(&Value::Bool(true))
    );
    assert_eq!(get(&info, 0x11), &int(1));
    assert_eq!(get(&info, 0x12), &int(2));
}

#[test]
fn get_info_reports_pin_set() {
    let (mut auth, mut env) = device();
    pin_token(&mut auth, &mut env, Permissions::DEFAULT, Some(RP));
    let info = call(&mut auth, &mut env, GET_INFO, None).unwrap();
    let options = get(&info, 4).as_map().unwrap();
    assert_eq!(
        cbor::read::get_text(options, "clientPin"),
        Some(&Value::Bool(true))
    );
}
