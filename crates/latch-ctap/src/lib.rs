//! # latch-ctap
//!
//! The authenticator side of Latch: a CTAP 2.1 + U2F state machine over injected clock,
//! randomness, user presence and storage, the CTAPHID transport framing, and a CTAP client for
//! managing any key. Sans-IO: bytes and time in, bytes out; sockets live in the `latch` binary.
#![forbid(unsafe_code)]

pub mod cbor;
pub mod client;
pub mod hid;
pub mod pin;
pub mod status;

pub use status::StatusCode;

pub mod command;
pub mod credential;
pub mod env;
pub mod store;
pub mod testing;
pub mod u2f;

pub use command::{Authenticator, Config};
