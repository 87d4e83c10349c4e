//! Client tests: HID framing against scripts and the in-process key, CTAP2 and ClientPIN round
//! trips against the authenticator, and exact request bytes for the commands the authenticator
//! does not implement yet.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod ctap2;
mod hid;
mod pin;

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use super::loopback::Loopback;
use super::{Ctap2, Error, HidDevice, Transport};
use crate::hid::{split, Cid, Command, Report};
use crate::testing::XorShiftRng;

pub(super) const NONCE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Records every report sent through it.
pub(super) struct Recording<T> {
    pub(super) inner: T,
    pub(super) sent: Vec<Report>,
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        self.sent.push(*report);
        self.inner.send(report)
    }
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        self.inner.recv(timeout)
    }
}

/// Replies from a script whatever is sent; `None` is a timeout.
#[derive(Default)]
pub(super) struct Script {
    pub(super) sent: Vec<Report>,
    pub(super) replies: VecDeque<Option<Report>>,
}

impl Script {
    pub(super) fn reply(&mut self, cid: u32, cmd: Command, payload: &[u8]) {
        self.replies
            .extend(split(Cid(cid), cmd, payload).unwrap().map(Some));
    }

    pub(super) fn raw(&mut self, report: Report) {
        self.replies.push_back(Some(report));
    }
}

impl Transport for Script {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        self.sent.push(*report);
        Ok(())
    }
    fn recv(&mut self, _timeout: Duration) -> io::Result<Option<Report>> {
        Ok(self.replies.pop_front().flatten())
    }
}

/// A fresh in-process key behind a recording transport, opened.
pub(super) fn open_loopback() -> HidDevice<Recording<Loopback>> {
    let inner = Loopback::fresh(42).unwrap();
    HidDevice::open(
        Recording {
            inner,
            sent: Vec::new(),
        },
        NONCE,
    )
    .unwrap()
}

/// A CTAP2 client over a fresh in-process key.
pub(super) fn ctap2() -> Ctap2<HidDevice<Recording<Loopback>>> {
    Ctap2::with_rng(open_loopback(), Box::new(XorShiftRng::new(9))).unwrap()
}

/// Hex for readable expected bytes.
pub(super) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
