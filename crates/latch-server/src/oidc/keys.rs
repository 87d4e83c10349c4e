//! The provider's signing keys: generated here (ES256 and RS256 with aws-lc-rs), stored in the
//! database, rotated after [`super::KEY_SIGNS_FOR`] and published as a JWK Set until every
//! token they signed has expired.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use latch_webauthn::b64;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The algorithms ID tokens are signed with. RS256 is OpenID Connect's default
/// (`id_token_signed_response_alg`); a client may ask for ES256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::RS256, Alg::ES256];

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key could not be generated")]
    Generate,
    #[error("the stored {0} key does not parse")]
    Stored(&'static str),
    #[error("signing failed")]
    Sign,
}

/// A private key as the store keeps it, with its public JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: Alg,
    /// PKCS#8 DER.
    pub private_der: Vec<u8>,
    pub public_jwk: Value,
}

/// A fresh key for `alg` with a random key id.
pub fn generate(alg: Alg) -> Result<StoredKey, KeyError> {
    let (kid, _) = crate::crypto::new_token().map_err(|_| KeyError::Generate)?;
    let (private_der, public_jwk) = match alg {
        Alg::ES256 => {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Generate)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|_| KeyError::Generate)?;
            // The uncompressed point: 0x04, x, y.
            let point = pair.public_key().as_ref();
            let (x, y) = match point.get(1..33).zip(point.get(33..65)) {
                Some(xy) => xy,
                None => return Err(KeyError::Generate),
            };
            let jwk = json!({
                "kty": "EC", "crv": "P-256", "x": b64::encode(x), "y": b64::encode(y),
            });
            (pkcs8.as_ref().to_vec(), jwk)
        }
        Alg::RS256 => {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let der = pair.as_der().map_err(|_| KeyError::Generate)?;
            let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            let jwk =
                json!({ "kty": "RSA", "n": b64::encode(&public.n), "e": b64::encode(&public.e) });
            (der.as_ref().to_vec(), jwk)
        }
    };
    let mut public_jwk = public_jwk;
    if let Some(map) = public_jwk.as_object_mut() {
        map.insert("kid".into(), json!(kid));
        map.insert("alg".into(), json!(alg.name()));
        map.insert("use".into(), json!("sig"));
    }
    Ok(StoredKey {
        kid,
        alg,
        private_der,
        public_jwk,
    })
}

/// `claims` as a compact JWS signed by `key` (RFC 7515 §7.1), with `typ` in the header.
pub fn sign(key: &StoredKey, typ: &str, claims: &Value) -> Result<String, KeyError> {
    Signer::new(key)?.sign(typ, claims)
}

/// A private key parsed once for signing (parsing and checking an RSA key costs about as
/// much as a signature).
pub struct Signer {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl Signer {
    pub fn new(key: &StoredKey) -> Result<Signer, KeyError> {
        let pair = match key.alg {
            Alg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_der)
                    .map_err(|_| KeyError::Stored("ES256"))?,
            ),
            Alg::RS256 => Pair::Rsa(
                RsaKeyPair::from_pkcs8(&key.private_der).map_err(|_| KeyError::Stored("RS256"))?,
            ),
        };
        Ok(Signer {
            kid: key.kid.clone(),
            alg: key.alg,
            pair,
        })
    }

    /// `claims` as a compact JWS (RFC 7515 §7.1), with `typ` in the header.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({ "alg": self.alg.name(), "kid": self.kid, "typ": typ });
        let input = format!(
            "{}.{}",
            b64::encode(header.to_string().as_bytes()),
            b64::encode(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec(),
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                    .map_err(|_| KeyError::Sign)?;
                signature
            }
        };
        Ok(format!("{input}.{}", b64::encode(&signature)))
    }
}

/// A published key, opened and parsed.
pub struct LoadedKey {
    pub signer: Arc<Signer>,
    pub public_jwk: Value,
    pub created_at: i64,
    /// After this, a newer key signs.
    pub rotate_at: i64,
}

/// The published keys as last read from the store, so that a token is not also a read, an
/// unsealing and a parse. Kept a minute: a key is published a day before it signs, so a key
/// another node made is seen long before it is needed.
#[derive(Default)]
pub struct KeyCache(Mutex<Option<(i64, Arc<Vec<LoadedKey>>)>>);

/// How long [`KeyCache`] keeps what it read, in seconds.
pub const KEY_CACHE_FOR: i64 = 60;

impl KeyCache {
    /// The keys read at most [`KEY_CACHE_FOR`] seconds before `now`.
    pub fn fresh(&self, now: i64) -> Option<Arc<Vec<LoadedKey>>> {
        let guard = self.0.lock().ok()?;
        match &*guard {
            Some((read_at, keys))
                if (*read_at..read_at.saturating_add(KEY_CACHE_FOR)).contains(&now) =>
            {
                Some(keys.clone())
            }
            _ => None,
        }
    }

    pub fn put(&self, now: i64, keys: Arc<Vec<LoadedKey>>) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((now, keys));
        }
    }
}

/// OpenID Connect Core §3.1.3.6: the left half of SHA-256 of an access token (`at_hash`),
/// for both RS256 and ES256.
pub fn half_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let half = digest.as_ref().get(..16).unwrap_or_default();
    b64::encode(half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};

    #[test]
    fn tokens_signed_with_each_key_verify_against_its_published_jwk() {
        for (alg, algorithm) in [
            (Alg::ES256, Algorithm::ES256),
            (Alg::RS256, Algorithm::RS256),
        ] {
            let key = generate(alg).unwrap();
            let claims = json!({ "sub": "ana", "aud": "wiki", "exp": 4_000_000_000u64 });
            let token = sign(&key, "JWT", &claims).unwrap();
            let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
            let mut v = Validation::new(algorithm);
            v.set_audience(&["wiki"]);
            let decoded =
                decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
            assert_eq!(decoded.claims["sub"], "ana");
            assert_eq!(decoded.header.kid.as_deref(), Some(key.kid.as_str()));
            // Another key of the same kind does not verify it.
            let other = generate(alg).unwrap();
            let other: Jwk = serde_json::from_value(other.public_jwk).unwrap();
            assert!(decode::<Value>(&token, &DecodingKey::from_jwk(&other).unwrap(), &v).is_err());
        }
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_digest() {
        // OpenID Connect Core's example in A.3 (access token and at_hash).
        assert_eq!(
            half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
