//! The membership ledger, the vault's circle of trust: an append-only chain of signed entries
//! (create, add, remove, rotate). Each entry names the hash of the one before it and is signed
//! by a current member, or, for a join through recovery, by the recovery key. The store keeps
//! and orders the chain but cannot write to it; a device replays it from the first entry and
//! remembers the head it has seen, so a store that rolls the chain back or forks it is caught.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::VaultError;
use crate::identity::{verify, DevicePublic, DeviceSecret, SigningKey};
use crate::ids::{DeviceId, VaultId};
use crate::wire::{decode, encode, sha256};

const ENTRY_CONTEXT: &[u8] = b"latch-vault/ledger-entry/v1";
const HASH_CONTEXT: &[u8] = b"latch-vault/ledger-hash/v1";
const VERSION: u64 = 1;
/// An entry holds two public keys and a few numbers; anything near this is not an entry.
pub const MAX_ENTRY_BYTES: usize = 4096;

/// How a device came in: approved by a sponsor that compared a pairing code, or through escrow
/// recovery (which every other device tells its person about).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Create,
    Sponsor,
    Recovery,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The first entry: the creating device and the recovery signing key's public half.
    Create {
        device: DevicePublic,
        #[serde(with = "serde_bytes")]
        recovery: [u8; 32],
        /// Where the recovery key is escrowed: signed here, so the store cannot send a device
        /// to guardians of its own, or lower the threshold.
        escrow: Escrow,
    },
    Add {
        device: DevicePublic,
        via: Via,
    },
    /// Removes a device and starts a new epoch it has no key for, under a new recovery key
    /// (the removed device knew the old one, as every member does).
    Remove {
        device: DeviceId,
        #[serde(with = "serde_bytes")]
        recovery: [u8; 32],
    },
    /// Starts a new epoch with the same members.
    Rotate,
    /// A new recovery key (the passcode changed, or escrow was re-registered); a new epoch too,
    /// so the old recovery key opens nothing written afterwards.
    NewRecoveryKey {
        #[serde(with = "serde_bytes")]
        recovery: [u8; 32],
    },
}

/// The vault's escrow: the guardians' name for it, where they are, and how many a recovery
/// needs (a majority, unless there is only one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escrow {
    #[serde(with = "serde_bytes")]
    pub id: [u8; 16],
    pub guardians: Vec<String>,
    pub threshold: u8,
}

impl Escrow {
    pub fn new(
        id: [u8; 16],
        guardians: Vec<String>,
        threshold: usize,
    ) -> Result<Escrow, VaultError> {
        let escrow = Escrow {
            id,
            guardians,
            threshold: u8::try_from(threshold).unwrap_or(u8::MAX),
        };
        escrow.check()?;
        Ok(escrow)
    }

    fn check(&self) -> Result<(), VaultError> {
        let (t, n) = (usize::from(self.threshold), self.guardians.len());
        if t == 0 || t > n || n > 16 || (n > 1 && 2 * t <= n) {
            return Err(VaultError::BadThreshold { t, n });
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    Device(DeviceId),
    Recovery,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBody {
    pub v: u64,
    pub vault: VaultId,
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub prev: [u8; 32],
    /// The epoch in force after this entry.
    pub epoch: u64,
    /// Seconds since the Unix epoch, as the signer's clock said; shown, never trusted.
    pub time: u64,
    pub signer: Signer,
    pub op: Op,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// One entry as received: its exact bytes, what they say, and their hash.
#[derive(Clone, Debug)]
pub struct Entry {
    bytes: Vec<u8>,
    body: EntryBody,
    sig: Vec<u8>,
    signed: Vec<u8>,
    hash: [u8; 32],
}

impl Entry {
    /// Parses an entry's structure. Whether it may follow the chain, and its signature, are
    /// checked by [`Ledger::append`], which knows the signer's key.
    pub fn parse(bytes: &[u8]) -> Result<Entry, VaultError> {
        let envelope: Envelope = decode("ledger entry", bytes, MAX_ENTRY_BYTES)?;
        let body: EntryBody = decode("ledger entry body", &envelope.body, MAX_ENTRY_BYTES)?;
        if body.v != VERSION {
            return Err(VaultError::UnsupportedVersion {
                what: "ledger entry",
                version: body.v,
            });
        }
        Ok(Entry {
            bytes: bytes.to_vec(),
            hash: sha256(HASH_CONTEXT, bytes),
            body,
            sig: envelope.sig,
            signed: envelope.body,
        })
    }

    fn sign(body: EntryBody, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> Result<Entry, VaultError> {
        Entry::parse(&signed_bytes(&body, sign)?)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn body(&self) -> &EntryBody {
        &self.body
    }

    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    fn verify_by(&self, public: &[u8; 32]) -> Result<(), VaultError> {
        verify(
            public,
            ENTRY_CONTEXT,
            &self.signed,
            &self.sig,
            "ledger entry",
        )
    }
}

fn signed_bytes(
    body: &EntryBody,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<Vec<u8>, VaultError> {
    let signed = encode("ledger entry body", body)?;
    let sig = sign(&signed);
    encode("ledger entry", &Envelope { body: signed, sig })
}

/// The point of the chain a device has seen: it refuses any ledger that does not contain it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub public: DevicePublic,
    pub via: Via,
    /// The entry that added it, and who signed that entry.
    pub seq: u64,
    pub added_by: Signer,
    pub time: u64,
}

/// The state the chain leads to: who is a member, the epoch, the recovery key, every hash.
#[derive(Clone, Debug)]
pub struct Ledger {
    vault: VaultId,
    members: BTreeMap<DeviceId, Member>,
    recovery: [u8; 32],
    escrow: Escrow,
    epoch: u64,
    hashes: Vec<[u8; 32]>,
}

impl Ledger {
    /// Starts a vault: the genesis entry, signed by the creating device.
    pub fn create(
        vault: VaultId,
        creator: &DeviceSecret,
        recovery: [u8; 32],
        escrow: Escrow,
        now: u64,
    ) -> Result<(Ledger, Entry), VaultError> {
        let body = EntryBody {
            v: VERSION,
            vault,
            seq: 0,
            prev: [0; 32],
            epoch: 0,
            time: now,
            signer: Signer::Device(creator.id()),
            op: Op::Create {
                device: creator.public(),
                recovery,
                escrow,
            },
        };
        let entry = Entry::sign(body, |m| creator.sign(ENTRY_CONTEXT, m))?;
        let ledger = Ledger::genesis(&entry)?;
        Ok((ledger, entry))
    }

    /// Replays a whole chain from its first entry, checking every entry.
    pub fn replay<B: AsRef<[u8]>>(
        entries: impl IntoIterator<Item = B>,
    ) -> Result<Ledger, VaultError> {
        let mut entries = entries.into_iter();
        let first = entries.next().ok_or(VaultError::MissingGenesis)?;
        let mut ledger = Ledger::genesis(&Entry::parse(first.as_ref())?)?;
        for bytes in entries {
            ledger.append(bytes.as_ref())?;
        }
        Ok(ledger)
    }

    fn genesis(entry: &Entry) -> Result<Ledger, VaultError> {
        let body = entry.body();
        let Op::Create {
            device,
            recovery,
            escrow,
        } = &body.op
        else {
            return Err(VaultError::MissingGenesis);
        };
        if body.seq != 0 || body.prev != [0; 32] {
            return Err(VaultError::MissingGenesis);
        }
        if body.signer != Signer::Device(device.id()) {
            return Err(VaultError::GenesisNotSelfSigned);
        }
        entry.verify_by(&device.signing)?;
        if body.epoch != 0 {
            return Err(VaultError::WrongEpoch {
                expected: 0,
                got: body.epoch,
            });
        }
        escrow.check()?;
        let member = Member {
            public: *device,
            via: Via::Create,
            seq: 0,
            added_by: body.signer,
            time: body.time,
        };
        Ok(Ledger {
            vault: body.vault,
            members: BTreeMap::from([(device.id(), member)]),
            recovery: *recovery,
            escrow: escrow.clone(),
            epoch: 0,
            hashes: vec![entry.hash()],
        })
    }

    /// Checks an entry against the head, in order: the vault, the sequence number, the chain,
    /// who may sign it, the signature, what it does, the epoch it names. Changes nothing unless
    /// every check passes.
    pub fn append(&mut self, bytes: &[u8]) -> Result<Entry, VaultError> {
        let entry = Entry::parse(bytes)?;
        self.check(&entry)?;
        self.apply(&entry);
        Ok(entry)
    }

    fn check(&self, entry: &Entry) -> Result<(), VaultError> {
        let body = entry.body();
        if body.vault != self.vault {
            return Err(VaultError::WrongVault);
        }
        let head = self.head();
        if body.seq != head.seq + 1 {
            return Err(VaultError::OutOfSequence {
                head: head.seq,
                got: body.seq,
            });
        }
        if body.prev != head.hash {
            return Err(VaultError::BrokenChain { seq: body.seq });
        }
        if matches!(body.op, Op::Create { .. }) {
            return Err(VaultError::SecondGenesis);
        }
        let recovery_join = matches!(
            body.op,
            Op::Add {
                via: Via::Recovery,
                ..
            }
        );
        let key = match body.signer {
            Signer::Device(id) => {
                if recovery_join {
                    return Err(VaultError::RecoveryJoinNotByRecoveryKey);
                }
                self.members
                    .get(&id)
                    .ok_or(VaultError::SignerNotMember(id))?
                    .public
                    .signing
            }
            Signer::Recovery if recovery_join => self.recovery,
            Signer::Recovery => return Err(VaultError::RecoveryKeyMisused),
        };
        entry.verify_by(&key)?;
        let expected = match &body.op {
            Op::Create { .. } => return Err(VaultError::SecondGenesis),
            Op::Add { device, via } => {
                if *via == Via::Create {
                    return Err(VaultError::SecondGenesis);
                }
                if self.members.contains_key(&device.id()) {
                    return Err(VaultError::AlreadyMember(device.id()));
                }
                self.epoch
            }
            Op::Remove { device, .. } => {
                if !self.members.contains_key(device) {
                    return Err(VaultError::NotMember(*device));
                }
                if self.members.len() == 1 {
                    return Err(VaultError::LastMember);
                }
                self.epoch + 1
            }
            Op::Rotate | Op::NewRecoveryKey { .. } => self.epoch + 1,
        };
        if body.epoch != expected {
            return Err(VaultError::WrongEpoch {
                expected,
                got: body.epoch,
            });
        }
        Ok(())
    }

    fn apply(&mut self, entry: &Entry) {
        let body = entry.body();
        match &body.op {
            Op::Add { device, via } => {
                let member = Member {
                    public: *device,
                    via: *via,
                    seq: body.seq,
                    added_by: body.signer,
                    time: body.time,
                };
                self.members.insert(device.id(), member);
            }
            Op::Remove { device, recovery } => {
                self.members.remove(device);
                self.recovery = *recovery;
            }
            Op::NewRecoveryKey { recovery } => self.recovery = *recovery,
            Op::Create { .. } | Op::Rotate => {}
        }
        self.epoch = body.epoch;
        self.hashes.push(entry.hash());
    }

    fn next_body(&self, op: Op, signer: Signer, now: u64) -> EntryBody {
        let epoch = match op {
            Op::Remove { .. } | Op::Rotate | Op::NewRecoveryKey { .. } => self.epoch + 1,
            Op::Create { .. } | Op::Add { .. } => self.epoch,
        };
        let head = self.head();
        EntryBody {
            v: VERSION,
            vault: self.vault,
            seq: head.seq + 1,
            prev: head.hash,
            epoch,
            time: now,
            signer,
            op,
        }
    }

    /// Writes and signs the next entry as `signer`, checked as [`append`](Self::append) would;
    /// the ledger itself moves only when the entry is appended.
    pub fn propose(&self, op: Op, signer: &DeviceSecret, now: u64) -> Result<Entry, VaultError> {
        let body = self.next_body(op, Signer::Device(signer.id()), now);
        let entry = Entry::sign(body, |m| signer.sign(ENTRY_CONTEXT, m))?;
        self.check(&entry)?;
        Ok(entry)
    }

    /// The entry a device that recovered the recovery key writes to add itself.
    pub fn propose_recovery_join(
        &self,
        device: DevicePublic,
        recovery: &SigningKey,
        now: u64,
    ) -> Result<Entry, VaultError> {
        let body = self.next_body(
            Op::Add {
                device,
                via: Via::Recovery,
            },
            Signer::Recovery,
            now,
        );
        let entry = Entry::sign(body, |m| recovery.sign(ENTRY_CONTEXT, m))?;
        self.check(&entry)?;
        Ok(entry)
    }

    /// Refuses a ledger that ends before what this device has seen, or differs from it.
    pub fn check_seen(&self, seen: &Checkpoint) -> Result<(), VaultError> {
        let head = self.head();
        let hash = usize::try_from(seen.seq)
            .ok()
            .and_then(|i| self.hashes.get(i));
        match hash {
            None => Err(VaultError::Rollback {
                seen: seen.seq,
                offered: head.seq,
            }),
            Some(hash) if *hash != seen.hash => Err(VaultError::Fork { seq: seen.seq }),
            Some(_) => Ok(()),
        }
    }

    pub fn head(&self) -> Checkpoint {
        let seq = self.hashes.len().saturating_sub(1) as u64;
        Checkpoint {
            seq,
            hash: self.hashes.last().copied().unwrap_or([0; 32]),
        }
    }

    /// The hash of the first entry: what names this vault's chain among all others.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.hashes.first().copied().unwrap_or([0; 32])
    }

    pub fn vault(&self) -> VaultId {
        self.vault
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn recovery_public(&self) -> [u8; 32] {
        self.recovery
    }

    /// The escrow the genesis entry names.
    pub fn escrow(&self) -> &Escrow {
        &self.escrow
    }

    pub fn members(&self) -> impl Iterator<Item = (&DeviceId, &Member)> {
        self.members.iter()
    }

    pub fn member(&self, id: &DeviceId) -> Option<&Member> {
        self.members.get(id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::tests::rng;

    pub(crate) fn escrow() -> Escrow {
        Escrow::new(
            [3; 16],
            vec![
                "https://g1".into(),
                "https://g2".into(),
                "https://g3".into(),
            ],
            2,
        )
        .unwrap()
    }

    struct World {
        a: DeviceSecret,
        b: DeviceSecret,
        recovery: SigningKey,
        ledger: Ledger,
        entries: Vec<Vec<u8>>,
    }

    fn world() -> World {
        let mut r = rng(9);
        let a = DeviceSecret::generate(&mut r).unwrap();
        let b = DeviceSecret::generate(&mut r).unwrap();
        let recovery = SigningKey::from_seed([5; 32]).unwrap();
        let (mut ledger, genesis) =
            Ledger::create(VaultId([1; 16]), &a, recovery.public(), escrow(), 100).unwrap();
        let add = ledger
            .propose(
                Op::Add {
                    device: b.public(),
                    via: Via::Sponsor,
                },
                &a,
                101,
            )
            .unwrap();
        ledger.append(add.bytes()).unwrap();
        World {
            a,
            b,
            recovery,
            ledger,
            entries: vec![genesis.bytes().to_vec(), add.bytes().to_vec()],
        }
    }

    /// Signs `body` as `signer` would, whatever it says: the way to make entries a real
    /// member would never propose.
    fn forge(body: EntryBody, key: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        signed_bytes(&body, key).unwrap()
    }

    fn next(w: &World, op: Op) -> EntryBody {
        w.ledger.next_body(op, Signer::Device(w.a.id()), 102)
    }

    #[test]
    fn a_replayed_chain_reaches_the_same_state() {
        let w = world();
        let again = Ledger::replay(&w.entries).unwrap();
        assert_eq!(again.head(), w.ledger.head());
        assert_eq!(again.members().count(), 2);
        assert_eq!(again.member(&w.b.id()).map(|m| m.via), Some(Via::Sponsor));
        assert_eq!(again.genesis_hash(), w.ledger.genesis_hash());
    }

    #[test]
    fn every_check_of_an_entry_refuses_the_entry_that_breaks_it() {
        let w = world();
        let by_a = |m: &[u8]| w.a.sign(ENTRY_CONTEXT, m);
        let c = DeviceSecret::generate(&mut rng(10)).unwrap();
        let add_c = Op::Add {
            device: c.public(),
            via: Via::Sponsor,
        };
        let cases: Vec<(Vec<u8>, VaultError)> = vec![
            (b"\xa0".to_vec(), VaultError::malformed("ledger entry", "")),
            (
                forge(
                    EntryBody {
                        v: 2,
                        ..next(&w, add_c.clone())
                    },
                    &by_a,
                ),
                VaultError::UnsupportedVersion {
                    what: "ledger entry",
                    version: 2,
                },
            ),
            (
                forge(
                    EntryBody {
                        vault: VaultId([2; 16]),
                        ..next(&w, add_c.clone())
                    },
                    &by_a,
                ),
                VaultError::WrongVault,
            ),
            (
                forge(
                    EntryBody {
                        seq: 5,
                        ..next(&w, add_c.clone())
                    },
                    &by_a,
                ),
                VaultError::OutOfSequence { head: 1, got: 5 },
            ),
            (
                forge(
                    EntryBody {
                        prev: [3; 32],
                        ..next(&w, add_c.clone())
                    },
                    &by_a,
                ),
                VaultError::BrokenChain { seq: 2 },
            ),
            (
                forge(
                    next(
                        &w,
                        Op::Create {
                            device: c.public(),
                            recovery: [0; 32],
                            escrow: escrow(),
                        },
                    ),
                    &by_a,
                ),
                VaultError::SecondGenesis,
            ),
            (
                forge(
                    EntryBody {
                        signer: Signer::Device(c.id()),
                        ..next(&w, add_c.clone())
                    },
                    &|m| c.sign(ENTRY_CONTEXT, m),
                ),
                VaultError::SignerNotMember(c.id()),
            ),
            (
                forge(
                    EntryBody {
                        signer: Signer::Recovery,
                        ..next(&w, Op::Rotate)
                    },
                    &|m| w.recovery.sign(ENTRY_CONTEXT, m),
                ),
                VaultError::RecoveryKeyMisused,
            ),
            (
                forge(
                    next(
                        &w,
                        Op::Add {
                            device: c.public(),
                            via: Via::Recovery,
                        },
                    ),
                    &by_a,
                ),
                VaultError::RecoveryJoinNotByRecoveryKey,
            ),
            (
                forge(next(&w, add_c.clone()), &|m| w.b.sign(ENTRY_CONTEXT, m)),
                VaultError::BadSignature {
                    what: "ledger entry",
                },
            ),
            (
                forge(next(&w, add_c.clone()), &|m| {
                    w.a.sign(b"another purpose", m)
                }),
                VaultError::BadSignature {
                    what: "ledger entry",
                },
            ),
            (
                forge(
                    next(
                        &w,
                        Op::Add {
                            device: w.b.public(),
                            via: Via::Sponsor,
                        },
                    ),
                    &by_a,
                ),
                VaultError::AlreadyMember(w.b.id()),
            ),
            (
                forge(
                    next(
                        &w,
                        Op::Remove {
                            device: c.id(),
                            recovery: [0; 32],
                        },
                    ),
                    &by_a,
                ),
                VaultError::NotMember(c.id()),
            ),
            (
                forge(
                    EntryBody {
                        epoch: 0,
                        ..next(
                            &w,
                            Op::Remove {
                                device: w.b.id(),
                                recovery: [7; 32],
                            },
                        )
                    },
                    &by_a,
                ),
                VaultError::WrongEpoch {
                    expected: 1,
                    got: 0,
                },
            ),
            (
                forge(
                    EntryBody {
                        epoch: 1,
                        ..next(&w, add_c.clone())
                    },
                    &by_a,
                ),
                VaultError::WrongEpoch {
                    expected: 0,
                    got: 1,
                },
            ),
        ];
        for (bytes, want) in cases {
            let mut ledger = w.ledger.clone();
            let got = ledger.append(&bytes).unwrap_err();
            match (&got, &want) {
                (VaultError::Malformed { .. }, VaultError::Malformed { .. }) => {}
                _ => assert_eq!(got, want),
            }
            assert_eq!(
                ledger.head(),
                w.ledger.head(),
                "a refused entry changed nothing"
            );
            assert_eq!(ledger.members().count(), 2);
        }
        // The well-formed version of the same entry is accepted.
        let mut ledger = w.ledger.clone();
        ledger.append(&forge(next(&w, add_c), &by_a)).unwrap();
        assert!(ledger.member(&c.id()).is_some());
    }

    #[test]
    fn the_last_device_cannot_leave_and_a_removal_starts_an_epoch() {
        let mut w = world();
        let remove_b = w
            .ledger
            .propose(
                Op::Remove {
                    device: w.b.id(),
                    recovery: [7; 32],
                },
                &w.a,
                103,
            )
            .unwrap();
        w.ledger.append(remove_b.bytes()).unwrap();
        assert_eq!(w.ledger.epoch(), 1);
        assert!(w.ledger.member(&w.b.id()).is_none());
        assert_eq!(
            w.ledger
                .propose(
                    Op::Remove {
                        device: w.a.id(),
                        recovery: [7; 32]
                    },
                    &w.a,
                    104
                )
                .unwrap_err(),
            VaultError::LastMember
        );
        // The removed device signs nothing any more.
        let mut ledger = w.ledger.clone();
        let by_b = forge(
            w.ledger
                .next_body(Op::Rotate, Signer::Device(w.b.id()), 105),
            &|m| w.b.sign(ENTRY_CONTEXT, m),
        );
        assert_eq!(
            ledger.append(&by_b).unwrap_err(),
            VaultError::SignerNotMember(w.b.id())
        );
    }

    #[test]
    fn a_recovery_join_is_signed_by_the_recovery_key_only() {
        let mut w = world();
        let d = DeviceSecret::generate(&mut rng(11)).unwrap();
        let join = w
            .ledger
            .propose_recovery_join(d.public(), &w.recovery, 200)
            .unwrap();
        w.ledger.append(join.bytes()).unwrap();
        assert_eq!(w.ledger.member(&d.id()).map(|m| m.via), Some(Via::Recovery));
        let wrong_key = SigningKey::from_seed([6; 32]).unwrap();
        let e = DeviceSecret::generate(&mut rng(12)).unwrap();
        assert_eq!(
            w.ledger
                .propose_recovery_join(e.public(), &wrong_key, 201)
                .unwrap_err(),
            VaultError::BadSignature {
                what: "ledger entry"
            }
        );
    }

    #[test]
    fn the_genesis_must_create_and_be_signed_by_its_device() {
        let w = world();
        assert_eq!(
            Ledger::replay(Vec::<Vec<u8>>::new()).unwrap_err(),
            VaultError::MissingGenesis
        );
        assert_eq!(
            Ledger::replay(&w.entries[1..]).unwrap_err(),
            VaultError::MissingGenesis
        );
        let body = EntryBody {
            v: VERSION,
            vault: VaultId([1; 16]),
            seq: 0,
            prev: [0; 32],
            epoch: 0,
            time: 0,
            signer: Signer::Device(w.b.id()),
            op: Op::Create {
                device: w.a.public(),
                recovery: [0; 32],
                escrow: escrow(),
            },
        };
        let not_self = forge(body.clone(), &|m| w.b.sign(ENTRY_CONTEXT, m));
        assert_eq!(
            Ledger::replay([not_self]).unwrap_err(),
            VaultError::GenesisNotSelfSigned
        );
        let badly_signed = forge(
            EntryBody {
                signer: Signer::Device(w.a.id()),
                ..body.clone()
            },
            &|m| w.b.sign(ENTRY_CONTEXT, m),
        );
        assert_eq!(
            Ledger::replay([badly_signed]).unwrap_err(),
            VaultError::BadSignature {
                what: "ledger entry"
            }
        );
        let epoch_one = forge(
            EntryBody {
                signer: Signer::Device(w.a.id()),
                epoch: 1,
                ..body
            },
            &|m| w.a.sign(ENTRY_CONTEXT, m),
        );
        assert_eq!(
            Ledger::replay([epoch_one]).unwrap_err(),
            VaultError::WrongEpoch {
                expected: 0,
                got: 1
            }
        );
    }

    #[test]
    fn the_genesis_names_an_escrow_a_majority_of_its_guardians_must_answer() {
        let a = DeviceSecret::generate(&mut rng(14)).unwrap();
        let three = |t| Escrow::new([1; 16], vec!["a".into(), "b".into(), "c".into()], t);
        assert_eq!(
            three(1).err(),
            Some(VaultError::BadThreshold { t: 1, n: 3 })
        );
        assert_eq!(
            three(4).err(),
            Some(VaultError::BadThreshold { t: 4, n: 3 })
        );
        assert!(Escrow::new([1; 16], vec!["solo".into()], 1).is_ok());
        // A genesis whose escrow was lowered to one of three is refused on replay.
        let body = EntryBody {
            v: VERSION,
            vault: VaultId([1; 16]),
            seq: 0,
            prev: [0; 32],
            epoch: 0,
            time: 0,
            signer: Signer::Device(a.id()),
            op: Op::Create {
                device: a.public(),
                recovery: [0; 32],
                escrow: Escrow {
                    threshold: 1,
                    ..three(2).unwrap()
                },
            },
        };
        let lowered = forge(body, &|m| a.sign(ENTRY_CONTEXT, m));
        assert_eq!(
            Ledger::replay([lowered]).unwrap_err(),
            VaultError::BadThreshold { t: 1, n: 3 }
        );
        let (ledger, _) =
            Ledger::create(VaultId([1; 16]), &a, [0; 32], three(2).unwrap(), 0).unwrap();
        assert_eq!(ledger.escrow().guardians.len(), 3);
    }

    #[test]
    fn a_device_refuses_a_rolled_back_or_forked_ledger() {
        let w = world();
        let seen = w.ledger.head();
        let rolled_back = Ledger::replay(&w.entries[..1]).unwrap();
        assert_eq!(
            rolled_back.check_seen(&seen),
            Err(VaultError::Rollback {
                seen: 1,
                offered: 0
            })
        );
        // A fork: the same genesis, a different second entry.
        let mut fork = rolled_back.clone();
        let c = DeviceSecret::generate(&mut rng(13)).unwrap();
        let other = fork
            .propose(
                Op::Add {
                    device: c.public(),
                    via: Via::Sponsor,
                },
                &w.a,
                101,
            )
            .unwrap();
        fork.append(other.bytes()).unwrap();
        assert_eq!(fork.check_seen(&seen), Err(VaultError::Fork { seq: 1 }));
        assert_eq!(w.ledger.check_seen(&seen), Ok(()));
        // A replayed old entry does not chain onto the head.
        let mut ledger = w.ledger.clone();
        assert_eq!(
            ledger.append(&w.entries[1]).unwrap_err(),
            VaultError::OutOfSequence { head: 1, got: 1 }
        );
    }
}
