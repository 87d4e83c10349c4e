//! The client of the escrow guardians (`latch guardian`) over HTTP: register the recovery key
//! with all of them, and get it back from t of them with the passcode.

use std::io::Read;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latch_vault::escrow::messages::{Commit, Evaluate, Evaluation, Stage, Status};
use latch_vault::escrow::{sign_stage, Recovery};
use latch_vault::identity::SigningKey;
use latch_vault::recovery::RecoveryKey;
use latch_vault::VaultError;
use rand_core::CryptoRngCore;

#[derive(Debug, thiserror::Error)]
pub enum GuardianCallError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("guardian {url} refused ({status} {code}): {message}")]
    Refused {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("guardian {url} did not answer: {detail}")]
    Unreachable { url: String, detail: String },
}

impl GuardianCallError {
    /// The guardian's error code (`no_guesses`, `not_registered`, …), when it answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GuardianCallError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub struct Guardians {
    urls: Vec<String>,
    agent: ureq::Agent,
}

impl Guardians {
    pub fn new(urls: &[String]) -> Guardians {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        let urls = urls
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        Guardians { urls, agent }
    }

    fn url(&self, i: usize, escrow: &[u8; 16], action: &str) -> String {
        let base = self.urls.get(i).map(String::as_str).unwrap_or_default();
        format!(
            "{base}/v1/escrows/{}{action}",
            URL_SAFE_NO_PAD.encode(escrow)
        )
    }

    fn call(
        &self,
        i: usize,
        method: &str,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, GuardianCallError> {
        let request = self
            .agent
            .request(method, &url)
            .set("Content-Type", "application/cbor");
        let sent = match body {
            Some(body) => request.send_bytes(&body),
            None => request.call(),
        };
        let base = self.urls.get(i).cloned().unwrap_or_default();
        match sent {
            Ok(response) => {
                let mut out = Vec::new();
                response
                    .into_reader()
                    .take(64 * 1024)
                    .read_to_end(&mut out)
                    .map_err(|e| GuardianCallError::Unreachable {
                        url: base,
                        detail: e.to_string(),
                    })?;
                Ok(out)
            }
            Err(ureq::Error::Status(status, response)) => {
                let body: serde_json::Value = response
                    .into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let text = |k: &str| {
                    body.get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                Err(GuardianCallError::Refused {
                    url: base,
                    status,
                    code: text("error"),
                    message: text("message"),
                })
            }
            Err(e) => Err(GuardianCallError::Unreachable {
                url: base,
                detail: e.to_string(),
            }),
        }
    }

    /// Guardian `i`'s status of `escrow` (counts no guess).
    pub fn status_of(&self, i: usize, escrow: &[u8; 16]) -> Result<Status, GuardianCallError> {
        Ok(Status::parse(&self.call(
            i,
            "GET",
            self.url(i, escrow, ""),
            None,
        )?)?)
    }

    /// Every guardian's status, `None` for one that did not answer with one.
    pub fn statuses(&self, escrow: &[u8; 16]) -> Vec<Option<Status>> {
        (0..self.urls.len())
            .map(|i| self.status_of(i, escrow).ok())
            .collect()
    }

    /// One guess at guardian `i`.
    pub fn evaluate(
        &self,
        i: usize,
        escrow: &[u8; 16],
        guess: &Evaluate,
    ) -> Result<Evaluation, GuardianCallError> {
        let answer = self.call(
            i,
            "POST",
            self.url(i, escrow, "/evaluate"),
            Some(guess.to_bytes()?),
        )?;
        Ok(Evaluation::parse(&answer)?)
    }

    /// Registers `stages` (one per guardian, in order): staged at every guardian first, then
    /// committed at every one, so a registration that fails part-way leaves the old one in force.
    pub fn register(
        &self,
        escrow: &[u8; 16],
        stages: &[Stage],
        owner: &SigningKey,
    ) -> Result<(), GuardianCallError> {
        for (i, stage) in stages.iter().enumerate() {
            // The registration in force there, which this one replaces (none if there is none).
            let replaces = match self.status_of(i, escrow) {
                Ok(status) => Some(status.version),
                Err(e) if e.code() == Some("not_registered") => None,
                Err(e) => return Err(e),
            };
            let signed = sign_stage(escrow, replaces, stage, owner)?;
            self.call(i, "PUT", self.url(i, escrow, "/stage"), Some(signed))?;
        }
        for (i, stage) in stages.iter().enumerate() {
            let commit = Commit {
                version: stage.version,
            }
            .to_bytes()?;
            self.call(i, "POST", self.url(i, escrow, "/commit"), Some(commit))?;
        }
        Ok(())
    }

    /// One recovery attempt: statuses, one guess at each of t guardians, and on success the
    /// unlocks that reset their counts.
    pub fn recover(
        &self,
        escrow: &[u8; 16],
        passcode: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<RecoveryKey, GuardianCallError> {
        let statuses = self.statuses(escrow);
        let (recovery, guesses) = Recovery::start(passcode, &statuses, rng)?;
        let mut answers = Vec::with_capacity(guesses.len());
        for (i, guess) in guesses {
            answers.push((i, self.evaluate(i, escrow, &guess)?));
        }
        let (key, unlocks) = recovery.finish(&answers)?;
        for (i, unlock) in unlocks {
            // A guardian that misses its unlock keeps its count; the next registration resets it.
            let _ = self.call(
                i,
                "POST",
                self.url(i, escrow, "/unlock"),
                Some(unlock.to_bytes()?),
            );
        }
        Ok(key)
    }
}
