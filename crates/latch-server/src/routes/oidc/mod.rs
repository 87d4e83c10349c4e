//! The OpenID Connect provider over HTTP: discovery and keys (`discovery`), the
//! authorization endpoint with its sign-in, step-up and consent pages (`authorize`), the
//! token and revocation endpoints (`token`), userinfo, RP-initiated logout (`logout`), and
//! the admin API for clients (`clients`). The protocol's pieces are in `crate::oidc`, its
//! state in `store::oidc`.

pub mod authorize;
pub mod clients;
pub mod discovery;
pub mod logout;
pub mod token;
pub mod userinfo;

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION,
    PRAGMA, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::oidc::error::OAuthError;
use crate::oidc::request::Params;
use crate::state::AppState;

/// The endpoints' paths, after the issuer.
pub const AUTHORIZE: &str = "/oauth2/authorize";
pub const TOKEN: &str = "/oauth2/token";
pub const USERINFO: &str = "/oauth2/userinfo";
pub const JWKS: &str = "/oauth2/jwks";
pub const LOGOUT: &str = "/oauth2/logout";
pub const REVOKE: &str = "/oauth2/revoke";

/// The endpoints an app calls from its own code rather than by navigating: discovery, the
/// keys, token, revocation and userinfo. They answer any origin (CORS), without cookies:
/// nothing they do rests on the browser's credentials, so a single-page app can use them.
pub fn cross_origin_endpoints() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(JWKS, get(discovery::jwks))
        .route(TOKEN, post(token::token))
        .route(REVOKE, post(token::revoke))
        .route(USERINFO, get(userinfo::userinfo).post(userinfo::userinfo))
        .layer(middleware::from_fn(cors))
}

/// CORS for [`cross_origin_endpoints`]: a preflight is answered here; every answer may be
/// read by any origin.
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        preflight
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    response
}

pub fn endpoint(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.issuer)
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            headers.insert(LOCATION, location);
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => ApiError::internal("a redirect that is not a header value").into_response(),
    }
}

/// `uri` with `pairs` added to its query, form-encoded.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let joiner = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{joiner}{encoded}")
}

/// A request's parameters: the query of a GET, the form body of a POST (whose content type
/// must say so).
pub fn params(
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Params, OAuthError> {
    if method == Method::POST {
        let form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        Params::parse(body)
    } else {
        Params::parse(query.unwrap_or_default().as_bytes())
    }
}

/// An error as the token, revocation and userinfo endpoints answer it (RFC 6749 §5.2):
/// 401 with `WWW-Authenticate` for a client that did not authenticate, 400 otherwise.
pub fn error_response(error: &OAuthError) -> Response {
    let status = match error.code {
        "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": error.code, "error_description": error.description });
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    no_store(headers);
    if error.code == "invalid_client" {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latch\""),
        );
    }
    response
}

pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The person's claims an app may know under `scope`: `sub`, and with `profile` the name and
/// username.
pub fn person_claims(
    user: &crate::store::users::User,
    scope: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    claims.insert(
        "sub".into(),
        json!(latch_webauthn::b64::encode(&user.user_handle)),
    );
    if scope.split(' ').any(|s| s == "profile") {
        claims.insert("name".into(), json!(user.display_name));
        claims.insert("preferred_username".into(), json!(user.username));
    }
    claims
}

/// A store or internal failure, as an OAuth `server_error` (the cause is logged, not sent).
pub fn server_error(e: impl std::fmt::Display) -> OAuthError {
    eprintln!("latch serve: oidc: {e}");
    OAuthError::server_error("the server could not complete the request")
}
