//! The PIN retry rules (CTAP 2.1 §6.5.5.6 step 6-8, §6.5.5.7 step 5-10), as a two-step state
//! machine whose order the types enforce:
//!
//! 1. [`PinState::begin_pin_check`] refuses a blocked PIN (`retries == 0`) or an auth-blocked
//!    power session (3 consecutive mismatches), then **writes the decremented counter to the
//!    [`PinStore`]** and only then returns a [`PinCheck`].
//! 2. [`PinCheck::compare`] consumes that proof and does the constant-time compare. A match
//!    restores 8 retries (persisted) and yields [`PinVerified`]; a mismatch regenerates the key
//!    agreement, counts the consecutive mismatch and says which error to return.
//!
//! Neither [`PinCheck`] nor [`PinVerified`] can be built anywhere else, so there is no path to a
//! compare that has not paid for its attempt on stable storage first: pulling the power during
//! the compare costs the attacker the attempt.

use aws_lc_rs::constant_time;

use super::protocol::KeyAgreement;
use super::{PersistedPin, PinError, PinState, PinStore, Rng, PIN_HASH_LEN};

/// pinRetries after setPIN, a correct PIN, or authenticatorReset.
pub const MAX_PIN_RETRIES: u8 = 8;

/// Consecutive mismatches in one power session after which every attempt is refused with
/// PIN_AUTH_BLOCKED until a power cycle.
pub const MAX_CONSECUTIVE_MISMATCHES: u8 = 3;

/// Proof that the decremented retry counter was persisted: the right to compare one PIN.
#[derive(Debug)]
#[must_use = "a persisted attempt must be compared, or the retry is lost for nothing"]
pub struct PinCheck {
    _private: (),
}

/// Proof that a PIN check passed. Required to mint a pinUvAuthToken.
#[derive(Debug)]
pub struct PinVerified {
    _private: (),
}

#[cfg(test)]
impl PinVerified {
    /// A proof for unit tests of code that consumes one.
    pub(crate) const fn for_tests() -> Self {
        Self { _private: () }
    }
}

impl PinState {
    /// The checks that come before any attempt: no PIN → PIN_NOT_SET, `retries == 0` →
    /// PIN_BLOCKED, 3 consecutive mismatches this power session → PIN_AUTH_BLOCKED.
    pub fn attempt_allowed(&self) -> Result<(), PinError> {
        if self.persisted.pin_hash.is_none() {
            return Err(PinError::PinNotSet);
        }
        // "If the pinRetries counter is 0, return CTAP2_ERR_PIN_BLOCKED error."
        if self.persisted.retries == 0 {
            return Err(PinError::PinBlocked);
        }
        // The auth-blocked state lasts until a power cycle, even for the correct PIN.
        if self.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
            return Err(PinError::PinAuthBlocked);
        }
        Ok(())
    }

    /// "The authenticator decrements the pinRetries counter by 1" — and writes it to `store`
    /// before anything is compared. If the write fails nothing changes and no compare happens.
    pub fn begin_pin_check(&mut self, store: &mut dyn PinStore) -> Result<PinCheck, PinError> {
        self.attempt_allowed()?;
        let decremented = PersistedPin {
            retries: self.persisted.retries.saturating_sub(1),
            ..self.persisted
        };
        store
            .persist_pin(&decremented)
            .map_err(|_| PinError::Storage)?;
        self.persisted = decremented;
        Ok(PinCheck { _private: () })
    }
}

impl PinCheck {
    /// Compares `presented` (the decrypted pinHashEnc, `None` if it did not decrypt) with
    /// LEFT(SHA-256(PIN), 16) in constant time.
    ///
    /// On a match: pinRetries back to 8 (persisted first), consecutive mismatches to 0.
    /// On a mismatch or an undecryptable pinHashEnc: `key_agreement` is regenerated, the
    /// consecutive count goes up, and the error is PIN_BLOCKED if no retries are left, else
    /// PIN_AUTH_BLOCKED on the third consecutive mismatch, else PIN_INVALID.
    pub fn compare(
        self,
        state: &mut PinState,
        store: &mut dyn PinStore,
        key_agreement: &mut KeyAgreement,
        rng: &mut dyn Rng,
        presented: Option<&[u8]>,
    ) -> Result<PinVerified, PinError> {
        let Some(stored) = state.persisted.pin_hash else {
            return Err(PinError::PinNotSet);
        };
        let matches = presented
            .filter(|presented| presented.len() == PIN_HASH_LEN)
            .is_some_and(|presented| {
                constant_time::verify_slices_are_equal(&stored, presented).is_ok()
            });
        if !matches {
            // "Calls regenerate for the selected pinUvAuthProtocol."
            key_agreement.regenerate(rng)?;
            state.consecutive_mismatches = state.consecutive_mismatches.saturating_add(1);
            if state.persisted.retries == 0 {
                return Err(PinError::PinBlocked);
            }
            if state.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
                return Err(PinError::PinAuthBlocked);
            }
            return Err(PinError::PinInvalid);
        }
        // "The authenticator sets the pinRetries counter to maximum value."
        let reset = PersistedPin {
            retries: MAX_PIN_RETRIES,
            ..state.persisted
        };
        store.persist_pin(&reset).map_err(|_| PinError::Storage)?;
        state.persisted = reset;
        state.consecutive_mismatches = 0;
        Ok(PinVerified { _private: () })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::pin_hash;
    use crate::pin::protocol::PinUvAuthProtocol;
    use crate::pin::testing::{state_with_pin, RecordingStore, TestRng};

    struct Harness {
        state: PinState,
        store: RecordingStore,
        rng: TestRng,
        key_agreement: KeyAgreement,
    }

    impl Harness {
        fn new(pin: &str) -> Self {
            let mut rng = TestRng::new(7);
            let key_agreement = KeyAgreement::generate(PinUvAuthProtocol::Two, &mut rng).unwrap();
            Self {
                state: state_with_pin(pin),
                store: RecordingStore::default(),
                rng,
                key_agreement,
            }
        }

        fn attempt(&mut self, pin: &str) -> Result<PinVerified, PinError> {
            let check = self.state.begin_pin_check(&mut self.store)?;
            let hash = pin_hash(pin.as_bytes());
            check.compare(
                &mut self.state,
                &mut self.store,
                &mut self.key_agreement,
                &mut self.rng,
                Some(&hash),
            )
        }
    }

    #[test]
    fn retries_start_at_eight() {
        assert_eq!(PinState::new().retries(), 8);
        assert_eq!(state_with_pin("1234").retries(), 8);
    }

    #[test]
    fn decrement_is_persisted_before_the_compare() {
        let mut h = Harness::new("1234");
        let check = h.state.begin_pin_check(&mut h.store).unwrap();
        // The compare has not happened yet, and storage already holds 7.
        assert_eq!(h.store.retries_written(), vec![7]);
        assert_eq!(h.state.retries(), 7);
        let hash = pin_hash(b"1234");
        check
            .compare(
                &mut h.state,
                &mut h.store,
                &mut h.key_agreement,
                &mut h.rng,
                Some(&hash),
            )
            .unwrap();
        // Then the success restores 8, again through storage.
        assert_eq!(h.store.retries_written(), vec![7, 8]);
        assert_eq!(h.state.retries(), 8);
    }

    #[test]
    fn failed_write_means_no_compare_and_no_change() {
        let mut h = Harness::new("1234");
        h.store.fail_writes = true;
        assert_eq!(
            h.state.begin_pin_check(&mut h.store).unwrap_err(),
            PinError::Storage
        );
        assert_eq!(h.state.retries(), 8);
        assert_eq!(h.state.consecutive_mismatches(), 0);
    }

    #[test]
    fn wrong_pin_keeps_decrement_and_regenerates_key_agreement() {
        let mut h = Harness::new("1234");
        let before = h.key_agreement.public_key();
        let err = h.attempt("4321").unwrap_err();
        assert_eq!(err, PinError::PinInvalid);
        assert_eq!(err.status(), 0x31);
        assert_eq!(h.state.retries(), 7);
        assert_eq!(h.state.consecutive_mismatches(), 1);
        assert_eq!(h.store.retries_written(), vec![7]);
        assert_ne!(h.key_agreement.public_key(), before);
    }

    #[test]
    fn undecryptable_pin_hash_counts_as_a_mismatch() {
        let mut h = Harness::new("1234");
        let check = h.state.begin_pin_check(&mut h.store).unwrap();
        let err = check
            .compare(
                &mut h.state,
                &mut h.store,
                &mut h.key_agreement,
                &mut h.rng,
                None,
            )
            .unwrap_err();
        assert_eq!(err, PinError::PinInvalid);
        let check = h.state.begin_pin_check(&mut h.store).unwrap();
        let short = &pin_hash(b"1234")[..15];
        assert_eq!(
            check
                .compare(
                    &mut h.state,
                    &mut h.store,
                    &mut h.key_agreement,
                    &mut h.rng,
                    Some(short)
                )
                .unwrap_err(),
            PinError::PinInvalid
        );
        assert_eq!(h.state.retries(), 6);
        assert_eq!(h.state.consecutive_mismatches(), 2);
    }

    #[test]
    fn third_consecutive_mismatch_auth_blocks_until_power_cycle() {
        let mut h = Harness::new("1234");
        assert_eq!(h.attempt("0000").unwrap_err(), PinError::PinInvalid);
        assert_eq!(h.attempt("0000").unwrap_err(), PinError::PinInvalid);
        let err = h.attempt("0000").unwrap_err();
        assert_eq!(err, PinError::PinAuthBlocked);
        assert_eq!(err.status(), 0x34);
        assert!(h.state.power_cycle_state());
        // Even the right PIN is refused, without touching the counter.
        let err = h.attempt("1234").unwrap_err();
        assert_eq!(err, PinError::PinAuthBlocked);
        assert_eq!(h.state.retries(), 5);
        assert_eq!(h.store.retries_written(), vec![7, 6, 5]);
        h.state.power_cycle();
        assert!(!h.state.power_cycle_state());
        h.attempt("1234").unwrap();
        assert_eq!(h.state.retries(), 8);
        assert_eq!(h.state.consecutive_mismatches(), 0);
    }

    #[test]
    fn correct_pin_after_two_wrong_resets_both_counters() {
        let mut h = Harness::new("1234");
        h.attempt("1111").unwrap_err();
        h.attempt("2222").unwrap_err();
        assert_eq!(h.state.retries(), 6);
        assert_eq!(h.state.consecutive_mismatches(), 2);
        h.attempt("1234").unwrap();
        assert_eq!(h.state.retries(), 8);
        assert_eq!(h.state.consecutive_mismatches(), 0);
        // The consecutive count really restarted: two more wrong ones are not yet blocking.
        assert_eq!(h.attempt("1111").unwrap_err(), PinError::PinInvalid);
        assert_eq!(h.attempt("1111").unwrap_err(), PinError::PinInvalid);
    }

    #[test]
    fn eight_wrong_pins_with_power_cycles_block_for_good() {
        let mut h = Harness::new("1234");
        let mut errors = Vec::new();
        for attempt in 1..=8u8 {
            errors.push(h.attempt("9999").unwrap_err());
            assert_eq!(h.state.retries(), 8 - attempt);
            if attempt % 3 == 0 {
                h.state.power_cycle();
            }
        }
        use PinError::{PinAuthBlocked as AB, PinBlocked as B, PinInvalid as I};
        assert_eq!(errors, vec![I, I, AB, I, I, AB, I, B]);
        assert_eq!(PinError::PinBlocked.status(), 0x32);
        // Blocked even for the right PIN, and across power cycles; nothing more is written.
        let writes = h.store.retries_written().len();
        assert_eq!(h.attempt("1234").unwrap_err(), PinError::PinBlocked);
        h.state.power_cycle();
        assert_eq!(h.attempt("1234").unwrap_err(), PinError::PinBlocked);
        assert_eq!(h.state.retries(), 0);
        assert_eq!(h.store.retries_written().len(), writes);
    }

    #[test]
    fn no_pin_means_pin_not_set_without_a_write() {
        let mut state = PinState::new();
        let mut store = RecordingStore::default();
        let err = state.begin_pin_check(&mut store).unwrap_err();
        assert_eq!(err, PinError::PinNotSet);
        assert_eq!(err.status(), 0x35);
        assert!(store.writes.is_empty());
    }
}
