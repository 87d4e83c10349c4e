//! Sealed things from the network, by the first byte: 0 a sealed item (`item_header`,
//! `open_item` with the fixed keys, as the header names it and as another item), 1 a key share
//! (`share_header`, `open_share` for both fixed devices), 2 a recovery wrap (`wrap_header`,
//! `unwrap`), 3 a pairing request (the sponsor's `respond`), 4 a pairing response (the new
//! device's `confirm`), 5 a pairing confirmation (the sponsor's `finish`), 6 a CXF document.
//! Nothing may panic, and nothing opens without the key it was sealed for.
#![no_main]

#[path = "vault_common.rs"]
mod vault_common;

use latch_vault::epoch::{open_share, share_header};
use latch_vault::item::{item_header, open_item};
use latch_vault::pairing::{requested_device, Joiner, PairingCode, Sponsor};
use latch_vault::recovery::wrap_header;
use latch_vault::{DeviceId, ItemId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let f = vault_common::fixed();
    let mut rng = vault_common::Counter(u64::from(kind));
    match kind % 7 {
        0 => {
            if let Ok(h) = item_header(bytes) {
                let _ = open_item(bytes, h.vault, h.item, h.revision, &f.keys);
                let _ = open_item(bytes, h.vault, ItemId([0; 16]), h.revision, &f.keys);
            }
            let _ = open_item(bytes, f.ledger.vault(), ItemId([1; 16]), 1, &f.keys);
        }
        1 => {
            let _ = share_header(bytes);
            let _ = open_share(bytes, &f.a, &f.ledger);
            let _ = open_share(bytes, &f.b, &f.ledger);
        }
        2 => {
            let _ = wrap_header(bytes);
            let _ = f.recovery.unwrap(f.ledger.vault(), bytes);
        }
        3 => {
            let _ = requested_device(bytes);
            let code = PairingCode::parse("12345678").unwrap();
            let _ = Sponsor::respond(&code, bytes, &f.a, &mut rng);
        }
        4 => {
            let (joiner, _, _) = Joiner::start(&f.b.public(), &mut rng).unwrap();
            let _ = joiner.confirm(bytes);
        }
        5 => {
            let (_, code, request) = Joiner::start(&f.b.public(), &mut rng).unwrap();
            let (sponsor, _) = Sponsor::respond(&code, &request, &f.a, &mut rng).unwrap();
            assert!(sponsor.finish(bytes).is_err(), "a confirmation not made from the code");
        }
        _ => {
            if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) {
                let _ = latch_vault::cxf::import(&doc, 0, DeviceId([0; 16]));
            }
        }
    }
});
