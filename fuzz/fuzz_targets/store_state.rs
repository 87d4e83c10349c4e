//! `StoreState::from_bytes` on arbitrary bytes (the file a host keeps the authenticator's state
//! in may be corrupted or hostile). When it parses, `to_bytes` then `from_bytes` must give the
//! same state, and `to_bytes` must be a fixed point (the canonical form re-encodes to itself).
#![no_main]

use latch_ctap::store::StoreState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = StoreState::from_bytes(data) else {
        return;
    };
    let bytes = state.to_bytes();
    let again = StoreState::from_bytes(&bytes).expect("to_bytes output does not parse");
    assert_eq!(
        again, state,
        "state changed in a to_bytes/from_bytes round trip"
    );
    assert_eq!(again.to_bytes(), bytes, "to_bytes is not a fixed point");
    let _ = state.credentials_for(&[0; 32]);
});
