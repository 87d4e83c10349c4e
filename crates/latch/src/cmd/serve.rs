//! `latch serve`: the identity server. Flags fall back to `LATCH_*` environment variables.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use latch_server::Config;

/// `latch serve [--listen ADDR] [--db URL] [--rp-id ID] [--origin URL]... [--rp-name NAME]
/// [--policy FILE] [--mds FILE] [--admin USERNAME]...`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "LATCH_DB", default_value = "sqlite://latch.db")]
    pub db: String,
    /// The WebAuthn relying-party ID: the site's domain.
    #[arg(long, env = "LATCH_RP_ID", default_value = "localhost")]
    pub rp_id: String,
    /// An origin whose pages may use this server (repeat for several; in the environment,
    /// separate them with commas).
    #[arg(
        long = "origin",
        env = "LATCH_ORIGIN",
        value_delimiter = ',',
        default_value = "http://localhost:8080"
    )]
    pub origins: Vec<String>,
    /// The name people see for this site in their authenticator.
    #[arg(long, env = "LATCH_RP_NAME", default_value = "Latch")]
    pub rp_name: String,
    /// A policy file (TOML): user verification, attestation, AAGUID lists, certified-only,
    /// key counts, synced passkeys. Applied at start unless the same rules were applied before.
    #[arg(long, env = "LATCH_POLICY")]
    pub policy: Option<PathBuf>,
    /// FIDO metadata: an MDS3 BLOB (JWS, checked against FIDO's root) or its payload JSON.
    /// Names authenticators and enables the certified-only rule.
    #[arg(long, env = "LATCH_MDS")]
    pub mds: Option<PathBuf>,
    /// An account to make an administrator (repeat for several; in the environment, separate
    /// them with commas).
    #[arg(long = "admin", env = "LATCH_ADMINS", value_delimiter = ',')]
    pub admins: Vec<String>,
    /// Behind a reverse proxy: take the client's IP (for rate limits, sessions and the
    /// activity log) from the last X-Forwarded-For entry. Only set it when a proxy you run
    /// sets that header; otherwise clients could claim any address.
    #[arg(long, env = "LATCH_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// How long a session lasts from sign-in however busy it is (e.g. 30d, 12h, 90m).
    #[arg(long, env = "LATCH_SESSION_LIFETIME", default_value = "30d", value_parser = duration)]
    pub session_lifetime: i64,
    /// A session unused this long has ended (e.g. 7d, 8h).
    #[arg(long, env = "LATCH_SESSION_IDLE", default_value = "7d", value_parser = duration)]
    pub session_idle: i64,
    /// Per-IP rate limits count an IPv6 client by its network of this many bits (a /64 is
    /// one subscriber).
    #[arg(long, env = "LATCH_IPV6_PREFIX", default_value_t = 64)]
    pub ipv6_prefix: u8,
    /// Sign-ups one client network may begin per 15 minutes (each tells whether a username
    /// is taken). Raise it for load tests from one machine (`latch bench`).
    #[arg(long, env = "LATCH_SIGNUP_LIMIT", default_value_t = 20)]
    pub signup_limit: i64,
    /// The key file that seals secrets kept in the database (authenticator-app secrets) and,
    /// on SQLite, ceremonies. Default: `<db>.key` beside a SQLite file; `latch.key` here for
    /// PostgreSQL, where every instance must be given the same file.
    #[arg(long, env = "LATCH_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Serve /metrics (Prometheus) on this address, e.g. 127.0.0.1:9090 (reachable only from this host).
    #[arg(long, env = "LATCH_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Serve /metrics on the public listener too, to requests with `Authorization: Bearer
    /// TOKEN`. Without this or --metrics-listen, no metrics are served.
    #[arg(long, env = "LATCH_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// The OpenID Connect issuer URL. Default: the first --origin.
    #[arg(long, env = "LATCH_ISSUER")]
    pub issuer: Option<String>,
    /// OpenID Connect clients to register at start (TOML, `[[client]]` tables); those of the
    /// previous start that are no longer in it are removed.
    #[arg(long, env = "LATCH_OIDC_CLIENTS")]
    pub oidc_clients: Option<PathBuf>,
}

/// `N` with a unit, `s`, `m`, `h` or `d`, in seconds.
fn duration(text: &str) -> Result<i64, String> {
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: a number and a unit (s, m, h or d), e.g. 7d"
            ))
        }
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: a positive number and a unit, e.g. 7d"))
}

impl ServeArgs {
    pub fn config(&self) -> Config {
        Config {
            listen: self.listen.clone(),
            db: self.db.clone(),
            rp_id: self.rp_id.clone(),
            rp_name: self.rp_name.clone(),
            origins: self.origins.clone(),
            policy_file: self.policy.clone(),
            mds_file: self.mds.clone(),
            admins: self.admins.clone(),
            trust_proxy: self.trust_proxy,
            session_lifetime: self.session_lifetime,
            session_idle: self.session_idle,
            ipv6_prefix: self.ipv6_prefix,
            signup_limit: self.signup_limit,
            key_file: self.key_file.clone(),
            metrics_listen: self.metrics_listen.clone(),
            metrics_token: self.metrics_token.clone(),
            issuer: self.issuer.clone(),
            oidc_clients_file: self.oidc_clients.clone(),
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("latch serve: cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                eprintln!("latch serve: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    eprintln!("latch serve: shutting down (finishing requests in flight)");
}

/// Runs the server until a signal asks it to stop.
pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latch serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(latch_server::serve(args.config(), shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latch serve: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_and_defaults() {
        let cli = Cli::parse_from([
            "latch",
            "--rp-id",
            "example.com",
            "--origin",
            "https://example.com",
            "--origin",
            "https://login.example.com",
            "--policy",
            "policy.toml",
            "--admin",
            "ada",
            "--admin",
            "bob",
        ]);
        let config = cli.serve.config();
        assert_eq!(config.rp_id, "example.com");
        assert_eq!(config.policy_file, Some(PathBuf::from("policy.toml")));
        assert_eq!(config.admins, vec!["ada", "bob"]);
        assert_eq!(
            config.origins,
            vec!["https://example.com", "https://login.example.com"]
        );
        // Defaults only where neither a flag nor a LATCH_* variable says otherwise.
        if std::env::var_os("LATCH_LISTEN").is_none() {
            assert_eq!(config.listen, "127.0.0.1:8080");
        }
        if std::env::var_os("LATCH_DB").is_none() {
            assert_eq!(config.db, "sqlite://latch.db");
        }
        if std::env::var_os("LATCH_RP_NAME").is_none() {
            assert_eq!(config.rp_name, "Latch");
        }
        if std::env::var_os("LATCH_TRUST_PROXY").is_none() {
            assert!(!config.trust_proxy);
        }
    }

    #[test]
    fn session_times_take_units() {
        let cli = Cli::parse_from(["latch", "--session-idle", "8h", "--session-lifetime", "14d"]);
        let config = cli.serve.config();
        assert_eq!(
            (config.session_idle, config.session_lifetime),
            (8 * 3600, 14 * 86_400)
        );
        for bad in ["7", "d", "-1d", "0m", "7w", "99999999999999999d"] {
            assert!(
                Cli::try_parse_from(["latch", "--session-idle", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn trust_proxy_is_a_flag() {
        let cli = Cli::parse_from(["latch", "--trust-proxy"]);
        assert!(cli.serve.config().trust_proxy);
    }
}
