//! The policy in force: read from the database on each ceremony (one small row), turned into
//! the relying party and options policies latch-webauthn takes, and cached until the stored
//! row changes. Every instance therefore enforces the policy the last writer stored.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::Conn;
use latch_webauthn::options::{AuthenticationPolicy, RegistrationPolicy};
use latch_webauthn::RelyingParty;
use serde_json::json;

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

/// How long [`AppState::recent_policy`] trusts the cached policy without reading the row.
const RECENT: Duration = Duration::from_secs(1);

/// The last stored row seen, what it built, and when it was last read.
#[derive(Debug, Default)]
pub struct PolicyCache(RwLock<Option<Cached>>);

#[derive(Debug)]
struct Cached {
    raw: Vec<u8>,
    effective: Arc<Effective>,
    read_at: Instant,
    /// When the stored policy was set (`i64::MIN` for the defaults, never stored).
    updated_at: i64,
}

impl AppState {
    /// The policy in force now (the stored one, or the defaults when none was ever stored).
    pub async fn policy(&self, conn: &mut Conn) -> Result<Arc<Effective>, ApiError> {
        let raw = store::policy::raw(conn).await?;
        self.policy_of(raw)
    }

    /// The policy that `raw` (the stored policy's bytes, as read with
    /// [`store::policy::raw`]) says is in force.
    pub fn policy_of(&self, raw: Option<Vec<u8>>) -> Result<Arc<Effective>, ApiError> {
        let raw = raw.unwrap_or_default();
        let read_at = Instant::now();
        if let Ok(mut cached) = self.policy_cache.0.write() {
            if let Some(cached) = cached.as_mut().filter(|c| c.raw == raw) {
                cached.read_at = read_at;
                return Ok(cached.effective.clone());
            }
        }
        let (policy, updated_at) = if raw.is_empty() {
            (Policy::default(), i64::MIN)
        } else {
            let stored = store::policy::parse(&raw)?;
            (stored.policy, stored.updated_at)
        };
        let effective = Arc::new(Effective::build(self, policy).map_err(ApiError::internal)?);
        if let Ok(mut cached) = self.policy_cache.0.write() {
            // A read made before a change can finish after one made since: it must not put
            // the older policy back (sign-in options would serve it for another second).
            if cached.as_ref().is_none_or(|c| c.updated_at <= updated_at) {
                *cached = Some(Cached {
                    raw,
                    effective: effective.clone(),
                    read_at,
                    updated_at,
                });
            }
        }
        Ok(effective)
    }

    /// The policy as read at most a second ago, else [`AppState::policy`]: for the options of
    /// a passkey sign-in, the hottest call, which would otherwise read the row every time. A
    /// change made on any instance reaches them within the second; the ceremony enforces
    /// the rules its options were made under, as it does for a change made mid-ceremony.
    pub async fn recent_policy(&self, conn: &mut Conn) -> Result<Arc<Effective>, ApiError> {
        if let Ok(cached) = self.policy_cache.0.read() {
            if let Some(cached) = cached.as_ref().filter(|c| c.read_at.elapsed() < RECENT) {
                return Ok(cached.effective.clone());
            }
        }
        self.policy(conn).await
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
    drop(conn);
    // The administrators are exactly the configured ones: a name nobody has yet would go to
    // whoever signs up with it first, and one taken off the list must lose the right.
    let admins: Vec<String> = admins.iter().map(|a| a.trim().to_lowercase()).collect();
    let mut tx = store.begin().await?;
    let changes = store::admin::set_admins(&mut tx, &admins).await?;
    if !changes.missing.is_empty() {
        return Err(StoreError::UnknownAdmins(changes.missing));
    }
    for (kind, accounts) in [
        ("admin_granted", &changes.granted),
        ("admin_removed", &changes.removed),
    ] {
        for (id, name) in accounts {
            let detail = json!({ "source": "configuration" });
            audit::record(&mut tx, Some(*id), kind, &detail, None, now).await?;
            eprintln!("latch serve: {name}: {}", kind.replace('_', " "));
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::state::SystemClock;
    use crate::store::policy::Stored;

    fn stored(max_credentials: u32, updated_at: i64) -> Option<Vec<u8>> {
        let stored = Stored {
            policy: Policy {
                max_credentials,
                ..Policy::default()
            },
            source: "admin".into(),
            updated_at,
            updated_by: None,
        };
        serde_json::to_vec(&stored).ok()
    }

    #[tokio::test]
    async fn an_older_read_never_replaces_a_newer_policy_in_the_cache() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let state = AppState::new(store, &Config::default(), Arc::new(SystemClock))
            .await
            .unwrap();
        let mut conn = state.store.conn().await.unwrap();
        assert_eq!(
            state
                .policy_of(stored(6, 200))
                .unwrap()
                .policy
                .max_credentials,
            6
        );
        // A finish that read the row before that change answers with what it read...
        assert_eq!(
            state
                .policy_of(stored(4, 100))
                .unwrap()
                .policy
                .max_credentials,
            4
        );
        // ...but the cache keeps the newer policy.
        let recent = state.recent_policy(&mut conn).await.unwrap();
        assert_eq!(recent.policy.max_credentials, 6);
        assert_eq!(
            state
                .policy_of(stored(8, 300))
                .unwrap()
                .policy
                .max_credentials,
            8
        );
        let recent = state.recent_policy(&mut conn).await.unwrap();
        assert_eq!(recent.policy.max_credentials, 8);
    }
}
