//! `GET`/`POST /oauth2/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout
//! 1.0). The browser's Latch session ends when the `id_token_hint` is its person's, every
//! grant made from it is revoked, and the browser goes back to a registered
//! `post_logout_redirect_uri`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use latch_webauthn::b64;
use serde_json::Value;

use super::discovery::published;
use super::{see_other, with_query};
use crate::error::ApiError;
use crate::oidc::jwt::verify_own_id_token;
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::oidc as stored;
use crate::store::sessions;

pub async fn logout(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::OidcRequestRefused("the request is too large".into()))?;
    let params = super::params(&parts.method, parts.uri.query(), &parts.headers, &body)
        .map_err(|e| ApiError::OidcRequestRefused(e.description))?;
    let refused = |e: crate::oidc::error::OAuthError| ApiError::OidcRequestRefused(e.description);
    let hint = match params.get("id_token_hint").map_err(refused)? {
        None => None,
        Some(token) => {
            let keys = published(&state).await?;
            Some(
                verify_own_id_token(token, &keys, &state.issuer).ok_or_else(|| {
                    ApiError::OidcRequestRefused(
                        "id_token_hint is not an ID token this server issued".into(),
                    )
                })?,
            )
        }
    };
    let audience = hint.as_ref().and_then(|c| match &c["aud"] {
        Value::String(a) => Some(a.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    });
    let client_id = match (params.get("client_id").map_err(refused)?, audience) {
        (Some(given), Some(aud)) if given != aud => {
            return Err(ApiError::OidcRequestRefused(
                "client_id is not the ID token's audience".into(),
            ))
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, aud) => aud,
    };
    let back = match params.get("post_logout_redirect_uri").map_err(refused)? {
        None => None,
        Some(uri) => {
            let Some(id) = &client_id else {
                return Err(ApiError::OidcRequestRefused(
                    "post_logout_redirect_uri needs id_token_hint or client_id".into(),
                ));
            };
            let mut conn = state.store.conn().await?;
            let client = stored::client(&mut conn, id)
                .await?
                .ok_or_else(|| ApiError::ClientNotFound(id.clone()))?;
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(ApiError::OidcRequestRefused(format!(
                    "{uri:?} is not a post-logout redirect URI of {id:?}"
                )));
            }
            Some(uri.to_owned())
        }
    };
    let now = state.now();
    let viewer = SignedIn::from_request_parts(&mut parts, &state).await.ok();
    // The browser's own session ends, when the hint is its person's. A hint alone ends
    // nothing elsewhere: anyone holding an old ID token could otherwise sign the person out
    // with a link. Without a hint, a page on another site could, so the session stays.
    let mut clear = false;
    if let (Some(claims), Some(viewer)) = (&hint, &viewer) {
        let sub = claims["sub"]
            .as_str()
            .and_then(b64::decode)
            .unwrap_or_default();
        if sub == viewer.user.user_handle {
            let hash = viewer.session_hash.clone();
            state
                .store
                .revoke_oidc_grants_of_session(hash.clone(), now)
                .await?;
            state
                .store
                .write_each(move |conn| {
                    Box::pin(async move { sessions::delete(conn, &hash).await })
                })
                .await?;
            clear = true;
        }
    }
    let to = match back {
        Some(uri) => match params.get("state").map_err(refused)? {
            Some(s) => with_query(&uri, &[("state", s)]),
            None => uri,
        },
        None => "/".to_owned(),
    };
    let mut response = see_other(&to);
    if clear {
        response
            .headers_mut()
            .append(SET_COOKIE, session::clear(&state)?);
    }
    Ok(response.into_response())
}
