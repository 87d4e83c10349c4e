//! A stock OpenID Connect client library (the `openidconnect` crate) against a running
//! `latch serve`: discovery, the code flow with PKCE, the ID token checked through the JWKS,
//! userinfo, refresh with rotation, and RP-initiated logout. The person's browser is played
//! by plain HTTP calls to the same API the pages use.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, StandardErrorResponse,
    TokenResponse,
};

const SECRET: &str = "wiki-secret-0123456789abcdef0123456789";
const CALLBACK: &str = "http://127.0.0.1:9/callback";
const BYE: &str = "http://127.0.0.1:9/bye";

struct Serve {
    child: Child,
    base: String,
    _dir: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve() -> Serve {
    let dir =
        std::env::temp_dir().join(format!("latch-oidc-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let clients = dir.join("clients.toml");
    std::fs::write(
        &clients,
        format!(
            "[[client]]\nid = \"wiki\"\nname = \"Team wiki\"\nsecret = \"{SECRET}\"\n\
             redirectUris = [\"{CALLBACK}\"]\npostLogoutRedirectUris = [\"{BYE}\"]\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("latch.db").display()))
        .args([
            "--rp-id",
            "localhost",
            "--origin",
            &format!("http://localhost:{port}"),
        ])
        .args(["--issuer", &base])
        .arg("--oidc-clients")
        .arg(&clients)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if ureq::get(&format!("{base}/healthz")).call().is_ok() {
            return Serve {
                child,
                base,
                _dir: dir,
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("latch serve did not start");
}

/// The crate's HTTP client: one request over ureq, redirects not followed.
fn http(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, std::io::Error> {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut call = agent.request(request.method().as_str(), &request.uri().to_string());
    for (name, value) in request.headers() {
        call = call.set(name.as_str(), value.to_str().unwrap());
    }
    let response = match call.send_bytes(request.body()) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let mut out = openidconnect::http::Response::builder().status(response.status());
    for name in response.headers_names() {
        if let Some(value) = response.header(&name) {
            out = out.header(name.as_str(), value);
        }
    }
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body)?;
    Ok(out.body(body).unwrap())
}

/// The person's browser: a session cookie and no redirects followed.
struct Browser {
    agent: ureq::Agent,
    cookie: String,
}

impl Browser {
    fn keep_cookie(&mut self, response: &ureq::Response) {
        for value in response.all("set-cookie") {
            if let Some(pair) = value
                .split(';')
                .next()
                .filter(|p| p.starts_with("latch_session="))
            {
                self.cookie = pair.to_owned();
            }
        }
    }

    fn post(&mut self, url: &str, body: serde_json::Value) -> ureq::Response {
        let response = self
            .agent
            .post(url)
            .set("cookie", &self.cookie)
            .set("content-type", "application/json")
            .send_string(&body.to_string())
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        self.keep_cookie(&response);
        response
    }

    /// GET `url`; the status and `Location`.
    fn get(&mut self, url: &str) -> (u16, String) {
        let response = match self.agent.get(url).set("cookie", &self.cookie).call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{url}: {e}"),
        };
        self.keep_cookie(&response);
        (
            response.status(),
            response.header("location").unwrap_or_default().to_owned(),
        )
    }
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let parsed = openidconnect::url::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[test]
fn the_openidconnect_crate_signs_in_refreshes_and_logs_out() {
    let server = serve();
    let base = server.base.clone();
    let mut browser = Browser {
        agent: ureq::AgentBuilder::new().redirects(0).build(),
        cookie: String::new(),
    };
    browser.post(
        &format!("{base}/api/v1/signup/password"),
        serde_json::json!({ "username": "ada", "password": "correct horse battery staple" }),
    );
    assert!(browser.cookie.starts_with("latch_session="));

    let metadata =
        ProviderMetadataWithLogout::discover(&IssuerUrl::new(base.clone()).unwrap(), &http)
            .unwrap();
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("an end_session_endpoint");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("wiki".into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The browser: to the consent page, allowed, and back to the app with a code.
    let (status, to) = browser.get(url.as_str());
    assert_eq!(status, 303);
    let request = to
        .strip_prefix("/oauth2/consent?request=")
        .unwrap_or_else(|| panic!("{to}"));
    let answer = browser
        .post(
            &format!("{base}/api/v1/oauth2/requests/{request}/consent"),
            serde_json::json!({ "allow": true }),
        )
        .into_string()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let back = answer["redirect"].as_str().unwrap();
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(
        param(back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = param(back, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:latch:acr:password")
    );
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("ada"));
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    let me: CoreUserInfoClaims = client
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request(&http)
        .unwrap();
    assert_eq!(me.subject(), claims.subject());

    // The code again: refused.
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request(&http);
    assert!(
        matches!(replay, Err(RequestTokenError::ServerResponse(ref e)) if e.error().as_ref() == "invalid_grant"),
        "{replay:?}"
    );
    // (the replay revoked the first tokens: start again)
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (_, back) = browser.get(url.as_str());
    let code = param(&back, "code").unwrap_or_else(|| panic!("consent is remembered: {back}"));
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .unwrap();
    let id_token = tokens.id_token().unwrap().clone();
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();

    // Refresh: a new pair; the old refresh token then revokes the grant.
    let first = tokens.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request(&http)
        .unwrap();
    let no_nonce = |_: Option<&Nonce>| Ok(());
    refreshed
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), no_nonce)
        .unwrap();
    assert_ne!(refreshed.refresh_token().unwrap().secret(), first.secret());
    let reused: Result<_, RequestTokenError<_, StandardErrorResponse<_>>> = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request(&http);
    assert!(reused.is_err());
    let newest = refreshed.refresh_token().unwrap();
    assert!(
        client
            .exchange_refresh_token(newest)
            .unwrap()
            .request(&http)
            .is_err(),
        "the family is revoked"
    );

    // Log out: back to the app, the Latch session over.
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new("bye-1".into()))
        .http_get_url();
    let (status, to) = browser.get(logout.as_str());
    assert_eq!(
        (status, to.as_str()),
        (303, "http://127.0.0.1:9/bye?state=bye-1")
    );
    let (status, _) = browser.get(&format!("{base}/api/v1/me"));
    assert_eq!(status, 401);
}
