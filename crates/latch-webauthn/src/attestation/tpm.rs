//! `tpm` attestation (§8). Placeholder until the format lands: every statement is refused.

use thiserror::Error;

use super::{AttestationError, AttestationInput, AttestationOutcome};

/// A failed tpm check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TpmError {
    #[error("format not implemented yet")]
    NotImplemented,
}

impl TpmError {
    pub fn code(&self) -> &'static str {
        match self {
            TpmError::NotImplemented => "attestation_format_not_implemented",
        }
    }
}

pub fn verify(_input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    Err(TpmError::NotImplemented.into())
}
