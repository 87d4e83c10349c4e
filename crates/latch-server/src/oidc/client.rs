//! Registered clients: what each may do, checked at every step, and the config file
//! (`latch serve --oidc-clients clients.toml`) that registers them at start beside the admin
//! API.

use serde::{Deserialize, Serialize};

use super::keys::Alg;

/// How a client authenticates at the token endpoint (its `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    #[serde(rename = "client_secret_basic")]
    SecretBasic,
    #[serde(rename = "client_secret_post")]
    SecretPost,
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
    /// A public client (a native or single-page app): no secret, PKCE with S256 required.
    #[serde(rename = "none")]
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::SecretBasic,
        AuthMethod::SecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn uses_secret(self) -> bool {
        matches!(self, AuthMethod::SecretBasic | AuthMethod::SecretPost)
    }
}

/// A registered client as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret, for the two secret methods.
    pub secret_hash: Option<Vec<u8>>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's public keys (a JWK Set, as JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub id_token_alg: Alg,
    /// `config` (the file, replaced at each start) or `admin` (the API).
    pub source: String,
}

/// A client as it is registered (the config file's `[[client]]` and the admin API's body).
/// Each field may also go by its RFC 7591 / OpenID Connect Registration name
/// (`client_id`, `client_name`, `token_endpoint_auth_method`, `redirect_uris`, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Registration {
    #[serde(alias = "client_id")]
    pub id: Option<String>,
    #[serde(alias = "client_name")]
    pub name: String,
    #[serde(
        default = "default_method",
        alias = "token_endpoint_auth_method",
        alias = "tokenEndpointAuthMethod"
    )]
    pub auth_method: String,
    /// The secret, for the secret methods. The admin API makes one when none is given; the
    /// config file must give it (at least 32 characters).
    #[serde(alias = "client_secret")]
    pub secret: Option<String>,
    #[serde(alias = "redirect_uris")]
    pub redirect_uris: Vec<String>,
    #[serde(default, alias = "post_logout_redirect_uris")]
    pub post_logout_redirect_uris: Vec<String>,
    /// For `private_key_jwt`: the client's JWK Set, as a JSON string or an object.
    pub jwks: Option<serde_json::Value>,
    #[serde(default = "default_alg", alias = "id_token_signed_response_alg")]
    pub id_token_signed_response_alg: String,
}

fn default_method() -> String {
    AuthMethod::SecretBasic.name().into()
}

fn default_alg() -> String {
    Alg::RS256.name().into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("client id {0:?} is not 1 to 64 letters, digits, '-', '_' or '.'")]
    Id(String),
    #[error("the client's name must be 1 to 100 characters")]
    Name,
    #[error("authMethod {0:?} is not one of client_secret_basic, client_secret_post, private_key_jwt, none")]
    Method(String),
    #[error("idTokenSignedResponseAlg {0:?} is not RS256 or ES256")]
    Alg(String),
    #[error("a {0} client needs a secret of at least 32 characters")]
    SecretNeeded(&'static str),
    #[error("a {0} client takes no secret")]
    SecretNotTaken(&'static str),
    #[error(
        "a private_key_jwt client needs `jwks`, a JWK Set with at least one key that has a `kid`"
    )]
    Jwks,
    #[error("redirect URI {0:?} must be https://, http:// on localhost or a loopback address, or a private-use scheme (com.example.app:/…), with no fragment")]
    RedirectUri(String),
    #[error("at least one redirect URI is needed")]
    NoRedirectUri,
}

/// The most redirect URIs of either kind one client may register.
const MAX_URIS: usize = 20;

/// An `http://` URI back to this machine (RFC 8252 §7.3): its host is a loopback name or
/// address, with no user info, and its port (if any) is digits. Returns the URI with the port
/// left out, which is how loopback redirect URIs are compared.
pub fn loopback_http(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.strip_prefix("[::1]") {
        Some(port) => ("[::1]", port),
        None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())
        });
    (matches!(host, "localhost" | "127.0.0.1" | "[::1]") && port_ok)
        .then(|| format!("http://{host}{path}"))
}

/// Whether `given` names the registered redirect URI `registered`: exactly the same (RFC 9700
/// §4.1.1), except that a loopback http URI may come back on any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    match (loopback_http(registered), loopback_http(given)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// RFC 6749 §3.1.2 and RFC 8252 §7: an absolute ASCII URI with no fragment; plain http only
/// back to this machine.
pub fn valid_redirect_uri(uri: &str) -> bool {
    if uri.len() > 2000
        || !uri.is_ascii()
        || uri.contains('#')
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    match scheme {
        "https" => rest.starts_with("//") && rest.len() > 2,
        "http" => loopback_http(uri).is_some(),
        // A private-use scheme is a reversed domain name (RFC 8252 §7.1).
        _ => {
            scheme.contains('.')
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                && !rest.is_empty()
        }
    }
}

impl Registration {
    /// The client this registers, with `secret` hashed; `secret` is the one it will use (made
    /// by the caller when the registration gave none).
    pub fn client(
        &self,
        id: String,
        secret: Option<&str>,
        source: &str,
    ) -> Result<Client, ClientError> {
        let id_ok = (1..=64).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(ClientError::Id(id));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ClientError::Name);
        }
        let auth_method = AuthMethod::parse(&self.auth_method)
            .ok_or_else(|| ClientError::Method(self.auth_method.clone()))?;
        let id_token_alg = Alg::parse(&self.id_token_signed_response_alg)
            .ok_or_else(|| ClientError::Alg(self.id_token_signed_response_alg.clone()))?;
        let secret_hash = match (auth_method.uses_secret(), secret) {
            (true, Some(s)) if s.len() >= 32 => Some(crate::crypto::token_hash(s)),
            (true, _) => return Err(ClientError::SecretNeeded(auth_method.name())),
            (false, Some(_)) => return Err(ClientError::SecretNotTaken(auth_method.name())),
            (false, None) => None,
        };
        let jwks = match (&self.jwks, auth_method) {
            (Some(jwks), AuthMethod::PrivateKeyJwt) => {
                let text = match jwks {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let set: jsonwebtoken::jwk::JwkSet =
                    serde_json::from_str(&text).map_err(|_| ClientError::Jwks)?;
                if set.keys.is_empty() || set.keys.iter().any(|k| k.common.key_id.is_none()) {
                    return Err(ClientError::Jwks);
                }
                Some(text)
            }
            (None, AuthMethod::PrivateKeyJwt) => return Err(ClientError::Jwks),
            (Some(_), _) => return Err(ClientError::Jwks),
            (None, _) => None,
        };
        if self.redirect_uris.is_empty() {
            return Err(ClientError::NoRedirectUri);
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            if !valid_redirect_uri(uri) {
                return Err(ClientError::RedirectUri(uri.clone()));
            }
        }
        if self.redirect_uris.len() > MAX_URIS || self.post_logout_redirect_uris.len() > MAX_URIS {
            return Err(ClientError::RedirectUri("(too many)".into()));
        }
        Ok(Client {
            id,
            name: name.to_owned(),
            secret_hash,
            auth_method,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            jwks,
            id_token_alg,
            source: source.to_owned(),
        })
    }
}

/// The config file: `[[client]]` tables, each a [`Registration`] with its `id` (and `secret`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    client: Vec<Registration>,
}

/// Reads the clients a config file registers; the reason when it does not parse or a client
/// is not valid (the start stops on it).
pub fn from_file(text: &str) -> Result<Vec<Client>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut clients: Vec<Client> = Vec::new();
    for r in &file.client {
        let Some(id) = r.id.clone() else {
            return Err(format!("client {:?} has no id", r.name));
        };
        if clients.iter().any(|c| c.id == id) {
            return Err(format!("client id {id:?} appears twice"));
        }
        let client = r
            .client(id.clone(), r.secret.as_deref(), "config")
            .map_err(|e| format!("client {id:?}: {e}"))?;
        clients.push(client);
    }
    Ok(clients)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_or_private_use() {
        for ok in [
            "https://wiki.example/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8/x",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(valid_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://wiki.example/cb",
            "http://localhost.evil.example/cb",
            "http://localhost:1@evil.example/cb",
            "http://127.0.0.1:80@evil.example/",
            "http://localhost:abc/cb",
            "https://wiki.example/caf\u{e9}",
            "https://wiki.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "https://",
            "https://a b",
        ] {
            assert!(!valid_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn loopback_redirects_match_on_any_port_and_nothing_else_does() {
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53124/cb"
        ));
        assert!(redirect_matches(
            "http://localhost:8000/cb",
            "http://localhost:9/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://localhost/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5@evil.example/cb"
        ));
        assert!(!redirect_matches(
            "https://wiki.example/cb",
            "https://wiki.example:444/cb"
        ));
        assert!(redirect_matches(
            "https://wiki.example/cb",
            "https://wiki.example/cb"
        ));
    }

    #[test]
    fn a_config_file_registers_each_kind_of_client() {
        let text = r#"
            [[client]]
            id = "wiki"
            name = "Team wiki"
            secret = "0123456789abcdef0123456789abcdef"
            redirectUris = ["https://wiki.example/cb"]
            postLogoutRedirectUris = ["https://wiki.example/"]

            [[client]]
            id = "cli"
            name = "Command line"
            authMethod = "none"
            redirectUris = ["http://127.0.0.1/cb"]
            idTokenSignedResponseAlg = "ES256"
        "#;
        let clients = from_file(text).unwrap();
        assert_eq!(clients.len(), 2);
        assert_eq!(clients[0].auth_method, AuthMethod::SecretBasic);
        assert!(clients[0].secret_hash.is_some());
        assert_eq!(clients[1].auth_method, AuthMethod::None);
        assert_eq!(clients[1].id_token_alg, Alg::ES256);
        assert_eq!(clients[1].source, "config");
    }

    #[test]
    fn registration_names_from_rfc_7591_are_understood() {
        let text = r#"
            [[client]]
            client_id = "cli"
            client_name = "Command line"
            token_endpoint_auth_method = "none"
            redirect_uris = ["http://127.0.0.1/cb"]
            id_token_signed_response_alg = "ES256"
        "#;
        let clients = from_file(text).unwrap();
        assert_eq!(clients[0].id, "cli");
        assert_eq!(clients[0].auth_method, AuthMethod::None);
        assert_eq!(clients[0].id_token_alg, Alg::ES256);
    }

    #[test]
    fn bad_registrations_say_what_is_wrong() {
        let short = "[[client]]\nid = \"w\"\nname = \"W\"\nsecret = \"short\"\nredirectUris = [\"https://w.example/\"]\n";
        assert!(from_file(short).unwrap_err().contains("at least 32"));
        let public_with_secret = "[[client]]\nid = \"w\"\nname = \"W\"\nauthMethod = \"none\"\nsecret = \"0123456789abcdef0123456789abcdef\"\nredirectUris = [\"https://w.example/\"]\n";
        assert!(from_file(public_with_secret)
            .unwrap_err()
            .contains("takes no secret"));
        let jwt_without_keys = "[[client]]\nid = \"w\"\nname = \"W\"\nauthMethod = \"private_key_jwt\"\nredirectUris = [\"https://w.example/\"]\n";
        assert!(from_file(jwt_without_keys).unwrap_err().contains("jwks"));
        let http = "[[client]]\nid = \"w\"\nname = \"W\"\nauthMethod = \"none\"\nredirectUris = [\"http://w.example/\"]\n";
        assert!(from_file(http).unwrap_err().contains("redirect URI"));
        let twice = "[[client]]\nid = \"w\"\nname = \"W\"\nauthMethod = \"none\"\nredirectUris = [\"https://w.example/\"]\n[[client]]\nid = \"w\"\nname = \"V\"\nauthMethod = \"none\"\nredirectUris = [\"https://w.example/\"]\n";
        assert!(from_file(twice).unwrap_err().contains("twice"));
        assert!(from_file("[[client]]\nnope = 1\n").is_err());
    }
}
