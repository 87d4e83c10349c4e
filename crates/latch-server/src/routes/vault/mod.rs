//! `/api/v1/vault/…`: the passkey-sync store. It keeps only what devices send (the signed
//! ledger, key shares, recovery wraps, sealed items, pairing messages), checks with
//! `latch-vault` that each is well-formed and consistent with the ledger, and accepts a write
//! only with the account's session *and* the signature of a device the ledger has as a member.
//! Reads need the session only: everything they return is public or ciphertext.
//!
//! - [`ledger`]: creating the vault, its ledger, key shares and recovery wraps.
//! - [`items`]: sealed items with compare-and-swap, and the change feed.
//! - [`pairing`]: relaying a pairing between a new device and its sponsor.

pub mod items;
pub mod ledger;
pub mod pairing;

use axum::http::{HeaderMap, Method, Uri};
use latch_vault::identity::DevicePublic;
use latch_vault::request::verify_request;
use latch_vault::DeviceId;
use latch_webauthn::b64;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::vault::{self, Vault};

/// The signed-in account's vault.
async fn of_account(state: &AppState, user_id: i64) -> Result<Vault, ApiError> {
    let mut conn = state.store.conn().await?;
    vault::of_user(&mut conn, user_id)
        .await?
        .ok_or(ApiError::NoVault)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::DeviceSignatureRequired)
}

/// The request as a device signed it, from its `Latch-*` headers.
struct Signed {
    device: DeviceId,
    timestamp: i64,
    sig: Vec<u8>,
}

fn signed(headers: &HeaderMap) -> Result<Signed, ApiError> {
    let device = DeviceId::parse(header(headers, "latch-device")?)?;
    let timestamp = header(headers, "latch-timestamp")?
        .parse()
        .map_err(|_| ApiError::DeviceSignatureRequired)?;
    let sig = b64::decode(header(headers, "latch-signature")?)
        .ok_or(ApiError::DeviceSignatureRequired)?;
    Ok(Signed {
        device,
        timestamp,
        sig,
    })
}

/// Checks that a member device of `vault` signed this request (or, with `joining`, the device
/// a ledger entry in the request is adding); returns which.
async fn member_signed(
    state: &AppState,
    vault: &Vault,
    request: (&Method, &Uri, &HeaderMap, &[u8]),
    joining: Option<DevicePublic>,
) -> Result<DeviceId, ApiError> {
    let (method, uri, headers, body) = request;
    let s = signed(headers)?;
    let key = match joining {
        Some(device) if device.id() == s.device => Some(device.signing),
        _ => {
            let mut conn = state.store.conn().await?;
            vault::member_key(&mut conn, &vault.id, &s.device.0)
                .await?
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
        }
    };
    let Some(signing) = key else {
        return Err(ApiError::DeviceNotMember(s.device.to_string()));
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    verify_request(
        &signing,
        method.as_str(),
        path,
        s.timestamp,
        state.now(),
        body,
        &s.sig,
    )?;
    Ok(s.device)
}

fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

fn bytes(field: &'static str, text: &str) -> Result<Vec<u8>, ApiError> {
    b64::decode(text).ok_or_else(|| ApiError::InvalidBody(format!("{field} is not base64url")))
}

/// `name=value` from a query string.
fn query_param<'u>(uri: &'u Uri, name: &str) -> Option<&'u str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn number_param(uri: &Uri, name: &str, default: i64) -> Result<i64, ApiError> {
    match query_param(uri, name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::InvalidQuery(format!("{name} is not a number"))),
    }
}
