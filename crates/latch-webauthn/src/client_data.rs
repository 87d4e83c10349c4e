//! CollectedClientData (§5.8.1). Parsed from the exact bytes the client signed over; unknown
//! members are ignored and spacing does not matter, as real clients vary.

use std::borrow::Cow;

use serde::Deserialize;

use crate::Error;

/// The members of clientDataJSON the relying party checks.
#[derive(Debug, Clone, Deserialize)]
pub struct CollectedClientData<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    #[serde(borrow)]
    pub challenge: Cow<'a, str>,
    #[serde(borrow)]
    pub origin: Cow<'a, str>,
    #[serde(rename = "crossOrigin", default)]
    pub cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default, borrow)]
    pub top_origin: Option<Cow<'a, str>>,
    /// Dropped from L3; legacy clients sent an object or the string "unused".
    #[serde(rename = "tokenBinding", default)]
    pub token_binding: Option<serde_json::Value>,
}

impl<'a> CollectedClientData<'a> {
    /// §7.1 steps 5-6 / §7.2 steps 9-10: UTF-8 decode, then parse as JSON.
    pub fn parse(bytes: &'a [u8]) -> Result<CollectedClientData<'a>, Error> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::ClientDataNotUtf8)?;
        // A UTF-8 byte order mark is tolerated, as a JSON decoder following the spec would.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(|e| Error::ClientDataMalformed(e.to_string()))
    }

    /// Token binding is gone from L3, but a status that was never valid is still refused.
    pub fn check_token_binding(&self) -> Result<(), Error> {
        let Some(serde_json::Value::Object(tb)) = &self.token_binding else {
            return Ok(());
        };
        match tb.get("status").and_then(|s| s.as_str()) {
            Some("present" | "supported") => Ok(()),
            other => Err(Error::TokenBindingInvalid {
                got: other.unwrap_or("").to_owned(),
            }),
        }
    }
}

/// The client-data checks shared by both ceremonies, in spec order: type, challenge, origin,
/// cross-origin and top origin, then the legacy token binding status.
pub(crate) fn verify_client_data(
    rp: &crate::RelyingParty,
    c: &CollectedClientData<'_>,
    expected_type: &'static str,
    challenge: &[u8],
) -> Result<(), Error> {
    if c.ty != expected_type {
        return Err(Error::ClientDataTypeMismatch {
            expected: expected_type,
            got: c.ty.to_string(),
        });
    }
    match crate::b64::decode(&c.challenge) {
        Some(got) if got == challenge => {}
        _ => return Err(Error::ChallengeMismatch),
    }
    if !rp.origins.allows(&c.origin) {
        return Err(Error::OriginMismatch {
            got: c.origin.to_string(),
        });
    }
    if c.cross_origin == Some(true) || c.top_origin.is_some() {
        if !rp.allow_cross_origin {
            return Err(Error::CrossOriginNotAllowed);
        }
        if let Some(top) = &c.top_origin {
            if !rp.top_origins.is_empty()
                && !rp
                    .top_origins
                    .iter()
                    .any(|t| t.trim_end_matches('/') == top.trim_end_matches('/'))
            {
                return Err(Error::TopOriginMismatch {
                    got: top.to_string(),
                });
            }
        }
    }
    c.check_token_binding()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_spacing_unknown_members_and_escapes() {
        let raw = br#"{ "type" : "webauthn.get", "challenge":"YWJj", "origin":"https:\/\/x.example", "other_keys_can_be_added_here":"x", "clientExtensions":{} }"#;
        let c = CollectedClientData::parse(raw).unwrap();
        assert_eq!(c.ty, "webauthn.get");
        assert_eq!(c.origin, "https://x.example");
        assert_eq!(c.cross_origin, None);
    }

    #[test]
    fn invalid_utf8_is_its_own_error() {
        assert!(matches!(
            CollectedClientData::parse(&[0xff, 0xfe]),
            Err(Error::ClientDataNotUtf8)
        ));
    }

    #[test]
    fn missing_member_is_malformed() {
        assert!(matches!(
            CollectedClientData::parse(br#"{"type":"webauthn.get"}"#),
            Err(Error::ClientDataMalformed(_))
        ));
    }

    #[test]
    fn token_binding_status_must_be_known() {
        let c = CollectedClientData::parse(br#"{"type":"webauthn.create","challenge":"","origin":"o","tokenBinding":{"status":"not-supported"}}"#).unwrap();
        assert_eq!(
            c.check_token_binding(),
            Err(Error::TokenBindingInvalid {
                got: "not-supported".into()
            })
        );
        let legacy = CollectedClientData::parse(
            br#"{"type":"webauthn.create","challenge":"","origin":"o","tokenBinding":"unused"}"#,
        )
        .unwrap();
        assert_eq!(legacy.check_token_binding(), Ok(()));
    }
}
