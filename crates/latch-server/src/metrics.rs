//! `/metrics` in the Prometheus text format: requests per route and status, and API errors
//! per stable code. Counts are per process (Prometheus scrapes each instance and sums).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::crypto;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The counters of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route, status) -> count. Every part comes from a small set (the methods HTTP
    /// defines, the router's patterns, the statuses the server answers), so a client cannot
    /// add series without end.
    requests: Mutex<BTreeMap<(&'static str, String, u16), u64>>,
    /// error code -> count.
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    fn count_request(
        &self,
        method: &'static str,
        route: &str,
        status: u16,
        error: Option<&'static str>,
    ) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method, route.to_owned(), status))
                .or_insert(0) += 1;
        }
        if let Some(code) = error {
            if let Ok(mut errors) = self.errors.lock() {
                *errors.entry(code).or_insert(0) += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP latch_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE latch_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                out.push_str(&format!(
                    "latch_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                    escape(method),
                    escape(route)
                ));
            }
        }
        out.push_str("# HELP latch_api_errors_total API errors returned, by stable error code.\n");
        out.push_str("# TYPE latch_api_errors_total counter\n");
        if let Ok(errors) = self.errors.lock() {
            for (code, n) in errors.iter() {
                out.push_str(&format!("latch_api_errors_total{{code=\"{code}\"}} {n}\n"));
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The method as a label: one of HTTP's own, or `other` for whatever else a client sends.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str)
}

/// Counts every answered request under its route pattern (never the raw path, whose ids would
/// make a series per credential).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let error = response.extensions().get::<ErrorCode>().map(|c| c.0);
    state
        .metrics
        .count_request(method, &route, response.status().as_u16(), error);
    response
}

/// `/metrics` on the private listener (`--metrics-listen`).
pub async fn render(State(state): State<AppState>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// `/metrics` on the public listener: only to a request bearing `--metrics-token`, and not
/// at all without one configured (counts by route and error tell an outsider what the server
/// is doing).
pub async fn render_public(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<([(&'static str, &'static str); 1], String), ApiError> {
    let Some(expected) = &state.metrics_token else {
        return Err(ApiError::MetricsPrivate);
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(crypto::token_hash);
    // Hashes are compared, so the time taken says nothing about the token.
    if given.as_ref() != Some(expected) {
        return Err(ApiError::MetricsTokenRequired);
    }
    Ok(render(State(state)).await)
}
