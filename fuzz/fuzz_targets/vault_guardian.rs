//! What a guardian reads, by the first byte: 0 a signed staged registration (`open_stage` with
//! and without an owner), 1 a guess (`count_guess` on the fixed registration, then the
//! evaluation), 2 an unlock, 3 a commit, and 4-5 what a client reads back (a status, an
//! evaluation given to a recovery in progress). Asserts: a counted guess is exactly one more
//! attempt, and at the limit the secrets are gone; a wrong unlock tag never resets the count.
#![no_main]

#[path = "vault_common.rs"]
mod vault_common;

use latch_vault::escrow::messages::{Commit, Evaluate, Evaluation, Status, Unlock};
use latch_vault::escrow::{open_stage, Recovery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let f = vault_common::fixed();
    let r = &f.registration;
    match kind % 6 {
        0 => {
            let _ = open_stage(bytes, &[9; 16], None, None);
            let owner = f.recovery.signing_key().unwrap().public();
            let _ = open_stage(bytes, &[9; 16], Some(owner), Some(r.version));
        }
        1 => {
            if let Ok(guess) = Evaluate::parse(bytes) {
                if let Ok((next, evaluator)) = r.count_guess(&guess) {
                    assert_eq!(next.attempted, r.attempted + 1);
                    assert_eq!(next.secrets.is_none(), next.attempted >= next.allowed);
                    let _ = evaluator.evaluate();
                }
            }
        }
        2 => {
            if let Ok(unlock) = Unlock::parse(bytes) {
                let counted = r.count_guess(&Evaluate { version: r.version, blinded: blinded() }).unwrap().0;
                if let Ok(reset) = counted.unlock(&unlock) {
                    assert_eq!(unlock.tag, r.secrets.as_ref().unwrap().unlock_tag);
                    assert_eq!(reset.attempted, 0);
                }
            }
        }
        3 => {
            let _ = Commit::parse(bytes);
        }
        4 => {
            let _ = Status::parse(bytes);
        }
        _ => {
            let statuses = vec![Some(r.status())];
            let (recovery, _) = Recovery::start(b"123456", &statuses, &mut vault_common::Counter(1)).unwrap();
            if let Ok(answer) = Evaluation::parse(bytes) {
                let _ = recovery.finish(&[(0, answer)]);
            }
        }
    }
});

/// A valid blinded point: the ristretto255 basepoint.
fn blinded() -> [u8; 32] {
    curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.to_bytes()
}
