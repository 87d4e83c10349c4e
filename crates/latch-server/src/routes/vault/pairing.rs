//! Relaying a pairing: the new device posts its request (it is not a member yet, so the
//! account's session is all it shows), the sponsor its response, the new device its
//! confirmation. The messages are SPAKE2 and MACs (`latch_vault::pairing`); the store only
//! passes them on, and a store that meddles gets one guess at the code.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use latch_vault::pairing::requested_device;
use latch_webauthn::b64;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bytes, json, member_signed, of_account};
use crate::crypto;
use crate::error::ApiError;
use crate::http::NoBody;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::vault::{self, Pairing, PairingStep};

/// How long a pairing waits for its sponsor.
const PAIRING_TTL: i64 = 10 * 60;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Message {
    message: String,
}

fn view(p: &Pairing) -> Value {
    json!({
        "id": b64::encode(&p.id),
        "request": b64::encode(&p.request),
        "response": p.response.as_ref().map(b64::encode),
        "confirmation": p.confirmation.as_ref().map(b64::encode),
    })
}

/// `POST /vault/pairings`: a new device's request.
pub async fn start(
    State(state): State<AppState>,
    signed_in: SignedIn,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let m: Message = json(&body)?;
    let request = bytes("message", &m.message)?;
    requested_device(&request)?;
    let v = of_account(&state, signed_in.user.id).await?;
    let id = crypto::random_bytes(16)?;
    let now = state.now();
    state
        .store
        .start_pairing(v.id, id.clone(), request, now, now + PAIRING_TTL)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": b64::encode(&id) }))))
}

/// `GET /vault/pairings`: the pairings in progress.
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let mut conn = state.store.conn().await?;
    let all = vault::pairings(&mut conn, &v.id, state.now()).await?;
    Ok(Json(
        json!({ "pairings": all.iter().map(view).collect::<Vec<_>>() }),
    ))
}

/// `GET /vault/pairings/{id}`.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let id = b64::decode(&id).ok_or(ApiError::PairingNotFound)?;
    let mut conn = state.store.conn().await?;
    let all = vault::pairings(&mut conn, &v.id, state.now()).await?;
    all.iter()
        .find(|p| p.id == id)
        .map(|p| Json(view(p)))
        .ok_or(ApiError::PairingNotFound)
}

/// `PUT /vault/pairings/{id}/response`: the sponsor's answer, signed by the sponsor (a member).
pub async fn respond(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let m: Message = json(&body)?;
    let v = of_account(&state, signed_in.user.id).await?;
    member_signed(&state, &v, (&method, &uri, &headers, &body), None).await?;
    step(&state, v.id, &id, PairingStep::Response, m).await
}

/// `PUT /vault/pairings/{id}/confirmation`: the new device's confirmation.
pub async fn confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let m: Message = json(&body)?;
    let v = of_account(&state, signed_in.user.id).await?;
    step(&state, v.id, &id, PairingStep::Confirmation, m).await
}

async fn step(
    state: &AppState,
    vault: Vec<u8>,
    id: &str,
    step: PairingStep,
    m: Message,
) -> Result<StatusCode, ApiError> {
    let message = bytes("message", &m.message)?;
    let id = b64::decode(id).ok_or(ApiError::PairingNotFound)?;
    if !state
        .store
        .pairing_step(vault, id, step, message, state.now())
        .await?
    {
        return Err(ApiError::PairingNotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /vault/pairings/{id}`: ends a pairing (done, or given up).
pub async fn end(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<StatusCode, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let id = b64::decode(&id).ok_or(ApiError::PairingNotFound)?;
    state.store.end_pairing(v.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
