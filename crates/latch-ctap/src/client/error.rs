//! The client's errors. A CTAP status from the key becomes a [`CtapError`], whose message says
//! what happened in words a user can act on ([`status_message`]).

use std::fmt;
use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::hid::HidError;
use crate::pin::PinError;
use crate::status::StatusCode;

/// authenticatorReset, for the context-dependent messages.
const RESET: u8 = 0x07;
/// authenticatorClientPIN.
const CLIENT_PIN: u8 = 0x06;

/// Everything that can go wrong talking to a key.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (socket error, device unplugged).
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
    /// The key stayed silent for this long (no response, no KEEPALIVE).
    #[error("the key did not answer within {0:?}: is it running and reachable?")]
    Timeout(Duration),
    /// The key answered with CTAPHID_ERROR.
    #[error("CTAPHID error from the key: {0}")]
    Hid(HidError),
    /// The key answered with a CTAPHID_ERROR code the spec does not define.
    #[error("CTAPHID error {0:#04x} from the key")]
    HidUnknown(u8),
    /// CTAPHID framing the client cannot accept (wrong nonce, command or sequence).
    #[error("CTAPHID protocol violation by the key: {0}")]
    Framing(String),
    /// The key answered a CTAP2 command with an error status.
    #[error("{0}")]
    Ctap(CtapError),
    /// A U2F (CTAP1) status word other than 0x9000.
    #[error("U2F status word {0:#06x}: {msg}", msg = crate::client::u2f::status_word_message(*.0))]
    U2f(u16),
    /// The key answered with CBOR the client cannot read.
    #[error("malformed response from the key: {0}")]
    Response(String),
    /// A PIN/UV protocol computation failed locally (e.g. a PIN over 63 bytes).
    #[error("{0}")]
    Pin(#[from] PinError),
    /// The key lacks what the operation needs.
    #[error("not supported by this key: {0}")]
    Unsupported(String),
    /// The caller's input cannot be sent (e.g. PIN too short, message too long).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The CTAP status, if the key refused the command.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Ctap(e) => Some(e.status),
            _ => None,
        }
    }

    pub(crate) fn response(what: impl Into<String>) -> Self {
        Error::Response(what.into())
    }
}

/// A CTAP2 error status with its context: the command that got it and, for a wrong PIN, the
/// retries left (filled in by the ClientPIN calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtapError {
    /// The status byte.
    pub status: StatusCode,
    /// The CTAP2 command byte that was refused.
    pub command: u8,
    /// PIN retries left, when known.
    pub retries: Option<u8>,
    /// What the client knew about the key's state, for a more precise message.
    pub hint: Hint,
}

/// The key state behind an ambiguous status, as the client learned it from getInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Hint {
    /// Nothing more is known.
    #[default]
    None,
    /// PUAT_REQUIRED from a key with alwaysUv on: every operation needs the PIN.
    AlwaysUv,
    /// PIN_INVALID for the right PIN: forcePINChange is set (CTAP 2.1 §6.5.5.7.2 step 11).
    PinChangeRequired,
}

impl CtapError {
    /// An error for `command` without further context.
    pub const fn new(status: StatusCode, command: u8) -> Self {
        Self {
            status,
            command,
            retries: None,
            hint: Hint::None,
        }
    }
}

impl fmt::Display for CtapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let byte = self.status.byte();
        match (self.status, self.retries) {
            (StatusCode::PuatRequired, _) if self.hint == Hint::AlwaysUv => write!(
                f,
                "this key requires user verification for every operation (alwaysUv): give the \
                 PIN"
            )?,
            (StatusCode::PinInvalid, _) if self.hint == Hint::PinChangeRequired => write!(
                f,
                "the PIN is right, but the key requires a new one first: change it with `latch \
                 key pin change`"
            )?,
            (StatusCode::PinInvalid, Some(n)) => {
                write!(f, "wrong PIN, {n} {} left", plural(n, "retry", "retries"))?;
                if n == 0 {
                    write!(f, " (the PIN is now blocked)")?;
                }
            }
            (StatusCode::NotAllowed, _) if self.command == RESET => write!(
                f,
                "reset is only allowed within 10 seconds of plugging the key in (restart \
                 `latch key run`), then touch it"
            )?,
            (StatusCode::PinInvalid, None) if self.command == CLIENT_PIN => write!(f, "wrong PIN")?,
            (status, _) => write!(f, "{}", status_message(status))?,
        }
        write!(f, " (CTAP status {byte:#04x})")
    }
}

fn plural(n: u8, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A human message for every CTAP status: what happened and, where the user can do something,
/// what to do.
pub fn status_message(status: StatusCode) -> String {
    let text = match status {
        StatusCode::Ok => "success",
        StatusCode::InvalidCommand => "the key does not support this command",
        StatusCode::InvalidParameter => "the key rejected a parameter of the request as invalid",
        StatusCode::InvalidLength => "the request has an invalid length",
        StatusCode::InvalidSeq => {
            "a large-blob fragment arrived out of order (another write interrupted this one?): \
             run the command again"
        }
        StatusCode::CborUnexpectedType => {
            "the key found a value of the wrong CBOR type in the request"
        }
        StatusCode::InvalidCbor => "the key could not parse the request CBOR",
        StatusCode::MissingParameter => "the request lacks a parameter the key requires",
        StatusCode::LimitExceeded => "a list in the request is longer than the key accepts",
        StatusCode::LargeBlobStorageFull => {
            "the key's large-blob storage is full: delete some blobs first with `latch key blob \
             delete`"
        }
        StatusCode::CredentialExcluded => {
            "this key already holds a credential for this account (excluded)"
        }
        StatusCode::UnsupportedAlgorithm => {
            "the key supports none of the requested signature algorithms"
        }
        StatusCode::OperationDenied => {
            "the operation was declined on the key: run the command again and approve it"
        }
        StatusCode::KeyStoreFull => {
            "the key has no room for another discoverable credential: delete one with \
             `latch key creds delete`"
        }
        StatusCode::UnsupportedOption => "the key does not support a requested option",
        StatusCode::InvalidOption => "a requested option is not valid for this command",
        StatusCode::KeepaliveCancel => "the operation was cancelled",
        StatusCode::NoCredentials => "the key holds no matching credential",
        StatusCode::UserActionTimeout => {
            "nobody touched the key in time (30 seconds): run the command again and touch it"
        }
        StatusCode::NotAllowed => "the key does not allow this operation now",
        StatusCode::PinInvalid => "wrong PIN",
        StatusCode::PinBlocked => {
            "PIN blocked after 8 wrong attempts: only `latch key reset` recovers the key, and \
             it deletes every credential"
        }
        StatusCode::PinAuthInvalid => {
            "the PIN/UV authentication was rejected (stale or wrong token): try again"
        }
        StatusCode::PinAuthBlocked => {
            "3 wrong PINs in a row: unplug the key (restart `latch key run`) and try again"
        }
        StatusCode::PinNotSet => "no PIN is set on this key: set one with `latch key pin set`",
        StatusCode::PuatRequired => {
            "this key has a PIN and the operation needs it: pass --pin or set LATCH_KEY_PIN"
        }
        StatusCode::PinPolicyViolation => {
            "the PIN does not meet the key's policy (too short, too long, or the same as \
             before): see the minimum PIN length in `latch key info`"
        }
        StatusCode::RequestTooLarge => "the request is larger than the key accepts",
        StatusCode::UpRequired => "user presence is required: touch the key",
        StatusCode::UvBlocked => {
            "built-in user verification is blocked after too many failures: use the PIN \
             instead (a PIN unlocks it again, as does replugging the key)"
        }
        StatusCode::IntegrityFailure => {
            "the large-blob array failed its integrity check (corrupted on the way to the \
             key?): run the command again"
        }
        StatusCode::InvalidSubcommand => "the key does not support this subcommand",
        StatusCode::UvInvalid => {
            "built-in user verification failed: try again, or use the PIN instead"
        }
        StatusCode::UnauthorizedPermission => {
            "the PIN token lacks the permission this operation needs (or is bound to another \
             RP): ask for a token with that permission"
        }
        StatusCode::Other => "the key reported an unspecified error",
        StatusCode::Unknown(byte) => {
            return format!("the key reported an unknown error status {byte:#04x}")
        }
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_distinct_message() {
        let mut seen = std::collections::HashSet::new();
        for byte in 0..=u8::MAX {
            let message = status_message(StatusCode::from(byte));
            assert!(!message.is_empty());
            assert!(seen.insert(message), "duplicate message for {byte:#04x}");
        }
    }

    #[test]
    fn context_dependent_messages() {
        let pin_invalid = CtapError {
            status: StatusCode::PinInvalid,
            command: CLIENT_PIN,
            retries: Some(5),
            hint: Hint::None,
        };
        assert_eq!(
            pin_invalid.to_string(),
            "wrong PIN, 5 retries left (CTAP status 0x31)"
        );
        let one = CtapError {
            retries: Some(1),
            ..pin_invalid
        };
        assert_eq!(
            one.to_string(),
            "wrong PIN, 1 retry left (CTAP status 0x31)"
        );
        assert_eq!(
            CtapError::new(StatusCode::NotAllowed, RESET).to_string(),
            "reset is only allowed within 10 seconds of plugging the key in (restart `latch \
             key run`), then touch it (CTAP status 0x30)"
        );
        assert_eq!(
            CtapError::new(StatusCode::NotAllowed, 0x08).to_string(),
            "the key does not allow this operation now (CTAP status 0x30)"
        );
        assert_eq!(
            Error::Ctap(CtapError::new(StatusCode::PinBlocked, CLIENT_PIN)).to_string(),
            "PIN blocked after 8 wrong attempts: only `latch key reset` recovers the key, and it \
             deletes every credential (CTAP status 0x32)"
        );
        assert_eq!(
            CtapError::new(StatusCode::PinAuthBlocked, CLIENT_PIN).to_string(),
            "3 wrong PINs in a row: unplug the key (restart `latch key run`) and try again \
             (CTAP status 0x34)"
        );
        let always_uv = CtapError {
            hint: Hint::AlwaysUv,
            ..CtapError::new(StatusCode::PuatRequired, 0x01)
        };
        assert_eq!(
            always_uv.to_string(),
            "this key requires user verification for every operation (alwaysUv): give the PIN \
             (CTAP status 0x36)"
        );
        assert_eq!(
            CtapError::new(StatusCode::PuatRequired, 0x01).to_string(),
            "this key has a PIN and the operation needs it: pass --pin or set LATCH_KEY_PIN \
             (CTAP status 0x36)"
        );
    }

    #[test]
    fn the_statuses_of_the_newer_commands_say_what_to_do() {
        let cases = [
            (
                StatusCode::InvalidSeq,
                "a large-blob fragment arrived out of order (another write interrupted this \
                 one?): run the command again",
            ),
            (
                StatusCode::IntegrityFailure,
                "the large-blob array failed its integrity check (corrupted on the way to the \
                 key?): run the command again",
            ),
            (
                StatusCode::LargeBlobStorageFull,
                "the key's large-blob storage is full: delete some blobs first with `latch key \
                 blob delete`",
            ),
            (
                StatusCode::UvBlocked,
                "built-in user verification is blocked after too many failures: use the PIN \
                 instead (a PIN unlocks it again, as does replugging the key)",
            ),
            (
                StatusCode::UvInvalid,
                "built-in user verification failed: try again, or use the PIN instead",
            ),
            (
                StatusCode::OperationDenied,
                "the operation was declined on the key: run the command again and approve it",
            ),
        ];
        for (status, message) in cases {
            assert_eq!(status_message(status), message);
        }
    }
}
