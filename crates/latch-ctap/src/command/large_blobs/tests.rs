//! authenticatorLargeBlobs: reads, fragmented writes, and every status path.

use aws_lc_rs::digest;

use super::{MAX_FRAGMENT_LEN, MAX_SERIALIZED_LARGE_BLOB_ARRAY};
use crate::command::testing::*;
use crate::command::LARGE_BLOBS;
use crate::store::{Settings, Write, INITIAL_LARGE_BLOB_ARRAY};

type Token = (PinUvAuthProtocol, [u8; 32]);

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// A serialized large-blob array: `payload` || LEFT(SHA-256(payload), 16).
fn serialized(payload: &[u8]) -> Vec<u8> {
    let mut out = payload.to_vec();
    out.extend_from_slice(&sha256(payload)[..16]);
    out
}

fn read(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    offset: i64,
    length: i64,
) -> Result<Vec<u8>, u8> {
    let params = Value::Map(vec![int_key(1, int(length)), int_key(3, int(offset))]);
    let response = call(auth, env, LARGE_BLOBS, Some(params))?;
    assert_eq!(response.len(), 1);
    Ok(get(&response, 1).as_bytes().unwrap().clone())
}

/// A set request; with a token, pinUvAuthParam over
/// 32×0xff || 0x0c 0x00 || uint32LE(offset) || SHA-256(fragment).
fn set(fragment: &[u8], offset: usize, length: Option<usize>, token: Option<&Token>) -> Value {
    let mut map = vec![
        int_key(2, bytes(fragment)),
        int_key(3, int(i64::try_from(offset).unwrap())),
    ];
    if let Some(length) = length {
        map.push(int_key(4, int(i64::try_from(length).unwrap())));
    }
    if let Some((protocol, key)) = token {
        let mut message = vec![0xff; 32];
        message.extend([0x0c, 0x00]);
        message.extend(u32::try_from(offset).unwrap().to_le_bytes());
        message.extend(sha256(fragment));
        map.push(int_key(5, auth_param(*protocol, key, &message)));
        map.push(int_key(6, int(i64::from(protocol.wire()))));
    }
    Value::Map(map)
}

fn send(auth: &mut Authenticator, env: &mut TestEnv, params: Value) -> Result<(), u8> {
    call_empty(auth, env, LARGE_BLOBS, Some(params))
}

/// Writes `array` in fragments of `size`, the way python-fido2's `write_blob_array` does.
fn write_all(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    array: &[u8],
    size: usize,
    token: Option<&Token>,
) -> Result<(), u8> {
    for (i, fragment) in array.chunks(size).enumerate() {
        let offset = i * size;
        let length = (offset == 0).then_some(array.len());
        send(auth, env, set(fragment, offset, length, token))?;
    }
    Ok(())
}

#[test]
fn a_fresh_authenticator_reads_the_initial_array() {
    let (mut auth, mut env) = device();
    let max = i64::try_from(MAX_FRAGMENT_LEN).unwrap();
    assert_eq!(MAX_FRAGMENT_LEN, 7609 - 64);
    assert_eq!(
        read(&mut auth, &mut env, 0, max),
        Ok(INITIAL_LARGE_BLOB_ARRAY.to_vec())
    );
    // python-fido2 reads until a short fragment, then checks the hash itself.
    assert_eq!(
        read(&mut auth, &mut env, 0, 5),
        Ok(INITIAL_LARGE_BLOB_ARRAY[..5].to_vec())
    );
    assert_eq!(
        read(&mut auth, &mut env, 5, 100),
        Ok(INITIAL_LARGE_BLOB_ARRAY[5..].to_vec())
    );
    assert_eq!(read(&mut auth, &mut env, 17, 100), Ok(vec![]));
    assert_eq!(read(&mut auth, &mut env, 0, 0), Ok(vec![]));
}

#[test]
fn read_errors() {
    let (mut auth, mut env) = device();
    let max = i64::try_from(MAX_FRAGMENT_LEN).unwrap();
    // get over maxFragmentLength → INVALID_LENGTH.
    assert_eq!(read(&mut auth, &mut env, 0, max + 1), Err(0x03));
    // offset past the array → INVALID_PARAMETER.
    assert_eq!(read(&mut auth, &mut env, 18, 1), Err(0x02));
    let cases = [
        // No offset.
        vec![int_key(1, int(10))],
        // Neither get nor set.
        vec![int_key(3, int(0))],
        // Both.
        vec![
            int_key(1, int(10)),
            int_key(2, bytes(&[0])),
            int_key(3, int(0)),
        ],
        // length with get.
        vec![int_key(1, int(10)), int_key(3, int(0)), int_key(4, int(17))],
        // pinUvAuthParam or pinUvAuthProtocol with get.
        vec![
            int_key(1, int(10)),
            int_key(3, int(0)),
            int_key(5, bytes(&[0; 32])),
        ],
        vec![
            int_key(1, int(10)),
            int_key(3, int(0)),
            int_key(5, bytes(&[0; 32])),
            int_key(6, int(2)),
        ],
        // Negative numbers.
        vec![int_key(1, int(-1)), int_key(3, int(0))],
        vec![int_key(1, int(10)), int_key(3, int(-1))],
    ];
    for params in cases {
        assert_eq!(
            call(
                &mut auth,
                &mut env,
                LARGE_BLOBS,
                Some(Value::Map(params.clone()))
            )
            .err(),
            Some(0x02),
            "{params:?}"
        );
    }
    // Wrong types.
    let text_get = Value::Map(vec![int_key(1, text("10")), int_key(3, int(0))]);
    assert_eq!(
        call(&mut auth, &mut env, LARGE_BLOBS, Some(text_get)).err(),
        Some(0x11)
    );
    let int_set = Value::Map(vec![int_key(2, int(1)), int_key(3, int(0))]);
    assert_eq!(
        call(&mut auth, &mut env, LARGE_BLOBS, Some(int_set)).err(),
        Some(0x11)
    );
}

#[test]
fn fragmented_write_commits_once_on_the_last_fragment() {
    let (mut auth, mut env) = device();
    let array = serialized(&[0x5A; 1000]);
    let batches = env.store.batches;
    // Every fragment but the last leaves the store alone.
    send(
        &mut auth,
        &mut env,
        set(&array[..400], 0, Some(array.len()), None),
    )
    .unwrap();
    send(&mut auth, &mut env, set(&array[400..800], 400, None, None)).unwrap();
    assert_eq!(env.store.batches, batches);
    assert_eq!(env.store.state().large_blobs, INITIAL_LARGE_BLOB_ARRAY);
    // Reads in between see the old array.
    assert_eq!(
        read(&mut auth, &mut env, 0, 100),
        Ok(INITIAL_LARGE_BLOB_ARRAY.to_vec())
    );
    send(&mut auth, &mut env, set(&array[800..], 800, None, None)).unwrap();
    assert_eq!(env.store.batches, batches + 1);
    assert_eq!(env.store.state().large_blobs, array);
    let max = i64::try_from(MAX_FRAGMENT_LEN).unwrap();
    assert_eq!(read(&mut auth, &mut env, 0, max), Ok(array.clone()));
    assert_eq!(
        read(&mut auth, &mut env, 1000, 16),
        Ok(array[1000..].to_vec())
    );
    // The largest array, in maxFragmentLength pieces (one here), then back to the initial one.
    let biggest = serialized(&vec![0x33; MAX_SERIALIZED_LARGE_BLOB_ARRAY - 16]);
    write_all(&mut auth, &mut env, &biggest, MAX_FRAGMENT_LEN, None).unwrap();
    assert_eq!(env.store.state().large_blobs, biggest);
    write_all(&mut auth, &mut env, &INITIAL_LARGE_BLOB_ARRAY, 17, None).unwrap();
    assert_eq!(env.store.state().large_blobs, INITIAL_LARGE_BLOB_ARRAY);
}

#[test]
fn write_errors() {
    let (mut auth, mut env) = device();
    let array = serialized(&[0x5A; 100]);
    let len = array.len();
    // Fragment over maxFragmentLength → INVALID_LENGTH.
    let huge = vec![0; MAX_FRAGMENT_LEN + 1];
    assert_eq!(
        send(&mut auth, &mut env, set(&huge, 0, Some(4000), None)),
        Err(0x03)
    );
    // First fragment: no length → INVALID_PARAMETER; too long → LARGE_BLOB_STORAGE_FULL;
    // shorter than 17 → INVALID_PARAMETER.
    assert_eq!(
        send(&mut auth, &mut env, set(&array, 0, None, None)),
        Err(0x02)
    );
    let full = MAX_SERIALIZED_LARGE_BLOB_ARRAY + 1;
    assert_eq!(
        send(&mut auth, &mut env, set(&array, 0, Some(full), None)),
        Err(0x18)
    );
    assert_eq!(
        send(&mut auth, &mut env, set(&array[..16], 0, Some(16), None)),
        Err(0x02)
    );
    // Nothing in progress: any other offset is out of sequence.
    assert_eq!(
        send(&mut auth, &mut env, set(&array[50..], 50, None, None)),
        Err(0x04)
    );
    // In progress: the expected offset only, and no length with it.
    send(&mut auth, &mut env, set(&array[..50], 0, Some(len), None)).unwrap();
    assert_eq!(
        send(&mut auth, &mut env, set(&array[49..], 49, None, None)),
        Err(0x04)
    );
    assert_eq!(
        send(&mut auth, &mut env, set(&array[51..], 51, None, None)),
        Err(0x04)
    );
    assert_eq!(
        send(&mut auth, &mut env, set(&array[50..], 50, Some(len), None)),
        Err(0x02)
    );
    // Past expectedLength → INVALID_PARAMETER.
    let mut longer = array[50..].to_vec();
    longer.push(0);
    assert_eq!(
        send(&mut auth, &mut env, set(&longer, 50, None, None)),
        Err(0x02)
    );
    // The refused fragments changed nothing: the right one still completes the write.
    send(&mut auth, &mut env, set(&array[50..], 50, None, None)).unwrap();
    assert_eq!(env.store.state().large_blobs, array);
    // Once complete, continuing is out of sequence.
    assert_eq!(
        send(&mut auth, &mut env, set(&[0], len, None, None)),
        Err(0x04)
    );
}

#[test]
fn a_bad_hash_is_an_integrity_failure_and_ends_the_write() {
    let (mut auth, mut env) = device();
    let mut array = serialized(&[0x5A; 100]);
    array[115] ^= 1;
    send(
        &mut auth,
        &mut env,
        set(&array[..60], 0, Some(array.len()), None),
    )
    .unwrap();
    assert_eq!(
        send(&mut auth, &mut env, set(&array[60..], 60, None, None)),
        Err(0x3D)
    );
    assert_eq!(env.store.state().large_blobs, INITIAL_LARGE_BLOB_ARRAY);
    assert_eq!(
        send(&mut auth, &mut env, set(&array[60..], 60, None, None)),
        Err(0x04)
    );
}

#[test]
fn a_failed_commit_keeps_the_old_array() {
    let (mut auth, mut env) = device();
    let array = serialized(&[0x5A; 100]);
    env.store.fail_writes = true;
    assert_eq!(
        write_all(&mut auth, &mut env, &array, 1000, None),
        Err(0x7F)
    );
    env.store.fail_writes = false;
    assert_eq!(env.store.state().large_blobs, INITIAL_LARGE_BLOB_ARRAY);
}

#[test]
fn with_a_pin_writes_need_an_lbw_token() {
    let (mut auth, mut env) = device();
    let array = serialized(&[0x5A; 100]);
    let len = array.len();
    let token = pin_token(&mut auth, &mut env, Permissions::LARGE_BLOB_WRITE, None);
    // No pinUvAuthParam → PUAT_REQUIRED.
    assert_eq!(
        send(&mut auth, &mut env, set(&array, 0, Some(len), None)),
        Err(0x36)
    );
    // No protocol → MISSING_PARAMETER; unsupported protocol → INVALID_PARAMETER.
    let Value::Map(mut params) = set(&array, 0, Some(len), Some(&token)) else {
        unreachable!()
    };
    params.retain(|(k, _)| k != &int(6));
    assert_eq!(
        send(&mut auth, &mut env, Value::Map(params.clone())),
        Err(0x14)
    );
    params.push(int_key(6, int(3)));
    assert_eq!(send(&mut auth, &mut env, Value::Map(params)), Err(0x02));
    // A param over another offset or fragment → PIN_AUTH_INVALID.
    let Value::Map(mut params) = set(&array[..50], 0, Some(len), Some(&token)) else {
        unreachable!()
    };
    params.retain(|(k, _)| k != &int(2));
    params.push(int_key(2, bytes(&array)));
    assert_eq!(send(&mut auth, &mut env, Value::Map(params)), Err(0x33));
    // Without the lbw permission → UNAUTHORIZED_PERMISSION.
    let cm = token_with_pin(
        &mut auth,
        &mut env,
        Permissions::CREDENTIAL_MANAGEMENT,
        None,
    );
    assert_eq!(
        send(&mut auth, &mut env, set(&array, 0, Some(len), Some(&cm))),
        Err(0x40)
    );
    // With it, fragment by fragment, each authenticated over its own offset.
    let token = token_with_pin(&mut auth, &mut env, Permissions::LARGE_BLOB_WRITE, None);
    write_all(&mut auth, &mut env, &array, 50, Some(&token)).unwrap();
    assert_eq!(env.store.state().large_blobs, array);
    // Reads need no token.
    assert_eq!(read(&mut auth, &mut env, 0, 200), Ok(array));
}

#[test]
fn always_uv_without_a_pin_refuses_writes() {
    let (mut auth, mut env) = device();
    env.store
        .apply(&[Write::Settings(Settings {
            always_uv: true,
            min_pin_length_rp_ids: vec![],
        })])
        .unwrap();
    let array = serialized(&[1; 10]);
    assert_eq!(
        send(&mut auth, &mut env, set(&array, 0, Some(array.len()), None)),
        Err(0x36)
    );
    // A param without any token → PIN_AUTH_INVALID.
    let bogus = (PinUvAuthProtocol::Two, [1; 32]);
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            set(&array, 0, Some(array.len()), Some(&bogus))
        ),
        Err(0x33)
    );
}
