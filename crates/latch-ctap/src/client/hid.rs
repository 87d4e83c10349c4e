//! Client-side CTAPHID (CTAP 2.1 §11.2): allocate a channel with INIT, send a message as
//! fragments, read the response back (following KEEPALIVE, mapping CTAPHID_ERROR, retrying
//! CHANNEL_BUSY), and the PING, WINK, LOCK, CANCEL, MSG and CBOR commands.
//!
//! Framing reuses the device side's [`split`] and [`Assembler`]; the transport is anything
//! implementing [`Transport`]. There is no clock here: "the key is gone" means the transport
//! returned no report within [`HidDevice::timeout`] (KEEPALIVE comes every 100 ms while a key
//! waits for a touch, so silence that long is a dead key).

use std::time::Duration;

use super::{CtapDevice, Error, Transport};
use crate::hid::{
    split, Assembler, Capabilities, Cid, Command, DeviceVersion, HidError, KeepaliveStatus, Packet,
    Step, MAX_MESSAGE_LEN,
};

/// Default silence after which a call fails with [`Error::Timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between CHANNEL_BUSY retries (python-fido2 uses the same).
pub const BUSY_RETRY_DELAY: Duration = Duration::from_millis(100);
/// CHANNEL_BUSY retries before giving up.
pub const BUSY_RETRIES: u32 = 50;
/// Reports for other channels (or stray continuations) tolerated in one call.
const MAX_STRAY_REPORTS: usize = 1024;
/// Length of the INIT response payload.
const INIT_RESPONSE_LEN: usize = 17;

/// What INIT told about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitInfo {
    /// The channel the key allocated.
    pub cid: Cid,
    /// CTAPHID protocol version (2).
    pub protocol_version: u8,
    /// Device version (major, minor, build).
    pub version: DeviceVersion,
    /// WINK / CBOR / NMSG flags.
    pub capabilities: Capabilities,
}

/// What to do after a KEEPALIVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Keep waiting.
    Continue,
    /// Send CTAPHID_CANCEL; the key then answers KEEPALIVE_CANCEL (0x2D).
    Cancel,
}

type KeepaliveHandler = Box<dyn FnMut(KeepaliveStatus) -> KeepaliveAction + Send>;

/// One CTAPHID channel on one key.
pub struct HidDevice<T> {
    transport: T,
    info: InitInfo,
    timeout: Duration,
    on_keepalive: Option<KeepaliveHandler>,
}

impl<T> std::fmt::Debug for HidDevice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidDevice")
            .field("info", &self.info)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> HidDevice<T> {
    /// Sends CTAPHID_INIT with `nonce` on the broadcast channel and takes the channel the key
    /// allocates. Answers to other nonces (other hosts) are skipped.
    pub fn open(transport: T, nonce: [u8; 8]) -> Result<Self, Error> {
        Self::open_with_timeout(transport, nonce, DEFAULT_TIMEOUT)
    }

    /// [`HidDevice::open`] with a silence timeout other than [`DEFAULT_TIMEOUT`].
    pub fn open_with_timeout(
        mut transport: T,
        nonce: [u8; 8],
        timeout: Duration,
    ) -> Result<Self, Error> {
        send_message(&mut transport, Cid::BROADCAST, Command::Init, &nonce)?;
        let mut strays = 0usize;
        loop {
            let report = transport.recv(timeout)?.ok_or(Error::Timeout(timeout))?;
            if let Packet::Init(init) = Packet::from_report(&report) {
                if init.cid == Cid::BROADCAST && init.cmd == Command::Init.code() {
                    if let Some(info) = parse_init(&init.data[..], init.bcnt, &nonce)? {
                        return Ok(Self {
                            transport,
                            info,
                            timeout,
                            on_keepalive: None,
                        });
                    }
                } else if init.cid == Cid::BROADCAST && init.cmd == Command::Error.code() {
                    return Err(hid_error(init.data.first().copied().unwrap_or(0)));
                }
            }
            strays += 1;
            if strays > MAX_STRAY_REPORTS {
                return Err(Error::Framing("no INIT response for our nonce".into()));
            }
        }
    }

    /// What INIT reported.
    pub const fn info(&self) -> &InitInfo {
        &self.info
    }

    /// The channel in use.
    pub const fn cid(&self) -> Cid {
        self.info.cid
    }

    /// The silence after which a call fails.
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets the silence after which a call fails.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Calls `handler` on every KEEPALIVE (e.g. print "Touch your key…" on
    /// [`KeepaliveStatus::UpNeeded`]); its answer may cancel the request.
    pub fn set_keepalive_handler(
        &mut self,
        handler: impl FnMut(KeepaliveStatus) -> KeepaliveAction + Send + 'static,
    ) {
        self.on_keepalive = Some(Box::new(handler));
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// One transaction: sends `payload` as `cmd`, returns the response payload. CHANNEL_BUSY
    /// is retried [`BUSY_RETRIES`] times, [`BUSY_RETRY_DELAY`] apart.
    pub fn call(&mut self, cmd: Command, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let mut attempt = 0;
        loop {
            send_message(&mut self.transport, self.info.cid, cmd, payload)?;
            match self.read_response(cmd) {
                Err(Error::Hid(HidError::ChannelBusy)) if attempt < BUSY_RETRIES => {
                    attempt += 1;
                    self.pause(BUSY_RETRY_DELAY)?;
                }
                other => return other,
            }
        }
    }

    /// CTAPHID_PING: the key must echo `data` unchanged.
    pub fn ping(&mut self, data: &[u8]) -> Result<(), Error> {
        let echo = self.call(Command::Ping, data)?;
        if echo != data {
            return Err(Error::Framing(format!(
                "PING echoed {} bytes that differ from the {} sent",
                echo.len(),
                data.len()
            )));
        }
        Ok(())
    }

    /// CTAPHID_WINK (only if INIT advertised it).
    pub fn wink(&mut self) -> Result<(), Error> {
        if !self.info.capabilities.contains(Capabilities::WINK) {
            return Err(Error::Unsupported("the key does not advertise WINK".into()));
        }
        self.call(Command::Wink, &[]).map(|_| ())
    }

    /// CTAPHID_LOCK for `seconds` (0 releases; at most 10).
    pub fn lock(&mut self, seconds: u8) -> Result<(), Error> {
        self.call(Command::Lock, &[seconds]).map(|_| ())
    }

    /// Sends CTAPHID_CANCEL on this channel. It has no reply; the pending CBOR request answers
    /// KEEPALIVE_CANCEL.
    pub fn cancel(&mut self) -> Result<(), Error> {
        send_message(&mut self.transport, self.info.cid, Command::Cancel, &[])
    }

    /// Reads the response to `cmd` on our channel.
    fn read_response(&mut self, cmd: Command) -> Result<Vec<u8>, Error> {
        let cid = self.info.cid;
        let mut assembling: Option<Assembler> = None;
        let mut cancelled = false;
        let mut strays = 0usize;
        loop {
            let report = self
                .transport
                .recv(self.timeout)?
                .ok_or(Error::Timeout(self.timeout))?;
            let packet = Packet::from_report(&report);
            if packet.cid() != cid {
                strays += 1;
                if strays > MAX_STRAY_REPORTS {
                    return Err(Error::Framing("too many reports for other channels".into()));
                }
                continue;
            }
            let step = match (packet, assembling.take()) {
                (Packet::Cont(cont), Some(asm)) => asm
                    .push(&cont)
                    .map_err(|e| Error::Framing(format!("response reassembly failed: {e}")))?,
                (Packet::Cont(cont), None) => {
                    return Err(Error::Framing(format!(
                        "continuation packet SEQ {} without an initialization packet",
                        cont.seq
                    )))
                }
                (Packet::Init(init), Some(_)) => {
                    return Err(Error::Framing(format!(
                        "new initialization packet (command {:#04x}) in the middle of a response",
                        init.cmd
                    )))
                }
                (Packet::Init(init), None) => {
                    if init.cmd == Command::Keepalive.code() {
                        let status = match init.data.first() {
                            Some(2) => KeepaliveStatus::UpNeeded,
                            _ => KeepaliveStatus::Processing,
                        };
                        let action = self
                            .on_keepalive
                            .as_mut()
                            .map_or(KeepaliveAction::Continue, |h| h(status));
                        if action == KeepaliveAction::Cancel && !cancelled {
                            cancelled = true;
                            self.cancel()?;
                        }
                        continue;
                    }
                    if init.cmd == Command::Error.code() {
                        return Err(hid_error(init.data.first().copied().unwrap_or(0)));
                    }
                    if init.cmd != cmd.code() {
                        return Err(Error::Framing(format!(
                            "response command {:#04x} to a {:#04x} request",
                            init.cmd,
                            cmd.code()
                        )));
                    }
                    Assembler::start(&init)
                        .map_err(|e| Error::Framing(format!("response reassembly failed: {e}")))?
                }
            };
            match step {
                Step::Complete(message) => return Ok(message.payload),
                Step::More(asm) => assembling = Some(asm),
            }
        }
    }
}

impl<T: Transport> CtapDevice for HidDevice<T> {
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.info.capabilities.contains(Capabilities::CBOR) {
            return Err(Error::Unsupported(
                "the key does not speak CTAP2 (no CBOR capability)".into(),
            ));
        }
        self.call(Command::Cbor, request)
    }

    fn msg(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        if self.info.capabilities.contains(Capabilities::NMSG) {
            return Err(Error::Unsupported(
                "the key does not speak CTAP1/U2F (NMSG)".into(),
            ));
        }
        self.call(Command::Msg, apdu)
    }

    fn pause(&mut self, duration: Duration) -> Result<(), Error> {
        // Waiting on the transport is the only "sleep" a sans-IO client has; a stray report
        // that arrives meanwhile belongs to no transaction and is dropped.
        self.transport.recv(duration)?;
        Ok(())
    }
}

/// Sends one message as its reports.
fn send_message<T: Transport>(
    transport: &mut T,
    cid: Cid,
    cmd: Command,
    payload: &[u8],
) -> Result<(), Error> {
    let reports = split(cid, cmd, payload).map_err(|_| {
        Error::Invalid(format!(
            "a {}-byte message exceeds the CTAPHID maximum of {MAX_MESSAGE_LEN} bytes",
            payload.len()
        ))
    })?;
    for report in reports {
        transport.send(&report)?;
    }
    Ok(())
}

/// The INIT response, if it answers `nonce`.
fn parse_init(data: &[u8], bcnt: u16, nonce: &[u8; 8]) -> Result<Option<InitInfo>, Error> {
    let Some([n0, n1, n2, n3, n4, n5, n6, n7, c0, c1, c2, c3, proto, major, minor, build, caps]) =
        data.first_chunk::<INIT_RESPONSE_LEN>()
    else {
        return Ok(None);
    };
    if [*n0, *n1, *n2, *n3, *n4, *n5, *n6, *n7] != *nonce {
        return Ok(None);
    }
    if usize::from(bcnt) < INIT_RESPONSE_LEN {
        return Err(Error::Framing(format!(
            "INIT response of {bcnt} bytes, expected {INIT_RESPONSE_LEN}"
        )));
    }
    let cid = Cid::from_bytes([*c0, *c1, *c2, *c3]);
    if !cid.is_allocatable() {
        return Err(Error::Framing(format!(
            "INIT allocated the invalid channel {cid}"
        )));
    }
    Ok(Some(InitInfo {
        cid,
        protocol_version: *proto,
        version: DeviceVersion {
            major: *major,
            minor: *minor,
            build: *build,
        },
        capabilities: Capabilities::from_bits(*caps),
    }))
}

fn hid_error(code: u8) -> Error {
    HidError::from_code(code).map_or(Error::HidUnknown(code), Error::Hid)
}
