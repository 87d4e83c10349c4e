//! Why a PIN/UV auth operation was refused: one variant per failed check, each mapped to the
//! CTAP status byte the authenticator sends ([`PinError::status`]).

use thiserror::Error;

/// CTAP status codes produced by the PIN module (CTAP 2.1 §8.2).
pub mod status {
    /// CTAP1_ERR_INVALID_PARAMETER.
    pub const INVALID_PARAMETER: u8 = 0x02;
    /// CTAP2_ERR_MISSING_PARAMETER.
    pub const MISSING_PARAMETER: u8 = 0x14;
    /// CTAP2_ERR_PIN_INVALID.
    pub const PIN_INVALID: u8 = 0x31;
    /// CTAP2_ERR_PIN_BLOCKED.
    pub const PIN_BLOCKED: u8 = 0x32;
    /// CTAP2_ERR_PIN_AUTH_INVALID.
    pub const PIN_AUTH_INVALID: u8 = 0x33;
    /// CTAP2_ERR_PIN_AUTH_BLOCKED.
    pub const PIN_AUTH_BLOCKED: u8 = 0x34;
    /// CTAP2_ERR_PIN_NOT_SET.
    pub const PIN_NOT_SET: u8 = 0x35;
    /// CTAP2_ERR_PIN_POLICY_VIOLATION.
    pub const PIN_POLICY_VIOLATION: u8 = 0x37;
    /// CTAP2_ERR_UNAUTHORIZED_PERMISSION.
    pub const UNAUTHORIZED_PERMISSION: u8 = 0x40;
    /// CTAP1_ERR_OTHER.
    pub const OTHER: u8 = 0x7F;
}

/// A refused PIN/UV auth operation. The variant names the check; [`PinError::status`] gives
/// the wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PinError {
    // ---- request shape ------------------------------------------------------------------
    /// A parameter the subcommand requires is absent.
    #[error("the {name} parameter is required")]
    MissingParameter {
        /// The CTAP parameter name.
        name: &'static str,
    },
    /// A parameter was sent that this subcommand forbids (getPinToken with permissions or rpId).
    #[error("the {name} parameter is not allowed with this subcommand")]
    UnexpectedParameter {
        /// The CTAP parameter name.
        name: &'static str,
    },
    /// pinUvAuthProtocol is neither 1 nor 2.
    #[error("PIN/UV auth protocol {got} is not supported")]
    UnsupportedProtocol {
        /// The protocol number received.
        got: u64,
    },
    /// The platform key-agreement key is not an EC2 / P-256 / alg -25 COSE key, or its point
    /// is not on the curve.
    #[error("the platform key-agreement key is not a valid P-256 public key")]
    InvalidKeyAgreement,
    /// A ciphertext is not a whole number of AES blocks (or, in protocol 2, lacks its IV).
    #[error("ciphertext of {len} bytes is not a valid length for this protocol")]
    CiphertextLength {
        /// The length received.
        len: usize,
    },
    /// A plaintext to encrypt is not a whole number of AES blocks.
    #[error("plaintext of {len} bytes is not a multiple of 16")]
    PlaintextLength {
        /// The length given.
        len: usize,
    },

    // ---- authentication of the request --------------------------------------------------
    /// pinUvAuthParam does not authenticate the message (wrong key, wrong length or forged).
    #[error("pinUvAuthParam does not verify")]
    PinAuthParamInvalid,
    /// newPinEnc did not decrypt.
    #[error("newPinEnc does not decrypt")]
    NewPinUndecryptable,
    /// setPIN was sent while a PIN is already set; changing it is changePIN's job.
    #[error("a PIN is already set")]
    PinAlreadySet,

    // ---- PIN policy -----------------------------------------------------------------------
    /// The decrypted PIN block is not the 64 bytes every client pads to.
    #[error("the padded PIN is {len} bytes, expected 64")]
    PaddedPinLength {
        /// The decrypted length.
        len: usize,
    },
    /// The PIN is not UTF-8.
    #[error("the PIN is not valid UTF-8")]
    PinNotUtf8,
    /// The PIN has fewer code points than the minimum PIN length.
    #[error("the PIN has {code_points} code points; at least {min} are required")]
    PinTooShort {
        /// Unicode code points in the PIN.
        code_points: usize,
        /// The current minimum PIN length.
        min: u8,
    },
    /// The PIN is longer than 63 bytes.
    #[error("the PIN is {bytes} bytes; at most 63 are allowed")]
    PinTooLong {
        /// The PIN's length in bytes.
        bytes: usize,
    },
    /// The PIN contains U+0000, which the 0x00 padding cannot carry (refused client-side).
    #[error("the PIN contains U+0000")]
    PinContainsNul,
    /// forcePINChange is set and the new PIN equals the current one.
    #[error("the PIN must be changed to a different value")]
    PinUnchanged,
    /// The minimum PIN length can only be raised (until reset).
    #[error("the minimum PIN length cannot go down from {current} to {requested}")]
    MinPinLengthDecrease {
        /// The current minimum.
        current: u8,
        /// The value requested.
        requested: u8,
    },

    // ---- PIN verification -------------------------------------------------------------------
    /// No PIN is set.
    #[error("no PIN is set")]
    PinNotSet,
    /// The presented PIN hash does not match.
    #[error("wrong PIN")]
    PinInvalid,
    /// The PIN was right, but forcePINChange requires a new one before any token is issued.
    #[error("the PIN must be changed before a token can be issued")]
    ForcePinChange,
    /// The retry counter reached 0; only authenticatorReset recovers.
    #[error("the PIN is blocked")]
    PinBlocked,
    /// Three consecutive mismatches: a power cycle is needed before another attempt.
    #[error("too many consecutive wrong PINs; power-cycle the authenticator")]
    PinAuthBlocked,

    // ---- pinUvAuthToken ---------------------------------------------------------------------
    /// permissions was 0.
    #[error("permissions must not be 0")]
    PermissionsZero,
    /// A permission was requested that this authenticator does not offer.
    #[error("permission bits {bits:#04x} are not offered by this authenticator")]
    PermissionNotOffered {
        /// The requested bits that are not offered.
        bits: u8,
    },
    /// No pinUvAuthToken is in use (none minted, or invalidated by a PIN change or power cycle).
    #[error("no pinUvAuthToken is in use")]
    NoToken,
    /// The token's usage window has passed.
    #[error("the pinUvAuthToken has expired")]
    TokenExpired,
    /// The token lacks the permission the command needs.
    #[error("the pinUvAuthToken lacks permission {needed:#04x}")]
    PermissionMissing {
        /// The permission bit(s) needed.
        needed: u8,
    },
    /// The token is bound to a different RP ID.
    #[error("the pinUvAuthToken is bound to a different RP ID")]
    RpIdMismatch,

    // ---- internal -----------------------------------------------------------------------------
    /// The PIN state could not be written to stable storage; nothing was compared.
    #[error("the PIN state could not be persisted")]
    Storage,
    /// aws-lc refused an operation that cannot fail on valid input (or the RNG kept yielding
    /// invalid scalars).
    #[error("internal cryptographic failure")]
    Crypto,
}

impl PinError {
    /// The CTAP status byte for this error.
    pub const fn status(&self) -> u8 {
        match self {
            Self::MissingParameter { .. } => status::MISSING_PARAMETER,
            Self::UnexpectedParameter { .. }
            | Self::UnsupportedProtocol { .. }
            | Self::InvalidKeyAgreement
            | Self::CiphertextLength { .. }
            | Self::PlaintextLength { .. }
            | Self::PaddedPinLength { .. }
            | Self::PermissionsZero => status::INVALID_PARAMETER,
            Self::PinAuthParamInvalid
            | Self::NewPinUndecryptable
            | Self::PinAlreadySet
            | Self::NoToken
            | Self::TokenExpired
            // §6.1.2 step 11 / §6.2.2: "If the pinUvAuthToken has a permissions RP ID
            // associated and it does not match ... return CTAP2_ERR_PIN_AUTH_INVALID."
            | Self::RpIdMismatch => status::PIN_AUTH_INVALID,
            Self::PinNotUtf8
            | Self::PinTooShort { .. }
            | Self::PinTooLong { .. }
            | Self::PinContainsNul
            | Self::PinUnchanged
            | Self::MinPinLengthDecrease { .. } => status::PIN_POLICY_VIOLATION,
            Self::PinNotSet => status::PIN_NOT_SET,
            Self::PinInvalid | Self::ForcePinChange => status::PIN_INVALID,
            Self::PinBlocked => status::PIN_BLOCKED,
            Self::PinAuthBlocked => status::PIN_AUTH_BLOCKED,
            Self::PermissionNotOffered { .. }
            | Self::PermissionMissing { .. } => status::UNAUTHORIZED_PERMISSION,
            Self::Storage | Self::Crypto => status::OTHER,
        }
    }
}
