//! What `latch serve` reads at start: the policy file and the FIDO metadata file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use latch_webauthn::mds::Metadata;
use latch_webauthn::UnixTime;

use super::Policy;
use crate::config::Config;

/// GlobalSign Root CA - R3: the root FIDO signs MDS3 BLOBs under.
const MDS_ROOT: &[u8] = include_bytes!("../../roots/globalsign_root_ca_r3.der");

/// Why the policy or metadata file cannot be used; `latch serve` stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {path} is not valid: {message}")]
    Policy { path: PathBuf, message: String },
    #[error("FIDO metadata file {path} cannot be used: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error("OpenID Connect clients file {path} is not valid: {message}")]
    OidcClients { path: PathBuf, message: String },
}

/// The policy and metadata a server starts with.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// The policy file's rules and its path, when one was given.
    pub policy: Option<(Policy, PathBuf)>,
    pub metadata: Option<Arc<Metadata>>,
    /// The OpenID Connect clients file's clients, when one was given.
    pub oidc_clients: Option<Vec<crate::oidc::client::Client>>,
}

fn read(path: &Path) -> Result<Vec<u8>, StartupError> {
    std::fs::read(path).map_err(|source| StartupError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Loads an MDS3 BLOB (a JWS, verified against FIDO's root at `now`) or its decoded payload
/// JSON (taken as it is: the operator vouches for it).
pub fn load_metadata(bytes: &[u8], now: i64) -> Result<Metadata, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let metadata = if first == Some(&b'{') {
        Metadata::from_payload_json(bytes)
    } else {
        Metadata::from_blob(bytes, MDS_ROOT, UnixTime(now))
    };
    metadata.map_err(|e| e.to_string())
}

/// Parses a policy file's text: the policy's keys, plus `mds` (returned as written).
pub fn parse_policy_file(text: &str) -> Result<(Policy, Option<PathBuf>), String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mds = match table.remove("mds") {
        None => None,
        Some(toml::Value::String(s)) => Some(PathBuf::from(s)),
        Some(_) => return Err("mds must be a string (a file path)".into()),
    };
    let policy: Policy = table.try_into().map_err(|e| e.to_string())?;
    Ok((policy, mds))
}

impl Startup {
    /// Reads `config.policy_file` and the metadata file (`config.mds_file`, else the policy's
    /// `mds`, relative to the policy file) and checks the policy against what was loaded.
    pub fn load(config: &Config, now: i64) -> Result<Startup, StartupError> {
        let mut startup = Startup::default();
        if let Some(path) = &config.oidc_clients_file {
            let bytes = read(path)?;
            let invalid = |message: String| StartupError::OidcClients {
                path: path.clone(),
                message,
            };
            let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
            startup.oidc_clients = Some(crate::oidc::client::from_file(&text).map_err(invalid)?);
        }
        let mut mds = config.mds_file.clone();
        if let Some(path) = &config.policy_file {
            let bytes = read(path)?;
            let invalid = |message: String| StartupError::Policy {
                path: path.clone(),
                message,
            };
            let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
            let (policy, file_mds) = parse_policy_file(&text).map_err(invalid)?;
            if mds.is_none() {
                let dir = path.parent().unwrap_or(Path::new("."));
                mds = file_mds.map(|m| dir.join(m));
            }
            startup.policy = Some((policy, path.clone()));
        }
        if let Some(path) = &mds {
            let bytes = read(path)?;
            let metadata =
                load_metadata(&bytes, now).map_err(|message| StartupError::Metadata {
                    path: path.clone(),
                    message,
                })?;
            if metadata.is_stale(UnixTime(now)) {
                eprintln!(
                    "latch serve: warning: FIDO metadata {} is past its nextUpdate; fetch a newer BLOB",
                    path.display()
                );
            }
            startup.metadata = Some(Arc::new(metadata));
        }
        if let Some((policy, path)) = &startup.policy {
            policy
                .validate(startup.metadata.is_some())
                .map_err(|message| StartupError::Policy {
                    path: path.clone(),
                    message,
                })?;
        }
        Ok(startup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_webauthn::UserVerification;

    #[test]
    fn policy_files_parse_with_mds() {
        let (policy, mds) = parse_policy_file(
            r#"
            passwordlessUv = "preferred"
            attestation = "direct"
            aaguidDeny = ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]
            minSecurityKeys = 2
            maxCredentials = 6
            mds = "metadata.json"
            "#,
        )
        .unwrap();
        assert_eq!(policy.passwordless_uv, UserVerification::Preferred);
        assert_eq!(policy.min_security_keys, 2);
        assert_eq!(policy.second_factor_uv, UserVerification::Discouraged);
        assert_eq!(mds, Some(PathBuf::from("metadata.json")));
        let unknown = parse_policy_file("maxCredential = 6").unwrap_err();
        assert!(unknown.contains("maxCredential"), "{unknown}");
        assert!(parse_policy_file("maxCredentials = -1").is_err());
        assert!(parse_policy_file("mds = 3").is_err());
    }

    /// The real MDS3 payload (`scripts/test` sets `LATCH_MDS_JSON`) loads and names keys.
    #[test]
    fn the_real_payload_names_authenticators() {
        let Ok(path) = std::env::var("LATCH_MDS_JSON") else {
            println!("skipped: set LATCH_MDS_JSON to a decoded MDS3 payload to run");
            return;
        };
        let config = Config {
            mds_file: Some(path.into()),
            ..Config::default()
        };
        let metadata = Startup::load(&config, 1_760_000_000)
            .unwrap()
            .metadata
            .unwrap();
        let yubikey =
            latch_webauthn::auth_data::parse_aaguid("cb69481e-8ff7-4039-93ec-0a2729a154a8")
                .unwrap();
        assert_eq!(metadata.name_of(&yubikey), Some("YubiKey 5 Series"));
    }

    #[test]
    fn a_blob_must_verify_under_fidos_root() {
        // Three base64url parts that are no signed BLOB: refused, not taken as JSON.
        let err = load_metadata(b"eyJhbGciOiJFUzI1NiJ9.e30.AAAA", 1_760_000_000).unwrap_err();
        assert!(err.starts_with("metadata BLOB"), "{err}");
    }

    #[test]
    fn bad_files_stop_the_start() {
        let dir = std::env::temp_dir().join(format!("latch_policy_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("policy.toml");
        std::fs::write(&file, "certifiedOnly = true\n").unwrap();
        let config = Config {
            policy_file: Some(file.clone()),
            ..Config::default()
        };
        let err = Startup::load(&config, 0).unwrap_err().to_string();
        assert!(err.contains("certifiedOnly needs FIDO metadata"), "{err}");
        std::fs::write(&file, "certifiedOnly = true\nmds = \"md.json\"\n").unwrap();
        std::fs::write(
            dir.join("md.json"),
            r#"{"no": 7, "nextUpdate": "2030-01-01", "entries": [{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                "metadataStatement": {"description": "Key", "attestationRootCertificates": []},
                "statusReports": [{"status": "FIDO_CERTIFIED_L1"}]}]}"#,
        )
        .unwrap();
        let loaded = Startup::load(&config, 0).unwrap();
        assert_eq!(loaded.metadata.unwrap().number, 7);
        std::fs::write(dir.join("md.json"), "not a blob").unwrap();
        let err = Startup::load(&config, 0).unwrap_err().to_string();
        assert!(err.starts_with("FIDO metadata file"), "{err}");
        let missing = Config {
            policy_file: Some(dir.join("absent.toml")),
            ..Config::default()
        };
        assert!(Startup::load(&missing, 0)
            .unwrap_err()
            .to_string()
            .starts_with("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
