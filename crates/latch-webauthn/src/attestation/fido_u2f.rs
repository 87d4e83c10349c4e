//! `fido-u2f` attestation (§8.6).

use super::{
    check_path, stmt_bytes, stmt_x5c, AttestationError, AttestationInput, AttestationOutcome,
    AttestationType,
};
use crate::cert;
use crate::cose::{self, Curve, KeyMaterial};

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    let sig = stmt_bytes(input.att_stmt, "sig")?;
    let x5c = stmt_x5c(input.att_stmt)?
        .ok_or_else(|| AttestationError::StatementMalformed("x5c is missing".into()))?;
    if x5c.len() != 1 {
        return Err(AttestationError::U2fCertificateCount(x5c.len()));
    }
    let chain = cert::parse_all(&x5c)?;
    let Some(att_cert) = chain.first() else {
        return Err(AttestationError::U2fCertificateCount(0));
    };
    let cert_key = cert::spki_key(att_cert.public_key())?;
    if !matches!(
        cert_key,
        KeyMaterial::Ec {
            curve: Curve::P256,
            ..
        }
    ) {
        return Err(AttestationError::U2fCertificateNotP256);
    }
    // publicKeyU2F is the raw uncompressed P-256 point of the credential.
    let cred = &input.credential.public_key;
    let KeyMaterial::Ec {
        curve: Curve::P256,
        point,
    } = &cred.key
    else {
        return Err(AttestationError::U2fKeyNotP256);
    };
    if cred.alg != cose::alg::ES256 {
        return Err(AttestationError::U2fKeyNotP256);
    }
    let mut data = Vec::with_capacity(1 + 32 + 32 + input.credential.credential_id.len() + 65);
    data.push(0x00);
    data.extend_from_slice(&input.auth_data.rp_id_hash);
    data.extend_from_slice(input.client_data_hash);
    data.extend_from_slice(&input.credential.credential_id);
    data.extend_from_slice(point);
    cose::verify_with(&cert_key, cose::alg::ES256, &data, sig, false)
        .map_err(|_| AttestationError::SignatureInvalid)?;
    let trust = check_path(input, "fido-u2f", &chain)?;
    Ok(AttestationOutcome {
        fmt: "fido-u2f",
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        trust,
        sub: Vec::new(),
    })
}
