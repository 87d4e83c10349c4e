//! `latch key info | pin | creds | config | blob | reset | wink`: manage any CTAPHID key over
//! UDP with the latch-ctap client. Every CTAP error prints its human message and exits 1.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use latch_ctap::client::cred_mgmt::CredentialEntry;
use latch_ctap::client::ctap2::User;
use latch_ctap::client::{config::MinPinLength, Ctap2, Error, HidDevice, KeepaliveAction};
use latch_ctap::command::rp_id_hash;
use latch_ctap::hid::KeepaliveStatus;
use latch_ctap::pin::Permissions;
use latch_webauthn::b64;

use super::format;
use super::udp::UdpTransport;

/// Environment variable with the PIN, for scripts.
pub const PIN_ENV: &str = "LATCH_KEY_PIN";
/// Environment variable with the new PIN for `pin change`.
pub const NEW_PIN_ENV: &str = "LATCH_KEY_NEW_PIN";

pub use super::args::{
    BlobCommand, BlobTarget, ConfigCommand, CredsCommand, ManageCommand, PinArg, PinCommand,
};

/// Why a manager command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The key or the client refused.
    #[error("{0}")]
    Client(#[from] Error),
    /// Anything else (bad argument, file, terminal).
    #[error("{0}")]
    Other(String),
}

fn other(message: impl Into<String>) -> CliError {
    CliError::Other(message.into())
}

/// Runs a manager command against the key at `udp`, printing results to stdout.
pub fn run(udp: &str, command: ManageCommand) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match execute(udp, command, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the CTAPHID channel, printing "Touch your key…" when the key waits for a touch.
pub fn open(udp: &str) -> Result<HidDevice<UdpTransport>, CliError> {
    let transport = UdpTransport::connect(udp).map_err(|e| other(format!("{udp}: {e}")))?;
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| other("no randomness for the INIT nonce"))?;
    let mut device = HidDevice::open(transport, nonce)?;
    let mut last_prompt: Option<Instant> = None;
    device.set_keepalive_handler(move |status| {
        if status == KeepaliveStatus::UpNeeded
            && last_prompt.is_none_or(|t| t.elapsed() > Duration::from_secs(10))
        {
            eprintln!("Touch your key…");
            last_prompt = Some(Instant::now());
        }
        KeepaliveAction::Continue
    });
    Ok(device)
}

/// The PIN from `--pin`, the environment variable `env`, or the terminal.
fn resolve_pin(given: &Option<String>, env: &str, prompt: &str) -> Result<String, CliError> {
    if let Some(pin) = given {
        return Ok(pin.clone());
    }
    if let Ok(pin) = std::env::var(env) {
        return Ok(pin);
    }
    rpassword::prompt_password(prompt).map_err(|e| other(format!("cannot read the PIN: {e}")))
}

/// A new PIN: given, from `env`, or typed twice.
fn resolve_new_pin(given: &Option<String>, env: &str) -> Result<String, CliError> {
    if given.is_some() || std::env::var(env).is_ok() {
        return resolve_pin(given, env, "");
    }
    let first = resolve_pin(&None, "", "New PIN: ")?;
    let again = resolve_pin(&None, "", "New PIN again: ")?;
    if first != again {
        return Err(other("the two PINs differ"));
    }
    Ok(first)
}

fn credential_id(text: &str) -> Result<Vec<u8>, CliError> {
    b64::decode(text).ok_or_else(|| other(format!("{text:?} is not a base64url credential ID")))
}

/// Runs `command`, writing human output to `out`.
pub fn execute(udp: &str, command: ManageCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let mut device = open(udp)?;
    if command == ManageCommand::Wink {
        device.wink()?;
        return say(out, "The key winked.");
    }
    let mut ctap = Ctap2::new(device)?;
    match command {
        ManageCommand::Wink => Ok(()),
        ManageCommand::Info => {
            let retries = match ctap.info().pin_set() {
                Some(_) => Some(ctap.get_pin_retries()?),
                None => None,
            };
            say(out, &format::info(ctap.info(), retries))
        }
        ManageCommand::Pin(command) => pin(&mut ctap, command, out),
        ManageCommand::Creds(command) => creds(&mut ctap, command, out),
        ManageCommand::Config(command) => config(&mut ctap, command, out),
        ManageCommand::Blob(command) => blob(&mut ctap, command, out),
        ManageCommand::Reset { yes } => reset(&mut ctap, yes, out),
    }
}

fn say(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    writeln!(out, "{text}").map_err(|e| other(format!("cannot write output: {e}")))
}

type Key = Ctap2<HidDevice<UdpTransport>>;

fn pin(ctap: &mut Key, command: PinCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match command {
        PinCommand::Set(arg) => {
            if ctap.info().pin_set() == Some(true) {
                return Err(other(
                    "a PIN is already set: change it with `latch key pin change`",
                ));
            }
            let pin = resolve_new_pin(&arg.pin, PIN_ENV)?;
            ctap.set_pin(&pin)?;
            say(out, "PIN set.")
        }
        PinCommand::Change { pin, new_pin } => {
            let current = resolve_pin(&pin.pin, PIN_ENV, "Current PIN: ")?;
            let new = resolve_new_pin(&new_pin, NEW_PIN_ENV)?;
            ctap.change_pin(&current, &new)?;
            say(out, "PIN changed.")
        }
        PinCommand::Retries => {
            let (retries, power_cycle) = ctap.get_pin_retries()?;
            say(out, &format::retries(retries, power_cycle))
        }
    }
}

fn token(
    ctap: &mut Key,
    arg: &PinArg,
    permissions: Permissions,
) -> Result<latch_ctap::client::PinUvAuthToken, CliError> {
    if ctap.info().pin_set() != Some(true) {
        return Err(other(
            "this needs a PIN: set one first with `latch key pin set`",
        ));
    }
    let pin = resolve_pin(&arg.pin, PIN_ENV, "PIN: ")?;
    Ok(ctap.pin_token(&pin, permissions, None)?)
}

/// Every (RP ID, credential) on the key.
fn all_credentials(
    ctap: &mut Key,
    token: &latch_ctap::client::PinUvAuthToken,
) -> Result<Vec<(String, Vec<CredentialEntry>)>, CliError> {
    let mut all = Vec::new();
    for rp in ctap.enumerate_rps(token)? {
        let creds = ctap.enumerate_credentials(token, &rp.rp_id_hash)?;
        all.push((rp.rp.id, creds));
    }
    Ok(all)
}

/// Refuses before asking for the PIN when the key lacks the option.
fn require(ctap: &Key, option: &str, what: &str) -> Result<(), CliError> {
    if ctap.info().option(option) == Some(true) {
        Ok(())
    } else {
        Err(Error::Unsupported(format!("the key has no {what} ({option})")).into())
    }
}

fn creds(ctap: &mut Key, command: CredsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    ctap.cred_mgmt_command()?;
    match command {
        CredsCommand::List(arg) => {
            let token = token(ctap, &arg, Permissions::CREDENTIAL_MANAGEMENT)?;
            let metadata = ctap.creds_metadata(&token)?;
            let all = all_credentials(ctap, &token)?;
            say(out, &format::credentials(&metadata, &all))
        }
        CredsCommand::Delete { id, pin } => {
            let id = credential_id(&id)?;
            let token = token(ctap, &pin, Permissions::CREDENTIAL_MANAGEMENT)?;
            ctap.delete_credential(&token, &id)?;
            say(out, "Credential deleted.")
        }
        CredsCommand::UpdateUser {
            id,
            name,
            display_name,
            pin,
        } => {
            let id = credential_id(&id)?;
            let token = token(ctap, &pin, Permissions::CREDENTIAL_MANAGEMENT)?;
            let found = all_credentials(ctap, &token)?
                .into_iter()
                .flat_map(|(_, creds)| creds)
                .find(|c| c.credential_id == id)
                .ok_or_else(|| other("no discoverable credential with that ID on the key"))?;
            let user = User {
                id: found.user.id,
                name: name.or(found.user.name),
                display_name: display_name.or(found.user.display_name),
            };
            ctap.update_user_information(&token, &id, &user)?;
            say(out, "User information updated.")
        }
    }
}

fn config(ctap: &mut Key, command: ConfigCommand, out: &mut dyn Write) -> Result<(), CliError> {
    require(ctap, "authnrCfg", "authenticatorConfig")?;
    match command {
        ConfigCommand::AlwaysUv(arg) => {
            let token = token(ctap, &arg, Permissions::AUTHENTICATOR_CONFIG)?;
            ctap.toggle_always_uv(&token)?;
            let now = ctap.refresh_info()?.option("alwaysUv") == Some(true);
            say(
                out,
                &format!("alwaysUv is now {}.", if now { "on" } else { "off" }),
            )
        }
        ConfigCommand::MinPinLength {
            length,
            rp_ids,
            force_change,
            pin,
        } => {
            let token = token(ctap, &pin, Permissions::AUTHENTICATOR_CONFIG)?;
            let params = MinPinLength {
                new_min_pin_length: Some(length),
                rp_ids,
                force_change_pin: force_change,
            };
            ctap.set_min_pin_length(&token, &params)?;
            say(out, &format!("Minimum PIN length is now {length}."))
        }
    }
}

/// The largeBlobKey of credential `target.id` under `target.rp_id`.
fn large_blob_key(
    ctap: &mut Key,
    target: &BlobTarget,
    token: &latch_ctap::client::PinUvAuthToken,
) -> Result<Vec<u8>, CliError> {
    let id = credential_id(&target.id)?;
    let creds = ctap.enumerate_credentials(token, &rp_id_hash(&target.rp_id))?;
    let cred = creds
        .into_iter()
        .find(|c| c.credential_id == id)
        .ok_or_else(|| {
            other(format!(
                "no discoverable credential with that ID for {}",
                target.rp_id
            ))
        })?;
    cred.large_blob_key.ok_or_else(|| {
        other(
            "that credential has no largeBlobKey (it was created without the largeBlob extension)",
        )
    })
}

fn blob(ctap: &mut Key, command: BlobCommand, out: &mut dyn Write) -> Result<(), CliError> {
    require(ctap, "largeBlobs", "large-blob storage")?;
    ctap.cred_mgmt_command()?;
    let cm = Permissions::CREDENTIAL_MANAGEMENT;
    let write = cm.union(Permissions::LARGE_BLOB_WRITE);
    match command {
        BlobCommand::Get { target, out: path } => {
            let token = token(ctap, &target.pin, cm)?;
            let key = large_blob_key(ctap, &target, &token)?;
            let data = ctap
                .get_blob(&key)?
                .ok_or_else(|| other("that credential has no blob"))?;
            match path {
                Some(path) => std::fs::write(&path, &data)
                    .map_err(|e| other(format!("{}: {e}", path.display()))),
                None => out
                    .write_all(&data)
                    .map_err(|e| other(format!("cannot write: {e}"))),
            }
        }
        BlobCommand::Set { target, file } => {
            let data = match file {
                Some(path) => {
                    std::fs::read(&path).map_err(|e| other(format!("{}: {e}", path.display())))?
                }
                None => {
                    let mut data = Vec::new();
                    io::stdin()
                        .read_to_end(&mut data)
                        .map_err(|e| other(format!("cannot read stdin: {e}")))?;
                    data
                }
            };
            let token = token(ctap, &target.pin, write)?;
            let key = large_blob_key(ctap, &target, &token)?;
            ctap.put_blob(&token, &key, Some(&data))?;
            say(out, &format!("Stored a {}-byte blob.", data.len()))
        }
        BlobCommand::Delete { target } => {
            let token = token(ctap, &target.pin, write)?;
            let key = large_blob_key(ctap, &target, &token)?;
            if ctap.delete_blob(&token, &key)? {
                say(out, "Blob deleted.")
            } else {
                say(out, "That credential had no blob.")
            }
        }
    }
}

fn reset(ctap: &mut Key, yes: bool, out: &mut dyn Write) -> Result<(), CliError> {
    say(out, format::RESET_NOTICE)?;
    if !yes {
        eprint!("Delete every credential and the PIN on this key? [y/N] ");
        let mut answer = String::new();
        io::stdin()
            .read_line(&mut answer)
            .map_err(|e| other(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(other("reset cancelled"));
        }
    }
    ctap.reset()?;
    say(out, "The key is reset: no credentials, no PIN.")
}
