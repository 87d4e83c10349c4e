//! What the client and a guardian say to each other, as CBOR. A guardian parses only these, so
//! they are where untrusted bytes enter it (and what the fuzz target feeds).

use serde::{Deserialize, Serialize};

use crate::error::VaultError;
use crate::wire::{decode, encode};

pub const MAX_MESSAGE_BYTES: usize = 2048;

/// The first phase of a registration: stored beside the current record, not yet used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
    /// The Ed25519 key that may replace this registration later (the recovery signing key).
    #[serde(with = "serde_bytes")]
    pub owner: [u8; 32],
    /// This guardian's x-coordinate in the secret sharing, 1..=n.
    pub index: u8,
    /// How many guardians a recovery needs.
    pub threshold: u8,
    /// How many guesses this guardian allows before it erases the record.
    pub allowed: u32,
    /// This guardian's OPRF key for this registration (RFC 9497, ristretto255-SHA512).
    #[serde(with = "serde_bytes")]
    pub oprf_key: [u8; 32],
    /// The share, masked with this guardian's OPRF output on the stretched passcode.
    #[serde(with = "serde_bytes")]
    pub masked_share: [u8; 32],
    /// A hash of the secret: how a client tells a right guess from a wrong one.
    #[serde(with = "serde_bytes")]
    pub commitment: [u8; 32],
    /// What a client that recovered the secret shows to reset the count.
    #[serde(with = "serde_bytes")]
    pub unlock_tag: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub salt: [u8; 32],
    /// The recovery key, encrypted under a key derived from the secret.
    #[serde(with = "serde_bytes")]
    pub wrapped_key: Vec<u8>,
}

/// A [`Stage`] as sent: signed by the key that owns the escrow now (for a first registration,
/// by the owner it names), so only the holder of the recovery key can replace a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStage {
    /// The version of the registration this one replaces (none for the first): a stage made
    /// to replace an older registration cannot be replayed over a newer one.
    #[serde(with = "serde_bytes")]
    pub replaces: Option<[u8; 16]>,
    #[serde(with = "serde_bytes")]
    pub stage: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

pub(crate) const STAGE_CONTEXT: &[u8] = b"latch-vault/escrow-stage/v1";

/// What a staged registration's signature covers: the escrow it is for, the registration it
/// replaces, and the stage.
pub(crate) fn stage_signed_bytes(
    escrow: &[u8; 16],
    replaces: Option<&[u8; 16]>,
    stage: &[u8],
) -> Vec<u8> {
    let mut m = escrow.to_vec();
    match replaces {
        Some(v) => {
            m.push(1);
            m.extend_from_slice(v);
        }
        None => m.push(0),
    }
    m.extend_from_slice(stage);
    m
}

/// The second phase: the staged registration replaces the current one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Registered,
    NoGuesses,
}

/// What a guardian says of a record without counting a guess.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
    pub index: u8,
    pub threshold: u8,
    #[serde(with = "serde_bytes")]
    pub salt: [u8; 32],
    pub guesses_left: u32,
}

/// One guess: the stretched passcode, blinded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluate {
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
    #[serde(with = "serde_bytes")]
    pub blinded: [u8; 32],
}

/// A guardian's answer to a guess, sent only after the guess was counted durably.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
    pub index: u8,
    #[serde(with = "serde_bytes")]
    pub evaluated: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub masked_share: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub commitment: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub wrapped_key: Vec<u8>,
    pub guesses_left: u32,
}

/// Proof that the client recovered the secret: resets the guess count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    #[serde(with = "serde_bytes")]
    pub version: [u8; 16],
    #[serde(with = "serde_bytes")]
    pub tag: [u8; 32],
}

macro_rules! wire {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn parse(bytes: &[u8]) -> Result<Self, VaultError> {
                decode(stringify!($t), bytes, MAX_MESSAGE_BYTES)
            }

            pub fn to_bytes(&self) -> Result<Vec<u8>, VaultError> {
                encode(stringify!($t), self)
            }
        }
    )*};
}

wire!(
    Stage,
    SignedStage,
    Commit,
    Status,
    Evaluate,
    Evaluation,
    Unlock
);
