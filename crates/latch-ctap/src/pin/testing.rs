//! Test doubles for the PIN module: a seeded RNG, a scripted RNG, and a store that records every
//! write (and can be told to fail).

use super::{pin_hash, PersistedPin, PinState, PinStore, Rng, StorageError};

/// SplitMix64: deterministic, seedable, good enough to make distinct keys and IVs.
#[derive(Debug, Clone)]
pub(crate) struct TestRng {
    state: u64,
}

impl TestRng {
    pub(crate) const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Rng for TestRng {
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

/// Hands out the scripted bytes in order, then zeros.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScriptedRng {
    bytes: Vec<u8>,
    position: usize,
}

impl ScriptedRng {
    pub(crate) fn new(chunks: &[&[u8]]) -> Self {
        Self {
            bytes: chunks.concat(),
            position: 0,
        }
    }
}

impl Rng for ScriptedRng {
    fn fill(&mut self, dest: &mut [u8]) {
        for out in dest {
            *out = self.bytes.get(self.position).copied().unwrap_or(0);
            self.position += 1;
        }
    }
}

/// Records every persisted state, in order.
#[derive(Debug, Default)]
pub(crate) struct RecordingStore {
    pub(crate) writes: Vec<PersistedPin>,
    pub(crate) fail_writes: bool,
}

impl RecordingStore {
    pub(crate) fn retries_written(&self) -> Vec<u8> {
        self.writes.iter().map(|state| state.retries).collect()
    }

    pub(crate) fn last(&self) -> Option<&PersistedPin> {
        self.writes.last()
    }
}

impl PinStore for RecordingStore {
    fn persist_pin(&mut self, state: &PersistedPin) -> Result<(), StorageError> {
        if self.fail_writes {
            return Err(StorageError);
        }
        self.writes.push(*state);
        Ok(())
    }
}

/// A power-up state with `pin` set and 8 retries.
pub(crate) fn state_with_pin(pin: &str) -> PinState {
    PinState::restore(PersistedPin {
        pin_hash: Some(pin_hash(pin.as_bytes())),
        pin_code_points: u8::try_from(pin.chars().count()).unwrap_or(u8::MAX),
        ..PersistedPin::default()
    })
}
