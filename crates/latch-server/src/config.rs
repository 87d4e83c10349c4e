//! What `latch serve` is told: where to listen, which database, and who the relying party is.

use latch_webauthn::RelyingParty;

/// The server's configuration (from `latch serve` flags or `LATCH_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `host:port` to listen on.
    pub listen: String,
    /// `sqlite://FILE`, `sqlite::memory:` or `postgres://…`.
    pub db: String,
    pub rp_id: String,
    pub rp_name: String,
    /// Origins whose pages may run ceremonies and make state-changing calls.
    pub origins: Vec<String>,
    /// A policy file (TOML) applied at start: see [`crate::policy`].
    pub policy_file: Option<std::path::PathBuf>,
    /// FIDO metadata: an MDS3 BLOB (JWS) or its payload JSON (overrides the policy's `mds`).
    pub mds_file: Option<std::path::PathBuf>,
    /// Usernames marked administrators at start.
    pub admins: Vec<String>,
    /// Take the client's IP from the last `X-Forwarded-For` entry (only behind a proxy that
    /// sets it); otherwise the socket's peer address is the client.
    pub trust_proxy: bool,
    /// How long a session lasts from sign-in, in seconds, however busy it is.
    pub session_lifetime: i64,
    /// A session unused this long (seconds) has ended.
    pub session_idle: i64,
    /// Per-IP rate limits count an IPv6 client by its network of this prefix length.
    pub ipv6_prefix: u8,
    /// Sign-ups one client network may begin per 15 minutes.
    pub signup_limit: i64,
    /// The key file that seals secrets stored in the database (and, on SQLite, ceremonies):
    /// by default `<db>.key` beside a SQLite file, and `latch.key` in the working directory
    /// for PostgreSQL, where every instance needs the same file.
    pub key_file: Option<std::path::PathBuf>,
    /// Serve `/metrics` on this address too (for a private network; nothing else is there).
    pub metrics_listen: Option<String>,
    /// Serve `/metrics` on the public listener to requests bearing this token. Without it
    /// (the default) the public listener does not serve them.
    pub metrics_token: Option<String>,
    /// The OpenID Connect issuer (`iss`): by default the first origin.
    pub issuer: Option<String>,
    /// OpenID Connect clients registered at start (TOML: see [`crate::oidc::client`]).
    pub oidc_clients_file: Option<std::path::PathBuf>,
}

/// Sessions' defaults: 30 days from sign-in, 7 days unused.
pub const SESSION_LIFETIME: i64 = 30 * 24 * 3600;
pub const SESSION_IDLE: i64 = 7 * 24 * 3600;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            db: "sqlite://latch.db".into(),
            rp_id: "localhost".into(),
            rp_name: "Latch".into(),
            origins: vec!["http://localhost:8080".into()],
            policy_file: None,
            mds_file: None,
            admins: Vec::new(),
            trust_proxy: false,
            session_lifetime: SESSION_LIFETIME,
            session_idle: SESSION_IDLE,
            ipv6_prefix: 64,
            signup_limit: crate::limits::SIGNUP_PER_IP.max,
            key_file: None,
            metrics_listen: None,
            metrics_token: None,
            issuer: None,
            oidc_clients_file: None,
        }
    }
}

/// Why a configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("issuer {0:?} must be https:// (or http:// on localhost) with no query or fragment")]
    InvalidIssuer(String),
    #[error("at least one --origin is needed")]
    NoOrigin,
    #[error("sessions: the idle timeout ({idle} s) must be at least a minute and no longer than the lifetime ({lifetime} s)")]
    SessionTimes { idle: i64, lifetime: i64 },
    #[error("--ipv6-prefix {0}: give a prefix length from 16 to 128 (64 is one subscriber)")]
    Ipv6Prefix(u8),
    #[error("--signup-limit {0}: at least 1 sign-up per 15 minutes")]
    SignupLimit(i64),
    #[error(
        "--metrics-token: at least 16 characters (it guards the metrics on the public listener)"
    )]
    MetricsToken,
    #[error("the RP ID must be a bare domain such as example.com, not {0:?}")]
    InvalidRpId(String),
    #[error("origin {0:?} is not of the form https://host[:port] (or http:// for localhost)")]
    InvalidOrigin(String),
    #[error("origin {origin:?} is not on the RP ID {rp_id:?} or one of its subdomains, so browsers would refuse its ceremonies")]
    OriginOutsideRpId { origin: String, rp_id: String },
}

/// The host of `scheme://host[:port]`, when that is what `origin` is.
fn origin_host(origin: &str) -> Option<(&str, &str)> {
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let (scheme, rest) = origin.split_once("://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let host = if rest.starts_with('[') {
        rest.split_once(']')
            .map(|(h, _)| h.trim_start_matches('['))?
    } else {
        rest.split(':').next()?
    };
    Some((scheme, host))
}

impl Config {
    /// The key file to use: the configured one, else `latch.key` for PostgreSQL (SQLite keeps
    /// its own beside the database when none is given).
    pub fn effective_key_file(&self) -> Option<std::path::PathBuf> {
        self.key_file.clone().or_else(|| {
            self.db
                .starts_with("postgres")
                .then(|| std::path::PathBuf::from("latch.key"))
        })
    }

    /// Checks the relying-party settings before anything starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rp_id = self.rp_id.as_str();
        if rp_id.is_empty()
            || rp_id.contains(['/', ':', '@', ' '])
            || rp_id.starts_with('.')
            || rp_id.ends_with('.')
        {
            return Err(ConfigError::InvalidRpId(self.rp_id.clone()));
        }
        if self.origins.is_empty() {
            return Err(ConfigError::NoOrigin);
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::MetricsToken);
        }
        if self.signup_limit < 1 {
            return Err(ConfigError::SignupLimit(self.signup_limit));
        }
        if !(16..=128).contains(&self.ipv6_prefix) {
            return Err(ConfigError::Ipv6Prefix(self.ipv6_prefix));
        }
        // A minute is the resolution of `last_seen_at`.
        if self.session_idle < 60 || self.session_lifetime < self.session_idle {
            return Err(ConfigError::SessionTimes {
                idle: self.session_idle,
                lifetime: self.session_lifetime,
            });
        }
        for origin in &self.origins {
            let Some((scheme, host)) = origin_host(origin) else {
                return Err(ConfigError::InvalidOrigin(origin.clone()));
            };
            let local = host == "localhost" || host.ends_with(".localhost");
            if !(scheme == "https" || (scheme == "http" && local)) {
                return Err(ConfigError::InvalidOrigin(origin.clone()));
            }
            let host = host.to_ascii_lowercase();
            let rp = rp_id.to_ascii_lowercase();
            if host != rp && !host.ends_with(&format!(".{rp}")) {
                return Err(ConfigError::OriginOutsideRpId {
                    origin: origin.clone(),
                    rp_id: self.rp_id.clone(),
                });
            }
        }
        // OpenID Connect Discovery §2: https, no query or fragment (http only on this machine).
        let issuer = self.issuer();
        let issuer_ok = !issuer.contains(['?', '#'])
            && (issuer
                .strip_prefix("https://")
                .is_some_and(|h| !h.is_empty() && !h.contains('@'))
                || crate::oidc::client::loopback_http(&issuer).is_some());
        if !issuer_ok {
            return Err(ConfigError::InvalidIssuer(issuer));
        }
        Ok(())
    }

    /// The relying party these settings describe.
    /// The OpenID Connect issuer: `--issuer`, else the first origin (no trailing slash).
    pub fn issuer(&self) -> String {
        let issuer = self
            .issuer
            .clone()
            .or_else(|| self.origins.first().cloned())
            .unwrap_or_default();
        issuer.trim_end_matches('/').to_owned()
    }

    pub fn relying_party(&self) -> RelyingParty {
        let mut rp = RelyingParty::new(&self.rp_id, self.origins.iter().cloned());
        rp.name = self.rp_name.clone();
        rp
    }

    /// Cookies are `Secure` when every page is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.origins.iter().all(|o| o.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(rp_id: &str, origins: &[&str]) -> Config {
        Config {
            rp_id: rp_id.into(),
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert!(!Config::default().secure_cookies());
    }

    #[test]
    fn the_issuer_is_https_or_on_this_machine() {
        let mut config = with("localhost", &["http://localhost:8080"]);
        assert_eq!(config.issuer(), "http://localhost:8080");
        assert!(config.validate().is_ok());
        for bad in [
            "http://id.example",
            "https://id.example/?x=1",
            "https://",
            "ftp://id.example",
            "http://localhost:1@id.example",
        ] {
            config.issuer = Some(bad.into());
            assert!(
                matches!(config.validate(), Err(ConfigError::InvalidIssuer(_))),
                "{bad}"
            );
        }
        config.issuer = Some("https://id.example/".into());
        assert_eq!(config.issuer(), "https://id.example");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn origins_must_sit_on_the_rp_id() {
        assert_eq!(
            with(
                "example.com",
                &["https://login.example.com", "https://example.com:8443"]
            )
            .validate(),
            Ok(())
        );
        assert_eq!(
            with("example.com", &["https://evil-example.com"]).validate(),
            Err(ConfigError::OriginOutsideRpId {
                origin: "https://evil-example.com".into(),
                rp_id: "example.com".into()
            })
        );
        assert_eq!(
            with("example.com", &["http://example.com"]).validate(),
            Err(ConfigError::InvalidOrigin("http://example.com".into()))
        );
        assert_eq!(
            with("example.com", &[]).validate(),
            Err(ConfigError::NoOrigin)
        );
        assert_eq!(
            with("https://example.com", &["https://example.com"]).validate(),
            Err(ConfigError::InvalidRpId("https://example.com".into()))
        );
        assert!(with("example.com", &["https://example.com"]).secure_cookies());
    }
}
