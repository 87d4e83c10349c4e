//! `android-safetynet` attestation (§8). Placeholder until the format lands: every statement is refused.

use thiserror::Error;

use super::{AttestationError, AttestationInput, AttestationOutcome};

/// A failed android-safetynet check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SafetyNetError {
    #[error("format not implemented yet")]
    NotImplemented,
}

impl SafetyNetError {
    pub fn code(&self) -> &'static str {
        match self {
            SafetyNetError::NotImplemented => "attestation_format_not_implemented",
        }
    }
}

pub fn verify(_input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    Err(SafetyNetError::NotImplemented.into())
}
