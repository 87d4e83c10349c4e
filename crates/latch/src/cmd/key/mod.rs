//! `latch key`: run the software security key (`run`), or manage any CTAPHID key as a client.

mod device;
mod identity;
mod presence;
pub mod run;

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
}

/// Dispatches `latch key`.
pub fn run(args: KeyArgs) -> ExitCode {
    match args.command {
        KeyCommand::Run(run_args) => run::run(&args.udp, run_args),
    }
}
