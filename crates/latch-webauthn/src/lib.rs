//! # latch-webauthn
//!
//! The WebAuthn Level 3 relying-party core of Latch: options builders, registration (§7.1) and
//! authentication (§7.2) verification, every attestation format of §8, COSE keys and FIDO
//! metadata (MDS3).
//!
//! It is sans-IO: the caller passes bytes, the stored state and the current time, and gets a
//! typed result. There are no clock reads, no randomness without an injected source, and no
//! panics on input. Each failed check has its own [`Error`] variant with a stable
//! [`Error::code`].
#![forbid(unsafe_code)]

pub mod attestation;
pub mod auth_data;
pub mod authentication;
pub mod b64;
pub mod cert;
pub mod client_data;
pub mod conformance;
pub mod cose;
mod error;
pub mod inspect;
pub mod mds;
pub mod options;
pub mod origin;
pub mod registration;
pub mod rp;
pub mod signals;
pub mod time;
pub mod wire;

pub use attestation::{AttestationType, TrustStatus, TrustStore};
pub use authentication::{
    verify_authentication, AuthenticationState, StoredCredential, VerifiedAuthentication,
};
pub use error::Error;
pub use registration::{verify_registration, RegistrationState, VerifiedRegistration};
pub use rp::{BackupEligibilityChange, RelyingParty, UserVerification};
pub use time::UnixTime;
