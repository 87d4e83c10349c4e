//! What the authenticator core needs from its host, and nothing more: randomness, a clock, a
//! way to ask for user presence, and credential storage.

use crate::pin::Rng;
use crate::store::CredentialStore;

/// Milliseconds since an arbitrary epoch (power-up is fine); only differences matter.
pub trait Clock {
    /// The current time in milliseconds.
    fn now_ms(&self) -> u64;
}

/// The answer to a user-presence request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The user touched the key.
    Approved,
    /// The user declined.
    Denied,
    /// Nobody answered within the timeout (30 s).
    Timeout,
}

/// Asks the user to confirm an operation.
pub trait UserPresence {
    /// Asks for a touch for `what` (e.g. "register", "authenticate") on `rp_id`.
    fn request(&mut self, rp_id: &str, what: &str) -> Presence;

    /// Built-in user verification (the simulated biometric): asks the operator to verify the
    /// user for `what` on `rp_id`. Only called when the authenticator is configured with
    /// built-in UV; `Approved` means the user was verified (and present).
    fn verify(&mut self, rp_id: &str, what: &str) -> Presence {
        let _ = (rp_id, what);
        Presence::Denied
    }
}

/// The four parts of the host environment, borrowed for one request.
pub struct Env<'a> {
    /// Randomness (a CSPRNG in production).
    pub rng: &'a mut dyn Rng,
    /// Time.
    pub clock: &'a dyn Clock,
    /// User presence.
    pub presence: &'a mut dyn UserPresence,
    /// Credential storage.
    pub store: &'a mut dyn CredentialStore,
}
