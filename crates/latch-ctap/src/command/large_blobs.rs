//! authenticatorLargeBlobs (CTAP 2.1 §6.10): reads of the serialized large-blob array in
//! fragments, and writes of a whole new array in fragments, committed with its hash check.

#[cfg(test)]
mod tests;

use aws_lc_rs::digest;
use ciborium::value::Value;

use super::auth::require_token;
use super::{get_info, parse_pin_uv_auth, Authenticator, PinUvAuth};
use crate::cbor::{int_key, read};
use crate::env::Env;
use crate::pin::Permissions;
use crate::status::StatusCode;
use crate::store::{large_blob_array_is_intact, Write};

/// maxFragmentLength: maxMsgSize − 64.
pub const MAX_FRAGMENT_LEN: usize = get_info::MAX_MSG_SIZE - 64;
/// maxSerializedLargeBlobArray (getInfo 0x0B): the largest array, hash included.
pub const MAX_SERIALIZED_LARGE_BLOB_ARRAY: usize = 4096;
/// The array ends with LEFT(SHA-256(array), 16); a shorter one cannot be valid.
const HASH_LEN: usize = 16;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// get (0x01): how many bytes to read.
    pub get: Option<u64>,
    /// set (0x02): a fragment to write.
    pub set: Option<Vec<u8>>,
    /// offset (0x03).
    pub offset: Option<u64>,
    /// length (0x04): the whole array's length, with the first fragment.
    pub length: Option<u64>,
    /// pinUvAuthParam (0x05) and pinUvAuthProtocol (0x06).
    pub pin_uv_auth: Option<PinUvAuth>,
}

fn unsigned(map: &[(Value, Value)], key: i64) -> Result<Option<u64>, StatusCode> {
    read::get(map, key)
        .map(|value| u64::try_from(read::int(value)?).map_err(|_| StatusCode::InvalidParameter))
        .transpose()
}

impl Request {
    /// Parses the parameter map; a wrong type → CBOR_UNEXPECTED_TYPE.
    pub fn parse(map: &[(Value, Value)]) -> Result<Self, StatusCode> {
        Ok(Self {
            get: unsigned(map, 0x01)?,
            set: read::get(map, 0x02)
                .map(|value| read::bytes(value).map(<[u8]>::to_vec))
                .transpose()?,
            offset: unsigned(map, 0x03)?,
            length: unsigned(map, 0x04)?,
            pin_uv_auth: parse_pin_uv_auth(map, 0x05, 0x06)?,
        })
    }
}

/// A write in progress: expectedLength and the fragments so far (their length is
/// expectedNextOffset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    expected_length: usize,
    buffer: Vec<u8>,
}

/// Runs the request (§6.10.2): `Some({config (0x01)})` for get, `None` for set.
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
) -> Result<Option<Value>, StatusCode> {
    // 1. "If offset is not present in the input map, return CTAP1_ERR_INVALID_PARAMETER."
    let offset = request.offset.ok_or(StatusCode::InvalidParameter)?;
    let offset = usize::try_from(offset).map_err(|_| StatusCode::InvalidParameter)?;
    // 2.-3. Exactly one of get and set, else CTAP1_ERR_INVALID_PARAMETER.
    match (request.get, &request.set) {
        (Some(get), None) => get_fragment(env, request, offset, get).map(Some),
        (None, Some(fragment)) => {
            set_fragment(authenticator, env, request, offset, fragment).map(|()| None)
        }
        _ => Err(StatusCode::InvalidParameter),
    }
}

/// §6.10.2 step 4: get.
fn get_fragment(
    env: &Env<'_>,
    request: &Request,
    offset: usize,
    get: u64,
) -> Result<Value, StatusCode> {
    // "If length is present, return CTAP1_ERR_INVALID_PARAMETER."
    // "If either of pinUvAuthParam or pinUvAuthProtocol are present, return
    //  CTAP1_ERR_INVALID_PARAMETER."
    if request.length.is_some() || request.pin_uv_auth.is_some() {
        return Err(StatusCode::InvalidParameter);
    }
    // "If get is greater than maxFragmentLength, return CTAP1_ERR_INVALID_LENGTH."
    let get = usize::try_from(get).map_err(|_| StatusCode::InvalidLength)?;
    if get > MAX_FRAGMENT_LEN {
        return Err(StatusCode::InvalidLength);
    }
    // "If offset is greater than the length of the stored serialized large-blob array, return
    //  CTAP1_ERR_INVALID_PARAMETER."
    let stored = &env.store.state().large_blobs;
    let tail = stored.get(offset..).ok_or(StatusCode::InvalidParameter)?;
    // "Return ... at most get bytes of the stored array, starting at offset."
    let fragment = tail.iter().take(get).copied().collect();
    Ok(Value::Map(vec![int_key(0x01, Value::Bytes(fragment))]))
}

/// §6.10.2 step 5: set. The pending state changes only once the fragment is accepted.
fn set_fragment(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
    offset: usize,
    fragment: &[u8],
) -> Result<(), StatusCode> {
    // 1. "If the length of the set value is greater than maxFragmentLength, return
    //    CTAP1_ERR_INVALID_LENGTH."
    if fragment.len() > MAX_FRAGMENT_LEN {
        return Err(StatusCode::InvalidLength);
    }
    let pending = if offset == 0 {
        // 2. "If the value of offset is zero": length missing → CTAP1_ERR_INVALID_PARAMETER;
        //    "If the value of length is greater than maxSerializedLargeBlobArray, return
        //    CTAP2_ERR_LARGE_BLOB_STORAGE_FULL"; "If the value of length is less than 17,
        //    return CTAP1_ERR_INVALID_PARAMETER"; expectedLength = length,
        //    expectedNextOffset = 0.
        let length = request.length.ok_or(StatusCode::InvalidParameter)?;
        let length = usize::try_from(length).map_err(|_| StatusCode::LargeBlobStorageFull)?;
        if length > MAX_SERIALIZED_LARGE_BLOB_ARRAY {
            return Err(StatusCode::LargeBlobStorageFull);
        }
        if length < HASH_LEN + 1 {
            return Err(StatusCode::InvalidParameter);
        }
        PendingWrite {
            expected_length: length,
            buffer: Vec::with_capacity(length),
        }
    } else {
        // 3. "If the value of offset is not zero and length is present, return
        //    CTAP1_ERR_INVALID_PARAMETER."
        if request.length.is_some() {
            return Err(StatusCode::InvalidParameter);
        }
        // 4. "If the value of offset is not equal to expectedNextOffset, return
        //    CTAP1_ERR_INVALID_SEQ." (No write in progress: expectedNextOffset is 0.)
        authenticator
            .large_blob_write
            .clone()
            .filter(|pending| pending.buffer.len() == offset)
            .ok_or(StatusCode::InvalidSeq)?
    };
    // 5. "If the authenticator is protected by some form of user verification or the alwaysUv
    //    option is true" (or a pinUvAuthParam was sent anyway): pinUvAuthParam over
    //    32×0xff || h'0c00' || uint32LittleEndian(offset) || SHA-256(set), with permission lbw.
    if authenticator.is_protected()
        || env.store.state().settings.always_uv
        || request.pin_uv_auth.is_some()
    {
        let offset32 = u32::try_from(offset).map_err(|_| StatusCode::InvalidParameter)?;
        let mut message = vec![0xff; 32];
        message.extend_from_slice(&[0x0c, 0x00]);
        message.extend_from_slice(&offset32.to_le_bytes());
        message.extend_from_slice(digest::digest(&digest::SHA256, fragment).as_ref());
        require_token(
            &mut authenticator.pin,
            env.clock.now_ms(),
            request.pin_uv_auth.as_ref(),
            &message,
            Permissions::LARGE_BLOB_WRITE,
        )?;
    }
    // 6. "If the sum of offset and the length of the value of set is greater than the value of
    //    expectedLength, return CTAP1_ERR_INVALID_PARAMETER."
    let end = offset
        .checked_add(fragment.len())
        .ok_or(StatusCode::InvalidParameter)?;
    if end > pending.expected_length {
        return Err(StatusCode::InvalidParameter);
    }
    // 7.-8. Append; expectedNextOffset moves past the fragment.
    let mut pending = pending;
    pending.buffer.extend_from_slice(fragment);
    if end < pending.expected_length {
        authenticator.large_blob_write = Some(pending);
        return Ok(());
    }
    // 9. The last fragment: "If the last 16 bytes of the buffer are not LEFT(SHA-256(h), 16)
    //    where h is all but the last 16 bytes, return CTAP2_ERR_INTEGRITY_FAILURE"; else
    //    commit, in one write.
    authenticator.large_blob_write = None;
    if !large_blob_array_is_intact(&pending.buffer) {
        return Err(StatusCode::IntegrityFailure);
    }
    env.store
        .apply(&[Write::LargeBlobs(pending.buffer)])
        .map_err(|_| StatusCode::Other)
}
