//! What the bench measures besides HTTP: one raw ES256 verify (the unit the server's CPU cost
//! is compared with), and a local process's CPU time and peak memory from Linux's /proc.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};

/// Microseconds per ES256 verification (aws-lc, DER signature, public key parsed each time as
/// the server does), over about `time` of one thread.
pub fn es256_verify_us(time: Duration) -> Result<f64, String> {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
        .map_err(|_| "cannot generate a P-256 key")?;
    // What an assertion signs: authenticatorData (37 bytes) || SHA-256(clientDataJSON).
    let message = [0x5Au8; 69];
    let signature = key
        .sign(&SystemRandom::new(), &message)
        .map_err(|_| "cannot sign")?;
    let public = key.public_key().as_ref().to_vec();
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < time {
        for _ in 0..100 {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &public)
                .verify(&message, signature.as_ref())
                .map_err(|_| "the calibration signature did not verify")?;
        }
        count += 100;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / count as f64)
}

/// Seconds since the Unix epoch.
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Clock ticks per second of /proc's times (USER_HZ, 100 on every Linux architecture that
/// Latch builds for).
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds the process (all its threads) has used so far.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the ')'.
    let tick = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64 / USER_HZ)
            .ok_or_else(|| format!("{path}: unexpected format"))
    };
    Ok(tick(11)? + tick(12)?)
}

/// The process's peak resident set size (VmHWM) in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("{path}: no VmHWM line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(peak_rss_kib(pid).unwrap() > 0);
    }

    #[test]
    fn a_verify_takes_some_microseconds() {
        let us = es256_verify_us(Duration::from_millis(20)).unwrap();
        assert!(us > 0.1 && us < 100_000.0, "{us}");
    }
}
