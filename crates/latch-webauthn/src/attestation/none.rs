//! `none` attestation (§8.7): the statement must be empty.

use super::{stmt_map, AttestationError, AttestationInput, AttestationOutcome, AttestationType};

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    if !stmt_map(input.att_stmt)?.is_empty() {
        return Err(AttestationError::NoneStatementNotEmpty);
    }
    Ok(AttestationOutcome::without_path(
        "none",
        AttestationType::None,
    ))
}
