use std::sync::{Arc, Mutex};

use super::*;
use crate::client::{CtapDevice, KeepaliveAction};
use crate::hid::{Capabilities, HidError, KeepaliveStatus};

const CID: u32 = 0x1000_0001;

fn init_reply(script: &mut Script, nonce: [u8; 8]) {
    let mut payload = nonce.to_vec();
    payload.extend(CID.to_be_bytes());
    payload.extend([2, 1, 2, 3, 0x05]);
    script.reply(0xFFFF_FFFF, Command::Init, &payload);
}

fn scripted() -> HidDevice<Script> {
    let mut script = Script::default();
    // An answer to another host's nonce comes first and must be skipped.
    init_reply(&mut script, [9; 8]);
    init_reply(&mut script, NONCE);
    HidDevice::open(script, NONCE).unwrap()
}

#[test]
fn init_sends_the_nonce_on_broadcast_and_takes_the_channel() {
    let mut device = scripted();
    let mut want = [0u8; 64];
    want[..15].copy_from_slice(&hex("ffffffff 86 0008 0102030405060708"));
    assert_eq!(device.transport_mut().sent, vec![want]);
    let info = device.info();
    assert_eq!(info.cid, Cid(CID));
    assert_eq!(info.protocol_version, 2);
    assert_eq!(
        (info.version.major, info.version.minor, info.version.build),
        (1, 2, 3)
    );
    assert!(info.capabilities.contains(Capabilities::CBOR));
    assert!(info.capabilities.contains(Capabilities::WINK));
}

#[test]
fn init_against_the_in_process_key() {
    let device = open_loopback();
    assert_eq!(device.cid(), Cid(0x1000_0001));
    assert_eq!(device.info().protocol_version, 2);
    assert!(device.info().capabilities.contains(Capabilities::CBOR));
}

#[test]
fn ping_of_200_bytes_is_split_into_four_reports_and_echoed() {
    let mut device = open_loopback();
    let data: Vec<u8> = (0..200u8).collect();
    device.ping(&data).unwrap();
    let sent = &device.transport_mut().sent;
    // INIT, then 57 + 59 + 59 + 25 bytes of PING.
    assert_eq!(sent.len(), 5);
    assert_eq!(&sent[1][..7], &hex("10000001 81 00c8"));
    assert_eq!(&sent[1][7..], &data[..57]);
    assert_eq!(&sent[2][..5], &hex("10000001 00"));
    assert_eq!(&sent[2][5..], &data[57..116]);
    assert_eq!(&sent[3][4], &1);
    assert_eq!(&sent[4][4], &2);
    assert_eq!(&sent[4][5..30], &data[175..]);
    assert!(sent[4][30..].iter().all(|&b| b == 0));
}

#[test]
fn wink_and_lock_reach_the_key() {
    let mut device = open_loopback();
    device.wink().unwrap();
    device.wink().unwrap();
    device.lock(3).unwrap();
    device.lock(0).unwrap();
    assert_eq!(device.transport_mut().inner.winks(), 2);
    // LOCK over 10 s is refused by the key.
    assert!(matches!(
        device.lock(11),
        Err(Error::Hid(HidError::InvalidPar))
    ));
}

#[test]
fn cbor_get_info_round_trip() {
    let mut device = open_loopback();
    let response = device.cbor(&[0x04]).unwrap();
    assert_eq!(response[0], 0);
    assert_eq!(response[1] >> 5, 5, "a CBOR map follows the status");
    // Unknown CTAP2 command: a status, not a HID error.
    assert_eq!(device.cbor(&[0x55]).unwrap(), vec![0x01]);
}

#[test]
fn keepalive_reaches_the_handler_and_busy_is_retried() {
    let mut device = scripted();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    device.set_keepalive_handler(move |status| {
        log.lock().unwrap().push(status);
        KeepaliveAction::Continue
    });
    let script = device.transport_mut();
    script.sent.clear();
    script.reply(CID, Command::Error, &[0x06]);
    script.replies.push_back(None); // the pause before the retry
    script.reply(CID, Command::Keepalive, &[1]);
    script.reply(0x2222_2222, Command::Cbor, &[0x7F]); // another channel: ignored
    script.reply(CID, Command::Keepalive, &[2]);
    let body: Vec<u8> = (0..100u8).collect();
    script.reply(CID, Command::Cbor, &body);
    assert_eq!(device.cbor(&[0x04]).unwrap(), body);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![KeepaliveStatus::Processing, KeepaliveStatus::UpNeeded]
    );
    // The request went out twice (busy, then the retry).
    let sent = &device.transport_mut().sent;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
    assert_eq!(&sent[0][..8], &hex("10000001 90 0001 04"));
}

#[test]
fn keepalive_handler_can_cancel() {
    let mut device = scripted();
    device.set_keepalive_handler(|_| KeepaliveAction::Cancel);
    let script = device.transport_mut();
    script.sent.clear();
    script.reply(CID, Command::Keepalive, &[2]);
    script.reply(CID, Command::Keepalive, &[2]);
    script.reply(CID, Command::Cbor, &[0x2D]);
    assert_eq!(device.cbor(&[0x02]).unwrap(), vec![0x2D]);
    let sent = &device.transport_mut().sent;
    // The request, then one CANCEL (not one per KEEPALIVE).
    assert_eq!(sent.len(), 2);
    assert_eq!(&sent[1][..7], &hex("10000001 91 0000"));
}

#[test]
fn errors_timeouts_and_framing_violations_are_typed() {
    let mut device = scripted();
    device.transport_mut().reply(CID, Command::Error, &[0x01]);
    assert!(matches!(
        device.cbor(&[4]),
        Err(Error::Hid(HidError::InvalidCmd))
    ));
    device.transport_mut().reply(CID, Command::Error, &[0x42]);
    assert!(matches!(device.cbor(&[4]), Err(Error::HidUnknown(0x42))));
    assert!(matches!(device.cbor(&[4]), Err(Error::Timeout(_))));
    device.transport_mut().reply(CID, Command::Ping, &[4]);
    assert!(matches!(device.cbor(&[4]), Err(Error::Framing(_))));
    // A 100-byte response whose continuation packet has SEQ 1 instead of 0.
    let mut reports: Vec<Report> = split(Cid(CID), Command::Cbor, &[0u8; 100])
        .unwrap()
        .collect();
    reports[1][4] = 1;
    for r in reports {
        device.transport_mut().raw(r);
    }
    let err = device.cbor(&[4]).unwrap_err();
    assert!(
        matches!(err, Error::Framing(ref m) if m.contains("SEQ 1, expected 0")),
        "{err}"
    );
    // A PING echo that differs.
    device.transport_mut().reply(CID, Command::Ping, b"abd");
    assert!(matches!(device.ping(b"abc"), Err(Error::Framing(_))));
    // Too long to frame at all.
    assert!(matches!(device.cbor(&[0; 7610]), Err(Error::Invalid(_))));
}

#[test]
fn busy_gives_up_after_the_retry_budget() {
    let mut device = scripted();
    for _ in 0..=crate::client::hid::BUSY_RETRIES {
        device.transport_mut().reply(CID, Command::Error, &[0x06]);
        device.transport_mut().replies.push_back(None);
    }
    assert!(matches!(
        device.cbor(&[4]),
        Err(Error::Hid(HidError::ChannelBusy))
    ));
}
