//! Cross-site request forgery: a state-changing call must come from one of our own origins.
//!
//! Browsers send `Origin` on every cross-origin request and on same-origin POST, PATCH and
//! DELETE, so requiring it to be one of the configured origins stops a foreign page from
//! acting with the user's cookies (SameSite=Lax already keeps them off most such requests).

use axum::extract::{Request, State};
use axum::http::header::ORIGIN;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn require_same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let origin = match request.headers().get(ORIGIN) {
        None => return ApiError::OriginMissing.into_response(),
        Some(value) => value.to_str().unwrap_or_default(),
    };
    if !state.rp.origins.allows(origin) {
        return ApiError::OriginForbidden(origin.to_owned()).into_response();
    }
    next.run(request).await
}
