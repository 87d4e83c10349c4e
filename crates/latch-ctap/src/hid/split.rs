//! Fragmentation: one message → 64-byte CTAPHID reports (CTAP 2.1 §11.2.4).
//!
//! The first report is an initialization packet with the command and the total length; the rest
//! are continuation packets with SEQ 0, 1, 2, …. Unused bytes of the last report are zero. A
//! zero-length message is a single initialization packet with BCNT 0.

use thiserror::Error;

use super::assemble::INIT_FLAG;
use super::{Cid, Command, Report, CONT_DATA_LEN, INIT_DATA_LEN, MAX_MESSAGE_LEN};

/// A message that does not fit in one CTAPHID transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SplitError {
    /// More than 57 + 128 × 59 = 7609 bytes.
    #[error("a {len}-byte message exceeds the {MAX_MESSAGE_LEN}-byte maximum")]
    TooLong {
        /// Length of the payload that was refused.
        len: usize,
    },
}

/// Number of reports a `len`-byte message takes (at least one).
pub fn report_count(len: usize) -> usize {
    1 + len.saturating_sub(INIT_DATA_LEN).div_ceil(CONT_DATA_LEN)
}

/// Splits `payload` into reports for `cmd` on channel `cid`. Lazy: each report is built when the
/// iterator is advanced.
pub fn split(cid: Cid, cmd: Command, payload: &[u8]) -> Result<Fragments<'_>, SplitError> {
    let bcnt = u16::try_from(payload.len())
        .ok()
        .filter(|_| payload.len() <= MAX_MESSAGE_LEN)
        .ok_or(SplitError::TooLong { len: payload.len() })?;
    Ok(Fragments {
        cid,
        cmd: cmd.code(),
        bcnt,
        rest: payload,
        next: Next::Init,
    })
}

/// Iterator over the reports of one message; see [`split`].
#[derive(Clone, Debug)]
pub struct Fragments<'a> {
    cid: Cid,
    cmd: u8,
    bcnt: u16,
    rest: &'a [u8],
    next: Next,
}

#[derive(Clone, Copy, Debug)]
enum Next {
    Init,
    Cont(u8),
    Done,
}

impl Iterator for Fragments<'_> {
    type Item = Report;

    fn next(&mut self) -> Option<Report> {
        let mut report = [0u8; super::REPORT_LEN];
        let [c0, c1, c2, c3, tag, body @ ..] = &mut report;
        [*c0, *c1, *c2, *c3] = self.cid.to_bytes();
        match self.next {
            Next::Done => return None,
            Next::Init => {
                *tag = self.cmd | INIT_FLAG;
                let [hi, lo, data @ ..] = body;
                [*hi, *lo] = self.bcnt.to_be_bytes();
                fill(data, take(&mut self.rest, INIT_DATA_LEN));
                self.next = self.after(0);
            }
            Next::Cont(seq) => {
                *tag = seq;
                fill(body, take(&mut self.rest, CONT_DATA_LEN));
                self.next = self.after(seq.wrapping_add(1));
            }
        }
        Some(report)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self.next {
            Next::Done => 0,
            Next::Init => report_count(self.rest.len()),
            Next::Cont(_) => self.rest.len().div_ceil(CONT_DATA_LEN),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Fragments<'_> {}

impl Fragments<'_> {
    fn after(&self, seq: u8) -> Next {
        if self.rest.is_empty() {
            Next::Done
        } else {
            Next::Cont(seq)
        }
    }
}

/// Removes and returns up to `n` bytes from the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
    *rest = tail;
    head
}

/// Copies as much of `src` as fits into `dst`.
fn fill(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests {
    use super::super::assemble::{Assembler, Packet, Step};
    use super::*;
    use crate::hid::REPORT_LEN;

    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Reassembles with the assembler, asserting the message ends exactly at the last report.
    fn reassemble(reports: &[Report]) -> (Cid, u8, Vec<u8>) {
        let (first, rest) = reports.split_first().expect("at least one report");
        let Packet::Init(init) = Packet::from_report(first) else {
            panic!("first report is not an init packet");
        };
        let mut step = Assembler::start(&init).unwrap();
        for r in rest {
            let Step::More(asm) = step else {
                panic!("message complete before the last report");
            };
            let Packet::Cont(c) = Packet::from_report(r) else {
                panic!("expected a continuation packet");
            };
            step = asm.push(&c).unwrap();
        }
        match step {
            Step::Complete(m) => (m.cid, m.cmd, m.payload),
            Step::More(a) => panic!("incomplete after the last report: {a:?}"),
        }
    }

    #[test]
    fn round_trip_at_every_boundary() {
        for (len, reports) in [
            (0, 1),
            (1, 1),
            (57, 1),
            (58, 2),
            (57 + 59, 2),
            (57 + 59 + 1, 3),
            (1024, 18),
            (7609, 129),
        ] {
            let data = payload(len);
            let frags = split(Cid(0xCAFE_F00D), Command::Cbor, &data).unwrap();
            assert_eq!(frags.len(), reports, "size hint for {len}");
            let out: Vec<Report> = frags.collect();
            assert_eq!(out.len(), reports, "report count for {len}");
            assert_eq!(report_count(len), reports);
            let (cid, cmd, back) = reassemble(&out);
            assert_eq!(cid, Cid(0xCAFE_F00D));
            assert_eq!(cmd, Command::Cbor.code());
            assert_eq!(back, data, "payload for {len}");
        }
    }

    #[test]
    fn message_over_7609_is_refused() {
        let data = payload(7610);
        assert_eq!(
            split(Cid(1), Command::Ping, &data).unwrap_err(),
            SplitError::TooLong { len: 7610 }
        );
        let data = payload(70_000);
        assert_eq!(
            split(Cid(1), Command::Ping, &data).unwrap_err(),
            SplitError::TooLong { len: 70_000 }
        );
    }

    #[test]
    fn zero_length_message_is_one_init_packet() {
        let out: Vec<Report> = split(Cid(0x0102_0304), Command::Wink, &[])
            .unwrap()
            .collect();
        assert_eq!(out.len(), 1);
        let mut want = [0u8; REPORT_LEN];
        want[..7].copy_from_slice(&[1, 2, 3, 4, 0x88, 0, 0]);
        assert_eq!(out[0], want);
    }

    #[test]
    fn headers_and_zero_padding_are_exact() {
        let data = payload(60);
        let out: Vec<Report> = split(Cid(0xA0B0_C0D0), Command::Msg, &data)
            .unwrap()
            .collect();
        assert_eq!(out.len(), 2);
        assert_eq!(&out[0][..7], &[0xA0, 0xB0, 0xC0, 0xD0, 0x83, 0x00, 60]);
        assert_eq!(&out[0][7..], &data[..57]);
        assert_eq!(&out[1][..5], &[0xA0, 0xB0, 0xC0, 0xD0, 0x00]);
        assert_eq!(&out[1][5..8], &data[57..]);
        assert!(out[1][8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn largest_message_uses_seq_0_to_127() {
        let data = payload(7609);
        let out: Vec<Report> = split(Cid(9), Command::Ping, &data).unwrap().collect();
        let seqs: Vec<u8> = out[1..].iter().map(|r| r[4]).collect();
        assert_eq!(seqs, (0..=0x7F).collect::<Vec<u8>>());
        assert_eq!(&out[0][5..7], &7609u16.to_be_bytes());
    }

    #[test]
    fn report_count_matches_formula() {
        assert_eq!(report_count(0), 1);
        assert_eq!(report_count(57), 1);
        assert_eq!(report_count(58), 2);
        assert_eq!(report_count(116), 2);
        assert_eq!(report_count(117), 3);
        assert_eq!(report_count(7609), 129);
    }
}
