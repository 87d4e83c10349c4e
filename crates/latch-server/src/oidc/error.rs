//! The errors OAuth 2.0 (RFC 6749 §4.1.2.1, §5.2), OpenID Connect Core §3.1.2.6, RFC 6750
//! and the unmet-authentication-requirements extension name, each with what was wrong.

/// One error: its registered code and a description for the developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

macro_rules! codes {
    ($($fn:ident => $code:literal,)*) => {
        impl OAuthError {
            $(
                pub fn $fn(description: impl Into<String>) -> OAuthError {
                    // RFC 6749 §5.2: no `"` or `\` in a description.
                    let description = description.into().replace(['"', '\\'], "'");
                    OAuthError { code: $code, description }
                }
            )*
        }
    };
}

codes! {
    invalid_request => "invalid_request",
    invalid_client => "invalid_client",
    invalid_grant => "invalid_grant",
    unauthorized_client => "unauthorized_client",
    unsupported_grant_type => "unsupported_grant_type",
    unsupported_response_type => "unsupported_response_type",
    invalid_scope => "invalid_scope",
    access_denied => "access_denied",
    login_required => "login_required",
    consent_required => "consent_required",
    interaction_required => "interaction_required",
    unmet_authentication_requirements => "unmet_authentication_requirements",
    request_not_supported => "request_not_supported",
    request_uri_not_supported => "request_uri_not_supported",
    invalid_token => "invalid_token",
    server_error => "server_error",
}
