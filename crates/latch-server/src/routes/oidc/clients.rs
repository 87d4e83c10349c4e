//! `/api/v1/admin/oauth2/clients`: administrators list, register and remove OpenID Connect
//! clients. A registration answers the client's secret once; only its SHA-256 is kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latch_webauthn::b64;
use serde_json::{json, Value};

use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, NoBody};
use crate::oidc::client::{Client, Registration};
use crate::routes::admin::Admin;
use crate::state::AppState;
use crate::store::oidc as stored;

fn view(c: &Client) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "authMethod": c.auth_method.name(),
        "redirectUris": c.redirect_uris,
        "postLogoutRedirectUris": c.post_logout_redirect_uris,
        "idTokenSignedResponseAlg": c.id_token_alg.name(),
        "hasJwks": c.jwks.is_some(),
        "source": c.source,
    })
}

pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Json<Value>, ApiError> {
    let mut conn = state.store.conn().await?;
    let clients = stored::clients(&mut conn).await?;
    Ok(Json(
        json!({ "clients": clients.iter().map(view).collect::<Vec<_>>() }),
    ))
}

/// Registers a client; 201 with `secret` (made here unless given) for the secret methods.
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    meta: ClientMeta,
    ApiJson(body): ApiJson<Registration>,
) -> Result<Response, ApiError> {
    let id = match &body.id {
        Some(id) => id.clone(),
        None => b64::encode(crypto::random_bytes(12)?),
    };
    let wants_secret =
        crate::oidc::client::AuthMethod::parse(&body.auth_method).is_some_and(|m| m.uses_secret());
    let secret = match (&body.secret, wants_secret) {
        (Some(s), _) => Some(s.clone()),
        (None, true) => Some(crypto::new_token()?.0),
        (None, false) => None,
    };
    let client = body.client(id.clone(), secret.as_deref(), "admin")?;
    let now = state.now();
    if !state.store.add_oidc_client(client.clone(), now).await? {
        return Err(ApiError::ClientExists(id));
    }
    state
        .store
        .log_event(
            Some(admin.user.id),
            "oidc_client_added",
            json!({ "clientId": id }),
            (&meta).into(),
            now,
        )
        .await?;
    let mut answer = view(&client);
    if let (Some(map), Some(secret)) = (answer.as_object_mut(), secret) {
        map.insert("secret".into(), json!(secret));
    }
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    meta: ClientMeta,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_oidc_client(id.clone()).await? {
        return Err(ApiError::ClientNotFound(id));
    }
    state
        .store
        .log_event(
            Some(admin.user.id),
            "oidc_client_removed",
            json!({ "clientId": id }),
            (&meta).into(),
            state.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
