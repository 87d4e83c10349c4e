//! authenticatorGetInfo: the exact canonical bytes.

use crate::command::testing::*;

#[test]
fn get_info_exact_bytes() {
    let (mut auth, mut env) = device();
    let response = auth.handle(&mut env.env(), &[GET_INFO]);
    let mut expected = vec![0x00, 0xA9];
    // 1: versions
    expected.extend([0x01, 0x83, 0x66]);
    expected.extend(b"U2F_V2");
    expected.push(0x68);
    expected.extend(b"FIDO_2_0");
    expected.push(0x68);
    expected.extend(b"FIDO_2_1");
    // 3: aaguid
    expected.extend([0x03, 0x50]);
    expected.extend(AAGUID);
    // 4: options, canonical order rk, up, plat, clientPin, pinUvAuthToken
    expected.extend([0x04, 0xA5, 0x62]);
    expected.extend(b"rk");
    expected.extend([0xF5, 0x62]);
    expected.extend(b"up");
    expected.extend([0xF5, 0x64]);
    expected.extend(b"plat");
    expected.extend([0xF4, 0x69]);
    expected.extend(b"clientPin");
    expected.extend([0xF4, 0x6E]);
    expected.extend(b"pinUvAuthToken");
    expected.push(0xF5);
    // 5: maxMsgSize 7609; 6: [2, 1]; 8: 255
    expected.extend([
        0x05, 0x19, 0x1D, 0xB9, 0x06, 0x82, 0x02, 0x01, 0x08, 0x18, 0xFF,
    ]);
    // 10: algorithms
    expected.extend([0x0A, 0x82]);
    for alg in [0x26, 0x27] {
        expected.extend([0xA2, 0x63]);
        expected.extend(b"alg");
        expected.push(alg);
        expected.push(0x64);
        expected.extend(b"type");
        expected.push(0x6A);
        expected.extend(b"public-key");
    }
    // 13: minPINLength 4; 14: firmwareVersion 3
    expected.extend([0x0D, 0x04, 0x0E, 0x03]);
    assert_eq!(response, expected);
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
