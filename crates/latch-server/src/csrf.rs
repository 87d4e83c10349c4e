//! Cross-site request forgery, in the form Go 1.25's `net/http.CrossOriginProtection` uses.
//!
//! A forged request needs a browser to attach the victim's cookies, and every current browser
//! says where a request comes from: `Sec-Fetch-Site` (all since 2023), else `Origin` (sent on
//! every cross-origin request and on same-origin POST, PATCH and DELETE). So a state-changing
//! request is refused when the browser says it is cross-site or same-site from an origin we do
//! not serve, or, without `Sec-Fetch-Site`, when its `Origin` is not one of ours. A request
//! with neither header is not from a browser (a script, an app, a command-line tool): it can
//! only carry cookies its own sender holds, so it is let through.

use axum::extract::{Request, State};
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const SEC_FETCH_SITE: &str = "sec-fetch-site";

pub async fn cross_origin_protection(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match check(request.method(), request.headers(), |origin| {
        state.rp.origins.allows(origin)
    }) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The decision alone: `allowed` says whether an `Origin` value is one of ours.
fn check(
    method: &Method,
    headers: &HeaderMap,
    allowed: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    // A header that is not text is no origin of ours.
    let origin = headers
        .get(ORIGIN)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let ours = || origin.is_some_and(&allowed);
    match headers.get(SEC_FETCH_SITE).map(|v| v.to_str()) {
        // The browser itself says the page is ours, or that no page asked (the person did).
        Some(Ok("same-origin" | "none")) => Ok(()),
        // `same-site` is a sibling subdomain, which may be another of our origins; anything
        // else (`cross-site`, or a value no browser sends) counts as cross-site.
        Some(site) => {
            if ours() {
                Ok(())
            } else {
                Err(ApiError::CrossSiteRequest {
                    site: site.unwrap_or("?").to_owned(),
                    origin: origin.map(str::to_owned),
                })
            }
        }
        None => match origin {
            None => Ok(()),
            Some(_) if ours() => Ok(()),
            Some(other) => Err(ApiError::OriginForbidden(other.to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const OURS: &str = "https://example.com";

    fn decide(method: Method, headers: &[(&'static str, &'static str)]) -> Option<&'static str> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        check(&method, &map, |o| o == OURS).err().map(|e| e.code())
    }

    #[test]
    fn reads_are_never_checked() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(decide(m, &[(SEC_FETCH_SITE, "cross-site")]), None);
        }
    }

    #[test]
    fn a_client_that_is_not_a_browser_is_let_through() {
        assert_eq!(decide(Method::POST, &[]), None);
        assert_eq!(decide(Method::DELETE, &[]), None);
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        assert_eq!(
            decide(Method::POST, &[(SEC_FETCH_SITE, "same-origin")]),
            None
        );
        assert_eq!(decide(Method::POST, &[(SEC_FETCH_SITE, "none")]), None);
        // The browser's word beats an Origin that is not ours (a proxy may rewrite hosts).
        assert_eq!(
            decide(
                Method::POST,
                &[(SEC_FETCH_SITE, "same-origin"), ("origin", "https://other")]
            ),
            None
        );
        for site in ["cross-site", "same-site", "bogus"] {
            assert_eq!(
                decide(Method::POST, &[(SEC_FETCH_SITE, site)]),
                Some("cross_site_request"),
                "{site}"
            );
            assert_eq!(
                decide(
                    Method::PATCH,
                    &[(SEC_FETCH_SITE, site), ("origin", "https://evil.example")]
                ),
                Some("cross_site_request"),
                "{site}"
            );
            // Another of our own origins (a sibling subdomain, say) may call.
            assert_eq!(
                decide(Method::POST, &[(SEC_FETCH_SITE, site), ("origin", OURS)]),
                None
            );
        }
    }

    #[test]
    fn without_sec_fetch_site_the_origin_decides() {
        assert_eq!(decide(Method::POST, &[("origin", OURS)]), None);
        for evil in [
            "null",
            "https://example.com.evil.example",
            "https://evil-example.com",
            "http://example.com",
            "https://example.com:8443",
        ] {
            let mut map = HeaderMap::new();
            map.insert(ORIGIN, HeaderValue::from_str(evil).unwrap());
            let refused = check(&Method::POST, &map, |o| o == OURS).unwrap_err();
            assert_eq!(refused.code(), "origin_forbidden", "{evil}");
        }
        let mut map = HeaderMap::new();
        map.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"https://\xffexample.com").unwrap(),
        );
        assert!(check(&Method::POST, &map, |o| o == OURS).is_err());
    }
}
