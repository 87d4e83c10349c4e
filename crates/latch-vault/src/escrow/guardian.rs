//! A guardian's side of escrow, as pure state transitions; `latch guardian` stores the records
//! and runs these. The rule that makes the guess limit hold: a guess is counted, and at the limit
//! the secrets are erased, in the record the guardian commits *before* it may compute the
//! evaluation; [`Registration::count_guess`] hands out the [`Evaluator`] only together with that
//! record, and a storage layer that cannot commit it must drop the evaluator unanswered.

use subtle::ConstantTimeEq;
use voprf::{BlindedElement, OprfServer, Ristretto255};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::VaultError;
use crate::escrow::messages::{
    stage_signed_bytes, Evaluate, Evaluation, SignedStage, Stage, State, Status, Unlock,
    STAGE_CONTEXT,
};
use crate::escrow::MAX_GUESSES_PER_GUARDIAN;
use crate::identity::verify;

/// Opens a signed staged registration for `escrow`: signed by `owner`, the key that owns the
/// escrow now, or for a first registration (`None`) by the owner the stage names; and made to
/// replace `current`, the version in force here, so an old stage cannot be replayed to turn
/// the count back. Checked before anything is stored.
pub fn open_stage(
    bytes: &[u8],
    escrow: &[u8; 16],
    owner: Option<[u8; 32]>,
    current: Option<[u8; 16]>,
) -> Result<Stage, VaultError> {
    let signed = SignedStage::parse(bytes)?;
    let stage = Stage::parse(&signed.stage)?;
    let key = owner.unwrap_or(stage.owner);
    let message = stage_signed_bytes(escrow, signed.replaces.as_ref(), &signed.stage);
    verify(
        &key,
        STAGE_CONTEXT,
        &message,
        &signed.sig,
        "escrow registration",
    )?;
    if signed.replaces != current || Some(stage.version) == current {
        return Err(VaultError::RegistrationMismatch);
    }
    Registration::from_stage(&stage)?;
    Ok(stage)
}

/// What is erased when the guesses run out.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secrets {
    pub oprf_key: [u8; 32],
    pub masked_share: [u8; 32],
    pub unlock_tag: [u8; 32],
    pub wrapped_key: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// One escrow registration as a guardian holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub version: [u8; 16],
    pub index: u8,
    pub threshold: u8,
    pub allowed: u32,
    pub attempted: u32,
    pub salt: [u8; 32],
    pub commitment: [u8; 32],
    /// `None` once the guesses ran out: the record is destroyed.
    pub secrets: Option<Secrets>,
}

impl Registration {
    /// Checks a staged registration before it is stored.
    pub fn from_stage(stage: &Stage) -> Result<Registration, VaultError> {
        if stage.allowed == 0 || stage.allowed > MAX_GUESSES_PER_GUARDIAN {
            return Err(VaultError::TooManyGuesses {
                guesses: stage.allowed as usize,
                limit: MAX_GUESSES_PER_GUARDIAN as usize,
            });
        }
        if stage.index == 0 || stage.threshold == 0 || stage.threshold > 16 {
            return Err(VaultError::BadThreshold {
                t: stage.threshold.into(),
                n: stage.index.into(),
            });
        }
        OprfServer::<Ristretto255>::deserialize(&stage.oprf_key).map_err(|_| VaultError::Oprf)?;
        Ok(Registration {
            version: stage.version,
            index: stage.index,
            threshold: stage.threshold,
            allowed: stage.allowed,
            attempted: 0,
            salt: stage.salt,
            commitment: stage.commitment,
            secrets: Some(Secrets {
                oprf_key: stage.oprf_key,
                masked_share: stage.masked_share,
                unlock_tag: stage.unlock_tag,
                wrapped_key: stage.wrapped_key.clone(),
            }),
        })
    }

    pub fn guesses_left(&self) -> u32 {
        match self.secrets {
            Some(_) => self.allowed.saturating_sub(self.attempted),
            None => 0,
        }
    }

    pub fn status(&self) -> Status {
        Status {
            state: if self.secrets.is_some() {
                State::Registered
            } else {
                State::NoGuesses
            },
            version: self.version,
            index: self.index,
            threshold: self.threshold,
            salt: self.salt,
            guesses_left: self.guesses_left(),
        }
    }

    /// Counts one guess. Returns the record to commit (one more attempt; at the limit, the
    /// secrets gone) and the evaluator to run once it is committed. The blinded point is checked
    /// first, so malformed input costs no guess.
    pub fn count_guess(&self, guess: &Evaluate) -> Result<(Registration, Evaluator), VaultError> {
        let blinded = BlindedElement::<Ristretto255>::deserialize(&guess.blinded)
            .map_err(|_| VaultError::Oprf)?;
        if guess.version != self.version {
            return Err(VaultError::VersionMismatch);
        }
        let secrets = match &self.secrets {
            Some(s) if self.attempted < self.allowed => s.clone(),
            _ => return Err(VaultError::NoGuesses),
        };
        let mut next = self.clone();
        next.attempted += 1;
        if next.attempted >= next.allowed {
            next.secrets = None;
        }
        let evaluator = Evaluator {
            blinded,
            secrets,
            version: self.version,
            index: self.index,
            commitment: self.commitment,
            guesses_left: next.guesses_left(),
        };
        Ok((next, evaluator))
    }

    /// Resets the count for a client that shows the unlock tag, compared in constant time.
    pub fn unlock(&self, unlock: &Unlock) -> Result<Registration, VaultError> {
        if unlock.version != self.version {
            return Err(VaultError::VersionMismatch);
        }
        let secrets = self.secrets.as_ref().ok_or(VaultError::NoGuesses)?;
        if !bool::from(secrets.unlock_tag.ct_eq(&unlock.tag)) {
            return Err(VaultError::BadUnlockTag);
        }
        Ok(Registration {
            attempted: 0,
            ..self.clone()
        })
    }
}

/// The OPRF evaluation of one counted guess.
pub struct Evaluator {
    blinded: BlindedElement<Ristretto255>,
    secrets: Secrets,
    version: [u8; 16],
    index: u8,
    commitment: [u8; 32],
    guesses_left: u32,
}

impl Evaluator {
    pub fn evaluate(self) -> Result<Evaluation, VaultError> {
        let server = OprfServer::<Ristretto255>::deserialize(&self.secrets.oprf_key)
            .map_err(|_| VaultError::Oprf)?;
        let evaluated: [u8; 32] = server
            .blind_evaluate(&self.blinded)
            .serialize()
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Oprf)?;
        Ok(Evaluation {
            version: self.version,
            index: self.index,
            evaluated,
            masked_share: self.secrets.masked_share,
            commitment: self.commitment,
            wrapped_key: self.secrets.wrapped_key.clone(),
            guesses_left: self.guesses_left,
        })
    }
}
