//! Fixed vault state shared by the latch-vault targets: two devices (from fixed seeds), a
//! ledger where the first created the vault and added the second, an epoch key, a recovery
//! key, and an escrow registration at one guardian. Inputs are split into records of
//! `u16 big-endian length | bytes`.
#![allow(dead_code)]

use std::sync::OnceLock;

use latch_vault::epoch::{EpochKey, Keyring};
use latch_vault::escrow::guardian::Registration;
use latch_vault::escrow::{register, Params};
use latch_vault::identity::DeviceSecret;
use latch_vault::ledger::{Escrow, Ledger, Op, Via};
use latch_vault::recovery::RecoveryKey;
use latch_vault::VaultId;

pub struct Fixed {
    pub a: DeviceSecret,
    pub b: DeviceSecret,
    pub ledger: Ledger,
    pub keys: Keyring,
    pub recovery: RecoveryKey,
    pub registration: Registration,
}

/// A deterministic generator: the fixed state is the same in every run.
pub struct Counter(pub u64);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 33) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}

pub fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| {
        let a = DeviceSecret::from_bytes(&[1; 64]).unwrap();
        let b = DeviceSecret::from_bytes(&[2; 64]).unwrap();
        let recovery = RecoveryKey::from_bytes(&[3; 32]).unwrap();
        let escrow = Escrow::new([6; 16], vec!["http://guardian".into()], 1).unwrap();
        let (mut ledger, _) =
            Ledger::create(VaultId([4; 16]), &a, recovery.signing_key().unwrap().public(), escrow, 0).unwrap();
        let add = ledger.propose(Op::Add { device: b.public(), via: Via::Sponsor }, &a, 1).unwrap();
        ledger.append(add.bytes()).unwrap();
        let mut keys = Keyring::default();
        keys.insert(EpochKey::from_bytes(0, &[5; 32]).unwrap());
        let params = Params::for_guardians(1).unwrap();
        let stage = register(&params, &recovery, b"123456", &mut Counter(7)).unwrap().remove(0);
        let registration = Registration::from_stage(&stage).unwrap();
        Fixed { a, b, ledger, keys, recovery, registration }
    })
}

/// Splits `data` into `u16 length | bytes` records (a short last one takes the rest).
pub fn records(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = n.min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}
