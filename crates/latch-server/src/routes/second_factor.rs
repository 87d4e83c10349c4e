//! The second step of a password sign-in: a passkey or security key, an authenticator-app
//! code, or a recovery code. Each completes the waiting session under a new token.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::options::{request_options, SystemRng};
use latch_webauthn::wire::AuthenticationResponseJson;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ceremony::{self, Finish, Kind, Login};
use super::login::check_assertion;
use super::{activity, trusted};
use crate::amr::Amr;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, NoBody};
use crate::limits;
use crate::session::{self, PendingSignIn};
use crate::state::AppState;
use crate::store::commit::Commit;
use crate::store::{audit, credentials, factors, users, Conn};
use crate::views::UserView;

/// Wrong second factors before the waiting sign-in is dropped (and the password is needed
/// again, which has its own limit).
pub const FACTOR_ATTEMPTS: i64 = 5;

fn signed_in_reply(cookie: HeaderValue, user: &users::User, extra: Value) -> Response {
    let mut body = json!({ "user": UserView::from(user) });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    (AppendHeaders([(SET_COOKIE, cookie)]), Json(body)).into_response()
}

/// With `trustBrowser: true`, trusts this browser (inside the sign-in's transaction) and
/// returns the cookie to add to the reply.
async fn maybe_trust(
    conn: &mut Conn,
    state: &AppState,
    trust: bool,
    user_id: i64,
    meta: &ClientMeta,
) -> Result<Option<HeaderValue>, ApiError> {
    if !trust {
        return Ok(None);
    }
    trusted::remember(conn, state, user_id, meta)
        .await
        .map(Some)
}

fn with_cookie(mut reply: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        reply.headers_mut().append(SET_COOKIE, cookie);
    }
    reply
}

/// The per-account and per-IP limits on code guesses.
async fn count_code_attempt(
    state: &AppState,
    pending: &PendingSignIn,
    meta: &ClientMeta,
) -> Result<String, ApiError> {
    let account = limits::account_key(pending.user_id);
    limits::attempt(
        state,
        &[
            (limits::CODE_PER_ACCOUNT, Some(&account)),
            (limits::CODE_PER_IP, meta.ip_key.as_deref()),
        ],
    )
    .await?;
    Ok(account)
}

/// A wrong code: recorded in the account's activity, counted on the waiting sign-in.
async fn wrong_code(
    state: &AppState,
    pending: &PendingSignIn,
    meta: &ClientMeta,
    method: &'static str,
) -> ApiError {
    activity::sign_in_failed(state, Some(pending.user_id), method, meta).await;
    fail(state, pending, ApiError::InvalidCode).await
}

/// Records a failed try; past the limit the waiting sign-in is gone.
async fn fail(state: &AppState, pending: &PendingSignIn, error: ApiError) -> ApiError {
    let ended = state
        .store
        .fail_second_factor(pending.session_hash.clone(), FACTOR_ATTEMPTS)
        .await;
    match ended {
        Ok(true) => ApiError::TooManyFactorFailures,
        Ok(false) => error,
        Err(e) => e.into(),
    }
}

pub async fn webauthn_begin(
    State(state): State<AppState>,
    pending: PendingSignIn,
    _: NoBody,
) -> Result<Response, ApiError> {
    let mut conn = state.store.conn().await?;
    let Some(user) = users::by_id(&mut conn, pending.user_id).await? else {
        return Err(ApiError::NoPendingSignIn);
    };
    let creds = credentials::of_user(&mut conn, user.id).await?;
    let effective = state.policy(&mut conn).await?;
    let need = effective.policy.min_security_keys;
    let have = i64::try_from(creds.len()).unwrap_or(i64::MAX);
    if have < i64::from(need) {
        return Err(ApiError::SecurityKeysBelowMinimum { have, need });
    }
    // The policy's second-factor user verification (by default discouraged: the password
    // was the knowledge factor; the key only has to be present).
    let (options, authentication) = request_options(
        &effective.rp,
        &effective.second_factor,
        ceremony::descriptors(&creds),
        Some(user.user_handle),
        &mut SystemRng,
    );
    let cookie = ceremony::begin(
        conn,
        &state,
        Kind::SecondFactor,
        Some(user.id),
        &Login { authentication },
    )
    .await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "publicKey": options })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct WebauthnBody {
    credential: AuthenticationResponseJson,
    /// Skip the second factor on this browser for 30 days.
    #[serde(default)]
    trust_browser: bool,
}

pub async fn webauthn_finish(
    State(state): State<AppState>,
    pending: PendingSignIn,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WebauthnBody>,
) -> Result<Response, ApiError> {
    // Checked first (reads only, no lock held while the signature verifies), then committed,
    // re-checking the ceremony, the counter and the waiting session.
    let mut finish = Finish::start(&state, Kind::SecondFactor).await?;
    let opened = finish.open::<Login>(&headers).await?;
    if opened.user_id != Some(pending.user_id) {
        return Err(ApiError::CeremonyUserMismatch);
    }
    let checked = check_assertion(
        finish.conn(),
        &state,
        &opened.value.authentication,
        &body.credential,
    )
    .await;
    let token = session::NewToken::make(&state, true)?;
    let trusted = body
        .trust_browser
        .then(|| trusted::NewToken::make(&state))
        .transpose()?;
    let user = checked.as_ref().ok().map(|c| c.user.clone());
    let checked = checked.map(|checked| Commit::SecondFactor {
        assertion: checked.assertion(),
        pending_session: pending.session_hash.clone(),
        session: token.new_session(Amr::PASSWORD.and(checked.amr())),
        trust: trusted.as_ref().map(trusted::NewToken::new_trust),
    });
    finish.commit(checked, &meta).await?;
    let user = user.ok_or_else(|| ApiError::internal("a second factor committed unchecked"))?;
    let cookie = token.cookie;
    let trust = trusted.map(|t| t.cookie);
    let mut reply = with_cookie(signed_in_reply(cookie, &user, json!({})), trust);
    reply
        .headers_mut()
        .append(SET_COOKIE, ceremony::clear(&state)?);
    Ok(reply)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
    /// Skip the second factor on this browser for 30 days.
    #[serde(default)]
    trust_browser: bool,
}

pub async fn totp_login(
    State(state): State<AppState>,
    pending: PendingSignIn,
    meta: ClientMeta,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let account = count_code_attempt(&state, &pending, &meta).await?;
    let now = state.now();
    let enrolled = {
        let mut conn = state.store.conn().await?;
        factors::totp(&mut conn, state.secrets_key()?, pending.user_id).await?
    };
    let enrolled = enrolled.filter(|t| t.confirmed);
    let step = enrolled.and_then(|t| t.fresh_step(&body.code, now));
    let Some(step) = step else {
        return Err(wrong_code(&state, &pending, &meta, "totp").await);
    };
    let mut tx = state.store.begin().await?;
    // Conditional on the step being newer than the last one used: a code is good once.
    if !factors::accept_totp_step(&mut tx, pending.user_id, step).await? {
        drop(tx);
        return Err(wrong_code(&state, &pending, &meta, "totp").await);
    }
    limits::reset(&mut tx, limits::CODE_PER_ACCOUNT, &account).await?;
    let cookie = session::complete(
        &mut tx,
        &state,
        &pending,
        None,
        &meta,
        Amr::PASSWORD_AND_CODE,
    )
    .await?;
    let Some(user) = users::by_id(&mut tx, pending.user_id).await? else {
        return Err(ApiError::NoPendingSignIn);
    };
    audit::log(
        &mut tx,
        Some(user.id),
        "login_password_totp",
        &json!({}),
        &meta,
        now,
    )
    .await?;
    let trust = maybe_trust(&mut tx, &state, body.trust_browser, user.id, &meta).await?;
    tx.commit().await?;
    Ok(with_cookie(
        signed_in_reply(cookie, &user, json!({})),
        trust,
    ))
}

pub async fn recovery_login(
    State(state): State<AppState>,
    pending: PendingSignIn,
    meta: ClientMeta,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let account = count_code_attempt(&state, &pending, &meta).await?;
    let hash = crypto::token_hash(&super::factors::normalize_recovery_code(&body.code));
    let mut tx = state.store.begin().await?;
    if !factors::spend_recovery_code(&mut tx, pending.user_id, &hash).await? {
        drop(tx);
        return Err(wrong_code(&state, &pending, &meta, "recovery_code").await);
    }
    limits::reset(&mut tx, limits::CODE_PER_ACCOUNT, &account).await?;
    let cookie = session::complete(
        &mut tx,
        &state,
        &pending,
        None,
        &meta,
        Amr::PASSWORD_AND_CODE,
    )
    .await?;
    let left = factors::recovery_codes_left(&mut tx, pending.user_id).await?;
    let Some(user) = users::by_id(&mut tx, pending.user_id).await? else {
        return Err(ApiError::NoPendingSignIn);
    };
    audit::log(
        &mut tx,
        Some(user.id),
        "login_password_recovery_code",
        &json!({ "recoveryCodesLeft": left }),
        &meta,
        state.now(),
    )
    .await?;
    let trust = maybe_trust(&mut tx, &state, body.trust_browser, user.id, &meta).await?;
    tx.commit().await?;
    Ok(with_cookie(
        signed_in_reply(cookie, &user, json!({ "recoveryCodesLeft": left })),
        trust,
    ))
}
