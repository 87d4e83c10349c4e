//! CTAPHID (CTAP 2.1 §11.2): 64-byte reports, channels, and the transaction state machine.
//!
//! Sans-IO in the quinn style: [`Hid`] takes reports and the current time (milliseconds on any
//! monotonic clock) and never reads a clock, a socket or an RNG of its own. The driver
//!
//! 1. feeds every 64-byte report from the host to [`Hid::handle_report`],
//! 2. calls [`Hid::handle_timeout`] whenever the instant from [`Hid::poll_timeout`] passes,
//! 3. after each call, drains [`Hid::poll_transmit`] (reports to the host) and [`Hid::poll_event`]
//!    (work for the authenticator), and
//! 4. answers each [`Event::Request`] with [`Hid::respond`].
//!
//! The machine answers INIT, PING, LOCK and CANCEL itself, and WINK with an empty reply plus an
//! [`Event::Wink`]. MSG (CTAP1/U2F) and CBOR (CTAP2) become [`Event::Request`]s. While a CBOR
//! request is outstanding the machine sends KEEPALIVE every [`KEEPALIVE_INTERVAL_MS`] with the
//! status set by [`Hid::set_keepalive_status`], and a CANCEL on that channel becomes
//! [`Event::Cancel`], after which the authenticator responds with
//! [`CTAP2_ERR_KEEPALIVE_CANCEL`].
//!
//! One transaction at a time, device-wide (§11.2.4): while one channel's message is being
//! received or processed, an initialization packet from any other channel gets
//! `ERR_CHANNEL_BUSY`. Malformed input never panics; it is answered with a CTAPHID error or
//! ignored, as listed on [`Hid::handle_report`]. The fuzz target for this module lives with the
//! other fuzz targets, outside the workspace.
//!
//! ```
//! use latch_ctap::hid::{split, Cid, Command, Config, Event, Hid, Packet};
//!
//! let mut next = 0x1000_0000u32;
//! let mut hid = Hid::new(Config::default(), move || { next += 1; next });
//!
//! // The host asks for a channel on the broadcast CID.
//! let nonce = [1, 2, 3, 4, 5, 6, 7, 8];
//! for report in split(Cid::BROADCAST, Command::Init, &nonce).unwrap() {
//!     hid.handle_report(0, &report).unwrap();
//! }
//! let reply = hid.poll_transmit().unwrap();
//! let Packet::Init(init) = Packet::from_report(&reply) else { unreachable!() };
//! assert_eq!(&init.data[..8], &nonce);
//! let cid = Cid::from_bytes([init.data[8], init.data[9], init.data[10], init.data[11]]);
//!
//! // A CBOR request on the new channel surfaces as an event; the authenticator answers it.
//! for report in split(cid, Command::Cbor, &[0x04]).unwrap() {
//!     hid.handle_report(5, &report).unwrap();
//! }
//! let Some(Event::Request(req)) = hid.poll_event() else { unreachable!() };
//! assert_eq!(req.payload, vec![0x04]);
//! hid.respond(req.id, &[0x00]).unwrap();
//! assert!(hid.poll_transmit().is_some());
//! ```

pub mod assemble;
mod channel;
pub mod split;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::VecDeque;

use thiserror::Error;

pub use assemble::{
    AssembleError, Assembler, ContPacket, InitPacket, Message, Packet, PacketError, Step,
};
pub use channel::CidSource;
pub use split::{report_count, split, Fragments, SplitError};
pub use wire::{Capabilities, Cid, Command, DeviceVersion, HidError, KeepaliveStatus};

use channel::ChannelTable;

/// Bytes in one full-speed HID report.
pub const REPORT_LEN: usize = 64;
/// Payload bytes in an initialization packet (64 − CID 4 − CMD 1 − BCNT 2).
pub const INIT_DATA_LEN: usize = 57;
/// Payload bytes in a continuation packet (64 − CID 4 − SEQ 1).
pub const CONT_DATA_LEN: usize = 59;
/// Highest continuation sequence number.
pub const MAX_SEQ: u8 = 0x7F;
/// Largest message: 57 + 128 × 59 = 7609 bytes.
pub const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + (MAX_SEQ as usize + 1) * CONT_DATA_LEN;
/// A message's next continuation packet must arrive within this many milliseconds of the previous
/// packet, or the partial message is dropped with `ERR_MSG_TIMEOUT`.
pub const CONT_TIMEOUT_MS: u64 = 500;
/// Interval between KEEPALIVEs for an outstanding CBOR request. The spec asks for at least one
/// every 100 ms; 80 leaves the driver 20 ms of scheduling slack.
pub const KEEPALIVE_INTERVAL_MS: u64 = 80;
/// Longest CTAPHID_LOCK, in seconds.
pub const MAX_LOCK_SECONDS: u8 = 10;
/// Channels kept allocated at once; the least recently used one is forgotten beyond this.
pub const MAX_CHANNELS: usize = 16;
/// CTAPHID protocol version reported by INIT.
pub const PROTOCOL_VERSION: u8 = 2;
/// CTAP2 status the authenticator answers a cancelled CBOR request with.
pub const CTAP2_ERR_KEEPALIVE_CANCEL: u8 = 0x2D;
/// Reports that may wait in the transmit queue (eight largest messages). A driver that drains
/// after every call never comes near it; past it, whole messages are dropped and counted.
pub const MAX_QUEUED_REPORTS: usize = 8 * 129;
/// Events that may wait in the event queue; past it, events are dropped and counted.
pub const MAX_QUEUED_EVENTS: usize = 64;

/// A 64-byte HID report.
pub type Report = [u8; REPORT_LEN];

/// What the machine tells hosts about the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Reported by INIT.
    pub version: DeviceVersion,
    /// Reported by INIT, and enforced: WINK and CBOR are refused with `ERR_INVALID_CMD` unless
    /// flagged, MSG if NMSG is set.
    pub capabilities: Capabilities,
}

/// Identifies one surfaced request, so a late answer can never land on a newer transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What kind of request the authenticator must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// CTAPHID_MSG: a CTAP1/U2F APDU; answer with a response APDU.
    Msg,
    /// CTAPHID_CBOR: a CTAP2 command byte and CBOR parameters; answer with a status byte and
    /// CBOR.
    Cbor,
}

impl RequestKind {
    /// The command of the request and of its response.
    pub const fn command(self) -> Command {
        match self {
            RequestKind::Msg => Command::Msg,
            RequestKind::Cbor => Command::Cbor,
        }
    }
}

/// A complete request for the authenticator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Pass to [`Hid::respond`] and [`Hid::set_keepalive_status`].
    pub id: RequestId,
    /// Channel of the request.
    pub cid: Cid,
    /// MSG or CBOR.
    pub kind: RequestKind,
    /// The whole message payload.
    pub payload: Vec<u8>,
}

/// Work for the authenticator, pulled with [`Hid::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Answer with [`Hid::respond`]. No other request is accepted until then.
    Request(Request),
    /// Blink or otherwise show which device this is. Already answered.
    Wink {
        /// Channel that asked.
        cid: Cid,
    },
    /// The host cancelled this CBOR request: stop waiting for the user and respond with
    /// [`CTAP2_ERR_KEEPALIVE_CANCEL`] as the one-byte CBOR response.
    Cancel {
        /// The cancelled request.
        id: RequestId,
        /// Its channel.
        cid: Cid,
    },
    /// The host resynchronised the channel (INIT on it): drop the request without answering;
    /// [`Hid::respond`] for it now returns [`RespondError::NotPending`].
    Aborted {
        /// The abandoned request.
        id: RequestId,
        /// Its channel.
        cid: Cid,
    },
}

/// Why [`Hid::respond`] or [`Hid::set_keepalive_status`] did nothing useful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RespondError {
    /// The request was already answered or was aborted by a resync.
    #[error("request {0:?} is not pending")]
    NotPending(RequestId),
    /// The response exceeds 7609 bytes; the host got `ERR_OTHER` instead and the transaction is
    /// over.
    #[error("a {len}-byte response exceeds the {MAX_MESSAGE_LEN}-byte maximum message")]
    TooLong {
        /// Length of the refused response.
        len: usize,
    },
}

/// The one transaction the device works on.
#[derive(Debug)]
enum Transaction {
    Idle,
    /// Receiving a multi-packet message.
    Assembling {
        cmd: Command,
        asm: Assembler,
        /// When the next continuation packet is overdue.
        deadline: u64,
    },
    /// A request is with the authenticator.
    Processing(Pending),
}

impl Transaction {
    fn cid(&self) -> Option<Cid> {
        match self {
            Transaction::Idle => None,
            Transaction::Assembling { asm, .. } => Some(asm.cid()),
            Transaction::Processing(p) => Some(p.cid),
        }
    }
}

#[derive(Debug)]
struct Pending {
    id: RequestId,
    cid: Cid,
    kind: RequestKind,
    cancelled: bool,
    /// CBOR requests only: CTAP1/U2F HID has no KEEPALIVE and U2F hosts do not expect one.
    keepalive: Option<Keepalive>,
}

#[derive(Clone, Copy, Debug)]
struct Keepalive {
    status: KeepaliveStatus,
    next_at: u64,
}

#[derive(Clone, Copy, Debug)]
struct Lock {
    cid: Cid,
    until: u64,
}

/// The CTAPHID device-side state machine. See the [module docs](self) for the driving loop.
#[derive(Debug)]
pub struct Hid<C> {
    config: Config,
    cids: C,
    channels: ChannelTable,
    tx: Transaction,
    lock: Option<Lock>,
    next_request: u64,
    transmit: VecDeque<Report>,
    events: VecDeque<Event>,
    dropped: u64,
}

impl<C: CidSource> Hid<C> {
    /// A device with no channels allocated; `cids` supplies new channel identifiers.
    pub fn new(config: Config, cids: C) -> Self {
        Hid {
            config,
            cids,
            channels: ChannelTable::new(MAX_CHANNELS),
            tx: Transaction::Idle,
            lock: None,
            next_request: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Handles one report from the host at `now_ms`. Overdue timers run first, as if
    /// [`Hid::handle_timeout`] had been called.
    ///
    /// Only a report that is not exactly 64 bytes is refused (and otherwise ignored). Every other
    /// input is answered or ignored, in this order of checks:
    ///
    /// - continuation packet not for the message being received: ignored;
    /// - continuation packet out of sequence: `ERR_INVALID_SEQ`, message dropped;
    /// - CANCEL: never answered; cancels the pending CBOR request of its own channel, or does
    ///   nothing (or drops the channel's own partial message);
    /// - CID 0, a non-INIT command on the broadcast CID, or an unallocated CID:
    ///   `ERR_INVALID_CHANNEL`;
    /// - another channel has a transaction in progress or holds the lock: `ERR_CHANNEL_BUSY`;
    /// - INIT on the channel of the transaction in progress: the transaction is dropped (a
    ///   pending request becomes [`Event::Aborted`]) and INIT proceeds; any other command there:
    ///   `ERR_INVALID_SEQ` mid-message (message dropped), `ERR_CHANNEL_BUSY` while processing;
    /// - BCNT above 7609: `ERR_INVALID_LEN`;
    /// - unknown, vendor, device-to-host or not-advertised command: `ERR_INVALID_CMD`;
    /// - INIT without exactly 8 bytes, LOCK without exactly 1, WINK with any: `ERR_INVALID_LEN`;
    /// - LOCK over 10 seconds: `ERR_INVALID_PAR`.
    pub fn handle_report(&mut self, now_ms: u64, report: &[u8]) -> Result<(), PacketError> {
        let packet = Packet::parse(report)?;
        self.handle_timeout(now_ms);
        match packet {
            Packet::Init(init) => self.on_init(now_ms, &init),
            Packet::Cont(cont) => self.on_cont(now_ms, &cont),
        }
        Ok(())
    }

    /// Runs the timers due at `now_ms`: drops an overdue partial message with
    /// `ERR_MSG_TIMEOUT`, sends a KEEPALIVE for an outstanding CBOR request, and ends an expired
    /// lock.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.lock.is_some_and(|l| now_ms >= l.until) {
            self.lock = None;
        }
        match &mut self.tx {
            Transaction::Assembling { asm, deadline, .. } if now_ms >= *deadline => {
                let cid = asm.cid();
                self.tx = Transaction::Idle;
                self.send_error(cid, HidError::MsgTimeout);
            }
            Transaction::Processing(Pending {
                cid,
                keepalive: Some(k),
                ..
            }) if now_ms >= k.next_at => {
                k.next_at = now_ms.saturating_add(KEEPALIVE_INTERVAL_MS);
                let (cid, status) = (*cid, k.status);
                self.send_keepalive(cid, status);
            }
            _ => {}
        }
    }

    /// The earliest instant at which [`Hid::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        match &self.tx {
            Transaction::Assembling { deadline, .. } => Some(*deadline),
            Transaction::Processing(p) => p.keepalive.map(|k| k.next_at),
            Transaction::Idle => None,
        }
    }

    /// The next report for the host, in order.
    pub fn poll_transmit(&mut self) -> Option<Report> {
        self.transmit.pop_front()
    }

    /// The next event for the authenticator, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Answers the request `id` with `payload` (an APDU for MSG, status byte + CBOR for CBOR),
    /// ending the transaction.
    pub fn respond(&mut self, id: RequestId, payload: &[u8]) -> Result<(), RespondError> {
        let (cid, cmd) = match &self.tx {
            Transaction::Processing(p) if p.id == id => (p.cid, p.kind.command()),
            _ => return Err(RespondError::NotPending(id)),
        };
        self.tx = Transaction::Idle;
        if payload.len() > MAX_MESSAGE_LEN {
            self.send_error(cid, HidError::Other);
            return Err(RespondError::TooLong { len: payload.len() });
        }
        self.send(cid, cmd, payload);
        Ok(())
    }

    /// Sets the KEEPALIVE status of the pending CBOR request `id`. A change is sent at once;
    /// the same status keeps its schedule. No effect on MSG requests (no KEEPALIVE in U2F).
    pub fn set_keepalive_status(
        &mut self,
        now_ms: u64,
        id: RequestId,
        status: KeepaliveStatus,
    ) -> Result<(), RespondError> {
        let Transaction::Processing(p) = &mut self.tx else {
            return Err(RespondError::NotPending(id));
        };
        if p.id != id {
            return Err(RespondError::NotPending(id));
        }
        let cid = p.cid;
        if let Some(k) = &mut p.keepalive {
            if k.status != status {
                k.status = status;
                k.next_at = now_ms.saturating_add(KEEPALIVE_INTERVAL_MS);
                self.send_keepalive(cid, status);
            }
        }
        Ok(())
    }

    /// Whether a transaction is in progress (being received or with the authenticator).
    pub fn is_busy(&self) -> bool {
        !matches!(self.tx, Transaction::Idle)
    }

    /// The channel holding the lock at `now_ms`, if any.
    pub fn lock_holder(&self, now_ms: u64) -> Option<Cid> {
        self.lock.filter(|l| now_ms < l.until).map(|l| l.cid)
    }

    /// Whether `cid` is an allocated channel.
    pub fn is_allocated(&self, cid: Cid) -> bool {
        self.channels.contains(cid)
    }

    /// Number of allocated channels (at most [`MAX_CHANNELS`]).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Messages and events dropped because the driver did not drain the queues.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn on_cont(&mut self, now: u64, cont: &ContPacket<'_>) {
        // Spurious continuation packets (no message, or another channel's) are ignored.
        let Transaction::Assembling { asm, .. } = &self.tx else {
            return;
        };
        if asm.cid() != cont.cid {
            return;
        }
        let Transaction::Assembling { cmd, asm, .. } =
            std::mem::replace(&mut self.tx, Transaction::Idle)
        else {
            return;
        };
        self.channels.touch(cont.cid);
        match asm.push(cont) {
            Ok(Step::More(asm)) => {
                self.tx = Transaction::Assembling {
                    cmd,
                    asm,
                    deadline: now.saturating_add(CONT_TIMEOUT_MS),
                };
            }
            Ok(Step::Complete(msg)) => self.dispatch(now, cmd, msg),
            Err(e) => self.send_error(cont.cid, e.hid_error()),
        }
    }

    fn on_init(&mut self, now: u64, init: &InitPacket<'_>) {
        let cid = init.cid;
        let cmd = Command::from_code(init.cmd);
        if cmd == Some(Command::Cancel) {
            self.on_cancel(cid);
            return;
        }
        if cid == Cid::RESERVED
            || (cid == Cid::BROADCAST && cmd != Some(Command::Init))
            || (cid != Cid::BROADCAST && !self.channels.contains(cid))
        {
            self.send_error(cid, HidError::InvalidChannel);
            return;
        }
        let busy = self.tx.cid().filter(|&c| c != cid);
        let locked = self.lock_holder(now).filter(|&c| c != cid);
        if busy.is_some() || locked.is_some() {
            self.send_error(cid, HidError::ChannelBusy);
            return;
        }
        self.channels.touch(cid);

        // The transaction in progress, if any, is on this very channel.
        match std::mem::replace(&mut self.tx, Transaction::Idle) {
            Transaction::Idle => {}
            Transaction::Assembling { .. } if cmd == Some(Command::Init) => {}
            Transaction::Assembling { .. } => {
                self.send_error(cid, HidError::InvalidSeq);
                return;
            }
            Transaction::Processing(p) if cmd == Some(Command::Init) => {
                self.push_event(Event::Aborted { id: p.id, cid });
            }
            Transaction::Processing(p) => {
                self.tx = Transaction::Processing(p);
                self.send_error(cid, HidError::ChannelBusy);
                return;
            }
        }

        if usize::from(init.bcnt) > MAX_MESSAGE_LEN {
            self.send_error(cid, HidError::InvalidLen);
            return;
        }
        let Some(cmd) = cmd.filter(|&c| self.accepts(c)) else {
            self.send_error(cid, HidError::InvalidCmd);
            return;
        };
        let len_ok = match cmd {
            Command::Init => init.bcnt == 8,
            Command::Lock => init.bcnt == 1,
            Command::Wink => init.bcnt == 0,
            _ => true,
        };
        if !len_ok {
            self.send_error(cid, HidError::InvalidLen);
            return;
        }
        match Assembler::start(init) {
            Ok(Step::Complete(msg)) => self.dispatch(now, cmd, msg),
            Ok(Step::More(asm)) => {
                self.tx = Transaction::Assembling {
                    cmd,
                    asm,
                    deadline: now.saturating_add(CONT_TIMEOUT_MS),
                };
            }
            Err(e) => self.send_error(cid, e.hid_error()),
        }
    }

    /// Whether a host may send `cmd` to this device.
    fn accepts(&self, cmd: Command) -> bool {
        let caps = self.config.capabilities;
        match cmd {
            Command::Ping | Command::Lock | Command::Init | Command::Cancel => true,
            Command::Msg => !caps.contains(Capabilities::NMSG),
            Command::Wink => caps.contains(Capabilities::WINK),
            Command::Cbor => caps.contains(Capabilities::CBOR),
            Command::Keepalive | Command::Error => false,
        }
    }

    fn on_cancel(&mut self, cid: Cid) {
        match &mut self.tx {
            Transaction::Processing(p)
                if p.cid == cid && p.kind == RequestKind::Cbor && !p.cancelled =>
            {
                p.cancelled = true;
                let id = p.id;
                self.channels.touch(cid);
                self.push_event(Event::Cancel { id, cid });
            }
            Transaction::Assembling { asm, .. } if asm.cid() == cid => {
                self.tx = Transaction::Idle;
            }
            _ => {}
        }
    }

    /// Acts on a whole message; the transaction is idle on entry.
    fn dispatch(&mut self, now: u64, cmd: Command, msg: Message) {
        let cid = msg.cid;
        match cmd {
            Command::Init => self.on_init_message(cid, &msg.payload),
            Command::Ping => self.send(cid, Command::Ping, &msg.payload),
            Command::Lock => {
                let seconds = msg.payload.first().copied().unwrap_or(0);
                if seconds > MAX_LOCK_SECONDS {
                    self.send_error(cid, HidError::InvalidPar);
                    return;
                }
                self.lock = (seconds > 0).then(|| Lock {
                    cid,
                    until: now.saturating_add(u64::from(seconds) * 1000),
                });
                self.send(cid, Command::Lock, &[]);
            }
            Command::Wink => {
                self.send(cid, Command::Wink, &[]);
                self.push_event(Event::Wink { cid });
            }
            Command::Msg | Command::Cbor => {
                let kind = if cmd == Command::Cbor {
                    RequestKind::Cbor
                } else {
                    RequestKind::Msg
                };
                self.next_request = self.next_request.wrapping_add(1);
                let id = RequestId(self.next_request);
                self.tx = Transaction::Processing(Pending {
                    id,
                    cid,
                    kind,
                    cancelled: false,
                    keepalive: (kind == RequestKind::Cbor).then_some(Keepalive {
                        status: KeepaliveStatus::Processing,
                        next_at: now.saturating_add(KEEPALIVE_INTERVAL_MS),
                    }),
                });
                self.push_event(Event::Request(Request {
                    id,
                    cid,
                    kind,
                    payload: msg.payload,
                }));
            }
            // Refused by `accepts` before assembly; kept total.
            Command::Cancel | Command::Keepalive | Command::Error => {
                self.send_error(cid, HidError::InvalidCmd);
            }
        }
    }

    /// INIT (§11.2.9.1.3): on broadcast, allocate a channel; on an allocated channel, reply with
    /// the same CID (the resync itself happened in `on_init`). The reply goes out on the channel
    /// the request came in on.
    fn on_init_message(&mut self, cid: Cid, nonce: &[u8]) {
        let Ok(nonce) = <[u8; 8]>::try_from(nonce) else {
            self.send_error(cid, HidError::InvalidLen);
            return;
        };
        let assigned = if cid == Cid::BROADCAST {
            let pinned: Vec<Cid> = self.lock.iter().map(|l| l.cid).collect();
            match self.channels.allocate(&mut self.cids, &pinned) {
                Some(new) => new,
                None => {
                    self.send_error(cid, HidError::Other);
                    return;
                }
            }
        } else {
            cid
        };
        let v = self.config.version;
        let mut reply = [0u8; 17];
        let [n @ .., c0, c1, c2, c3, proto, major, minor, build, caps] = &mut reply;
        *n = nonce;
        [*c0, *c1, *c2, *c3] = assigned.to_bytes();
        *proto = PROTOCOL_VERSION;
        *major = v.major;
        *minor = v.minor;
        *build = v.build;
        *caps = self.config.capabilities.bits();
        self.send(cid, Command::Init, &reply);
    }

    fn send_error(&mut self, cid: Cid, err: HidError) {
        self.send(cid, Command::Error, &[err.code()]);
    }

    fn send_keepalive(&mut self, cid: Cid, status: KeepaliveStatus) {
        self.send(cid, Command::Keepalive, &[status.code()]);
    }

    /// Queues a whole message, or drops it whole if the queue is full.
    fn send(&mut self, cid: Cid, cmd: Command, payload: &[u8]) {
        let Ok(frags) = split(cid, cmd, payload) else {
            // Callers check the length first; never send half a message.
            self.dropped = self.dropped.saturating_add(1);
            return;
        };
        if self.transmit.len().saturating_add(frags.len()) > MAX_QUEUED_REPORTS {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.transmit.extend(frags);
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.events.push_back(event);
    }
}
