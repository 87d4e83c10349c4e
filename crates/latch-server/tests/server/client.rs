//! A test server over one database, and a browser-like client that keeps cookies and sends
//! `Origin`, driving the router with `tower::ServiceExt::oneshot`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use latch_server::{app, metrics_app, AppState, Config, ManualClock, Startup, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::authenticator::{Passkey, Tweak};
use crate::db::{databases, snapshot, Snapshot, TestDb};

pub const RP_ID: &str = "example.com";
pub const ORIGIN: &str = "https://example.com";
pub const START: i64 = 1_760_000_000;

pub struct Server {
    pub app: Router,
    /// The private metrics listener's router, over the same state.
    pub metrics: Router,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub backend: &'static str,
    config: Config,
    // Dropped last: removes the database.
    _db: TestDb,
}

/// One server per backend under test.
pub async fn servers() -> Vec<Server> {
    servers_full(&Startup::default(), |_| {}).await
}

/// One server per backend, started with this policy file and metadata.
pub async fn servers_with(startup: &Startup) -> Vec<Server> {
    servers_full(startup, |_| {}).await
}

/// One server per backend, with the test's changes to the configuration.
pub async fn servers_configured(configure: impl Fn(&mut Config)) -> Vec<Server> {
    servers_full(&Startup::default(), configure).await
}

async fn servers_full(startup: &Startup, configure: impl Fn(&mut Config)) -> Vec<Server> {
    let mut out = Vec::new();
    for db in databases().await {
        let mut config = Config {
            rp_id: RP_ID.into(),
            origins: vec![ORIGIN.into()],
            db: db.url.clone(),
            key_file: db.key_file(),
            ..Config::default()
        };
        configure(&mut config);
        let store = db.store().await;
        let clock = Arc::new(ManualClock::new(START));
        let state = AppState::with_startup(store.clone(), &config, clock.clone(), startup)
            .await
            .unwrap();
        out.push(Server {
            metrics: metrics_app(state.clone()),
            app: app(state),
            store,
            clock,
            backend: db.name,
            config,
            _db: db,
        });
    }
    out
}

impl Server {
    /// Another `latch serve` process on the same database (its own pool, same clock).
    pub async fn another_instance(&self) -> Server {
        self.another_instance_with(&[], &Startup::default()).await
    }

    /// Another instance started with `--admin` for these usernames and this policy file.
    pub async fn another_instance_with(&self, admins: &[&str], startup: &Startup) -> Server {
        self.try_another_instance_with(admins, startup)
            .await
            .unwrap()
    }

    /// [`Server::another_instance_with`], or why it would not start.
    pub async fn try_another_instance_with(
        &self,
        admins: &[&str],
        startup: &Startup,
    ) -> Result<Server, latch_server::store::StoreError> {
        let store = Store::connect_with_key(&self.config.db, self.config.key_file.as_deref())
            .await
            .unwrap();
        let config = Config {
            admins: admins.iter().map(|a| (*a).to_owned()).collect(),
            ..self.config.clone()
        };
        let state =
            AppState::with_startup(store.clone(), &config, self.clock.clone(), startup).await?;
        Ok(Server {
            metrics: metrics_app(state.clone()),
            app: app(state),
            store,
            clock: self.clock.clone(),
            backend: self.backend,
            config: self.config.clone(),
            // The database belongs to the first instance.
            _db: TestDb::borrowed(self.backend, &self.config.db),
        })
    }

    /// A client of the private metrics listener.
    pub fn metrics_client(&self) -> Client {
        Client {
            app: self.metrics.clone(),
            ..self.client()
        }
    }

    /// The same browser (cookies and all) talking to this instance.
    pub fn switch(&self, client: &Client) -> Client {
        Client {
            app: self.app.clone(),
            ..client.clone()
        }
    }

    pub fn client(&self) -> Client {
        println!("backend: {}", self.backend);
        Client {
            app: self.app.clone(),
            cookies: BTreeMap::new(),
            origin: Some(ORIGIN.into()),
            peer: None,
            headers: Vec::new(),
        }
    }

    /// A signed-in client whose account has one synced passkey.
    pub async fn signed_in(&self, username: &str) -> (Client, Passkey) {
        let mut client = self.client();
        let passkey = client.signup(username, true).await;
        (client, passkey)
    }

    pub fn clock_now(&self) -> i64 {
        use latch_server::Clock;
        self.clock.now()
    }

    /// What a sealed ceremony token (`s.…`, SQLite) of this kind holds, opened with the
    /// server's key: `None` when it is not one.
    pub fn open_sealed(&self, kind: &str, token: &str) -> Option<Value> {
        let raw = latch_webauthn::b64::decode(token.strip_prefix("s.")?)?;
        let plain = self.store.sealing_key()?.open(kind, &raw)?;
        serde_json::from_slice(&plain).ok()
    }

    pub async fn snapshot(&self) -> Snapshot {
        snapshot(&self.store).await
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// The body as text (for non-JSON answers such as /metrics).
    pub text: String,
    pub set_cookies: Vec<String>,
    pub headers: axum::http::HeaderMap,
}

impl Reply {
    /// Asserts a success status and returns the body.
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        self.body
    }

    /// Asserts the error status and stable code (and the error shape).
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.body["error"]["code"].as_str()),
            (status, Some(code)),
            "body: {}",
            self.body
        );
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "an error carries a message: {}",
            self.body
        );
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }
}

/// A browser: keeps cookies, sends `Origin` on every request (when set).
#[derive(Clone)]
pub struct Client {
    app: Router,
    pub cookies: BTreeMap<String, String>,
    pub origin: Option<String>,
    /// The socket address the server sees (as `axum::serve` would pass it), when set.
    pub peer: Option<std::net::SocketAddr>,
    /// Extra headers on every request.
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub async fn send(&mut self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        match body {
            Some(b) => {
                let bytes = b.to_string().into_bytes();
                self.send_raw(method, path, Some("application/json"), bytes)
                    .await
            }
            None => self.send_raw(method, path, None, Vec::new()).await,
        }
    }

    /// Any body, with this `Content-Type` (or none).
    pub async fn send_raw(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(origin) = &self.origin {
            req = req.header(header::ORIGIN, origin);
        }
        if let Some(peer) = self.peer {
            req = req.extension(axum::extract::ConnectInfo(peer));
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        if let Some(content_type) = content_type {
            req = req.header(header::CONTENT_TYPE, content_type);
        }
        let req = req.body(Body::from(body)).unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            text,
            set_cookies,
            headers,
        }
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&body)).await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn patch(&mut self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(&body)).await
    }

    pub async fn delete(&mut self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// `me/credentials/begin` then `finish` with a new credential.
    pub async fn add_credential(&mut self, synced: bool, name: Option<&str>) -> (Passkey, Reply) {
        let options = self
            .post("/api/v1/me/credentials/begin", json!({}))
            .await
            .ok()["publicKey"]
            .clone();
        let (passkey, response) = Passkey::create(&options, ORIGIN, synced, &Tweak::default());
        let reply = self
            .post(
                "/api/v1/me/credentials/finish",
                json!({ "credential": response, "name": name }),
            )
            .await;
        (passkey, reply)
    }

    // ---- ceremonies --------------------------------------------------------------------------

    /// `signup/begin`, returning the `publicKey` options.
    pub async fn signup_begin(&mut self, username: &str) -> Value {
        let body = json!({ "username": username, "displayName": format!("{username} display") });
        self.post("/api/v1/signup/begin", body).await.ok()["publicKey"].clone()
    }

    /// A whole sign-up with a new passkey (synced) or security key (not synced).
    pub async fn signup(&mut self, username: &str, synced: bool) -> Passkey {
        let options = self.signup_begin(username).await;
        let (passkey, response) = Passkey::create(&options, ORIGIN, synced, &Tweak::default());
        self.post("/api/v1/signup/finish", json!({ "credential": response }))
            .await
            .ok();
        passkey
    }

    pub async fn login_begin(&mut self, username: Option<&str>) -> Value {
        let body = match username {
            Some(u) => json!({ "username": u }),
            None => json!({}),
        };
        self.post("/api/v1/login/begin", body).await.ok()["publicKey"].clone()
    }

    pub async fn login_finish(&mut self, response: &Value) -> Reply {
        self.post("/api/v1/login/finish", json!({ "credential": response }))
            .await
    }

    /// A whole discoverable sign-in with `passkey`.
    pub async fn login(&mut self, passkey: &mut Passkey) -> Value {
        let options = self.login_begin(None).await;
        let response = passkey.get(&options, ORIGIN, &Tweak::default());
        self.login_finish(&response).await.ok()
    }
}
