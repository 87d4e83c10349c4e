//! `android-safetynet` attestation (§8.5, deprecated): a SafetyNet attestation JWS whose nonce
//! binds the authenticator data and client data.
//!
//! The checks run in this order, each with its own [`SafetyNetError`] variant: `ver` is
//! non-empty text and `response` a byte string; `response` is a UTF-8 compact JWS whose header
//! names RS256 or ES256 and carries an x5c; the JWS signature verifies with the x5c leaf's key;
//! the payload's `nonce` is base64(SHA-256(authenticatorData || clientDataHash)); the leaf is
//! issued to `attest.android.com`; `ctsProfileMatch` (or, if the policy allows, only
//! `basicIntegrity`) is true; `timestampMs` lies within the policy's window around now; then the
//! certificate path.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, VerificationAlgorithm};
use ciborium::value::Value;
use serde_json::{Map, Value as Json};
use thiserror::Error;

use super::{
    check_path, stmt_get, AttestationError, AttestationInput, AttestationOutcome, AttestationType,
};
use crate::cert;
use crate::cose::{self, Curve, KeyMaterial};

/// The hostname SafetyNet attestation certificates are issued to.
pub const HOSTNAME: &str = "attest.android.com";

/// A failed android-safetynet check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SafetyNetError {
    #[error("attStmt ver is missing, not text, or empty")]
    VerMissing,
    #[error("attStmt response is missing or not a byte string")]
    ResponseMissing,
    #[error("response is not a compact JWS: {0}")]
    JwsMalformed(&'static str),
    #[error("the JWS header is not a JSON object: {0}")]
    HeaderMalformed(String),
    #[error("the JWS header alg {0:?} is not RS256 or ES256")]
    HeaderAlgUnsupported(String),
    #[error("the JWS header x5c is missing, empty, or holds an item that is not base64 text")]
    HeaderX5cMissing,
    #[error("the JWS leaf certificate's key cannot be used with {0}")]
    KeyAlgMismatch(&'static str),
    #[error("the JWS signature does not verify with the leaf certificate's key")]
    SignatureInvalid,
    #[error("the JWS payload is not a JSON object: {0}")]
    PayloadMalformed(String),
    #[error("nonce is missing or is not base64(SHA-256(authenticatorData || clientDataHash))")]
    NonceMismatch,
    #[error("the JWS leaf certificate is not issued to attest.android.com")]
    HostnameMismatch,
    #[error("ctsProfileMatch is not true")]
    CtsProfileMismatch,
    #[error("basicIntegrity is not true")]
    BasicIntegrityFailed,
    #[error("timestampMs is missing or not an integer")]
    TimestampMissing,
    #[error("timestampMs {timestamp_ms} is outside the accepted window around now ({now_ms})")]
    TimestampOutOfWindow { timestamp_ms: i64, now_ms: i64 },
}

impl SafetyNetError {
    pub fn code(&self) -> &'static str {
        use SafetyNetError as E;
        match self {
            E::VerMissing => "safetynet_ver_missing",
            E::ResponseMissing => "safetynet_response_missing",
            E::JwsMalformed(_) => "safetynet_jws_malformed",
            E::HeaderMalformed(_) => "safetynet_header_malformed",
            E::HeaderAlgUnsupported(_) => "safetynet_alg_unsupported",
            E::HeaderX5cMissing => "safetynet_x5c_missing",
            E::KeyAlgMismatch(_) => "safetynet_key_alg_mismatch",
            E::SignatureInvalid => "safetynet_signature_invalid",
            E::PayloadMalformed(_) => "safetynet_payload_malformed",
            E::NonceMismatch => "safetynet_nonce_mismatch",
            E::HostnameMismatch => "safetynet_hostname_mismatch",
            E::CtsProfileMismatch => "safetynet_cts_profile_mismatch",
            E::BasicIntegrityFailed => "safetynet_basic_integrity_failed",
            E::TimestampMissing => "safetynet_timestamp_missing",
            E::TimestampOutOfWindow { .. } => "safetynet_timestamp_out_of_window",
        }
    }
}

/// The JWS signature algorithms SafetyNet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JwsAlg {
    Rs256,
    Es256,
}

impl JwsAlg {
    fn name(self) -> &'static str {
        match self {
            JwsAlg::Rs256 => "RS256",
            JwsAlg::Es256 => "ES256",
        }
    }
}

/// A compact JWS split into its parts.
struct Jws<'a> {
    /// ASCII `header.payload`: what the signature covers.
    signing_input: &'a str,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    fn parse(response: &'a [u8]) -> Result<Jws<'a>, SafetyNetError> {
        let text = std::str::from_utf8(response)
            .map_err(|_| SafetyNetError::JwsMalformed("response is not UTF-8"))?;
        let (signing_input, signature) = text.rsplit_once('.').ok_or(
            SafetyNetError::JwsMalformed("not three dot-separated parts"),
        )?;
        let (header, payload) =
            signing_input
                .split_once('.')
                .ok_or(SafetyNetError::JwsMalformed(
                    "not three dot-separated parts",
                ))?;
        if payload.contains('.') {
            return Err(SafetyNetError::JwsMalformed(
                "more than three dot-separated parts",
            ));
        }
        let decode = |part: &str, what: &'static str| {
            if part.is_empty() {
                return Err(SafetyNetError::JwsMalformed(what));
            }
            crate::b64::decode(part).ok_or(SafetyNetError::JwsMalformed(what))
        };
        Ok(Jws {
            signing_input,
            header: decode(header, "the header is not base64url")?,
            payload: decode(payload, "the payload is not base64url")?,
            signature: decode(signature, "the signature is not base64url")?,
        })
    }
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Json>, String> {
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err("not an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    // CBOR syntax: ver (reserved for future use, but must be there) and response.
    match stmt_get(input.att_stmt, "ver")? {
        Some(Value::Text(t)) if !t.is_empty() => {}
        _ => return Err(SafetyNetError::VerMissing.into()),
    }
    let response = match stmt_get(input.att_stmt, "response")? {
        Some(Value::Bytes(b)) => b.as_slice(),
        _ => return Err(SafetyNetError::ResponseMissing.into()),
    };

    // The JWS and its header: alg and x5c.
    let jws = Jws::parse(response)?;
    let header = json_object(&jws.header).map_err(SafetyNetError::HeaderMalformed)?;
    let alg = match header.get("alg").and_then(Json::as_str) {
        Some("RS256") => JwsAlg::Rs256,
        Some("ES256") => JwsAlg::Es256,
        Some(other) => return Err(SafetyNetError::HeaderAlgUnsupported(other.to_owned()).into()),
        None => return Err(SafetyNetError::HeaderAlgUnsupported(String::new()).into()),
    };
    let x5c = header_x5c(&header)?;
    let chain = cert::parse_all(&x5c)?;
    let leaf = chain.first().ok_or(SafetyNetError::HeaderX5cMissing)?;

    // The signature over ASCII(header.payload) with the leaf's key.
    let key = cert::spki_key(leaf.public_key())?;
    verify_signature(alg, &key, jws.signing_input.as_bytes(), &jws.signature)?;

    // The payload: nonce, then the device verdicts and the timestamp.
    let payload = json_object(&jws.payload).map_err(SafetyNetError::PayloadMalformed)?;
    let expected_nonce = digest::digest(&digest::SHA256, &input.signed_data());
    let nonce = payload
        .get("nonce")
        .and_then(Json::as_str)
        .and_then(crate::b64::decode);
    if nonce.as_deref() != Some(expected_nonce.as_ref()) {
        return Err(SafetyNetError::NonceMismatch.into());
    }

    let issued_to = cert::subject_attr(leaf, "2.5.4.3");
    if !issued_to.is_some_and(|cn| cn.eq_ignore_ascii_case(HOSTNAME)) {
        return Err(SafetyNetError::HostnameMismatch.into());
    }

    let is_true = |name: &str| payload.get(name).and_then(Json::as_bool) == Some(true);
    if input.policy.safetynet_require_cts {
        if !is_true("ctsProfileMatch") {
            return Err(SafetyNetError::CtsProfileMismatch.into());
        }
    } else if !is_true("basicIntegrity") {
        return Err(SafetyNetError::BasicIntegrityFailed.into());
    }

    let timestamp_ms = payload
        .get("timestampMs")
        .and_then(Json::as_i64)
        .ok_or(SafetyNetError::TimestampMissing)?;
    let now_ms = input.now.millis();
    let skew = (i128::from(now_ms) - i128::from(timestamp_ms)).abs();
    if skew > i128::from(input.policy.safetynet_max_age_ms.max(0)) {
        return Err(SafetyNetError::TimestampOutOfWindow {
            timestamp_ms,
            now_ms,
        }
        .into());
    }

    let trust = check_path(input, "android-safetynet", &chain)?;
    Ok(AttestationOutcome {
        fmt: "android-safetynet",
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        trust,
        sub: Vec::new(),
    })
}

/// The header's x5c: a non-empty array of base64 DER certificates, leaf first.
fn header_x5c(header: &Map<String, Json>) -> Result<Vec<Vec<u8>>, SafetyNetError> {
    let items = header
        .get("x5c")
        .and_then(Json::as_array)
        .filter(|items| !items.is_empty())
        .ok_or(SafetyNetError::HeaderX5cMissing)?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(crate::b64::decode)
                .ok_or(SafetyNetError::HeaderX5cMissing)
        })
        .collect()
}

/// RS256 (PKCS#1 v1.5, SHA-256) or ES256 (P-256, SHA-256, JOSE's fixed r || s signature).
fn verify_signature(
    alg: JwsAlg,
    key: &KeyMaterial,
    signing_input: &[u8],
    sig: &[u8],
) -> Result<(), SafetyNetError> {
    let ok = match (alg, key) {
        (JwsAlg::Rs256, KeyMaterial::Rsa { .. }) => {
            match cose::verify_with(key, cose::alg::RS256, signing_input, sig, false) {
                Ok(()) => true,
                Err(crate::Error::BadSignature) => false,
                Err(_) => return Err(SafetyNetError::KeyAlgMismatch(alg.name())),
            }
        }
        (
            JwsAlg::Es256,
            KeyMaterial::Ec {
                curve: Curve::P256,
                point,
            },
        ) => signature::ECDSA_P256_SHA256_FIXED
            .verify_sig(point, signing_input, sig)
            .is_ok(),
        _ => return Err(SafetyNetError::KeyAlgMismatch(alg.name())),
    };
    if ok {
        Ok(())
    } else {
        Err(SafetyNetError::SignatureInvalid)
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde_json::json;

    use super::*;
    use crate::attestation::android_key::test_support::*;
    use crate::attestation::{TrustStatus, TrustStore};
    use crate::{b64, Error, UnixTime};

    const CDH: [u8; 32] = [0x6b; 32];
    const NOW: i64 = 1_700_000_000;
    const CTS_FAIL: &str = "swa-android-safetynet-cts-fail";
    const REVOKED: &str = "swa-android-safetynet-revoked-cert";

    fn sn_err(parts: &Parts) -> AttestationError {
        verify(&parts.input()).unwrap_err()
    }

    fn sn(e: SafetyNetError) -> AttestationError {
        AttestationError::SafetyNet(e)
    }

    fn compact(header: &[u8], payload: &[u8], sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let signing_input = format!("{}.{}", b64::encode(header), b64::encode(payload));
        let sig = sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64::encode(sig))
    }

    fn set_response(parts: &mut Parts, response: impl Into<Vec<u8>>) {
        parts.set_stmt("response", Some(Value::Bytes(response.into())));
    }

    /// The real response's three segments.
    fn segments(parts: &Parts) -> Vec<String> {
        let Value::Bytes(r) = parts.stmt("response") else {
            panic!()
        };
        String::from_utf8(r.clone())
            .unwrap()
            .split('.')
            .map(str::to_owned)
            .collect()
    }

    /// The real CTS-fail case, with a policy that only needs basicIntegrity (so it passes).
    fn real_basic() -> Parts {
        let mut parts = Parts::from_case(CTS_FAIL);
        parts.policy.safetynet_require_cts = false;
        parts
    }

    /// A synthetic ES256 statement: leaf (CN `cn`) signed by a fresh CA, payload edited by
    /// `edit` after the defaults (a matching nonce, now, both verdicts true). No anchors.
    struct Synthetic {
        parts: Parts,
        leaf_key: P256,
        minted: Minted,
    }

    impl Synthetic {
        fn new(cn: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Synthetic {
            let cred = P256::generate();
            let leaf_key = P256::generate();
            let minted = mint(cn, &leaf_key, vec![]);
            let mut parts = Parts::synthetic(&cred.point(), Value::Map(vec![]), CDH);
            parts.now = UnixTime(NOW);
            let nonce = STANDARD.encode(digest::digest(&digest::SHA256, &parts.signed_data()));
            let mut payload = json!({
                "nonce": nonce,
                "timestampMs": NOW * 1000 - 1500,
                "apkPackageName": "com.google.android.gms",
                "ctsProfileMatch": true,
                "basicIntegrity": true,
            });
            edit(&mut payload);
            let mut s = Synthetic {
                parts,
                leaf_key,
                minted,
            };
            s.parts.att_stmt = Value::Map(vec![
                (Value::Text("ver".into()), Value::Text("241537000".into())),
                (Value::Text("response".into()), Value::Bytes(vec![])),
            ]);
            let response = s.jws(&s.header("ES256"), &serde_json::to_vec(&payload).unwrap());
            set_response(&mut s.parts, response);
            s
        }

        fn header(&self, alg: &str) -> Vec<u8> {
            let x5c = [
                STANDARD.encode(&self.minted.leaf_der),
                STANDARD.encode(&self.minted.ca_der),
            ];
            serde_json::to_vec(&json!({ "alg": alg, "x5c": x5c })).unwrap()
        }

        fn jws(&self, header: &[u8], payload: &[u8]) -> String {
            compact(header, payload, |m| {
                self.leaf_key.sign(&ECDSA_P256_SHA256_FIXED_SIGNING, m)
            })
        }
    }

    // ---- the conformance corpus ----------------------------------------------------------

    #[test]
    fn cts_fail_case_is_refused_by_default() {
        assert_eq!(
            run_case(CTS_FAIL).unwrap_err(),
            Error::Attestation {
                fmt: "android-safetynet",
                source: sn(SafetyNetError::CtsProfileMismatch)
            }
        );
        assert_eq!(
            sn_err(&Parts::from_case(CTS_FAIL)),
            sn(SafetyNetError::CtsProfileMismatch)
        );
    }

    #[test]
    fn cts_fail_case_passes_when_only_basic_integrity_is_required() {
        // WR4 -> GTS Root R1 -> bundled GlobalSign Root CA.
        let parts = real_basic();
        let outcome = verify(&parts.input()).unwrap();
        assert_eq!(outcome.fmt, "android-safetynet");
        assert_eq!(outcome.attestation_type, AttestationType::Basic);
        assert_eq!(outcome.trust, TrustStatus::Trusted);
        assert_eq!(outcome.trust_path.len(), 3);
    }

    /// `swa-android-safetynet-revoked-cert` expects a rejection: its leaf was revoked. Offline
    /// there is no CRL, and every check of this format passes; its path (leaf <- GTS CA 1O1)
    /// ends at GlobalSign Root CA - R2, which expired in 2021 and is not bundled, so the
    /// bundled roots refuse it.
    #[test]
    fn revoked_cert_case_is_refused_by_the_bundled_roots() {
        let mut parts = Parts::from_case(REVOKED);
        parts.trust = TrustStore::with_bundled_roots();
        assert_eq!(sn_err(&parts), AttestationError::UntrustedRoot);
    }

    // ---- one test per check, in order ------------------------------------------------------

    #[test]
    fn ver_missing_empty_or_not_text() {
        let mut parts = Parts::from_case(CTS_FAIL);
        parts.set_stmt("ver", None);
        assert_eq!(sn_err(&parts), sn(SafetyNetError::VerMissing));
        parts.set_stmt("ver", Some(Value::Text(String::new())));
        assert_eq!(sn_err(&parts), sn(SafetyNetError::VerMissing));
        parts.set_stmt("ver", Some(Value::from(252_037_029)));
        assert_eq!(sn_err(&parts), sn(SafetyNetError::VerMissing));
    }

    #[test]
    fn response_missing_or_not_bytes() {
        let mut parts = Parts::from_case(CTS_FAIL);
        parts.set_stmt("response", None);
        assert_eq!(sn_err(&parts), sn(SafetyNetError::ResponseMissing));
        parts.set_stmt(
            "response",
            Some(Value::Text(segments(&Parts::from_case(CTS_FAIL)).join("."))),
        );
        assert_eq!(sn_err(&parts), sn(SafetyNetError::ResponseMissing));
    }

    #[test]
    fn response_that_is_not_a_compact_jws() {
        let mut parts = Parts::from_case(CTS_FAIL);
        let seg = segments(&parts);
        for bad in [
            vec![0xff, b'.', b'a', b'.', b'b'],
            format!("{}.{}", seg[0], seg[1]).into_bytes(),
            format!("{}.{}.{}.{}", seg[0], seg[1], seg[2], seg[2]).into_bytes(),
            format!("{}.{}.", seg[0], seg[1]).into_bytes(),
            format!("!!.{}.{}", seg[1], seg[2]).into_bytes(),
            b"".to_vec(),
        ] {
            set_response(&mut parts, bad.clone());
            assert!(
                matches!(
                    sn_err(&parts),
                    AttestationError::SafetyNet(SafetyNetError::JwsMalformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn header_that_is_not_a_json_object() {
        let mut parts = Parts::from_case(CTS_FAIL);
        let seg = segments(&parts);
        for header in ["[1]", "{\"alg\":"] {
            set_response(
                &mut parts,
                format!("{}.{}.{}", b64::encode(header), seg[1], seg[2]),
            );
            assert!(matches!(
                sn_err(&parts),
                AttestationError::SafetyNet(SafetyNetError::HeaderMalformed(_))
            ));
        }
    }

    fn with_header(parts: &mut Parts, header: serde_json::Value) {
        let seg = segments(parts);
        let header = serde_json::to_vec(&header).unwrap();
        set_response(
            parts,
            format!("{}.{}.{}", b64::encode(header), seg[1], seg[2]),
        );
    }

    fn real_x5c() -> serde_json::Value {
        let parts = Parts::from_case(CTS_FAIL);
        let header = b64::decode(&segments(&parts)[0]).unwrap();
        serde_json::from_slice::<serde_json::Value>(&header).unwrap()["x5c"].clone()
    }

    #[test]
    fn header_alg_other_than_rs256_or_es256() {
        let mut parts = Parts::from_case(CTS_FAIL);
        with_header(&mut parts, json!({ "alg": "HS256", "x5c": real_x5c() }));
        assert_eq!(
            sn_err(&parts),
            sn(SafetyNetError::HeaderAlgUnsupported("HS256".into()))
        );
        with_header(&mut parts, json!({ "alg": "none", "x5c": real_x5c() }));
        assert_eq!(
            sn_err(&parts),
            sn(SafetyNetError::HeaderAlgUnsupported("none".into()))
        );
        with_header(&mut parts, json!({ "x5c": real_x5c() }));
        assert_eq!(
            sn_err(&parts),
            sn(SafetyNetError::HeaderAlgUnsupported(String::new()))
        );
    }

    #[test]
    fn header_x5c_missing_empty_or_not_base64() {
        let mut parts = Parts::from_case(CTS_FAIL);
        for x5c in [
            None,
            Some(json!([])),
            Some(json!("MIIB")),
            Some(json!([1])),
            Some(json!(["!!"])),
        ] {
            let header = match &x5c {
                Some(x5c) => json!({ "alg": "RS256", "x5c": x5c }),
                None => json!({ "alg": "RS256" }),
            };
            with_header(&mut parts, header);
            assert_eq!(
                sn_err(&parts),
                sn(SafetyNetError::HeaderX5cMissing),
                "{x5c:?}"
            );
        }
    }

    #[test]
    fn header_x5c_item_that_is_not_a_certificate() {
        let mut parts = Parts::from_case(CTS_FAIL);
        with_header(&mut parts, json!({ "alg": "RS256", "x5c": ["MAMBAgM="] }));
        assert!(matches!(
            sn_err(&parts),
            AttestationError::CertificateMalformed(_)
        ));
    }

    #[test]
    fn header_alg_that_does_not_fit_the_leaf_key() {
        // RSA leaf, ES256 header.
        let mut parts = Parts::from_case(CTS_FAIL);
        with_header(&mut parts, json!({ "alg": "ES256", "x5c": real_x5c() }));
        assert_eq!(sn_err(&parts), sn(SafetyNetError::KeyAlgMismatch("ES256")));
        // P-256 leaf, RS256 header.
        let mut s = Synthetic::new(HOSTNAME, |_| {});
        let response = s.jws(&s.header("RS256"), b"{}");
        set_response(&mut s.parts, response);
        assert_eq!(
            sn_err(&s.parts),
            sn(SafetyNetError::KeyAlgMismatch("RS256"))
        );
    }

    #[test]
    fn signature_that_does_not_verify() {
        // RS256: the payload was changed after signing.
        let mut parts = real_basic();
        let seg = segments(&parts);
        let mut payload: serde_json::Value =
            serde_json::from_slice(&b64::decode(&seg[1]).unwrap()).unwrap();
        payload["ctsProfileMatch"] = json!(true);
        let payload = b64::encode(serde_json::to_vec(&payload).unwrap());
        set_response(&mut parts, format!("{}.{payload}.{}", seg[0], seg[2]));
        assert_eq!(sn_err(&parts), sn(SafetyNetError::SignatureInvalid));
        // ES256: another key signed it; and a DER (not r || s) signature is refused.
        let mut s = Synthetic::new(HOSTNAME, |_| {});
        let other = P256::generate();
        let header = s.header("ES256");
        let forged = compact(&header, b"{}", |m| {
            other.sign(&ECDSA_P256_SHA256_FIXED_SIGNING, m)
        });
        set_response(&mut s.parts, forged);
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::SignatureInvalid));
        let der = compact(&header, b"{}", |m| {
            s.leaf_key
                .sign(&aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING, m)
        });
        set_response(&mut s.parts, der);
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::SignatureInvalid));
    }

    #[test]
    fn payload_that_is_not_a_json_object() {
        let mut s = Synthetic::new(HOSTNAME, |_| {});
        for payload in [&b"\"nonce\""[..], b"{nonce", b"\xff"] {
            let response = s.jws(&s.header("ES256"), payload);
            set_response(&mut s.parts, response);
            assert!(matches!(
                sn_err(&s.parts),
                AttestationError::SafetyNet(SafetyNetError::PayloadMalformed(_))
            ));
        }
    }

    #[test]
    fn nonce_that_does_not_bind_the_authenticator_and_client_data() {
        let mut parts = Parts::from_case(CTS_FAIL);
        parts.client_data_hash[31] ^= 1;
        assert_eq!(sn_err(&parts), sn(SafetyNetError::NonceMismatch));
        let s = Synthetic::new(HOSTNAME, |p| {
            p.as_object_mut().unwrap().remove("nonce");
        });
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::NonceMismatch));
        let s = Synthetic::new(HOSTNAME, |p| p["nonce"] = json!(42));
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::NonceMismatch));
    }

    #[test]
    fn leaf_not_issued_to_attest_android_com() {
        let s = Synthetic::new("attest.android.com.evil.example", |_| {});
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::HostnameMismatch));
        let s = Synthetic::new("android.com", |_| {});
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::HostnameMismatch));
    }

    #[test]
    fn cts_profile_match_not_true_when_required() {
        let s = Synthetic::new(HOSTNAME, |p| p["ctsProfileMatch"] = json!(false));
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::CtsProfileMismatch));
        let s = Synthetic::new(HOSTNAME, |p| p["ctsProfileMatch"] = json!("true"));
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::CtsProfileMismatch));
    }

    #[test]
    fn basic_integrity_not_true_when_only_it_is_required() {
        let mut s = Synthetic::new(HOSTNAME, |p| p["basicIntegrity"] = json!(false));
        s.parts.policy.safetynet_require_cts = false;
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::BasicIntegrityFailed));
        let mut s = Synthetic::new(HOSTNAME, |p| {
            p.as_object_mut().unwrap().remove("basicIntegrity");
        });
        s.parts.policy.safetynet_require_cts = false;
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::BasicIntegrityFailed));
    }

    #[test]
    fn timestamp_missing_or_not_an_integer() {
        let s = Synthetic::new(HOSTNAME, |p| {
            p.as_object_mut().unwrap().remove("timestampMs");
        });
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::TimestampMissing));
        let s = Synthetic::new(HOSTNAME, |p| p["timestampMs"] = json!("1700000000000"));
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::TimestampMissing));
    }

    #[test]
    fn timestamp_outside_the_window() {
        // The real JWS was made at 1749501642989 ms; verifyAt is 1749501643 s.
        let timestamp_ms = 1_749_501_642_989;
        let mut parts = real_basic();
        assert!(verify(&parts.input()).is_ok());
        parts.now = UnixTime(1_749_501_643 + 60);
        assert_eq!(
            sn_err(&parts),
            sn(SafetyNetError::TimestampOutOfWindow {
                timestamp_ms,
                now_ms: 1_749_501_703_000
            })
        );
        // Issued in the future beyond the window.
        parts.now = UnixTime(1_749_501_642 - 60);
        assert_eq!(
            sn_err(&parts),
            sn(SafetyNetError::TimestampOutOfWindow {
                timestamp_ms,
                now_ms: 1_749_501_582_000
            })
        );
        // A wider window accepts both.
        parts.policy.safetynet_max_age_ms = 120_000;
        assert!(verify(&parts.input()).is_ok());
        parts.now = UnixTime(1_749_501_643 + 100);
        assert!(verify(&parts.input()).is_ok());
    }

    /// The window is inclusive: a skew of exactly the maximum age passes, one more millisecond
    /// does not.
    #[test]
    fn timestamp_at_the_edge_of_the_window() {
        let mut s = Synthetic::new(HOSTNAME, |_| {}); // issued 1500 ms before now
        s.parts.policy.safetynet_max_age_ms = 1500;
        assert!(verify(&s.parts.input()).is_ok());
        s.parts.policy.safetynet_max_age_ms = 1499;
        assert_eq!(
            sn_err(&s.parts),
            sn(SafetyNetError::TimestampOutOfWindow {
                timestamp_ms: NOW * 1000 - 1500,
                now_ms: NOW * 1000
            })
        );
    }

    #[test]
    fn chain_must_end_at_an_anchor_when_one_is_configured() {
        let mut parts = real_basic();
        let s = Synthetic::new(HOSTNAME, |_| {});
        parts.trust = TrustStore::empty();
        assert_eq!(
            verify(&parts.input()).unwrap().trust,
            TrustStatus::Unverified
        );
        parts
            .trust
            .add_root_for_format("android-safetynet", s.minted.ca_der.clone());
        assert_eq!(sn_err(&parts), AttestationError::UntrustedRoot);
    }

    #[test]
    fn chain_is_checked_at_the_injected_time() {
        // After the leaf expired (2025-07-28), with a window wide enough for the timestamp.
        let mut parts = real_basic();
        parts.now = UnixTime(1_754_000_000);
        parts.policy.safetynet_max_age_ms = i64::MAX;
        assert_eq!(
            sn_err(&parts),
            AttestationError::CertificateNotValidAtTime { index: 0 }
        );
    }

    #[test]
    fn synthetic_statement_passes_and_anchors_at_its_ca() {
        let mut s = Synthetic::new(HOSTNAME, |_| {});
        let outcome = verify(&s.parts.input()).unwrap();
        assert_eq!(outcome.trust, TrustStatus::Unverified);
        assert_eq!(
            outcome.trust_path,
            vec![s.minted.leaf_der.clone(), s.minted.ca_der.clone()]
        );
        s.parts
            .trust
            .add_root_for_format("android-safetynet", s.minted.ca_der.clone());
        assert_eq!(
            verify(&s.parts.input()).unwrap().trust,
            TrustStatus::Trusted
        );
    }

    #[test]
    fn padded_segments_and_url_safe_nonce_are_accepted() {
        let mut s = Synthetic::new(HOSTNAME, |_| {});
        let nonce = b64::encode(digest::digest(&digest::SHA256, &s.parts.signed_data()));
        let payload = serde_json::to_vec(&json!({
            "nonce": nonce, "timestampMs": NOW * 1000, "ctsProfileMatch": true, "basicIntegrity": true,
        }))
        .unwrap();
        let pad = |seg: &str| format!("{seg}{}", "=".repeat((4 - seg.len() % 4) % 4));
        let jws = s.jws(&s.header("ES256"), &payload);
        let padded: Vec<String> = jws.split('.').map(pad).collect();
        set_response(&mut s.parts, padded.join("."));
        // Padding is not part of the signing input as the signer saw it, so this must fail...
        assert_eq!(sn_err(&s.parts), sn(SafetyNetError::SignatureInvalid));
        // ...unless only the signature segment is padded.
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        parts[2] = pad(&parts[2]);
        set_response(&mut s.parts, parts.join("."));
        assert!(verify(&s.parts.input()).is_ok());
    }

    #[test]
    fn codes_are_distinct() {
        use SafetyNetError as E;
        let all = [
            E::VerMissing,
            E::ResponseMissing,
            E::JwsMalformed(""),
            E::HeaderMalformed(String::new()),
            E::HeaderAlgUnsupported(String::new()),
            E::HeaderX5cMissing,
            E::KeyAlgMismatch(""),
            E::SignatureInvalid,
            E::PayloadMalformed(String::new()),
            E::NonceMismatch,
            E::HostnameMismatch,
            E::CtsProfileMismatch,
            E::BasicIntegrityFailed,
            E::TimestampMissing,
            E::TimestampOutOfWindow {
                timestamp_ms: 0,
                now_ms: 0,
            },
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(E::code).collect();
        assert_eq!(codes.len(), all.len());
    }
}
