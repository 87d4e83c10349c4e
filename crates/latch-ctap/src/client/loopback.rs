//! An in-process key: a [`Transport`] that feeds reports straight into the device-side
//! [`Hid`] machine and [`Authenticator`] (CTAPHID_CBOR) or [`crate::u2f`] (CTAPHID_MSG) over a
//! [`TestEnv`]. For tests, and for load generators that want the authenticator without
//! sockets. Virtual time moves only when the
//! client waits for a report that is not there.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use super::Transport;
use crate::hid::{self, CidSource, Event, Hid, KeepaliveStatus, Report, RequestKind};
use crate::status::StatusCode;
use crate::testing::TestEnv;
use crate::{Authenticator, Config};

/// Hands out channel IDs 0x10000001, 0x10000002, ….
#[derive(Debug, Clone, Copy)]
pub struct CountingCids(pub u32);

impl CidSource for CountingCids {
    fn next_cid(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

/// The device side of an in-process key.
#[derive(Debug)]
pub struct Loopback {
    hid: Hid<CountingCids>,
    authenticator: Authenticator,
    env: TestEnv,
    outbox: VecDeque<Report>,
    winks: usize,
    requests: usize,
}

impl Loopback {
    /// A key around `authenticator` and `env`.
    pub fn new(authenticator: Authenticator, env: TestEnv) -> Self {
        Self {
            hid: Hid::new(hid::Config::default(), CountingCids(0x1000_0000)),
            authenticator,
            env,
            outbox: VecDeque::new(),
            winks: 0,
            requests: 0,
        }
    }

    /// A freshly powered-up key: AAGUID 16 × 0xAA, RNG seeded with `seed` (so the master secret
    /// it generates is fixed too), self attestation, no built-in UV.
    pub fn fresh(seed: u64) -> Result<Self, StatusCode> {
        Self::with_config(
            Config {
                aaguid: [0xAA; 16],
                firmware_version: 1,
                attestation: None,
                built_in_uv: false,
                synced_discoverable: false,
            },
            seed,
        )
    }

    /// Like [`Loopback::fresh`], with built-in user verification (approved): a passkey-like key
    /// that verifies its user itself, for relying parties that require UV.
    pub fn with_built_in_uv(seed: u64) -> Result<Self, StatusCode> {
        Self::with_config(
            Config {
                aaguid: [0xAA; 16],
                firmware_version: 1,
                attestation: None,
                built_in_uv: true,
                synced_discoverable: false,
            },
            seed,
        )
    }

    /// A freshly powered-up key with `config` (a batch attestation for U2F registration,
    /// built-in UV, …), RNG seeded with `seed`.
    pub fn with_config(config: Config, seed: u64) -> Result<Self, StatusCode> {
        let mut env = TestEnv::new(seed);
        let authenticator = Authenticator::power_up(config, &mut env.env())?;
        Ok(Self::new(authenticator, env))
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The environment (presence script, store, clock).
    pub fn env_mut(&mut self) -> &mut TestEnv {
        &mut self.env
    }

    /// Unplugs and replugs: the authenticator powers up again from its store; channels are
    /// forgotten.
    pub fn power_cycle(self) -> Result<Self, StatusCode> {
        let Self {
            authenticator,
            mut env,
            ..
        } = self;
        let authenticator = authenticator.power_cycle(&mut env.env())?;
        Ok(Self::new(authenticator, env))
    }

    /// WINKs seen.
    pub const fn winks(&self) -> usize {
        self.winks
    }

    /// CBOR and MSG requests handled.
    pub const fn requests(&self) -> usize {
        self.requests
    }

    fn now(&self) -> u64 {
        use crate::env::Clock;
        self.env.clock.now_ms()
    }

    /// Runs the authenticator on every pending event and collects the reports.
    fn pump(&mut self) {
        while let Some(event) = self.hid.poll_event() {
            match event {
                Event::Request(request) => {
                    self.requests += 1;
                    let response = match request.kind {
                        RequestKind::Cbor => {
                            let asked = self.env.presence.requests.len();
                            let response = self
                                .authenticator
                                .handle(&mut self.env.env(), &request.payload);
                            if self.env.presence.requests.len() > asked {
                                // The key waited for a touch: tell the host, as a real
                                // driver would have while waiting.
                                let now = self.now();
                                let _ = self.hid.set_keepalive_status(
                                    now,
                                    request.id,
                                    KeepaliveStatus::UpNeeded,
                                );
                            }
                            response
                        }
                        RequestKind::Msg => crate::u2f::handle(
                            &mut self.authenticator,
                            &mut self.env.env(),
                            &request.payload,
                        ),
                    };
                    let _ = self.hid.respond(request.id, &response);
                }
                Event::Wink { .. } => self.winks += 1,
                Event::Cancel { .. } | Event::Aborted { .. } => {}
            }
        }
        while let Some(report) = self.hid.poll_transmit() {
            self.outbox.push_back(report);
        }
    }
}

impl Transport for Loopback {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        let now = self.now();
        self.hid
            .handle_report(now, report)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.pump();
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        if let Some(report) = self.outbox.pop_front() {
            return Ok(Some(report));
        }
        // Nothing queued: let the virtual time pass, and run the device's timers.
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.env.advance(ms);
        let now = self.now();
        self.hid.handle_timeout(now);
        self.pump();
        Ok(self.outbox.pop_front())
    }
}
