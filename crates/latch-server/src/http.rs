//! Request plumbing: JSON bodies whose rejections speak the API's error shape, cookies, and
//! what is recorded about the client.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

/// The cookies the server sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// The signed-in state.
    Session,
    /// The ceremony a begin started.
    Ceremony,
    /// A browser trusted to skip the second factor.
    Trusted,
    /// The language the pages' switch last chose.
    Language,
}

impl Cookie {
    const ALL: [Cookie; 4] = [
        Cookie::Session,
        Cookie::Ceremony,
        Cookie::Trusted,
        Cookie::Language,
    ];

    /// Its name. On an https site the `__Host-` form: a browser keeps such a cookie only when
    /// it is `Secure`, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant one
    /// (login CSRF, session swapping). Plain names on http://localhost, where `Secure` cannot
    /// apply.
    pub fn name(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Cookie::Session, false) => "latch_session",
            (Cookie::Ceremony, false) => "latch_ceremony",
            (Cookie::Trusted, false) => "latch_trusted",
            (Cookie::Language, false) => "latch_lang",
            (Cookie::Session, true) => "__Host-latch_session",
            (Cookie::Ceremony, true) => "__Host-latch_ceremony",
            (Cookie::Trusted, true) => "__Host-latch_trusted",
            (Cookie::Language, true) => "__Host-latch_lang",
        }
    }

    fn path(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Cookie::Session | Cookie::Language, _) | (_, true) => "/",
            // What they were before the __Host- names (so no browser holds two of one name).
            (Cookie::Ceremony | Cookie::Trusted, false) => "/api/v1",
        }
    }
}

/// The most a request body may hold. The largest real one is a registration with an
/// attestation certificate chain (TPM: about 5 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Every state-changing call's body, before any handler sees it: at most [`BODY_LIMIT`]
/// bytes (413 past it), and when there is one, JSON by its `Content-Type` and well formed.
/// Which shape each call takes is its extractor's business ([`ApiJson`], [`OptionalJson`]).
pub async fn require_json_bodies(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::BodyTooLarge { limit: BODY_LIMIT }.into_response()
        }
        Err(e) => return ApiError::InvalidBody(format!("unreadable: {e}")).into_response(),
    };
    if !bytes.is_empty() {
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !content_type.as_deref().is_some_and(is_json) {
            return ApiError::InvalidContentType(content_type.unwrap_or_default()).into_response();
        }
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(&bytes) {
            return ApiError::InvalidBody(format!("malformed JSON: {e}")).into_response();
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON body of exactly this shape (the body structs refuse members they do not know);
/// anything else is an [`ApiError`] (`invalid_body`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.is_empty() {
            return Err(ApiError::InvalidBody("this call takes a JSON body".into()));
        }
        parse(&bytes).map(ApiJson)
    }
}

/// A JSON body of this shape, or none at all (then `T::default()`); calls that take no body
/// use [`NoBody`], which allows only `{}`.
#[derive(Debug, Clone, Default)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        parse(&bytes).map(OptionalJson)
    }
}

/// The body of a call that takes none: nothing, or an empty JSON object.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub type NoBody = OptionalJson<Empty>;

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::InvalidBody(e.body_text()))
}

/// Every body is an object: serde would also read a struct from an array of its fields.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

/// Every value of cookie `name` the request carries.
fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The value of cookie `which`, if the request carries it ([`refuse_duplicate_cookies`]
/// has made sure it carries at most one).
pub fn cookie<'h>(headers: &'h HeaderMap, state: &AppState, which: Cookie) -> Option<&'h str> {
    cookie_values(headers, which.name(state.secure_cookies)).next()
}

/// Refuses a request that carries two cookies of one of our names: one of them was planted
/// (by a sibling subdomain, say), and which one a server would read first is not for the
/// planter to decide.
pub async fn refuse_duplicate_cookies(request: Request, next: Next) -> Response {
    for which in Cookie::ALL {
        for secure in [false, true] {
            let name = which.name(secure);
            if cookie_values(request.headers(), name).nth(1).is_some() {
                return ApiError::DuplicateCookie(name).into_response();
            }
        }
    }
    next.run(request).await
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` when the site is https.
/// `max_age` 0 deletes the cookie.
pub fn set_cookie(
    state: &AppState,
    which: Cookie,
    value: &str,
    max_age: i64,
) -> Result<HeaderValue, ApiError> {
    let secure = state.secure_cookies;
    let (name, path) = (which.name(secure), which.path(secure));
    let flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{flag}"
    ))
    .map_err(ApiError::internal)
}

/// Who is calling, as far as the server can tell (kept with sessions and audit events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientMeta {
    pub ip: Option<String>,
    /// What per-IP rate limits count by: an IPv4 address, or an IPv6 address's network of the
    /// configured prefix (a /64 by default: one subscriber has a whole /64, so counting each
    /// address would give them unlimited tries).
    pub ip_key: Option<String>,
    pub user_agent: Option<String>,
}

impl From<&ClientMeta> for crate::store::audit::Caller {
    fn from(meta: &ClientMeta) -> Self {
        crate::store::audit::Caller {
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
        }
    }
}

/// [`ClientMeta::ip_key`] of `ip`.
pub fn rate_limit_key(ip: IpAddr, ipv6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{network}/{prefix}")
            }
        },
    }
}

/// The last `X-Forwarded-For` entry: the address the (trusted) proxy saw the request come
/// from. Entries before it were written by the client and prove nothing.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok())
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let socket = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = if state.trust_proxy {
            forwarded_for(&parts.headers)
        } else {
            None
        };
        let client = forwarded.or(socket);
        let ip = client.map(|ip| ip.to_string());
        let ip_key = client.map(|ip| rate_limit_key(ip, state.ipv6_prefix));
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Ok(ClientMeta {
            ip,
            ip_key,
            user_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; latch_session=tok; b=2"),
        );
        headers.append(COOKIE, HeaderValue::from_static("latch_ceremony=cer"));
        let name = Cookie::Session.name(false);
        assert_eq!(cookie_values(&headers, name).collect::<Vec<_>>(), ["tok"]);
        let name = Cookie::Ceremony.name(false);
        assert_eq!(cookie_values(&headers, name).collect::<Vec<_>>(), ["cer"]);
        assert_eq!(cookie_values(&headers, "latch").count(), 0);
        assert_eq!(
            cookie_values(&headers, Cookie::Session.name(true)).count(),
            0
        );
    }

    #[test]
    fn https_names_are_host_only() {
        for which in Cookie::ALL {
            assert!(which.name(true).starts_with("__Host-"));
            assert_eq!(which.path(true), "/");
            assert!(!which.name(false).starts_with("__Host-"));
        }
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_network() {
        let key = |ip: &str, prefix| rate_limit_key(ip.parse().unwrap(), prefix);
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(key("2001:db8:1:2:aaaa::1", 48), "2001:db8:1::/48");
        assert_eq!(key("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(key("2001:db8::1", 0), "::/0");
    }

    #[test]
    fn json_content_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ] {
            assert!(!is_json(no), "{no}");
        }
    }

    #[test]
    fn the_proxy_s_entry_is_the_last_one() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        assert_eq!(forwarded_for(&headers), "203.0.113.7".parse().ok());
        headers.append("x-forwarded-for", HeaderValue::from_static("2001:db8::1"));
        assert_eq!(forwarded_for(&headers), "2001:db8::1".parse().ok());
        headers.append("x-forwarded-for", HeaderValue::from_static("junk"));
        assert_eq!(forwarded_for(&headers), None);
    }
}
