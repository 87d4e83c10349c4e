//! What every handler shares: the store, the relying party, the clock and server keys.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_lc_rs::hmac;
use latch_webauthn::options::{AuthenticationPolicy, RegistrationPolicy};
use latch_webauthn::RelyingParty;

use crate::config::Config;
use crate::crypto;
use crate::metrics::Metrics;
use crate::policy::runtime::{apply_startup, PolicyCache};
use crate::policy::Startup;
use crate::store::{settings, Store};

/// Seconds since the Unix epoch. Injected so tests can move time (ceremony expiry, sessions).
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How long a begun ceremony may be finished (the options' timeout is the same 5 minutes).
pub const CEREMONY_TTL: i64 = 300;
/// How often expired ceremony records are swept (by whichever request comes first after).
const SWEEP_EVERY: i64 = 60;

/// The settings key of the HMAC key behind fake allowCredentials.
const FAKE_CREDENTIAL_KEY: &str = "fake_credential_key";

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub rp: RelyingParty,
    pub registration: RegistrationPolicy,
    pub authentication: AuthenticationPolicy,
    pub secure_cookies: bool,
    /// Whether `X-Forwarded-For` names the client (`--trust-proxy`).
    pub trust_proxy: bool,
    /// Sessions end this long after sign-in (seconds), or after this long unused.
    pub session_lifetime: i64,
    pub session_idle: i64,
    /// Per-IP rate limits count IPv6 clients by their network of this prefix length.
    pub ipv6_prefix: u8,
    /// Sign-ups begun per client network and window (`--signup-limit`).
    pub signup_per_ip: crate::limits::Limit,
    /// SHA-256 of the token that `/metrics` on the public listener asks for, if any.
    pub metrics_token: Option<Vec<u8>>,
    /// Bounds the password hashes computed at once.
    pub hashing: crate::password::Hashing,
    /// The public key (COSE) that an assertion naming no stored credential is checked
    /// against, so that it fails at the same step, with the same answer, as one naming a real
    /// credential that its sender cannot sign for. Made at start; its private key is dropped.
    pub decoy_key: Vec<u8>,
    /// Derives stable fake credential ids for unknown usernames; shared by all instances.
    pub fake_key: hmac::Key,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// The policy in force, as last read from the database.
    pub policy_cache: PolicyCache,
    /// The OpenID Connect issuer (`iss`), which every endpoint's URL starts with.
    pub issuer: String,
    /// The OpenID Connect signing keys, as last read.
    pub oidc_keys: crate::oidc::keys::KeyCache,
    /// When each kind of expired record is next swept ([`AppState::sweep_due`]).
    next_sweep: [AtomicI64; 4],
}

/// Tables whose expired rows requests sweep now and then, rather than a background task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Stored ceremonies (PostgreSQL, or states too large to seal).
    Ceremonies = 0,
    /// Records of used sealed ceremony tokens.
    UsedCeremonies = 1,
    /// Attempt counters of windows that are over.
    RateLimits = 2,
    /// OpenID Connect requests, codes, grants and assertion ids past their time.
    Oidc = 3,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state over an open store (reading or creating the shared server key), with
    /// no policy file and no metadata; `config.admins` are marked administrators.
    pub async fn new(
        store: Store,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, crate::store::StoreError> {
        AppState::with_startup(store, config, clock, &Startup::default()).await
    }

    /// [`AppState::new`] with a loaded policy file and FIDO metadata ([`Startup::load`]).
    pub async fn with_startup(
        store: Store,
        config: &Config,
        clock: Arc<dyn Clock>,
        startup: &Startup,
    ) -> Result<AppState, crate::store::StoreError> {
        let mut rp = config.relying_party();
        if let Some(metadata) = &startup.metadata {
            metadata.add_roots_to(&mut rp.attestation.trust);
            rp.attestation.metadata = Some(metadata.clone());
        }
        apply_startup(
            &store,
            startup,
            &config.admins,
            startup.metadata.is_some(),
            clock.now(),
        )
        .await?;
        if let Some(key) = store.secrets_key() {
            // Authenticator-app secrets stored before they were sealed.
            let mut tx = store.begin().await?;
            let sealed = crate::store::factors::seal_plain_secrets(&mut tx, key).await?;
            tx.commit().await?;
            if sealed > 0 {
                eprintln!(
                    "latch serve: sealed {sealed} authenticator-app secrets stored in plain text"
                );
            }
        }
        if let Some(clients) = &startup.oidc_clients {
            store
                .replace_config_clients(clients.clone(), clock.now())
                .await?;
        }
        let fresh = crypto::random_bytes(32).map_err(|_| crate::store::StoreError::Rng)?;
        let mut conn = store.conn().await?;
        let key = settings::get_or_insert(&mut conn, FAKE_CREDENTIAL_KEY, &fresh).await?;
        drop(conn);
        Ok(AppState(Arc::new(Inner {
            store,
            rp,
            registration: RegistrationPolicy::default(),
            authentication: AuthenticationPolicy::default(),
            secure_cookies: config.secure_cookies(),
            trust_proxy: config.trust_proxy,
            session_lifetime: config.session_lifetime,
            session_idle: config.session_idle,
            ipv6_prefix: config.ipv6_prefix,
            signup_per_ip: crate::limits::Limit {
                max: config.signup_limit,
                ..crate::limits::SIGNUP_PER_IP
            },
            fake_key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            metrics_token: config.metrics_token.as_deref().map(crypto::token_hash),
            hashing: crate::password::Hashing::default(),
            decoy_key: crypto::decoy_public_key().map_err(|_| crate::store::StoreError::Rng)?,
            clock,
            metrics: Metrics::default(),
            policy_cache: PolicyCache::default(),
            issuer: config.issuer(),
            oidc_keys: crate::oidc::keys::KeyCache::default(),
            next_sweep: [const { AtomicI64::new(i64::MIN) }; 4],
        })))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The key that seals authenticator-app secrets; an error when the store has none
    /// (PostgreSQL without `--key-file`, which `serve` never starts).
    pub fn secrets_key(&self) -> Result<&crate::sealed::SealingKey, crate::ApiError> {
        self.store.secrets_key().ok_or_else(|| {
            crate::ApiError::internal("no key file seals authenticator-app secrets (--key-file)")
        })
    }

    /// Whether the caller should sweep `what`'s expired rows now: true for one caller per
    /// [`SWEEP_EVERY`] seconds, so the sweep costs nothing on most requests.
    pub fn sweep_due(&self, what: Sweep, now: i64) -> bool {
        let Some(next_sweep) = self.next_sweep.get(what as usize) else {
            return false;
        };
        let next = next_sweep.load(Ordering::Relaxed);
        now >= next
            && next_sweep
                .compare_exchange(
                    next,
                    now.saturating_add(SWEEP_EVERY),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}
