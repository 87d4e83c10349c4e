//! The authorization endpoint (`GET`/`POST /oauth2/authorize`) and the pages a request
//! passes through before its code: sign-in (`/?next=…`), step-up (`/oauth2/step-up`) when
//! the session is not strong or recent enough, and consent (`/oauth2/consent`). The request
//! waits in the store between them, so each page (and each node) picks it up by its id;
//! `/oauth2/continue` decides again after each.

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{see_other, with_query};
use crate::crypto;
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::oidc::client::Client;
use crate::oidc::error::OAuthError;
use crate::oidc::request::{self, AuthRequest, Refused};
use crate::oidc::{CODE_TTL, GRANT_TTL, REQUEST_TTL};
use crate::session::SignedIn;
use crate::state::{AppState, Sweep};
use crate::store::credentials;
use crate::store::oidc::{self as stored, Grant, NewCode};

/// The largest authorization request accepted as a form body.
const MAX_BODY: usize = 16 * 1024;

/// `GET`/`POST /oauth2/authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::OidcRequestRefused("the request is too large".into()))?;
    let params = super::params(&parts.method, parts.uri.query(), &parts.headers, &body)
        .map_err(|e| ApiError::OidcRequestRefused(e.description))?;
    let client = match params.get("client_id") {
        Ok(Some(id)) => {
            let mut conn = state.store.conn().await?;
            stored::client(&mut conn, id).await?
        }
        _ => None,
    };
    let now = state.now();
    let checked = request::client_and_redirect(&params, |_| client.as_ref())
        .and_then(|(client, uri)| request::check(&params, client, uri, now).map(|r| (client, r)));
    let (client, mut checked) = match checked {
        Ok(ok) => ok,
        Err(Refused::ToPerson(why)) => return Err(ApiError::OidcRequestRefused(why)),
        Err(Refused::ToClient {
            redirect_uri,
            state: client_state,
            error,
        }) => {
            return Ok(see_other(&error_uri(
                &state,
                &redirect_uri,
                client_state.as_deref(),
                &error,
            )));
        }
    };
    // OpenID Connect Core §3.1.2.1: the person the client expects, from an ID token of ours.
    if let Ok(Some(hint)) = params.get("id_token_hint") {
        let keys = super::discovery::published(&state).await?;
        match crate::oidc::jwt::verify_own_id_token(hint, &keys, &state.issuer) {
            Some(claims) => {
                checked.hinted_sub = claims
                    .get("sub")
                    .and_then(|s| s.as_str())
                    .map(str::to_owned)
            }
            None => {
                let error = OAuthError::invalid_request(
                    "id_token_hint is not an ID token this server issued",
                );
                let back = &checked.redirect_uri;
                return Ok(see_other(&error_uri(
                    &state,
                    back,
                    checked.state.as_deref(),
                    &error,
                )));
            }
        }
    }
    if state.sweep_due(Sweep::Oidc, now) {
        state.store.sweep_oidc(now).await?;
    }
    let (id, hash) = crypto::new_token()?;
    let params = serde_json::to_string(&checked).map_err(ApiError::internal)?;
    state
        .store
        .put_oidc_request(
            hash,
            client.id.clone(),
            params,
            now,
            now.saturating_add(REQUEST_TTL),
        )
        .await?;
    let who = viewer(&mut parts, &state).await?;
    let next = decide(&state, &id, &checked, client, who.as_ref(), false).await?;
    Ok(see_other(&next))
}

#[derive(Debug, Deserialize)]
pub struct Continue {
    request: String,
}

/// `GET /oauth2/continue?request=ID`: where the sign-in, step-up and consent pages send the
/// browser back to.
pub async fn resume(State(state): State<AppState>, mut parts: Parts) -> Result<Response, ApiError> {
    let id = request_id(parts.uri.query())?;
    let (checked, client) = pending(&state, &id).await?;
    let who = viewer(&mut parts, &state).await?;
    let next = decide(&state, &id, &checked, &client, who.as_ref(), false).await?;
    Ok(see_other(&next))
}

/// The `request` query parameter of the pages.
pub fn request_id(query: Option<&str>) -> Result<String, ApiError> {
    let found: Result<Continue, _> = serde_urlencoded::from_str(query.unwrap_or_default());
    match found {
        Ok(c) if valid_id(&c.request) => Ok(c.request),
        _ => Err(ApiError::OidcRequestGone),
    }
}

/// Request ids are tokens from [`crypto::new_token`]: base64url.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The signed-in person, if any (a missing, expired or half-finished session is nobody).
async fn viewer(parts: &mut Parts, state: &AppState) -> Result<Option<SignedIn>, ApiError> {
    match SignedIn::from_request_parts(parts, state).await {
        Ok(who) => Ok(Some(who)),
        Err(ApiError::Internal(cause)) => Err(ApiError::Internal(cause)),
        Err(_) => Ok(None),
    }
}

/// The pending request `id` and its client.
async fn pending(state: &AppState, id: &str) -> Result<(AuthRequest, Client), ApiError> {
    let mut conn = state.store.conn().await?;
    let Some(params) = stored::request(&mut conn, &crypto::token_hash(id), state.now()).await?
    else {
        return Err(ApiError::OidcRequestGone);
    };
    let checked: AuthRequest = serde_json::from_str(&params).map_err(ApiError::internal)?;
    let client = stored::client(&mut conn, &checked.client_id)
        .await?
        .ok_or(ApiError::OidcRequestGone)?;
    Ok((checked, client))
}

/// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1, with RFC 9207's
/// `iss`).
fn error_uri(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OAuthError,
) -> String {
    let mut pairs = vec![
        ("error", error.code),
        ("error_description", error.description.as_str()),
    ];
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer.as_str()));
    with_query(redirect_uri, &pairs)
}

/// Why a request needs the person to prove more before its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepUp {
    /// `prompt=login`, and no sign-in since the request began.
    Login,
    /// The last sign-in is older than `max_age`.
    MaxAge,
    /// The session's class does not meet `acr_values`.
    Acr,
}

impl StepUp {
    fn name(self) -> &'static str {
        match self {
            StepUp::Login => "login",
            StepUp::MaxAge => "max_age",
            StepUp::Acr => "acr",
        }
    }
}

fn step_up_needed(req: &AuthRequest, who: &SignedIn, now: i64) -> Option<StepUp> {
    if req.prompt.login && who.authenticated_at < req.created_at {
        return Some(StepUp::Login);
    }
    // A sign-in since the request began meets any max_age (max_age=0 would otherwise send the
    // person back to step up once a second has passed).
    let since_request = who.authenticated_at >= req.created_at;
    if !since_request
        && req
            .max_age
            .is_some_and(|age| now.saturating_sub(who.auth_time()) > age)
    {
        return Some(StepUp::MaxAge);
    }
    if req
        .acr_values
        .as_deref()
        .is_some_and(|asked| !who.amr.acr().meets(asked))
    {
        return Some(StepUp::Acr);
    }
    None
}

/// Where the request goes next: to sign in, to step up, to consent, or back to the client
/// with its code (or an error). `consented`: the person has just allowed it.
async fn decide(
    state: &AppState,
    id: &str,
    req: &AuthRequest,
    client: &Client,
    who: Option<&SignedIn>,
    consented: bool,
) -> Result<String, ApiError> {
    let hash = crypto::token_hash(id);
    let back = format!("/oauth2/continue?request={id}");
    let Some(who) = who else {
        if req.prompt.none {
            return refuse(
                state,
                &hash,
                req,
                OAuthError::login_required("nobody is signed in"),
            )
            .await;
        }
        return Ok(with_query("/", &[("next", &back)]));
    };
    let now = state.now();
    let hinted_other = req
        .hinted_sub
        .as_deref()
        .is_some_and(|sub| sub != latch_webauthn::b64::encode(&who.user.user_handle));
    if hinted_other && req.prompt.none {
        let error =
            OAuthError::login_required("another person than the id_token_hint's is signed in");
        return refuse(state, &hash, req, error).await;
    }
    if let Some(step_up) = step_up_needed(req, who, now) {
        if req.prompt.none {
            let error = match step_up {
                StepUp::Acr => OAuthError::interaction_required(
                    "the session does not meet acr_values: the person must sign in again with a key",
                ),
                StepUp::Login | StepUp::MaxAge => {
                    OAuthError::login_required("the person must sign in again")
                }
            };
            return refuse(state, &hash, req, error).await;
        }
        if step_up == StepUp::Acr {
            // Only a key raises the class: without one on the account, or when the session
            // has used one already and still falls short, no step-up can meet it.
            let mut conn = state.store.conn().await?;
            let keys = credentials::count_of_user(&mut conn, who.user.id).await?;
            drop(conn);
            if keys == 0 || who.amr.has_key() {
                let error = OAuthError::unmet_authentication_requirements(format!(
                    "the account cannot sign in as strongly as acr_values asks (it signed in as {})",
                    who.amr.acr().uri()
                ));
                return refuse(state, &hash, req, error).await;
            }
        }
        return Ok(format!("/oauth2/step-up?request={id}"));
    }
    if !consented && (req.prompt.consent || !has_consent(state, who.user.id, req).await?) {
        if req.prompt.none {
            return refuse(
                state,
                &hash,
                req,
                OAuthError::consent_required("the person has not allowed this app"),
            )
            .await;
        }
        return Ok(format!("/oauth2/consent?request={id}"));
    }
    let (code, code_hash) = crypto::new_token()?;
    let amr = who.amr;
    let issued = state
        .store
        .issue_oidc_code(
            NewCode {
                request_hash: hash,
                code_hash,
                grant: Grant {
                    id: crypto::random_bytes(16)?,
                    client_id: client.id.clone(),
                    user_id: who.user.id,
                    session_hash: who.session_hash.clone(),
                    scope: req.scope.join(" "),
                    auth_time: who.auth_time(),
                    acr: amr.acr().uri().to_owned(),
                    amr: amr.stored(),
                    expires_at: now.saturating_add(GRANT_TTL),
                    revoked: false,
                },
                redirect_uri: req.redirect_uri.clone(),
                code_challenge: req.code_challenge.clone(),
                nonce: req.nonce.clone(),
                expires_at: now.saturating_add(CODE_TTL),
            },
            now,
        )
        .await?;
    if !issued {
        return Err(ApiError::OidcRequestGone);
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer.as_str()));
    Ok(with_query(&req.redirect_uri, &pairs))
}

/// Ends the request and sends `error` back to its client.
async fn refuse(
    state: &AppState,
    hash: &[u8],
    req: &AuthRequest,
    error: OAuthError,
) -> Result<String, ApiError> {
    state.store.drop_oidc_request(hash.to_vec()).await?;
    Ok(error_uri(
        state,
        &req.redirect_uri,
        req.state.as_deref(),
        &error,
    ))
}

async fn has_consent(state: &AppState, user_id: i64, req: &AuthRequest) -> Result<bool, ApiError> {
    let mut conn = state.store.conn().await?;
    let granted = stored::consent(&mut conn, user_id, &req.client_id).await?;
    Ok(granted.is_some_and(|g| {
        let granted: Vec<&str> = g.split(' ').collect();
        req.scope.iter().all(|s| granted.contains(&s.as_str()))
    }))
}

/// `GET /api/v1/oauth2/requests/{id}`: what the consent and step-up pages show.
pub async fn show(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::OidcRequestGone);
    }
    let (req, client) = pending(&state, &id).await?;
    let step_up = step_up_needed(&req, &who, state.now()).map(StepUp::name);
    Ok(Json(json!({
        "client": { "id": client.id, "name": client.name },
        "scope": req.scope,
        "stepUp": step_up,
        "acr": who.amr.acr().uri(),
        "continue": format!("/oauth2/continue?request={id}"),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    allow: bool,
}

/// `POST /api/v1/oauth2/requests/{id}/consent`: the person allows the app (its scopes are
/// remembered for next time) or denies it (`access_denied` goes back to the app). Answers
/// where the browser goes next.
pub async fn consent(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<Json<Value>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::OidcRequestGone);
    }
    let (req, client) = pending(&state, &id).await?;
    let next = if body.allow {
        state
            .store
            .put_oidc_consent(
                who.user.id,
                client.id.clone(),
                req.scope.join(" "),
                state.now(),
            )
            .await?;
        decide(&state, &id, &req, &client, Some(&who), true).await?
    } else {
        state
            .store
            .drop_oidc_request(crypto::token_hash(&id))
            .await?;
        let error = OAuthError::access_denied("the person did not allow it");
        error_uri(&state, &req.redirect_uri, req.state.as_deref(), &error)
    };
    Ok(Json(json!({ "redirect": next })))
}
