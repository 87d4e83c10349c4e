//! The device-side CTAPHID machine `Hid` driven by a fuzzed host. The input is a sequence of
//! 66-byte records `ctl | delta | report (64)`: the clock advances by `delta` ms, the report is
//! fed `1 << (ctl >> 3 & 7)` times, and the driver then drains the queues (unless `ctl` bit 2
//! says to leave them) and answers every `Event::Request` by `ctl & 3`: a short canned response,
//! a long one (up to 7609 bytes, so it spans up to 129 reports), holding the request for a
//! later record (to see KEEPALIVE, CANCEL and resync), or CTAP2_ERR_KEEPALIVE_CANCEL.
//! `ctl` bit 6 first runs `handle_timeout` at `poll_timeout()`, bit 7 sets the KEEPALIVE
//! status of a held request to UpNeeded.
//!
//! Invariants: every transmitted report is 64 bytes and the whole transmitted stream is a
//! sequence of well-formed, non-interleaved messages (reassembled with `hid::Assembler`); a
//! drain never yields more than MAX_QUEUED_REPORTS reports or MAX_QUEUED_EVENTS events; the
//! message reassembled from the reports sent after `respond` is exactly the response, on the
//! request's channel and command; a held request is answerable unless it was aborted (or its
//! Aborted event was dropped from a full queue); no second Request is surfaced while one is
//! pending.
#![no_main]

mod ctap_common;

use ctap_common::Cursor;
use latch_ctap::hid::{
    self, Assembler, Event, Hid, KeepaliveStatus, Message, Packet, Report, Request, RequestId,
    RespondError, Step, MAX_MESSAGE_LEN, MAX_QUEUED_EVENTS, MAX_QUEUED_REPORTS, REPORT_LEN,
};
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;

/// Small CIDs (1, 2, 3, …) so that mutated reports easily hit an allocated channel.
fn counter() -> impl FnMut() -> u32 {
    let mut next = 0u32;
    move || {
        next = next.wrapping_add(1);
        next
    }
}

/// The transmitted stream, reassembled message by message.
#[derive(Default)]
struct Stream {
    partial: Option<Assembler>,
    messages: Vec<Message>,
}

impl Stream {
    fn push(&mut self, report: &Report) {
        assert_eq!(report.len(), REPORT_LEN);
        let step = match (Packet::from_report(report), self.partial.take()) {
            (Packet::Init(init), None) => Assembler::start(&init).expect("device BCNT too long"),
            (Packet::Cont(cont), Some(asm)) => asm.push(&cont).expect("device sent a bad sequence"),
            (Packet::Init(_), Some(asm)) => panic!("device interleaved a message into {asm:?}"),
            (Packet::Cont(cont), None) => panic!("device sent a stray continuation {cont:?}"),
        };
        match step {
            Step::Complete(msg) => self.messages.push(msg),
            Step::More(asm) => self.partial = Some(asm),
        }
    }
}

struct Driver {
    hid: Hid<Box<dyn FnMut() -> u32>>,
    now: u64,
    stream: Stream,
    held: Option<Request>,
    /// Every request the machine reported as aborted by a resync.
    aborted: HashSet<RequestId>,
}

impl Driver {
    fn drain_transmit(&mut self) -> usize {
        let mut n = 0;
        while let Some(report) = self.hid.poll_transmit() {
            self.stream.push(&report);
            n += 1;
        }
        assert!(n <= MAX_QUEUED_REPORTS, "{n} reports were queued");
        n
    }

    fn respond(&mut self, req: &Request, payload: &[u8]) {
        self.drain_transmit();
        assert!(self.stream.partial.is_none(), "message left half-sent");
        let before = self.stream.messages.len();
        match self.hid.respond(req.id, payload) {
            Ok(()) => {
                self.drain_transmit();
                let sent = &self.stream.messages[before..];
                assert_eq!(sent.len(), 1, "respond sent {} messages", sent.len());
                assert_eq!(sent[0].cid, req.cid);
                assert_eq!(sent[0].cmd, req.kind.command().code());
                assert_eq!(sent[0].payload, payload, "response mangled in framing");
            }
            Err(RespondError::NotPending(_)) => {
                assert!(
                    self.aborted.contains(&req.id) || self.hid.dropped() > 0,
                    "request {:?} vanished without an Aborted event",
                    req.id
                );
            }
            Err(RespondError::TooLong { .. }) => unreachable!("responses are at most 7609 bytes"),
        }
    }

    fn answer(&mut self, req: Request, mode: u8) {
        match mode {
            0 => {
                let mut payload = vec![0x00];
                payload.extend(req.payload.iter().take(64));
                self.respond(&req, &payload);
            }
            1 => {
                let len = MAX_MESSAGE_LEN - usize::from(req.payload.first().copied().unwrap_or(0));
                let payload: Vec<u8> = (0..len).map(|i| (i * 31 + i / 256) as u8).collect();
                self.respond(&req, &payload);
            }
            2 => self.held = Some(req),
            _ => self.respond(&req, &[hid::CTAP2_ERR_KEEPALIVE_CANCEL]),
        }
    }

    fn drain_events(&mut self, mode: u8) {
        let mut events = Vec::new();
        while let Some(event) = self.hid.poll_event() {
            events.push(event);
        }
        assert!(
            events.len() <= MAX_QUEUED_EVENTS,
            "{} events were queued",
            events.len()
        );
        // An abort later in the batch already ended the request the driver is answering.
        for event in &events {
            if let Event::Aborted { id, .. } = event {
                self.aborted.insert(*id);
            }
        }
        for event in events {
            // With events dropped from a full queue the driver cannot know what happened.
            let exact = self.hid.dropped() == 0;
            match event {
                Event::Request(req) => {
                    if let Some(held) = self.held.take() {
                        assert!(
                            !exact || self.aborted.contains(&held.id),
                            "{:?} surfaced while {:?} is pending",
                            req.id,
                            held.id
                        );
                    }
                    self.answer(req, mode);
                }
                Event::Cancel { id, cid } => {
                    if let Some(req) = self.held.take() {
                        if exact {
                            assert_eq!((req.id, req.cid), (id, cid));
                        }
                        self.respond(&req, &[hid::CTAP2_ERR_KEEPALIVE_CANCEL]);
                    }
                }
                Event::Aborted { id, cid } => {
                    if let Some(req) = &self.held {
                        if exact {
                            assert_eq!((req.id, req.cid), (id, cid));
                        }
                    }
                }
                Event::Wink { .. } => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut d = Driver {
        hid: Hid::new(hid::Config::default(), Box::new(counter())),
        now: 0,
        stream: Stream::default(),
        held: None,
        aborted: HashSet::new(),
    };
    let mut input = Cursor::new(data);
    while !input.is_empty() {
        let ctl = input.u8();
        let delta = input.u8();
        let mut report = [0u8; REPORT_LEN];
        report
            .iter_mut()
            .zip(input.take(REPORT_LEN))
            .for_each(|(r, b)| *r = *b);

        d.now += u64::from(delta);
        if ctl & 0x40 != 0 {
            if let Some(at) = d.hid.poll_timeout() {
                d.now = d.now.max(at);
                d.hid.handle_timeout(d.now);
            }
        }
        if ctl & 0x80 != 0 {
            if let Some(req) = &d.held {
                let _ = d
                    .hid
                    .set_keepalive_status(d.now, req.id, KeepaliveStatus::UpNeeded);
            }
        }
        for _ in 0..1u32 << (ctl >> 3 & 7) {
            d.hid
                .handle_report(d.now, &report)
                .expect("64-byte report refused");
        }
        // Not 64 bytes: refused, no state change.
        assert!(d.hid.handle_report(d.now, &report[1..]).is_err());
        if ctl & 0x04 != 0 {
            continue;
        }
        d.drain_transmit();
        let mode = ctl & 3;
        d.drain_events(mode);
        // A held request is answered by the first record that does not hold again.
        if mode != 2 {
            if let Some(req) = d.held.take() {
                d.answer(req, mode);
            }
        }
        d.drain_transmit();
        d.stream.messages.clear();
        assert!(d.hid.channel_count() <= hid::MAX_CHANNELS);
    }
    // Keepalives keep flowing while a CBOR request is held; the stream stays well-formed.
    d.now += 1000;
    d.hid.handle_timeout(d.now);
    d.drain_transmit();
});
