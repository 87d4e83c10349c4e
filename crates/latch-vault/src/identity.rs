//! Device identities: an Ed25519 key that signs (ledger entries, key shares, writes) and an
//! X25519 key that epoch keys are encrypted to with HPKE. Both are made on the device and never
//! leave it; the vault knows devices by their public halves.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use hpke::{Deserializable, Kem as _, Serializable};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::ids::DeviceId;
use crate::wire::{framed, sha256};

pub(crate) type HpkeKem = hpke::kem::X25519HkdfSha256;

/// An Ed25519 signing key from a 32-byte seed: a device's identity, or the recovery signing
/// key derived from the recovery key.
pub struct SigningKey {
    seed: Zeroizing<[u8; 32]>,
    pair: Ed25519KeyPair,
    public: [u8; 32],
}

impl SigningKey {
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, VaultError> {
        let seed = Zeroizing::new(seed);
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_slice())
            .map_err(|e| VaultError::malformed("signing key", e))?;
        let public = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| VaultError::malformed("signing key", "public key is not 32 bytes"))?;
        Ok(SigningKey { seed, pair, public })
    }

    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// Signs `message` for one purpose, named by `context`.
    pub fn sign(&self, context: &[u8], message: &[u8]) -> Vec<u8> {
        self.pair.sign(&framed(context, message)).as_ref().to_vec()
    }
}

/// Checks an Ed25519 signature made by [`SigningKey::sign`] with the same context.
pub fn verify(
    public: &[u8; 32],
    context: &[u8],
    message: &[u8],
    sig: &[u8],
    what: &'static str,
) -> Result<(), VaultError> {
    UnparsedPublicKey::new(&signature::ED25519, public)
        .verify(&framed(context, message), sig)
        .map_err(|_| VaultError::BadSignature { what })
}

/// What everyone may know about a device.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePublic {
    #[serde(with = "serde_bytes")]
    pub signing: [u8; 32],
    #[serde(with = "serde_bytes")]
    pub hpke: [u8; 32],
}

impl DevicePublic {
    pub fn id(&self) -> DeviceId {
        let mut both = [0u8; 64];
        let (a, b) = both.split_at_mut(32);
        a.copy_from_slice(&self.signing);
        b.copy_from_slice(&self.hpke);
        let hash = sha256(b"latch-vault/device-id/v1", &both);
        let mut id = [0u8; 16];
        id.copy_from_slice(hash.get(..16).unwrap_or(&[0; 16]));
        DeviceId(id)
    }

    pub fn verify(
        &self,
        context: &[u8],
        message: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<(), VaultError> {
        verify(&self.signing, context, message, sig, what)
    }

    pub(crate) fn hpke_key(&self) -> Result<<HpkeKem as hpke::Kem>::PublicKey, VaultError> {
        <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&self.hpke)
            .map_err(|e| VaultError::malformed("device encryption key", e))
    }
}

impl std::fmt::Debug for DevicePublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevicePublic({})", self.id())
    }
}

/// A device's own secret keys.
pub struct DeviceSecret {
    signing: SigningKey,
    hpke: Zeroizing<[u8; 32]>,
    public: DevicePublic,
}

impl DeviceSecret {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Result<Self, VaultError> {
        let mut bytes = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(bytes.as_mut_slice());
        Self::from_bytes(bytes.as_slice())
    }

    /// The 64 bytes a device keeps to be itself again: the signing seed, then the X25519 key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(64));
        out.extend_from_slice(self.signing.seed.as_slice());
        out.extend_from_slice(self.hpke.as_slice());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != 64 {
            return Err(VaultError::malformed("device secret", "not 64 bytes"));
        }
        let (seed, hpke) = bytes.split_at(32);
        let mut seed_arr = [0u8; 32];
        seed_arr.copy_from_slice(seed);
        let signing = SigningKey::from_seed(seed_arr)?;
        let mut hpke_arr = Zeroizing::new([0u8; 32]);
        hpke_arr.copy_from_slice(hpke);
        let private = <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(hpke_arr.as_slice())
            .map_err(|e| VaultError::malformed("device secret", e))?;
        let mut hpke_public = [0u8; 32];
        hpke_public.copy_from_slice(&HpkeKem::sk_to_pk(&private).to_bytes());
        let public = DevicePublic {
            signing: signing.public(),
            hpke: hpke_public,
        };
        Ok(DeviceSecret {
            signing,
            hpke: hpke_arr,
            public,
        })
    }

    pub fn public(&self) -> DevicePublic {
        self.public
    }

    pub fn id(&self) -> DeviceId {
        self.public.id()
    }

    pub fn sign(&self, context: &[u8], message: &[u8]) -> Vec<u8> {
        self.signing.sign(context, message)
    }

    pub(crate) fn hpke_key(&self) -> Result<<HpkeKem as hpke::Kem>::PrivateKey, VaultError> {
        <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(self.hpke.as_slice())
            .map_err(|e| VaultError::malformed("device secret", e))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reproducible generator for tests; the real one is `rand_core::OsRng`.
    pub(crate) fn rng(seed: u8) -> rand::rngs::StdRng {
        use rand::SeedableRng;
        rand::rngs::StdRng::from_seed([seed; 32])
    }

    #[test]
    fn a_device_is_itself_again_from_its_bytes() {
        let d = DeviceSecret::generate(&mut rng(1)).unwrap();
        let again = DeviceSecret::from_bytes(&d.to_bytes()).unwrap();
        assert_eq!(d.public(), again.public());
        assert_eq!(d.id(), again.id());
        assert!(DeviceSecret::from_bytes(&[0; 63]).is_err());
    }

    #[test]
    fn signatures_bind_the_key_the_context_and_the_message() {
        let d = DeviceSecret::generate(&mut rng(2)).unwrap();
        let other = DeviceSecret::generate(&mut rng(3)).unwrap();
        let sig = d.sign(b"ctx", b"message");
        assert_eq!(d.public().verify(b"ctx", b"message", &sig, "test"), Ok(()));
        let bad = Err(VaultError::BadSignature { what: "test" });
        assert_eq!(d.public().verify(b"ctx", b"massage", &sig, "test"), bad);
        assert_eq!(d.public().verify(b"other", b"message", &sig, "test"), bad);
        assert_eq!(other.public().verify(b"ctx", b"message", &sig, "test"), bad);
        assert_eq!(
            d.public().verify(b"ctx", b"message", &sig[..63], "test"),
            bad
        );
    }
}
