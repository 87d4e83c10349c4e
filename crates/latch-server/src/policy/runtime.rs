//! The policy in force: read from the database on each ceremony (one small row), turned into
//! the relying party and options policies latch-webauthn takes, and cached until the stored
//! row changes. Every instance therefore enforces the policy the last writer stored.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use latch_webauthn::options::{AuthenticationPolicy, RegistrationPolicy};
use latch_webauthn::RelyingParty;
use serde_json::json;
use sqlx::AnyConnection;

use super::{parse_aaguids, Policy, Startup};
use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{self, audit, Store, StoreError};

/// The policy, ready for the ceremonies.
#[derive(Debug, Clone)]
pub struct Effective {
    pub policy: Policy,
    /// The relying party with the policy's AAGUID lists, certification and synced rules.
    pub rp: RelyingParty,
    /// Creation options (signup and adding a key).
    pub registration: RegistrationPolicy,
    /// Request options for passkey sign-in.
    pub login: AuthenticationPolicy,
    /// Request options for a key as the second factor after a password.
    pub second_factor: AuthenticationPolicy,
}

impl Effective {
    fn build(state: &AppState, policy: Policy) -> Result<Effective, String> {
        let mut rp = state.rp.clone();
        let attestation = &mut rp.attestation;
        attestation.aaguid_deny = parse_aaguids("aaguidDeny", &policy.aaguid_deny)?
            .into_iter()
            .collect();
        attestation.aaguid_allow = match &policy.aaguid_allow {
            Some(list) => Some(
                parse_aaguids("aaguidAllow", list)?
                    .into_iter()
                    .collect::<HashSet<_>>(),
            ),
            None => None,
        };
        attestation.require_certified = policy.certified_only;
        rp.allow_backup_eligible = policy.synced_passkeys;
        let registration = RegistrationPolicy {
            user_verification: policy.passwordless_uv,
            attestation: policy.attestation.as_str().to_owned(),
            ..state.registration.clone()
        };
        let login = AuthenticationPolicy {
            user_verification: policy.passwordless_uv,
            ..state.authentication.clone()
        };
        let second_factor = AuthenticationPolicy {
            user_verification: policy.second_factor_uv,
            ..state.authentication.clone()
        };
        Ok(Effective {
            policy,
            rp,
            registration,
            login,
            second_factor,
        })
    }
}

/// The last stored row seen and what it built.
#[derive(Debug, Default)]
pub struct PolicyCache(RwLock<Option<(Vec<u8>, Arc<Effective>)>>);

impl AppState {
    /// The policy in force now (the stored one, or the defaults when none was ever stored).
    pub async fn policy(&self, conn: &mut AnyConnection) -> Result<Arc<Effective>, ApiError> {
        let raw = store::policy::raw(conn).await?.unwrap_or_default();
        if let Ok(cached) = self.policy_cache.0.read() {
            if let Some((key, effective)) = cached.as_ref() {
                if *key == raw {
                    return Ok(effective.clone());
                }
            }
        }
        let policy = if raw.is_empty() {
            Policy::default()
        } else {
            store::policy::parse(&raw)?.policy
        };
        let effective = Arc::new(Effective::build(self, policy).map_err(ApiError::internal)?);
        if let Ok(mut cached) = self.policy_cache.0.write() {
            *cached = Some((raw, effective.clone()));
        }
        Ok(effective)
    }

    /// Whether this instance loaded FIDO metadata.
    pub fn has_metadata(&self) -> bool {
        self.rp.attestation.metadata.is_some()
    }
}

/// The digest that tells whether a file's rules were applied already.
fn digest(policy: &Policy) -> Vec<u8> {
    crypto::token_hash(&policy.to_json().to_string())
}

/// At start: stores the policy file's rules unless they were applied before (see the module
/// documentation of [`crate::policy`]), then marks the administrators.
pub async fn apply_startup(
    store: &Store,
    startup: &Startup,
    admins: &[String],
    has_metadata: bool,
    now: i64,
) -> Result<(), StoreError> {
    if let Some((policy, path)) = &startup.policy {
        let digest = digest(policy);
        let mut tx = store.begin().await?;
        store::policy::lock(&mut tx).await?;
        if store::policy::file_digest(&mut tx).await?.as_deref() != Some(digest.as_slice()) {
            let old = store::policy::get(&mut tx)
                .await?
                .map(|s| s.policy)
                .unwrap_or_default();
            store::policy::put(
                &mut tx,
                &store::policy::Stored {
                    policy: policy.clone(),
                    source: "file".into(),
                    updated_at: now,
                    updated_by: None,
                },
            )
            .await?;
            store::policy::set_file_digest(&mut tx, &digest).await?;
            let detail = json!({
                "source": "file",
                "path": path.display().to_string(),
                "changes": policy.diff(&old),
            });
            audit::record(&mut tx, None, "policy_changed", &detail, None, now).await?;
            eprintln!("latch serve: applied the policy in {}", path.display());
        }
        tx.commit().await?;
    }
    let mut conn = store.conn().await?;
    if !has_metadata {
        if let Some(stored) = store::policy::get(&mut conn).await? {
            if stored.policy.certified_only {
                eprintln!(
                    "latch serve: warning: the stored policy accepts only FIDO-certified authenticators, \
                     but this instance has no metadata (--mds): every registration will be refused"
                );
            }
        }
    }
    let admins: Vec<String> = admins.iter().map(|a| a.trim().to_lowercase()).collect();
    for name in store::admin::mark_admins(&mut conn, &admins).await? {
        eprintln!(
            "latch serve: warning: --admin {name}: no such account yet; sign up as {name}, then restart"
        );
    }
    Ok(())
}
