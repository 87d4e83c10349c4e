//! `POST /oauth2/token` (RFC 6749 §3.2, §4.1.3, §6; OpenID Connect Core §3.1.3) and
//! `POST /oauth2/revoke` (RFC 7009). The client authenticates first, by the one method it
//! registered; then the code (or refresh token) is checked, spent and answered with tokens,
//! or refused with the error the RFCs name and nothing issued.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64;
use serde_json::{json, Value};

use super::discovery::signing_key;
use super::{endpoint, error_response, no_store, server_error, REVOKE, TOKEN};
use crate::amr::Amr;
use crate::crypto;
use crate::error::ApiError;
use crate::oidc::client::{AuthMethod, Client};
use crate::oidc::error::OAuthError;
use crate::oidc::jwt::{self, JWT_BEARER};
use crate::oidc::keys::half_hash;
use crate::oidc::request::{verify_pkce, Params};
use crate::oidc::{ACCESS_TTL, ID_TOKEN_TTL};
use crate::state::AppState;
use crate::store::oidc::{self as stored, Grant, NewTokens, Spent};
use crate::store::users;

/// `POST /oauth2/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match exchange(&state, &headers, &body).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error_response(&error),
    }
}

async fn exchange(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = super::params(&Method::POST, None, headers, body)?;
    let client = authenticate(state, headers, &params, TOKEN).await?;
    match params.require("grant_type")? {
        "authorization_code" => code_grant(state, &client, &params).await,
        "refresh_token" => refresh_grant(state, &client, &params).await,
        other => Err(OAuthError::unsupported_grant_type(format!(
            "grant_type {other:?}: authorization_code and refresh_token are supported"
        ))),
    }
}

/// The part of a Basic credential, form-decoded (RFC 6749 §2.3.1).
fn form_decoded(part: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}")).ok()?;
    match pairs.as_slice() {
        [(_, value)] => Some(value.clone()),
        _ => None,
    }
}

/// Who is calling (RFC 6749 §2.3, OpenID Connect Core §9): exactly one method, the one the
/// client registered.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    path: &str,
) -> Result<Client, OAuthError> {
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            let text = value.to_str().ok().and_then(|v| v.strip_prefix("Basic "));
            let decoded = text.and_then(|t| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(t.trim())
                    .ok()
            });
            let pair = decoded
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|d| d.split_once(':').map(|(i, s)| (i.to_owned(), s.to_owned())))
                .and_then(|(i, s)| Some((form_decoded(&i)?, form_decoded(&s)?)));
            Some(pair.ok_or_else(|| {
                OAuthError::invalid_client(
                    "the Authorization header is not HTTP Basic client credentials",
                )
            })?)
        }
    };
    let secret = params.get("client_secret")?;
    let assertion_type = params.get("client_assertion_type")?;
    let assertion = params.get("client_assertion")?;
    let form_id = params.get("client_id")?;
    let methods = usize::from(basic.is_some())
        + usize::from(secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "the client authenticated in more than one way",
        ));
    }
    let (method, client_id) = if let Some((id, _)) = &basic {
        (AuthMethod::SecretBasic, id.clone())
    } else if assertion.is_some() || assertion_type.is_some() {
        if assertion_type != Some(JWT_BEARER) || assertion.is_none() {
            return Err(OAuthError::invalid_request(format!(
                "a client assertion needs client_assertion_type={JWT_BEARER} and client_assertion"
            )));
        }
        // RFC 7523 §3: the assertion's `sub` names the client; `client_id` is optional.
        let claimed =
            jsonwebtoken::dangerous::insecure_decode::<Value>(assertion.unwrap_or_default())
                .ok()
                .and_then(|d| {
                    d.claims
                        .get("sub")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
        let id = form_id
            .map(str::to_owned)
            .or(claimed)
            .ok_or_else(|| OAuthError::invalid_client("the client assertion names no client"))?;
        (AuthMethod::PrivateKeyJwt, id)
    } else if secret.is_some() {
        let id = form_id.ok_or_else(|| OAuthError::invalid_request("`client_id` is missing"))?;
        (AuthMethod::SecretPost, id.to_owned())
    } else {
        let id =
            form_id.ok_or_else(|| OAuthError::invalid_client("the client did not authenticate"))?;
        (AuthMethod::None, id.to_owned())
    };
    if form_id.is_some_and(|f| f != client_id) {
        return Err(OAuthError::invalid_request(
            "`client_id` does not match the client's credentials",
        ));
    }
    let mut conn = state.store.conn().await.map_err(server_error)?;
    let client = stored::client(&mut conn, &client_id)
        .await
        .map_err(server_error)?
        .ok_or_else(|| OAuthError::invalid_client(format!("there is no client {client_id:?}")))?;
    drop(conn);
    if client.auth_method != method {
        return Err(OAuthError::invalid_client(format!(
            "client {client_id:?} authenticates with {}, not {}",
            client.auth_method.name(),
            method.name()
        )));
    }
    match method {
        AuthMethod::SecretBasic | AuthMethod::SecretPost => {
            let given = basic
                .as_ref()
                .map(|(_, s)| s.as_str())
                .or(secret)
                .unwrap_or_default();
            let stored_hash = client.secret_hash.as_deref().unwrap_or_default();
            let hash = crypto::token_hash(given);
            if stored_hash.is_empty()
                || aws_lc_rs::constant_time::verify_slices_are_equal(&hash, stored_hash).is_err()
            {
                return Err(OAuthError::invalid_client("the client secret is wrong"));
            }
        }
        AuthMethod::PrivateKeyJwt => {
            let jwks = client.jwks.as_deref().unwrap_or_default();
            let audiences = [
                endpoint(state, path),
                state.issuer.clone(),
                endpoint(state, TOKEN),
            ];
            let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
            let checked = jwt::verify_client_assertion(
                assertion.unwrap_or_default(),
                &client.id,
                jwks,
                &audiences,
                state.now(),
            )?;
            let fresh = state
                .store
                .use_oidc_assertion(client.id.clone(), checked.jti, checked.expires_at)
                .await
                .map_err(server_error)?;
            if !fresh {
                return Err(OAuthError::invalid_client(
                    "the client assertion was used before (its jti)",
                ));
            }
        }
        AuthMethod::None => {}
    }
    Ok(client)
}

async fn code_grant(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let now = state.now();
    let hash = crypto::token_hash(code);
    let mut conn = state.store.conn().await.map_err(server_error)?;
    let found = stored::code(&mut conn, &hash).await.map_err(server_error)?;
    drop(conn);
    let Some(found) = found else {
        return Err(OAuthError::invalid_grant(
            "the code is not one this server issued (or it expired)",
        ));
    };
    if found.grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if found.used {
        state
            .store
            .revoke_oidc_grant(found.grant.id.clone(), now)
            .await
            .map_err(server_error)?;
        return Err(OAuthError::invalid_grant(
            "the code was used already; the tokens issued for it are revoked",
        ));
    }
    if found.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if found.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "`redirect_uri` is not the one the code was issued for",
        ));
    }
    verify_pkce(found.code_challenge.as_deref(), verifier)?;
    let (tokens, access, refresh) = new_tokens(&found.grant, &found.grant.scope, now)?;
    // The whole answer is made before the code is spent: a failure here leaves the code
    // unspent for a retry, rather than spent with tokens nobody received.
    let nonce = found.nonce.as_deref();
    let issued = Issued {
        access: &access,
        refresh: &refresh,
        scope: &found.grant.scope,
        nonce,
    };
    let body = answer(state, client, &found.grant, &issued, now).await?;
    match state
        .store
        .redeem_oidc_code(hash, tokens, found.grant.expires_at, now)
        .await
        .map_err(server_error)?
    {
        Spent::Fresh => Ok(body),
        Spent::Reused => Err(OAuthError::invalid_grant(
            "the code was used already; the tokens issued for it are revoked",
        )),
        Spent::Revoked => Err(OAuthError::invalid_grant("the grant was revoked")),
    }
}

async fn refresh_grant(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<Value, OAuthError> {
    let refresh = params.require("refresh_token")?;
    let now = state.now();
    let hash = crypto::token_hash(refresh);
    let mut conn = state.store.conn().await.map_err(server_error)?;
    let found = stored::token(&mut conn, &hash)
        .await
        .map_err(server_error)?;
    drop(conn);
    let Some(found) = found.filter(|t| t.kind == "refresh") else {
        return Err(OAuthError::invalid_grant(
            "the refresh token is not one this server issued, or it was revoked",
        ));
    };
    let grant = found.grant;
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if grant.revoked {
        return Err(OAuthError::invalid_grant("the grant was revoked"));
    }
    if found.used {
        state
            .store
            .revoke_oidc_grant(grant.id.clone(), now)
            .await
            .map_err(server_error)?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was used already: every token of its grant is revoked",
        ));
    }
    if found.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if !session_lasts(state, &grant, now).await? {
        return Err(OAuthError::invalid_grant(
            "the sign-in this grant came from has ended (ask for offline_access to outlive it)",
        ));
    }
    // RFC 6749 §6: less than the grant may be asked for (and then the tokens carry less);
    // left out, it is the whole grant.
    let scope = match params.get("scope")? {
        None => grant.scope.clone(),
        Some(asked) => {
            let asked: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if asked.iter().any(|s| !granted.contains(s)) {
                return Err(OAuthError::invalid_scope(
                    "a refresh cannot widen the grant's scope",
                ));
            }
            granted
                .into_iter()
                .filter(|s| asked.contains(s))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    let (tokens, access, new_refresh) = new_tokens(&grant, &scope, now)?;
    let issued = Issued {
        access: &access,
        refresh: &new_refresh,
        scope: &scope,
        nonce: None,
    };
    let body = answer(state, client, &grant, &issued, now).await?;
    match state
        .store
        .rotate_oidc_refresh(hash, tokens, grant.expires_at, now)
        .await
        .map_err(server_error)?
    {
        Spent::Fresh => Ok(body),
        Spent::Reused => Err(OAuthError::invalid_grant(
            "the refresh token was used already: every token of its grant is revoked",
        )),
        Spent::Revoked => Err(OAuthError::invalid_grant("the grant was revoked")),
    }
}

/// Whether a grant may still be used: one with `offline_access` lasts its 30 days; any other
/// only while the Latch session it came from does (signing out, being signed out elsewhere,
/// or the session expiring ends it).
pub async fn session_lasts(state: &AppState, grant: &Grant, now: i64) -> Result<bool, OAuthError> {
    if grant.scope.split(' ').any(|s| s == "offline_access") {
        return Ok(true);
    }
    let mut conn = state.store.conn().await.map_err(server_error)?;
    let session = crate::store::sessions::by_id_hash(&mut conn, &grant.session_hash)
        .await
        .map_err(server_error)?;
    Ok(session.is_some_and(|s| s.expires_at > now && s.second_factor_done))
}

fn new_tokens(
    grant: &Grant,
    scope: &str,
    now: i64,
) -> Result<(NewTokens, String, String), OAuthError> {
    let (access, access_hash) = crypto::new_token().map_err(server_error)?;
    let (refresh, refresh_hash) = crypto::new_token().map_err(server_error)?;
    Ok((
        NewTokens {
            grant_id: grant.id.clone(),
            access_hash,
            access_expires_at: now.saturating_add(ACCESS_TTL).min(grant.expires_at),
            refresh_hash,
            scope: scope.to_owned(),
        },
        access,
        refresh,
    ))
}

/// The session id in ID tokens (`sid`): derived from the session's key, which it does not
/// reveal.
pub fn sid(session_hash: &[u8]) -> String {
    let digest = crypto::token_hash(&format!("sid:{}", b64::encode(session_hash)));
    b64::encode(digest.get(..16).unwrap_or_default())
}

/// What a token response hands out.
struct Issued<'a> {
    access: &'a str,
    refresh: &'a str,
    scope: &'a str,
    nonce: Option<&'a str>,
}

/// The token response, with an ID token for the grant's person when `openid` is in scope.
async fn answer(
    state: &AppState,
    client: &Client,
    grant: &Grant,
    issued: &Issued<'_>,
    now: i64,
) -> Result<Value, OAuthError> {
    let mut conn = state.store.conn().await.map_err(server_error)?;
    let user = users::by_id(&mut conn, grant.user_id)
        .await
        .map_err(server_error)?
        .ok_or_else(|| OAuthError::invalid_grant("the account is gone"))?;
    drop(conn);
    let Issued {
        access,
        refresh,
        scope,
        nonce,
    } = *issued;
    let mut claims = super::person_claims(&user, scope);
    for (name, value) in [
        ("iss", json!(state.issuer)),
        ("aud", json!(client.id)),
        ("azp", json!(client.id)),
        ("iat", json!(now)),
        ("exp", json!(now.saturating_add(ID_TOKEN_TTL))),
        ("auth_time", json!(grant.auth_time)),
        ("acr", json!(grant.acr)),
        ("amr", json!(Amr::parse(&grant.amr).values())),
        ("sid", json!(sid(&grant.session_hash))),
        ("at_hash", json!(half_hash(access))),
    ] {
        claims.insert(name.into(), value);
    }
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let claims = Value::Object(claims);
    let expires_in = ACCESS_TTL.min(grant.expires_at.saturating_sub(now));
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
        "scope": scope,
    });
    if scope.split(' ').any(|s| s == "openid") {
        let key = signing_key(state, client.id_token_alg)
            .await
            .map_err(|e: ApiError| server_error(e.to_string()))?;
        let id_token = key.sign("JWT", &claims).map_err(server_error)?;
        if let Some(map) = body.as_object_mut() {
            map.insert("id_token".into(), json!(id_token));
        }
    }
    Ok(body)
}

/// `POST /oauth2/revoke` (RFC 7009): revokes the grant of an access or refresh token of the
/// calling client. An unknown token is answered 200 too (§2.2).
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let done = async {
        let params = super::params(&Method::POST, None, &headers, &body)?;
        let client = authenticate(&state, &headers, &params, REVOKE).await?;
        let token = params.require("token")?;
        let mut conn = state.store.conn().await.map_err(server_error)?;
        let found = stored::token(&mut conn, &crypto::token_hash(token))
            .await
            .map_err(server_error)?;
        drop(conn);
        if let Some(found) = found.filter(|t| t.grant.client_id == client.id) {
            state
                .store
                .revoke_oidc_grant(found.grant.id, state.now())
                .await
                .map_err(server_error)?;
        }
        Ok::<(), OAuthError>(())
    };
    match done.await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error_response(&error),
    }
}
