//! authenticatorLargeBlobs (CTAP 2.1 §6.10): the serialized large-blob array, read and written
//! in fragments of maxMsgSize − 64 bytes and checked by its trailing LEFT(SHA-256(array), 16);
//! and per-credential blobs (§6.10.4 / WebAuthn largeBlob) sealed with the credential's
//! largeBlobKey: AES-256-GCM, 12-byte nonce, aad = "blob" || uint64LE(origSize), over the
//! raw-DEFLATE-compressed data.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ciborium::value::Value;

use super::ctap2::{Ctap2, LARGE_BLOBS};
use super::parse;
use super::pin::PinUvAuthToken;
use super::{sha256, CtapDevice, Error};
use crate::cbor::{self, int_key};

/// The most a client reads of any key's large-blob array (CTAP keys hold a few KiB).
const MAX_READ: u64 = 1 << 20;
/// Bytes of the trailing check value.
pub const CHECK_LEN: usize = 16;
/// What a key reserves of maxMsgSize for the request around a fragment.
pub const FRAGMENT_OVERHEAD: u64 = 64;
/// Refuse to inflate a blob claiming more than this (a hostile array cannot exhaust memory).
pub const MAX_BLOB_LEN: u64 = 1 << 20;

/// The serialized form of `entries`: CBOR array || LEFT(SHA-256(array), 16).
pub fn serialize(entries: &[Value]) -> Result<Vec<u8>, Error> {
    let mut out = cbor::encode(&Value::Array(entries.to_vec()))
        .map_err(|_| Error::Invalid("large-blob entries not encodable".into()))?;
    let check = sha256(&out);
    out.extend(check.iter().take(CHECK_LEN));
    Ok(out)
}

/// The entries of a serialized array. A failed check, or bytes that are not a CBOR array, mean
/// an empty array (§6.10.3: the platform treats a corrupted array as empty).
pub fn deserialize(serialized: &[u8]) -> Vec<Value> {
    let Some(split) = serialized.len().checked_sub(CHECK_LEN) else {
        return Vec::new();
    };
    let (array, check) = serialized.split_at(split);
    if sha256(array).get(..CHECK_LEN) != Some(check) {
        return Vec::new();
    }
    match ciborium::de::from_reader_with_recursion_limit::<Value, _>(array, 16) {
        Ok(Value::Array(entries)) => entries,
        _ => Vec::new(),
    }
}

/// The message a write fragment's pinUvAuthParam covers: 32×0xff || 0x0c 0x00 ||
/// uint32LE(offset) || SHA-256(fragment).
pub fn write_message(offset: u32, fragment: &[u8]) -> Vec<u8> {
    let mut message = vec![0xFF; 32];
    message.extend([LARGE_BLOBS, 0x00]);
    message.extend(offset.to_le_bytes());
    message.extend(sha256(fragment));
    message
}

/// The request map writing `fragment` at `offset` (`total` only with offset 0).
pub fn write_request(
    token: &PinUvAuthToken,
    offset: u32,
    fragment: &[u8],
    total: Option<u64>,
) -> Value {
    let mut map = vec![
        int_key(0x02, Value::Bytes(fragment.to_vec())),
        int_key(0x03, Value::Integer(offset.into())),
    ];
    if let Some(total) = total {
        map.push(int_key(0x04, Value::Integer(total.into())));
    }
    map.push(int_key(
        0x05,
        Value::Bytes(token.authenticate(&write_message(offset, fragment))),
    ));
    map.push(int_key(
        0x06,
        Value::Integer(token.protocol().wire().into()),
    ));
    Value::Map(map)
}

/// Seals `data` for a credential: {1: ciphertext, 2: nonce, 3: origSize}.
pub fn seal_entry(
    large_blob_key: &[u8],
    nonce: [u8; NONCE_LEN],
    data: &[u8],
) -> Result<Value, Error> {
    let orig_size = u64::try_from(data.len()).unwrap_or(u64::MAX);
    let mut sealed = miniz_oxide::deflate::compress_to_vec(data, 6);
    aead_key(large_blob_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(orig_size)),
            &mut sealed,
        )
        .map_err(|_| Error::Invalid("AES-GCM sealing failed".into()))?;
    Ok(Value::Map(vec![
        int_key(0x01, Value::Bytes(sealed)),
        int_key(0x02, Value::Bytes(nonce.to_vec())),
        int_key(0x03, Value::Integer(orig_size.into())),
    ]))
}

/// Opens an entry with `large_blob_key`; `None` if it belongs to another credential or is
/// malformed.
pub fn open_entry(large_blob_key: &[u8], entry: &Value) -> Option<Vec<u8>> {
    let map = entry.as_map()?;
    let ciphertext = parse::bytes(parse::opt(map, 0x01)?, "").ok()?;
    let nonce = parse::fixed::<NONCE_LEN>(parse::opt(map, 0x02)?, "").ok()?;
    let orig_size = parse::uint(parse::opt(map, 0x03)?, "").ok()?;
    if orig_size > MAX_BLOB_LEN {
        return None;
    }
    let mut in_out = ciphertext;
    let compressed = aead_key(large_blob_key)
        .ok()?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(orig_size)),
            &mut in_out,
        )
        .ok()?;
    let limit = usize::try_from(orig_size).ok()?;
    let data = miniz_oxide::inflate::decompress_to_vec_with_limit(compressed, limit).ok()?;
    (data.len() == limit).then_some(data)
}

fn aad(orig_size: u64) -> Vec<u8> {
    let mut aad = b"blob".to_vec();
    aad.extend(orig_size.to_le_bytes());
    aad
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, Error> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::Invalid(format!("a largeBlobKey is 32 bytes, got {}", key.len())))
}

impl<D: CtapDevice> Ctap2<D> {
    /// maxFragmentLength = maxMsgSize − 64.
    pub fn max_fragment_length(&self) -> Result<u64, Error> {
        self.info()
            .max_msg_size()
            .checked_sub(FRAGMENT_OVERHEAD)
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::Unsupported("maxMsgSize too small for large blobs".into()))
    }

    fn require_large_blobs(&self) -> Result<(), Error> {
        if self.info().option("largeBlobs") == Some(true) {
            Ok(())
        } else {
            Err(Error::Unsupported(
                "the key has no large-blob storage (largeBlobs)".into(),
            ))
        }
    }

    /// Reads the whole serialized array (no token needed).
    pub fn read_large_blob_array(&mut self) -> Result<Vec<u8>, Error> {
        self.require_large_blobs()?;
        let fragment = self.max_fragment_length()?;
        // The key's own claim, but never more than 1 MiB: a hostile key must not make the
        // client read forever.
        let limit = self
            .info()
            .max_serialized_large_blob_array
            .unwrap_or(MAX_READ)
            .min(MAX_READ);
        let mut serialized = Vec::new();
        loop {
            let offset = u64::try_from(serialized.len()).unwrap_or(u64::MAX);
            let request = Value::Map(vec![
                int_key(0x01, Value::Integer(fragment.into())),
                int_key(0x03, Value::Integer(offset.into())),
            ]);
            let map = self.send_cbor(LARGE_BLOBS, Some(&request))?;
            let chunk = parse::bytes(parse::req(&map, 0x01, "config")?, "config")?;
            let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            if len > fragment {
                return Err(Error::response("large-blob fragment longer than requested"));
            }
            serialized.extend(chunk);
            if len < fragment {
                return Ok(serialized);
            }
            if u64::try_from(serialized.len()).unwrap_or(u64::MAX) > limit {
                return Err(Error::response(
                    "large-blob array longer than the key's maximum",
                ));
            }
        }
    }

    /// The array's entries (empty if the key's array fails its check).
    pub fn read_large_blob_entries(&mut self) -> Result<Vec<Value>, Error> {
        Ok(deserialize(&self.read_large_blob_array()?))
    }

    /// Replaces the whole array with `entries`. `token` needs the lbw permission.
    pub fn write_large_blob_entries(
        &mut self,
        token: &PinUvAuthToken,
        entries: &[Value],
    ) -> Result<(), Error> {
        self.require_large_blobs()?;
        let serialized = serialize(entries)?;
        let total = u64::try_from(serialized.len()).unwrap_or(u64::MAX);
        if let Some(max) = self.info().max_serialized_large_blob_array {
            if total > max {
                return Err(Error::Invalid(format!(
                    "the large-blob array would be {total} bytes; the key holds at most {max}"
                )));
            }
        }
        let fragment = usize::try_from(self.max_fragment_length()?).unwrap_or(usize::MAX);
        let mut offset = 0u32;
        for chunk in serialized.chunks(fragment) {
            let request = write_request(token, offset, chunk, (offset == 0).then_some(total));
            self.send_cbor(LARGE_BLOBS, Some(&request))?;
            offset = offset.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// The blob of the credential whose largeBlobKey is `key`, if any.
    pub fn get_blob(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .read_large_blob_entries()?
            .iter()
            .find_map(|entry| open_entry(key, entry)))
    }

    /// Stores `data` as the credential's blob (replacing any), or deletes it with `None`.
    pub fn put_blob(
        &mut self,
        token: &PinUvAuthToken,
        key: &[u8],
        data: Option<&[u8]>,
    ) -> Result<(), Error> {
        let mut entries = self.read_large_blob_entries()?;
        entries.retain(|entry| open_entry(key, entry).is_none());
        if let Some(data) = data {
            let mut nonce = [0u8; NONCE_LEN];
            self.rng.fill(&mut nonce);
            entries.push(seal_entry(key, nonce, data)?);
        }
        self.write_large_blob_entries(token, &entries)
    }

    /// Deletes the credential's blob; `Ok(false)` if it had none.
    pub fn delete_blob(&mut self, token: &PinUvAuthToken, key: &[u8]) -> Result<bool, Error> {
        let entries = self.read_large_blob_entries()?;
        if !entries.iter().any(|entry| open_entry(key, entry).is_some()) {
            return Ok(false);
        }
        self.put_blob(token, key, None).map(|()| true)
    }
}
