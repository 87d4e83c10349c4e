//! The CTAPHID vocabulary (CTAP 2.1 §11.2.9): channel identifiers, command and error codes,
//! KEEPALIVE statuses and the INIT capability flags, each with its wire value.

use std::fmt;

use thiserror::Error;

/// A channel identifier. Big-endian on the wire, both in packet headers and in the INIT reply.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid(pub u32);

impl Cid {
    /// `0xFFFFFFFF`: only CTAPHID_INIT may use it, to allocate a channel.
    pub const BROADCAST: Cid = Cid(0xFFFF_FFFF);
    /// `0`: reserved, never allocated.
    pub const RESERVED: Cid = Cid(0);

    /// Reads a CID as it appears on the wire.
    pub const fn from_bytes(bytes: [u8; 4]) -> Self {
        Cid(u32::from_be_bytes(bytes))
    }

    /// The CID as it appears on the wire.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// Neither reserved nor broadcast.
    pub const fn is_allocatable(self) -> bool {
        self.0 != Self::RESERVED.0 && self.0 != Self::BROADCAST.0
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({:#010x})", self.0)
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// CTAPHID commands (§11.2.9). The wire byte is [`Command::code`] with bit 7 set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Echo the payload.
    Ping,
    /// CTAP1/U2F APDU.
    Msg,
    /// Exclusive access for up to 10 seconds.
    Lock,
    /// Allocate or resynchronise a channel.
    Init,
    /// Identify the device visually.
    Wink,
    /// CTAP2 CBOR request/response.
    Cbor,
    /// Cancel the outstanding CBOR request on this channel.
    Cancel,
    /// Device → host: still working (status 1) or waiting for the user (status 2).
    Keepalive,
    /// Device → host: a CTAPHID-level error code.
    Error,
}

impl Command {
    /// Command code without bit 7.
    pub const fn code(self) -> u8 {
        match self {
            Command::Ping => 0x01,
            Command::Msg => 0x03,
            Command::Lock => 0x04,
            Command::Init => 0x06,
            Command::Wink => 0x08,
            Command::Cbor => 0x10,
            Command::Cancel => 0x11,
            Command::Keepalive => 0x3B,
            Command::Error => 0x3F,
        }
    }

    /// The command with this code (bit 7 ignored); `None` for unknown and vendor commands.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code & 0x7F {
            0x01 => Command::Ping,
            0x03 => Command::Msg,
            0x04 => Command::Lock,
            0x06 => Command::Init,
            0x08 => Command::Wink,
            0x10 => Command::Cbor,
            0x11 => Command::Cancel,
            0x3B => Command::Keepalive,
            0x3F => Command::Error,
            _ => return None,
        })
    }
}

/// CTAPHID error codes, sent as the one-byte payload of an ERROR response (§11.2.9.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum HidError {
    /// Unknown, unsupported or device-to-host-only command.
    #[error("invalid command")]
    InvalidCmd,
    /// Parameter out of range (LOCK longer than 10 s).
    #[error("invalid parameter")]
    InvalidPar,
    /// BCNT above the maximum or wrong for the command.
    #[error("invalid message length")]
    InvalidLen,
    /// Continuation packet out of sequence, or a new request mid-message.
    #[error("invalid message sequencing")]
    InvalidSeq,
    /// A continuation packet did not arrive in time.
    #[error("message timed out")]
    MsgTimeout,
    /// Another channel has a transaction in progress or holds the lock.
    #[error("channel busy")]
    ChannelBusy,
    /// The command needs a channel lock. Defined by the spec; no standard command needs one, so
    /// this machine never sends it.
    #[error("command requires channel lock")]
    LockRequired,
    /// Reserved, broadcast-for-non-INIT, or unallocated channel.
    #[error("invalid channel")]
    InvalidChannel,
    /// Anything else (e.g. a response too large to frame).
    #[error("unspecified error")]
    Other,
}

impl HidError {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            HidError::InvalidCmd => 0x01,
            HidError::InvalidPar => 0x02,
            HidError::InvalidLen => 0x03,
            HidError::InvalidSeq => 0x04,
            HidError::MsgTimeout => 0x05,
            HidError::ChannelBusy => 0x06,
            HidError::LockRequired => 0x0A,
            HidError::InvalidChannel => 0x0B,
            HidError::Other => 0x7F,
        }
    }

    /// The error with this wire code, if defined.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => HidError::InvalidCmd,
            0x02 => HidError::InvalidPar,
            0x03 => HidError::InvalidLen,
            0x04 => HidError::InvalidSeq,
            0x05 => HidError::MsgTimeout,
            0x06 => HidError::ChannelBusy,
            0x0A => HidError::LockRequired,
            0x0B => HidError::InvalidChannel,
            0x7F => HidError::Other,
            _ => return None,
        })
    }
}

/// KEEPALIVE status byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepaliveStatus {
    /// `1`: the authenticator is still working on the request.
    Processing,
    /// `2`: the authenticator waits for the user to touch it.
    UpNeeded,
}

impl KeepaliveStatus {
    /// The wire byte.
    pub const fn code(self) -> u8 {
        match self {
            KeepaliveStatus::Processing => 1,
            KeepaliveStatus::UpNeeded => 2,
        }
    }
}

/// Capability flags reported by INIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    /// Implements WINK.
    pub const WINK: Capabilities = Capabilities(0x01);
    /// Implements CBOR (CTAP2).
    pub const CBOR: Capabilities = Capabilities(0x04);
    /// Does *not* implement MSG (no CTAP1/U2F).
    pub const NMSG: Capabilities = Capabilities(0x08);

    /// Flags from their wire byte.
    pub const fn from_bits(bits: u8) -> Self {
        Capabilities(bits)
    }

    /// The wire byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Both sets of flags.
    pub const fn union(self, other: Capabilities) -> Self {
        Capabilities(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for Capabilities {
    /// WINK and CBOR; MSG is supported (U2F), so NMSG is clear.
    fn default() -> Self {
        Capabilities::WINK.union(Capabilities::CBOR)
    }
}

/// Device version reported by INIT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeviceVersion {
    /// Major version number.
    pub major: u8,
    /// Minor version number.
    pub minor: u8,
    /// Build version number.
    pub build: u8,
}
