//! Which origins may speak for this relying party (§7.1 step 9, §7.2 step 13; §13.4.9).
//!
//! Exact origins match as strings (a trailing slash is ignored), which also covers native-app
//! origins such as `android:apk-key-hash:…` that are not URLs. Subdomains are accepted only
//! when asked for, only over https, and only at a dot boundary: `evil-example.com` is not a
//! subdomain of `example.com`.

use serde::{Deserialize, Serialize};

/// The origins a relying party accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginPolicy {
    /// Exact origins, e.g. `https://example.com`, `android:apk-key-hash:…`.
    pub exact: Vec<String>,
    /// Hosts whose subdomains (over https, default port) are accepted, e.g. `example.com`.
    pub subdomains_of: Vec<String>,
    /// Accept any port on the exact origins' hosts.
    pub any_port: bool,
}

fn trim(origin: &str) -> &str {
    origin.strip_suffix('/').unwrap_or(origin)
}

/// Splits `scheme://host[:port]` into its parts; `None` for anything else.
fn split(origin: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = origin.split_once("://")?;
    if rest.contains(['/', '?', '#', '@']) || rest.is_empty() {
        return None;
    }
    // IPv6 literals keep their colons inside brackets.
    let (host, port) = if let Some(end) = rest.strip_prefix('[').and_then(|r| r.find(']')) {
        let host = rest.get(..end + 2)?;
        let tail = rest.get(end + 2..)?;
        (host, tail.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    Some((scheme, host, port))
}

impl OriginPolicy {
    /// Exactly these origins.
    pub fn exact<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Self {
        OriginPolicy {
            exact: origins.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Is `origin` one this relying party accepts?
    pub fn allows(&self, origin: &str) -> bool {
        let origin = trim(origin);
        if self.exact.iter().any(|o| trim(o) == origin) {
            return true;
        }
        let Some((scheme, host, port)) = split(origin) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        if self.any_port {
            let same_host = self
                .exact
                .iter()
                .filter_map(|o| split(trim(o)))
                .any(|(s, h, _)| s.eq_ignore_ascii_case(scheme) && h.eq_ignore_ascii_case(&host));
            if same_host {
                return true;
            }
        }
        scheme == "https"
            && port.is_none()
            && self.subdomains_of.iter().any(|parent| {
                let parent = parent.to_ascii_lowercase();
                host.len() > parent.len() + 1
                    && host.ends_with(&parent)
                    && host.as_bytes().get(host.len() - parent.len() - 1) == Some(&b'.')
            })
    }
}

/// The related-origins document an RP serves at `https://{rp_id}/.well-known/webauthn`
/// (§5.11) so that browsers accept its RP ID from these other origins. Only exact web origins
/// belong there; native-app origins and subdomain rules are not listed.
pub fn related_origins_document(policy: &OriginPolicy) -> serde_json::Value {
    let origins: Vec<&str> = policy
        .exact
        .iter()
        .map(|o| trim(o))
        .filter(|o| o.starts_with("https://") || o.starts_with("http://localhost"))
        .collect();
    serde_json::json!({ "origins": origins })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_origins_list_only_web_origins() {
        let p = OriginPolicy::exact([
            "https://example.com/",
            "https://example.co.uk",
            "android:apk-key-hash:x",
        ]);
        assert_eq!(
            related_origins_document(&p),
            serde_json::json!({"origins": ["https://example.com", "https://example.co.uk"]})
        );
    }

    #[test]
    fn subdomains_match_only_at_a_dot_boundary() {
        let p = OriginPolicy {
            subdomains_of: vec!["example.com".into()],
            ..Default::default()
        };
        assert!(p.allows("https://login.example.com"));
        assert!(p.allows("https://a.b.example.com"));
        assert!(!p.allows("https://evil-example.com"));
        assert!(!p.allows("https://example.com.evil.net"));
        assert!(!p.allows("http://login.example.com"));
        assert!(!p.allows("https://login.example.com:8443"));
        assert!(!p.allows("https://.example.com"));
    }

    #[test]
    fn exact_origins_include_native_apps_and_ignore_a_trailing_slash() {
        let p = OriginPolicy::exact(["https://example.com", "android:apk-key-hash:abc"]);
        assert!(p.allows("https://example.com/"));
        assert!(p.allows("android:apk-key-hash:abc"));
        assert!(!p.allows("android:apk-key-hash:abd"));
        assert!(!p.allows("https://example.com:444"));
        assert!(!p.allows("http://example.com"));
    }

    #[test]
    fn any_port_keeps_scheme_and_host() {
        let p = OriginPolicy {
            any_port: true,
            ..OriginPolicy::exact(["http://localhost:8080"])
        };
        assert!(p.allows("http://localhost:3000"));
        assert!(!p.allows("https://localhost:3000"));
        assert!(!p.allows("http://localhostx:3000"));
    }

    #[test]
    fn split_reads_ipv6_literals_and_refuses_paths_and_empty_hosts() {
        assert_eq!(
            split("https://[::1]:8443"),
            Some(("https", "[::1]", Some("8443")))
        );
        assert_eq!(
            split("http://[2001:db8::7]"),
            Some(("http", "[2001:db8::7]", None))
        );
        assert_eq!(
            split("https://example.com:8443"),
            Some(("https", "example.com", Some("8443")))
        );
        assert_eq!(split("https://"), None);
        assert_eq!(split("https://example.com/login"), None);
        assert_eq!(split("https://user@example.com"), None);
        assert_eq!(split("example.com"), None);
    }

    #[test]
    fn any_port_matches_ipv6_hosts_by_their_brackets() {
        let p = OriginPolicy {
            any_port: true,
            ..OriginPolicy::exact(["http://[::1]:8080"])
        };
        assert!(p.allows("http://[::1]:3000"));
        assert!(!p.allows("http://[::2]:3000"));
    }
}
