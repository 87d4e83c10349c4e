//! Reading CTAP2 response maps: each helper names the field it wanted, so a malformed answer
//! says what was wrong.

use ciborium::value::Value;

use super::Error;
use crate::cbor::read;

/// A response body: empty is an empty map, otherwise exactly one CBOR map.
pub(crate) fn response_map(body: &[u8]) -> Result<Vec<(Value, Value)>, Error> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = body;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, 16)
        .map_err(|e| Error::response(format!("invalid CBOR: {e}")))?;
    if !reader.is_empty() {
        return Err(Error::response("trailing bytes after the CBOR response"));
    }
    match value {
        Value::Map(map) => Ok(map),
        _ => Err(Error::response("the response is not a CBOR map")),
    }
}

fn wrong(name: &str, what: &str) -> Error {
    Error::response(format!("{name} is not {what}"))
}

/// The value under integer `key`, if present.
pub(crate) fn opt(map: &[(Value, Value)], key: i64) -> Option<&Value> {
    read::get(map, key)
}

/// The value under integer `key`, or an error naming the missing field.
pub(crate) fn req<'a>(map: &'a [(Value, Value)], key: i64, name: &str) -> Result<&'a Value, Error> {
    read::get(map, key).ok_or_else(|| Error::response(format!("{name} is missing")))
}

pub(crate) fn bytes(value: &Value, name: &str) -> Result<Vec<u8>, Error> {
    read::bytes(value)
        .map(<[u8]>::to_vec)
        .map_err(|_| wrong(name, "a byte string"))
}

pub(crate) fn text(value: &Value, name: &str) -> Result<String, Error> {
    read::text(value)
        .map(str::to_owned)
        .map_err(|_| wrong(name, "a text string"))
}

pub(crate) fn uint(value: &Value, name: &str) -> Result<u64, Error> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| wrong(name, "an unsigned integer"))
}

pub(crate) fn int(value: &Value, name: &str) -> Result<i64, Error> {
    read::int(value).map_err(|_| wrong(name, "an integer"))
}

pub(crate) fn boolean(value: &Value, name: &str) -> Result<bool, Error> {
    read::boolean(value).map_err(|_| wrong(name, "a boolean"))
}

pub(crate) fn array<'a>(value: &'a Value, name: &str) -> Result<&'a [Value], Error> {
    read::array(value).map_err(|_| wrong(name, "an array"))
}

pub(crate) fn map<'a>(value: &'a Value, name: &str) -> Result<&'a [(Value, Value)], Error> {
    read::map(value).map_err(|_| wrong(name, "a map"))
}

/// Optional typed fields.
pub(crate) fn opt_bytes(
    map: &[(Value, Value)],
    key: i64,
    name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    opt(map, key).map(|v| bytes(v, name)).transpose()
}

pub(crate) fn opt_uint(map: &[(Value, Value)], key: i64, name: &str) -> Result<Option<u64>, Error> {
    opt(map, key).map(|v| uint(v, name)).transpose()
}

pub(crate) fn opt_bool(
    map: &[(Value, Value)],
    key: i64,
    name: &str,
) -> Result<Option<bool>, Error> {
    opt(map, key).map(|v| boolean(v, name)).transpose()
}

/// The text-keyed entry `key` of a map, as text.
pub(crate) fn text_field(
    map: &[(Value, Value)],
    key: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    read::get_text(map, key).map(|v| text(v, name)).transpose()
}

/// A byte string of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(value: &Value, name: &str) -> Result<[u8; N], Error> {
    let raw = bytes(value, name)?;
    <[u8; N]>::try_from(raw.as_slice())
        .map_err(|_| Error::response(format!("{name} is {} bytes, expected {N}", raw.len())))
}
