//! Passwords: `PUT /api/v1/me/password` sets or changes one; `POST /api/v1/login/password`
//! signs in with it, asking for a second factor when the account has one.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{activity, names, security, trusted};
use crate::amr::Amr;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta};
use crate::limits;
use crate::password;
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::{audit, credentials, factors, users, Conn};
use crate::views::UserView;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct SetBody {
    password: String,
    current_password: Option<String>,
}

pub async fn set(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<StatusCode, ApiError> {
    password::check_policy(&body.password)?;
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let tries = limits::PasswordTry::new(&user.username, meta.ip_key.as_deref());
    // Changing a password takes the old one: a borrowed session alone cannot take over.
    if let Some(current) = &user.password_hash {
        tries.count(&state).await?;
        let given = body.current_password.clone().unwrap_or_default();
        if !password::verify(&state.hashing, given, Some(current.clone())).await? {
            return Err(ApiError::CurrentPasswordIncorrect);
        }
    }
    let hash = password::hash(&state.hashing, body.password).await?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    tries.succeeded(&mut tx).await?;
    factors::set_password(&mut tx, user.id, &hash).await?;
    // Browsers trusted under the old password are asked for a second factor again.
    security::end_others(&mut tx, &signed_in, "password_changed", &meta, now).await?;
    trusted::revoke_all(&mut tx, user.id, "password_changed", &meta, now).await?;
    let kind = if user.password_hash.is_some() {
        "password_changed"
    } else {
        "password_set"
    };
    audit::log(&mut tx, Some(user.id), kind, &json!({}), &meta, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// Which second factors the account can use, in the order a client should offer them. Keys
/// count once the account has the policy's `min_keys` of them.
async fn second_factors(
    conn: &mut Conn,
    user_id: i64,
    min_keys: u32,
) -> Result<Vec<&'static str>, ApiError> {
    let mut methods = Vec::new();
    if credentials::count_of_user(conn, user_id).await? >= i64::from(min_keys.max(1)) {
        methods.push("webauthn");
    }
    if factors::has_totp(conn, user_id).await? {
        methods.push("totp");
    }
    // Recovery codes stand in for a lost factor; alone they are no second factor.
    if !methods.is_empty() && factors::recovery_codes_left(conn, user_id).await? > 0 {
        methods.push("recovery_code");
    }
    Ok(methods)
}

/// Signs in with a password. Attempts are counted per username as typed and per IP before
/// the password is checked, for unknown usernames exactly as for real ones. A browser the
/// account trusts skips the second factor (the answer then says `trustedBrowser: true`).
pub async fn login(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let tries = limits::PasswordTry::new(&body.username, meta.ip_key.as_deref());
    // The attempt is counted (and committed) before the password is checked.
    tries.count(&state).await?;
    let user = match names::username(&body.username) {
        Ok(name) => users::by_username(&mut state.store.conn().await?, &name).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        // Same work as for a real account, same answer.
        password::verify(&state.hashing, body.password, None).await?;
        activity::sign_in_failed(&state, None, "password", &meta).await;
        return Err(ApiError::InvalidCredentials);
    };
    if !password::verify(&state.hashing, body.password, user.password_hash.clone()).await? {
        activity::sign_in_failed(&state, Some(user.id), "password", &meta).await;
        return Err(ApiError::InvalidCredentials);
    }
    let mut tx = state.store.begin().await?;
    tries.succeeded(&mut tx).await?;
    let min_keys = state.policy(&mut tx).await?.policy.min_security_keys;
    let methods = second_factors(&mut tx, user.id, min_keys).await?;
    let trusted = if methods.is_empty() {
        None
    } else {
        trusted::recognize(&mut tx, &state, &headers, user.id).await?
    };
    if let Some(browser) = trusted {
        let cookie = session::issue_unproven(&mut tx, &state, user.id, &meta).await?;
        audit::log(
            &mut tx,
            Some(user.id),
            "login_password_trusted_browser",
            &json!({ "trustedBrowserId": latch_webauthn::b64::encode(&browser) }),
            &meta,
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok((
            AppendHeaders([(SET_COOKIE, cookie)]),
            Json(json!({ "user": UserView::from(&user), "trustedBrowser": true })),
        )
            .into_response());
    }
    if methods.is_empty() {
        let cookie = session::issue(&mut tx, &state, user.id, None, &meta, Amr::PASSWORD).await?;
        audit::log(
            &mut tx,
            Some(user.id),
            "login_password",
            &json!({}),
            &meta,
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok((
            AppendHeaders([(SET_COOKIE, cookie)]),
            Json(json!({ "user": UserView::from(&user) })),
        )
            .into_response());
    }
    let cookie = session::issue_pending(&mut tx, &state, user.id, &meta).await?;
    tx.commit().await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "next": "second_factor", "methods": methods })),
    )
        .into_response())
}
