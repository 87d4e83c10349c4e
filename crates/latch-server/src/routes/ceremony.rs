//! Begun ceremonies: stored under the hash of a cookie token, taken back exactly once.

use axum::http::{HeaderMap, HeaderValue};
use latch_webauthn::wire::CredentialDescriptor;
use latch_webauthn::{AuthenticationState, RegistrationState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, set_cookie, Cookie};
use crate::state::{AppState, Sweep, CEREMONY_TTL};
use crate::store::audit::Caller;
use crate::store::commit::{CeremonyUse, Commit, CommitError, Committed};
use crate::store::credentials::Credential;
use crate::store::{ceremonies, Conn};
use latch_webauthn::b64;

/// Which call a ceremony belongs to; a finish only takes its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Signup,
    Login,
    AddCredential,
    SecondFactor,
    Reauth,
}

impl Kind {
    /// Assertions: a failed finish uses its ceremony up all the same, so that one ceremony
    /// cannot be used to try response after response (credential ids, say). A refused
    /// registration leaves its ceremony: nothing is guessed there, and the person may try
    /// another key.
    fn guessable(self) -> bool {
        matches!(self, Kind::Login | Kind::SecondFactor | Kind::Reauth)
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::Login => "login",
            Kind::AddCredential => "add_credential",
            Kind::SecondFactor => "second_factor",
            Kind::Reauth => "reauth",
        }
    }
}

/// A sign-up in progress: the account is created only when its first credential verifies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signup {
    pub username: String,
    pub display_name: String,
    pub user_handle: Vec<u8>,
    pub registration: RegistrationState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub authentication: AuthenticationState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddCredential {
    pub registration: RegistrationState,
}

/// Sealed tokens start with this (a stored ceremony's token is bare base64url, which has no
/// `.`), so a finish knows where to look.
const SEALED_PREFIX: &str = "s.";

/// The longest sealed token put in a cookie: browsers keep cookies up to about 4 KiB,
/// attributes included. Larger states (a long allowCredentials) are stored instead.
const MAX_SEALED_TOKEN: usize = 3000;

/// What a sealed token carries (its kind is bound to it as associated data).
#[derive(Serialize, Deserialize)]
struct SealedCeremony<S> {
    user_id: Option<i64>,
    expires_at: i64,
    state: S,
}

/// Starts a ceremony and returns the `Set-Cookie` that names it. On SQLite its state is
/// sealed into the cookie ([`crate::sealed`]) and nothing is written; otherwise (PostgreSQL,
/// or a state too large for a cookie) it is stored under the hash of a random token.
///
/// It takes the caller's pooled connection to give it back first: a stored ceremony waits for
/// a write, and holding a connection through that could starve the pool.
pub async fn begin<T: Serialize>(
    conn: Conn,
    state: &AppState,
    kind: Kind,
    user_id: Option<i64>,
    ceremony: &T,
) -> Result<HeaderValue, ApiError> {
    conn.give_back();
    let now = state.now();
    let expires_at = now.saturating_add(CEREMONY_TTL);
    let sealed = match state.store.sealing_key() {
        Some(key) => {
            let plain = serde_json::to_vec(&SealedCeremony {
                user_id,
                expires_at,
                state: ceremony,
            })
            .map_err(ApiError::internal)?;
            let token = format!(
                "{SEALED_PREFIX}{}",
                b64::encode(
                    &key.seal(kind.as_str(), &plain)
                        .map_err(ApiError::internal)?
                )
            );
            Some(token).filter(|t| t.len() <= MAX_SEALED_TOKEN)
        }
        None => None,
    };
    let token = match sealed {
        Some(token) => token,
        None => store(state, kind, user_id, ceremony, now, expires_at).await?,
    };
    set_cookie(state, Cookie::Ceremony, &token, CEREMONY_TTL)
}

/// Stores a ceremony in the database; returns its token.
async fn store<T: Serialize>(
    state: &AppState,
    kind: Kind,
    user_id: Option<i64>,
    ceremony: &T,
    now: i64,
    expires_at: i64,
) -> Result<String, ApiError> {
    let (token, hash) = crypto::new_token()?;
    let json = serde_json::to_string(ceremony).map_err(ApiError::internal)?;
    let kind = kind.as_str();
    let sweep = state.sweep_due(Sweep::Ceremonies, now);
    state
        .store
        .insert_ceremony(hash, kind, user_id, json, now, expires_at, sweep)
        .await?;
    Ok(token)
}

/// A ceremony read back by its finish, not yet used up.
#[derive(Debug)]
pub struct Opened<T> {
    pub value: T,
    pub user_id: Option<i64>,
}

/// What using the ceremony up needs.
#[derive(Debug, Clone)]
struct Ticket {
    hash: Vec<u8>,
    sealed_until: Option<i64>,
}

impl Ticket {
    /// How the commit uses it up, sweeping old records of used tokens now and then (see
    /// [`AppState::sweep_due`]), keeping each a ceremony's lifetime past its token's expiry.
    fn to_use(&self, state: &AppState, now: i64) -> CeremonyUse {
        match self.sealed_until {
            Some(expires_at) => CeremonyUse::Sealed {
                hash: self.hash.clone(),
                expires_at,
                sweep_before: state
                    .sweep_due(Sweep::UsedCeremonies, now)
                    .then(|| now.saturating_sub(CEREMONY_TTL)),
            },
            None => CeremonyUse::Stored {
                hash: self.hash.clone(),
            },
        }
    }
}

/// A ceremony's finish, in the one order every finish follows: [`Finish::start`], reads
/// (and [`Finish::open`]) on its connection, the check with no lock held, then
/// [`Finish::commit`], which gives the connection back, reports a check that failed on a
/// ceremony used meanwhile as the replay it is, uses a failed assertion's ceremony up, and
/// hands the verified writes to the store as one [`Commit`].
pub struct Finish<'s> {
    state: &'s AppState,
    kind: Kind,
    conn: Conn,
    ticket: Option<Ticket>,
}

impl<'s> Finish<'s> {
    pub async fn start(state: &'s AppState, kind: Kind) -> Result<Finish<'s>, ApiError> {
        Ok(Finish {
            state,
            kind,
            conn: state.store.conn().await?,
            ticket: None,
        })
    }

    /// The connection for the check's reads.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Reads the ceremony the request's cookie names, writing nothing.
    pub async fn open<T: DeserializeOwned>(
        &mut self,
        headers: &HeaderMap,
    ) -> Result<Opened<T>, ApiError> {
        let (opened, ticket) = open(&mut self.conn, self.state, headers, self.kind).await?;
        self.ticket = Some(ticket);
        Ok(opened)
    }

    /// Commits what the check asks for, or answers why it failed.
    pub async fn commit(
        self,
        checked: Result<Commit, ApiError>,
        caller: impl Into<Caller>,
    ) -> Result<Committed, ApiError> {
        let Finish {
            state,
            kind,
            conn,
            ticket,
        } = self;
        let Some(ticket) = ticket else {
            return Err(ApiError::internal(
                "a finish committed without its ceremony",
            ));
        };
        // The connection goes back with this block: the commit may wait for the group
        // commit, and holding a connection through that could starve the readers.
        let checked = {
            let mut conn = conn;
            replay_first(&mut conn, &ticket, checked).await
        };
        let commit = match checked {
            Ok(commit) => commit,
            Err(e) if kind.guessable() => return Err(use_up_after(state, &ticket, e).await),
            Err(e) => return Err(e),
        };
        let now = state.now();
        Ok(state
            .store
            .commit(ticket.to_use(state, now), commit, caller.into(), now)
            .await?)
    }
}

async fn open<T: DeserializeOwned>(
    conn: &mut Conn,
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
) -> Result<(Opened<T>, Ticket), ApiError> {
    let Some(token) = cookie(headers, state, Cookie::Ceremony) else {
        return Err(ApiError::CeremonyNotFound);
    };
    if let Some(sealed) = token.strip_prefix(SEALED_PREFIX) {
        return open_sealed(state, sealed, kind);
    }
    let hash = crypto::token_hash(token);
    let Some(stored) = ceremonies::get(conn, &hash, kind.as_str()).await? else {
        return Err(ApiError::CeremonyNotFound);
    };
    if stored.expires_at <= state.now() {
        return Err(ApiError::CeremonyExpired);
    }
    Ok((
        Opened {
            value: serde_json::from_str(&stored.state).map_err(ApiError::internal)?,
            user_id: stored.user_id,
        },
        Ticket {
            hash,
            sealed_until: None,
        },
    ))
}

fn open_sealed<T: DeserializeOwned>(
    state: &AppState,
    sealed: &str,
    kind: Kind,
) -> Result<(Opened<T>, Ticket), ApiError> {
    // A token this instance cannot open (forged, altered, sealed under another key or for
    // another kind of ceremony) names no ceremony here.
    let key = state
        .store
        .sealing_key()
        .ok_or(ApiError::CeremonyNotFound)?;
    let raw = b64::decode(sealed).ok_or(ApiError::CeremonyNotFound)?;
    let plain = key
        .open(kind.as_str(), &raw)
        .ok_or(ApiError::CeremonyNotFound)?;
    // The token is known by the bytes it decodes to, not by its text: base64 has more than
    // one spelling of the same bytes (padding), and each must not be a fresh token.
    let hash = crypto::digest(&raw);
    let opened: SealedCeremony<T> = serde_json::from_slice(&plain).map_err(ApiError::internal)?;
    if opened.expires_at <= state.now() {
        return Err(ApiError::CeremonyExpired);
    }
    Ok((
        Opened {
            value: opened.state,
            user_id: opened.user_id,
        },
        Ticket {
            hash,
            sealed_until: Some(opened.expires_at),
        },
    ))
}

/// A finish's check, which ran before its write: when it failed on a ceremony that another
/// finish used up meanwhile, the failure is reported as the replay it is
/// ([`ApiError::CeremonyNotFound`]), whatever else the stale response fails.
async fn replay_first<T>(
    conn: &mut Conn,
    ticket: &Ticket,
    checked: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let Err(e) = checked else {
        return checked;
    };
    let used = match ticket.sealed_until {
        Some(_) => ceremonies::is_used(conn, &ticket.hash).await?,
        None => !ceremonies::exists(conn, &ticket.hash).await?,
    };
    Err(if used { ApiError::CeremonyNotFound } else { e })
}

/// Uses the ceremony up after its finish failed with `error`, which is what the caller
/// answers.
async fn use_up_after(state: &AppState, ticket: &Ticket, error: ApiError) -> ApiError {
    if matches!(
        error,
        ApiError::CeremonyNotFound | ApiError::CeremonyExpired | ApiError::Internal(_)
    ) {
        return error;
    }
    let now = state.now();
    match state.store.use_up(ticket.to_use(state, now), now).await {
        // Used up now, or by another finish meanwhile: either way it answers no more.
        Ok(()) | Err(CommitError::CeremonyUsed | CommitError::CeremonyExpired) => error,
        Err(other) => other.into(),
    }
}

/// The `Set-Cookie` that removes the ceremony cookie once a finish succeeded.
pub fn clear(state: &AppState) -> Result<HeaderValue, ApiError> {
    set_cookie(state, Cookie::Ceremony, "", 0)
}

/// allowCredentials / excludeCredentials entries for stored credentials.
pub fn descriptors(credentials: &[Credential]) -> Vec<CredentialDescriptor> {
    credentials
        .iter()
        .map(|c| CredentialDescriptor::public_key(c.id.clone(), c.transports.clone()))
        .collect()
}
