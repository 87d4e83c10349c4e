//! Test doubles for the whole core: a seeded RNG, an advanceable clock, scripted presence and a
//! [`MemoryStore`]. Public so integration tests and the binary's tests can use them.

use std::cell::Cell;
use std::collections::VecDeque;

use crate::env::{Clock, Env, Presence, UserPresence};
use crate::pin::Rng;
use crate::store::MemoryStore;

/// Xorshift64*: deterministic and seedable. Not a CSPRNG: tests only.
#[derive(Debug, Clone)]
pub struct XorShiftRng {
    state: u64,
}

impl XorShiftRng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero constant).
    pub const fn new(seed: u64) -> Self {
        Self {
            state: if seed == 0 {
                0x2545_F491_4F6C_DD1D
            } else {
                seed
            },
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Rng for XorShiftRng {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk
                .iter_mut()
                .zip(bytes)
                .for_each(|(out, byte)| *out = byte);
        }
    }
}

/// A clock that moves only when told.
#[derive(Debug, Default)]
pub struct TestClock {
    now: Cell<u64>,
}

impl TestClock {
    /// Moves time forward.
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get().saturating_add(ms));
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
}

/// Answers presence requests from a script, then with a default; records every request.
#[derive(Debug)]
pub struct ScriptedPresence {
    /// Answers still to give, in order.
    pub script: VecDeque<Presence>,
    /// The answer once the script is exhausted.
    pub default: Presence,
    /// Every request as (rp_id, what).
    pub requests: Vec<(String, String)>,
    /// Answers to built-in user-verification requests, in order.
    pub uv_script: VecDeque<Presence>,
    /// The user-verification answer once `uv_script` is exhausted.
    pub uv_default: Presence,
    /// Every user-verification request as (rp_id, what).
    pub uv_requests: Vec<(String, String)>,
}

impl Default for ScriptedPresence {
    fn default() -> Self {
        Self {
            script: VecDeque::new(),
            default: Presence::Approved,
            requests: Vec::new(),
            uv_script: VecDeque::new(),
            uv_default: Presence::Approved,
            uv_requests: Vec::new(),
        }
    }
}

impl UserPresence for ScriptedPresence {
    fn request(&mut self, rp_id: &str, what: &str) -> Presence {
        self.requests.push((rp_id.to_owned(), what.to_owned()));
        self.script.pop_front().unwrap_or(self.default)
    }

    fn verify(&mut self, rp_id: &str, what: &str) -> Presence {
        self.uv_requests.push((rp_id.to_owned(), what.to_owned()));
        self.uv_script.pop_front().unwrap_or(self.uv_default)
    }
}

/// Everything a test needs to drive the authenticator.
#[derive(Debug)]
pub struct TestEnv {
    /// Seeded randomness.
    pub rng: XorShiftRng,
    /// Virtual time.
    pub clock: TestClock,
    /// Scripted user presence.
    pub presence: ScriptedPresence,
    /// In-memory storage.
    pub store: MemoryStore,
}

impl TestEnv {
    /// A fresh environment: time 0, presence always approved, room for 16 credentials.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: XorShiftRng::new(seed),
            clock: TestClock::default(),
            presence: ScriptedPresence::default(),
            store: MemoryStore::new(16),
        }
    }

    /// Borrows the parts as an [`Env`].
    pub fn env(&mut self) -> Env<'_> {
        Env {
            rng: &mut self.rng,
            clock: &self.clock,
            presence: &mut self.presence,
            store: &mut self.store,
        }
    }

    /// Moves time forward.
    pub fn advance(&self, ms: u64) {
        self.clock.advance(ms);
    }
}
