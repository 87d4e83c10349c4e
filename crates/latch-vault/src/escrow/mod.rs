//! Escrow of the recovery key with t-of-n guardians, none of which can guess the passcode alone
//! and all of which limit guesses (a password-protected secret sharing in the style of Juicebox
//! and Signal's SVR3, on ordinary servers):
//!
//! - The client stretches the passcode with Argon2id, then asks each guardian for an OPRF
//!   (RFC 9497, ristretto255) evaluation of it under that guardian's own key, blinded so the
//!   guardian learns nothing of the passcode.
//! - Each OPRF output unmasks that guardian's Shamir share of a random secret; t shares give the
//!   secret, a commitment to it tells a right guess from a wrong one, and the secret decrypts
//!   the recovery key.
//! - A guardian counts the guess durably before it answers, and erases its secrets when the
//!   count reaches its limit `g`. An attacker needs t answers per guess, so with n guardians it
//!   gets at most ⌊n·g/t⌋ guesses in all; [`Params`] refuses settings above [`GUESS_LIMIT`].
//!
//! What this does not protect against without hardware (t guardians colluding, an operator
//! rolling back a guardian's database) is written down in SECURITY.md.

pub mod client;
pub mod guardian;
pub mod messages;
mod shamir;

pub use client::{register, sign_stage, Params, Recovery};
pub use guardian::open_stage;

/// The most guesses a registration may allow in total, as Apple's and Google's escrow do.
pub const GUESS_LIMIT: usize = 10;
/// No one guardian allows more than this, whatever a client asks.
pub const MAX_GUESSES_PER_GUARDIAN: u32 = 10;

#[cfg(test)]
mod tests {
    use super::guardian::Registration;
    use super::messages::{State, Status};
    use super::*;
    use crate::error::VaultError;
    use crate::identity::tests::rng;
    use crate::recovery::RecoveryKey;

    /// Guardians in memory, each committing its record before answering, as the real one does.
    struct Guardians(Vec<Registration>);

    impl Guardians {
        fn statuses(&self) -> Vec<Option<Status>> {
            self.0.iter().map(|r| Some(r.status())).collect()
        }

        /// One whole attempt: status, t guesses, and on success the unlocks.
        fn attempt(&mut self, passcode: &[u8], seed: u8) -> Result<RecoveryKey, VaultError> {
            let (recovery, guesses) = Recovery::start(passcode, &self.statuses(), &mut rng(seed))?;
            let mut answers = Vec::new();
            for (i, guess) in guesses {
                let (next, evaluator) = self.0[i].count_guess(&guess)?;
                self.0[i] = next; // committed before the evaluation is computed
                answers.push((i, evaluator.evaluate()?));
            }
            let (key, unlocks) = recovery.finish(&answers)?;
            for (i, unlock) in unlocks {
                self.0[i] = self.0[i].unlock(&unlock)?;
            }
            Ok(key)
        }
    }

    fn registered(params: &Params, passcode: &[u8]) -> (RecoveryKey, Guardians) {
        let mut r = rng(70);
        let key = RecoveryKey::generate(&mut r);
        let stages = register(params, &key, passcode, &mut r).unwrap();
        let records = stages
            .iter()
            .map(|s| Registration::from_stage(s).unwrap())
            .collect();
        (key, Guardians(records))
    }

    #[test]
    fn the_defaults_keep_the_total_at_or_under_ten_guesses() {
        let three = Params::for_guardians(3).unwrap();
        assert_eq!((three.threshold(), three.total_guesses()), (2, 9));
        assert_eq!(Params::for_guardians(5).unwrap().total_guesses(), 10);
        assert_eq!(Params::for_guardians(1).unwrap().total_guesses(), 10);
        assert_eq!(
            Params::new(2, 3, 8),
            Err(VaultError::TooManyGuesses {
                guesses: 12,
                limit: GUESS_LIMIT
            })
        );
        assert_eq!(
            Params::new(4, 3, 1),
            Err(VaultError::BadThreshold { t: 4, n: 3 })
        );
        assert_eq!(
            Params::new(0, 3, 1),
            Err(VaultError::BadThreshold { t: 0, n: 3 })
        );
    }

    #[test]
    fn the_right_passcode_recovers_the_key_and_resets_the_counts() {
        let params = Params::for_guardians(3).unwrap();
        let (key, mut g) = registered(&params, b"123456");
        assert_eq!(
            g.attempt(b"654321", 1).err(),
            Some(VaultError::WrongPasscode { guesses_left: 8 })
        );
        assert_eq!(g.0.iter().map(|r| r.attempted).sum::<u32>(), 2);
        let got = g.attempt(b"123456", 2).unwrap();
        assert_eq!(got.bytes(), key.bytes());
        assert!(
            g.0.iter().all(|r| r.attempted == 0),
            "the unlock reset every count"
        );
        // With one guardian gone, the other two still recover.
        g.0.remove(0);
        assert_eq!(g.attempt(b"123456", 3).unwrap().bytes(), key.bytes());
    }

    #[test]
    fn wrong_guesses_run_out_at_the_limit_and_destroy_the_record() {
        let params = Params::for_guardians(3).unwrap();
        let (_, mut g) = registered(&params, b"123456");
        let mut wrong = 0;
        loop {
            match g.attempt(b"000000", 10 + wrong as u8) {
                Err(VaultError::WrongPasscode { .. }) => wrong += 1,
                Err(VaultError::NoGuesses | VaultError::NotEnoughGuardians { .. }) => break,
                other => panic!("unexpected {:?}", other.err()),
            }
        }
        assert_eq!(wrong, params.total_guesses());
        assert!(g.0.iter().filter(|r| r.secrets.is_none()).count() >= 2);
        assert!(
            g.0.iter()
                .filter(|r| r.status().state == State::NoGuesses)
                .count()
                >= 2
        );
        // The right passcode is now too late.
        assert!(g.attempt(b"123456", 99).is_err());
    }

    #[test]
    fn a_guardian_refuses_a_bad_guess_without_counting_it() {
        let params = Params::for_guardians(3).unwrap();
        let (_, g) = registered(&params, b"1");
        let (_, guesses) = Recovery::start(b"1", &g.statuses(), &mut rng(5)).unwrap();
        let (i, guess) = &guesses[0];
        let record = &g.0[*i];
        let mut bad = guess.clone();
        bad.blinded = [0xff; 32];
        assert_eq!(
            record.count_guess(&bad).err().map(|e| e.to_string()),
            Some(VaultError::Oprf.to_string())
        );
        let mut other = guess.clone();
        other.version = [0; 16];
        assert_eq!(
            record.count_guess(&other).err(),
            Some(VaultError::VersionMismatch)
        );
        let (next, _) = record.count_guess(guess).unwrap();
        assert_eq!(next.attempted, 1);
        let forged = messages::Unlock {
            version: record.version,
            tag: [0; 32],
        };
        assert_eq!(next.unlock(&forged).err(), Some(VaultError::BadUnlockTag));
    }

    #[test]
    fn only_the_owner_replaces_a_registration_and_an_old_stage_cannot_be_replayed() {
        let mut r = rng(72);
        let key = RecoveryKey::generate(&mut r);
        let params = Params::for_guardians(3).unwrap();
        let stage = &register(&params, &key, b"1", &mut r).unwrap()[0];
        let owner = key.signing_key().unwrap();
        let escrow = [4u8; 16];
        let signed = sign_stage(&escrow, None, stage, &owner).unwrap();
        assert_eq!(open_stage(&signed, &escrow, None, None).unwrap(), *stage);
        assert_eq!(
            open_stage(&signed, &escrow, Some(owner.public()), None).unwrap(),
            *stage
        );
        let refused = Some(VaultError::BadSignature {
            what: "escrow registration",
        });
        assert_eq!(open_stage(&signed, &[5; 16], None, None).err(), refused);
        // Someone else's registration over an existing one.
        let other = RecoveryKey::generate(&mut r);
        let theirs = &register(&params, &other, b"2", &mut r).unwrap()[0];
        let signed_theirs = sign_stage(
            &escrow,
            Some(stage.version),
            theirs,
            &other.signing_key().unwrap(),
        )
        .unwrap();
        assert_eq!(
            open_stage(
                &signed_theirs,
                &escrow,
                Some(owner.public()),
                Some(stage.version)
            )
            .err(),
            refused
        );
        // The first stage replayed once a registration is in force, or a stage replayed over
        // the registration it made: refused, so the count cannot be turned back.
        let mismatch = Some(VaultError::RegistrationMismatch);
        assert_eq!(
            open_stage(&signed, &escrow, Some(owner.public()), Some(stage.version)).err(),
            mismatch
        );
        let next = &register(&params, &key, b"1", &mut r).unwrap()[0];
        let replacing = sign_stage(&escrow, Some(stage.version), next, &owner).unwrap();
        assert_eq!(
            open_stage(
                &replacing,
                &escrow,
                Some(owner.public()),
                Some(stage.version)
            )
            .unwrap(),
            *next
        );
        assert_eq!(
            open_stage(
                &replacing,
                &escrow,
                Some(owner.public()),
                Some(next.version)
            )
            .err(),
            mismatch
        );
    }

    #[test]
    fn guardians_on_different_registrations_are_not_mixed() {
        let params = Params::for_guardians(3).unwrap();
        let (_, old) = registered(&params, b"1");
        let mut r = rng(71);
        let key = RecoveryKey::generate(&mut r);
        let new: Vec<Registration> = register(&params, &key, b"2", &mut r)
            .unwrap()
            .iter()
            .map(|s| Registration::from_stage(s).unwrap())
            .collect();
        // Two of three re-registered: the new one is in force.
        let mut mixed = Guardians(vec![new[0].clone(), new[1].clone(), old.0[2].clone()]);
        assert_eq!(mixed.attempt(b"2", 1).unwrap().bytes(), key.bytes());
        // One guardian on each registration and one silent: neither has two.
        let statuses = vec![Some(new[0].status()), Some(old.0[1].status()), None];
        assert_eq!(
            Recovery::start(b"1", &statuses, &mut rng(2)).err(),
            Some(VaultError::NotEnoughGuardians { got: 1, need: 2 })
        );
    }
}
