//! The client's side of escrow: registering the recovery key with the guardians, and getting it
//! back from t of them with the passcode.

use curve25519_dalek::Scalar;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use voprf::{EvaluationElement, OprfClient, OprfServer, Ristretto255};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::escrow::messages::{
    stage_signed_bytes, Evaluate, Evaluation, SignedStage, Stage, State, Status, Unlock,
    STAGE_CONTEXT,
};
use crate::escrow::shamir::{combine, random_scalar, split};
use crate::escrow::{GUESS_LIMIT, MAX_GUESSES_PER_GUARDIAN};
use crate::identity::SigningKey;
use crate::recovery::RecoveryKey;
use crate::seal::{derive, open, seal, NONCE_LEN};
use crate::wire::sha256;

const OPRF_INFO: &[u8] = b"latch-vault/escrow-oprf/v1";

/// How the recovery key is spread: `threshold` of `guardians` needed, each allowing
/// `guesses_per_guardian` wrong guesses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    threshold: usize,
    guardians: usize,
    guesses_per_guardian: u32,
}

impl Params {
    pub fn new(
        threshold: usize,
        guardians: usize,
        guesses_per_guardian: u32,
    ) -> Result<Self, VaultError> {
        if threshold == 0 || threshold > guardians || guardians > 16 {
            return Err(VaultError::BadThreshold {
                t: threshold,
                n: guardians,
            });
        }
        let guesses = guardians * guesses_per_guardian as usize / threshold;
        if guesses_per_guardian == 0
            || guesses > GUESS_LIMIT
            || guesses_per_guardian > MAX_GUESSES_PER_GUARDIAN
        {
            return Err(VaultError::TooManyGuesses {
                guesses,
                limit: GUESS_LIMIT,
            });
        }
        Ok(Params {
            threshold,
            guardians,
            guesses_per_guardian,
        })
    }

    /// The defaults for n guardians: a majority needed, and as many guesses per guardian as
    /// keep the total at or under the limit (n = 3: t = 2, 6 each, 9 in all).
    pub fn for_guardians(n: usize) -> Result<Self, VaultError> {
        let t = n / 2 + 1;
        let g = (GUESS_LIMIT * t / n.max(1)) as u32;
        Params::new(t, n, g.min(MAX_GUESSES_PER_GUARDIAN))
    }

    /// The most guesses anyone gets: ⌊n·g/t⌋.
    pub fn total_guesses(&self) -> usize {
        self.guardians * self.guesses_per_guardian as usize / self.threshold
    }

    pub fn threshold(&self) -> usize {
        self.threshold
    }

    pub fn guardians(&self) -> usize {
        self.guardians
    }
}

/// The passcode, stretched with Argon2id (19 MiB, 2 passes) and the registration's salt.
fn stretch(passcode: &[u8], salt: &[u8; 32]) -> Result<Zeroizing<[u8; 64]>, VaultError> {
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(64))
        .map_err(|e| VaultError::Stretch(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 64]);
    argon
        .hash_password_into(passcode, salt, out.as_mut_slice())
        .map_err(|e| VaultError::Stretch(e.to_string()))?;
    Ok(out)
}

fn with_version(secret: &[u8], version: &[u8; 16]) -> Zeroizing<Vec<u8>> {
    let mut m = Zeroizing::new(secret.to_vec());
    m.extend_from_slice(version);
    m
}

fn commitment(secret: &Scalar, version: &[u8; 16]) -> [u8; 32] {
    sha256(
        b"latch-vault/escrow-commitment/v1",
        &with_version(secret.as_bytes(), version),
    )
}

fn mask(oprf_output: &[u8], version: &[u8; 16], index: u8) -> Zeroizing<[u8; 32]> {
    let mut m = with_version(oprf_output, version);
    m.push(index);
    derive(&m, b"latch-vault/escrow-mask/v1")
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

fn unlock_tag(secret: &Scalar, version: &[u8; 16], index: u8) -> Result<[u8; 32], VaultError> {
    let key = derive(
        &with_version(secret.as_bytes(), version),
        b"latch-vault/escrow-unlock/v1",
    );
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_slice())
        .map_err(|_| VaultError::BadUnlockTag)?;
    mac.update(version);
    mac.update(&[index]);
    Ok(mac.finalize().into_bytes().into())
}

fn wrap_key(secret: &Scalar, version: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    derive(
        &with_version(secret.as_bytes(), version),
        b"latch-vault/escrow-key-wrap/v1",
    )
}

/// Makes one staged registration per guardian (in order: guardian i gets index i + 1) that
/// escrows `key` under `passcode`. Each has a fresh version and fresh OPRF keys, so a new
/// registration starts every count at zero.
pub fn register(
    params: &Params,
    key: &RecoveryKey,
    passcode: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<Stage>, VaultError> {
    let owner = key.signing_key()?.public();
    let mut version = [0u8; 16];
    rng.fill_bytes(&mut version);
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);
    let stretched = stretch(passcode, &salt)?;
    let secret = random_scalar(rng);
    let (nonce, ct) = seal(&wrap_key(&secret, &version), &version, key.bytes(), rng)?;
    let mut wrapped_key = nonce.to_vec();
    wrapped_key.extend_from_slice(&ct);
    let commitment = commitment(&secret, &version);
    let threshold = u8::try_from(params.threshold).map_err(|_| VaultError::BadThreshold {
        t: params.threshold,
        n: params.guardians,
    })?;
    split(&secret, params.threshold, params.guardians, rng)
        .into_iter()
        .map(|(index, share)| {
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(seed.as_mut_slice());
            let server = OprfServer::<Ristretto255>::new_from_seed(seed.as_slice(), OPRF_INFO)
                .map_err(|_| VaultError::Oprf)?;
            let output = server
                .evaluate(stretched.as_slice())
                .map_err(|_| VaultError::Oprf)?;
            let oprf_key: [u8; 32] = server
                .serialize()
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::Oprf)?;
            Ok(Stage {
                version,
                owner,
                index,
                threshold,
                allowed: params.guesses_per_guardian,
                oprf_key,
                masked_share: *xor(share.as_bytes(), &mask(&output, &version, index)),
                commitment,
                unlock_tag: unlock_tag(&secret, &version, index)?,
                salt,
                wrapped_key: wrapped_key.clone(),
            })
        })
        .collect()
}

/// A staged registration for the guardian's escrow `escrow`, replacing the registration of
/// version `replaces` there (none for a first one), signed by `signer`: the key that owns the
/// escrow now (for a first registration, the new owner itself).
pub fn sign_stage(
    escrow: &[u8; 16],
    replaces: Option<[u8; 16]>,
    stage: &Stage,
    signer: &SigningKey,
) -> Result<Vec<u8>, VaultError> {
    let bytes = stage.to_bytes()?;
    let sig = signer.sign(
        STAGE_CONTEXT,
        &stage_signed_bytes(escrow, replaces.as_ref(), &bytes),
    );
    SignedStage {
        replaces,
        stage: bytes,
        sig,
    }
    .to_bytes()
}

/// A recovery in progress: the guesses sent to t guardians, waiting for their evaluations.
pub struct Recovery {
    stretched: Zeroizing<[u8; 64]>,
    version: [u8; 16],
    threshold: usize,
    /// Per guardian asked (its position in the caller's list): its index and blinding state.
    asked: Vec<(usize, u8, OprfClient<Ristretto255>)>,
    /// Guesses left at the guardians not asked.
    others_left: u32,
    /// Every guardian on this registration (position, index): all get an unlock on success.
    on_version: Vec<(usize, u8)>,
}

impl Recovery {
    /// Picks t guardians that agree on one registration from their statuses (`None` for one
    /// that did not answer), stretches the passcode and blinds it for each. Returns the guesses
    /// to send, by position in `statuses`.
    pub fn start(
        passcode: &[u8],
        statuses: &[Option<Status>],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Recovery, Vec<(usize, Evaluate)>), VaultError> {
        let live: Vec<(usize, &Status)> = statuses
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
            .filter(|(_, s)| s.state == State::Registered && s.guesses_left > 0)
            .collect();
        if live.is_empty() {
            let destroyed = statuses
                .iter()
                .flatten()
                .any(|s| s.state == State::NoGuesses);
            return Err(if destroyed {
                VaultError::NoGuesses
            } else {
                VaultError::NotEnoughGuardians { got: 0, need: 1 }
            });
        }
        // The registration most guardians hold: a half-finished re-registration leaves the
        // old one in force at the rest.
        let (version, salt, threshold) = live
            .iter()
            .map(|(_, s)| (s.version, s.salt, s.threshold))
            .max_by_key(|key| {
                live.iter()
                    .filter(|(_, s)| (s.version, s.salt, s.threshold) == *key)
                    .count()
            })
            .ok_or(VaultError::VersionMismatch)?;
        let threshold = usize::from(threshold);
        let mut agreeing: Vec<(usize, &Status)> = live
            .into_iter()
            .filter(|(_, s)| {
                s.version == version && s.salt == salt && usize::from(s.threshold) == threshold
            })
            .collect();
        if agreeing.len() < threshold {
            return Err(VaultError::NotEnoughGuardians {
                got: agreeing.len(),
                need: threshold,
            });
        }
        // Spend guesses where most are left, so no guardian runs out before the others.
        agreeing.sort_by_key(|(_, s)| std::cmp::Reverse(s.guesses_left));
        let on_version = agreeing.iter().map(|(p, s)| (*p, s.index)).collect();
        let others_left = agreeing
            .iter()
            .skip(threshold)
            .map(|(_, s)| s.guesses_left)
            .sum();
        agreeing.truncate(threshold);

        let stretched = stretch(passcode, &salt)?;
        let mut asked = Vec::with_capacity(threshold);
        let mut guesses = Vec::with_capacity(threshold);
        for (position, status) in agreeing {
            let blind = OprfClient::<Ristretto255>::blind(stretched.as_slice(), rng)
                .map_err(|_| VaultError::Oprf)?;
            let blinded: [u8; 32] = blind
                .message
                .serialize()
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::Oprf)?;
            asked.push((position, status.index, blind.state));
            guesses.push((position, Evaluate { version, blinded }));
        }
        Ok((
            Recovery {
                stretched,
                version,
                threshold,
                asked,
                others_left,
                on_version,
            },
            guesses,
        ))
    }

    /// Turns the t evaluations into the recovery key, and the unlock messages that reset the
    /// guardians' counts. A wrong passcode says how many guesses are left in all.
    pub fn finish(
        self,
        answers: &[(usize, Evaluation)],
    ) -> Result<(RecoveryKey, Vec<(usize, Unlock)>), VaultError> {
        let mut shares = Vec::with_capacity(self.asked.len());
        let mut commitments = Vec::with_capacity(self.asked.len());
        let mut wrapped = None;
        let mut left = self.others_left;
        let mut wrong = false;
        for (position, index, state) in &self.asked {
            let answer = answers
                .iter()
                .find(|(p, _)| p == position)
                .map(|(_, a)| a)
                .ok_or(VaultError::NotEnoughGuardians {
                    got: answers.len(),
                    need: self.threshold,
                })?;
            if answer.version != self.version || answer.index != *index {
                return Err(VaultError::VersionMismatch);
            }
            left += answer.guesses_left;
            let element = EvaluationElement::<Ristretto255>::deserialize(&answer.evaluated)
                .map_err(|_| VaultError::Oprf)?;
            let output = state
                .finalize(self.stretched.as_slice(), &element)
                .map_err(|_| VaultError::Oprf)?;
            let share = xor(&answer.masked_share, &mask(&output, &self.version, *index));
            // A wrong passcode unmasks random bytes, most often not a canonical scalar.
            match Option::<Scalar>::from(Scalar::from_canonical_bytes(*share)) {
                Some(s) => shares.push((*index, s)),
                None => wrong = true,
            }
            commitments.push(answer.commitment);
            wrapped = Some(answer.wrapped_key.clone());
        }
        let guesses_left = left / self.threshold.max(1) as u32;
        if commitments.windows(2).any(|w| w.first() != w.get(1)) {
            return Err(VaultError::VersionMismatch);
        }
        let expected = commitments.first().ok_or(VaultError::VersionMismatch)?;
        if wrong {
            return Err(VaultError::WrongPasscode { guesses_left });
        }
        let secret = combine(&shares)?;
        if !bool::from(commitment(&secret, &self.version).ct_eq(expected)) {
            return Err(VaultError::WrongPasscode { guesses_left });
        }
        let wrapped = wrapped.ok_or(VaultError::VersionMismatch)?;
        let (nonce, ct) = wrapped.split_at(NONCE_LEN.min(wrapped.len()));
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Decrypt {
            what: "escrowed recovery key",
        })?;
        let key = open(
            &wrap_key(&secret, &self.version),
            &nonce,
            &self.version,
            ct,
            "escrowed recovery key",
        )?;
        let key = RecoveryKey::from_bytes(&key)?;
        let unlocks = self
            .on_version
            .iter()
            .map(|(position, index)| {
                let tag = unlock_tag(&secret, &self.version, *index)?;
                Ok((
                    *position,
                    Unlock {
                        version: self.version,
                        tag,
                    },
                ))
            })
            .collect::<Result<_, VaultError>>()?;
        Ok((key, unlocks))
    }
}
