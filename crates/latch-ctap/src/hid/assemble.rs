//! Reassembly: 64-byte CTAPHID reports → one message (CTAP 2.1 §11.2.4).
//!
//! An initialization packet opens a message and announces its total length (BCNT); continuation
//! packets numbered SEQ 0, 1, 2, … carry the rest. This file only knows the framing: which channel
//! may talk, and what a command means, is the state machine's business (`hid/mod.rs`).
//!
//! Everything is bounded. A report must be exactly [`REPORT_LEN`] bytes, BCNT is checked against
//! [`MAX_MESSAGE_LEN`] before a buffer is allocated, and no input makes this code panic: the header
//! fields come out of array patterns, never out of indexing.

use thiserror::Error;

use super::{Cid, HidError, CONT_DATA_LEN, INIT_DATA_LEN, MAX_MESSAGE_LEN, REPORT_LEN};

/// Bit 7 of the fifth byte: set on an initialization packet (it carries CMD), clear on a
/// continuation packet (it carries SEQ).
pub const INIT_FLAG: u8 = 0x80;

/// One parsed report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `CID(4) | CMD(1, bit 7 set) | BCNT(2, big-endian) | DATA(57)`.
    Init(InitPacket<'a>),
    /// `CID(4) | SEQ(1, 0x00..=0x7F) | DATA(59)`.
    Cont(ContPacket<'a>),
}

/// The first packet of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitPacket<'a> {
    /// Channel the packet was sent on.
    pub cid: Cid,
    /// Command code with bit 7 cleared (`0x10` for CBOR, sent on the wire as `0x90`).
    pub cmd: u8,
    /// Announced payload length of the whole message; not yet checked against the maximum.
    pub bcnt: u16,
    /// The first 57 payload bytes (zero padding past BCNT).
    pub data: &'a [u8; INIT_DATA_LEN],
}

/// A follow-up packet of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContPacket<'a> {
    /// Channel the packet was sent on.
    pub cid: Cid,
    /// Sequence number, 0 for the first continuation packet. Always `<= 0x7F`.
    pub seq: u8,
    /// The next 59 payload bytes (zero padding past the end of the message).
    pub data: &'a [u8; CONT_DATA_LEN],
}

/// A report that cannot be a CTAPHID packet at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PacketError {
    /// Full-speed CTAPHID reports are exactly 64 bytes (no report-ID prefix).
    #[error("a CTAPHID report is {REPORT_LEN} bytes, got {0}")]
    ReportLength(usize),
}

impl<'a> Packet<'a> {
    /// Parses a report handed over by the transport; only the length can be wrong.
    pub fn parse(report: &'a [u8]) -> Result<Self, PacketError> {
        let report: &'a [u8; REPORT_LEN] = report
            .try_into()
            .map_err(|_| PacketError::ReportLength(report.len()))?;
        Ok(Self::from_report(report))
    }

    /// Splits a 64-byte report into its header fields and data. Total: every report is a packet.
    pub fn from_report(report: &'a [u8; REPORT_LEN]) -> Self {
        let [c0, c1, c2, c3, tag, rest @ ..] = report;
        let cid = Cid::from_bytes([*c0, *c1, *c2, *c3]);
        if tag & INIT_FLAG != 0 {
            let [hi, lo, data @ ..] = rest;
            Packet::Init(InitPacket {
                cid,
                cmd: tag & !INIT_FLAG,
                bcnt: u16::from_be_bytes([*hi, *lo]),
                data,
            })
        } else {
            Packet::Cont(ContPacket {
                cid,
                seq: *tag,
                data: rest,
            })
        }
    }

    /// The channel the packet was sent on.
    pub fn cid(&self) -> Cid {
        match self {
            Packet::Init(p) => p.cid,
            Packet::Cont(p) => p.cid,
        }
    }
}

/// A complete message: what one transaction carries in one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Channel of the transaction.
    pub cid: Cid,
    /// Command code with bit 7 cleared.
    pub cmd: u8,
    /// Exactly BCNT bytes.
    pub payload: Vec<u8>,
}

/// Why a message could not be reassembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum AssembleError {
    /// BCNT larger than 57 + 128 × 59 = 7609 bytes can never be delivered.
    #[error("BCNT {len} exceeds the {MAX_MESSAGE_LEN}-byte maximum message")]
    TooLong {
        /// The announced length.
        len: usize,
    },
    /// A continuation packet arrived out of order (lost, repeated or reordered packet).
    #[error("continuation packet SEQ {got}, expected {expected}")]
    InvalidSeq {
        /// The SEQ that would have continued the message.
        expected: u8,
        /// The SEQ that arrived.
        got: u8,
    },
    /// A continuation packet belongs to another channel's message.
    #[error("continuation packet on channel {got}, the message is on {expected}")]
    WrongChannel {
        /// The channel of the message being assembled.
        expected: Cid,
        /// The channel of the packet.
        got: Cid,
    },
}

impl AssembleError {
    /// The CTAPHID error a device answers with.
    pub fn hid_error(&self) -> HidError {
        match self {
            AssembleError::TooLong { .. } => HidError::InvalidLen,
            AssembleError::InvalidSeq { .. } => HidError::InvalidSeq,
            AssembleError::WrongChannel { .. } => HidError::InvalidChannel,
        }
    }
}

/// Result of feeding a packet to the assembler.
#[derive(Debug)]
pub enum Step {
    /// The message is whole.
    Complete(Message),
    /// More continuation packets are needed; feed them to this assembler.
    More(Assembler),
}

/// A message being reassembled; consumed by each packet (one value per state).
#[derive(Debug)]
pub struct Assembler {
    cid: Cid,
    cmd: u8,
    len: usize,
    buf: Vec<u8>,
    next_seq: u8,
}

impl Assembler {
    /// Opens a message from its initialization packet. A message of at most 57 bytes is complete
    /// at once.
    pub fn start(init: &InitPacket<'_>) -> Result<Step, AssembleError> {
        let len = usize::from(init.bcnt);
        if len > MAX_MESSAGE_LEN {
            return Err(AssembleError::TooLong { len });
        }
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(init.data.get(..len).unwrap_or(init.data));
        let asm = Assembler {
            cid: init.cid,
            cmd: init.cmd,
            len,
            buf,
            next_seq: 0,
        };
        Ok(asm.step())
    }

    /// Adds the next continuation packet. On error the partial message is gone (the caller
    /// answers with [`AssembleError::hid_error`] or ignores the packet).
    pub fn push(mut self, cont: &ContPacket<'_>) -> Result<Step, AssembleError> {
        if cont.cid != self.cid {
            return Err(AssembleError::WrongChannel {
                expected: self.cid,
                got: cont.cid,
            });
        }
        if cont.seq != self.next_seq {
            return Err(AssembleError::InvalidSeq {
                expected: self.next_seq,
                got: cont.seq,
            });
        }
        let missing = self.len.saturating_sub(self.buf.len());
        self.buf
            .extend_from_slice(cont.data.get(..missing).unwrap_or(cont.data));
        // At most 128 continuations fit in BCNT <= 7609, so the message completes before SEQ
        // would pass 0x7F; wrapping only keeps the arithmetic total.
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(self.step())
    }

    fn step(self) -> Step {
        if self.buf.len() >= self.len {
            Step::Complete(Message {
                cid: self.cid,
                cmd: self.cmd,
                payload: self.buf,
            })
        } else {
            Step::More(self)
        }
    }

    /// Channel of the message.
    pub fn cid(&self) -> Cid {
        self.cid
    }

    /// Command code (bit 7 cleared).
    pub fn cmd(&self) -> u8 {
        self.cmd
    }

    /// BCNT of the message.
    pub fn expected_len(&self) -> usize {
        self.len
    }

    /// Payload bytes received so far.
    pub fn received_len(&self) -> usize {
        self.buf.len()
    }

    /// SEQ of the continuation packet that would continue the message.
    pub fn next_seq(&self) -> u8 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(cid: u32, cmd: u8, bcnt: u16, data: &[u8]) -> [u8; REPORT_LEN] {
        let mut r = [0u8; REPORT_LEN];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4] = cmd | INIT_FLAG;
        r[5..7].copy_from_slice(&bcnt.to_be_bytes());
        r[7..7 + data.len()].copy_from_slice(data);
        r
    }

    fn cont(cid: u32, seq: u8, data: &[u8]) -> [u8; REPORT_LEN] {
        let mut r = [0u8; REPORT_LEN];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4] = seq;
        r[5..5 + data.len()].copy_from_slice(data);
        r
    }

    fn start(report: &[u8; REPORT_LEN]) -> Result<Step, AssembleError> {
        match Packet::from_report(report) {
            Packet::Init(p) => Assembler::start(&p),
            Packet::Cont(_) => panic!("not an init packet"),
        }
    }

    fn push(asm: Assembler, report: &[u8; REPORT_LEN]) -> Result<Step, AssembleError> {
        match Packet::from_report(report) {
            Packet::Cont(p) => asm.push(&p),
            Packet::Init(_) => panic!("not a continuation packet"),
        }
    }

    fn more(step: Step) -> Assembler {
        match step {
            Step::More(a) => a,
            Step::Complete(m) => panic!("complete too early: {m:?}"),
        }
    }

    fn complete(step: Step) -> Message {
        match step {
            Step::Complete(m) => m,
            Step::More(a) => panic!("incomplete: {a:?}"),
        }
    }

    #[test]
    fn parses_init_header_fields() {
        let r = init(0x0102_0304, 0x10, 0x0123, &[0xAA, 0xBB]);
        let Packet::Init(p) = Packet::parse(&r).unwrap() else {
            panic!("expected init");
        };
        assert_eq!(p.cid, Cid(0x0102_0304));
        assert_eq!(p.cmd, 0x10);
        assert_eq!(p.bcnt, 0x0123);
        assert_eq!(&p.data[..3], &[0xAA, 0xBB, 0]);
    }

    #[test]
    fn parses_continuation_header_fields() {
        let r = cont(0xFFFF_FFFF, 0x7F, &[1, 2, 3]);
        let Packet::Cont(p) = Packet::parse(&r).unwrap() else {
            panic!("expected continuation");
        };
        assert_eq!(p.cid, Cid::BROADCAST);
        assert_eq!(p.seq, 0x7F);
        assert_eq!(&p.data[..4], &[1, 2, 3, 0]);
    }

    #[test]
    fn rejects_reports_that_are_not_64_bytes() {
        for len in [0, 1, 7, 63, 65, 128] {
            let buf = vec![0x80; len];
            assert_eq!(Packet::parse(&buf), Err(PacketError::ReportLength(len)));
        }
    }

    #[test]
    fn zero_length_message_is_complete_at_once() {
        let m = complete(start(&init(7, 0x01, 0, &[])).unwrap());
        assert_eq!(m.cid, Cid(7));
        assert_eq!(m.cmd, 0x01);
        assert!(m.payload.is_empty());
    }

    #[test]
    fn padding_past_bcnt_is_dropped() {
        let m = complete(start(&init(7, 0x01, 2, &[9, 8, 7, 6])).unwrap());
        assert_eq!(m.payload, vec![9, 8]);
    }

    #[test]
    fn bcnt_over_maximum_is_too_long() {
        let err = start(&init(7, 0x01, 7610, &[])).unwrap_err();
        assert_eq!(err, AssembleError::TooLong { len: 7610 });
        assert_eq!(err.hid_error(), HidError::InvalidLen);
        let err = start(&init(7, 0x01, u16::MAX, &[])).unwrap_err();
        assert_eq!(err, AssembleError::TooLong { len: 65535 });
    }

    #[test]
    fn wrong_seq_is_invalid_seq() {
        let asm = more(start(&init(7, 0x10, 100, &[0; 57])).unwrap());
        let err = push(asm, &cont(7, 1, &[])).unwrap_err();
        assert_eq!(
            err,
            AssembleError::InvalidSeq {
                expected: 0,
                got: 1
            }
        );
        assert_eq!(err.hid_error(), HidError::InvalidSeq);
    }

    #[test]
    fn repeated_seq_is_invalid_seq() {
        let asm = more(start(&init(7, 0x10, 200, &[0; 57])).unwrap());
        let asm = more(push(asm, &cont(7, 0, &[])).unwrap());
        assert_eq!(asm.next_seq(), 1);
        let err = push(asm, &cont(7, 0, &[])).unwrap_err();
        assert_eq!(
            err,
            AssembleError::InvalidSeq {
                expected: 1,
                got: 0
            }
        );
    }

    #[test]
    fn continuation_from_another_channel_is_refused() {
        let asm = more(start(&init(7, 0x10, 100, &[0; 57])).unwrap());
        let err = push(asm, &cont(8, 0, &[])).unwrap_err();
        assert_eq!(
            err,
            AssembleError::WrongChannel {
                expected: Cid(7),
                got: Cid(8)
            }
        );
    }

    #[test]
    fn two_packet_message_keeps_byte_order() {
        let payload: Vec<u8> = (0..100u8).collect();
        let asm = more(start(&init(7, 0x03, 100, &payload[..57])).unwrap());
        assert_eq!(asm.expected_len(), 100);
        assert_eq!(asm.received_len(), 57);
        assert_eq!(asm.cid(), Cid(7));
        assert_eq!(asm.cmd(), 0x03);
        let m = complete(push(asm, &cont(7, 0, &payload[57..])).unwrap());
        assert_eq!(m.payload, payload);
    }
}
