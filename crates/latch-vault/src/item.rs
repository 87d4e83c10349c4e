//! Sealed items: one passkey (or tombstone) per item, encrypted under a fresh data key that is
//! itself wrapped under the epoch key. Both encryptions bind the vault, item, revision, epoch,
//! tombstone flag and schema version, so the store can neither move a ciphertext to another item
//! nor pass an old revision off as a new one, nor turn a passkey into a deletion.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::content::Content;
use crate::epoch::{EpochKey, Keyring};
use crate::error::VaultError;
use crate::ids::{ItemId, VaultId};
use crate::seal::{open, seal, NONCE_LEN};
use crate::wire::{decode, encode, framed};

const ITEM_CONTEXT: &[u8] = b"latch-vault/item/v1";
const DEK_CONTEXT: &[u8] = b"latch-vault/item-key/v1";
const SCHEMA: u64 = 1;
/// A passkey is a few hundred bytes; large-blob data would be the only large part. (The
/// store takes request bodies of 64 KiB, and the item travels as base64 inside one.)
pub const MAX_ITEM_BYTES: usize = 32 * 1024;

/// What the store may read of a sealed item, and what it indexes it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemHeader {
    pub vault: VaultId,
    pub item: ItemId,
    pub revision: u64,
    pub epoch: u64,
    pub deleted: bool,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    v: u64,
    #[serde(flatten)]
    header: ItemHeader,
    #[serde(with = "serde_bytes")]
    dek_nonce: [u8; NONCE_LEN],
    #[serde(with = "serde_bytes")]
    dek: Vec<u8>,
    #[serde(with = "serde_bytes")]
    nonce: [u8; NONCE_LEN],
    #[serde(with = "serde_bytes")]
    ct: Vec<u8>,
}

fn aad(context: &[u8], h: &ItemHeader) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + 16 + 8 + 8 + 1 + 8);
    m.extend_from_slice(&h.vault.0);
    m.extend_from_slice(&h.item.0);
    m.extend_from_slice(&h.revision.to_be_bytes());
    m.extend_from_slice(&h.epoch.to_be_bytes());
    m.push(u8::from(h.deleted));
    m.extend_from_slice(&SCHEMA.to_be_bytes());
    framed(context, &m)
}

pub fn seal_item(
    vault: VaultId,
    item: ItemId,
    revision: u64,
    key: &EpochKey,
    content: &Content,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, VaultError> {
    let header = ItemHeader {
        vault,
        item,
        revision,
        epoch: key.epoch(),
        deleted: content.is_deleted(),
    };
    let mut dek = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(dek.as_mut_slice());
    let (dek_nonce, wrapped) = seal(key.bytes(), &aad(DEK_CONTEXT, &header), dek.as_slice(), rng)?;
    let plaintext = Zeroizing::new(encode("item", content)?);
    let (nonce, ct) = seal(&dek, &aad(ITEM_CONTEXT, &header), &plaintext, rng)?;
    encode(
        "sealed item",
        &Sealed {
            v: SCHEMA,
            header,
            dek_nonce,
            dek: wrapped,
            nonce,
            ct,
        },
    )
}

fn parse(bytes: &[u8]) -> Result<Sealed, VaultError> {
    let sealed: Sealed = decode("sealed item", bytes, MAX_ITEM_BYTES)?;
    if sealed.v != SCHEMA {
        return Err(VaultError::UnsupportedVersion {
            what: "sealed item",
            version: sealed.v,
        });
    }
    Ok(sealed)
}

/// The header of a sealed item, unchecked: what the store reads to file it.
pub fn item_header(bytes: &[u8]) -> Result<ItemHeader, VaultError> {
    Ok(parse(bytes)?.header)
}

/// Opens an item the store says is `expected` (vault, item, revision), checking in order that
/// the sealed header says the same, that this device holds the epoch's key, the data key's
/// wrapping, the content's encryption, and that the content agrees with the tombstone flag.
pub fn open_item(
    bytes: &[u8],
    vault: VaultId,
    item: ItemId,
    revision: u64,
    keys: &Keyring,
) -> Result<Content, VaultError> {
    let sealed = parse(bytes)?;
    let h = sealed.header;
    if h.vault != vault {
        return Err(VaultError::ItemMismatch { field: "vault" });
    }
    if h.item != item {
        return Err(VaultError::ItemMismatch { field: "item id" });
    }
    if h.revision != revision {
        return Err(VaultError::ItemMismatch { field: "revision" });
    }
    let key = keys.get(h.epoch)?;
    let dek = open(
        key.bytes(),
        &sealed.dek_nonce,
        &aad(DEK_CONTEXT, &h),
        &sealed.dek,
        "item key",
    )?;
    let dek: [u8; 32] = dek
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Decrypt { what: "item key" })?;
    let dek = Zeroizing::new(dek);
    let plaintext = open(
        &dek,
        &sealed.nonce,
        &aad(ITEM_CONTEXT, &h),
        &sealed.ct,
        "item",
    )?;
    let content: Content = decode("item", &plaintext, MAX_ITEM_BYTES)?;
    if content.is_deleted() != h.deleted {
        return Err(VaultError::ItemMismatch {
            field: "tombstone flag",
        });
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::tests::passkey;
    use crate::content::Stamp;
    use crate::identity::tests::rng;
    use crate::ids::DeviceId;

    #[test]
    fn an_item_opens_only_as_what_the_store_says_it_is() {
        let mut r = rng(40);
        let (vault, item) = (VaultId([1; 16]), ItemId([2; 16]));
        let key = EpochKey::generate(3, &mut r);
        let mut keys = Keyring::default();
        keys.insert(EpochKey::from_bytes(3, key.bytes()).unwrap());
        let stamp = Stamp {
            ms: 1,
            device: DeviceId([1; 16]),
        };
        let content = Content::Passkey(Box::new(passkey("alice", stamp)));
        let bytes = seal_item(vault, item, 7, &key, &content, &mut r).unwrap();
        assert_eq!(open_item(&bytes, vault, item, 7, &keys).unwrap(), content);
        assert_eq!(
            item_header(&bytes).unwrap(),
            ItemHeader {
                vault,
                item,
                revision: 7,
                epoch: 3,
                deleted: false
            }
        );

        let mismatch = |f| Err(VaultError::ItemMismatch { field: f });
        assert_eq!(
            open_item(&bytes, VaultId([9; 16]), item, 7, &keys),
            mismatch("vault")
        );
        assert_eq!(
            open_item(&bytes, vault, ItemId([9; 16]), 7, &keys),
            mismatch("item id")
        );
        assert_eq!(
            open_item(&bytes, vault, item, 8, &keys),
            mismatch("revision")
        );
        assert_eq!(
            open_item(&bytes, vault, item, 7, &Keyring::default()),
            Err(VaultError::MissingEpochKey(3))
        );
        let mut wrong_keys = Keyring::default();
        wrong_keys.insert(EpochKey::generate(3, &mut r));
        assert_eq!(
            open_item(&bytes, vault, item, 7, &wrong_keys),
            Err(VaultError::Decrypt { what: "item key" })
        );

        // A store that relabels the header (to replay an old revision as a new one, or turn a
        // passkey into a deletion) breaks the binding.
        for relabel in [
            |h: &mut ItemHeader| h.revision = 8,
            |h: &mut ItemHeader| h.deleted = true,
            |h: &mut ItemHeader| h.item = ItemId([3; 16]),
        ] {
            let mut s = parse(&bytes).unwrap();
            relabel(&mut s.header);
            let forged = encode("s", &s).unwrap();
            let h = s.header;
            assert_eq!(
                open_item(&forged, h.vault, h.item, h.revision, &keys),
                Err(VaultError::Decrypt { what: "item key" })
            );
        }
        // A body sealed for another item, under a data key wrapped for this one.
        let mut s = parse(&bytes).unwrap();
        let other = parse(&seal_item(vault, item, 7, &key, &content, &mut r).unwrap()).unwrap();
        s.nonce = other.nonce;
        s.ct = other.ct;
        let spliced = encode("s", &s).unwrap();
        assert_eq!(
            open_item(&spliced, vault, item, 7, &keys),
            Err(VaultError::Decrypt { what: "item" })
        );
        assert!(matches!(
            open_item(b"", vault, item, 7, &keys),
            Err(VaultError::Malformed { .. })
        ));
    }
}
