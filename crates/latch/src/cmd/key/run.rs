//! `latch key run --udp ADDR --state FILE`: the software security key over CTAPHID on UDP.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

/// How touch requests are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PresenceMode {
    /// Approve every request (tests).
    Auto,
    /// Ask in the terminal.
    Ask,
}

/// `latch key run` flags.
#[derive(Args)]
pub struct RunArgs {
    /// The state file (credentials, PIN state), encrypted at rest.
    #[arg(long)]
    pub state: PathBuf,
    /// How touch requests are answered.
    #[arg(long, value_enum, default_value = "ask")]
    pub presence: PresenceMode,
}

/// Runs the key until interrupted.
pub fn run(_udp: &str, _args: RunArgs) -> ExitCode {
    eprintln!("latch key run: not wired yet");
    ExitCode::from(2)
}
