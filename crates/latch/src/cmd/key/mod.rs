//! `latch key`: run the software security key (`run`), or manage any CTAPHID key as a client.

mod args;
mod device;
#[cfg(test)]
mod e2e_tests;
mod format;
mod identity;
pub mod manage;
mod peers;
mod presence;
pub mod run;
mod synced;
#[cfg(test)]
mod tests;
pub mod udp;

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// `latch key [--udp ADDR] <command>`.
#[derive(Args)]
pub struct KeyArgs {
    /// The key's UDP address (one 64-byte HID report per datagram).
    #[arg(long, global = true, default_value = "127.0.0.1:8111")]
    pub udp: String,
    #[command(subcommand)]
    pub command: KeyCommand,
}

/// What to do with the key.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Run the software security key over CTAPHID on UDP.
    Run(run::RunArgs),
    /// Show what the key supports: versions, AAGUID, options, PIN state, algorithms.
    Info,
    /// Set or change the PIN, or show the retries left.
    #[command(subcommand)]
    Pin(manage::PinCommand),
    /// List, delete or update discoverable credentials.
    #[command(subcommand)]
    Creds(manage::CredsCommand),
    /// authenticatorConfig: alwaysUv, minimum PIN length.
    #[command(subcommand)]
    Config(manage::ConfigCommand),
    /// Per-credential large blobs.
    #[command(subcommand)]
    Blob(manage::BlobCommand),
    /// Delete every credential and the PIN (within 10 s of plugging the key in).
    Reset {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Make the key blink.
    Wink,
}

impl KeyCommand {
    /// The manager command, or the `run` arguments.
    pub fn into_manage(self) -> Result<manage::ManageCommand, run::RunArgs> {
        use manage::ManageCommand as M;
        Ok(match self {
            KeyCommand::Run(args) => return Err(args),
            KeyCommand::Info => M::Info,
            KeyCommand::Pin(c) => M::Pin(c),
            KeyCommand::Creds(c) => M::Creds(c),
            KeyCommand::Config(c) => M::Config(c),
            KeyCommand::Blob(c) => M::Blob(c),
            KeyCommand::Reset { yes } => M::Reset { yes },
            KeyCommand::Wink => M::Wink,
        })
    }
}

/// Dispatches `latch key`.
pub fn run(args: KeyArgs) -> ExitCode {
    match args.command.into_manage() {
        Err(run_args) => run::run(&args.udp, run_args),
        Ok(command) => manage::run(&args.udp, command),
    }
}
