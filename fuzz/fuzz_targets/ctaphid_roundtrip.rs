//! Fragmentation and reassembly both ways. The input is `selector | payload`: the payload is
//! split with `hid::split` into reports on a channel allocated by INIT and fed to `Hid` as a
//! CBOR (selector bit 0 clear) or MSG request; the Request payload must equal the input
//! exactly. The request is then answered with the same payload, and the device's reports,
//! reassembled with `hid::Assembler`, must give it back on the same channel and command.
//! Selector bit 1 sends it as a PING instead, which the machine must echo unchanged. Payloads
//! over 7609 bytes must be refused by `split` (run with `-max_len=8192`).
//!
//! Also checks `report_count` and the iterator's exact size against the reports produced.
#![no_main]

use latch_ctap::hid::{
    self, report_count, split, Assembler, Cid, Command, Event, Hid, Packet, Report, SplitError,
    Step, MAX_MESSAGE_LEN,
};
use libfuzzer_sys::fuzz_target;

/// Reassembles one whole message from `reports`; it must end exactly at the last report.
fn reassemble(reports: &[Report]) -> hid::Message {
    let (first, rest) = reports.split_first().expect("no reports");
    let Packet::Init(init) = Packet::from_report(first) else {
        panic!("first report is a continuation");
    };
    let mut step = Assembler::start(&init).expect("BCNT over the maximum");
    for report in rest {
        let Step::More(asm) = step else {
            panic!("message complete before its last report");
        };
        let Packet::Cont(cont) = Packet::from_report(report) else {
            panic!("initialization packet inside a message");
        };
        step = asm.push(&cont).expect("bad continuation");
    }
    match step {
        Step::Complete(msg) => msg,
        Step::More(asm) => panic!("incomplete after the last report: {asm:?}"),
    }
}

fn drain(hid: &mut Hid<impl hid::CidSource>) -> Vec<Report> {
    std::iter::from_fn(|| hid.poll_transmit()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let mut next = 0x4000_0000u32;
    let mut hid = Hid::new(hid::Config::default(), move || {
        next += 1;
        next
    });

    // Allocate a channel.
    let nonce = [selector; 8];
    for report in split(Cid::BROADCAST, Command::Init, &nonce).unwrap() {
        hid.handle_report(0, &report).unwrap();
    }
    let init = reassemble(&drain(&mut hid));
    assert_eq!(init.cmd, Command::Init.code());
    assert_eq!(&init.payload[..8], &nonce);
    let cid = Cid::from_bytes(init.payload[8..12].try_into().unwrap());
    assert!(hid.is_allocated(cid));

    let cmd = match selector & 3 {
        0 => Command::Cbor,
        1 => Command::Msg,
        _ => Command::Ping,
    };
    let frags = match split(cid, cmd, payload) {
        Ok(frags) => frags,
        Err(SplitError::TooLong { len }) => {
            assert!(len > MAX_MESSAGE_LEN && len == payload.len());
            return;
        }
    };
    assert!(payload.len() <= MAX_MESSAGE_LEN);
    assert_eq!(frags.len(), report_count(payload.len()));
    let reports: Vec<Report> = frags.collect();
    assert_eq!(reports.len(), report_count(payload.len()));

    // Host → device. Every report but the last leaves the machine waiting for more.
    for (i, report) in reports.iter().enumerate() {
        hid.handle_report(i as u64, report).unwrap();
        if i + 1 < reports.len() {
            assert!(
                hid.poll_transmit().is_none(),
                "device answered a partial message"
            );
            assert!(hid.poll_event().is_none());
        }
    }
    let now = reports.len() as u64;

    if cmd == Command::Ping {
        let echo = reassemble(&drain(&mut hid));
        assert_eq!((echo.cid, echo.cmd), (cid, Command::Ping.code()));
        assert_eq!(echo.payload, payload, "PING echo differs");
        assert!(hid.poll_event().is_none());
        return;
    }
    let Some(Event::Request(req)) = hid.poll_event() else {
        panic!("no request surfaced");
    };
    assert!(hid.poll_event().is_none());
    assert_eq!(req.cid, cid);
    assert_eq!(req.kind.command(), cmd);
    assert_eq!(
        req.payload, payload,
        "request payload differs from what was split"
    );
    // Nothing was sent yet (the first KEEPALIVE is 80 ms away).
    assert!(drain(&mut hid).is_empty());

    // Device → host.
    hid.respond(req.id, payload).unwrap();
    let reply = drain(&mut hid);
    assert_eq!(reply.len(), report_count(payload.len()));
    let reply = reassemble(&reply);
    assert_eq!((reply.cid, reply.cmd), (cid, cmd.code()));
    assert_eq!(
        reply.payload, payload,
        "response payload differs after reassembly"
    );
    assert!(!hid.is_busy());
    hid.handle_timeout(now + 10_000);
    assert!(drain(&mut hid).is_empty(), "idle machine transmitted");
});
