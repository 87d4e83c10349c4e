//! The web pages (`latch-web`): `/` (sign in, or security info when signed in), `/signup`,
//! `/security`, `/admin` and `/assets/…`. The server only decides who is looking and in
//! which language; what the pages do, they do through `/api/v1`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE, VARY,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_web::{Locale, Page, Viewer};

use crate::error::ApiError;
use crate::http::{cookie, set_cookie, Cookie};
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::admin;

/// A year: the language switch is remembered until changed.
const LANGUAGE_COOKIE_AGE: i64 = 365 * 86_400;

/// Who is looking (if anyone) and in which language.
pub struct Visitor {
    viewer: Option<Viewer>,
    locale: Locale,
    /// Set when `?lang=` chose the language: remembered in a cookie.
    remember: Option<HeaderValue>,
}

impl Visitor {
    async fn of(parts: &mut Parts, state: &AppState) -> Result<Visitor, ApiError> {
        // The switch's `?lang=xx` (a language tag needs no percent-decoding).
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let asked = query.split('&').find_map(|pair| pair.strip_prefix("lang="));
        let headers = &parts.headers;
        let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let locale = latch_web::negotiate(asked, cookie(headers, state, Cookie::Language), accept);
        let remember = match asked.and_then(Locale::from_tag) {
            Some(l) => Some(set_cookie(
                state,
                Cookie::Language,
                l.tag(),
                LANGUAGE_COOKIE_AGE,
            )?),
            None => None,
        };
        // A missing, expired or half-finished session is simply nobody signed in.
        let viewer = match SignedIn::from_request_parts(parts, state).await {
            Ok(signed_in) => {
                let mut conn = state.store.conn().await?;
                let admin = admin::is_admin(&mut conn, signed_in.user.id).await?;
                Some(Viewer {
                    username: signed_in.user.username,
                    display_name: signed_in.user.display_name,
                    admin,
                })
            }
            Err(ApiError::Internal(cause)) => return Err(ApiError::Internal(cause)),
            Err(_) => None,
        };
        Ok(Visitor {
            viewer,
            locale,
            remember,
        })
    }
}

fn secure_headers(headers: &mut HeaderMap) {
    for (name, value) in latch_web::SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

fn page(state: &AppState, visitor: &Visitor, which: Page) -> Response {
    let html = latch_web::render(
        which,
        visitor.locale,
        &state.rp.name,
        visitor.viewer.as_ref(),
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Who is signed in and the language change the page: never from a shared cache.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(VARY, HeaderValue::from_static("Cookie, Accept-Language"));
    secure_headers(headers);
    if let Some(cookie) = &visitor.remember {
        headers.append(SET_COOKIE, cookie.clone());
    }
    response
}

fn redirect(to: &'static str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(to));
    secure_headers(response.headers_mut());
    response
}

/// `GET /`: the sign-in page, or security info for someone signed in.
pub async fn home(State(state): State<AppState>, mut parts: Parts) -> Result<Response, ApiError> {
    let v = Visitor::of(&mut parts, &state).await?;
    let which = if v.viewer.is_some() {
        Page::Security
    } else {
        Page::SignIn
    };
    Ok(page(&state, &v, which))
}

pub async fn signup(State(state): State<AppState>, mut parts: Parts) -> Result<Response, ApiError> {
    let v = Visitor::of(&mut parts, &state).await?;
    if v.viewer.is_some() {
        return Ok(redirect("/security"));
    }
    Ok(page(&state, &v, Page::SignUp))
}

pub async fn security(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let v = Visitor::of(&mut parts, &state).await?;
    if v.viewer.is_none() {
        return Ok(redirect("/"));
    }
    Ok(page(&state, &v, Page::Security))
}

pub async fn admin(State(state): State<AppState>, mut parts: Parts) -> Result<Response, ApiError> {
    let v = Visitor::of(&mut parts, &state).await?;
    match &v.viewer {
        None => Ok(redirect("/")),
        Some(viewer) if !viewer.admin => Ok(redirect("/security")),
        Some(_) => Ok(page(&state, &v, Page::Admin)),
    }
}

/// `GET /oauth2/consent?request=ID`: an app asks to know who the person is.
pub async fn consent(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    oauth2_page(&state, &mut parts, Page::Consent).await
}

/// `GET /oauth2/step-up?request=ID`: an app asks for a stronger or more recent sign-in.
pub async fn step_up(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    oauth2_page(&state, &mut parts, Page::StepUp).await
}

/// A page of an app's sign-in request; signed out, the person signs in first and comes back.
async fn oauth2_page(
    state: &AppState,
    parts: &mut Parts,
    which: Page,
) -> Result<Response, ApiError> {
    let id = super::oidc::authorize::request_id(parts.uri.query())?;
    let v = Visitor::of(parts, state).await?;
    if v.viewer.is_none() {
        let back = format!("/oauth2/continue?request={id}");
        return Ok(super::oidc::see_other(&super::oidc::with_query(
            "/",
            &[("next", &back)],
        )));
    }
    Ok(page(state, &v, which))
}

/// The largest error answer turned into a page.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// For the pages an app sends people through (`/oauth2/authorize`, `/continue`, `/consent`,
/// `/step-up`, `/logout`): a refusal a browser navigated into (it asks for HTML) becomes a page
/// saying what went wrong; an API client still gets the JSON error.
pub async fn navigation_errors(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html || !(response.status().is_client_error() || response.status().is_server_error())
    {
        return response;
    }
    let status = response.status();
    let Ok(body) = axum::body::to_bytes(response.into_body(), MAX_ERROR_BODY).await else {
        return status.into_response();
    };
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = latch_web::negotiate(None, cookie(&headers, &state, Cookie::Language), accept);
    let html = latch_web::render_app_error(locale, &state.rp.name, None, &message);
    let mut page = (status, html).into_response();
    let h = page.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure_headers(h);
    page
}

/// `GET /assets/{name}`: the embedded scripts and stylesheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = latch_web::assets::get(&name) else {
        return ApiError::RouteNotFound.into_response();
    };
    let mut response = (StatusCode::OK, asset.body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Embedded in the binary: a new release may change them, so revalidate soon.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    secure_headers(headers);
    response
}
