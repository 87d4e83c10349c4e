//! `latch key run --udp ADDR --state FILE`: the software security key over CTAPHID on UDP, one
//! 64-byte report per datagram, replying to the sender.
//!
//! Two threads: this one owns the socket and the CTAPHID machine (so KEEPALIVEs and CANCELs
//! flow while a request waits for a touch); the authenticator thread owns the core, the state
//! file and the presence prompt, and handles one request at a time.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use latch_ctap::command::{Authenticator, Config};
use latch_ctap::env::{Clock, Env};
use latch_ctap::hid::{
    self, Capabilities, DeviceVersion, Event, Hid, KeepaliveStatus, RequestId, RequestKind,
};
use latch_ctap::StatusCode;

use super::device::{FileStore, OpenError};
use super::identity::AAGUID;
use super::peers::Peers;
use super::presence::{Cancellation, TerminalPresence, Waiting};
use super::synced::{KeyStore, SyncedStore};
use crate::state_file::{key_file_path, KeySource, StateFile, KEY_LEN};

/// How touch requests are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PresenceMode {
    /// Approve every request (tests).
    Auto,
    /// Ask in the terminal.
    Ask,
}

/// `latch key run` flags.
#[derive(Args)]
pub struct RunArgs {
    /// The state file (credentials, PIN state), encrypted at rest. Its key is
    /// LATCH_KEY_STATE_KEY (64 hex digits) or the file FILE.key, created on first start.
    #[arg(long)]
    pub state: PathBuf,
    /// How touch requests are answered.
    #[arg(long, value_enum, default_value = "ask")]
    pub presence: PresenceMode,
    /// Offer built-in user verification (a simulated biometric the operator approves).
    #[arg(long)]
    pub built_in_uv: bool,
    /// Keep discoverable credentials (passkeys) in the vault of this `latch vault` device
    /// folder, synced with the person's other devices.
    #[arg(long)]
    pub vault: Option<PathBuf>,
}

/// Firmware version reported by getInfo and INIT.
const VERSION: DeviceVersion = DeviceVersion {
    major: 0,
    minor: 1,
    build: 0,
};

/// Milliseconds since the process started (the key's power-up).
#[derive(Clone, Copy)]
struct ProcessClock(Instant);

impl Clock for ProcessClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The operating system's CSPRNG.
struct SystemRng;

impl latch_ctap::pin::Rng for SystemRng {
    fn fill(&mut self, dest: &mut [u8]) {
        if aws_lc_rs::rand::fill(dest).is_err() {
            // aws-lc aborts rather than return weak randomness; this is unreachable in practice,
            // and zeros here would only ever produce refused operations, never a weak key that
            // leaves the device: keys come from the same call.
            dest.fill(0);
        }
    }
}

/// A request for the authenticator thread.
struct Job {
    id: RequestId,
    kind: RequestKind,
    payload: Vec<u8>,
}

fn state_key() -> Result<KeySource, String> {
    let Ok(hex) = std::env::var("LATCH_KEY_STATE_KEY") else {
        return Ok(KeySource::KeyFileNextToState);
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    match bytes.and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok()) {
        Some(key) => Ok(KeySource::Key(key)),
        None => Err("LATCH_KEY_STATE_KEY must be 64 hexadecimal digits (32 bytes)".into()),
    }
}

/// Runs the key until the process is stopped.
pub fn run(udp: &str, args: RunArgs) -> ExitCode {
    match serve(udp, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latch key run: {message}");
            ExitCode::from(1)
        }
    }
}

fn serve(udp: &str, args: &RunArgs) -> Result<(), String> {
    let source = state_key()?;
    let file = StateFile::open_or_create(&args.state, source).map_err(|e| e.to_string())?;
    let (file_store, created) = FileStore::open(file).map_err(|e: OpenError| e.to_string())?;
    let ca_path = args.state.with_extension("ca.pem");
    if created || !ca_path.exists() {
        std::fs::write(&ca_path, file_store.identity().ca_pem())
            .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
    }
    let attestation = file_store.identity().attestation();
    let store = match &args.vault {
        Some(dir) => {
            let synced = SyncedStore::open(file_store, dir)
                .map_err(|e| format!("the vault in {}: {e}", dir.display()))?;
            eprintln!(
                "latch key: passkeys are kept in the vault of {}",
                dir.display()
            );
            KeyStore::Synced(Box::new(synced))
        }
        None => KeyStore::File(Box::new(file_store)),
    };
    let socket = UdpSocket::bind(udp).map_err(|e| format!("cannot bind UDP {udp}: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let key_note = if std::env::var_os("LATCH_KEY_STATE_KEY").is_none() {
        format!(" (encrypted with {})", key_file_path(&args.state).display())
    } else {
        " (encrypted with LATCH_KEY_STATE_KEY)".to_owned()
    };
    eprintln!(
        "latch key: {} state {}{key_note}; attestation CA {}",
        if created { "new" } else { "loaded" },
        args.state.display(),
        ca_path.display()
    );
    eprintln!(
        "latch key: listening on udp://{local} (presence: {}{})",
        match args.presence {
            PresenceMode::Auto => "auto-approve",
            PresenceMode::Ask => "ask in this terminal",
        },
        if args.built_in_uv {
            ", built-in user verification"
        } else {
            ""
        }
    );

    let clock = ProcessClock(Instant::now());
    let (jobs_send, jobs) = mpsc::channel::<Job>();
    let (done_send, done) = mpsc::channel::<(RequestId, Vec<u8>)>();
    let (waiting_send, waiting) = mpsc::channel::<Waiting>();
    let cancellation = Arc::new(Cancellation::default());
    let presence = TerminalPresence::new(args.presence, cancellation.clone(), waiting_send);
    let config = Config {
        aaguid: AAGUID,
        firmware_version: u64::from(VERSION.minor),
        attestation,
        built_in_uv: args.built_in_uv,
        synced_discoverable: args.vault.is_some(),
    };
    let worker = std::thread::spawn(move || {
        authenticator_thread(config, store, presence, clock, jobs, done_send)
    });
    let result = transport_loop(&socket, clock, &jobs_send, &done, &waiting, &cancellation);
    drop(jobs_send);
    let _ = worker.join();
    result
}

fn authenticator_thread(
    config: Config,
    mut store: KeyStore,
    mut presence: TerminalPresence,
    clock: ProcessClock,
    jobs: Receiver<Job>,
    done: Sender<(RequestId, Vec<u8>)>,
) {
    let mut rng = SystemRng;
    let cancellation = presence.cancellation.clone();
    let powered = Authenticator::power_up(
        config,
        &mut Env {
            rng: &mut rng,
            clock: &clock,
            presence: &mut presence,
            store: &mut store,
        },
    );
    let mut authenticator = match powered {
        Ok(authenticator) => authenticator,
        Err(status) => {
            eprintln!("latch key: cannot power up ({status:?}): is the state file writable?");
            return;
        }
    };
    for job in jobs {
        cancellation.start(job.id.0);
        // Commands that look credentials up first take the other devices' changes.
        if job.kind == RequestKind::Cbor
            && matches!(job.payload.first(), Some(0x01 | 0x02 | 0x0A | 0x41))
        {
            store.refresh();
        }
        let mut env = Env {
            rng: &mut rng,
            clock: &clock,
            presence: &mut presence,
            store: &mut store,
        };
        let response = match job.kind {
            RequestKind::Cbor => {
                let name = command_name(job.payload.first().copied());
                let mut response = authenticator.handle(&mut env, &job.payload);
                let status = StatusCode::from(response.first().copied().unwrap_or(0x7F));
                // A cancelled request that failed (the prompt was abandoned) answers
                // KEEPALIVE_CANCEL; one that completed before the cancel keeps its answer, since
                // what it did is done.
                if status != StatusCode::Ok && cancellation.is_cancelled() {
                    eprintln!("  {name}: cancelled by the client");
                    response = vec![hid::CTAP2_ERR_KEEPALIVE_CANCEL];
                } else if status == StatusCode::Ok {
                    eprintln!("  {name}: ok");
                } else {
                    eprintln!("  {name}: {status:?} (0x{:02X})", status.byte());
                }
                response
            }
            RequestKind::Msg => {
                let response = latch_ctap::u2f::handle(&mut authenticator, &mut env, &job.payload);
                let sw = match response.as_slice() {
                    [.., sw1, sw2] => format!("{sw1:02X}{sw2:02X}"),
                    _ => String::new(),
                };
                eprintln!("  U2F {}: SW {sw}", u2f_name(job.payload.get(1).copied()));
                response
            }
        };
        if done.send((job.id, response)).is_err() {
            break;
        }
    }
}

fn command_name(byte: Option<u8>) -> &'static str {
    match byte {
        Some(0x01) => "makeCredential",
        Some(0x02) => "getAssertion",
        Some(0x04) => "getInfo",
        Some(0x06) => "clientPIN",
        Some(0x07) => "reset",
        Some(0x08) => "getNextAssertion",
        Some(0x0A | 0x41) => "credentialManagement",
        Some(0x0B) => "selection",
        Some(0x0C) => "largeBlobs",
        Some(0x0D) => "config",
        _ => "unknown command",
    }
}

fn u2f_name(ins: Option<u8>) -> &'static str {
    match ins {
        Some(0x01) => "register",
        Some(0x02) => "authenticate",
        Some(0x03) => "version",
        _ => "unknown",
    }
}

/// The socket side: reports in, CTAPHID, reports out to the sender of their channel.
fn transport_loop(
    socket: &UdpSocket,
    clock: ProcessClock,
    jobs: &Sender<Job>,
    done: &Receiver<(RequestId, Vec<u8>)>,
    waiting: &Receiver<Waiting>,
    cancellation: &Cancellation,
) -> Result<(), String> {
    let mut next_cid = {
        let mut seed = [0u8; 4];
        latch_ctap::pin::Rng::fill(&mut SystemRng, &mut seed);
        u32::from_be_bytes(seed)
    };
    let mut hid = Hid::new(
        hid::Config {
            version: VERSION,
            capabilities: Capabilities::WINK.union(Capabilities::CBOR),
        },
        move || {
            next_cid = next_cid
                .wrapping_mul(747_796_405)
                .wrapping_add(2_891_336_453);
            next_cid
        },
    );
    let mut peers = Peers::default();
    let mut pending: Option<RequestId> = None;
    let mut buffer = [0u8; 2 * hid::REPORT_LEN];
    loop {
        let now = clock.now_ms();
        let wait = hid
            .poll_timeout()
            .map_or(20, |at| at.saturating_sub(now))
            .clamp(1, 20);
        socket
            .set_read_timeout(Some(Duration::from_millis(wait)))
            .map_err(|e| e.to_string())?;
        match socket.recv_from(&mut buffer) {
            Ok((len, from)) => {
                // One report per datagram; a short one is padded, a long one refused.
                if let Some(data) = buffer.get(..len).filter(|d| d.len() <= hid::REPORT_LEN) {
                    let mut report = [0u8; hid::REPORT_LEN];
                    report.iter_mut().zip(data).for_each(|(r, b)| *r = *b);
                    peers.heard(&report, from);
                    let _ = hid.handle_report(clock.now_ms(), &report);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("UDP receive failed: {e}")),
        }
        let now = clock.now_ms();
        hid.handle_timeout(now);
        while let Ok(state) = waiting.try_recv() {
            if let Some(id) = pending {
                let status = match state {
                    Waiting::Started => KeepaliveStatus::UpNeeded,
                    Waiting::Done => KeepaliveStatus::Processing,
                };
                let _ = hid.set_keepalive_status(now, id, status);
            }
        }
        while let Ok((id, response)) = done.try_recv() {
            if pending == Some(id) {
                pending = None;
                let _ = hid.respond(id, &response);
            }
        }
        while let Some(event) = hid.poll_event() {
            match event {
                Event::Request(request) => {
                    pending = Some(request.id);
                    let job = Job {
                        id: request.id,
                        kind: request.kind,
                        payload: request.payload,
                    };
                    if jobs.send(job).is_err() {
                        return Err("the authenticator stopped".into());
                    }
                }
                Event::Wink { .. } => {
                    eprintln!("latch key: *wink* (a client asked which key this is)")
                }
                Event::Cancel { id, .. } => cancellation.cancel(id.0),
                // A resync abandons the request: stop asking the user about it.
                Event::Aborted { id, .. } => cancellation.cancel(id.0),
            }
        }
        while let Some(report) = hid.poll_transmit() {
            // A reply for a channel nobody has spoken on (forgotten) has nowhere to go.
            if let Some(peer) = peers.destination(&report) {
                socket
                    .send_to(&report, peer)
                    .map_err(|e| format!("UDP send to {peer} failed: {e}"))?;
            }
        }
    }
}
