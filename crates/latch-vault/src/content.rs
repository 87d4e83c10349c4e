//! What an item holds once opened: a passkey (the fields the FIDO Credential Exchange Format
//! carries), or the tombstone a deletion leaves. A passkey's key material never changes, so two
//! devices' edits can only differ in the names, and those merge field by field: the later stamp
//! wins, and a deletion wins over any edit, so a deleted passkey never comes back.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::error::VaultError;
use crate::ids::DeviceId;

/// When and where a field was last set: milliseconds since the Unix epoch, then the device as
/// the tie-breaker. A device stamps an edit after the stamp it edited, even if its clock is
/// behind, so an edit always beats what it replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub ms: u64,
    pub device: DeviceId,
}

impl Stamp {
    pub fn after(previous: Option<Stamp>, now_ms: u64, device: DeviceId) -> Stamp {
        let ms = previous.map_or(now_ms, |p| now_ms.max(p.ms + 1));
        Stamp { ms, device }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    pub at: Stamp,
}

impl<T: Clone> Stamped<T> {
    fn later(&self, other: &Stamped<T>) -> Stamped<T> {
        if other.at > self.at {
            other.clone()
        } else {
            self.clone()
        }
    }
}

/// hmac-secret's two per-credential secrets (CredRandom), kept so PRF outputs survive a move.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
#[zeroize(drop)]
pub struct HmacSecret {
    #[serde(with = "serde_bytes")]
    pub with_uv: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub without_uv: Vec<u8>,
}

impl std::fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSecret(..)")
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passkey {
    #[serde(with = "serde_bytes")]
    pub credential_id: Vec<u8>,
    pub rp_id: String,
    #[serde(with = "serde_bytes")]
    pub user_handle: Vec<u8>,
    /// The private key, PKCS#8 DER.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    pub hmac_secret: Option<HmacSecret>,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub user_name: Stamped<String>,
    pub user_display_name: Stamped<String>,
}

impl Drop for Passkey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl std::fmt::Debug for Passkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkey")
            .field("rp_id", &self.rp_id)
            .field("user_name", &self.user_name.value)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Passkey(Box<Passkey>),
    Deleted { at: Stamp },
}

impl Content {
    pub fn is_deleted(&self) -> bool {
        matches!(self, Content::Deleted { .. })
    }

    /// Merges two versions of one item, whichever order they come in.
    pub fn merge(&self, other: &Content) -> Result<Content, VaultError> {
        match (self, other) {
            (Content::Deleted { at: a }, Content::Deleted { at: b }) => {
                Ok(Content::Deleted { at: (*a).max(*b) })
            }
            (Content::Deleted { at }, _) | (_, Content::Deleted { at }) => {
                Ok(Content::Deleted { at: *at })
            }
            (Content::Passkey(a), Content::Passkey(b)) => {
                let same = a.credential_id == b.credential_id
                    && a.rp_id == b.rp_id
                    && a.user_handle == b.user_handle
                    && a.key == b.key;
                if !same {
                    return Err(VaultError::ItemMismatch { field: "passkey" });
                }
                let mut merged = a.clone();
                merged.user_name = a.user_name.later(&b.user_name);
                merged.user_display_name = a.user_display_name.later(&b.user_display_name);
                if merged.hmac_secret.is_none() {
                    merged.hmac_secret = b.hmac_secret.clone();
                }
                Ok(Content::Passkey(merged))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn passkey(name: &str, at: Stamp) -> Passkey {
        Passkey {
            credential_id: vec![1, 2, 3],
            rp_id: "example.com".into(),
            user_handle: vec![9; 16],
            key: vec![0x30, 0x81],
            hmac_secret: None,
            created: 1,
            user_name: Stamped {
                value: name.into(),
                at,
            },
            user_display_name: Stamped {
                value: name.into(),
                at,
            },
        }
    }

    fn stamp(ms: u64, d: u8) -> Stamp {
        Stamp {
            ms,
            device: DeviceId([d; 16]),
        }
    }

    #[test]
    fn concurrent_edits_of_different_fields_both_survive_in_either_order() {
        let base = passkey("alice", stamp(10, 1));
        let mut renamed = base.clone();
        renamed.user_name = Stamped {
            value: "alice@new".into(),
            at: stamp(20, 1),
        };
        let mut redisplayed = base.clone();
        redisplayed.user_display_name = Stamped {
            value: "Alice L.".into(),
            at: stamp(21, 2),
        };
        let (a, b) = (
            Content::Passkey(Box::new(renamed)),
            Content::Passkey(Box::new(redisplayed)),
        );
        let ab = a.merge(&b).unwrap();
        assert_eq!(ab, b.merge(&a).unwrap());
        let Content::Passkey(p) = ab else {
            panic!("a passkey")
        };
        assert_eq!(p.user_name.value, "alice@new");
        assert_eq!(p.user_display_name.value, "Alice L.");
    }

    #[test]
    fn a_deletion_wins_and_different_passkeys_do_not_merge() {
        let p = Content::Passkey(Box::new(passkey("a", stamp(50, 1))));
        let gone = Content::Deleted { at: stamp(10, 2) };
        assert!(p.merge(&gone).unwrap().is_deleted());
        assert!(gone.merge(&p).unwrap().is_deleted());
        let mut other = passkey("a", stamp(50, 1));
        other.key = vec![1];
        assert_eq!(
            p.merge(&Content::Passkey(Box::new(other))),
            Err(VaultError::ItemMismatch { field: "passkey" })
        );
    }

    #[test]
    fn a_stamp_after_another_is_later_even_with_a_slow_clock() {
        let prev = stamp(1_000, 9);
        let next = Stamp::after(Some(prev), 5, DeviceId([1; 16]));
        assert!(next > prev);
        assert_eq!(Stamp::after(None, 5, DeviceId([1; 16])).ms, 5);
    }
}
