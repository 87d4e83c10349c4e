//! `apple` anonymous attestation (§8.8).

use aws_lc_rs::digest;
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::parse_der;

use super::{
    check_path, stmt_x5c, AttestationError, AttestationInput, AttestationOutcome, AttestationType,
};
use crate::cert;

const NONCE_EXTENSION: &str = "1.2.840.113635.100.8.2";

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    let x5c = stmt_x5c(input.att_stmt)?
        .ok_or_else(|| AttestationError::StatementMalformed("x5c is missing".into()))?;
    let chain = cert::parse_all(&x5c)?;
    let cred_cert = chain
        .first()
        .ok_or_else(|| AttestationError::StatementMalformed("x5c is empty".into()))?;
    // nonce = SHA-256(authenticatorData || clientDataHash) must be the extension's value.
    let expected = digest::digest(&digest::SHA256, &input.signed_data());
    let (_, ext) =
        cert::extension(cred_cert, NONCE_EXTENSION).ok_or(AttestationError::AppleNonceMissing)?;
    let nonce = nonce_of(ext).ok_or(AttestationError::AppleNonceMissing)?;
    if nonce != expected.as_ref() {
        return Err(AttestationError::AppleNonceMismatch);
    }
    // The credential public key must be the certificate's subject key.
    let cert_key = cert::spki_key(cred_cert.public_key())?;
    if cert_key != input.credential.public_key.key {
        return Err(AttestationError::CredentialKeyMismatch);
    }
    let trust = check_path(input, "apple", &chain)?;
    Ok(AttestationOutcome {
        fmt: "apple",
        attestation_type: AttestationType::AnonCa,
        trust_path: x5c,
        trust,
        sub: Vec::new(),
    })
}

/// `SEQUENCE { [1] EXPLICIT OCTET STRING nonce }` → nonce.
fn nonce_of(ext: &[u8]) -> Option<Vec<u8>> {
    let (_, seq) = parse_der(ext).ok()?;
    let BerObjectContent::Sequence(items) = seq.content else {
        return None;
    };
    let tagged = items.first()?;
    let BerObjectContent::Tagged(_, _, inner) = &tagged.content else {
        // Some encoders leave the explicit tag unparsed: read its raw contents.
        let raw = tagged.as_slice().ok()?;
        let (_, octets) = parse_der(raw).ok()?;
        return octets.as_slice().ok().map(<[u8]>::to_vec);
    };
    inner.as_slice().ok().map(<[u8]>::to_vec)
}
