//! The recovery key: 32 random bytes made on the first device, the one secret the guardians
//! escrow. From it come the recovery signing key (named in the ledger's genesis; it signs a
//! recovery join) and the key that wraps each epoch key for the store, so that a device that
//! recovers the recovery key can read the vault with no other device alive.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::epoch::EpochKey;
use crate::error::VaultError;
use crate::identity::SigningKey;
use crate::ids::VaultId;
use crate::seal::{derive, open, seal, NONCE_LEN};
use crate::wire::{decode, encode, framed};

const WRAP_CONTEXT: &[u8] = b"latch-vault/recovery-wrap/v1";
const VERSION: u64 = 1;
pub const MAX_WRAP_BYTES: usize = 256;

pub struct RecoveryKey(Zeroizing<[u8; 32]>);

#[derive(Serialize, Deserialize)]
struct Wrapped {
    v: u64,
    vault: VaultId,
    epoch: u64,
    #[serde(with = "serde_bytes")]
    nonce: [u8; NONCE_LEN],
    #[serde(with = "serde_bytes")]
    ct: Vec<u8>,
}

fn wrap_aad(vault: VaultId, epoch: u64) -> Vec<u8> {
    let mut m = vault.0.to_vec();
    m.extend_from_slice(&epoch.to_be_bytes());
    framed(WRAP_CONTEXT, &m)
}

/// Which vault and epoch a wrap says it is for, unchecked: what the store files it by.
pub fn wrap_header(bytes: &[u8]) -> Result<(VaultId, u64), VaultError> {
    let w: Wrapped = decode("wrapped epoch key", bytes, MAX_WRAP_BYTES)?;
    Ok((w.vault, w.epoch))
}

impl RecoveryKey {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut_slice());
        RecoveryKey(key)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(VaultError::malformed("recovery key", "not 32 bytes"));
        }
        key.copy_from_slice(bytes);
        Ok(RecoveryKey(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn signing_key(&self) -> Result<SigningKey, VaultError> {
        SigningKey::from_seed(*derive(
            self.0.as_slice(),
            b"latch-vault/recovery-signing/v1",
        ))
    }

    /// The epoch key wrapped for the store, to be opened after a recovery.
    pub fn wrap(
        &self,
        vault: VaultId,
        key: &EpochKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, VaultError> {
        let wrap_key = derive(self.0.as_slice(), WRAP_CONTEXT);
        let aad = wrap_aad(vault, key.epoch());
        let (nonce, ct) = seal(&wrap_key, &aad, key.bytes(), rng)?;
        encode(
            "wrapped epoch key",
            &Wrapped {
                v: VERSION,
                vault,
                epoch: key.epoch(),
                nonce,
                ct,
            },
        )
    }

    pub fn unwrap(&self, vault: VaultId, bytes: &[u8]) -> Result<EpochKey, VaultError> {
        let w: Wrapped = decode("wrapped epoch key", bytes, MAX_WRAP_BYTES)?;
        if w.v != VERSION {
            return Err(VaultError::UnsupportedVersion {
                what: "wrapped epoch key",
                version: w.v,
            });
        }
        if w.vault != vault {
            return Err(VaultError::WrongVault);
        }
        let wrap_key = derive(self.0.as_slice(), WRAP_CONTEXT);
        let key = open(
            &wrap_key,
            &w.nonce,
            &wrap_aad(vault, w.epoch),
            &w.ct,
            "wrapped epoch key",
        )?;
        EpochKey::from_bytes(w.epoch, &key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;

    #[test]
    fn a_wrapped_epoch_key_opens_with_its_recovery_key_and_vault_only() {
        let mut r = rng(30);
        let rk = RecoveryKey::generate(&mut r);
        let key = EpochKey::generate(4, &mut r);
        let vault = VaultId([1; 16]);
        let wrapped = rk.wrap(vault, &key, &mut r).unwrap();
        let back = rk.unwrap(vault, &wrapped).unwrap();
        assert_eq!((back.epoch(), back.bytes()), (4, key.bytes()));
        assert_eq!(
            rk.unwrap(VaultId([2; 16]), &wrapped).err(),
            Some(VaultError::WrongVault)
        );
        let other = RecoveryKey::generate(&mut r);
        assert_eq!(
            other.unwrap(vault, &wrapped).err(),
            Some(VaultError::Decrypt {
                what: "wrapped epoch key"
            })
        );
        // The epoch number is bound: relabelling the wrap for another epoch fails to open.
        let mut w: Wrapped = decode("w", &wrapped, MAX_WRAP_BYTES).unwrap();
        w.epoch = 5;
        let relabelled = encode("w", &w).unwrap();
        assert_eq!(
            rk.unwrap(vault, &relabelled).err(),
            Some(VaultError::Decrypt {
                what: "wrapped epoch key"
            })
        );
        assert_ne!(
            rk.signing_key().unwrap().public(),
            other.signing_key().unwrap().public()
        );
    }
}
