//! JWTs this provider reads, verified with `jsonwebtoken`: a client's `private_key_jwt`
//! assertion (RFC 7523 §3, OpenID Connect Core §9) and an `id_token_hint` it issued itself.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::error::OAuthError;

/// RFC 7523's `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: its `jti` is remembered until it expires. An hour, as
/// client libraries make them by default (authlib's `PrivateKeyJWT`).
pub const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// The algorithms a key of this kind may be used with.
fn algorithms(jwk: &Jwk) -> Vec<Algorithm> {
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(_) => vec![Algorithm::ES256, Algorithm::ES384],
        AlgorithmParameters::RSA(_) => vec![Algorithm::RS256, Algorithm::PS256],
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        // A shared secret is not a client's public key.
        AlgorithmParameters::OctetKey(_) => vec![],
    }
}

/// The key `kid` names in `set` and what it may verify.
fn key_for(set: &JwkSet, kid: Option<&str>) -> Option<(DecodingKey, Vec<Algorithm>)> {
    let jwk = match kid {
        Some(kid) => set.find(kid)?,
        None if set.keys.len() == 1 => set.keys.first()?,
        None => return None,
    };
    let mut algs = algorithms(jwk);
    if let Some(declared) = jwk.common.key_algorithm {
        algs.retain(|a| format!("{a:?}") == format!("{declared:?}"));
    }
    Some((DecodingKey::from_jwk(jwk).ok()?, algs))
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    jti: String,
    exp: i64,
}

/// A verified client assertion: its `jti` and when it expires (to remember the `jti` until).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub jti: String,
    pub expires_at: i64,
}

/// Verifies `assertion` as `client_id`'s, signed by a key in its JWK Set `jwks`, for
/// `audiences` (the token endpoint, or the issuer), unexpired at `now`.
pub fn verify_client_assertion(
    assertion: &str,
    client_id: &str,
    jwks: &str,
    audiences: &[&str],
    now: i64,
) -> Result<Assertion, OAuthError> {
    let bad = |why: &str| OAuthError::invalid_client(format!("the client assertion {why}"));
    let set: JwkSet = serde_json::from_str(jwks)
        .map_err(|_| bad("cannot be checked: the client's keys do not parse"))?;
    let header = decode_header(assertion).map_err(|_| bad("is not a JWT"))?;
    let (key, algs) =
        key_for(&set, header.kid.as_deref()).ok_or_else(|| bad("names no key of the client"))?;
    if !algs.contains(&header.alg) {
        return Err(bad("uses an algorithm its key is not for"));
    }
    let mut v = Validation::new(header.alg);
    v.algorithms = algs;
    v.set_audience(audiences);
    v.set_issuer(&[client_id]);
    v.sub = Some(client_id.to_owned());
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    v.leeway = 30;
    // The clock is the server's (and tests'), not the system's.
    v.validate_exp = false;
    let data = decode::<AssertionClaims>(assertion, &key, &v)
        .map_err(|e| bad(&format!("is not valid ({e})")))?;
    let claims = data.claims;
    if claims.exp.saturating_add(30) <= now {
        return Err(bad("has expired"));
    }
    if claims.exp > now.saturating_add(MAX_ASSERTION_LIFETIME) {
        return Err(bad("lives too long (at most an hour)"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(bad("has no usable `jti`"));
    }
    Ok(Assertion {
        jti: claims.jti,
        expires_at: claims.exp.saturating_add(30),
    })
}

/// The claims of an ID token this provider signed (`keys`: the published JWKs), whether or
/// not it has expired: an `id_token_hint` says who is logging out, not that they may.
pub fn verify_own_id_token(token: &str, keys: &[Value], issuer: &str) -> Option<Value> {
    let set = JwkSet {
        keys: keys
            .iter()
            .filter_map(|k| serde_json::from_value(k.clone()).ok())
            .collect(),
    };
    let header = decode_header(token).ok()?;
    let (key, algs) = key_for(&set, Some(header.kid.as_deref()?))?;
    let mut v = Validation::new(header.alg);
    v.algorithms = algs;
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    v.validate_exp = false;
    v.set_required_spec_claims(&["iss", "sub", "aud"]);
    decode::<Value>(token, &key, &v).ok().map(|d| d.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys::{generate, sign, Alg};
    use serde_json::json;

    fn client_keys() -> (crate::oidc::keys::StoredKey, String) {
        let key = generate(Alg::ES256).unwrap();
        let jwks = json!({ "keys": [key.public_jwk] }).to_string();
        (key, jwks)
    }

    const AUD: &str = "https://id.example/oauth2/token";

    fn assertion(key: &crate::oidc::keys::StoredKey, claims: Value) -> String {
        sign(key, "JWT", &claims).unwrap()
    }

    #[test]
    fn a_client_assertion_is_checked_claim_by_claim() {
        let (key, jwks) = client_keys();
        let good = json!({ "iss": "cli", "sub": "cli", "aud": AUD, "jti": "j1", "exp": 1100 });
        let ok =
            verify_client_assertion(&assertion(&key, good.clone()), "cli", &jwks, &[AUD], 1000)
                .unwrap();
        assert_eq!(ok.jti, "j1");
        let with = |field: &str, value: Value| {
            let mut c = good.clone();
            c[field] = value;
            verify_client_assertion(&assertion(&key, c), "cli", &jwks, &[AUD], 1000)
        };
        assert!(with("iss", json!("other")).is_err());
        assert!(with("sub", json!("other")).is_err());
        assert!(with("aud", json!("https://elsewhere.example/token")).is_err());
        assert!(with("exp", json!(900)).is_err());
        assert!(with("exp", json!(5000)).is_err());
        assert!(with("jti", json!("")).is_err());
        // Signed by a key the client did not register.
        let (stranger, _) = client_keys();
        let forged = assertion(&stranger, good.clone());
        let e = verify_client_assertion(&forged, "cli", &jwks, &[AUD], 1000).unwrap_err();
        assert_eq!(e.code, "invalid_client");
        // alg "none" and garbage.
        let unsigned = format!(
            "{}.{}.",
            latch_webauthn::b64::encode(br#"{"alg":"none"}"#),
            latch_webauthn::b64::encode(good.to_string().as_bytes())
        );
        assert!(verify_client_assertion(&unsigned, "cli", &jwks, &[AUD], 1000).is_err());
        assert!(verify_client_assertion("garbage", "cli", &jwks, &[AUD], 1000).is_err());
    }

    #[test]
    fn an_id_token_hint_must_carry_one_of_our_signatures() {
        let ours = generate(Alg::RS256).unwrap();
        let token = sign(
            &ours,
            "JWT",
            &json!({ "iss": "https://id.example", "sub": "u", "aud": "wiki", "exp": 1 }),
        )
        .unwrap();
        let published = [ours.public_jwk.clone()];
        assert_eq!(
            verify_own_id_token(&token, &published, "https://id.example").unwrap()["sub"],
            "u"
        );
        assert!(verify_own_id_token(&token, &published, "https://other.example").is_none());
        let theirs = generate(Alg::RS256).unwrap();
        assert!(verify_own_id_token(&token, &[theirs.public_jwk], "https://id.example").is_none());
    }
}
