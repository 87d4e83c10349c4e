//! FIDO Metadata Service (MDS3). The BLOB loader lands separately; this is the lookup surface
//! the verifier uses.

use std::collections::HashMap;

use crate::UnixTime;

/// One authenticator's metadata entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataEntry {
    pub aaguid: [u8; 16],
    pub description: String,
    pub icon: Option<String>,
    /// Status reports, oldest first: (status, effectiveDate as Unix seconds if given).
    pub status_reports: Vec<(String, Option<i64>)>,
    pub attestation_root_certificates: Vec<Vec<u8>>,
}

impl MetadataEntry {
    /// Status reports in effect at `now`.
    fn effective(&self, now: UnixTime) -> impl Iterator<Item = &str> {
        self.status_reports
            .iter()
            .filter(move |(_, at)| at.is_none_or(|t| t <= now.0))
            .map(|(s, _)| s.as_str())
    }

    /// A status that means the authenticator must not be trusted (revoked or compromised).
    pub fn compromised_status(&self, now: UnixTime) -> Option<String> {
        self.effective(now)
            .find(|s| {
                matches!(
                    *s,
                    "REVOKED"
                        | "USER_VERIFICATION_BYPASS"
                        | "ATTESTATION_KEY_COMPROMISE"
                        | "USER_KEY_REMOTE_COMPROMISE"
                        | "USER_KEY_PHYSICAL_COMPROMISE"
                )
            })
            .map(str::to_owned)
    }

    /// Whether the latest certification status in effect is a FIDO certification.
    pub fn is_certified(&self, now: UnixTime) -> bool {
        let latest = self.effective(now).filter(|s| s.contains("CERTIFIED")).last();
        latest.is_some_and(|s| s.starts_with("FIDO_CERTIFIED"))
    }
}

/// A verified metadata BLOB's entries, by AAGUID.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub entries: HashMap<[u8; 16], MetadataEntry>,
}

impl Metadata {
    pub fn entry(&self, aaguid: &[u8; 16]) -> Option<&MetadataEntry> {
        self.entries.get(aaguid)
    }
}
