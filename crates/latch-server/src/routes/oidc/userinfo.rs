//! `GET`/`POST /oauth2/userinfo` (OpenID Connect Core §5.3) with a bearer access token
//! (RFC 6750 §2.1): `sub`, and with the `profile` scope the name and username.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{no_store, server_error};
use crate::crypto;
use crate::oidc::error::OAuthError;
use crate::state::AppState;
use crate::store::oidc as stored;
use crate::store::users;

/// RFC 6750 §3: a `WWW-Authenticate: Bearer` challenge.
fn challenge(error: Option<&OAuthError>) -> Response {
    let value = match error {
        None => "Bearer realm=\"latch\"".to_owned(),
        Some(e) => format!(
            "Bearer realm=\"latch\", error=\"{}\", error_description=\"{}\"",
            e.code, e.description
        ),
    };
    // §3.1: a malformed request is 400, a bad token 401.
    let status = match error {
        Some(e) if e.code == "invalid_request" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return challenge(None);
    };
    let Some(token) = value.to_str().ok().and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    }) else {
        return challenge(Some(&OAuthError::invalid_request(
            "the Authorization header is not a Bearer token",
        )));
    };
    let invalid = || {
        challenge(Some(&OAuthError::invalid_token(
            "the access token is not valid, has expired or was revoked",
        )))
    };
    let found = async {
        let mut conn = state.store.conn().await.map_err(server_error)?;
        let token = stored::token(&mut conn, &crypto::token_hash(token.trim()))
            .await
            .map_err(server_error)?;
        let now = state.now();
        let Some(token) =
            token.filter(|t| t.kind == "access" && !t.grant.revoked && t.expires_at > now)
        else {
            return Ok(None);
        };
        if !super::token::session_lasts(&state, &token.grant, now).await? {
            return Ok(None);
        }
        let user = users::by_id(&mut conn, token.grant.user_id)
            .await
            .map_err(server_error)?;
        // OpenID Connect Core §5.3: userinfo is for tokens with `openid` in scope.
        if !token.scope.split(' ').any(|s| s == "openid") {
            return Ok(None);
        }
        Ok::<_, OAuthError>(user.map(|u| (u, token.scope)))
    };
    match found.await {
        Ok(Some((user, scope))) => {
            let mut response = Json(super::person_claims(&user, &scope)).into_response();
            no_store(response.headers_mut());
            response
        }
        Ok(None) => invalid(),
        Err(e) => super::error_response(&e),
    }
}
