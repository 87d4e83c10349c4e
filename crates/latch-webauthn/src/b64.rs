//! base64url as WebAuthn uses it: written without padding; read leniently (with or without
//! padding, and the standard alphabet too, since some clients still send it).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const LENIENT_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (padding optional); falls back to the standard alphabet.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    LENIENT_URL
        .decode(text)
        .ok()
        .or_else(|| LENIENT_STD.decode(text).ok())
}

/// Bytes that travel as a base64url string in WebAuthn L3 JSON.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Url(pub Vec<u8>);

impl std::fmt::Debug for Base64Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64Url({})", encode(&self.0))
    }
}

impl AsRef<[u8]> for Base64Url {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Base64Url {
    fn from(v: Vec<u8>) -> Self {
        Base64Url(v)
    }
}

impl From<&[u8]> for Base64Url {
    fn from(v: &[u8]) -> Self {
        Base64Url(v.to_vec())
    }
}

impl Serialize for Base64Url {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(&self.0))
    }
}

/// Decodes straight from the borrowed JSON text, without copying it into a String first.
struct Base64UrlVisitor;

impl serde::de::Visitor<'_> for Base64UrlVisitor {
    type Value = Base64Url;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a base64url string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Base64Url, E> {
        decode(text)
            .map(Base64Url)
            .ok_or_else(|| E::custom("not valid base64url"))
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Base64UrlVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_padded_unpadded_and_standard_alphabet() {
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("-_8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("!!"), None);
        assert_eq!(encode([0xfb, 0xff]), "-_8");
    }

    #[test]
    fn deserializes_from_text_and_from_values_and_refuses_non_strings() {
        let from_text: Base64Url = serde_json::from_str("\"-_8\"").unwrap();
        let from_value: Base64Url = serde_json::from_value(serde_json::json!("-_8=")).unwrap();
        assert_eq!(from_text, Base64Url(vec![0xfb, 0xff]));
        assert_eq!(from_value, from_text);
        assert!(serde_json::from_str::<Base64Url>("42")
            .is_err_and(|e| e.to_string().contains("base64url")));
    }
}
