//! `/api/v1/me/credentials`: list, add, rename and delete the signed-in account's keys.

use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64::{self, Base64Url};
use latch_webauthn::options::{creation_options, SystemRng};
use latch_webauthn::wire::{RegistrationResponseJson, UserEntity};
use latch_webauthn::{verify_registration, UnixTime};
use serde::Deserialize;
use serde_json::json;

use super::ceremony::{self, AddCredential, Finish, Kind};
use super::{names, registration, security, trusted};
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, NoBody};
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::commit::{Commit, Committed};
use crate::store::{audit, credentials, sessions, users};
use crate::views::CredentialView;

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let creds = credentials::of_user(&mut conn, signed_in.user.id).await?;
    Ok(Json(
        creds
            .iter()
            .map(|c| CredentialView::new(&state, c))
            .collect(),
    ))
}

/// Options to add a key; the account's existing credentials are excluded, so an authenticator
/// that holds one of them says so instead of making a second.
pub async fn begin(
    State(state): State<AppState>,
    signed_in: SignedIn,
    _: NoBody,
) -> Result<Response, ApiError> {
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let mut conn = state.store.conn().await?;
    let existing = credentials::of_user(&mut conn, user.id).await?;
    let effective = state.policy(&mut conn).await?;
    let max = effective.policy.max_credentials;
    if existing.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(ApiError::TooManyCredentials { max });
    }
    let entity = UserEntity {
        id: Base64Url(user.user_handle.clone()),
        name: user.username.clone(),
        display_name: user.display_name.clone(),
    };
    let (options, registration) = creation_options(
        &effective.rp,
        &effective.registration,
        entity,
        ceremony::descriptors(&existing),
        &mut SystemRng,
    );
    let cookie = ceremony::begin(
        conn,
        &state,
        Kind::AddCredential,
        Some(user.id),
        &AddCredential { registration },
    )
    .await?;
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
    signed_in: SignedIn,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Response, ApiError> {
    let name = body
        .name
        .as_deref()
        .map(names::credential_name)
        .transpose()?;
    // Checked first (reads only, no lock held while the attestation verifies), then
    // committed: the account is locked and its credentials counted again there, so two
    // finishes racing for the last place cannot both take it.
    let user_id = signed_in.user.id;
    let mut finish = Finish::start(&state, Kind::AddCredential).await?;
    let opened = finish.open::<AddCredential>(&headers).await?;
    if opened.user_id != Some(user_id) {
        return Err(ApiError::CeremonyUserMismatch);
    }
    let effective = state.policy(finish.conn()).await?;
    let max = effective.policy.max_credentials;
    if credentials::count_of_user(finish.conn(), user_id).await? >= i64::from(max) {
        return Err(ApiError::TooManyCredentials { max });
    }
    let now = state.now();
    let checked = verify_registration(
        &effective.rp,
        &opened.value.registration,
        &body.credential,
        UnixTime(now),
    )
    .map(|verified| Commit::AddCredential {
        credential: registration::credential(&state, &verified, user_id, name, now),
        max_credentials: max,
    })
    .map_err(ApiError::from);
    let Committed::AddCredential { credential } = finish.commit(checked, &meta).await? else {
        return Err(ApiError::internal(
            "an added key committed as something else",
        ));
    };
    Ok((
        AppendHeaders([(SET_COOKIE, ceremony::clear(&state)?)]),
        Json(json!({ "credential": CredentialView::new(&state, &credential) })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: String,
}

fn credential_id(text: &str) -> Result<Vec<u8>, ApiError> {
    b64::decode(text).ok_or(ApiError::CredentialNotFound)
}

pub async fn rename(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<CredentialView>, ApiError> {
    let id = credential_id(&id)?;
    let name = names::credential_name(&body.name)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    let Some(credential) = credentials::rename(&mut tx, signed_in.user.id, &id, &name).await?
    else {
        return Err(ApiError::CredentialNotFound);
    };
    audit::log(
        &mut tx,
        Some(signed_in.user.id),
        "credential_renamed",
        &json!({ "credentialId": Base64Url(id), "name": name }),
        &meta,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(CredentialView::new(&state, &credential)))
}

/// Is `?endSessions=true` (or `=1`) in the query?
fn end_sessions(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "endSessions=true" | "endSessions=1"))
    })
}

/// Deletes a key. Every other session of the account ends (whoever used the key may hold
/// one); with `?endSessions=true` this one too when the key started it (clearing its cookie).
/// Browsers trusted to skip the second factor are asked again: the factors they vouched for
/// changed.
pub async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    meta: ClientMeta,
    uri: Uri,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let id = credential_id(&id)?;
    signed_in.require_recent(&state)?;
    let user = &signed_in.user;
    let mut tx = state.store.begin().await?;
    // Lock the account first: two deletes of its last two keys must not both pass the count.
    if !users::lock(&mut tx, user.id).await? {
        return Err(ApiError::NotSignedIn);
    }
    let owned = credentials::by_id(&mut tx, &id)
        .await?
        .is_some_and(|c| c.user_id == user.id);
    if !owned {
        return Err(ApiError::CredentialNotFound);
    }
    let remaining = credentials::count_of_user(&mut tx, user.id).await?;
    let current = users::by_id(&mut tx, user.id).await?;
    let has_password = current.is_some_and(|u| u.password_hash.is_some());
    if remaining <= 1 && !has_password {
        return Err(ApiError::LastCredential);
    }
    let now = state.now();
    credentials::delete(&mut tx, user.id, &id).await?;
    audit::log(
        &mut tx,
        Some(user.id),
        "credential_deleted",
        &json!({ "credentialId": Base64Url(id.clone()) }),
        &meta,
        now,
    )
    .await?;
    let mut signed_out = false;
    if end_sessions(&uri) {
        let ended = sessions::ids_by_credential(&mut tx, user.id, &id).await?;
        signed_out = ended.contains(&signed_in.session_hash);
        sessions::delete_by_credential(&mut tx, user.id, &id).await?;
        audit::log(
            &mut tx,
            Some(user.id),
            "sessions_ended",
            &json!({ "count": ended.len(), "reason": "credential_deleted",
                     "credentialId": Base64Url(id.clone()) }),
            &meta,
            now,
        )
        .await?;
    }
    security::end_others(&mut tx, &signed_in, "credential_deleted", &meta, now).await?;
    // This session may have proved itself with the key just removed (a re-authentication):
    // unless it signed in with a key it still has, it no longer counts as a key sign-in.
    if !signed_out {
        let session = sessions::by_id_hash(&mut tx, &signed_in.session_hash).await?;
        let kept_key = session
            .as_ref()
            .and_then(|s| s.credential_id.as_deref())
            .is_some_and(|c| c != id.as_slice());
        if !kept_key {
            let amr = signed_in.amr.without_keys().stored();
            sessions::set_amr(&mut tx, &signed_in.session_hash, &amr).await?;
        }
    }
    trusted::revoke_all(&mut tx, user.id, "credential_deleted", &meta, now).await?;
    tx.commit().await?;
    if signed_out {
        return Ok((
            StatusCode::NO_CONTENT,
            AppendHeaders([(SET_COOKIE, session::clear(&state)?)]),
        )
            .into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
