//! Rate limits on guessing: passwords, authenticator-app and recovery codes, failed passkey
//! sign-ins, each per account (or username) and per client network, and sign-ups (which
//! tell taken usernames) per client network. A client network is an IPv4 address or an IPv6
//! /64 (`--ipv6-prefix`).
//!
//! Counts live in the database (`rate_limits`), so they hold across every instance and
//! restart. Windows are fixed: an attempt past `max` in the current window is refused with
//! 429 `too_many_attempts` and `Retry-After` (the seconds left in the window).
//!
//! Password attempts are keyed by the username as typed (normalized), never by the account:
//! a username nobody has is limited exactly like a real one, so the lockout says nothing
//! about which accounts exist.

use crate::error::ApiError;
use crate::state::{AppState, Sweep};
use crate::store::{rate_limits, Conn, DbError};

/// What is limited, how many attempts a window allows, and how long a window lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub scope: &'static str,
    pub max: i64,
    pub window: i64,
}

const WINDOW: i64 = 900;

/// Password tries per username from one client network (sign-in, re-authentication,
/// changing the password): what stops guessing. Keyed with the network, so that guesses from
/// elsewhere cannot lock the owner out.
pub const PASSWORD_PER_ACCOUNT_AND_IP: Limit = Limit {
    scope: "password_account_ip",
    max: 5,
    window: WINDOW,
};
/// Password tries per username from anywhere: a ceiling far above one network's, against
/// guessing spread over many addresses. (A passkey sign-in is never held back by it.)
pub const PASSWORD_PER_ACCOUNT: Limit = Limit {
    scope: "password_account",
    max: 100,
    window: WINDOW,
};
/// Password tries per client IP, whatever the username.
pub const PASSWORD_PER_IP: Limit = Limit {
    scope: "password_ip",
    max: 100,
    window: WINDOW,
};
/// Authenticator-app and recovery-code tries per account (across its waiting sign-ins).
pub const CODE_PER_ACCOUNT: Limit = Limit {
    scope: "code_account",
    max: 10,
    window: WINDOW,
};
pub const CODE_PER_IP: Limit = Limit {
    scope: "code_ip",
    max: 50,
    window: WINDOW,
};
/// Failed passkey / security-key sign-ins per (credential id, IP) and per IP. Keyed by the
/// pair, not the credential alone: credential IDs are public (login/begin lists them), so a
/// per-credential count would let anyone lock the owner out, and a signature cannot be
/// guessed anyway.
pub const ASSERTION_PER_CREDENTIAL: Limit = Limit {
    scope: "assertion_credential",
    max: 10,
    window: WINDOW,
};
pub const ASSERTION_PER_IP: Limit = Limit {
    scope: "assertion_ip",
    max: 100,
    window: WINDOW,
};

/// Sign-ups begun per client network: each says whether a username is taken.
pub const SIGNUP_PER_IP: Limit = Limit {
    scope: "signup_ip",
    max: 20,
    window: WINDOW,
};

impl Limit {
    fn window_start(self, now: i64) -> i64 {
        now.div_euclid(self.window).saturating_mul(self.window)
    }

    fn retry_after(self, now: i64) -> i64 {
        self.window_start(now)
            .saturating_add(self.window)
            .saturating_sub(now)
            .max(1)
    }
}

/// One limit applied to one key; no key (e.g. no known IP) means the limit does not apply.
pub type Keyed<'a> = (Limit, Option<&'a str>);

/// The password key of what someone typed as a username, whether or not it is valid or taken.
/// (For a valid username this is the username itself: trimmed and lowercased.)
pub fn username_key(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(64).collect()
}

/// The limits one password try counts against, and their keys.
#[derive(Debug, Clone)]
pub struct PasswordTry {
    /// The username and the client's network.
    pair: String,
    account: String,
    ip: Option<String>,
}

impl PasswordTry {
    /// A try of the password of `typed_username` from `ip_key` ([`crate::http::ClientMeta`]).
    pub fn new(typed_username: &str, ip_key: Option<&str>) -> PasswordTry {
        let account = username_key(typed_username);
        PasswordTry {
            pair: format!("{account}|{}", ip_key.unwrap_or_default()),
            account,
            ip: ip_key.map(str::to_owned),
        }
    }

    fn keys(&self) -> [Keyed<'_>; 3] {
        [
            (PASSWORD_PER_ACCOUNT_AND_IP, Some(&self.pair)),
            (PASSWORD_PER_ACCOUNT, Some(&self.account)),
            (PASSWORD_PER_IP, self.ip.as_deref()),
        ]
    }

    /// Counts the try (committed before the password is checked) and refuses past a limit.
    pub async fn count(&self, state: &AppState) -> Result<(), ApiError> {
        attempt(state, &self.keys()).await
    }

    /// The password was right: this network's tries for the account start over (the
    /// account's ceiling and the network's own count stay).
    pub async fn succeeded(&self, conn: &mut Conn) -> Result<(), ApiError> {
        reset(conn, PASSWORD_PER_ACCOUNT_AND_IP, &self.pair).await
    }
}

/// The code key of an account.
pub fn account_key(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Counts one attempt against every limit *before* the secret is checked (a crash or a cut
/// connection mid-check still costs the attempt), then refuses if any is over.
pub async fn attempt(state: &AppState, keys: &[Keyed<'_>]) -> Result<(), ApiError> {
    let now = state.now();
    let counts = hit_all(state, keys, now).await?;
    let retry_after = keys
        .iter()
        .filter(|(_, key)| key.is_some())
        .zip(counts)
        .filter(|((limit, _), n)| *n > limit.max)
        .map(|((limit, _), _)| limit.retry_after(now))
        .max();
    match retry_after {
        Some(retry_after) => Err(ApiError::TooManyAttempts { retry_after }),
        None => Ok(()),
    }
}

/// Counts one attempt against every limit that applies and returns their counts, in order.
/// A write like any other: on SQLite it joins the group commit, so a flood of guesses never
/// holds a pooled connection while it waits for the write lock.
async fn hit_all(state: &AppState, keys: &[Keyed<'_>], now: i64) -> Result<Vec<i64>, ApiError> {
    let owned: Vec<(Limit, String)> = keys
        .iter()
        .filter_map(|(limit, key)| key.map(|k| (*limit, k.to_owned())))
        .collect();
    let sweep = state.sweep_due(Sweep::RateLimits, now);
    let counts = state
        .store
        .write_each(move |conn| {
            Box::pin(async move {
                if sweep {
                    rate_limits::purge_expired(conn, now).await?;
                }
                let mut counts = Vec::with_capacity(owned.len());
                for (limit, key) in &owned {
                    let start = limit.window_start(now);
                    let end = start.saturating_add(limit.window);
                    counts.push(rate_limits::hit(conn, limit.scope, key, start, end).await?);
                }
                Ok::<_, DbError>(counts)
            })
        })
        .await?;
    Ok(counts)
}

/// Refuses if any limit is used up, counting nothing: for checks whose failures alone count
/// (see [`failed`]).
pub async fn check(state: &AppState, keys: &[Keyed<'_>]) -> Result<(), ApiError> {
    let now = state.now();
    let mut conn = state.store.conn().await?;
    let counts = rate_limits::counts(&mut conn, &windows(keys, now)).await?;
    refuse_used_up(keys, &counts, now)
}

/// The (scope, key, window start) of each limit that applies (has a key), in order: what
/// [`refuse_used_up`] wants the counts of.
pub fn windows<'a>(keys: &[Keyed<'a>], now: i64) -> Vec<(&'static str, &'a str, i64)> {
    keys.iter()
        .filter_map(|(limit, key)| key.map(|k| (limit.scope, k, limit.window_start(now))))
        .collect()
}

/// [`check`] given the counts of [`windows`] (read by the caller, with other things).
pub fn refuse_used_up(keys: &[Keyed<'_>], counts: &[i64], now: i64) -> Result<(), ApiError> {
    let applying = keys.iter().filter(|(_, key)| key.is_some());
    let retry_after = applying
        .zip(counts)
        .filter(|((limit, _), n)| **n >= limit.max)
        .map(|((limit, _), _)| limit.retry_after(now))
        .max();
    match retry_after {
        Some(retry_after) => Err(ApiError::TooManyAttempts { retry_after }),
        None => Ok(()),
    }
}

/// Whether a failed assertion counts toward the limits: they stop guessing, and a counter
/// that lost a race with a concurrent sign-in (or regressed) came with a valid signature, so
/// it is no guess. Internal errors are the server's, not the caller's, and a refusal for
/// being over the limit checked nothing (counting it would make a blocked flood cost writes).
pub fn counts_as_attempt(error: &ApiError) -> bool {
    !matches!(
        error,
        ApiError::Internal(_)
            | ApiError::TooManyAttempts { .. }
            | ApiError::CounterRaced
            | ApiError::Ceremony(latch_webauthn::Error::CounterRegressed { .. })
    )
}

/// Counts a failure after the fact (outside the failed call's rolled-back transaction) and
/// returns the call's own error; a failure to count is logged, not returned.
pub async fn failed(state: &AppState, keys: &[Keyed<'_>], error: ApiError) -> ApiError {
    if let Err(e) = hit_all(state, keys, state.now()).await {
        eprintln!("latch-server: cannot count a failed attempt: {e}");
    }
    error
}

/// A success: the attempts of `key` start over (per-account limits only; an IP's count
/// stays, or one good account would reset an attacker's address).
pub async fn reset(conn: &mut Conn, limit: Limit, key: &str) -> Result<(), ApiError> {
    rate_limits::reset(conn, limit.scope, key).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_guesses_count() {
        assert!(counts_as_attempt(&ApiError::Ceremony(
            latch_webauthn::Error::ChallengeMismatch
        )));
        assert!(!counts_as_attempt(&ApiError::CounterRaced));
        assert!(!counts_as_attempt(&ApiError::TooManyAttempts {
            retry_after: 1
        }));
        assert!(!counts_as_attempt(&ApiError::Ceremony(
            latch_webauthn::Error::CounterRegressed { stored: 5, got: 4 }
        )));
    }

    #[test]
    fn windows_are_fixed_and_retry_after_counts_what_is_left() {
        let l = PASSWORD_PER_ACCOUNT_AND_IP;
        assert_eq!(l.window_start(1800), 1800);
        assert_eq!(l.window_start(2699), 1800);
        assert_eq!(l.retry_after(1800), 900);
        assert_eq!(l.retry_after(2699), 1);
    }

    #[test]
    fn usernames_key_as_signed_in_with() {
        assert_eq!(username_key("  Ada "), "ada");
        assert_eq!(username_key(&"X".repeat(100)).len(), 64);
    }
}
