//! The load itself: N accounts, each with its own in-process key and passkey, then C threads
//! signing in (login/begin with the username, or none for a discoverable passkey, a real
//! ES256 assertion through the CTAP stack, login/finish) until the time is up.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latch_ctap::client::loopback::Loopback;
use latch_ctap::client::{Ctap2, HidDevice};

use super::site::{agent, Site, SiteError};

/// One account and the key holding its passkey.
pub struct Account {
    pub username: String,
    pub key: Ctap2<HidDevice<Loopback>>,
}

/// Where to send the load.
#[derive(Debug, Clone)]
pub struct Target {
    /// One or more instances over the same database; accounts sign up through the first.
    pub urls: Vec<String>,
    pub origin: String,
}

/// A fresh in-process key; `seed` makes its master secret (and so its credentials) distinct.
fn new_key(seed: u64) -> Result<Ctap2<HidDevice<Loopback>>, String> {
    let loopback = Loopback::with_built_in_uv(seed)
        .map_err(|s| format!("the in-process key failed to start: {s:?}"))?;
    let nonce = seed.to_le_bytes();
    let device = HidDevice::open(loopback, nonce).map_err(|e| e.to_string())?;
    Ctap2::new(device).map_err(|e| e.to_string())
}

/// Signs up `count` accounts named `{prefix}-{i}`, each with a passkey on its own key.
pub fn register(target: &Target, count: usize, prefix: &str) -> Result<Vec<Account>, String> {
    let url = target.urls.first().map_or("", String::as_str);
    let mut site = Site::new(agent(1), url, &target.origin);
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let username = format!("{prefix}-{i}");
        let seed = u64::try_from(i).unwrap_or(u64::MAX).wrapping_add(1);
        let mut key = new_key(seed ^ seed_salt())?;
        site.clear_cookies();
        site.signup(&mut key, &username, None)
            .map_err(|e| format!("signing up {username}: {e}"))?;
        accounts.push(Account { username, key });
        eprint!("\rregistering accounts: {}/{count}", i + 1);
    }
    eprintln!();
    Ok(accounts)
}

/// Per-run randomness for the keys' seeds (so two runs make different keys).
fn seed_salt() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            u64::try_from(d.as_nanos() & 0xFFFF_FFFF_FFFF).unwrap_or(0)
        })
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Completed sign-ins' latencies, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub errors: BTreeMap<String, u64>,
    /// The first error of each code, in full.
    pub first_errors: BTreeMap<String, String>,
    pub elapsed: Duration,
}

struct Shared {
    next: AtomicUsize,
    done: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
    errors: Mutex<(BTreeMap<String, u64>, BTreeMap<String, String>)>,
}

impl Shared {
    fn record_error(&self, e: &SiteError) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut guard) = self.errors.lock() {
            let (counts, first) = &mut *guard;
            *counts.entry(e.code().to_owned()).or_insert(0) += 1;
            first
                .entry(e.code().to_owned())
                .or_insert_with(|| e.to_string());
        }
    }
}

/// `concurrency` threads sign in as the accounts (round robin) for `duration`; a progress line
/// on stderr shows the count so far.
pub fn run(
    target: &Target,
    accounts: Vec<Account>,
    concurrency: usize,
    duration: Duration,
    discoverable: bool,
) -> Outcome {
    let accounts: Vec<Mutex<Account>> = accounts.into_iter().map(Mutex::new).collect();
    let shared = Shared {
        next: AtomicUsize::new(0),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        errors: Mutex::new((BTreeMap::new(), BTreeMap::new())),
    };
    let start = Instant::now();
    let mut latencies = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency)
            .map(|i| {
                let (accounts, shared) = (&accounts, &shared);
                scope.spawn(move || worker(i, target, accounts, shared, discoverable))
            })
            .collect();
        progress(&shared, start, duration);
        shared.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for w in workers {
            if let Ok(mut l) = w.join() {
                all.append(&mut l);
            }
        }
        all
    });
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let (errors, first_errors) = shared.errors.into_inner().unwrap_or_default();
    Outcome {
        latencies_us: latencies,
        errors,
        first_errors,
        elapsed,
    }
}

fn progress(shared: &Shared, start: Instant, duration: Duration) {
    let mut last = (start, 0u64);
    loop {
        let left = duration.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(500)));
        let now = Instant::now();
        let done = shared.done.load(Ordering::Relaxed);
        let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9);
        last = (now, done);
        let elapsed = start.elapsed().as_secs_f64().min(duration.as_secs_f64());
        eprint!(
            "\r{elapsed:5.1}/{:.0} s  {done} sign-ins  {rate:8.0}/s  {} errors   ",
            duration.as_secs_f64(),
            shared.failed.load(Ordering::Relaxed)
        );
        let _ = std::io::stderr().flush();
    }
    eprintln!();
}

/// Thread `index` signs in through instance `index mod n`.
fn worker(
    index: usize,
    target: &Target,
    accounts: &[Mutex<Account>],
    shared: &Shared,
    discoverable: bool,
) -> Vec<u64> {
    let url = target.urls.get(index % target.urls.len().max(1));
    let mut site = Site::new(agent(1), url.map_or("", String::as_str), &target.origin);
    let mut latencies = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let i = shared.next.fetch_add(1, Ordering::Relaxed) % accounts.len().max(1);
        let Some(Ok(mut account)) = accounts.get(i).map(Mutex::lock) else {
            break;
        };
        let account = &mut *account;
        site.clear_cookies();
        let started = Instant::now();
        let username = (!discoverable).then_some(account.username.as_str());
        match site.login(&mut account.key, username, None) {
            Ok(_) => {
                latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                shared.done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => shared.record_error(&e),
        }
    }
    latencies
}

/// The value at quantile `q` (0..=1) of sorted values.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted
        .get(rank.min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_of_sorted_values() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 51);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
    }
}
