//! The relying party's configuration: who it is, which origins speak for it, and its policy.

use std::collections::HashSet;
use std::sync::Arc;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::attestation::{AttestationType, FormatPolicy, TrustStore};
use crate::mds::Metadata;
use crate::origin::OriginPolicy;

/// `UserVerificationRequirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    Required,
    #[default]
    Preferred,
    Discouraged,
}

impl UserVerification {
    pub fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }

    /// Parses the WebAuthn string; unknown values are treated as "preferred", as clients do.
    pub fn parse(text: &str) -> UserVerification {
        match text {
            "required" => UserVerification::Required,
            "discouraged" => UserVerification::Discouraged,
            _ => UserVerification::Preferred,
        }
    }
}

/// What to do when a credential's backup eligibility (BE) differs from what was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupEligibilityChange {
    /// Any change is an error (the spec's reading: BE is fixed at creation).
    Reject,
    /// A change from not-eligible to eligible is accepted (passkey providers that start
    /// syncing later); the reverse is an error.
    #[default]
    AllowUpgrade,
}

/// Attestation policy beyond the formats' own checks.
#[derive(Debug, Clone)]
pub struct AttestationPolicy {
    pub trust: TrustStore,
    pub formats: FormatPolicy,
    /// Refuse attestations whose path is not anchored (implies refusing none and self).
    pub require_trusted: bool,
    /// When set, only these attestation types are accepted.
    pub accepted_types: Option<HashSet<AttestationType>>,
    /// When set, only these AAGUIDs may register.
    pub aaguid_allow: Option<HashSet<[u8; 16]>>,
    /// These AAGUIDs may never register.
    pub aaguid_deny: HashSet<[u8; 16]>,
    /// FIDO metadata: names, roots per AAGUID, status reports.
    pub metadata: Option<Arc<Metadata>>,
    /// Only authenticators that metadata lists as FIDO certified (Apple's rule).
    pub require_certified: bool,
}

impl Default for AttestationPolicy {
    fn default() -> Self {
        AttestationPolicy {
            trust: TrustStore::with_bundled_roots(),
            formats: FormatPolicy::default(),
            require_trusted: false,
            accepted_types: None,
            aaguid_allow: None,
            aaguid_deny: HashSet::new(),
            metadata: None,
            require_certified: false,
        }
    }
}

/// A relying party: its RP ID, accepted origins and policy.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    pub rp_id: String,
    pub rp_id_hash: [u8; 32],
    pub name: String,
    pub origins: OriginPolicy,
    /// Accept clientData.crossOrigin = true (the RP is embedded in others' iframes).
    pub allow_cross_origin: bool,
    /// Top-level origins the RP may be embedded in; empty accepts any when cross-origin is allowed.
    pub top_origins: Vec<String>,
    pub backup_eligibility_change: BackupEligibilityChange,
    /// Accept backup-eligible (synced) credentials at all.
    pub allow_backup_eligible: bool,
    /// Refuse a signature counter that does not increase (both zero is fine).
    pub reject_counter_regression: bool,
    pub attestation: AttestationPolicy,
}

/// SHA-256 of an RP ID (or an AppID).
pub fn rp_id_hash(rp_id: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, rp_id.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl RelyingParty {
    /// A relying party with the default policy and exactly these origins.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(rp_id: &str, origins: I) -> Self {
        RelyingParty {
            rp_id: rp_id.to_owned(),
            rp_id_hash: rp_id_hash(rp_id),
            name: rp_id.to_owned(),
            origins: OriginPolicy::exact(origins),
            allow_cross_origin: false,
            top_origins: Vec::new(),
            backup_eligibility_change: BackupEligibilityChange::default(),
            allow_backup_eligible: true,
            reject_counter_regression: true,
            attestation: AttestationPolicy::default(),
        }
    }
}
