//! latch-vault: end-to-end encrypted passkey sync, the device side. Sans-IO: bytes, state,
//! randomness and time go in; results come out. The store and the guardians only ever see what
//! this crate hands them: ciphertext, signed ledger entries, wrapped keys, blinded points.
//!
//! - [`identity`]: a device's Ed25519 and X25519 keys.
//! - [`ledger`]: the signed, hash-chained membership ledger (the circle of trust).
//! - [`epoch`]: epoch keys and their HPKE key shares, one per member device.
//! - [`recovery`]: the recovery key the guardians escrow, and epoch keys wrapped under it.
//! - [`item`] and [`content`]: sealed passkeys, tombstones and how concurrent edits merge.
//! - [`pairing`]: the short code that lets an existing device approve a new one.
//! - [`escrow`]: threshold escrow of the recovery key with guardians that limit guesses.

pub mod content;
pub mod cxf;
pub mod epoch;
mod error;
pub mod escrow;
pub mod identity;
mod ids;
pub mod item;
pub mod ledger;
pub mod pairing;
pub mod recovery;
pub mod request;
mod seal;
mod wire;

pub use error::VaultError;
pub use ids::{DeviceId, ItemId, VaultId};
