//! `compound` attestation (§8.9): an array of at least two statements, each verified alone.

use ciborium::value::Value;

use super::{
    format_name, verify_format, AttestationError, AttestationInput, AttestationOutcome,
    AttestationType, TrustStatus,
};

pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    let Value::Array(items) = input.att_stmt else {
        return Err(AttestationError::StatementMalformed(
            "compound attStmt is not an array".into(),
        ));
    };
    if items.len() < 2 {
        return Err(AttestationError::CompoundCount(items.len()));
    }
    let mut sub = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let fmt = super::stmt_get(item, "fmt")?
            .and_then(Value::as_text)
            .ok_or_else(|| {
                AttestationError::StatementMalformed(format!("sub-statement {index} has no fmt"))
            })?;
        let stmt = super::stmt_get(item, "attStmt")?.ok_or_else(|| {
            AttestationError::StatementMalformed(format!("sub-statement {index} has no attStmt"))
        })?;
        if fmt == "compound" {
            return Err(AttestationError::CompoundNested(index));
        }
        let sub_input = AttestationInput {
            att_stmt: stmt,
            ..*input
        };
        let outcome = match (format_name(fmt), verify_format(fmt, &sub_input)) {
            (Some(_), Some(r)) => r,
            _ => Err(AttestationError::StatementMalformed(format!(
                "unknown sub-statement format {fmt:?}"
            ))),
        }
        .map_err(|e| AttestationError::CompoundSubStatement {
            index,
            fmt: fmt.to_owned(),
            source: Box::new(e),
        })?;
        sub.push(outcome);
    }
    let trust = if sub.iter().all(|s| s.trust == TrustStatus::Trusted) {
        TrustStatus::Trusted
    } else if sub.iter().any(|s| s.trust == TrustStatus::Unverified) {
        TrustStatus::Unverified
    } else {
        TrustStatus::NotApplicable
    };
    Ok(AttestationOutcome {
        fmt: "compound",
        attestation_type: AttestationType::Compound,
        trust_path: Vec::new(),
        trust,
        sub,
    })
}
