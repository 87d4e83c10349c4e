//! `POST /api/v1/me/reauth/begin` and `/finish`: the signed-in user proves who they are again,
//! so that sensitive changes (see [`crate::session::RECENT_AUTH`]) are allowed for a while.
//! With a key: an assertion from one of the account's keys (user verification as at
//! sign-in). Without one: the password (same attempt limits as password sign-in) together
//! with the account's strongest other factor, an authenticator-app code or else a recovery
//! code, when it has one.

use crate::store::Conn;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64;
use latch_webauthn::options::{request_options, SystemRng};
use latch_webauthn::wire::AuthenticationResponseJson;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ceremony::{self, Finish, Kind, Login};
use super::login::check_assertion;
use crate::amr::Amr;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, NoBody};
use crate::limits::{self, Keyed};
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::commit::Commit;
use crate::store::{audit, credentials, factors, sessions};
use crate::views::timestamp;
use crate::{crypto, password};

/// Options for an assertion (`methods: ["webauthn"]`), or `methods: ["password"]` for an
/// account without keys.
pub async fn begin(
    State(state): State<AppState>,
    signed_in: SignedIn,
    _: NoBody,
) -> Result<Response, ApiError> {
    let user = &signed_in.user;
    let mut conn = state.store.conn().await?;
    let creds = credentials::of_user(&mut conn, user.id).await?;
    if creds.is_empty() {
        if user.password_hash.is_none() {
            return Err(ApiError::ReauthMethodUnavailable(
                "it has neither a key nor a password",
            ));
        }
        let answer = match password_code(&mut conn, user.id).await? {
            Some(code) => json!({ "methods": ["password"], "code": code.name() }),
            None => json!({ "methods": ["password"] }),
        };
        return Ok(Json(answer).into_response());
    }
    // The passwordless rules (UV required by default): re-authentication unlocks sensitive
    // changes, so a touch without the PIN must not do.
    let effective = state.policy(&mut conn).await?;
    let (options, authentication) = request_options(
        &effective.rp,
        &effective.login,
        ceremony::descriptors(&creds),
        Some(user.user_handle.clone()),
        &mut SystemRng,
    );
    let cookie = ceremony::begin(
        conn,
        &state,
        Kind::Reauth,
        Some(user.id),
        &Login { authentication },
    )
    .await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "methods": ["webauthn"], "publicKey": options })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    credential: Option<AuthenticationResponseJson>,
    password: Option<String>,
    /// With the password: a current authenticator-app code, or a recovery code, when the
    /// account has one of those.
    code: Option<String>,
}

/// The code that must come with the password: an account's strongest factor is what
/// re-authentication asks for, so a stolen session plus the password cannot add a key to an
/// account that an authenticator app (or recovery codes) protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Totp,
    Recovery,
}

impl Code {
    fn name(self) -> &'static str {
        match self {
            Code::Totp => "totp",
            Code::Recovery => "recovery_code",
        }
    }
}

async fn password_code(conn: &mut Conn, user_id: i64) -> Result<Option<Code>, ApiError> {
    if factors::has_totp(conn, user_id).await? {
        return Ok(Some(Code::Totp));
    }
    if factors::recovery_codes_left(conn, user_id).await? > 0 {
        return Ok(Some(Code::Recovery));
    }
    Ok(None)
}

fn done(authenticated_at: i64) -> Json<Value> {
    Json(json!({ "authenticatedAt": timestamp(authenticated_at) }))
}

pub async fn finish(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Response, ApiError> {
    match (body.credential, body.password) {
        (Some(credential), None) if body.code.is_none() => {
            with_assertion(&state, &signed_in, &meta, &headers, &credential).await
        }
        (None, Some(password)) => {
            with_password(&state, &signed_in, &meta, password, body.code).await
        }
        _ => Err(ApiError::InvalidBody(
            "give either `credential` (an assertion) or `password` (with `code` when the account has an authenticator app or recovery codes)".into(),
        )),
    }
}

async fn with_assertion(
    state: &AppState,
    signed_in: &SignedIn,
    meta: &ClientMeta,
    headers: &HeaderMap,
    credential: &AuthenticationResponseJson,
) -> Result<Response, ApiError> {
    let credential_key = format!(
        "{}|{}",
        b64::encode(credential.raw_id.as_ref()),
        meta.ip_key.as_deref().unwrap_or_default()
    );
    let keys: [Keyed<'_>; 2] = [
        (limits::ASSERTION_PER_CREDENTIAL, Some(&credential_key)),
        (limits::ASSERTION_PER_IP, meta.ip_key.as_deref()),
    ];
    limits::check(state, &keys).await?;
    match assertion_tx(state, signed_in, meta, headers, credential).await {
        Ok(r) => Ok(r),
        Err(e) if !limits::counts_as_attempt(&e) => Err(e),
        Err(e) => Err(limits::failed(state, &keys, e).await),
    }
}

async fn assertion_tx(
    state: &AppState,
    signed_in: &SignedIn,
    meta: &ClientMeta,
    headers: &HeaderMap,
    credential: &AuthenticationResponseJson,
) -> Result<Response, ApiError> {
    // Checked first (reads only), then committed, re-checking the ceremony, the counter and
    // the session.
    let user_id = signed_in.user.id;
    let mut finish = Finish::start(state, Kind::Reauth).await?;
    let opened = finish.open::<Login>(headers).await?;
    if opened.user_id != Some(user_id) {
        return Err(ApiError::CeremonyUserMismatch);
    }
    let checked = check_assertion(
        finish.conn(),
        state,
        &opened.value.authentication,
        credential,
    )
    .await;
    let checked = checked.and_then(|checked| {
        // Someone else's key is no proof that this session's owner is here.
        if checked.user.id != user_id {
            return Err(ApiError::CeremonyUserMismatch);
        }
        Ok(Commit::Reauth {
            assertion: checked.assertion(),
            session_hash: signed_in.session_hash.clone(),
            amr: signed_in.amr.and(checked.amr()).stored(),
        })
    });
    finish.commit(checked, meta).await?;
    let now = state.now();
    Ok((
        AppendHeaders([(SET_COOKIE, ceremony::clear(state)?)]),
        done(now),
    )
        .into_response())
}

async fn with_password(
    state: &AppState,
    signed_in: &SignedIn,
    meta: &ClientMeta,
    given: String,
    code: Option<String>,
) -> Result<Response, ApiError> {
    let user = &signed_in.user;
    // Read, and the connection given back, before the password is hashed.
    let (has_keys, needs, totp) = {
        let mut conn = state.store.conn().await?;
        let has_keys = credentials::count_of_user(&mut conn, user.id).await? > 0;
        let needs = password_code(&mut conn, user.id).await?;
        let totp = match needs {
            Some(Code::Totp) => factors::totp(&mut conn, state.secrets_key()?, user.id).await?,
            _ => None,
        };
        (has_keys, needs, totp)
    };
    if has_keys {
        // The password alone was never enough to sign this account in.
        return Err(ApiError::ReauthMethodUnavailable(
            "it has keys; use one of them",
        ));
    }
    let Some(hash) = user.password_hash.clone() else {
        return Err(ApiError::ReauthMethodUnavailable("it has no password"));
    };
    let tries = limits::PasswordTry::new(&user.username, meta.ip_key.as_deref());
    tries.count(state).await?;
    if !password::verify(&state.hashing, given, Some(hash)).await? {
        return Err(ApiError::CurrentPasswordIncorrect);
    }
    let now = state.now();
    let code = match (needs, code) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::InvalidBody(
                "this account has no authenticator app or recovery codes: give no `code`".into(),
            ))
        }
        (Some(_), None) => return Err(ApiError::InvalidCode),
        (Some(kind), Some(code)) => Some((kind, code)),
    };
    let mut tx = state.store.begin().await?;
    // Checked and used up inside the write: a code is good once.
    let accepted = match &code {
        None => true,
        Some((Code::Totp, code)) => match totp.as_ref().and_then(|t| t.fresh_step(code, now)) {
            Some(step) => factors::accept_totp_step(&mut tx, user.id, step).await?,
            None => false,
        },
        Some((Code::Recovery, code)) => {
            let hash = crypto::token_hash(&super::factors::normalize_recovery_code(code));
            factors::spend_recovery_code(&mut tx, user.id, &hash).await?
        }
    };
    if !accepted {
        return Err(ApiError::InvalidCode);
    }
    tries.succeeded(&mut tx).await?;
    let proved = match code {
        None => Amr::PASSWORD,
        Some(_) => Amr::PASSWORD_AND_CODE,
    };
    let amr = signed_in.amr.and(proved).stored();
    if !sessions::set_authenticated(&mut tx, &signed_in.session_hash, now, &amr).await? {
        return Err(ApiError::NotSignedIn);
    }
    audit::log(
        &mut tx,
        Some(user.id),
        "reauthenticated",
        &json!({ "method": "password", "code": code.map(|(kind, _)| kind.name()) }),
        meta,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(done(now).into_response())
}
