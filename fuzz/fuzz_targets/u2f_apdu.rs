//! `u2f::handle` on arbitrary CTAP1/U2F request APDUs, several per input, with the fixed batch
//! attestation configured (so U2F_REGISTER works) and the RNG seeded.
//!
//! Input: `flags | record*`, a record being `kind | len (u16 BE) | bytes`. Flags: bits 0-1 how
//! the user answers presence (approve, deny, time out), bit 2 no batch attestation. A record
//! with `kind` bit 0 clear sends `bytes` as the APDU. With bit 0 set it builds an extended
//! U2F_AUTHENTICATE with P1 = bytes[0] over the key handle and application of the last
//! successful U2F_REGISTER, with byte bytes[1] of the handle XORed with bytes[2] (0 keeps it
//! intact), so that mutated inputs reach the signing path; bit 1 also flips the application.
//!
//! Invariants: every response is at least 2 bytes and ends with a status word; an error
//! status word comes alone; the status word is one this implementation defines; a successful
//! register response has the documented shape (0x05, 65-byte point, L, handle, …).
#![no_main]

mod ctap_common;

use ctap_common::{config, Cursor};
use latch_ctap::credential::MasterKey;
use latch_ctap::env::Presence;
use latch_ctap::pin::PinState;
use latch_ctap::testing::TestEnv;
use latch_ctap::u2f::{self, StatusWord};
use latch_ctap::Authenticator;
use libfuzzer_sys::fuzz_target;

const KNOWN: [StatusWord; 7] = [
    StatusWord::NO_ERROR,
    StatusWord::CONDITIONS_NOT_SATISFIED,
    StatusWord::WRONG_DATA,
    StatusWord::WRONG_LENGTH,
    StatusWord::CLA_NOT_SUPPORTED,
    StatusWord::INS_NOT_SUPPORTED,
    StatusWord::UNKNOWN,
];

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor::new(data);
    let flags = input.u8();
    let mut env = TestEnv::new(11);
    env.presence.default = match flags & 3 {
        1 => Presence::Denied,
        2 => Presence::Timeout,
        _ => Presence::Approved,
    };
    let mut auth = Authenticator::new(
        config(flags & 4 == 0, false),
        MasterKey::new([0x4B; 32]),
        PinState::new(),
    );
    // (application, key handle) of the last registration.
    let mut registered: Option<([u8; 32], Vec<u8>)> = None;

    while !input.is_empty() {
        let kind = input.u8();
        let bytes = input.chunk();
        let apdu = match (&registered, kind & 1) {
            (Some((application, handle)), 1) => {
                let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
                let mut handle = handle.clone();
                let i = usize::from(at(1)) % handle.len().max(1);
                if let Some(b) = handle.get_mut(i) {
                    *b ^= at(2);
                }
                let mut application = *application;
                if kind & 2 != 0 {
                    application[0] ^= 1;
                }
                let mut body = vec![0xC4; 32];
                body.extend_from_slice(&application);
                body.push(handle.len() as u8);
                body.extend_from_slice(&handle);
                let mut apdu = vec![0x00, u2f::AUTHENTICATE, at(0), 0x00, 0x00];
                apdu.extend_from_slice(&(body.len() as u16).to_be_bytes());
                apdu.extend_from_slice(&body);
                apdu.extend_from_slice(&[0x00, 0x00]);
                apdu
            }
            _ => bytes.to_vec(),
        };

        let response = u2f::handle(&mut auth, &mut env.env(), &apdu);
        let (data, sw) = response
            .split_last_chunk::<2>()
            .unwrap_or_else(|| panic!("response {response:02x?} has no status word"));
        let sw = StatusWord(u16::from_be_bytes(*sw));
        assert!(KNOWN.contains(&sw), "unknown status word {sw:04x?}");
        if sw != StatusWord::NO_ERROR {
            assert!(data.is_empty(), "{sw:04x?} with data {data:02x?}");
            continue;
        }
        if apdu.get(1) == Some(&u2f::REGISTER) {
            // 0x05 || point (65) || L || handle || certificate || signature.
            assert_eq!(data.first(), Some(&u2f::REGISTER_RESERVED));
            assert_eq!(data.get(1), Some(&0x04));
            let len = usize::from(data[66]);
            let handle = data[67..67 + len].to_vec();
            let parsed = latch_ctap::client::u2f::Registration::parse(data)
                .expect("own registration does not parse");
            assert_eq!(parsed.key_handle, handle);
            // The application parameter is the second 32 bytes of the request data.
            let command = latch_ctap::u2f::apdu::Command::parse(&apdu).unwrap();
            let application: [u8; 32] = command.data[32..64].try_into().unwrap();
            registered = Some((application, handle));
        }
    }
});
