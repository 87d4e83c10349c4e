//! Epoch keys: one random key per membership epoch, the key every item's key is wrapped under.
//! A device gets an epoch's key as a key share: the key encrypted to that device alone with
//! HPKE (RFC 9180, DHKEM(X25519) + HKDF-SHA-256 + ChaCha20-Poly1305) and signed by the member
//! that shared it. A removed device gets no share of the next epoch.

use std::collections::BTreeMap;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::identity::{DevicePublic, DeviceSecret, HpkeKem};
use crate::ids::{DeviceId, VaultId};
use crate::ledger::Ledger;
use crate::recovery::RecoveryKey;
use crate::wire::{decode, encode, framed};

const SHARE_CONTEXT: &[u8] = b"latch-vault/key-share/v1";
const VERSION: u64 = 1;
pub const MAX_SHARE_BYTES: usize = 1024;

pub struct EpochKey {
    epoch: u64,
    key: Zeroizing<[u8; 32]>,
}

impl EpochKey {
    pub fn generate(epoch: u64, rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut_slice());
        EpochKey { epoch, key }
    }

    pub fn from_bytes(epoch: u64, bytes: &[u8]) -> Result<Self, VaultError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(VaultError::malformed("epoch key", "not 32 bytes"));
        }
        key.copy_from_slice(bytes);
        Ok(EpochKey { epoch, key })
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The key itself, for the device to keep on its own disk.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// The epoch keys a device holds, by epoch.
#[derive(Default)]
pub struct Keyring {
    keys: BTreeMap<u64, EpochKey>,
}

impl Keyring {
    pub fn insert(&mut self, key: EpochKey) {
        self.keys.insert(key.epoch, key);
    }

    pub fn get(&self, epoch: u64) -> Result<&EpochKey, VaultError> {
        self.keys
            .get(&epoch)
            .ok_or(VaultError::MissingEpochKey(epoch))
    }

    pub fn epochs(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.keys().copied()
    }
}

#[derive(Serialize, Deserialize)]
struct ShareBody {
    v: u64,
    vault: VaultId,
    epoch: u64,
    recipient: DeviceId,
    sharer: DeviceId,
    #[serde(with = "serde_bytes")]
    enc: Vec<u8>,
    #[serde(with = "serde_bytes")]
    ct: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ShareEnvelope {
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// What the share's encryption binds besides the key: the vault, epoch and both devices.
fn share_aad(vault: VaultId, epoch: u64, recipient: DeviceId, sharer: DeviceId) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + 8 + 16 + 16);
    m.extend_from_slice(&vault.0);
    m.extend_from_slice(&epoch.to_be_bytes());
    m.extend_from_slice(&recipient.0);
    m.extend_from_slice(&sharer.0);
    framed(SHARE_CONTEXT, &m)
}

/// A key share as the store holds it: who it is for and which epoch, readable without opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareHeader {
    pub vault: VaultId,
    pub epoch: u64,
    pub recipient: DeviceId,
    pub sharer: DeviceId,
}

/// Encrypts `key`, and the recovery key in force with it, to `recipient`; signs it as `sharer`.
pub fn share(
    vault: VaultId,
    key: &EpochKey,
    recovery: &RecoveryKey,
    recipient: &DevicePublic,
    sharer: &DeviceSecret,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, VaultError> {
    let aad = share_aad(vault, key.epoch, recipient.id(), sharer.id());
    let mut both = Zeroizing::new(Vec::with_capacity(64));
    both.extend_from_slice(key.bytes());
    both.extend_from_slice(recovery.bytes());
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, HpkeKem, _>(
        &OpModeS::Base,
        &recipient.hpke_key()?,
        SHARE_CONTEXT,
        &both,
        &aad,
        rng,
    )
    .map_err(|e| VaultError::malformed("key share", e))?;
    let body = ShareBody {
        v: VERSION,
        vault,
        epoch: key.epoch,
        recipient: recipient.id(),
        sharer: sharer.id(),
        enc: enc.to_bytes().to_vec(),
        ct,
    };
    let body = encode("key share", &body)?;
    let sig = sharer.sign(SHARE_CONTEXT, &body);
    encode("key share", &ShareEnvelope { body, sig })
}

fn parse(bytes: &[u8]) -> Result<(ShareBody, ShareEnvelope), VaultError> {
    let envelope: ShareEnvelope = decode("key share", bytes, MAX_SHARE_BYTES)?;
    let body: ShareBody = decode("key share", &envelope.body, MAX_SHARE_BYTES)?;
    if body.v != VERSION {
        return Err(VaultError::UnsupportedVersion {
            what: "key share",
            version: body.v,
        });
    }
    Ok((body, envelope))
}

/// Who a share is for, without opening it: what the store indexes shares by.
pub fn share_header(bytes: &[u8]) -> Result<ShareHeader, VaultError> {
    let (body, _) = parse(bytes)?;
    Ok(ShareHeader {
        vault: body.vault,
        epoch: body.epoch,
        recipient: body.recipient,
        sharer: body.sharer,
    })
}

/// Opens a share addressed to `me`, checking in order: the vault, the recipient, the epoch,
/// that the sharer is a current member, its signature, and the encryption. Returns the epoch
/// key and the recovery key that came with it.
pub fn open_share(
    bytes: &[u8],
    me: &DeviceSecret,
    ledger: &Ledger,
) -> Result<(EpochKey, RecoveryKey), VaultError> {
    let (body, envelope) = parse(bytes)?;
    if body.vault != ledger.vault() {
        return Err(VaultError::WrongVault);
    }
    if body.recipient != me.id() {
        return Err(VaultError::NotForThisDevice(body.recipient));
    }
    if body.epoch > ledger.epoch() {
        return Err(VaultError::ShareEpochAhead {
            current: ledger.epoch(),
            got: body.epoch,
        });
    }
    let sharer = ledger
        .member(&body.sharer)
        .ok_or(VaultError::SignerNotMember(body.sharer))?;
    sharer
        .public
        .verify(SHARE_CONTEXT, &envelope.body, &envelope.sig, "key share")?;
    let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&body.enc)
        .map_err(|_| VaultError::Decrypt { what: "key share" })?;
    let aad = share_aad(body.vault, body.epoch, body.recipient, body.sharer);
    let key = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeR::Base,
        &me.hpke_key()?,
        &enc,
        SHARE_CONTEXT,
        &body.ct,
        &aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| VaultError::Decrypt { what: "key share" })?;
    let (epoch_key, recovery) = key.split_at(32.min(key.len()));
    Ok((
        EpochKey::from_bytes(body.epoch, epoch_key)?,
        RecoveryKey::from_bytes(recovery)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;
    use crate::ledger::{Op, Via};

    #[test]
    fn a_share_opens_for_its_recipient_only_and_checks_every_binding() {
        let mut r = rng(20);
        let a = DeviceSecret::generate(&mut r).unwrap();
        let b = DeviceSecret::generate(&mut r).unwrap();
        let outsider = DeviceSecret::generate(&mut r).unwrap();
        let (mut ledger, _) = Ledger::create(
            VaultId([1; 16]),
            &a,
            [0; 32],
            crate::ledger::tests::escrow(),
            0,
        )
        .unwrap();
        let add = ledger
            .propose(
                Op::Add {
                    device: b.public(),
                    via: Via::Sponsor,
                },
                &a,
                1,
            )
            .unwrap();
        ledger.append(add.bytes()).unwrap();
        let key = EpochKey::generate(0, &mut r);
        let rk = RecoveryKey::generate(&mut r);

        let good = share(ledger.vault(), &key, &rk, &b.public(), &a, &mut r).unwrap();
        let (opened, recovery) = open_share(&good, &b, &ledger).unwrap();
        assert_eq!(
            (opened.bytes(), recovery.bytes()),
            (key.bytes(), rk.bytes())
        );
        let header = share_header(&good).unwrap();
        assert_eq!(
            (header.recipient, header.sharer, header.epoch),
            (b.id(), a.id(), 0)
        );

        assert_eq!(
            open_share(&good, &a, &ledger).err(),
            Some(VaultError::NotForThisDevice(b.id()))
        );
        let other_vault = share(VaultId([2; 16]), &key, &rk, &b.public(), &a, &mut r).unwrap();
        assert_eq!(
            open_share(&other_vault, &b, &ledger).err(),
            Some(VaultError::WrongVault)
        );
        let ahead = share(
            ledger.vault(),
            &EpochKey::generate(3, &mut r),
            &rk,
            &b.public(),
            &a,
            &mut r,
        )
        .unwrap();
        assert_eq!(
            open_share(&ahead, &b, &ledger).err(),
            Some(VaultError::ShareEpochAhead { current: 0, got: 3 })
        );
        let by_outsider = share(ledger.vault(), &key, &rk, &b.public(), &outsider, &mut r).unwrap();
        assert_eq!(
            open_share(&by_outsider, &b, &ledger).err(),
            Some(VaultError::SignerNotMember(outsider.id()))
        );
        // Re-signed by nobody: the body of a good share with another share's signature.
        let (body, _) = parse(&good).unwrap();
        let (_, other_env) =
            parse(&share(ledger.vault(), &key, &rk, &b.public(), &a, &mut r).unwrap()).unwrap();
        let swapped = encode(
            "key share",
            &ShareEnvelope {
                body: encode("key share", &body).unwrap(),
                sig: other_env.sig,
            },
        )
        .unwrap();
        assert_eq!(
            open_share(&swapped, &b, &ledger).err(),
            Some(VaultError::BadSignature { what: "key share" })
        );
        // A member that signs a ciphertext that was not made for these bindings.
        let mut broken = parse(&good).unwrap().0;
        broken.ct[0] ^= 1;
        let body = encode("key share", &broken).unwrap();
        let sig = a.sign(SHARE_CONTEXT, &body);
        let tampered = encode("key share", &ShareEnvelope { body, sig }).unwrap();
        assert_eq!(
            open_share(&tampered, &b, &ledger).err(),
            Some(VaultError::Decrypt { what: "key share" })
        );
        assert!(matches!(
            open_share(b"junk", &b, &ledger),
            Err(VaultError::Malformed { .. })
        ));
    }
}
