//! The relying party's policy: what it asks of authenticators and which ones it accepts.
//!
//! One [`Policy`] holds every rule. It comes from a TOML file at start-up
//! (`latch serve --policy FILE`) and from the admin API (`PUT /api/v1/admin/policy`), and is
//! stored in the database's `settings` table so that every instance enforces the same one.
//! The file and the API use the same keys (those of `GET /api/v1/admin/policy`):
//!
//! ```toml
//! passwordlessUv = "required"      # required | preferred | discouraged
//! secondFactorUv = "discouraged"
//! attestation = "direct"           # none | indirect | direct | enterprise
//! aaguidAllow = ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]   # omit to allow any
//! aaguidDeny = []
//! certifiedOnly = true             # needs FIDO metadata (mds)
//! minSecurityKeys = 2              # Apple's rule
//! maxCredentials = 6               # Apple's rule
//! syncedPasskeys = false
//! mds = "metadata.json"            # file only: an MDS3 BLOB or its payload JSON
//! ```
//!
//! Which value wins: a policy file is applied (stored, and audited as `policy_changed`) when
//! its content has not been applied before. Restarting with the same file keeps whatever an
//! administrator set through the API since; editing the file makes it win again. Without a
//! file, the stored policy (or, if none was ever stored, the defaults) is used.

mod file;
pub mod runtime;

use latch_webauthn::auth_data::parse_aaguid;
use latch_webauthn::UserVerification;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use file::{load_metadata, Startup, StartupError};

/// Attestation conveyance (`AttestationConveyancePreference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conveyance {
    #[default]
    None,
    Indirect,
    Direct,
    Enterprise,
}

impl Conveyance {
    pub fn as_str(self) -> &'static str {
        match self {
            Conveyance::None => "none",
            Conveyance::Indirect => "indirect",
            Conveyance::Direct => "direct",
            Conveyance::Enterprise => "enterprise",
        }
    }
}

/// Upper bound of `maxCredentials`.
pub const MAX_CREDENTIALS_LIMIT: u32 = 100;

/// Every rule, with the defaults a new server runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Policy {
    /// User verification for passkey sign-in and for every registration (any registered
    /// credential can sign in without a password). Default `required`: without a password,
    /// the authenticator's PIN or biometric is the second factor.
    pub passwordless_uv: UserVerification,
    /// User verification when a key is the second factor after a password. Default
    /// `discouraged`: the password was the knowledge factor; the key only has to be present.
    pub second_factor_uv: UserVerification,
    /// Attestation conveyance asked for in creation options. Default `none`. Note that with
    /// `none` some clients replace the AAGUID with zeros, which AAGUID lists then see.
    pub attestation: Conveyance,
    /// When set, only these AAGUIDs may register.
    pub aaguid_allow: Option<Vec<String>>,
    /// These AAGUIDs may never register.
    pub aaguid_deny: Vec<String>,
    /// Only authenticators that FIDO metadata lists as certified may register (needs `mds`).
    pub certified_only: bool,
    /// How many WebAuthn credentials (passkeys or security keys) an account needs before one
    /// counts as a second factor after a password. Default 1: a person who adds a key expects
    /// their password sign-in to ask for it from then on. Apple uses 2, so that losing one
    /// key does not lock anyone out; below the minimum, the account's other second factors
    /// (authenticator app, recovery codes) are offered, and with none the password suffices.
    pub min_security_keys: u32,
    /// The most credentials one account may hold. Default 10 (Apple: 6).
    pub max_credentials: u32,
    /// Whether synced (backup-eligible) passkeys are accepted, at registration and at
    /// sign-in. Default true.
    pub synced_passkeys: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            passwordless_uv: UserVerification::Required,
            second_factor_uv: UserVerification::Discouraged,
            attestation: Conveyance::None,
            aaguid_allow: None,
            aaguid_deny: Vec::new(),
            certified_only: false,
            min_security_keys: 1,
            max_credentials: 10,
            synced_passkeys: true,
        }
    }
}

/// Parses a list of AAGUID texts (`8-4-4-4-12` hex, as metadata writes them).
pub fn parse_aaguids(field: &str, list: &[String]) -> Result<Vec<[u8; 16]>, String> {
    list.iter()
        .map(|text| {
            parse_aaguid(text.trim())
                .ok_or_else(|| format!("{field}: {text:?} is not an AAGUID (8-4-4-4-12 hex)"))
        })
        .collect()
}

impl Policy {
    /// Checks that the rules make sense together; the message says which one does not.
    /// `has_metadata`: whether this server loaded FIDO metadata (needed by `certifiedOnly`).
    pub fn validate(&self, has_metadata: bool) -> Result<(), String> {
        let deny = parse_aaguids("aaguidDeny", &self.aaguid_deny)?;
        if let Some(allow) = &self.aaguid_allow {
            if allow.is_empty() {
                return Err(
                    "aaguidAllow is empty, which would refuse every authenticator; leave it out to allow any"
                        .into(),
                );
            }
            let allow = parse_aaguids("aaguidAllow", allow)?;
            if let Some(both) = allow.iter().find(|a| deny.contains(a)) {
                return Err(format!(
                    "{} is on both aaguidAllow and aaguidDeny",
                    latch_webauthn::auth_data::format_aaguid(both)
                ));
            }
        }
        if !(1..=MAX_CREDENTIALS_LIMIT).contains(&self.max_credentials) {
            return Err(format!(
                "maxCredentials must be between 1 and {MAX_CREDENTIALS_LIMIT}, not {}",
                self.max_credentials
            ));
        }
        if self.min_security_keys < 1 || self.min_security_keys > self.max_credentials {
            return Err(format!(
                "minSecurityKeys must be between 1 and maxCredentials ({}), not {}",
                self.max_credentials, self.min_security_keys
            ));
        }
        if self.certified_only && !has_metadata {
            return Err(
                "certifiedOnly needs FIDO metadata: start latch serve with --mds FILE (or mds in the policy file)"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// What changed from `old` to `self`: `{field: {from, to}}` for each differing field.
    pub fn diff(&self, old: &Policy) -> Map<String, Value> {
        let (Value::Object(new), Value::Object(old)) = (self.to_json(), old.to_json()) else {
            return Map::new();
        };
        new.into_iter()
            .filter_map(|(key, to)| {
                let from = old.get(&key).cloned().unwrap_or(Value::Null);
                (from != to).then(|| (key, json!({ "from": from, "to": to })))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let p = Policy::default();
        assert_eq!(p.validate(false), Ok(()));
        let json = p.to_json();
        assert_eq!(json["passwordlessUv"], "required");
        assert_eq!(json["secondFactorUv"], "discouraged");
        assert_eq!(json["attestation"], "none");
        assert_eq!(json["aaguidAllow"], Value::Null);
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        let empty: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, p);
    }

    #[test]
    fn invalid_rules_say_which() {
        let bad = |p: Policy| p.validate(true).unwrap_err();
        let aaguid = "cb69481e-8ff7-4039-93ec-0a2729a154a8".to_owned();
        assert!(bad(Policy {
            aaguid_deny: vec!["nope".into()],
            ..Policy::default()
        })
        .starts_with("aaguidDeny: \"nope\""));
        assert!(bad(Policy {
            aaguid_allow: Some(vec![]),
            ..Policy::default()
        })
        .starts_with("aaguidAllow is empty"));
        assert!(bad(Policy {
            aaguid_allow: Some(vec![aaguid.clone()]),
            aaguid_deny: vec![aaguid],
            ..Policy::default()
        })
        .contains("on both"));
        assert!(bad(Policy {
            max_credentials: 0,
            ..Policy::default()
        })
        .starts_with("maxCredentials"));
        assert!(bad(Policy {
            min_security_keys: 11,
            ..Policy::default()
        })
        .starts_with("minSecurityKeys"));
        let certified = Policy {
            certified_only: true,
            ..Policy::default()
        };
        assert_eq!(certified.validate(true), Ok(()));
        assert!(certified
            .validate(false)
            .unwrap_err()
            .starts_with("certifiedOnly needs FIDO metadata"));
        assert!(serde_json::from_str::<Policy>(r#"{"passwordlessUV": "required"}"#).is_err());
        assert!(serde_json::from_str::<Policy>(r#"{"passwordlessUv": "always"}"#).is_err());
    }

    #[test]
    fn diff_names_changed_fields() {
        let new = Policy {
            max_credentials: 6,
            min_security_keys: 2,
            ..Policy::default()
        };
        let diff = new.diff(&Policy::default());
        assert_eq!(
            Value::Object(diff),
            json!({
                "minSecurityKeys": { "from": 1, "to": 2 },
                "maxCredentials": { "from": 10, "to": 6 },
            })
        );
    }
}
