//! CTAP2 canonical CBOR (CTAP 2.1 §8): shortest heads, definite lengths, no tags or floats, map
//! keys sorted by major type, then encoded length, then bytes. Decoding is bounded in depth.

use ciborium::value::Value;

use crate::status::StatusCode;

/// The deepest nesting a request may have (OpenSK's cap): the request map is level 1.
pub const MAX_DEPTH: usize = 4;

/// A value that canonical CTAP2 CBOR cannot carry (a float, a tag, an integer out of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unencodable;

/// Encodes `value` canonically.
pub fn encode(value: &Value) -> Result<Vec<u8>, Unencodable> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

fn head(major: u8, argument: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    if argument < 24 {
        // Fits in five bits.
        out.push(major | (argument as u8));
    } else if let Ok(byte) = u8::try_from(argument) {
        out.push(major | 24);
        out.push(byte);
    } else if let Ok(short) = u16::try_from(argument) {
        out.push(major | 25);
        out.extend_from_slice(&short.to_be_bytes());
    } else if let Ok(word) = u32::try_from(argument) {
        out.push(major | 26);
        out.extend_from_slice(&word.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&argument.to_be_bytes());
    }
}

fn len(length: usize) -> u64 {
    u64::try_from(length).unwrap_or(u64::MAX)
}

fn encode_into(value: &Value, out: &mut Vec<u8>) -> Result<(), Unencodable> {
    match value {
        Value::Integer(integer) => {
            let wide = i128::from(*integer);
            if wide >= 0 {
                head(0, u64::try_from(wide).map_err(|_| Unencodable)?, out);
            } else {
                let magnitude = u64::try_from(-1 - wide).map_err(|_| Unencodable)?;
                head(1, magnitude, out);
            }
        }
        Value::Bytes(bytes) => {
            head(2, len(bytes.len()), out);
            out.extend_from_slice(bytes);
        }
        Value::Text(text) => {
            head(3, len(text.len()), out);
            out.extend_from_slice(text.as_bytes());
        }
        Value::Array(items) => {
            head(4, len(items.len()), out);
            for item in items {
                encode_into(item, out)?;
            }
        }
        Value::Map(entries) => {
            let mut encoded = entries
                .iter()
                .map(|(key, value)| Ok((encode(key)?, encode(value)?)))
                .collect::<Result<Vec<_>, Unencodable>>()?;
            // CTAP2 canonical order: major type, then encoded length, then bytes.
            encoded.sort_by(|(a, _), (b, _)| {
                let major = |key: &[u8]| key.first().map(|byte| byte >> 5);
                major(a)
                    .cmp(&major(b))
                    .then(a.len().cmp(&b.len()))
                    .then(a.cmp(b))
            });
            head(5, len(encoded.len()), out);
            for (key, value) in encoded {
                out.extend_from_slice(&key);
                out.extend_from_slice(&value);
            }
        }
        Value::Bool(false) => out.push(0xF4),
        Value::Bool(true) => out.push(0xF5),
        Value::Null => out.push(0xF6),
        _ => return Err(Unencodable),
    }
    Ok(())
}

/// Decodes a CTAP2 request parameter map: malformed or too deep → INVALID_CBOR, anything but a
/// map → CBOR_UNEXPECTED_TYPE. An empty input is an empty map (parameterless commands).
pub fn decode_map(bytes: &[u8]) -> Result<Vec<(Value, Value)>, StatusCode> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH + 2)
        .map_err(|_| StatusCode::InvalidCbor)?;
    if !reader.is_empty() {
        return Err(StatusCode::InvalidCbor);
    }
    if depth(&value) > MAX_DEPTH {
        return Err(StatusCode::InvalidCbor);
    }
    match value {
        Value::Map(entries) => Ok(entries),
        _ => Err(StatusCode::CborUnexpectedType),
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(key, value)| depth(key).max(depth(value)))
                .max()
                .unwrap_or(0)
        }
        Value::Tag(_, inner) => 1 + depth(inner),
        _ => 0,
    }
}

/// Helpers for reading request maps.
pub mod read {
    use ciborium::value::Value;

    use crate::status::StatusCode;

    /// The value under integer key `key`.
    pub fn get(map: &[(Value, Value)], key: i64) -> Option<&Value> {
        map.iter()
            .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(key))
            .map(|(_, value)| value)
    }

    /// The value under text key `key`.
    pub fn get_text<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, value)| value)
    }

    /// A byte string, or CBOR_UNEXPECTED_TYPE.
    pub fn bytes(value: &Value) -> Result<&[u8], StatusCode> {
        value
            .as_bytes()
            .map(Vec::as_slice)
            .ok_or(StatusCode::CborUnexpectedType)
    }

    /// A text string, or CBOR_UNEXPECTED_TYPE.
    pub fn text(value: &Value) -> Result<&str, StatusCode> {
        value.as_text().ok_or(StatusCode::CborUnexpectedType)
    }

    /// A map, or CBOR_UNEXPECTED_TYPE.
    pub fn map(value: &Value) -> Result<&[(Value, Value)], StatusCode> {
        value
            .as_map()
            .map(Vec::as_slice)
            .ok_or(StatusCode::CborUnexpectedType)
    }

    /// An array, or CBOR_UNEXPECTED_TYPE.
    pub fn array(value: &Value) -> Result<&[Value], StatusCode> {
        value
            .as_array()
            .map(Vec::as_slice)
            .ok_or(StatusCode::CborUnexpectedType)
    }

    /// An integer, or CBOR_UNEXPECTED_TYPE.
    pub fn int(value: &Value) -> Result<i64, StatusCode> {
        value
            .as_integer()
            .and_then(|i| i64::try_from(i).ok())
            .ok_or(StatusCode::CborUnexpectedType)
    }

    /// A boolean, or CBOR_UNEXPECTED_TYPE.
    pub fn boolean(value: &Value) -> Result<bool, StatusCode> {
        value.as_bool().ok_or(StatusCode::CborUnexpectedType)
    }
}

/// Shorthand for an integer-keyed entry.
pub fn int_key(key: i64, value: Value) -> (Value, Value) {
    (Value::Integer(key.into()), value)
}

/// Shorthand for a text-keyed entry.
pub fn text_key(key: &str, value: Value) -> (Value, Value) {
    (Value::Text(key.to_owned()), value)
}

#[cfg(test)]
mod tests {
    use ciborium::value::Value;

    use super::{decode_map, encode, int_key, text_key, Unencodable};
    use crate::status::StatusCode;

    #[test]
    fn maps_are_sorted_canonically() {
        let options = Value::Map(vec![
            text_key("clientPin", Value::Bool(false)),
            text_key("rk", Value::Bool(true)),
            text_key("up", Value::Bool(true)),
            text_key("plat", Value::Bool(false)),
        ]);
        let map = Value::Map(vec![
            int_key(0x0D, Value::Integer(4.into())),
            int_key(0x04, options),
            int_key(0x01, Value::Array(vec![Value::Text("FIDO_2_0".into())])),
            int_key(0x05, Value::Integer(7609.into())),
            int_key(-1, Value::Null),
        ]);
        let mut expected = vec![0xA5, 0x01, 0x81, 0x68];
        expected.extend_from_slice(b"FIDO_2_0");
        expected.extend_from_slice(&[0x04, 0xA4, 0x62]);
        expected.extend_from_slice(b"rk");
        expected.push(0xF5);
        expected.push(0x62);
        expected.extend_from_slice(b"up");
        expected.push(0xF5);
        expected.push(0x64);
        expected.extend_from_slice(b"plat");
        expected.push(0xF4);
        expected.push(0x69);
        expected.extend_from_slice(b"clientPin");
        expected.push(0xF4);
        expected.extend_from_slice(&[0x05, 0x19, 0x1D, 0xB9, 0x0D, 0x04, 0x20, 0xF6]);
        assert_eq!(encode(&map), Ok(expected));
    }

    #[test]
    fn shortest_integer_heads() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 0x18]),
            (255, &[0x18, 0xFF]),
            (256, &[0x19, 0x01, 0x00]),
            (65_536, &[0x1A, 0x00, 0x01, 0x00, 0x00]),
            (-7, &[0x26]),
            (-8, &[0x27]),
            (-257, &[0x39, 0x01, 0x00]),
        ];
        for (value, bytes) in cases {
            assert_eq!(
                encode(&Value::Integer((*value).into())).as_deref(),
                Ok(*bytes)
            );
        }
        assert_eq!(encode(&Value::Float(1.0)), Err(Unencodable));
    }

    #[test]
    fn decoder_bounds() {
        assert_eq!(decode_map(&[]), Ok(vec![]));
        assert_eq!(decode_map(&[0x80]), Err(StatusCode::CborUnexpectedType));
        assert_eq!(decode_map(&[0x01]), Err(StatusCode::CborUnexpectedType));
        assert_eq!(decode_map(&[0xA1, 0x01]), Err(StatusCode::InvalidCbor));
        assert_eq!(decode_map(&[0xA0, 0x00]), Err(StatusCode::InvalidCbor));
        // Depth 4: {1: [[{}]]} is accepted, {1: [[[{}]]]} is not.
        assert!(decode_map(&[0xA1, 0x01, 0x81, 0x81, 0xA0]).is_ok());
        assert_eq!(
            decode_map(&[0xA1, 0x01, 0x81, 0x81, 0x81, 0xA0]),
            Err(StatusCode::InvalidCbor)
        );
        // Deep nesting far past the limit is refused without recursing.
        let mut deep = vec![0xA1, 0x01];
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        deep.push(0x00);
        assert_eq!(decode_map(&deep), Err(StatusCode::InvalidCbor));
        // Huge declared lengths are read, not trusted: truncated input, no allocation.
        for head in [0x5B, 0x7B, 0x9B, 0xBB] {
            let mut huge = vec![0xA1, 0x01, head];
            huge.extend([0xFF; 8]);
            assert_eq!(decode_map(&huge), Err(StatusCode::InvalidCbor));
        }
    }
}
