//! What a device keeps on its own disk, in one JSON file (`vault.json` in the device's folder,
//! readable by its owner only): the server and session, the device's secret keys, and its
//! verified copy of the vault (the ledger, epoch keys, the recovery key, sealed items and the
//! change cursor). Written whole to a temporary file, synced, then renamed over the old one,
//! so a crash leaves the old state or the new, never half of one.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Local {
    pub server: String,
    pub username: String,
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    /// The device's 64 secret bytes, base64url.
    pub device: String,
    pub vault: Option<Replica>,
}

/// This device's verified copy of the vault.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replica {
    pub id: String,
    pub escrow_id: String,
    pub guardians: Vec<String>,
    pub threshold: usize,
    /// Every ledger entry, base64url, as verified in order.
    pub ledger: Vec<String>,
    pub epoch_keys: BTreeMap<u64, String>,
    pub recovery_key: String,
    pub cursor: i64,
    pub items: BTreeMap<String, Stored>,
    /// Devices that joined through recovery which this device has already told its person of.
    #[serde(default)]
    pub alerted: Vec<String>,
    /// The device that approved this one, if it joined by pairing.
    #[serde(default)]
    pub sponsor: Option<String>,
    /// The recovery key the guardians still hold, base64url, while a new one waits to be
    /// escrowed (after a revoke): only it may replace their registration.
    #[serde(default)]
    pub escrow_owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub revision: u64,
    pub sealed: String,
}

pub fn file(dir: &Path) -> PathBuf {
    dir.join("vault.json")
}

pub fn load(dir: &Path) -> Result<Option<Local>, String> {
    match fs::read(file(dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", file(dir).display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", file(dir).display())),
    }
}

pub fn save(dir: &Path, local: &Local) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    fs::create_dir_all(dir).map_err(err)?;
    let bytes = serde_json::to_vec(local).map_err(|e| e.to_string())?;
    let tmp = dir.join("vault.json.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    fs::rename(&tmp, file(dir)).map_err(err)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
