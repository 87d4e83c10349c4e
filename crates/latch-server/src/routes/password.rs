//! Passwords: `PUT /api/v1/me/password` sets or changes one; `POST /api/v1/login/password`
//! signs in with it, asking for a second factor when the account has one.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::names;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta};
use crate::password;
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::{audit, credentials, factors, users};
use crate::views::UserView;

/// Wrong passwords in a row before password sign-in pauses, and for how long.
pub const ATTEMPT_LIMIT: i64 = 5;
pub const LOCK_SECONDS: i64 = 900;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    let user = &signed_in.user;
    // Changing a password takes the old one: a borrowed session alone cannot take over.
    if let Some(current) = &user.password_hash {
        let given = body.current_password.clone().unwrap_or_default();
        if !password::verify(given, Some(current.clone())).await? {
            return Err(ApiError::CurrentPasswordIncorrect);
        }
    }
    let hash = password::hash(body.password).await?;
    let mut tx = state.store.begin().await?;
    factors::set_password(&mut tx, user.id, &hash).await?;
    let kind = if user.password_hash.is_some() {
        "password_changed"
    } else {
        "password_set"
    };
    audit::record(
        &mut tx,
        Some(user.id),
        kind,
        &json!({}),
        meta.ip.as_deref(),
        state.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// Which second factors the account can use, in the order a client should offer them. Keys
/// count once the account has the policy's `min_keys` of them.
async fn second_factors(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    min_keys: u32,
) -> Result<Vec<&'static str>, ApiError> {
    let mut methods = Vec::new();
    if credentials::count_of_user(conn, user_id).await? >= i64::from(min_keys.max(1)) {
        methods.push("webauthn");
    }
    if factors::totp(conn, user_id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        methods.push("totp");
    }
    // Recovery codes stand in for a lost factor; alone they are no second factor.
    if !methods.is_empty() && factors::recovery_codes_left(conn, user_id).await? > 0 {
        methods.push("recovery_code");
    }
    Ok(methods)
}

pub async fn login(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let mut conn = state.store.conn().await?;
    let user = match names::username(&body.username) {
        Ok(name) => users::by_username(&mut conn, &name).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        // Same work as for a real account, same answer.
        password::verify(body.password, None).await?;
        return Err(ApiError::InvalidCredentials);
    };
    let (_, locked_until) = factors::password_attempts(&mut conn, user.id).await?;
    if locked_until > now {
        return Err(ApiError::PasswordLocked);
    }
    // The attempt is counted (and committed) before the password is checked.
    factors::count_password_attempt(&mut conn, user.id, ATTEMPT_LIMIT, now + LOCK_SECONDS).await?;
    drop(conn);
    if !password::verify(body.password, user.password_hash.clone()).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let mut tx = state.store.begin().await?;
    factors::reset_password_attempts(&mut tx, user.id).await?;
    let min_keys = state.policy(&mut tx).await?.policy.min_security_keys;
    let methods = second_factors(&mut tx, user.id, min_keys).await?;
    if methods.is_empty() {
        let cookie = session::issue(&mut tx, &state, user.id, None, &meta).await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "login_password",
            &json!({}),
            meta.ip.as_deref(),
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
