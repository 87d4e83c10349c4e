//! Sessions: issuing the cookie at sign-in, and the `SignedIn` extractor for `/me` routes.

use crate::store::Conn;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;

use crate::amr::Amr;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, set_cookie, ClientMeta, Cookie};
use crate::state::AppState;
use crate::store::sessions::{self, NewSession};
use crate::store::users::{self, User};

/// Writes a new, complete session inside the caller's transaction and returns its
/// `Set-Cookie`.
pub async fn issue(
    conn: &mut Conn,
    state: &AppState,
    user_id: i64,
    credential_id: Option<&[u8]>,
    meta: &ClientMeta,
    amr: Amr,
) -> Result<HeaderValue, ApiError> {
    write(
        conn,
        state,
        user_id,
        credential_id,
        meta,
        Proof::Complete,
        amr,
    )
    .await
}

/// A complete session whose sign-in does not count as recent (a password sign-in that a
/// trusted browser let skip the second factor): sensitive changes first need
/// re-authentication.
pub async fn issue_unproven(
    conn: &mut Conn,
    state: &AppState,
    user_id: i64,
    meta: &ClientMeta,
) -> Result<HeaderValue, ApiError> {
    write(
        conn,
        state,
        user_id,
        None,
        meta,
        Proof::TrustedBrowser,
        Amr::PASSWORD,
    )
    .await
}

/// How far a sign-in got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Complete,
    TrustedBrowser,
    WaitingForSecondFactor,
}

/// A password sign-in waiting for its second factor: a session `SignedIn` refuses, which
/// only the second-factor calls accept, for a few minutes.
pub async fn issue_pending(
    conn: &mut Conn,
    state: &AppState,
    user_id: i64,
    meta: &ClientMeta,
) -> Result<HeaderValue, ApiError> {
    write(
        conn,
        state,
        user_id,
        None,
        meta,
        Proof::WaitingForSecondFactor,
        Amr::PASSWORD,
    )
    .await
}

/// How long a password sign-in may wait for its second factor.
pub const PENDING_TTL: i64 = 600;

async fn write(
    conn: &mut Conn,
    state: &AppState,
    user_id: i64,
    credential_id: Option<&[u8]>,
    meta: &ClientMeta,
    proof: Proof,
    amr: Amr,
) -> Result<HeaderValue, ApiError> {
    let new = NewToken::make(state, proof != Proof::WaitingForSecondFactor)?;
    let amr = amr.stored();
    let mut row = new.row(user_id, credential_id, meta, &amr);
    row.proven = proof == Proof::Complete;
    sessions::insert(conn, &row).await?;
    Ok(new.cookie)
}

/// A new session's token, made before its row is written (by a commit, say).
#[derive(Debug)]
pub struct NewToken {
    hash: Vec<u8>,
    now: i64,
    ttl: i64,
    complete: bool,
    /// The `Set-Cookie` that hands the token to the browser.
    pub cookie: HeaderValue,
}

impl NewToken {
    /// A token for a complete session, or for one waiting for its second factor.
    pub fn make(state: &AppState, complete: bool) -> Result<NewToken, ApiError> {
        let (token, hash) = crypto::new_token()?;
        let ttl = if complete {
            state.session_lifetime
        } else {
            PENDING_TTL
        };
        Ok(NewToken {
            hash,
            now: state.now(),
            ttl,
            complete,
            cookie: set_cookie(state, Cookie::Session, &token, ttl)?,
        })
    }

    /// The session a [`crate::store::commit::Commit`] begins under this token, signed in
    /// with `amr`.
    pub fn new_session(&self, amr: Amr) -> crate::store::commit::NewSession {
        crate::store::commit::NewSession {
            id_hash: self.hash.clone(),
            expires_at: self.now.saturating_add(self.ttl),
            second_factor_done: self.complete,
            proven: self.complete,
            amr: amr.stored(),
        }
    }

    /// The row that makes the token a session of `user_id`.
    pub fn row<'a>(
        &'a self,
        user_id: i64,
        credential_id: Option<&'a [u8]>,
        meta: &'a ClientMeta,
        amr: &'a str,
    ) -> NewSession<'a> {
        NewSession {
            id_hash: &self.hash,
            user_id,
            now: self.now,
            expires_at: self.now.saturating_add(self.ttl),
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            credential_id,
            second_factor_done: self.complete,
            proven: self.complete,
            amr,
        }
    }
}

/// Completes a waiting sign-in: the pending session is replaced by a new one under a new
/// token (so a token seen before the second factor is worth nothing after it), signed in with
/// the password and `amr`.
pub async fn complete(
    conn: &mut Conn,
    state: &AppState,
    pending: &PendingSignIn,
    credential_id: Option<&[u8]>,
    meta: &ClientMeta,
    amr: Amr,
) -> Result<HeaderValue, ApiError> {
    if !sessions::delete(conn, &pending.session_hash).await? {
        return Err(ApiError::NoPendingSignIn);
    }
    let amr = Amr::PASSWORD.and(amr);
    issue(conn, state, pending.user_id, credential_id, meta, amr).await
}

/// A request from a password sign-in that waits for its second factor.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub user_id: i64,
    pub session_hash: Vec<u8>,
}

impl FromRequestParts<AppState> for PendingSignIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = cookie(&parts.headers, state, Cookie::Session) else {
            return Err(ApiError::NoPendingSignIn);
        };
        let hash = crypto::token_hash(token);
        let mut conn = state.store.conn().await?;
        match sessions::by_id_hash(&mut conn, &hash).await? {
            Some(s) if !s.second_factor_done && s.expires_at > state.now() => Ok(PendingSignIn {
                user_id: s.user_id,
                session_hash: hash,
            }),
            _ => Err(ApiError::NoPendingSignIn),
        }
    }
}

/// The `Set-Cookie` that removes the session cookie.
pub fn clear(state: &AppState) -> Result<HeaderValue, ApiError> {
    set_cookie(state, Cookie::Session, "", 0)
}

/// `last_seen_at` is refreshed at most this often, so reads do not each become a write.
const TOUCH_INTERVAL: i64 = 60;

/// A request from a signed-in user (a live session whose sign-in is complete).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    /// SHA-256 of the session token: the session's key in the store.
    pub session_hash: Vec<u8>,
    /// When this session's owner last proved who they are (sign-in or re-authentication).
    pub authenticated_at: i64,
    /// How they did.
    pub amr: Amr,
    /// When the session began.
    pub signed_in_at: i64,
}

impl SignedIn {
    /// When the owner last authenticated (OpenID Connect's `auth_time`): the last proof, or
    /// the sign-in itself for one that does not count as recent (a trusted browser's).
    pub fn auth_time(&self) -> i64 {
        if self.authenticated_at > 0 {
            self.authenticated_at
        } else {
            self.signed_in_at
        }
    }
}

/// How recent a sign-in (or re-authentication) must be for a sensitive change: adding or
/// removing a key, setting the password, enrolling or removing an authenticator app, new
/// recovery codes.
pub const RECENT_AUTH: i64 = 300;

impl SignedIn {
    /// Refuses with `reauthentication_required` unless the owner proved who they are within
    /// the last [`RECENT_AUTH`] seconds: a session left open is not enough to take over.
    pub fn require_recent(&self, state: &AppState) -> Result<(), ApiError> {
        if state.now().saturating_sub(self.authenticated_at) > RECENT_AUTH {
            return Err(ApiError::ReauthenticationRequired);
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = cookie(&parts.headers, state, Cookie::Session) else {
            return Err(ApiError::NotSignedIn);
        };
        let hash = crypto::token_hash(token);
        let now = state.now();
        let mut conn = state.store.conn().await?;
        let Some(session) = sessions::by_id_hash(&mut conn, &hash).await? else {
            return Err(ApiError::NotSignedIn);
        };
        // Past its lifetime, or unused for longer than the idle timeout.
        let idle = now.saturating_sub(session.last_seen_at) > state.session_idle;
        if session.expires_at <= now || idle {
            drop(conn);
            let expired = hash.clone();
            state
                .store
                .write_each(move |conn| {
                    Box::pin(async move { sessions::delete(conn, &expired).await })
                })
                .await?;
            return Err(ApiError::SessionExpired);
        }
        if !session.second_factor_done {
            return Err(ApiError::NotSignedIn);
        }
        let Some(user) = users::by_id(&mut conn, session.user_id).await? else {
            return Err(ApiError::NotSignedIn);
        };
        drop(conn);
        // Writes go through the store's writer (on SQLite, the group commit), never on a
        // reading connection that would wait for the write lock.
        if now.saturating_sub(session.last_seen_at) >= TOUCH_INTERVAL {
            let seen = hash.clone();
            state
                .store
                .write_each(move |conn| {
                    Box::pin(async move { sessions::touch(conn, &seen, now).await })
                })
                .await?;
        }
        Ok(SignedIn {
            user,
            session_hash: hash,
            authenticated_at: session.authenticated_at,
            amr: Amr::parse(&session.amr),
            signed_in_at: session.created_at,
        })
    }
}
