//! A blocking client of the Latch HTTP API that behaves like one browser: it keeps the cookies
//! the server sets (reading `Set-Cookie`, sending `Cookie`), sends the page's `Origin`, and runs
//! passkey ceremonies through a CTAP key with `webauthn::create` / `webauthn::get`.
//!
//! `latch bench` drives the server with it; the end-to-end tests (`tests/e2e.rs`) include this
//! file too, so it uses nothing of the binary but external crates.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use latch_ctap::client::{webauthn, Ctap2, CtapDevice, PinUvAuthToken};
use latch_webauthn::wire::{CreationOptionsJson, RequestOptionsJson};
use serde_json::{json, Value};

/// Why a call failed.
#[derive(Debug)]
pub enum SiteError {
    /// The server answered `{error: {code, message}}` (or another non-2xx status).
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No HTTP answer: connection refused or reset, timeout, unreadable body.
    Transport(String),
    /// The key refused or failed.
    Key(latch_ctap::client::Error),
    /// An answer that is not what the API promises.
    Response(String),
}

impl SiteError {
    /// A short, stable label for counting errors: the API's code, or the kind of failure.
    pub fn code(&self) -> &str {
        match self {
            SiteError::Api { code, .. } => code,
            SiteError::Transport(_) => "transport",
            SiteError::Key(_) => "key",
            SiteError::Response(_) => "bad_response",
        }
    }
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteError::Api {
                status,
                code,
                message,
            } => write!(f, "HTTP {status} {code}: {message}"),
            SiteError::Transport(e) => write!(f, "HTTP transport: {e}"),
            SiteError::Key(e) => write!(f, "security key: {e}"),
            SiteError::Response(e) => write!(f, "unexpected answer: {e}"),
        }
    }
}

impl std::error::Error for SiteError {}

impl From<latch_ctap::client::Error> for SiteError {
    fn from(e: latch_ctap::client::Error) -> Self {
        SiteError::Key(e)
    }
}

/// An agent keeping up to `connections` idle keep-alive connections to one server.
pub fn agent(connections: usize) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .max_idle_connections(connections)
        .max_idle_connections_per_host(connections)
        .build()
}

/// One browser's view of one site.
pub struct Site {
    agent: ureq::Agent,
    base: String,
    origin: String,
    cookies: BTreeMap<String, String>,
}

impl Site {
    /// `base` is the server (`http://127.0.0.1:8080`); `origin` the page's origin, which the
    /// server must accept and which goes into clientDataJSON.
    pub fn new(agent: ureq::Agent, base: &str, origin: &str) -> Site {
        Site {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            origin: origin.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    /// Forgets every cookie (a new browser profile).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// `POST /api/v1{path}` with a JSON body; the JSON answer.
    pub fn post(&mut self, path: &str, body: &Value) -> Result<Value, SiteError> {
        self.request("POST", path, Some(body))
    }

    /// `METHOD /api/v1{path}`, with a JSON body when given; the JSON answer (`null` for 204).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, SiteError> {
        let request = self
            .agent
            .request(method, &format!("{}/api/v1{path}", self.base));
        match body {
            Some(body) => {
                let request = request.set("Content-Type", "application/json");
                self.send(request, Some(body.to_string()))
            }
            None => self.send(request, None),
        }
    }

    /// `GET /api/v1{path}`; the JSON answer.
    pub fn get(&mut self, path: &str) -> Result<Value, SiteError> {
        self.request("GET", path, None)
    }

    fn send(&mut self, request: ureq::Request, body: Option<String>) -> Result<Value, SiteError> {
        let mut request = request.set("Origin", &self.origin);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.set("Cookie", &header.join("; "));
        }
        let result = match body {
            Some(body) => request.send_string(&body),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                let error = serde_json::from_str::<Value>(&text).ok();
                let field = |name: &str| {
                    error
                        .as_ref()
                        .and_then(|e| e.pointer(&format!("/error/{name}")))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                return Err(SiteError::Api {
                    status,
                    code: field("code").unwrap_or_else(|| format!("http_{status}")),
                    message: field("message").unwrap_or(text),
                });
            }
            Err(ureq::Error::Transport(t)) => return Err(SiteError::Transport(t.to_string())),
        };
        for set in response.all("set-cookie") {
            self.store_cookie(set);
        }
        if response.status() == 204 {
            return Ok(Value::Null);
        }
        let text = response
            .into_string()
            .map_err(|e| SiteError::Transport(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| SiteError::Response(format!("{e}: {text}")))
    }

    /// `name=value; Path=…; Max-Age=…`: kept, or removed when it expires at once.
    fn store_cookie(&mut self, set: &str) {
        let mut parts = set.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
            return;
        };
        let expired = parts.any(|attr| {
            attr.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k.eq_ignore_ascii_case("max-age") && v.trim() == "0")
        });
        if expired || value.is_empty() {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    /// signup/begin → `navigator.credentials.create()` on the key → signup/finish.
    pub fn signup<D: CtapDevice>(
        &mut self,
        key: &mut Ctap2<D>,
        username: &str,
        token: Option<&PinUvAuthToken>,
    ) -> Result<Value, SiteError> {
        let begun = self.post("/signup/begin", &json!({ "username": username }))?;
        let options: CreationOptionsJson = public_key(begun)?;
        let credential = webauthn::create(key, &options, &self.origin, token)?;
        self.post("/signup/finish", &json!({ "credential": credential }))
    }

    /// login/begin (with a username, or none for a discoverable passkey) →
    /// `navigator.credentials.get()` on the key → login/finish.
    pub fn login<D: CtapDevice>(
        &mut self,
        key: &mut Ctap2<D>,
        username: Option<&str>,
        token: Option<&PinUvAuthToken>,
    ) -> Result<Value, SiteError> {
        let options = self.login_begin(username)?;
        let credential = webauthn::get(key, &options, &self.origin, token)?;
        self.post("/login/finish", &json!({ "credential": credential }))
    }

    /// login/begin alone: the request options.
    pub fn login_begin(&mut self, username: Option<&str>) -> Result<RequestOptionsJson, SiteError> {
        let body = match username {
            Some(name) => json!({ "username": name }),
            None => json!({}),
        };
        public_key(self.post("/login/begin", &body)?)
    }

    /// Signs out (the session cookie is cleared by the answer).
    pub fn logout(&mut self) -> Result<(), SiteError> {
        self.post("/logout", &json!({})).map(|_| ())
    }
}

/// The `publicKey` member of a begin's answer.
fn public_key<T: serde::de::DeserializeOwned>(mut begun: Value) -> Result<T, SiteError> {
    let options = begun
        .get_mut("publicKey")
        .map(Value::take)
        .ok_or_else(|| SiteError::Response(format!("no publicKey in {begun}")))?;
    serde_json::from_value(options).map_err(|e| SiteError::Response(e.to_string()))
}
