//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3) and the JWK Set, and
//! the signing keys behind them (stored sealed under the server's key file): a key of each algorithm is made when none will be signing a
//! day from now, so a new key is published a day before it signs and an old one stays
//! published for [`KEY_PUBLISHED_AFTER`] after it stops.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{endpoint, AUTHORIZE, JWKS, LOGOUT, REVOKE, TOKEN, USERINFO};
use crate::amr::{Acr, PHISHING_RESISTANT};
use crate::error::ApiError;
use crate::oidc::keys::{self, Alg, LoadedKey, Signer};
use crate::oidc::{KEY_PUBLISHED_AFTER, KEY_SIGNS_FOR, SCOPES};
use crate::state::AppState;
use crate::store::oidc as stored;
use std::sync::Arc;

/// How long before a key starts signing it is published.
const PUBLISHED_BEFORE: i64 = 24 * 3600;

/// The keys published now, with a new key made for each algorithm that needs one.
pub async fn current_keys(state: &AppState) -> Result<Arc<Vec<LoadedKey>>, ApiError> {
    let now = state.now();
    let lasting = |keys: &[LoadedKey], alg: Alg| {
        keys.iter()
            .any(|k| k.signer.alg == alg && k.rotate_at > now.saturating_add(PUBLISHED_BEFORE))
    };
    if let Some(keys) = state.oidc_keys.fresh(now) {
        if Alg::ALL.iter().all(|alg| lasting(&keys, *alg)) {
            return Ok(keys);
        }
    }
    let mut keys = opened(state, now).await?;
    let mut made = false;
    for alg in Alg::ALL {
        if !lasting(&keys, alg) {
            let mut key = keys::generate(alg).map_err(|e| ApiError::internal(e.to_string()))?;
            key.private_der = state
                .secrets_key()?
                .seal(&seal_context(&key.kid), &key.private_der)
                .map_err(ApiError::internal)?;
            let rotate_at = now.saturating_add(PUBLISHED_BEFORE + KEY_SIGNS_FOR);
            let expires_at = rotate_at.saturating_add(KEY_PUBLISHED_AFTER);
            state
                .store
                .add_oidc_key(key, now, rotate_at, expires_at)
                .await?;
            made = true;
        }
    }
    if made {
        keys = opened(state, now).await?;
    }
    let keys = Arc::new(keys);
    state.oidc_keys.put(now, keys.clone());
    Ok(keys)
}

/// What a signing key is sealed for: it opens as this key only.
fn seal_context(kid: &str) -> String {
    format!("oidc-signing-key:{kid}")
}

/// The published keys, opened (they are stored sealed under the server's key file, like
/// authenticator-app secrets) and parsed. A key that does not open (the key file was
/// replaced) is left out, and a new one made in its place.
async fn opened(state: &AppState, now: i64) -> Result<Vec<LoadedKey>, ApiError> {
    let mut conn = state.store.conn().await?;
    let rows = stored::keys(&mut conn, now).await?;
    drop(conn);
    let sealing = state.secrets_key()?;
    Ok(rows
        .into_iter()
        .filter_map(|mut row| {
            row.key.private_der =
                sealing.open(&seal_context(&row.key.kid), &row.key.private_der)?;
            let signer = Signer::new(&row.key).ok()?;
            Some(LoadedKey {
                signer: Arc::new(signer),
                public_jwk: row.key.public_jwk,
                created_at: row.created_at,
                rotate_at: row.rotate_at,
            })
        })
        .collect())
}

/// The key that signs for `alg` now: the oldest one not yet rotated out (a newer one is
/// only published, until then).
pub async fn signing_key(state: &AppState, alg: Alg) -> Result<Arc<Signer>, ApiError> {
    let now = state.now();
    current_keys(state)
        .await?
        .iter()
        .filter(|k| k.signer.alg == alg && k.rotate_at > now)
        .min_by_key(|k| k.created_at)
        .map(|k| k.signer.clone())
        .ok_or_else(|| ApiError::internal("no signing key"))
}

/// The public JWKs of every published key.
pub async fn published(state: &AppState) -> Result<Vec<Value>, ApiError> {
    Ok(current_keys(state)
        .await?
        .iter()
        .map(|k| k.public_jwk.clone())
        .collect())
}

/// `GET /oauth2/jwks`.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = published(&state).await?;
    let mut response = Json(json!({ "keys": keys })).into_response();
    // Short, so a new key is seen well within the day it is published before signing.
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// `GET /.well-known/openid-configuration`.
pub async fn configuration(State(state): State<AppState>) -> Json<Value> {
    let mut acr: Vec<&str> = Acr::ALL.iter().rev().map(|a| a.uri()).collect();
    acr.push(PHISHING_RESISTANT);
    Json(json!({
        "issuer": state.issuer,
        "authorization_endpoint": endpoint(&state, AUTHORIZE),
        "token_endpoint": endpoint(&state, TOKEN),
        "userinfo_endpoint": endpoint(&state, USERINFO),
        "jwks_uri": endpoint(&state, JWKS),
        "end_session_endpoint": endpoint(&state, LOGOUT),
        "revocation_endpoint": endpoint(&state, REVOKE),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "name", "preferred_username"],
        "acr_values_supported": acr,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    }))
}
