//! Authenticator data (WebAuthn §6.1): rpIdHash, flags, signCount, attested credential data,
//! extensions. Parsed with bounds checks only; nothing is indexed blindly.

use ciborium::value::Value;

use crate::cose::CoseKey;
use crate::Error;

/// The flags byte of authenticator data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    pub const UP: u8 = 0x01;
    pub const UV: u8 = 0x04;
    pub const BE: u8 = 0x08;
    pub const BS: u8 = 0x10;
    pub const AT: u8 = 0x40;
    pub const ED: u8 = 0x80;

    pub fn user_present(self) -> bool {
        self.0 & Self::UP != 0
    }
    pub fn user_verified(self) -> bool {
        self.0 & Self::UV != 0
    }
    pub fn backup_eligible(self) -> bool {
        self.0 & Self::BE != 0
    }
    pub fn backed_up(self) -> bool {
        self.0 & Self::BS != 0
    }
    pub fn attested_credential_data(self) -> bool {
        self.0 & Self::AT != 0
    }
    pub fn extension_data(self) -> bool {
        self.0 & Self::ED != 0
    }

    /// The flags as JSON booleans, in the conformance corpus's shape.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "up": self.user_present(), "uv": self.user_verified(),
            "be": self.backup_eligible(), "bs": self.backed_up(),
            "at": self.attested_credential_data(), "ed": self.extension_data(),
        })
    }
}

/// Attested credential data (§6.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredentialData {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// The COSE_Key exactly as the authenticator encoded it.
    pub public_key_cose: Vec<u8>,
    pub public_key: CoseKey,
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub flags: Flags,
    pub sign_count: u32,
    pub attested: Option<AttestedCredentialData>,
    pub extensions: Option<Value>,
}

fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], Error> {
    let Some((head, rest)) = input.split_at_checked(n) else {
        return Err(Error::AuthenticatorDataMalformed(format!(
            "too short for {what}: {} bytes left, {n} needed",
            input.len()
        )));
    };
    *input = rest;
    Ok(head)
}

impl AuthenticatorData {
    /// Parses authenticator data; every byte must be accounted for by the flags.
    pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData, Error> {
        let mut rest = bytes;
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(take(&mut rest, 32, "rpIdHash")?);
        let flags = Flags(
            take(&mut rest, 1, "flags")?
                .first()
                .copied()
                .unwrap_or_default(),
        );
        let mut counter = [0u8; 4];
        counter.copy_from_slice(take(&mut rest, 4, "signCount")?);
        let sign_count = u32::from_be_bytes(counter);

        let attested = if flags.attested_credential_data() {
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(take(&mut rest, 16, "aaguid")?);
            let len_bytes = take(&mut rest, 2, "credentialIdLength")?;
            let len = usize::from(u16::from_be_bytes([
                len_bytes.first().copied().unwrap_or_default(),
                len_bytes.get(1).copied().unwrap_or_default(),
            ]));
            let credential_id = take(&mut rest, len, "credentialId")?.to_vec();
            let (public_key, used) = CoseKey::parse_prefix(rest)?;
            let public_key_cose = take(&mut rest, used, "credentialPublicKey")?.to_vec();
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                public_key_cose,
                public_key,
            })
        } else {
            None
        };

        let extensions = if flags.extension_data() {
            let value: Value = ciborium::de::from_reader(&mut rest).map_err(|e| {
                Error::AuthenticatorDataMalformed(format!("extensions are not CBOR: {e}"))
            })?;
            if !matches!(value, Value::Map(_)) {
                return Err(Error::AuthenticatorDataMalformed(
                    "extensions are not a CBOR map".into(),
                ));
            }
            Some(value)
        } else {
            None
        };

        if !rest.is_empty() {
            return Err(Error::AuthenticatorDataTrailingBytes(rest.len()));
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
            extensions,
        })
    }
}

/// An AAGUID in its 8-4-4-4-12 text form.
pub fn format_aaguid(aaguid: &[u8; 16]) -> String {
    let hex: String = aaguid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// Parses an AAGUID from its text form (with or without dashes).
pub fn parse_aaguid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_short_is_malformed() {
        assert!(matches!(
            AuthenticatorData::parse(&[0u8; 36]),
            Err(Error::AuthenticatorDataMalformed(_))
        ));
    }

    #[test]
    fn trailing_bytes_without_ed_flag_are_refused() {
        let mut bytes = vec![0u8; 37];
        bytes.push(0xa0);
        assert_eq!(
            AuthenticatorData::parse(&bytes),
            Err(Error::AuthenticatorDataTrailingBytes(1))
        );
    }

    #[test]
    fn extensions_must_be_a_map() {
        let mut bytes = vec![0u8; 37];
        bytes[32] = Flags::ED;
        bytes.push(0x01);
        assert!(matches!(
            AuthenticatorData::parse(&bytes),
            Err(Error::AuthenticatorDataMalformed(_))
        ));
    }

    #[test]
    fn aaguid_round_trips() {
        let a = parse_aaguid("cb69481e-8ff7-4039-93ec-0a2729a154a8");
        assert_eq!(
            a.map(|a| format_aaguid(&a)).as_deref(),
            Some("cb69481e-8ff7-4039-93ec-0a2729a154a8")
        );
        assert_eq!(parse_aaguid("zz"), None);
    }
}
