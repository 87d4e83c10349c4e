//! The manager's command-line arguments (clap), one enum per subcommand group.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the PIN comes from: `--pin`, else `LATCH_KEY_PIN`, else a prompt without echo.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct PinArg {
    /// The key's PIN (else $LATCH_KEY_PIN, else asked on the terminal).
    #[arg(long)]
    pub pin: Option<String>,
}

/// `latch key pin …`.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum PinCommand {
    /// Set the first PIN (the PIN given is the new one).
    Set(PinArg),
    /// Change the PIN.
    Change {
        #[command(flatten)]
        pin: PinArg,
        /// The new PIN (else $LATCH_KEY_NEW_PIN, else asked on the terminal).
        #[arg(long)]
        new_pin: Option<String>,
    },
    /// How many PIN retries are left.
    Retries,
}

/// `latch key creds …`.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum CredsCommand {
    /// List discoverable credentials per relying party.
    List(PinArg),
    /// Delete a discoverable credential (ID in base64url).
    Delete {
        /// Credential ID, base64url.
        id: String,
        #[command(flatten)]
        pin: PinArg,
    },
    /// Change the user name / display name stored with a credential.
    UpdateUser {
        /// Credential ID, base64url.
        id: String,
        /// New user name.
        #[arg(long)]
        name: Option<String>,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        pin: PinArg,
    },
}

/// `latch key config …`.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum ConfigCommand {
    /// Toggle alwaysUv (require the PIN for every operation).
    AlwaysUv(PinArg),
    /// Raise the minimum PIN length (only a reset lowers it again).
    MinPinLength {
        /// New minimum, in Unicode code points.
        length: u64,
        /// RP IDs allowed to read the minimum (minPinLength extension); repeatable.
        #[arg(long = "rp-id")]
        rp_ids: Vec<String>,
        /// Require a PIN change before the next use.
        #[arg(long)]
        force_change: bool,
        #[command(flatten)]
        pin: PinArg,
    },
}

/// Which credential a blob belongs to.
#[derive(Args, Debug, PartialEq, Eq)]
pub struct BlobTarget {
    /// The credential's RP ID.
    #[arg(long)]
    pub rp_id: String,
    /// Credential ID, base64url.
    pub id: String,
    #[command(flatten)]
    pub pin: PinArg,
}

/// `latch key blob …`: per-credential large blobs.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum BlobCommand {
    /// Write the credential's blob to stdout (or --out).
    Get {
        #[command(flatten)]
        target: BlobTarget,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Store a blob for the credential, read from --file or stdin.
    Set {
        #[command(flatten)]
        target: BlobTarget,
        /// Read the data from this file instead of stdin.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Delete the credential's blob.
    Delete {
        #[command(flatten)]
        target: BlobTarget,
    },
}

/// The manager's subcommands (all but `run`).
#[derive(Debug, PartialEq, Eq)]
pub enum ManageCommand {
    /// `info`.
    Info,
    /// `pin …`.
    Pin(PinCommand),
    /// `creds …`.
    Creds(CredsCommand),
    /// `config …`.
    Config(ConfigCommand),
    /// `blob …`.
    Blob(BlobCommand),
    /// `reset`.
    Reset {
        /// Skip the confirmation question.
        yes: bool,
    },
    /// `wink`.
    Wink,
}
