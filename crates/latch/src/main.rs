//! `latch`: one binary for the identity server, the software security key and the tools.
//! This file only parses the command line and dispatches.

mod cmd;
mod state_file;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "latch",
    version,
    about = "Passkeys and FIDO2 security keys, end to end"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// WebAuthn relying-party tools: decode and verify responses.
    #[command(subcommand)]
    Webauthn(cmd::webauthn::WebauthnCommand),
    /// The software security key (`run`), and a manager for any CTAPHID key.
    Key(cmd::key::KeyArgs),
    /// The identity server: accounts, passkey and security-key sign-in, over HTTP.
    Serve(Box<cmd::serve::ServeArgs>),
    /// One escrow guardian for passkey-sync recovery (run several, each with its own database).
    Guardian(cmd::guardian::GuardianArgs),
    /// Passkey sync on this device: create, join, approve, recover, revoke, list.
    Vault(cmd::vault::VaultArgs),
    /// Load generators against a running server (`login`: complete passkey sign-ins).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Webauthn(c) => cmd::webauthn::run(c),
        Command::Key(args) => cmd::key::run(args),
        Command::Serve(args) => cmd::serve::run(*args),
        Command::Bench(c) => cmd::bench::run(c),
        Command::Guardian(args) => cmd::guardian::run(args),
        Command::Vault(args) => cmd::vault::run(args),
    }
}
