//! COSE keys (RFC 9052/9053, RFC 8230, draft ML-DSA) and signature verification on aws-lc-rs.

use aws_lc_rs::signature::{
    self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use ciborium::value::Value;
use serde::Serialize;

use crate::Error;

/// COSE algorithm identifiers this crate knows.
pub mod alg {
    pub const ES256: i64 = -7;
    pub const EDDSA: i64 = -8;
    pub const ESP256: i64 = -9;
    pub const ED25519: i64 = -19;
    pub const ES384: i64 = -35;
    pub const ES512: i64 = -36;
    pub const PS256: i64 = -37;
    pub const PS384: i64 = -38;
    pub const PS512: i64 = -39;
    pub const ML_DSA_44: i64 = -48;
    pub const ML_DSA_65: i64 = -49;
    pub const ML_DSA_87: i64 = -50;
    pub const ESP384: i64 = -51;
    pub const ESP512: i64 = -52;
    pub const RS256: i64 = -257;
    pub const RS384: i64 = -258;
    pub const RS512: i64 = -259;
    pub const RS1: i64 = -65535;
}

/// Every algorithm this crate can verify (RS1 still needs the SHA-1 opt-in).
pub const ALL_ALGORITHMS: &[i64] = &[
    alg::ES256,
    alg::EDDSA,
    alg::ESP256,
    alg::ED25519,
    alg::ES384,
    alg::ES512,
    alg::PS256,
    alg::PS384,
    alg::PS512,
    alg::ML_DSA_44,
    alg::ML_DSA_65,
    alg::ML_DSA_87,
    alg::ESP384,
    alg::ESP512,
    alg::RS256,
    alg::RS384,
    alg::RS512,
    alg::RS1,
];

/// A human name for a COSE algorithm identifier.
pub fn alg_name(alg: i64) -> &'static str {
    match alg {
        alg::ES256 => "ES256",
        alg::EDDSA => "EdDSA",
        alg::ESP256 => "ESP256",
        alg::ED25519 => "Ed25519",
        alg::ES384 => "ES384",
        alg::ES512 => "ES512",
        alg::PS256 => "PS256",
        alg::PS384 => "PS384",
        alg::PS512 => "PS512",
        alg::ML_DSA_44 => "ML-DSA-44",
        alg::ML_DSA_65 => "ML-DSA-65",
        alg::ML_DSA_87 => "ML-DSA-87",
        alg::ESP384 => "ESP384",
        alg::ESP512 => "ESP512",
        alg::RS256 => "RS256",
        alg::RS384 => "RS384",
        alg::RS512 => "RS512",
        alg::RS1 => "RS1",
        _ => "unknown",
    }
}

/// Elliptic curves for EC2 keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Curve {
    P256,
    P384,
    P521,
    Ed25519,
}

impl Curve {
    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Ed25519 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// Key material, independent of the algorithm it is used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An uncompressed SEC1 point (0x04 || x || y).
    Ec { curve: Curve, point: Vec<u8> },
    /// A raw 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
    /// RSA modulus and exponent, big-endian without sign bytes.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An ML-DSA public key (raw encoding from FIPS 204).
    MlDsa(Vec<u8>),
}

/// A credential public key as sent in a COSE_Key: algorithm plus material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseKey {
    pub alg: i64,
    pub key: KeyMaterial,
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

fn map_get(map: &[(Value, Value)], label: i64) -> Option<&Value> {
    map.iter()
        .find(|(k, _)| int_of(k) == Some(label))
        .map(|(_, v)| v)
}

fn bytes_at<'a>(map: &'a [(Value, Value)], label: i64, what: &str) -> Result<&'a [u8], Error> {
    match map_get(map, label) {
        Some(Value::Bytes(b)) => Ok(b),
        Some(_) => Err(Error::CoseKeyMalformed(format!(
            "{what} is not a byte string"
        ))),
        None => Err(Error::CoseKeyMalformed(format!("{what} is missing"))),
    }
}

fn int_at(map: &[(Value, Value)], label: i64, what: &str) -> Result<i64, Error> {
    map_get(map, label)
        .and_then(int_of)
        .ok_or_else(|| Error::CoseKeyMalformed(format!("{what} is missing or not an integer")))
}

/// Left-pads a coordinate that came without its leading zero bytes; refuses longer ones.
fn coordinate(bytes: &[u8], len: usize, what: &str) -> Result<Vec<u8>, Error> {
    if bytes.len() > len || bytes.is_empty() {
        return Err(Error::CoseKeyMalformed(format!(
            "{what} is {} bytes, expected {len}",
            bytes.len()
        )));
    }
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(bytes);
    Ok(out)
}

fn strip_leading_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

impl CoseKey {
    /// The COSE_Key (EC2, P-256, ES256) of an uncompressed SEC1 point (`04 || x || y`), as
    /// an authenticator would send it.
    pub fn es256_bytes(point: &[u8]) -> Result<Vec<u8>, Error> {
        let (x, y) = match point {
            [4, rest @ ..] if rest.len() == 64 => rest.split_at(32),
            _ => {
                return Err(Error::CoseKeyMalformed(
                    "not an uncompressed P-256 point".into(),
                ))
            }
        };
        let value = Value::Map(vec![
            (Value::from(1), Value::from(2)),
            (Value::from(3), Value::from(alg::ES256)),
            (Value::from(-1), Value::from(1)),
            (Value::from(-2), Value::Bytes(x.to_vec())),
            (Value::from(-3), Value::Bytes(y.to_vec())),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&value, &mut out)
            .map_err(|e| Error::CoseKeyMalformed(e.to_string()))?;
        Ok(out)
    }

    /// Parses one COSE_Key from the front of `input`, returning it and the bytes it used.
    pub fn parse_prefix(input: &[u8]) -> Result<(CoseKey, usize), Error> {
        let mut rest = input;
        let value: Value = ciborium::de::from_reader(&mut rest)
            .map_err(|e| Error::CoseKeyMalformed(format!("not CBOR: {e}")))?;
        let used = input.len() - rest.len();
        Ok((CoseKey::from_value(&value)?, used))
    }

    /// Parses a COSE_Key that must fill `input` exactly.
    pub fn from_bytes(input: &[u8]) -> Result<CoseKey, Error> {
        let (key, used) = CoseKey::parse_prefix(input)?;
        if used != input.len() {
            return Err(Error::CoseKeyMalformed(format!(
                "{} trailing bytes after the key",
                input.len() - used
            )));
        }
        Ok(key)
    }

    fn from_value(value: &Value) -> Result<CoseKey, Error> {
        let Value::Map(map) = value else {
            return Err(Error::CoseKeyMalformed("not a CBOR map".into()));
        };
        let kty = int_at(map, 1, "kty (1)")?;
        let alg = int_at(map, 3, "alg (3)")?;
        let key = match kty {
            // EC2
            2 => {
                let crv = match int_at(map, -1, "crv (-1)")? {
                    1 => Curve::P256,
                    2 => Curve::P384,
                    3 => Curve::P521,
                    other => {
                        return Err(Error::CoseKeyMalformed(format!(
                            "unsupported EC2 curve {other}"
                        )))
                    }
                };
                let len = crv.coordinate_len();
                let x = coordinate(bytes_at(map, -2, "x (-2)")?, len, "x")?;
                let y = coordinate(bytes_at(map, -3, "y (-3)")?, len, "y")?;
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                KeyMaterial::Ec { curve: crv, point }
            }
            // OKP
            1 => {
                let crv = int_at(map, -1, "crv (-1)")?;
                if crv != 6 {
                    return Err(Error::CoseKeyMalformed(format!(
                        "unsupported OKP curve {crv} (only Ed25519 = 6)"
                    )));
                }
                let x = bytes_at(map, -2, "x (-2)")?;
                if x.len() != 32 {
                    return Err(Error::CoseKeyMalformed(format!(
                        "Ed25519 key is {} bytes, expected 32",
                        x.len()
                    )));
                }
                KeyMaterial::Ed25519(x.to_vec())
            }
            // RSA
            3 => {
                let n = strip_leading_zeros(bytes_at(map, -1, "n (-1)")?);
                let e = strip_leading_zeros(bytes_at(map, -2, "e (-2)")?);
                if n.is_empty() || e.is_empty() {
                    return Err(Error::CoseKeyMalformed("RSA n or e is zero".into()));
                }
                KeyMaterial::Rsa { n, e }
            }
            // AKP (ML-DSA)
            7 => KeyMaterial::MlDsa(bytes_at(map, -1, "pub (-1)")?.to_vec()),
            other => return Err(Error::CoseKeyMalformed(format!("unsupported kty {other}"))),
        };
        let key = CoseKey { alg, key };
        key.check_alg_fits()?;
        Ok(key)
    }

    /// The algorithm must be one we verify, and the key type must fit it.
    fn check_alg_fits(&self) -> Result<(), Error> {
        let fits = match (&self.key, self.alg) {
            (KeyMaterial::Ec { curve, .. }, alg::ES256 | alg::ESP256) => *curve == Curve::P256,
            (KeyMaterial::Ec { curve, .. }, alg::ES384 | alg::ESP384) => *curve == Curve::P384,
            (KeyMaterial::Ec { curve, .. }, alg::ES512 | alg::ESP512) => *curve == Curve::P521,
            (KeyMaterial::Ed25519(_), alg::EDDSA | alg::ED25519) => true,
            (
                KeyMaterial::Rsa { .. },
                alg::RS256
                | alg::RS384
                | alg::RS512
                | alg::RS1
                | alg::PS256
                | alg::PS384
                | alg::PS512,
            ) => true,
            (KeyMaterial::MlDsa(k), alg::ML_DSA_44) => k.len() == 1312,
            (KeyMaterial::MlDsa(k), alg::ML_DSA_65) => k.len() == 1952,
            (KeyMaterial::MlDsa(k), alg::ML_DSA_87) => k.len() == 2592,
            (_, a) if alg_name(a) == "unknown" => {
                return Err(Error::UnsupportedAlgorithm { alg: a })
            }
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(Error::KeyAlgorithmMismatch { alg: self.alg })
        }
    }

    /// Checks that the key material is a usable public key (an EC point on its curve, a
    /// decodable Ed25519 key), so a registration cannot store a key no signature will match.
    pub fn validate(&self) -> Result<(), Error> {
        let algorithm: &'static dyn VerificationAlgorithm = match &self.key {
            KeyMaterial::Ec {
                curve: Curve::P256, ..
            } => &signature::ECDSA_P256_SHA256_ASN1,
            KeyMaterial::Ec {
                curve: Curve::P384, ..
            } => &signature::ECDSA_P384_SHA384_ASN1,
            KeyMaterial::Ec {
                curve: Curve::P521, ..
            } => &signature::ECDSA_P521_SHA512_ASN1,
            KeyMaterial::Ed25519(_)
            | KeyMaterial::Ec {
                curve: Curve::Ed25519,
                ..
            } => &signature::ED25519,
            KeyMaterial::Rsa { .. } | KeyMaterial::MlDsa(_) => return Ok(()),
        };
        let bytes = match &self.key {
            KeyMaterial::Ec { point, .. } => point.as_slice(),
            KeyMaterial::Ed25519(x) => x.as_slice(),
            _ => return Ok(()),
        };
        signature::ParsedPublicKey::new(algorithm, bytes)
            .map(|_| ())
            .map_err(|_| {
                Error::CoseKeyMalformed("the public key is not a valid point on its curve".into())
            })
    }

    /// Verifies `sig` over `msg` with this key and its own algorithm.
    pub fn verify(&self, msg: &[u8], sig: &[u8], allow_sha1: bool) -> Result<(), Error> {
        verify_with(&self.key, self.alg, msg, sig, allow_sha1)
    }

    /// The key as a JSON-friendly description (for `latch webauthn inspect`).
    pub fn describe(&self) -> serde_json::Value {
        use serde_json::json;
        let b = crate::b64::encode;
        let material = match &self.key {
            KeyMaterial::Ec { curve, point } => {
                let half = point.len().saturating_sub(1) / 2;
                json!({
                    "kty": "EC2",
                    "crv": format!("{curve:?}"),
                    "x": b(point.get(1..1 + half).unwrap_or_default()),
                    "y": b(point.get(1 + half..).unwrap_or_default()),
                })
            }
            KeyMaterial::Ed25519(x) => json!({ "kty": "OKP", "crv": "Ed25519", "x": b(x) }),
            KeyMaterial::Rsa { n, e } => {
                json!({ "kty": "RSA", "bits": n.len() * 8, "n": b(n), "e": b(e) })
            }
            KeyMaterial::MlDsa(p) => json!({ "kty": "AKP", "pub": b(p) }),
        };
        let mut out = serde_json::Map::new();
        out.insert("alg".into(), self.alg.into());
        out.insert("algName".into(), alg_name(self.alg).into());
        if let serde_json::Value::Object(m) = material {
            out.extend(m);
        }
        serde_json::Value::Object(out)
    }
}

/// Verifies `sig` over `msg` under `alg` with `key` (used for credential keys and for
/// attestation certificates' keys, whose algorithm comes from the statement).
pub fn verify_with(
    key: &KeyMaterial,
    alg: i64,
    msg: &[u8],
    sig: &[u8],
    allow_sha1: bool,
) -> Result<(), Error> {
    let ok = match key {
        KeyMaterial::Ec { curve, point } => {
            let algorithm: &dyn VerificationAlgorithm = match (curve, alg) {
                (Curve::P256, alg::ES256 | alg::ESP256) => &signature::ECDSA_P256_SHA256_ASN1,
                (Curve::P384, alg::ES384 | alg::ESP384) => &signature::ECDSA_P384_SHA384_ASN1,
                (Curve::P521, alg::ES512 | alg::ESP512) => &signature::ECDSA_P521_SHA512_ASN1,
                // An attestation certificate's key may sit on another curve than its alg names.
                (Curve::P384, alg::ES256) => &signature::ECDSA_P384_SHA256_ASN1,
                (Curve::P256, alg::ES384) => &signature::ECDSA_P256_SHA384_ASN1,
                (Curve::P521, alg::ES256) => &signature::ECDSA_P521_SHA256_ASN1,
                (Curve::P521, alg::ES384) => &signature::ECDSA_P521_SHA384_ASN1,
                _ => return Err(Error::KeyAlgorithmMismatch { alg }),
            };
            algorithm.verify_sig(point, msg, sig).is_ok()
        }
        KeyMaterial::Ed25519(x) => match alg {
            alg::EDDSA | alg::ED25519 => signature::ED25519.verify_sig(x, msg, sig).is_ok(),
            _ => return Err(Error::KeyAlgorithmMismatch { alg }),
        },
        KeyMaterial::Rsa { n, e } => {
            let params = match alg {
                alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                alg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                alg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                alg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                alg::RS1 if allow_sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                alg::RS1 => return Err(Error::Sha1NotAllowed),
                _ => return Err(Error::KeyAlgorithmMismatch { alg }),
            };
            RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(params, msg, sig)
            .is_ok()
        }
        KeyMaterial::MlDsa(p) => {
            let algorithm = match alg {
                alg::ML_DSA_44 => &signature::ML_DSA_44,
                alg::ML_DSA_65 => &signature::ML_DSA_65,
                alg::ML_DSA_87 => &signature::ML_DSA_87,
                _ => return Err(Error::KeyAlgorithmMismatch { alg }),
            };
            UnparsedPublicKey::new(algorithm, p)
                .verify(msg, sig)
                .is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec2(alg: i64, crv: i64, x: Vec<u8>, y: Vec<u8>) -> Vec<u8> {
        let v = Value::Map(vec![
            (Value::from(1), Value::from(2)),
            (Value::from(3), Value::from(alg)),
            (Value::from(-1), Value::from(crv)),
            (Value::from(-2), Value::Bytes(x)),
            (Value::from(-3), Value::Bytes(y)),
        ]);
        let mut out = Vec::new();
        let _ = ciborium::ser::into_writer(&v, &mut out);
        out
    }

    #[test]
    fn an_es256_key_encodes_and_parses_back() {
        let mut point = vec![4];
        point.extend_from_slice(&[7; 32]);
        point.extend_from_slice(&[9; 32]);
        let bytes = CoseKey::es256_bytes(&point).unwrap();
        assert_eq!(bytes, ec2(alg::ES256, 1, vec![7; 32], vec![9; 32]));
        assert!(CoseKey::es256_bytes(&point[1..]).is_err());
        assert!(CoseKey::es256_bytes(&[4; 64]).is_err());
    }

    #[test]
    fn es256_on_p384_is_a_key_algorithm_mismatch() {
        let bytes = ec2(alg::ES256, 2, vec![1; 48], vec![2; 48]);
        assert_eq!(
            CoseKey::from_bytes(&bytes),
            Err(Error::KeyAlgorithmMismatch { alg: alg::ES256 })
        );
    }

    #[test]
    fn unknown_algorithm_is_reported_as_such() {
        let bytes = ec2(-4711, 1, vec![1; 32], vec![2; 32]);
        assert_eq!(
            CoseKey::from_bytes(&bytes),
            Err(Error::UnsupportedAlgorithm { alg: -4711 })
        );
    }

    #[test]
    fn oversized_coordinate_is_malformed() {
        let bytes = ec2(alg::ES256, 1, vec![1; 33], vec![2; 32]);
        assert!(matches!(
            CoseKey::from_bytes(&bytes),
            Err(Error::CoseKeyMalformed(_))
        ));
    }

    #[test]
    fn trailing_bytes_after_key_are_refused() {
        let mut bytes = ec2(alg::ES256, 1, vec![1; 32], vec![2; 32]);
        bytes.push(0);
        assert!(matches!(
            CoseKey::from_bytes(&bytes),
            Err(Error::CoseKeyMalformed(_))
        ));
    }

    #[test]
    fn point_off_the_curve_is_refused_by_validate() {
        let key = CoseKey::from_bytes(&ec2(alg::ES256, 1, vec![1; 32], vec![2; 32])).unwrap();
        assert!(matches!(key.validate(), Err(Error::CoseKeyMalformed(_))));
    }

    #[test]
    fn rs1_is_refused_without_opt_in() {
        let key = KeyMaterial::Rsa {
            n: vec![0xc1; 256],
            e: vec![1, 0, 1],
        };
        assert_eq!(
            verify_with(&key, alg::RS1, b"m", &[0; 256], false),
            Err(Error::Sha1NotAllowed)
        );
    }
}
