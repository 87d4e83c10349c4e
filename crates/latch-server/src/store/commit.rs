//! What a ceremony's finish writes once its response verified, as one value: a [`Commit`].
//!
//! A finish reads and verifies with no lock held, then hands the store one `Commit`. The store
//! applies it atomically and durably ([`super::Store::commit`]): the ceremony is used up first
//! (a replay, or a finish that raced this one, fails there and writes nothing), then every
//! value the check relied on is checked again (the counter, the account, the session), then the
//! rows are written and the audit event logged. Either all of it commits or none of it does.
//!
//! A new kind of ceremony adds a variant here and its arm in [`apply`]; nothing about locks,
//! transactions or batching is left to its handler.

use serde_json::json;

use super::audit::{self, Caller};
use super::credentials::{self, Credential, Use};
use super::db::{Conn, DbError};
use super::users::{self, User};
use super::{ceremonies, sessions, trusted_browsers};
use latch_webauthn::b64::{self, Base64Url};

/// How the finish's ceremony is used up, as its backend keeps ceremonies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeremonyUse {
    /// A ceremony sealed into its cookie (SQLite): the token's hash is recorded as used until
    /// the token expires. Records of tokens expired before `sweep_before` are swept first,
    /// when given.
    Sealed {
        hash: Vec<u8>,
        expires_at: i64,
        sweep_before: Option<i64>,
    },
    /// A ceremony stored in the database (PostgreSQL, or one too large for a cookie): its row
    /// is deleted.
    Stored { hash: Vec<u8> },
}

/// A new session, its token made (and its cookie built) by the caller; the commit fills in
/// whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id_hash: Vec<u8>,
    pub expires_at: i64,
    pub second_factor_done: bool,
    /// Whether the sign-in counts as recent (see [`sessions::NewSession::proven`]).
    pub proven: bool,
    /// How the owner signed in ([`crate::amr::Amr::stored`]).
    pub amr: String,
}

/// A browser to trust from now on, its token made by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrust {
    pub id_hash: Vec<u8>,
    pub expires_at: i64,
}

/// A verified assertion's effect on its credential: the counter moves forward (and the
/// backup state is updated), unless another sign-in moved it past this one since the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub user_id: i64,
    pub credential_id: Vec<u8>,
    pub usage: Use,
}

/// A finish's writes, built from what it verified.
#[derive(Debug, Clone, PartialEq)]
pub enum Commit {
    /// A passkey sign-up: the account, its first credential and a session.
    SignUp {
        username: String,
        display_name: String,
        user_handle: Vec<u8>,
        /// Its `user_id` is the new account's, whatever it says here.
        credential: Credential,
        session: NewSession,
    },
    /// Another key for a signed-in account, within the policy's most per account.
    AddCredential {
        credential: Credential,
        max_credentials: u32,
    },
    /// A passkey (or security-key) sign-in: the counter moves and a session begins.
    SignIn {
        assertion: Assertion,
        session: NewSession,
    },
    /// A password sign-in's second factor by security key: the waiting session is replaced by
    /// a complete one under a new token, and the browser is trusted if asked.
    SecondFactor {
        assertion: Assertion,
        pending_session: Vec<u8>,
        session: NewSession,
        trust: Option<NewTrust>,
    },
    /// A signed-in session proves its owner again with a key.
    Reauth {
        assertion: Assertion,
        session_hash: Vec<u8>,
        /// The session's methods with this key's added ([`crate::amr::Amr::stored`]).
        amr: String,
    },
}

/// What a commit made.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    SignUp { user: User, credential: Credential },
    AddCredential { credential: Credential },
    SignIn,
    SecondFactor,
    Reauth,
}

/// Why a commit wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("the ceremony was used already")]
    CeremonyUsed,
    #[error("the ceremony expired")]
    CeremonyExpired,
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the credential is registered already")]
    CredentialExists,
    #[error("the account has its most credentials ({max})")]
    TooManyCredentials { max: u32 },
    #[error("the account is gone")]
    AccountGone,
    #[error("the credential is gone")]
    CredentialGone,
    #[error("another sign-in moved the counter past this one")]
    CounterRaced,
    #[error("the sign-in waiting for its second factor is gone")]
    NoPendingSession,
    #[error("the session is gone")]
    SessionGone,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Applies `commit` on `conn`, which is inside a transaction (or a group commit's
/// savepoint): on `Err` the caller undoes whatever was written.
pub async fn apply(
    conn: &mut Conn,
    ceremony: &CeremonyUse,
    commit: &Commit,
    caller: &Caller,
    now: i64,
) -> Result<Committed, CommitError> {
    use_up(conn, ceremony, now).await?;
    match commit {
        Commit::SignUp {
            username,
            display_name,
            user_handle,
            credential,
            session,
        } => {
            let user = match users::insert(conn, username, display_name, user_handle, now).await {
                Ok(user) => user,
                Err(e) if e.is_unique_violation() => return Err(CommitError::UsernameTaken),
                Err(e) => return Err(e.into()),
            };
            let credential = Credential {
                user_id: user.id,
                ..credential.clone()
            };
            insert_credential(conn, &credential).await?;
            let detail = json!({ "credentialId": Base64Url(credential.id.clone()) });
            log(conn, user.id, "signup", &detail, caller, now).await?;
            begin_session(conn, session, user.id, Some(&credential.id), caller, now).await?;
            Ok(Committed::SignUp { user, credential })
        }
        Commit::AddCredential {
            credential,
            max_credentials,
        } => {
            let user_id = credential.user_id;
            // The account's row is locked, and its credentials counted again under the lock:
            // two finishes racing for the last place cannot both take it.
            if !users::lock(conn, user_id).await? {
                return Err(CommitError::AccountGone);
            }
            if credentials::count_of_user(conn, user_id).await? >= i64::from(*max_credentials) {
                return Err(CommitError::TooManyCredentials {
                    max: *max_credentials,
                });
            }
            insert_credential(conn, credential).await?;
            let detail = json!({ "credentialId": Base64Url(credential.id.clone()) });
            log(conn, user_id, "credential_added", &detail, caller, now).await?;
            Ok(Committed::AddCredential {
                credential: credential.clone(),
            })
        }
        Commit::SignIn { assertion, session } => {
            record(conn, assertion).await?;
            let id = &assertion.credential_id;
            let detail = json!({ "credentialId": Base64Url(id.clone()) });
            log(conn, assertion.user_id, "login", &detail, caller, now).await?;
            begin_session(conn, session, assertion.user_id, Some(id), caller, now).await?;
            Ok(Committed::SignIn)
        }
        Commit::SecondFactor {
            assertion,
            pending_session,
            session,
            trust,
        } => {
            record(conn, assertion).await?;
            let user_id = assertion.user_id;
            if !sessions::delete(conn, pending_session).await? {
                return Err(CommitError::NoPendingSession);
            }
            let id = &assertion.credential_id;
            begin_session(conn, session, user_id, Some(id), caller, now).await?;
            let detail = json!({ "credentialId": Base64Url(id.clone()) });
            log(
                conn,
                user_id,
                "login_password_webauthn",
                &detail,
                caller,
                now,
            )
            .await?;
            if let Some(trust) = trust {
                trusted_browsers::insert(
                    conn,
                    &trusted_browsers::NewTrusted {
                        id_hash: &trust.id_hash,
                        user_id,
                        now,
                        expires_at: trust.expires_at,
                        ip: caller.ip.as_deref(),
                        user_agent: caller.user_agent.as_deref(),
                    },
                )
                .await?;
                let detail = json!({ "trustedBrowserId": b64::encode(&trust.id_hash) });
                log(conn, user_id, "trusted_browser_added", &detail, caller, now).await?;
            }
            Ok(Committed::SecondFactor)
        }
        Commit::Reauth {
            assertion,
            session_hash,
            amr,
        } => {
            record(conn, assertion).await?;
            if !sessions::set_authenticated(conn, session_hash, now, amr).await? {
                return Err(CommitError::SessionGone);
            }
            let detail = json!({
                "method": "webauthn",
                "credentialId": Base64Url(assertion.credential_id.clone()),
            });
            log(
                conn,
                assertion.user_id,
                "reauthenticated",
                &detail,
                caller,
                now,
            )
            .await?;
            Ok(Committed::Reauth)
        }
    }
}

/// Uses the ceremony up: it answers one finish only. A ceremony used up by another finish is
/// [`CommitError::CeremonyUsed`]. A sealed token that expired since it was opened is refused:
/// records of used tokens are swept once their tokens expire, so an expired token's earlier
/// use may be forgotten.
pub async fn use_up(conn: &mut Conn, ceremony: &CeremonyUse, now: i64) -> Result<(), CommitError> {
    let fresh = match ceremony {
        CeremonyUse::Sealed {
            hash,
            expires_at,
            sweep_before,
        } => {
            if *expires_at <= now {
                return Err(CommitError::CeremonyExpired);
            }
            if let Some(before) = sweep_before {
                ceremonies::purge_used(conn, *before).await?;
            }
            ceremonies::mark_used(conn, hash, *expires_at).await?
        }
        CeremonyUse::Stored { hash } => ceremonies::delete(conn, hash).await?,
    };
    if fresh {
        Ok(())
    } else {
        Err(CommitError::CeremonyUsed)
    }
}

/// §7.1 step 26: a credential id registered already (to anyone) is refused.
async fn insert_credential(conn: &mut Conn, credential: &Credential) -> Result<(), CommitError> {
    match credentials::insert(conn, credential).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_unique_violation() => Err(CommitError::CredentialExists),
        Err(e) => Err(e.into()),
    }
}

/// Moves the counter forward. The update re-checks the stored counter, so a sign-in that raced
/// past this one since the check makes this one fail instead of moving the counter back.
async fn record(conn: &mut Conn, assertion: &Assertion) -> Result<(), CommitError> {
    let id = &assertion.credential_id;
    if credentials::record_use(conn, id, assertion.usage).await? {
        return Ok(());
    }
    Err(match credentials::by_id(conn, id).await? {
        Some(c) if c.user_id == assertion.user_id => CommitError::CounterRaced,
        // Deleted (with its account, perhaps) since the check.
        _ => CommitError::CredentialGone,
    })
}

async fn begin_session(
    conn: &mut Conn,
    session: &NewSession,
    user_id: i64,
    credential_id: Option<&[u8]>,
    caller: &Caller,
    now: i64,
) -> Result<(), DbError> {
    sessions::insert(
        conn,
        &sessions::NewSession {
            id_hash: &session.id_hash,
            user_id,
            now,
            expires_at: session.expires_at,
            ip: caller.ip.as_deref(),
            user_agent: caller.user_agent.as_deref(),
            credential_id,
            second_factor_done: session.second_factor_done,
            proven: session.proven,
            amr: &session.amr,
        },
    )
    .await
}

async fn log(
    conn: &mut Conn,
    user_id: i64,
    kind: &str,
    detail: &serde_json::Value,
    caller: &Caller,
    now: i64,
) -> Result<(), DbError> {
    audit::insert(conn, Some(user_id), kind, detail, caller, now).await
}
