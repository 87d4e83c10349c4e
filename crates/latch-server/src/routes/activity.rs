//! `GET /api/v1/me/activity` (and its older name `/me/audit`): the account's recent security
//! events, newest first, each with its time, IP and user agent. Events are written by the
//! calls themselves, in their transactions; failed sign-ins are written here, on purpose,
//! although the failed call writes nothing else.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::http::ClientMeta;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::audit;
use crate::views::timestamp;

/// How many events one call returns.
const PAGE: i64 = 100;

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let events = audit::of_user(&mut conn, signed_in.user.id, PAGE).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| {
                let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
                json!({
                    "kind": e.kind,
                    "detail": detail,
                    "ip": e.ip,
                    "userAgent": e.user_agent,
                    "createdAt": timestamp(e.created_at),
                })
            })
            .collect(),
    ))
}

/// Records a failed sign-in step (`method`: password, totp, recovery_code), on the account
/// when there is one. A password tried for a username nobody has is recorded too, with no
/// account: the same write either way, so a failed answer takes as long whether or not the
/// account exists. Outside the failed call's transaction; a failure to record is only logged.
pub async fn sign_in_failed(
    state: &AppState,
    user_id: Option<i64>,
    method: &'static str,
    meta: &ClientMeta,
) {
    let detail = json!({ "method": method });
    let recorded = state
        .store
        .log_event(user_id, "login_failed", detail, meta.into(), state.now())
        .await;
    if let Err(e) = recorded {
        eprintln!("latch-server: cannot record a failed sign-in: {e}");
    }
}
