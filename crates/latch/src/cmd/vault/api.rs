//! The client of `latch serve`'s vault API: the account's session cookie on every call, and the
//! device's signature on every write.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latch_vault::identity::DeviceSecret;
use latch_vault::request::sign_request;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error("{method} {path}: the server refused ({status} {code}): {message}")]
    Refused {
        method: String,
        path: String,
        status: u16,
        code: String,
        message: String,
        body: Box<Value>,
    },
    #[error("{method} {path}: no answer from the server: {detail}")]
    Unreachable {
        method: String,
        path: String,
        detail: String,
    },
}

impl ApiCallError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiCallError::Refused { code, .. } => Some(code),
            ApiCallError::Unreachable { .. } => None,
        }
    }

    pub fn body(&self) -> Option<&Value> {
        match self {
            ApiCallError::Refused { body, .. } => Some(body.as_ref()),
            ApiCallError::Unreachable { .. } => None,
        }
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub struct Api {
    base: String,
    agent: ureq::Agent,
    /// The cookies the server set (the session's among them), sent back on every call.
    pub cookies: BTreeMap<String, String>,
}

impl Api {
    pub fn new(base: &str, cookies: BTreeMap<String, String>) -> Api {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            agent,
            cookies,
        }
    }

    /// `path` (under `/api/v1`) as `method`, with a JSON body, signed by `device` when given.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        device: Option<&DeviceSecret>,
    ) -> Result<Value, ApiCallError> {
        let full = format!("/api/v1{path}");
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default();
        let mut request = self.agent.request(method, &format!("{}{full}", self.base));
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.set("Cookie", &cookie);
        }
        if let Some(device) = device {
            let ts = now();
            let sig = sign_request(device, method, &full, ts, &bytes);
            request = request
                .set("Latch-Device", &device.id().to_string())
                .set("Latch-Timestamp", &ts.to_string())
                .set("Latch-Signature", &URL_SAFE_NO_PAD.encode(sig));
        }
        let sent = if body.is_some() {
            request
                .set("Content-Type", "application/json")
                .send_bytes(&bytes)
        } else {
            request.call()
        };
        let (status, response) = match sent {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(status, r)) => (status, r),
            Err(e) => {
                return Err(ApiCallError::Unreachable {
                    method: method.into(),
                    path: full,
                    detail: e.to_string(),
                })
            }
        };
        for set in response.all("set-cookie") {
            if let Some((name, rest)) = set.split_once('=') {
                let value = rest.split(';').next().unwrap_or_default();
                if value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let mut text = String::new();
        let _ = response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut text);
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let field = |k: &str| value["error"][k].as_str().unwrap_or_default().to_owned();
        Err(ApiCallError::Refused {
            method: method.into(),
            path: full,
            status,
            code: field("code"),
            message: field("message"),
            body: Box::new(value),
        })
    }

    pub fn get(&mut self, path: &str) -> Result<Value, ApiCallError> {
        self.call("GET", path, None, None)
    }

    /// Signs in with a password, and an authenticator-app code if the account asks for one.
    pub fn sign_in(
        &mut self,
        username: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Result<(), ApiCallError> {
        let answer = self.call(
            "POST",
            "/login/password",
            Some(&json!({ "username": username, "password": password })),
            None,
        )?;
        if answer["next"] == "second_factor" {
            let code = totp.unwrap_or_default();
            self.call("POST", "/login/totp", Some(&json!({ "code": code })), None)?;
        }
        Ok(())
    }
}
