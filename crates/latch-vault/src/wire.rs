//! CBOR on the wire. Everything signed or sealed is carried as the exact bytes that were signed
//! or sealed, and parsed from them; nothing is re-encoded before a check.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::VaultError;

pub(crate) fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, VaultError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| VaultError::malformed(what, e))?;
    Ok(out)
}

/// Parses `bytes` as one CBOR value of type `T`, refusing more than `max` bytes and anything
/// after the value.
pub(crate) fn decode<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    max: usize,
) -> Result<T, VaultError> {
    if bytes.len() > max {
        return Err(VaultError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    let mut rest = bytes;
    let value = ciborium::from_reader(&mut rest).map_err(|e| VaultError::malformed(what, e))?;
    if !rest.is_empty() {
        return Err(VaultError::malformed(
            what,
            format!("{} bytes after the value", rest.len()),
        ));
    }
    Ok(value)
}

/// Domain separation for everything a key signs or a hash covers: a context string, a zero
/// byte, then the message. A signature made for one purpose never verifies for another.
pub(crate) fn framed(context: &[u8], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(context.len() + 1 + message.len());
    out.extend_from_slice(context);
    out.push(0);
    out.extend_from_slice(message);
    out
}

pub(crate) fn sha256(context: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(context);
    h.update([0]);
    h.update(message);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_refuses_oversized_trailing_and_garbage_input() {
        let bytes = encode("n", &5u32).unwrap();
        assert_eq!(decode::<u32>("n", &bytes, 16), Ok(5));
        assert!(matches!(
            decode::<u32>("n", &bytes, 0),
            Err(VaultError::TooLarge { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<u32>("n", &longer, 16),
            Err(VaultError::Malformed { .. })
        ));
        assert!(matches!(
            decode::<u32>("n", &[0xff], 16),
            Err(VaultError::Malformed { .. })
        ));
    }
}
