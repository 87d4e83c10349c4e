//! Dispatch: unknown commands, empty messages and malformed CBOR.

use crate::command::testing::*;

#[test]
fn unknown_command_and_empty_message() {
    let (mut auth, mut env) = device();
    assert_eq!(call(&mut auth, &mut env, 0x55, None).err(), Some(0x01));
    assert_eq!(auth.handle(&mut env.env(), &[]), vec![0x03]);
}

#[test]
fn malformed_parameters() {
    let (mut auth, mut env) = device();
    // Not a map.
    assert_eq!(
        auth.handle(&mut env.env(), &[MAKE_CREDENTIAL, 0x80]),
        vec![0x11]
    );
    // Truncated.
    assert_eq!(
        auth.handle(&mut env.env(), &[MAKE_CREDENTIAL, 0xA1, 0x01]),
        vec![0x12]
    );
    // Too deep.
    assert_eq!(
        auth.handle(
            &mut env.env(),
            &[GET_ASSERTION, 0xA1, 0x01, 0x81, 0x81, 0x81, 0xA0]
        ),
        vec![0x12]
    );
}
