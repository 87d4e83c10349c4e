//! `latch vault`: this device's side of passkey sync. A device folder (`--dir`) holds the
//! device's keys and its verified copy of the vault; `latch serve` stores the ciphertext and
//! the signed ledger; `latch guardian`s hold the escrow that lets a new device in when every
//! other device is lost.
//!
//! Secrets come from the environment, or are asked for: `LATCH_PASSWORD` (the account's),
//! `LATCH_TOTP` (an authenticator-app code, if the account has one), `LATCH_VAULT_PASSCODE`
//! (the escrow passcode).

// These read the server's JSON answers with `value["field"]`, which yields `null` for a
// missing field and never panics (only assigning through an index can).
#[allow(clippy::indexing_slicing)]
mod api;
mod guardians;
#[allow(clippy::indexing_slicing)]
mod items;
mod local;
#[allow(clippy::indexing_slicing)]
mod membership;
#[allow(clippy::indexing_slicing)]
pub(crate) mod replica;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use replica::Session;

#[derive(Args, Debug)]
pub struct VaultArgs {
    /// This device's folder (before or after the subcommand).
    #[arg(
        long,
        global = true,
        env = "LATCH_VAULT_DIR",
        default_value = ".latch-vault"
    )]
    pub dir: PathBuf,
    #[command(subcommand)]
    pub command: VaultCommand,
}

#[derive(Args, Debug, Clone)]
pub struct Account {
    /// The `latch serve` that stores the vault, e.g. http://localhost:8080.
    #[arg(long)]
    pub server: String,
    /// The account's username (the password comes from LATCH_PASSWORD or a prompt).
    #[arg(long = "user")]
    pub user: String,
}

#[derive(Subcommand, Debug)]
pub enum VaultCommand {
    /// Create the account's vault on this device, with its escrow at the guardians.
    Init {
        #[command(flatten)]
        account: Account,
        /// A guardian's URL; give several (three or more in production).
        #[arg(long = "guardian", required = true)]
        guardians: Vec<String>,
        /// How many guardians a recovery needs (default: a majority).
        #[arg(long)]
        threshold: Option<usize>,
    },
    /// Join the vault from this new device: shows a code to approve on a device already in it.
    Join {
        #[command(flatten)]
        account: Account,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Approve a new device that shows CODE (after checking it is the code it shows).
    Approve {
        code: String,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// The vault's devices.
    Devices,
    /// Remove a device: it cannot read anything written afterwards.
    Revoke {
        // Ids are base64url, so one may start with '-'.
        #[arg(allow_hyphen_values = true)]
        device: String,
    },
    /// Join with no other device, through the escrow and the passcode.
    Recover {
        #[command(flatten)]
        account: Account,
        /// The guardians this device expects (the ledger must name exactly these); without
        /// them, the ones the vault's signed genesis names.
        #[arg(long = "guardian")]
        guardians: Vec<String>,
    },
    /// Sync, then show the vault, this device and any alert.
    Status,
    /// The passkeys in the vault.
    List,
    /// Change a passkey's user name or display name.
    Rename {
        #[arg(allow_hyphen_values = true)]
        item: String,
        #[arg(long)]
        user_name: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Delete a passkey (a tombstone: it does not come back).
    Delete {
        #[arg(allow_hyphen_values = true)]
        item: String,
    },
    /// Import passkeys from a FIDO CXF (JSON) file.
    Import { file: PathBuf },
    /// Export the passkeys as FIDO CXF (JSON), to FILE or standard output.
    Export { file: Option<PathBuf> },
    /// Escrow the recovery key again, under a new passcode (or after a failed registration).
    Escrow,
}

fn secret(var: &str, prompt: &str) -> Result<String, String> {
    if let Ok(value) = std::env::var(var) {
        return Ok(value);
    }
    rpassword::prompt_password(prompt)
        .map_err(|e| format!("{var} is not set and there is no terminal to ask: {e}"))
}

fn passcode() -> Result<String, String> {
    secret("LATCH_VAULT_PASSCODE", "escrow passcode: ")
}

fn signed_in(dir: &std::path::Path, account: &Account) -> Result<Session, String> {
    let mut s = Session::new_device(dir, &account.server, &account.user)?;
    let password = secret(
        "LATCH_PASSWORD",
        &format!("password for {}: ", account.user),
    )?;
    let totp = std::env::var("LATCH_TOTP").ok();
    s.api
        .sign_in(&account.user, &password, totp.as_deref())
        .map_err(|e| e.to_string())?;
    Ok(s)
}

fn status(s: &mut Session) -> Result<(), String> {
    for alert in s.pull()? {
        println!("{alert}");
    }
    s.save()?;
    let ledger = s.ledger()?;
    let r = s.local.vault.as_ref().ok_or("no vault")?;
    println!("vault {} on {}", ledger.vault(), s.local.server);
    println!("this device {}", s.me.id());
    println!(
        "epoch {}; {} device(s); ledger at entry {}",
        ledger.epoch(),
        ledger.members().count(),
        ledger.head().seq
    );
    println!("{} item(s); change cursor {}", r.items.len(), r.cursor);
    println!(
        "escrow: {} guardian(s), {} needed",
        r.guardians.len(),
        r.threshold
    );
    Ok(())
}

fn dispatch(args: VaultArgs) -> Result<(), String> {
    let dir = args.dir;
    match args.command {
        VaultCommand::Init {
            account,
            guardians,
            threshold,
        } => {
            let code = passcode()?;
            let mut s = signed_in(&dir, &account)?;
            membership::init(&mut s, guardians, threshold, code.as_bytes())
        }
        VaultCommand::Join { account, timeout } => {
            let mut s = signed_in(&dir, &account)?;
            membership::join(&mut s, Duration::from_secs(timeout))
        }
        VaultCommand::Recover { account, guardians } => {
            let code = passcode()?;
            let mut s = signed_in(&dir, &account)?;
            membership::recover(&mut s, code.as_bytes(), &guardians)
        }
        VaultCommand::Approve { code, timeout } => membership::approve(
            &mut Session::open(&dir)?,
            &code,
            Duration::from_secs(timeout),
        ),
        VaultCommand::Devices => membership::devices(&mut Session::open(&dir)?),
        VaultCommand::Revoke { device } => {
            let code = passcode()?;
            membership::revoke(&mut Session::open(&dir)?, &device, code.as_bytes())
        }
        VaultCommand::Escrow => {
            let code = passcode()?;
            let mut s = Session::open(&dir)?;
            // The key the guardians' registration belongs to: the one a revoke replaced, until
            // the new one is escrowed.
            let pending = s.local.vault.as_ref().and_then(|r| r.escrow_owner.clone());
            let owner = match pending {
                Some(text) => replica::unb64("escrow owner", &text)?,
                None => s
                    .recovery
                    .as_ref()
                    .ok_or("no recovery key")?
                    .bytes()
                    .to_vec(),
            };
            let owner = latch_vault::recovery::RecoveryKey::from_bytes(&owner)
                .map_err(|e| e.to_string())?;
            let params = membership::register_escrow(&mut s, code.as_bytes(), &owner)?;
            println!(
                "escrowed with {} guardian(s); at most {} passcode guesses",
                params.guardians(),
                params.total_guesses()
            );
            Ok(())
        }
        VaultCommand::Status => status(&mut Session::open(&dir)?),
        VaultCommand::List => items::list(&mut Session::open(&dir)?),
        VaultCommand::Rename {
            item,
            user_name,
            display_name,
        } => items::rename(&mut Session::open(&dir)?, &item, user_name, display_name),
        VaultCommand::Delete { item } => items::delete(&mut Session::open(&dir)?, &item),
        VaultCommand::Import { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            items::import(&mut Session::open(&dir)?, &text)
        }
        VaultCommand::Export { file } => {
            let doc = items::export(&mut Session::open(&dir)?)?;
            match file {
                Some(f) => std::fs::write(&f, doc).map_err(|e| format!("{}: {e}", f.display())),
                None => {
                    println!("{doc}");
                    Ok(())
                }
            }
        }
    }
}

pub fn run(args: VaultArgs) -> ExitCode {
    match dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latch vault: {e}");
            ExitCode::FAILURE
        }
    }
}
