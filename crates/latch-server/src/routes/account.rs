//! `GET`/`PATCH /api/v1/me` and `POST /api/v1/logout`.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::names;

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, ApiJson, ClientMeta, Cookie, NoBody};
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::{admin, audit, credentials, factors, sessions, users};
use crate::views::UserView;

/// The account and the state of its sign-in methods: what the security-info page shows
/// (whether its keys count as a second factor yet, under the policy's minimum).
pub async fn me(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Value>, ApiError> {
    let user = &signed_in.user;
    let mut conn = state.store.conn().await?;
    let keys = credentials::count_of_user(&mut conn, user.id).await?;
    let min_keys = state
        .policy(&mut conn)
        .await?
        .policy
        .min_security_keys
        .max(1);
    let totp = factors::has_totp(&mut conn, user.id).await?;
    let recovery_codes_left = factors::recovery_codes_left(&mut conn, user.id).await?;
    let admin = admin::is_admin(&mut conn, user.id).await?;
    Ok(Json(json!({
        "user": UserView::from(user),
        "signIn": {
            "password": user.password_hash.is_some(),
            "keys": keys,
            "minSecurityKeys": min_keys,
            "keysAreSecondFactor": keys >= i64::from(min_keys),
            "totp": totp,
            "recoveryCodesLeft": recovery_codes_left,
        },
        "admin": admin,
        "rpId": state.rp.rp_id,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    display_name: String,
}

/// `PATCH /api/v1/me`: a new display name (what passkey providers show beside the username).
pub async fn rename(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<Value>, ApiError> {
    let display_name = names::display_name(&body.display_name)?;
    let mut user = signed_in.user;
    let mut tx = state.store.begin().await?;
    users::set_display_name(&mut tx, user.id, &display_name).await?;
    audit::log(
        &mut tx,
        Some(user.id),
        "display_name_changed",
        &json!({ "from": user.display_name, "to": display_name }),
        &meta,
        state.now(),
    )
    .await?;
    tx.commit().await?;
    user.display_name = display_name;
    Ok(Json(json!({ "user": UserView::from(&user) })))
}

/// Ends the session the cookie names (if any) and clears the cookie; always 204.
pub async fn logout(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    _: NoBody,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, &state, Cookie::Session) {
        let hash = crypto::token_hash(token);
        let mut tx = state.store.begin().await?;
        if let Some(s) = sessions::by_id_hash(&mut tx, &hash).await? {
            sessions::delete(&mut tx, &hash).await?;
            audit::log(
                &mut tx,
                Some(s.user_id),
                "logout",
                &json!({}),
                &meta,
                state.now(),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, session::clear(&state)?)]),
    )
        .into_response())
}
