//! Begun ceremonies: stored under the hash of a cookie token, taken back exactly once.

use axum::http::{HeaderMap, HeaderValue};
use latch_webauthn::wire::CredentialDescriptor;
use latch_webauthn::{AuthenticationState, RegistrationState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, set_cookie, CEREMONY_COOKIE};
use crate::state::{AppState, CEREMONY_TTL};
use crate::store::ceremonies;
use crate::store::credentials::Credential;

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

const COOKIE_PATH: &str = "/api/v1";

/// Stores a new ceremony and returns the `Set-Cookie` that names it.
pub async fn begin<T: Serialize>(
    conn: &mut AnyConnection,
    state: &AppState,
    kind: Kind,
    user_id: Option<i64>,
    ceremony: &T,
) -> Result<HeaderValue, ApiError> {
    let now = state.now();
    let (token, hash) = crypto::new_token()?;
    let json = serde_json::to_string(ceremony).map_err(ApiError::internal)?;
    let kind = kind.as_str();
    state
        .store
        .write_each(conn, move |conn| {
            Box::pin(async move {
                // Abandoned ceremonies are swept here rather than by a background task.
                ceremonies::purge_expired(conn, now).await?;
                let expires_at = now.saturating_add(CEREMONY_TTL);
                ceremonies::insert(conn, &hash, kind, user_id, &json, now, expires_at).await
            })
        })
        .await
        .map_err(ApiError::from)?;
    set_cookie(
        CEREMONY_COOKIE,
        &token,
        COOKIE_PATH,
        CEREMONY_TTL,
        state.secure_cookies,
    )
}

/// Takes (deletes) the ceremony the request's cookie names. Call it first inside the
/// finish's transaction: if the finish fails, the rollback puts the ceremony back.
pub async fn take<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
) -> Result<(T, Option<i64>), ApiError> {
    let Some(token) = cookie(headers, CEREMONY_COOKIE) else {
        return Err(ApiError::CeremonyNotFound);
    };
    let hash = crypto::token_hash(token);
    let Some(taken) = ceremonies::take(conn, &hash, kind.as_str()).await? else {
        return Err(ApiError::CeremonyNotFound);
    };
    if taken.expires_at <= state.now() {
        return Err(ApiError::CeremonyExpired);
    }
    let ceremony = serde_json::from_str(&taken.state).map_err(ApiError::internal)?;
    Ok((ceremony, taken.user_id))
}

/// The `Set-Cookie` that removes the ceremony cookie once a finish succeeded.
pub fn clear(state: &AppState) -> Result<HeaderValue, ApiError> {
    set_cookie(CEREMONY_COOKIE, "", COOKIE_PATH, 0, state.secure_cookies)
}

/// allowCredentials / excludeCredentials entries for stored credentials.
pub fn descriptors(credentials: &[Credential]) -> Vec<CredentialDescriptor> {
    credentials
        .iter()
        .map(|c| CredentialDescriptor::public_key(c.id.clone(), c.transports.clone()))
        .collect()
}
