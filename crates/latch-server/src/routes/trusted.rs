//! "Trust this browser for 30 days": after a second factor with `trustBrowser: true`, the
//! browser gets a `latch_trusted` cookie, and the account's next password sign-ins from it
//! skip the second factor. The cookie is `TOKEN.MAC`: a random token (its SHA-256 is the row's
//! id, so a database leak hands out nothing) and an HMAC of it under the server key (so a
//! forged cookie is refused before the database is asked). Revocable one by one or all at
//! once; changing the password or removing a second factor revokes them all.

use crate::store::commit::NewTrust;
use crate::store::Conn;
use aws_lc_rs::constant_time;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64;
use serde::Serialize;
use serde_json::json;

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, set_cookie, ClientMeta, Cookie, NoBody};
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::audit;
use crate::store::trusted_browsers::{self, NewTrusted};
use crate::views::timestamp;

/// How long a browser stays trusted.
pub const TRUST_TTL: i64 = 30 * 24 * 3600;

fn mac(state: &AppState, token: &str) -> [u8; 32] {
    crypto::derive(
        &state.fake_key,
        &[b"trusted-browser-cookie", token.as_bytes()],
    )
}

/// The token of a well-signed `latch_trusted` cookie.
fn token<'h>(state: &AppState, headers: &'h HeaderMap) -> Option<&'h str> {
    let (token, tag) = cookie(headers, state, Cookie::Trusted)?.split_once('.')?;
    let tag = b64::decode(tag)?;
    constant_time::verify_slices_are_equal(&mac(state, token), &tag).ok()?;
    Some(token)
}

/// A trusted-browser token, made before its row is written (by a commit, or [`remember`]).
#[derive(Debug)]
pub struct NewToken {
    hash: Vec<u8>,
    expires_at: i64,
    /// The `Set-Cookie` that hands the token to the browser.
    pub cookie: HeaderValue,
}

impl NewToken {
    pub fn make(state: &AppState) -> Result<NewToken, ApiError> {
        let (token, hash) = crypto::new_token()?;
        let value = format!("{token}.{}", b64::encode(mac(state, &token)));
        Ok(NewToken {
            hash,
            expires_at: state.now().saturating_add(TRUST_TTL),
            cookie: set_cookie(state, Cookie::Trusted, &value, TRUST_TTL)?,
        })
    }

    /// The row a commit writes for it.
    pub fn new_trust(&self) -> NewTrust {
        NewTrust {
            id_hash: self.hash.clone(),
            expires_at: self.expires_at,
        }
    }
}

/// Trusts this browser for `user_id` (inside the caller's transaction): the row, the audit
/// event, and the `Set-Cookie` to send.
pub async fn remember(
    conn: &mut Conn,
    state: &AppState,
    user_id: i64,
    meta: &ClientMeta,
) -> Result<HeaderValue, ApiError> {
    let new = NewToken::make(state)?;
    let now = state.now();
    trusted_browsers::insert(
        conn,
        &NewTrusted {
            id_hash: &new.hash,
            user_id,
            now,
            expires_at: new.expires_at,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    audit::log(
        conn,
        Some(user_id),
        "trusted_browser_added",
        &json!({ "trustedBrowserId": b64::encode(&new.hash) }),
        meta,
        now,
    )
    .await?;
    Ok(new.cookie)
}

/// Is this browser trusted by `user_id`? If so, its use is recorded and its id returned.
pub async fn recognize(
    conn: &mut Conn,
    state: &AppState,
    headers: &HeaderMap,
    user_id: i64,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(token) = token(state, headers) else {
        return Ok(None);
    };
    let hash = crypto::token_hash(token);
    let now = state.now();
    match trusted_browsers::live(conn, &hash, now).await? {
        Some(t) if t.user_id == user_id => {
            trusted_browsers::touch(conn, &hash, now).await?;
            Ok(Some(hash))
        }
        _ => Ok(None),
    }
}

/// Revokes every trusted browser of the account (a changed password, a removed factor),
/// recording why when there were any.
pub async fn revoke_all(
    conn: &mut Conn,
    user_id: i64,
    reason: &str,
    meta: &ClientMeta,
    now: i64,
) -> Result<u64, ApiError> {
    let n = trusted_browsers::delete_all_of_user(conn, user_id).await?;
    if n > 0 {
        audit::log(
            conn,
            Some(user_id),
            "trusted_browsers_revoked",
            &json!({ "count": n, "reason": reason }),
            meta,
            now,
        )
        .await?;
    }
    Ok(n)
}

fn clear(state: &AppState) -> Result<HeaderValue, ApiError> {
    set_cookie(state, Cookie::Trusted, "", 0)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedView {
    id: String,
    /// This is the browser asking.
    current: bool,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
) -> Result<Json<Vec<TrustedView>>, ApiError> {
    let current = token(&state, &headers).map(crypto::token_hash);
    let mut conn = state.store.conn().await?;
    let rows = trusted_browsers::of_user(&mut conn, signed_in.user.id, state.now()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TrustedView {
                id: b64::encode(&t.id_hash),
                current: current.as_deref() == Some(t.id_hash.as_slice()),
                created_at: timestamp(t.created_at),
                expires_at: timestamp(t.expires_at),
                last_used_at: t.last_used_at.map(timestamp),
                ip: t.ip,
                user_agent: t.user_agent,
            })
            .collect(),
    ))
}

/// The answer to a revocation: 204, clearing this browser's cookie if it was revoked.
fn revoked(state: &AppState, this_browser: bool) -> Result<Response, ApiError> {
    if this_browser {
        return Ok((
            StatusCode::NO_CONTENT,
            AppendHeaders([(SET_COOKIE, clear(state)?)]),
        )
            .into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    headers: HeaderMap,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let Some(id_hash) = b64::decode(&id) else {
        return Err(ApiError::TrustedBrowserNotFound);
    };
    let user_id = signed_in.user.id;
    let mut tx = state.store.begin().await?;
    if !trusted_browsers::delete_of_user(&mut tx, user_id, &id_hash).await? {
        return Err(ApiError::TrustedBrowserNotFound);
    }
    audit::log(
        &mut tx,
        Some(user_id),
        "trusted_browser_revoked",
        &json!({ "trustedBrowserId": id }),
        &meta,
        state.now(),
    )
    .await?;
    tx.commit().await?;
    let this_browser = token(&state, &headers).map(crypto::token_hash) == Some(id_hash);
    revoked(&state, this_browser)
}

pub async fn revoke_every(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    headers: HeaderMap,
    _: NoBody,
) -> Result<Response, ApiError> {
    let mut tx = state.store.begin().await?;
    revoke_all(
        &mut tx,
        signed_in.user.id,
        "revoked_by_user",
        &meta,
        state.now(),
    )
    .await?;
    tx.commit().await?;
    revoked(&state, token(&state, &headers).is_some())
}
