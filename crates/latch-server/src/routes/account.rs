//! `GET /api/v1/me` and `POST /api/v1/logout`.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::crypto;
use crate::error::ApiError;
use crate::http::{cookie, ClientMeta, Cookie, NoBody};
use crate::session::{self, SignedIn};
use crate::state::AppState;
use crate::store::{audit, sessions};
use crate::views::UserView;

pub async fn me(signed_in: SignedIn) -> Json<Value> {
    Json(json!({ "user": UserView::from(&signed_in.user) }))
}

/// Ends the session the cookie names (if any) and clears the cookie; always 204.
pub async fn logout(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    _: NoBody,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, &state, Cookie::Session) {
        let hash = crypto::token_hash(token);
        let mut tx = state.store.begin().await?;
        if let Some(s) = sessions::by_id_hash(&mut tx, &hash).await? {
            sessions::delete(&mut tx, &hash).await?;
            audit::log(
                &mut tx,
                Some(s.user_id),
                "logout",
                &json!({}),
                &meta,
                state.now(),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, session::clear(&state)?)]),
    )
        .into_response())
}
