//! Begun ceremonies: stored under the hash of a cookie token, taken back exactly once.

use axum::http::{HeaderMap, HeaderValue};
use latch_webauthn::wire::CredentialDescriptor;
use latch_webauthn::{AuthenticationState, RegistrationState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::http::{cookie, set_cookie, Cookie};
use crate::state::{AppState, Sweep, CEREMONY_TTL};
use crate::store::audit::Caller;
use crate::store::ceremonies::{self, Ticket};
use crate::store::commit::{CeremonyUse, Commit, CommitError, Committed};
use crate::store::credentials::Credential;
use crate::store::Conn;

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

/// Starts a ceremony and returns the `Set-Cookie` that names it; the store holds it until
/// its finish ([`crate::store::Store::hold_ceremony`]).
///
/// It takes the caller's pooled connection to give it back first: holding a ceremony may
/// wait for a write, and holding a connection through that could starve the pool.
pub async fn begin<T: Serialize>(
    conn: Conn,
    state: &AppState,
    kind: Kind,
    user_id: Option<i64>,
    ceremony: &T,
) -> Result<HeaderValue, ApiError> {
    conn.give_back();
    let now = state.now();
    let json = serde_json::to_string(ceremony).map_err(ApiError::internal)?;
    let token = state
        .store
        .hold_ceremony(
            kind.as_str(),
            user_id,
            &json,
            now,
            now.saturating_add(CEREMONY_TTL),
            || state.sweep_due(Sweep::Ceremonies, now),
        )
        .await?;
    set_cookie(state, Cookie::Ceremony, &token, CEREMONY_TTL)
}

/// A ceremony read back by its finish, not yet used up.
#[derive(Debug)]
pub struct Opened<T> {
    pub value: T,
    pub user_id: Option<i64>,
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
            .commit(to_use(state, &ticket, now), commit, caller.into(), now)
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
    let Some(held) = state
        .store
        .find_ceremony(conn, token, kind.as_str())
        .await?
    else {
        return Err(ApiError::CeremonyNotFound);
    };
    if held.expires_at <= state.now() {
        return Err(ApiError::CeremonyExpired);
    }
    Ok((
        Opened {
            value: serde_json::from_str(&held.state).map_err(ApiError::internal)?,
            user_id: held.user_id,
        },
        held.ticket,
    ))
}

/// How the commit uses the ceremony up, sweeping old records of used tokens now and then (see
/// [`AppState::sweep_due`]), keeping each a ceremony's lifetime past its token's expiry.
fn to_use(state: &AppState, ticket: &Ticket, now: i64) -> CeremonyUse {
    let sweep = ticket.is_sealed() && state.sweep_due(Sweep::UsedCeremonies, now);
    ticket.to_use(sweep.then(|| now.saturating_sub(CEREMONY_TTL)))
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
    let used = ceremonies::was_used(conn, ticket).await?;
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
    match state.store.use_up(to_use(state, ticket, now), now).await {
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
