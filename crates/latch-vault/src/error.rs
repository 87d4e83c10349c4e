//! One error for the whole vault core: a variant per check that can fail, so a caller (and a
//! test) can tell exactly which check refused the input.

use crate::ids::DeviceId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    // ---- bytes from the network ----
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion { what: &'static str, version: u64 },

    // ---- signatures ----
    #[error("the signature on the {what} does not verify")]
    BadSignature { what: &'static str },

    #[error("the request was signed {skew} seconds away from the store's clock")]
    StaleRequest { skew: i64 },

    // ---- the membership ledger ----
    #[error("the ledger entry belongs to another vault")]
    WrongVault,
    #[error("the first ledger entry must create the vault")]
    MissingGenesis,
    #[error("only the first ledger entry may create the vault")]
    SecondGenesis,
    #[error("the genesis entry must be signed by the device it creates")]
    GenesisNotSelfSigned,
    #[error("ledger entry {got} does not follow the head, entry {head}")]
    OutOfSequence { head: u64, got: u64 },
    #[error("ledger entry {seq} does not chain to the hash of the entry before it")]
    BrokenChain { seq: u64 },
    #[error("ledger entry is signed by device {0}, which is not a current member")]
    SignerNotMember(DeviceId),
    #[error("the recovery key may only sign a recovery join")]
    RecoveryKeyMisused,
    #[error("a recovery join must be signed by the recovery key")]
    RecoveryJoinNotByRecoveryKey,
    #[error("device {0} is already a member")]
    AlreadyMember(DeviceId),
    #[error("device {0} is not a member")]
    NotMember(DeviceId),
    #[error("the last device cannot be removed; create a new vault instead")]
    LastMember,
    #[error("ledger entry says epoch {got}, but the operation leads to epoch {expected}")]
    WrongEpoch { expected: u64, got: u64 },
    #[error("the ledger was rolled back: this device has seen entry {seen}, the offer ends at {offered}")]
    Rollback { seen: u64, offered: u64 },
    #[error(
        "the ledger forked at entry {seq}: its hash differs from the one this device has seen"
    )]
    Fork { seq: u64 },
    #[error("the ledger does not start at the vault this device trusts")]
    UntrustedGenesis,
    #[error("the ledger does not make device {0} a member")]
    NotJoined(DeviceId),

    // ---- epoch keys and their shares ----
    #[error("the key share is addressed to device {0}, not this one")]
    NotForThisDevice(DeviceId),
    #[error("the key share is for epoch {got}, but the ledger is at epoch {current}")]
    ShareEpochAhead { current: u64, got: u64 },
    #[error("could not decrypt the {what}")]
    Decrypt { what: &'static str },
    #[error("no key for epoch {0}")]
    MissingEpochKey(u64),

    // ---- sealed items ----
    #[error("the sealed item's {field} does not match what the store says it is")]
    ItemMismatch { field: &'static str },
    #[error("revision {got} of the item is not newer than {have}")]
    StaleRevision { have: u64, got: u64 },
    #[error("the item was deleted; a tombstone cannot be edited")]
    Deleted,

    // ---- pairing ----
    #[error("the pairing code is not 8 digits")]
    BadPairingCode,
    #[error("the pairing did not confirm: the codes differ or a message was altered")]
    PairingNotConfirmed,

    // ---- escrow ----
    #[error("escrow needs 1 ≤ t ≤ n ≤ 16 guardians (got t = {t}, n = {n})")]
    BadThreshold { t: usize, n: usize },
    #[error("{guesses} guesses in total (⌊n·g/t⌋) exceed the limit of {limit}")]
    TooManyGuesses { guesses: usize, limit: usize },
    #[error("{got} guardians answered, {need} are needed")]
    NotEnoughGuardians { got: usize, need: usize },
    #[error("guardian {0} is listed twice")]
    DuplicateGuardian(String),
    #[error("the guardians do not agree on one registration")]
    VersionMismatch,
    #[error("the passcode is wrong; {guesses_left} guesses are left")]
    WrongPasscode { guesses_left: u32 },
    #[error("no guesses are left; the escrow record is destroyed")]
    NoGuesses,
    #[error("the escrow record is not registered")]
    NotRegistered,
    #[error("the unlock tag does not match")]
    BadUnlockTag,
    #[error("the registration is not the one committed first")]
    RegistrationMismatch,
    #[error("the OPRF step failed")]
    Oprf,
    #[error("the passcode could not be stretched: {0}")]
    Stretch(String),
}

impl VaultError {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        VaultError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}
