//! `POST /api/v1/signup/begin` and `/finish`: a new account with its first passkey;
//! `POST /api/v1/signup/password`: a new account with a password.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64::Base64Url;
use latch_webauthn::options::{creation_options, SystemRng};
use latch_webauthn::wire::{RegistrationResponseJson, UserEntity};
use latch_webauthn::{verify_registration, UnixTime};
use serde::Deserialize;
use serde_json::json;

use super::ceremony::{self, Finish, Kind, Signup};
use super::{names, registration};
use crate::amr::Amr;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta};
use crate::limits;
use crate::session;
use crate::state::AppState;
use crate::store::commit::{Commit, Committed};
use crate::store::{audit, factors, users};
use crate::views::{CredentialView, UserView};

/// WebAuthn user handles are random and carry nothing about the person.
pub(crate) const USER_HANDLE_LEN: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct BeginBody {
    username: String,
    display_name: Option<String>,
}

/// The names a new account asks for, checked, once the attempt is counted per client network
/// (before anything is looked up: whether a name is taken is an answer signup must give, but
/// not to a script asking for thousands of names), and the username not taken yet. The
/// unique index checks that again when the account is written.
async fn free_names(
    state: &AppState,
    meta: &ClientMeta,
    username: &str,
    display_name: Option<&str>,
) -> Result<(String, String), ApiError> {
    limits::attempt(state, &[(state.signup_per_ip, meta.ip_key.as_deref())]).await?;
    let username = names::username(username)?;
    let display_name = match display_name {
        Some(d) => names::display_name(d)?,
        None => username.clone(),
    };
    let mut conn = state.store.conn().await?;
    if users::by_username(&mut conn, &username).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    Ok((username, display_name))
}

pub async fn begin(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<BeginBody>,
) -> Result<Response, ApiError> {
    let (username, display_name) =
        free_names(&state, &meta, &body.username, body.display_name.as_deref()).await?;
    let mut conn = state.store.conn().await?;
    let user_handle = crypto::random_bytes(USER_HANDLE_LEN)?;
    let user = UserEntity {
        id: Base64Url(user_handle.clone()),
        name: username.clone(),
        display_name: display_name.clone(),
    };
    let effective = state.policy(&mut conn).await?;
    let (options, registration) = creation_options(
        &effective.rp,
        &effective.registration,
        user,
        Vec::new(),
        &mut SystemRng,
    );
    let ceremony = Signup {
        username,
        display_name,
        user_handle,
        registration,
    };
    let cookie = ceremony::begin(conn, &state, Kind::Signup, None, &ceremony).await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "publicKey": options })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    credential: RegistrationResponseJson,
    name: Option<String>,
}

pub async fn finish(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Response, ApiError> {
    let name = body
        .name
        .as_deref()
        .map(names::credential_name)
        .transpose()?;
    // The check reads only, so it runs first, holding no lock (a registration's attestation
    // can take a while to verify); then the commit creates the account, its credential and
    // the session, or nothing (a ceremony used since, or a username taken since).
    let mut finish = Finish::start(&state, Kind::Signup).await?;
    let opened = finish.open::<Signup>(&headers).await?;
    let effective = state.policy(finish.conn()).await?;
    let now = state.now();
    let ceremony = opened.value;
    let token = session::NewToken::make(&state, true)?;
    let checked = verify_registration(
        &effective.rp,
        &ceremony.registration,
        &body.credential,
        UnixTime(now),
    )
    .map(|verified| {
        let credential = registration::credential(&state, &verified, 0, name, now);
        let amr = Amr::key(credential.backup_eligible, credential.user_verified);
        Commit::SignUp {
            credential,
            username: ceremony.username,
            display_name: ceremony.display_name,
            user_handle: ceremony.user_handle,
            session: token.new_session(amr),
        }
    })
    .map_err(ApiError::from);
    let Committed::SignUp { user, credential } = finish.commit(checked, &meta).await? else {
        return Err(ApiError::internal("a sign-up committed as something else"));
    };
    let session_cookie = token.cookie;
    Ok((
        AppendHeaders([
            (SET_COOKIE, session_cookie),
            (SET_COOKIE, ceremony::clear(&state)?),
        ]),
        Json(json!({
            "user": UserView::from(&user),
            "credential": CredentialView::new(&state, &credential),
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    username: String,
    display_name: Option<String>,
    password: String,
}

/// `POST /api/v1/signup/password`: an account with a password and no key yet, signed in. It
/// has no second factor until one is added (the pages ask for one at once); counted per
/// client network like a passkey sign-up.
pub async fn password(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    let (username, display_name) =
        free_names(&state, &meta, &body.username, body.display_name.as_deref()).await?;
    crate::password::check_policy(&body.password)?;
    let hash = crate::password::hash(&state.hashing, body.password).await?;
    let user_handle = crypto::random_bytes(USER_HANDLE_LEN)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let user = match users::insert(&mut tx, &username, &display_name, &user_handle, now).await {
        Ok(user) => user,
        Err(e) if e.is_unique_violation() => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(e.into()),
    };
    factors::set_password(&mut tx, user.id, &hash).await?;
    audit::log(
        &mut tx,
        Some(user.id),
        "signup_password",
        &json!({}),
        &meta,
        now,
    )
    .await?;
    let cookie = session::issue(&mut tx, &state, user.id, None, &meta, Amr::PASSWORD).await?;
    tx.commit().await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "user": UserView::from(&user) })),
    )
        .into_response())
}
