//! Human-readable output of the key manager.

use std::fmt::Write as _;

use latch_ctap::client::cred_mgmt::{CredentialEntry, CredsMetadata};
use latch_ctap::client::Info;
use latch_webauthn::b64;

/// What `latch key reset` prints first.
pub const RESET_NOTICE: &str = "Reset deletes every credential and the PIN. The key only \
allows it within 10 seconds of being plugged in: restart `latch key run` (or replug the key), \
run this at once, and touch the key when asked.";

/// An AAGUID as 8-4-4-4-12 hex.
pub fn aaguid(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// A COSE algorithm with its name.
pub fn algorithm(alg: i64) -> String {
    let name = match alg {
        -7 => "ES256",
        -8 => "EdDSA",
        -35 => "ES384",
        -36 => "ES512",
        -37 => "PS256",
        -47 => "ES256K",
        -257 => "RS256",
        _ => return alg.to_string(),
    };
    format!("{name} ({alg})")
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn known(value: Option<u64>) -> String {
    value.map_or_else(|| "not reported".into(), |v| v.to_string())
}

/// `latch key info`.
pub fn info(info: &Info, retries: Option<(u8, Option<bool>)>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{:<34} {value}", format!("{label}:"));
    };
    line("Versions", list(info.versions.iter().cloned()));
    line("AAGUID", aaguid(&info.aaguid));
    line("Firmware version", known(info.firmware_version));
    let pin = match (info.pin_set(), retries) {
        (None, _) => "not supported".to_owned(),
        (Some(false), _) => "not set".to_owned(),
        (Some(true), Some((n, _))) => format!("set, {n} retries left"),
        (Some(true), None) => "set".to_owned(),
    };
    line("PIN", pin);
    if info.force_pin_change == Some(true) {
        line("PIN change required", "yes".into());
    }
    line("Minimum PIN length", known(info.min_pin_length));
    line(
        "PIN/UV auth protocols",
        list(info.pin_uv_auth_protocols.iter().map(u64::to_string)),
    );
    line(
        "Options",
        list(
            info.options
                .iter()
                .map(|(k, v)| format!("{k}={}", if *v { "yes" } else { "no" })),
        ),
    );
    line("Extensions", list(info.extensions.iter().cloned()));
    line(
        "Algorithms",
        list(info.algorithms.iter().map(|a| algorithm(*a))),
    );
    line("Max message size", format!("{} bytes", info.max_msg_size()));
    line(
        "Remaining discoverable credentials",
        known(info.remaining_discoverable_credentials),
    );
    if let Some(n) = info.max_serialized_large_blob_array {
        line("Large-blob storage", format!("{n} bytes"));
    }
    out.trim_end().to_owned()
}

/// `latch key pin retries`.
pub fn retries(retries: u8, power_cycle: Option<bool>) -> String {
    let mut text = format!(
        "{retries} PIN {} left.",
        if retries == 1 { "retry" } else { "retries" }
    );
    if retries == 0 {
        text.push_str(" The PIN is blocked: only `latch key reset` recovers the key.");
    } else if power_cycle == Some(true) {
        text.push_str(
            " 3 wrong PINs this session: unplug the key (restart `latch key run`) before the \
             next try.",
        );
    }
    text
}

/// A credProtect level with its name.
pub fn cred_protect(level: Option<u64>) -> String {
    match level {
        Some(1) => "1 (userVerificationOptional)".into(),
        Some(2) => "2 (userVerificationOptionalWithCredentialIDList)".into(),
        Some(3) => "3 (userVerificationRequired)".into(),
        Some(n) => n.to_string(),
        None => "not reported".into(),
    }
}

/// `latch key creds list`.
pub fn credentials(metadata: &CredsMetadata, all: &[(String, Vec<CredentialEntry>)]) -> String {
    let mut out = format!(
        "{} discoverable credential{}, room for {} more.",
        metadata.existing,
        if metadata.existing == 1 { "" } else { "s" },
        metadata.remaining
    );
    for (rp_id, creds) in all {
        let _ = write!(out, "\n{rp_id}");
        for cred in creds {
            let name = cred.user.name.as_deref().unwrap_or("(no name)");
            let display = cred
                .user
                .display_name
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let _ = write!(
                out,
                "\n  {name}{display}\n    credential ID: {}\n    user handle:   {}\n    credProtect:   {}",
                b64::encode(&cred.credential_id),
                b64::encode(&cred.user.id),
                cred_protect(cred.cred_protect)
            );
            if cred.large_blob_key.is_some() {
                let _ = write!(out, "\n    large blob:    supported");
            }
        }
    }
    out
}
