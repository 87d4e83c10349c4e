//! Sessions: issuing the cookie at sign-in, and the `SignedIn` extractor for `/me` routes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use sqlx::AnyConnection;

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, set_cookie, ClientMeta, SESSION_COOKIE};
use crate::state::{AppState, SESSION_TTL};
use crate::store::sessions::{self, NewSession};
use crate::store::users::{self, User};

/// Writes a new session inside the caller's transaction and returns its `Set-Cookie`.
pub async fn issue(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: i64,
    credential_id: Option<&[u8]>,
    meta: &ClientMeta,
) -> Result<HeaderValue, ApiError> {
    let (token, hash) = crypto::new_token()?;
    let now = state.now();
    sessions::insert(
        conn,
        &NewSession {
            id_hash: &hash,
            user_id,
            now,
            expires_at: now.saturating_add(SESSION_TTL),
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            credential_id,
            second_factor_done: true,
        },
    )
    .await?;
    set_cookie(
        SESSION_COOKIE,
        &token,
        "/",
        SESSION_TTL,
        state.secure_cookies,
    )
}

/// The `Set-Cookie` that removes the session cookie.
pub fn clear(state: &AppState) -> Result<HeaderValue, ApiError> {
    set_cookie(SESSION_COOKIE, "", "/", 0, state.secure_cookies)
}

/// `last_seen_at` is refreshed at most this often, so reads do not each become a write.
const TOUCH_INTERVAL: i64 = 60;

/// A request from a signed-in user (a live session whose sign-in is complete).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    /// SHA-256 of the session token: the session's key in the store.
    pub session_hash: Vec<u8>,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::NotSignedIn);
        };
        let hash = crypto::token_hash(token);
        let now = state.now();
        let mut conn = state.store.conn().await?;
        let Some(session) = sessions::by_id_hash(&mut conn, &hash).await? else {
            return Err(ApiError::NotSignedIn);
        };
        if session.expires_at <= now {
            sessions::delete(&mut conn, &hash).await?;
            return Err(ApiError::SessionExpired);
        }
        if !session.second_factor_done {
            return Err(ApiError::NotSignedIn);
        }
        let Some(user) = users::by_id(&mut conn, session.user_id).await? else {
            return Err(ApiError::NotSignedIn);
        };
        if now.saturating_sub(session.last_seen_at) >= TOUCH_INTERVAL {
            sessions::touch(&mut conn, &hash, now).await?;
        }
        Ok(SignedIn {
            user,
            session_hash: hash,
        })
    }
}
