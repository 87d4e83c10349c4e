//! `latch bench login`: a load generator doing complete passkey sign-ins against any Latch
//! server, reporting throughput, latency percentiles and errors by code; with `--server-pid`
//! (same machine) also the server's CPU time per sign-in, as a multiple of one raw ES256
//! verify measured here, and its peak memory.

mod load;
mod proc;
// Also compiled into tests/e2e.rs, which uses the calls the bench does not.
#[allow(dead_code)]
pub mod site;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use load::{quantile, Outcome, Target};

/// `latch bench <what>`.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Sign-ins per second: register accounts with passkeys, then sign in as them.
    Login(LoginArgs),
}

/// `latch bench login` flags.
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The server (the API is under URL/api/v1). Repeat it for several instances over one
    /// database: the threads take them in turn (thread i signs in through URL i mod n) and
    /// the accounts are signed up through the first.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// The page origin sent in `Origin` and clientDataJSON; it must be one of the server's
    /// --origin values. Default: the URL's scheme, host and port, with a loopback IP address
    /// written as `localhost` (the server's default RP ID).
    #[arg(long)]
    pub origin: Option<String>,
    /// Accounts to register, each with its own in-process key and passkey.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Threads signing in at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// The server's process ID (on this machine): report its CPU time per sign-in and its
    /// peak memory from /proc. Repeat it for several instances (their CPU is added up).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Sign in without a username (a discoverable passkey, as conditional mediation does)
    /// instead of username first.
    #[arg(long)]
    pub discoverable: bool,
    /// Only measure one raw ES256 (P-256) signature verification with aws-lc, then exit.
    #[arg(long)]
    pub calibrate: bool,
}

pub fn run(command: BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Login(args) => match login(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("latch bench login: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The origin a browser would send for a page at `url`.
fn default_origin(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    let host = match host {
        "127.0.0.1" | "[::1]" => "localhost",
        h => h,
    };
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

fn login(args: &LoginArgs) -> Result<(), String> {
    if args.calibrate {
        let us = proc::es256_verify_us(Duration::from_secs(2))?;
        println!("raw ES256 verify (aws-lc, one thread): {us:.1} µs");
        return Ok(());
    }
    if args.users == 0 || args.concurrency == 0 || args.duration == 0 {
        return Err("--users, --concurrency and --duration must be at least 1".into());
    }
    let Some(first) = args.urls.first() else {
        return Err("give at least one --url".into());
    };
    let origin = match &args.origin {
        Some(o) => o.clone(),
        None => default_origin(first)?,
    };
    let target = Target {
        urls: args
            .urls
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect(),
        origin,
    };
    let servers = &args.server_pids;
    // Measured first, while the server is idle.
    let verify_us = if servers.is_empty() {
        None
    } else {
        Some(proc::es256_verify_us(Duration::from_secs(1))?)
    };
    let prefix = format!("bench-{}-{}", std::process::id(), proc::unix_seconds());
    eprintln!(
        "latch bench login: {} (origin {}), {} accounts, {} threads, {} s",
        target.urls.join(" + "),
        target.origin,
        args.users,
        args.concurrency,
        args.duration
    );
    let accounts = load::register(&target, args.users, &prefix)?;
    let servers_cpu = || -> Result<Option<f64>, String> {
        if servers.is_empty() {
            return Ok(None);
        }
        let mut total = 0.0;
        for pid in servers {
            total += proc::cpu_seconds(*pid)?;
        }
        Ok(Some(total))
    };
    let before = servers_cpu()?;
    // Linux only (/proc); elsewhere the line is left out.
    let own_before = proc::cpu_seconds(std::process::id()).ok();
    let outcome = load::run(
        &target,
        accounts,
        args.concurrency,
        Duration::from_secs(args.duration),
        args.discoverable,
    );
    let own_after = proc::cpu_seconds(std::process::id()).ok();
    let after = servers_cpu()?;
    report(&outcome);
    let done = outcome.latencies_us.len().max(1) as f64;
    if let (Some(before), Some(after)) = (own_before, own_after) {
        println!(
            "load generator CPU (this process, on the same machine): {:.0} µs per sign-in",
            (after - before) * 1e6 / done
        );
    }
    if let (Some(before), Some(after)) = (before, after) {
        let per_sign_in_us = (after - before) * 1e6 / done;
        println!(
            "server CPU: {:.2} s user+system, {per_sign_in_us:.0} µs per sign-in",
            after - before
        );
        if let Some(v) = verify_us {
            println!(
                "  = {:.1} × one raw ES256 verify ({v:.1} µs, measured here before the load)",
                per_sign_in_us / v
            );
        }
        for pid in servers {
            match proc::peak_rss_kib(*pid) {
                Ok(kib) => println!(
                    "server {pid} peak RSS (VmHWM): {:.1} MiB",
                    kib as f64 / 1024.0
                ),
                Err(e) => println!("server {pid} peak RSS: {e}"),
            }
        }
    }
    if outcome.latencies_us.is_empty() {
        return Err("no sign-in succeeded".into());
    }
    Ok(())
}

fn report(outcome: &Outcome) {
    let l = &outcome.latencies_us;
    let ms = |us: u64| us as f64 / 1000.0;
    let secs = outcome.elapsed.as_secs_f64().max(1e-9);
    let errors: u64 = outcome.errors.values().sum();
    println!(
        "sign-ins: {} in {secs:.1} s = {:.0}/s; errors: {errors}",
        l.len(),
        l.len() as f64 / secs
    );
    println!(
        "latency (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(quantile(l, 0.50)),
        ms(quantile(l, 0.90)),
        ms(quantile(l, 0.99)),
        ms(l.last().copied().unwrap_or_default())
    );
    for (code, n) in &outcome.errors {
        let first = outcome.first_errors.get(code).map_or("", String::as_str);
        println!("  {code}: {n} (first: {first})");
    }
}

#[cfg(test)]
mod tests {
    use super::default_origin;

    #[test]
    fn origins_from_urls() {
        assert_eq!(
            default_origin("http://127.0.0.1:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            default_origin("https://login.example.com/").unwrap(),
            "https://login.example.com"
        );
        assert_eq!(
            default_origin("http://[::1]:9000/x").unwrap(),
            "http://localhost:9000"
        );
        assert!(default_origin("localhost:8080").is_err());
    }
}
