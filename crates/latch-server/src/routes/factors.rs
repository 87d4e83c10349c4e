//! Enrolling second factors: an authenticator app (TOTP) and recovery codes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{security, trusted};
use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, NoBody};
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::{audit, factors};
use crate::totp;

/// Starts enrolling an authenticator app: a new secret, as text, as an `otpauth://` URI and
/// as that URI's QR code (SVG). It counts only once a code from it is confirmed.
pub async fn totp_begin(
    State(state): State<AppState>,
    signed_in: SignedIn,
    _: NoBody,
) -> Result<Json<Value>, ApiError> {
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let secret = crypto::random_bytes(totp::SECRET_LEN)?;
    let sealed = factors::SealedSecret::new(state.secrets_key()?, user.id, &secret)?;
    let now = state.now();
    let started = state.store.start_totp(sealed, now).await?;
    if !started {
        return Err(ApiError::TotpAlreadyEnabled);
    }
    let text = totp::base32(&secret);
    let issuer = uri_escape(&state.rp.name);
    let uri = format!(
        "otpauth://totp/{issuer}:{}?secret={text}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        uri_escape(&user.username)
    );
    let qr = totp::qr_svg(&uri)?;
    Ok(Json(json!({ "secret": text, "uri": uri, "qrSvg": qr })))
}

fn uri_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
}

/// Confirms enrolment with a current code from the app.
pub async fn totp_finish(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<StatusCode, ApiError> {
    let user = &signed_in.user;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let Some(enrolment) = factors::totp(&mut tx, state.secrets_key()?, user.id).await? else {
        return Err(ApiError::TotpNotEnrolled);
    };
    if enrolment.confirmed {
        return Err(ApiError::TotpAlreadyEnabled);
    }
    let step = totp::normalize(&body.code)
        .and_then(|code| totp::matching_step(&enrolment.secret, &code, now));
    let Some(step) = step else {
        return Err(ApiError::InvalidCode);
    };
    if !factors::accept_totp_step(&mut tx, user.id, step).await? {
        return Err(ApiError::InvalidCode);
    }
    audit::log(
        &mut tx,
        Some(user.id),
        "totp_enabled",
        &json!({}),
        &meta,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn totp_delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    _: NoBody,
) -> Result<StatusCode, ApiError> {
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    if !factors::delete_totp(&mut tx, user.id).await? {
        return Err(ApiError::TotpNotEnrolled);
    }
    security::end_others(&mut tx, &signed_in, "totp_disabled", &meta, now).await?;
    trusted::revoke_all(&mut tx, user.id, "totp_disabled", &meta, now).await?;
    audit::log(
        &mut tx,
        Some(user.id),
        "totp_disabled",
        &json!({}),
        &meta,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;

/// Recovery codes are typed by people: lowercase, dashes and spaces ignored.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A new set of recovery codes (the old set stops working). Shown once; stored hashed.
pub async fn recovery_codes(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    _: NoBody,
) -> Result<Json<Value>, ApiError> {
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        // 10 bytes = 80 bits, as 16 base32 characters shown in four groups.
        let raw = totp::base32(&crypto::random_bytes(10)?).to_ascii_lowercase();
        let groups: Vec<&str> = [0..4, 4..8, 8..12, 12..16]
            .into_iter()
            .filter_map(|r| raw.get(r))
            .collect();
        hashes.push(crypto::token_hash(&normalize_recovery_code(&raw)));
        codes.push(groups.join("-"));
    }
    let now = state.now();
    let mut tx = state.store.begin().await?;
    factors::replace_recovery_codes(&mut tx, user.id, &hashes, now).await?;
    security::end_others(&mut tx, &signed_in, "recovery_codes_generated", &meta, now).await?;
    audit::log(
        &mut tx,
        Some(user.id),
        "recovery_codes_generated",
        &json!({}),
        &meta,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "codes": codes })))
}
