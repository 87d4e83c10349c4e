//! User presence for `latch key run`: approve everything (`--presence auto`, for tests), or ask
//! the person at the terminal, who answers `y` or `n` within 30 seconds. A CANCEL from the host
//! ends the wait at once.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latch_ctap::env::{Presence, UserPresence};

use super::run::PresenceMode;

/// How long a person has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting prompt looks at the cancel flag.
const POLL: Duration = Duration::from_millis(20);

/// What the driver learns from a presence request in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Waiting for the user: KEEPALIVE must say UPNEEDED.
    Started,
    /// Answered (or cancelled): back to PROCESSING.
    Done,
}

/// Which request the host cancelled, and which one the authenticator is working on (request
/// id + 1; 0 for none). Bound to a request, so a cancel or an abort can never be wiped by the
/// next request, nor land on it.
#[derive(Debug, Default)]
pub struct Cancellation {
    cancelled: AtomicU64,
    current: AtomicU64,
}

impl Cancellation {
    /// The host cancelled (or resynchronised away from) request `id`.
    pub fn cancel(&self, id: u64) {
        self.cancelled.store(id.wrapping_add(1), Ordering::SeqCst);
    }

    /// The authenticator starts on request `id`.
    pub fn start(&self, id: u64) {
        self.current.store(id.wrapping_add(1), Ordering::SeqCst);
    }

    /// Whether the request being worked on was cancelled.
    pub fn is_cancelled(&self) -> bool {
        let current = self.current.load(Ordering::SeqCst);
        current != 0 && self.cancelled.load(Ordering::SeqCst) == current
    }
}

/// The presence source of the authenticator thread.
pub struct TerminalPresence {
    mode: PresenceMode,
    /// Shared with the driver, which records cancels.
    pub cancellation: Arc<Cancellation>,
    waiting: Sender<Waiting>,
    lines: Option<Receiver<String>>,
}

impl TerminalPresence {
    /// A presence source; in `Ask` mode a thread reads the terminal's lines.
    pub fn new(
        mode: PresenceMode,
        cancellation: Arc<Cancellation>,
        waiting: Sender<Waiting>,
    ) -> Self {
        let lines = (mode == PresenceMode::Ask).then(|| {
            let (send, receive) = mpsc::channel();
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    let Ok(line) = line else { break };
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
            receive
        });
        Self {
            mode,
            cancellation,
            waiting,
            lines,
        }
    }

    fn ask(&mut self, question: &str) -> Presence {
        let Some(lines) = &self.lines else {
            return Presence::Denied;
        };
        // Answers typed before the question was asked do not count.
        while lines.try_recv().is_ok() {}
        eprintln!("{question} [y/N] (30 s)");
        let _ = self.waiting.send(Waiting::Started);
        let deadline = Instant::now() + TIMEOUT;
        let answer = loop {
            if self.cancellation.is_cancelled() {
                eprintln!("  cancelled by the client");
                break Presence::Denied;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                eprintln!("  no answer in 30 s: refused");
                break Presence::Timeout;
            }
            match lines.recv_timeout(left.min(POLL)) {
                Ok(line) => {
                    let yes = matches!(line.trim(), "y" | "Y" | "yes");
                    eprintln!("  {}", if yes { "approved" } else { "refused" });
                    break if yes {
                        Presence::Approved
                    } else {
                        Presence::Denied
                    };
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break Presence::Denied,
            }
        };
        let _ = self.waiting.send(Waiting::Done);
        answer
    }
}

/// A person-readable description of a presence request.
pub fn describe(rp_id: &str, what: &str) -> String {
    let action = match what {
        "register" => "create a credential",
        "authenticate" => "sign in",
        "excluded" => "register again (this key already has a credential there)",
        "select" => "use this key",
        "reset" => "RESET the key (every credential is deleted)",
        "verify" => "verify you (built-in user verification)",
        "credential management" => "manage stored credentials",
        other => other,
    };
    if rp_id.is_empty() {
        format!("A client asks to {action}.")
    } else {
        format!("{rp_id} asks to {action}.")
    }
}

impl UserPresence for TerminalPresence {
    fn request(&mut self, rp_id: &str, what: &str) -> Presence {
        let question = describe(rp_id, what);
        match self.mode {
            PresenceMode::Auto => {
                eprintln!("{question} Touch approved automatically.");
                Presence::Approved
            }
            PresenceMode::Ask => self.ask(&format!("{question} Touch the key?")),
        }
    }

    fn verify(&mut self, rp_id: &str, what: &str) -> Presence {
        let question = describe(rp_id, what);
        match self.mode {
            PresenceMode::Auto => {
                eprintln!("{question} User verified automatically (simulated biometric).");
                Presence::Approved
            }
            PresenceMode::Ask => self.ask(&format!(
                "{question} Is this the key's owner (simulated biometric)?"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cancel_belongs_to_its_request() {
        let cancellation = super::Cancellation::default();
        assert!(!cancellation.is_cancelled());
        cancellation.start(7);
        cancellation.cancel(6); // an older request: not this one
        assert!(!cancellation.is_cancelled());
        cancellation.cancel(7);
        assert!(cancellation.is_cancelled());
        // The next request starts clean, and the old cancel cannot reach it.
        cancellation.start(8);
        assert!(!cancellation.is_cancelled());
        // Request 0 is a real id, not "none".
        cancellation.start(0);
        cancellation.cancel(0);
        assert!(cancellation.is_cancelled());
    }

    #[test]
    fn descriptions_name_the_rp_and_the_action() {
        assert_eq!(
            describe("example.com", "register"),
            "example.com asks to create a credential."
        );
        assert_eq!(
            describe("", "reset"),
            "A client asks to RESET the key (every credential is deleted)."
        );
    }
}
