//! `packed` attestation (§8.2): full (x5c) or self attestation.

use x509_parser::certificate::X509Certificate;

use super::{
    check_path, stmt_bytes, stmt_int, stmt_x5c, AttestationError, AttestationInput,
    AttestationOutcome, AttestationType,
};
use crate::cert;
use crate::cose;

/// id-fido-gen-ce-aaguid
pub(crate) const AAGUID_EXTENSION: &str = "1.3.6.1.4.1.45724.1.1.4";

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    let alg = stmt_int(input.att_stmt, "alg")?;
    let sig = stmt_bytes(input.att_stmt, "sig")?;
    let signed = input.signed_data();
    match stmt_x5c(input.att_stmt)? {
        Some(x5c) => {
            // Full attestation: the leaf's key signs authenticatorData || clientDataHash with alg.
            let chain = cert::parse_all(&x5c)?;
            let leaf = chain
                .first()
                .ok_or(AttestationError::StatementMalformed("x5c is empty".into()))?;
            let key = cert::spki_key(leaf.public_key())?;
            cose::verify_with(&key, alg, &signed, sig, input.policy.allow_sha1)
                .map_err(|e| signature_error(e, alg))?;
            check_certificate_requirements(leaf)?;
            check_aaguid_extension(leaf, &input.credential.aaguid)?;
            let trust = check_path(input, "packed", &chain)?;
            Ok(AttestationOutcome {
                fmt: "packed",
                attestation_type: AttestationType::Basic,
                trust_path: x5c,
                trust,
                sub: Vec::new(),
            })
        }
        None => {
            // Self attestation: alg must be the credential's, and the credential key signs.
            let key = &input.credential.public_key;
            if alg != key.alg {
                return Err(AttestationError::AlgMismatch {
                    stmt: alg,
                    key: key.alg,
                });
            }
            key.verify(&signed, sig, input.policy.allow_sha1)
                .map_err(|e| signature_error(e, alg))?;
            Ok(AttestationOutcome::without_path(
                "packed",
                AttestationType::SelfAttestation,
            ))
        }
    }
}

/// Maps a crypto-layer error to the attestation error a statement signature failure is.
pub(crate) fn signature_error(e: crate::Error, alg: i64) -> AttestationError {
    match e {
        crate::Error::BadSignature => AttestationError::SignatureInvalid,
        _ => AttestationError::UnsupportedAlgorithm(alg),
    }
}

/// §8.2.1: version 3; subject C, O, OU = "Authenticator Attestation", CN; not a CA.
fn check_certificate_requirements(leaf: &X509Certificate<'_>) -> Result<(), AttestationError> {
    if leaf.version().0 != 2 {
        return Err(AttestationError::CertificateVersion);
    }
    let country = cert::subject_attr(leaf, "2.5.4.6").unwrap_or_default();
    if country.len() != 2 {
        return Err(AttestationError::CertificateSubject("C (country)"));
    }
    if cert::subject_attr(leaf, "2.5.4.10").is_none_or(|o| o.is_empty()) {
        return Err(AttestationError::CertificateSubject("O (organization)"));
    }
    if cert::subject_attr(leaf, "2.5.4.11").as_deref() != Some("Authenticator Attestation") {
        return Err(AttestationError::CertificateSubject(
            "OU = \"Authenticator Attestation\"",
        ));
    }
    if cert::subject_attr(leaf, "2.5.4.3").is_none_or(|cn| cn.is_empty()) {
        return Err(AttestationError::CertificateSubject("CN (common name)"));
    }
    if let Ok(Some(bc)) = leaf.basic_constraints() {
        if bc.value.ca {
            return Err(AttestationError::CertificateIsCa);
        }
    }
    Ok(())
}

/// If the certificate carries id-fido-gen-ce-aaguid, it must be non-critical and equal the AAGUID.
pub(crate) fn check_aaguid_extension(
    leaf: &X509Certificate<'_>,
    aaguid: &[u8; 16],
) -> Result<(), AttestationError> {
    let Some((critical, value)) = cert::extension(leaf, AAGUID_EXTENSION) else {
        return Ok(());
    };
    if critical {
        return Err(AttestationError::AaguidExtensionCritical);
    }
    // The extension value is an OCTET STRING holding the 16 AAGUID bytes.
    let inner = match value {
        [0x04, 0x10, rest @ ..] => rest,
        other => other,
    };
    if inner != aaguid {
        return Err(AttestationError::AaguidExtensionMismatch);
    }
    Ok(())
}
