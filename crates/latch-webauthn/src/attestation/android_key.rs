//! `android-key` attestation (§8). Placeholder until the format lands: every statement is refused.

use thiserror::Error;

use super::{AttestationError, AttestationInput, AttestationOutcome};

/// A failed android-key check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AndroidKeyError {
    #[error("format not implemented yet")]
    NotImplemented,
}

impl AndroidKeyError {
    pub fn code(&self) -> &'static str {
        match self {
            AndroidKeyError::NotImplemented => "attestation_format_not_implemented",
        }
    }
}

pub fn verify(_input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    Err(AndroidKeyError::NotImplemented.into())
}
