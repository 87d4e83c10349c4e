//! A CTAP client for any CTAPHID key, sans-IO at its core: the caller supplies a [`Transport`]
//! that moves 64-byte reports (a UDP socket, hidraw, an in-process [`loopback::Loopback`]), and
//! gets typed CTAP2, ClientPIN, credential management, config, large-blob, U2F and WebAuthn
//! calls on top.
//!
//! ```text
//! Transport ──► HidDevice (hid.rs: INIT, framing, KEEPALIVE, errors) ──► CtapDevice
//!                                                                          │
//!      Ctap2 (ctap2.rs) ◄──────────────────────────────────────────────────┘
//!        ├─ pin.rs         ClientPIN: retries, setPIN, changePIN, tokens
//!        ├─ cred_mgmt.rs   authenticatorCredentialManagement (0x0A / 0x41)
//!        ├─ config.rs      authenticatorConfig (0x0D)
//!        ├─ large_blobs.rs authenticatorLargeBlobs (0x0C) and per-credential blobs
//!        └─ webauthn.rs    the browser's part: options JSON in, response JSON out
//!             └─ extensions.rs  WebAuthn client extensions ↔ CTAP extensions
//!      u2f.rs              CTAP1 APDUs over CTAPHID_MSG
//! ```
//!
//! Every failure is an [`Error`]; a CTAP status from the key is an [`Error::Ctap`] whose
//! message tells the user what happened and what to do.
//!
//! ```
//! use latch_ctap::client::ctap2::{MakeCredentialRequest, PinUvAuthParam, Rp, User};
//! use latch_ctap::client::{loopback::Loopback, Ctap2, HidDevice};
//! use latch_ctap::pin::Permissions;
//!
//! // Any Transport works: a UDP socket to `latch key run`, hidraw, or this in-process key.
//! let key = Loopback::fresh(1).unwrap();
//! let device = HidDevice::open(key, [7; 8])?;
//! let mut ctap = Ctap2::new(device)?;
//! assert!(ctap.info().has_version("FIDO_2_1"));
//!
//! ctap.set_pin("1234")?;
//! ctap.refresh_info()?;
//! let token = ctap.pin_token("1234", Permissions::MAKE_CREDENTIAL, Some("example.com"))?;
//! let hash = [0x42; 32];
//! let made = ctap.make_credential(&MakeCredentialRequest {
//!     client_data_hash: hash,
//!     rp: Rp { id: "example.com".into(), name: None },
//!     user: User { id: b"user".to_vec(), name: Some("ada".into()), display_name: None },
//!     algorithms: vec![-7],
//!     pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &hash)),
//!     ..MakeCredentialRequest::default()
//! })?;
//! assert_eq!(made.fmt, "packed");
//!
//! // A wrong PIN says how many tries are left.
//! let err = ctap.get_pin_token("0000").unwrap_err();
//! assert_eq!(err.to_string(), "wrong PIN, 7 retries left (CTAP status 0x31)");
//! # Ok::<(), latch_ctap::client::Error>(())
//! ```

pub mod config;
pub mod cred_mgmt;
pub mod ctap2;
mod error;
pub mod extensions;
pub mod hid;
pub mod info;
pub mod large_blobs;
pub mod loopback;
pub mod messages;
mod parse;
pub mod pin;
pub mod u2f;
pub mod webauthn;

#[cfg(test)]
mod tests;

use std::io;
use std::time::Duration;

pub use ctap2::{Assertion, Ctap2, GetAssertionRequest, MadeCredential, MakeCredentialRequest};
pub use error::{status_message, CtapError, Error, Hint};
pub use hid::{HidDevice, InitInfo, KeepaliveAction};
pub use info::Info;
pub use pin::PinUvAuthToken;

use crate::hid::Report;
use crate::pin::Rng;

/// Moves 64-byte CTAPHID reports to and from one key. One report per call, no report-ID prefix.
pub trait Transport {
    /// Sends one report.
    fn send(&mut self, report: &Report) -> io::Result<()>;
    /// Waits up to `timeout` for one report; `Ok(None)` when none arrived in time.
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        (**self).send(report)
    }
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        (**self).recv(timeout)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        (**self).send(report)
    }
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        (**self).recv(timeout)
    }
}

/// A device that answers CTAP messages: CTAPHID_CBOR (`command || CBOR` in, `status || CBOR`
/// out) and CTAPHID_MSG (APDU in, APDU out). [`HidDevice`] is the real one; tests substitute
/// recorders.
pub trait CtapDevice {
    /// One CTAPHID_CBOR transaction.
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error>;
    /// One CTAPHID_MSG transaction.
    fn msg(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error>;
    /// Waits about `duration` (used between U2F presence polls).
    fn pause(&mut self, duration: Duration) -> Result<(), Error>;
}

impl<D: CtapDevice + ?Sized> CtapDevice for &mut D {
    fn cbor(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).cbor(request)
    }
    fn msg(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).msg(apdu)
    }
    fn pause(&mut self, duration: Duration) -> Result<(), Error> {
        (**self).pause(duration)
    }
}

/// The operating system's CSPRNG (aws-lc), for key agreement and IVs in production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&mut self, dest: &mut [u8]) {
        // aws-lc's RNG only fails if the OS entropy source is gone; zeroes would be unsafe, so
        // fall back to a second attempt and leave the buffer as is only if both fail.
        if aws_lc_rs::rand::fill(dest).is_err() {
            let _ = aws_lc_rs::rand::fill(dest);
        }
    }
}
/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.iter_mut()
        .zip(digest.as_ref())
        .for_each(|(o, b)| *o = *b);
    out
}
