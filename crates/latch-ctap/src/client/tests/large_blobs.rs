//! Large blobs: exact bytes of a read and a write, and per-credential blobs round-tripped
//! through a minimal in-test large-blob store that checks every pinUvAuthParam.

use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ciborium::value::Value;

use super::*;
use crate::cbor::{self, read};
use crate::client::large_blobs::{deserialize, open_entry, seal_entry, serialize};
use crate::client::PinUvAuthToken;
use crate::pin::PinUvAuthProtocol;

const K: [u8; 32] = [0x11; 32];
/// CTAP 2.1 §6.10.2: the initial serialized large-blob array.
const EMPTY: &str = "80 76be8b528d0075f7aae98d6fa57a6d3c";

fn token() -> PinUvAuthToken {
    PinUvAuthToken::from_parts(PinUvAuthProtocol::Two, K.to_vec())
}

#[test]
fn the_empty_array_matches_the_spec() {
    assert_eq!(serialize(&[]).unwrap(), hex(EMPTY));
    assert!(deserialize(&hex(EMPTY)).is_empty());
    // A corrupted check reads as empty.
    let mut bad = serialize(&[Value::Integer(1.into())]).unwrap();
    assert_eq!(deserialize(&bad), vec![Value::Integer(1.into())]);
    *bad.last_mut().unwrap() ^= 1;
    assert!(deserialize(&bad).is_empty());
}

#[test]
fn read_and_write_bytes() {
    // maxMsgSize 1200: fragments of 1136 (0x0470).
    let mut answer = hex("00 a1 01 51");
    answer.extend(hex(EMPTY));
    let mut ctap = canned(&[("largeBlobs", true)], 1200, vec![answer, vec![0]]);
    assert!(ctap.read_large_blob_entries().unwrap().is_empty());
    ctap.write_large_blob_entries(&token(), &[]).unwrap();
    let requests = &ctap.device_mut().requests;
    assert_eq!(requests[0], hex("0c a2 01 19 0470 03 00"));
    let mut message = vec![0xFF; 32];
    message.extend(hex("0c00 00000000"));
    message.extend(crate::client::sha256(&hex(EMPTY)));
    let mut want = hex("0c a5 02 51");
    want.extend(hex(EMPTY));
    want.extend(hex("03 00 04 11 05 58 20"));
    want.extend(hmac(&K, &message));
    want.extend(hex("06 02"));
    assert_eq!(requests[1], want);
}

#[test]
fn sealed_entries_follow_the_webauthn_format() {
    let key = [0x42u8; 32];
    let data = b"hello hello hello hello".to_vec();
    let entry = seal_entry(&key, [7; 12], &data).unwrap();
    let map = entry.as_map().unwrap();
    assert_eq!(read::get(map, 2), Some(&Value::Bytes(vec![7; 12])));
    assert_eq!(read::get(map, 3), Some(&Value::Integer(23.into())));
    // Open independently: AES-256-GCM, aad "blob" || 23 as uint64 LE, then raw inflate.
    let mut sealed = read::get(map, 1).unwrap().as_bytes().unwrap().clone();
    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let aad = hex("626c6f62 1700000000000000");
    let compressed = aead
        .open_in_place(
            Nonce::assume_unique_for_key([7; 12]),
            Aad::from(&aad[..]),
            &mut sealed,
        )
        .unwrap();
    assert_eq!(
        miniz_oxide::inflate::decompress_to_vec(compressed).unwrap(),
        data
    );
    assert_eq!(open_entry(&key, &entry), Some(data));
    assert_eq!(open_entry(&[0x43; 32], &entry), None);
}

/// A key with nothing but getInfo and largeBlobs (maxMsgSize 100: 36-byte fragments).
struct BlobStore {
    array: Vec<u8>,
    pending: Vec<u8>,
    expected: usize,
    writes: usize,
}

impl CtapDevice for BlobStore {
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let (cmd, params) = request.split_first().unwrap();
        if *cmd == 0x04 {
            let mut out = vec![0];
            out.extend(hex(
                "a4 01 81 68 4649444f5f325f31 03 50 00000000000000000000000000000000
                            04 a1 6a 6c61726765426c6f6273 f5 05 18 64",
            ));
            return Ok(out);
        }
        assert_eq!(*cmd, 0x0C);
        let map = cbor::decode_map(params).unwrap();
        let offset = read::int(read::get(&map, 3).unwrap()).unwrap() as usize;
        if let Some(get) = read::get(&map, 1) {
            let n = read::int(get).unwrap() as usize;
            let end = (offset + n).min(self.array.len());
            let mut out = vec![0];
            out.extend(
                cbor::encode(&Value::Map(vec![cbor::int_key(
                    1,
                    Value::Bytes(self.array[offset..end].to_vec()),
                )]))
                .unwrap(),
            );
            return Ok(out);
        }
        let fragment = read::bytes(read::get(&map, 2).unwrap()).unwrap();
        assert!(fragment.len() <= 36);
        let mut message = vec![0xFF; 32];
        message.extend([0x0C, 0x00]);
        message.extend((offset as u32).to_le_bytes());
        message.extend(crate::client::sha256(fragment));
        if read::bytes(read::get(&map, 5).unwrap()).unwrap() != hmac(&K, &message) {
            return Ok(vec![0x33]);
        }
        if offset == 0 {
            self.expected = read::int(read::get(&map, 4).unwrap()).unwrap() as usize;
            self.pending.clear();
        } else {
            assert!(read::get(&map, 4).is_none(), "length only at offset 0");
        }
        assert_eq!(offset, self.pending.len());
        self.pending.extend(fragment);
        self.writes += 1;
        if self.pending.len() == self.expected {
            self.array = std::mem::take(&mut self.pending);
        }
        Ok(vec![0])
    }
    fn msg(&mut self, _: &[u8]) -> Result<Vec<u8>, Error> {
        unreachable!()
    }
    fn pause(&mut self, _: Duration) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn per_credential_blobs_round_trip_in_fragments() {
    let store = BlobStore {
        array: hex(EMPTY),
        pending: Vec::new(),
        expected: 0,
        writes: 0,
    };
    let mut ctap = Ctap2::with_rng(store, Box::new(XorShiftRng::new(1))).unwrap();
    assert_eq!(ctap.max_fragment_length().unwrap(), 36);
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(ctap.get_blob(&a).unwrap(), None);
    ctap.put_blob(
        &token(),
        &a,
        Some(b"first blob, long enough to need several fragments"),
    )
    .unwrap();
    ctap.put_blob(&token(), &b, Some(b"second")).unwrap();
    assert_eq!(
        ctap.get_blob(&a).unwrap().as_deref(),
        Some(&b"first blob, long enough to need several fragments"[..])
    );
    assert_eq!(ctap.get_blob(&b).unwrap().as_deref(), Some(&b"second"[..]));
    // Replacing keeps one entry per credential.
    ctap.put_blob(&token(), &a, Some(b"replaced")).unwrap();
    assert_eq!(ctap.read_large_blob_entries().unwrap().len(), 2);
    assert!(ctap.delete_blob(&token(), &a).unwrap());
    assert!(!ctap.delete_blob(&token(), &a).unwrap());
    assert_eq!(ctap.get_blob(&a).unwrap(), None);
    assert_eq!(ctap.get_blob(&b).unwrap().as_deref(), Some(&b"second"[..]));
    assert!(ctap.device_mut().writes > 5);
    // A token with the wrong key is refused by the store.
    let wrong = PinUvAuthToken::from_parts(PinUvAuthProtocol::Two, vec![0x12; 32]);
    assert_eq!(
        ctap.put_blob(&wrong, &a, Some(b"x")).unwrap_err().status(),
        Some(crate::status::StatusCode::PinAuthInvalid)
    );
}
