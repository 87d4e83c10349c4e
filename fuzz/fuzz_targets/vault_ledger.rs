//! Ledger entries from the network: each record is parsed (`Entry::parse`) and appended to
//! the fixed two-device ledger, and all records are replayed as a chain of their own. Asserts:
//! an accepted entry moves the head by exactly one and keeps the chain this device had seen; a
//! refused one changes nothing.
#![no_main]

#[path = "vault_common.rs"]
mod vault_common;

use latch_vault::ledger::{Entry, Ledger};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fixed = vault_common::fixed();
    let records = vault_common::records(data);
    let mut ledger = fixed.ledger.clone();
    for record in &records {
        let _ = Entry::parse(record);
        let before = ledger.head();
        match ledger.append(record) {
            Ok(entry) => {
                assert_eq!(ledger.head().seq, before.seq + 1);
                assert_eq!(ledger.head().hash, entry.hash());
                assert!(ledger.check_seen(&before).is_ok());
            }
            Err(_) => assert_eq!(ledger.head(), before),
        }
    }
    if let Ok(replayed) = Ledger::replay(&records) {
        assert_eq!(replayed.head().seq as usize + 1, records.len());
    }
});
