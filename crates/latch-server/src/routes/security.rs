//! The signed-in account's sessions: list, revoke one, sign out all the others.

use crate::store::Conn;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::http::{ClientMeta, NoBody};
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::{audit, sessions};
use crate::views::timestamp;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session's public id (the hash of its token; it cannot be used as a cookie).
    id: String,
    current: bool,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    /// The credential that signed this session in, if one did.
    credential_id: Option<String>,
}

pub async fn list_sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let now = state.now();
    let seen_since = now.saturating_sub(state.session_idle);
    let listed = sessions::of_user(&mut conn, signed_in.user.id, now, seen_since).await?;
    Ok(Json(
        listed
            .into_iter()
            .map(|s| SessionView {
                id: b64::encode(&s.id_hash),
                current: s.id_hash == signed_in.session_hash,
                created_at: timestamp(s.created_at),
                last_seen_at: timestamp(s.last_seen_at),
                expires_at: timestamp(s.expires_at),
                ip: s.ip,
                user_agent: s.user_agent,
                credential_id: s.credential_id.map(b64::encode),
            })
            .collect(),
    ))
}

/// Signs one of the account's sessions out (the current one too, which also clears its cookie).
pub async fn revoke_session(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let Some(id_hash) = b64::decode(&id) else {
        return Err(ApiError::SessionNotFound);
    };
    let user_id = signed_in.user.id;
    let mut tx = state.store.begin().await?;
    if !sessions::delete_of_user(&mut tx, user_id, &id_hash).await? {
        return Err(ApiError::SessionNotFound);
    }
    audit::log(
        &mut tx,
        Some(user_id),
        "session_revoked",
        &json!({ "sessionId": id }),
        &meta,
        state.now(),
    )
    .await?;
    tx.commit().await?;
    if id_hash == signed_in.session_hash {
        return Ok((
            StatusCode::NO_CONTENT,
            AppendHeaders([(SET_COOKIE, session::clear(&state)?)]),
        )
            .into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends every other session of the account (waiting sign-ins too); this one stays.
pub async fn sign_out_others(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    _: NoBody,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.store.begin().await?;
    let ended = end_others(&mut tx, &signed_in, "sign_out_others", &meta, state.now()).await?;
    tx.commit().await?;
    Ok(Json(json!({ "ended": ended })))
}

/// Ends every session of the account but the caller's (waiting sign-ins too), inside the
/// caller's transaction, and records why. After a change that cleans up a compromise (a new
/// password, an authenticator app or key removed, new recovery codes) whoever else holds a
/// session must sign in again with what the account has now.
pub async fn end_others(
    conn: &mut Conn,
    signed_in: &SignedIn,
    reason: &str,
    meta: &ClientMeta,
    now: i64,
) -> Result<u64, ApiError> {
    let user_id = signed_in.user.id;
    let ended = sessions::delete_others_of_user(conn, user_id, &signed_in.session_hash).await?;
    if ended > 0 || reason == "sign_out_others" {
        audit::log(
            conn,
            Some(user_id),
            "sessions_ended",
            &json!({ "count": ended, "reason": reason }),
            meta,
            now,
        )
        .await?;
    }
    Ok(ended)
}
