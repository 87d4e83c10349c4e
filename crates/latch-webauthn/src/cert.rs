//! X.509 for attestation: parsing (x509-parser), the subject key as `KeyMaterial`, certificate
//! signatures on aws-lc-rs, and path validation at an injected time against chosen anchors.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::FromDer;
use x509_parser::der_parser::oid::Oid;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::attestation::AttestationError;
use crate::cose::{Curve, KeyMaterial};
use crate::time::UnixTime;

/// Parses one DER certificate that must fill `der` exactly.
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, AttestationError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(AttestationError::CertificateMalformed(format!(
            "{} bytes after the certificate",
            rest.len()
        ))),
        Err(e) => Err(AttestationError::CertificateMalformed(e.to_string())),
    }
}

fn oid_str(oid: &Oid<'_>) -> String {
    oid.to_id_string()
}

/// The certificate's subject public key as key material.
pub fn spki_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<KeyMaterial, AttestationError> {
    let alg = oid_str(&spki.algorithm.algorithm);
    let unsupported = || AttestationError::CertificateKeyUnsupported(alg.clone());
    match alg.as_str() {
        // id-ecPublicKey: the curve is in the parameters.
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| oid_str(&o))
                .unwrap_or_default();
            let curve = match curve_oid.as_str() {
                "1.2.840.10045.3.1.7" => Curve::P256,
                "1.3.132.0.34" => Curve::P384,
                "1.3.132.0.35" => Curve::P521,
                _ => return Err(AttestationError::CertificateKeyUnsupported(curve_oid)),
            };
            Ok(KeyMaterial::Ec {
                curve,
                point: spki.subject_public_key.data.to_vec(),
            })
        }
        "1.2.840.113549.1.1.1" => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => Ok(KeyMaterial::Rsa {
                n: strip_zeros(rsa.modulus),
                e: strip_zeros(rsa.exponent),
            }),
            _ => Err(unsupported()),
        },
        "1.3.101.112" => Ok(KeyMaterial::Ed25519(spki.subject_public_key.data.to_vec())),
        "2.16.840.1.101.3.4.3.17" | "2.16.840.1.101.3.4.3.18" | "2.16.840.1.101.3.4.3.19" => {
            Ok(KeyMaterial::MlDsa(spki.subject_public_key.data.to_vec()))
        }
        _ => Err(unsupported()),
    }
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

/// Does `issuer`'s key sign `cert`?
pub fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let Ok(key) = spki_key(issuer.public_key()) else {
        return false;
    };
    let sig_alg = oid_str(&cert.signature_algorithm.algorithm);
    let tbs = cert.tbs_certificate.as_ref();
    let sig = cert.signature_value.data.as_ref();
    match &key {
        KeyMaterial::Ec { curve, point } => {
            let algorithm: &dyn VerificationAlgorithm = match (curve, sig_alg.as_str()) {
                (Curve::P256, "1.2.840.10045.4.3.2") => &signature::ECDSA_P256_SHA256_ASN1,
                (Curve::P256, "1.2.840.10045.4.3.3") => &signature::ECDSA_P256_SHA384_ASN1,
                (Curve::P256, "1.2.840.10045.4.3.4") => &signature::ECDSA_P256_SHA512_ASN1,
                (Curve::P256, "1.2.840.10045.4.1") => &signature::ECDSA_P256_SHA1_ASN1,
                (Curve::P384, "1.2.840.10045.4.3.2") => &signature::ECDSA_P384_SHA256_ASN1,
                (Curve::P384, "1.2.840.10045.4.3.3") => &signature::ECDSA_P384_SHA384_ASN1,
                (Curve::P384, "1.2.840.10045.4.3.4") => &signature::ECDSA_P384_SHA512_ASN1,
                (Curve::P521, "1.2.840.10045.4.3.2") => &signature::ECDSA_P521_SHA256_ASN1,
                (Curve::P521, "1.2.840.10045.4.3.3") => &signature::ECDSA_P521_SHA384_ASN1,
                (Curve::P521, "1.2.840.10045.4.3.4") => &signature::ECDSA_P521_SHA512_ASN1,
                _ => return false,
            };
            algorithm.verify_sig(point, tbs, sig).is_ok()
        }
        KeyMaterial::Rsa { n, e } => {
            let params = match sig_alg.as_str() {
                "1.2.840.113549.1.1.11" => {
                    &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                }
                "1.2.840.113549.1.1.12" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "1.2.840.113549.1.1.13" => {
                    &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
                }
                "1.2.840.113549.1.1.5" => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                _ => return false,
            };
            RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(params, tbs, sig)
            .is_ok()
        }
        KeyMaterial::Ed25519(x) => {
            sig_alg == "1.3.101.112" && signature::ED25519.verify_sig(x, tbs, sig).is_ok()
        }
        KeyMaterial::MlDsa(_) => false,
    }
}

fn valid_at(cert: &X509Certificate<'_>, now: UnixTime) -> bool {
    let v = cert.validity();
    v.not_before.timestamp() <= now.0 && now.0 <= v.not_after.timestamp()
}

/// What a validated path ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainTrust {
    /// The path ends at (or in) one of the given anchors.
    Anchored,
    /// No anchors were configured for this authenticator: the path is only internally consistent.
    NoAnchorConfigured,
}

/// Validates `chain` (leaf first, as in x5c) at `now`: every certificate in its validity
/// window, each signed by the next, issuers allowed to sign, and, when `anchors` is not
/// empty, the last certificate is an anchor or is signed by one.
pub fn verify_chain(
    chain: &[X509Certificate<'_>],
    anchors: &[&[u8]],
    now: UnixTime,
) -> Result<ChainTrust, AttestationError> {
    for (index, cert) in chain.iter().enumerate() {
        if !valid_at(cert, now) {
            return Err(AttestationError::CertificateNotValidAtTime { index });
        }
    }
    for (index, pair) in chain.windows(2).enumerate() {
        let [cert, issuer] = pair else { continue };
        // RFC 5280 §4.2.1.9: an issuer must say it is a CA; only a v1 root that is itself a
        // configured anchor may sign without the extension.
        let is_ca = matches!(issuer.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        let v1_anchor = issuer.version().0 == 0 && anchors.iter().any(|a| *a == issuer.as_raw());
        if !is_ca && !v1_anchor {
            return Err(AttestationError::IssuerNotCa { index: index + 1 });
        }
        if !signed_by(cert, issuer) {
            return Err(AttestationError::ChainBroken { index });
        }
    }
    if anchors.is_empty() {
        return Ok(ChainTrust::NoAnchorConfigured);
    }
    let Some(last) = chain.last() else {
        return Err(AttestationError::UntrustedRoot);
    };
    if anchors.iter().any(|a| *a == last.as_raw()) {
        return Ok(ChainTrust::Anchored);
    }
    for anchor_der in anchors {
        let Ok(anchor) = parse(anchor_der) else {
            continue;
        };
        if anchor.subject().as_raw() == last.issuer().as_raw()
            && valid_at(&anchor, now)
            && signed_by(last, &anchor)
        {
            return Ok(ChainTrust::Anchored);
        }
    }
    Err(AttestationError::UntrustedRoot)
}

/// Parses every DER certificate of an x5c array.
pub fn parse_all(ders: &[Vec<u8>]) -> Result<Vec<X509Certificate<'_>>, AttestationError> {
    ders.iter().map(|d| parse(d)).collect()
}

/// The value of the first subject attribute with `oid` (dotted form), as a string.
pub fn subject_attr(cert: &X509Certificate<'_>, oid: &str) -> Option<String> {
    cert.subject()
        .iter_attributes()
        .find(|a| oid_str(a.attr_type()) == oid)
        .and_then(|a| a.as_str().ok().map(str::to_owned))
}

/// The extension with `oid` (dotted form): (critical, raw value).
pub fn extension<'a>(cert: &'a X509Certificate<'_>, oid: &str) -> Option<(bool, &'a [u8])> {
    cert.extensions()
        .iter()
        .find(|e| oid_str(&e.oid) == oid)
        .map(|e| (e.critical, e.value))
}
