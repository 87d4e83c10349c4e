//! User presence for `latch key run`: approve everything (`--presence auto`, for tests), or ask
//! the person at the terminal, who answers `y` or `n` within 30 seconds. A CANCEL from the host
//! ends the wait at once.
//!
//! A U2F request does not wait: as U2F devices do, it is answered "conditions not satisfied"
//! at once while the question stands, and the client asks again (U2F clients poll); the
//! request after the person said yes is approved.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latch_ctap::env::{Presence, UserPresence};

use super::run::PresenceMode;

/// How latch-ctap labels the RP of a U2F request (`u2f::presence_label`).
const U2F_LABEL: &str = "u2f:";

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
    /// The U2F question standing, if any.
    u2f: Option<U2fQuestion>,
}

/// A U2F presence question put to the person, which polls of the same request answer.
#[derive(Debug)]
struct U2fQuestion {
    /// The RP label and the action, so another request asks anew.
    about: String,
    asked_at: Instant,
    /// The person said no: refuse the polls until the question lapses.
    refused: bool,
}

fn is_yes(line: &str) -> bool {
    matches!(line.trim(), "y" | "Y" | "yes")
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
            u2f: None,
        }
    }

    /// A U2F request: never waits (see the module documentation).
    fn u2f_poll(&mut self, question: &str, about: String) -> Presence {
        let Some(lines) = &self.lines else {
            return Presence::Denied;
        };
        let standing = self
            .u2f
            .as_ref()
            .filter(|q| q.about == about && q.asked_at.elapsed() < TIMEOUT);
        let Some(standing) = standing else {
            // Answers typed before the question was asked do not count.
            while lines.try_recv().is_ok() {}
            eprintln!("{question} Touch the key? [y/N] (30 s)");
            self.u2f = Some(U2fQuestion {
                about,
                asked_at: Instant::now(),
                refused: false,
            });
            return Presence::Denied;
        };
        if standing.refused {
            return Presence::Denied;
        }
        match lines.try_recv() {
            Ok(line) if is_yes(&line) => {
                eprintln!("  approved");
                self.u2f = None;
                Presence::Approved
            }
            Ok(_) => {
                eprintln!("  refused");
                if let Some(q) = &mut self.u2f {
                    q.refused = true;
                }
                Presence::Denied
            }
            Err(_) => Presence::Denied,
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
                    let yes = is_yes(&line);
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
            PresenceMode::Ask if rp_id.starts_with(U2F_LABEL) => {
                self.u2f_poll(&question, format!("{rp_id} {what}"))
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
    use super::*;

    fn asking() -> (TerminalPresence, Sender<String>) {
        let (send, lines) = mpsc::channel();
        let (waiting, _) = mpsc::channel();
        let presence = TerminalPresence {
            mode: PresenceMode::Ask,
            cancellation: Arc::default(),
            waiting,
            lines: Some(lines),
            u2f: None,
        };
        (presence, send)
    }

    #[test]
    fn a_u2f_request_is_answered_at_once_and_approved_when_polled_after_yes() {
        let (mut presence, person) = asking();
        let started = Instant::now();
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
        assert!(started.elapsed() < Duration::from_secs(1), "it waited");
        person.send("y".into()).unwrap();
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Approved);
        // The touch is used up: the next request asks again.
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
        person.send("y".into()).unwrap();
        // A yes to one request is no yes to another.
        assert_eq!(presence.request("u2f:cd", "authenticate"), Presence::Denied);
        assert_eq!(presence.request("u2f:cd", "authenticate"), Presence::Denied);
    }

    #[test]
    fn a_u2f_no_refuses_the_polls() {
        let (mut presence, person) = asking();
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
        person.send("n".into()).unwrap();
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
        person.send("y".into()).unwrap();
        assert_eq!(presence.request("u2f:ab", "register"), Presence::Denied);
    }

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
