//! An authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636), read
//! from the query or form and checked in the order the RFCs set: first whether the client
//! and its redirect URI can be trusted with an error at all, then everything else.

use serde::{Deserialize, Serialize};

use super::client::{AuthMethod, Client};
use super::error::OAuthError;
use super::SCOPES;
use latch_webauthn::b64;

/// Form or query parameters, each name at most once (RFC 6749 §3.1).
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &[u8]) -> Result<Params, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded)
            .map_err(|_| OAuthError::invalid_request("the parameters are not form-encoded"))?;
        Ok(Params(pairs))
    }

    /// The value of `name`: `None` when absent (an empty value counts as absent, as RFC 6749
    /// §3.1 says), an error when it is given twice.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = self.0.iter().filter(|(n, _)| n == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "`{name}` is given more than once"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is missing")))
    }
}

/// `prompt` (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked request, as it waits (in the store) for sign-in, step-up and consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The scopes granted if allowed: those asked for that this server knows.
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub acr_values: Option<String>,
    pub max_age: Option<i64>,
    pub prompt: Prompt,
    /// `id_token_hint`'s `sub`, once checked as one of this server's ID tokens (by the caller,
    /// which holds the keys): who the client expects to be signed in.
    #[serde(default)]
    pub hinted_sub: Option<String>,
    pub created_at: i64,
}

/// Why a request failed: either the client and redirect URI cannot be trusted (the person
/// is told, and nothing is sent anywhere), or the error goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    ToPerson(String),
    ToClient {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// The longest `state` and `nonce` accepted.
const MAX_VALUE: usize = 1024;

/// The client and redirect URI (checked first: nothing may be redirected before they are).
pub fn client_and_redirect<'c>(
    params: &Params,
    find: impl FnOnce(&str) -> Option<&'c Client>,
) -> Result<(&'c Client, String), Refused> {
    let to_person = |e: OAuthError| Refused::ToPerson(e.description);
    let client_id = params.require("client_id").map_err(to_person)?;
    let client = find(client_id)
        .ok_or_else(|| Refused::ToPerson(format!("there is no client {client_id:?}")))?;
    let redirect_uri = params.require("redirect_uri").map_err(to_person)?;
    // Compared exactly (RFC 9700 §4.1.1: no patterns, no prefixes), but for the port of a
    // loopback URI.
    if !client
        .redirect_uris
        .iter()
        .any(|u| super::client::redirect_matches(u, redirect_uri))
    {
        return Err(Refused::ToPerson(format!(
            "{redirect_uri:?} is not a redirect URI of {client_id:?}"
        )));
    }
    Ok((client, redirect_uri.to_owned()))
}

/// Checks the rest of the request, for a client and redirect URI already trusted.
pub fn check(
    params: &Params,
    client: &Client,
    redirect_uri: String,
    now: i64,
) -> Result<AuthRequest, Refused> {
    // `state` is returned with any error, so it is read before anything else can fail.
    let state = params
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_VALUE)
        .map(str::to_owned);
    let refuse = |error: OAuthError| Refused::ToClient {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    };
    rest(params, client, now)
        .map(|mut request| {
            request.redirect_uri = redirect_uri.clone();
            request.state = state.clone();
            request
        })
        .map_err(refuse)
}

fn rest(params: &Params, client: &Client, now: i64) -> Result<AuthRequest, OAuthError> {
    if params.get("state")?.is_some_and(|s| s.len() > MAX_VALUE) {
        return Err(OAuthError::invalid_request("`state` is too long"));
    }
    if params.get("request")?.is_some() {
        return Err(OAuthError::request_not_supported(
            "request objects are not supported",
        ));
    }
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::request_uri_not_supported(
            "`request_uri` is not supported",
        ));
    }
    match params.require("response_type")? {
        "code" => {}
        other => {
            return Err(OAuthError::unsupported_response_type(format!(
                "response_type {other:?}: only the code flow (`code`) is supported"
            )))
        }
    }
    if let Some(mode) = params.get("response_mode")? {
        if mode != "query" {
            return Err(OAuthError::invalid_request(format!(
                "response_mode {mode:?}: only `query` is supported"
            )));
        }
    }
    let asked = params.get("scope")?.unwrap_or_default();
    let asked: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return Err(OAuthError::invalid_scope("`scope` must include `openid`"));
    }
    let mut scope: Vec<String> = Vec::new();
    for s in SCOPES {
        if asked.contains(&s) {
            scope.push(s.to_owned());
        }
    }
    let code_challenge = match (
        params.get("code_challenge")?,
        params.get("code_challenge_method")?,
    ) {
        (None, None) if client.auth_method == AuthMethod::None => {
            return Err(OAuthError::invalid_request(
                "a public client must use PKCE: `code_challenge` with `code_challenge_method=S256`",
            ))
        }
        (None, None) => None,
        (None, Some(_)) => return Err(OAuthError::invalid_request("`code_challenge` is missing")),
        (Some(challenge), Some("S256")) => {
            // 32 bytes of SHA-256, base64url without padding.
            if challenge.len() != 43 || b64::decode(challenge).is_none() {
                return Err(OAuthError::invalid_request(
                    "`code_challenge` is not a base64url SHA-256 digest",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), other) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method {:?}: only S256 is accepted",
                other.unwrap_or("plain")
            )))
        }
    };
    let nonce = params.get("nonce")?;
    if nonce.is_some_and(|n| n.len() > MAX_VALUE) {
        return Err(OAuthError::invalid_request("`nonce` is too long"));
    }
    let max_age = match params.get("max_age")? {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(age) if age >= 0 => Some(age),
            _ => {
                return Err(OAuthError::invalid_request(
                    "`max_age` is not a number of seconds",
                ))
            }
        },
    };
    let mut prompt = Prompt::default();
    for value in params.get("prompt")?.unwrap_or_default().split(' ') {
        match value {
            "" | "select_account" => {}
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt {other:?} is not known"
                )))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with another value",
        ));
    }
    let acr_values = params.get("acr_values")?;
    if acr_values.is_some_and(|a| a.len() > MAX_VALUE) {
        return Err(OAuthError::invalid_request("`acr_values` is too long"));
    }
    Ok(AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: String::new(),
        scope,
        state: None,
        nonce: nonce.map(str::to_owned),
        code_challenge,
        acr_values: acr_values.map(str::to_owned),
        max_age,
        prompt,
        hinted_sub: None,
        created_at: now,
    })
}

/// RFC 7636 §4.6: the verifier's syntax, then S256 of it against the challenge.
pub fn verify_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "`code_verifier` was sent, but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("`code_verifier` is missing")),
        (Some(challenge), Some(verifier)) => {
            let syntax = (43..=128).contains(&verifier.len())
                && verifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
            if !syntax {
                return Err(OAuthError::invalid_grant(
                    "`code_verifier` must be 43 to 128 unreserved characters",
                ));
            }
            let digest = crate::crypto::token_hash(verifier);
            let expected = b64::encode(&digest);
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                challenge.as_bytes(),
            )
            .is_err()
            {
                return Err(OAuthError::invalid_grant(
                    "`code_verifier` does not match the code_challenge",
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys::Alg;

    fn client(method: AuthMethod) -> Client {
        Client {
            id: "wiki".into(),
            name: "Wiki".into(),
            secret_hash: None,
            auth_method: method,
            redirect_uris: vec!["https://wiki.example/cb".into()],
            post_logout_redirect_uris: vec![],
            jwks: None,
            id_token_alg: Alg::RS256,
            source: "admin".into(),
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn run(query: &str, method: AuthMethod) -> Result<AuthRequest, Refused> {
        let params = Params::parse(query.as_bytes()).unwrap();
        let c = client(method);
        let (c, uri) = client_and_redirect(&params, |id| (id == c.id).then_some(&c))?;
        check(&params, c, uri, 1000)
    }

    fn code_of(r: Result<AuthRequest, Refused>) -> &'static str {
        match r {
            Err(Refused::ToClient { error, .. }) => error.code,
            other => panic!("{other:?}"),
        }
    }

    const BASE: &str = "client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.example%2Fcb&response_type=code&scope=openid+profile+email&state=s1";

    #[test]
    fn a_good_request_keeps_what_the_code_will_need() {
        let q = format!("{BASE}&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256&max_age=60&acr_values=phr&prompt=login");
        let r = run(&q, AuthMethod::None).unwrap();
        assert_eq!(r.scope, ["openid", "profile"]);
        assert_eq!(r.state.as_deref(), Some("s1"));
        assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(r.max_age, Some(60));
        assert!(r.prompt.login && !r.prompt.none);
    }

    #[test]
    fn an_unknown_client_or_redirect_uri_is_never_redirected_to() {
        let wrong = BASE.replace("wiki.example%2Fcb", "evil.example%2Fcb");
        assert!(matches!(
            run(&wrong, AuthMethod::SecretBasic),
            Err(Refused::ToPerson(_))
        ));
        let prefix = BASE.replace("%2Fcb", "%2Fcb%2Fmore");
        assert!(matches!(
            run(&prefix, AuthMethod::SecretBasic),
            Err(Refused::ToPerson(_))
        ));
        let other = BASE.replace("client_id=wiki", "client_id=mail");
        assert!(matches!(
            run(&other, AuthMethod::SecretBasic),
            Err(Refused::ToPerson(_))
        ));
        let twice = format!("{BASE}&redirect_uri=https%3A%2F%2Fwiki.example%2Fcb");
        assert!(matches!(
            run(&twice, AuthMethod::SecretBasic),
            Err(Refused::ToPerson(_))
        ));
    }

    #[test]
    fn each_bad_parameter_has_its_error() {
        let m = AuthMethod::SecretBasic;
        assert_eq!(
            code_of(run(
                &BASE.replace("response_type=code", "response_type=token"),
                m
            )),
            "unsupported_response_type"
        );
        assert_eq!(
            code_of(run(&BASE.replace("response_type=code&", ""), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&BASE.replace("scope=openid+", "scope="), m)),
            "invalid_scope"
        );
        assert_eq!(code_of(run(BASE, AuthMethod::None)), "invalid_request");
        assert_eq!(
            code_of(run(&format!("{BASE}&code_challenge={CHALLENGE}"), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(
                &format!("{BASE}&code_challenge={CHALLENGE}&code_challenge_method=plain"),
                m
            )),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(
                &format!("{BASE}&code_challenge=short&code_challenge_method=S256"),
                m
            )),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&prompt=none+login"), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&prompt=sometimes"), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&max_age=-1"), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&request=eyJ"), m)),
            "request_not_supported"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&request_uri=https%3A%2F%2Fx"), m)),
            "request_uri_not_supported"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&response_mode=fragment"), m)),
            "invalid_request"
        );
        assert_eq!(
            code_of(run(&format!("{BASE}&scope=openid"), m)),
            "invalid_request"
        );
        // The state comes back with the error.
        match run(
            &BASE.replace("response_type=code", "response_type=token"),
            m,
        ) {
            Err(Refused::ToClient { state, .. }) => assert_eq!(state.as_deref(), Some("s1")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pkce_checks_the_verifier_against_the_challenge() {
        // RFC 7636 appendix B.
        assert!(verify_pkce(Some(CHALLENGE), Some(VERIFIER)).is_ok());
        let wrong = VERIFIER.replace('d', "e");
        assert_eq!(
            verify_pkce(Some(CHALLENGE), Some(&wrong)).unwrap_err().code,
            "invalid_grant"
        );
        assert_eq!(
            verify_pkce(Some(CHALLENGE), None).unwrap_err().code,
            "invalid_grant"
        );
        assert_eq!(
            verify_pkce(Some(CHALLENGE), Some("short"))
                .unwrap_err()
                .code,
            "invalid_grant"
        );
        assert_eq!(
            verify_pkce(None, Some(VERIFIER)).unwrap_err().code,
            "invalid_grant"
        );
        assert!(verify_pkce(None, None).is_ok());
    }
}
