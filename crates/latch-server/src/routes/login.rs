//! `POST /api/v1/login/begin` and `/finish`: sign in with a passkey or security key.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64::Base64Url;
use latch_webauthn::options::{request_options, SystemRng};
use latch_webauthn::wire::{AuthenticationResponseJson, CredentialDescriptor};
use latch_webauthn::{verify_authentication, AuthenticationState, StoredCredential, UnixTime};
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;

use super::ceremony::{self, Kind, Login};
use super::names;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta};
use crate::session;
use crate::state::AppState;
use crate::store::audit;
use crate::store::credentials::{self, Credential, Use};
use crate::store::users::{self, User};
use crate::views::UserView;

#[derive(Debug, Default, Deserialize)]
pub struct BeginBody {
    #[serde(default)]
    username: Option<String>,
}

/// A stable, plausible allowCredentials for a username with no passkeys (or no account), so
/// that login/begin answers the same way whether or not the account exists. Derived by HMAC
/// from the username with a key every instance shares: asking twice gives the same answer.
fn fake_allow_credentials(state: &AppState, username: &str) -> Vec<CredentialDescriptor> {
    let seed = crypto::derive(
        &state.fake_key,
        &[b"allow-credentials", username.as_bytes()],
    );
    let [first, second, ..] = seed;
    let count = 1 + usize::from(first % 2);
    let transports: Vec<String> = if second % 2 == 0 {
        vec!["hybrid".into(), "internal".into()]
    } else {
        vec!["nfc".into(), "usb".into()]
    };
    (0..count)
        .map(|i| {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            let id = crypto::derive(
                &state.fake_key,
                &[b"credential-id", username.as_bytes(), &[index]],
            );
            CredentialDescriptor::public_key(id.to_vec(), transports.clone())
        })
        .collect()
}

pub async fn begin(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BeginBody>,
) -> Result<Response, ApiError> {
    let username = body
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(names::username)
        .transpose()?;
    let mut conn = state.store.conn().await?;
    let (allow, user_id) = match &username {
        // No username: a discoverable credential, suitable for conditional mediation.
        None => (Vec::new(), None),
        Some(name) => {
            let user = users::by_username(&mut conn, name).await?;
            let creds = match &user {
                Some(u) => credentials::of_user(&mut conn, u.id).await?,
                None => Vec::new(),
            };
            match user {
                Some(u) if !creds.is_empty() => {
                    (ceremony::descriptors(&creds), Some(u.user_handle))
                }
                _ => (fake_allow_credentials(&state, name), None),
            }
        }
    };
    let (options, authentication) = request_options(
        &state.rp,
        &state.authentication,
        allow,
        user_id,
        &mut SystemRng,
    );
    let cookie = ceremony::begin(
        &mut conn,
        &state,
        Kind::Login,
        None,
        &Login { authentication },
    )
    .await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "publicKey": options })),
    )
        .into_response())
}

/// A verified assertion whose counter is yet to be recorded.
pub struct Checked {
    pub user: User,
    pub credential: Credential,
    pub usage: Use,
}

/// §7.2 for `response` against the stored credential it names: reads and verifies, writes
/// nothing. [`record`] then moves the counter forward.
pub async fn check_assertion(
    conn: &mut AnyConnection,
    state: &AppState,
    authentication: &AuthenticationState,
    response: &AuthenticationResponseJson,
) -> Result<Checked, ApiError> {
    let raw_id = response.raw_id.as_ref();
    let Some(credential) = credentials::by_id(conn, raw_id).await? else {
        return Err(ApiError::UnknownCredential);
    };
    let Some(user) = users::by_id(conn, credential.user_id).await? else {
        return Err(ApiError::UnknownCredential);
    };
    let stored = StoredCredential {
        id: credential.id.clone(),
        user_id: user.user_handle.clone(),
        public_key_cose: credential.public_key.clone(),
        sign_count: credential.sign_count,
        backup_eligible: credential.backup_eligible,
    };
    let now = state.now();
    let verified =
        verify_authentication(&state.rp, authentication, response, &stored, UnixTime(now))?;
    let usage = Use {
        sign_count: verified.sign_count,
        backup_eligible: verified.backup_eligible,
        backed_up: verified.backed_up,
        now,
    };
    Ok(Checked {
        user,
        credential,
        usage,
    })
}

/// Moves the counter forward, unless another sign-in committed one at least as high since
/// it was read.
pub async fn record(conn: &mut AnyConnection, id: &[u8], usage: Use) -> Result<(), ApiError> {
    if credentials::record_use(conn, id, usage).await? {
        Ok(())
    } else {
        Err(ApiError::CounterRaced)
    }
}

/// [`check_assertion`] then [`record`] (inside the caller's transaction). Returns the account
/// and the credential.
pub async fn verify_assertion(
    conn: &mut AnyConnection,
    state: &AppState,
    authentication: &AuthenticationState,
    response: &AuthenticationResponseJson,
) -> Result<(User, Credential), ApiError> {
    let checked = check_assertion(conn, state, authentication, response).await?;
    record(conn, &checked.credential.id, checked.usage).await?;
    Ok((checked.user, checked.credential))
}

#[derive(Debug, Deserialize)]
pub struct FinishBody {
    credential: AuthenticationResponseJson,
}

pub async fn finish(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Response, ApiError> {
    // Read and verify first, writing nothing; then one write consumes the ceremony, moves the
    // counter and creates the session, all together or not at all. The write re-checks what
    // it depends on: the ceremony must still be there (single use) and the counter still below
    // the new one.
    let mut conn = state.store.conn().await?;
    let (ceremony, hash) =
        ceremony::peek::<Login>(&mut conn, &state, &headers, Kind::Login).await?;
    let checked = check_assertion(
        &mut conn,
        &state,
        &ceremony.authentication,
        &body.credential,
    )
    .await?;
    let Checked {
        user,
        credential,
        usage,
    } = checked;
    let (user_id, credential_id) = (user.id, credential.id);
    let write_state = state.clone();
    let session_cookie = state
        .store
        .write(&mut conn, move |tx| {
            Box::pin(async move {
                ceremony::consume(tx, &hash, Kind::Login).await?;
                record(tx, &credential_id, usage).await?;
                let detail = json!({ "credentialId": Base64Url(credential_id.clone()) });
                let ip = meta.ip.as_deref();
                audit::record(tx, Some(user_id), "login", &detail, ip, usage.now).await?;
                session::issue(tx, &write_state, user_id, Some(&credential_id), &meta).await
            })
        })
        .await?;
    Ok((
        AppendHeaders([
            (SET_COOKIE, session_cookie),
            (SET_COOKIE, ceremony::clear(&state)?),
        ]),
        Json(json!({ "user": UserView::from(&user) })),
    )
        .into_response())
}
