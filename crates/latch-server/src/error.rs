//! The API's one error type: `{error: {code, message}}` with a 4xx status for what the client
//! did, and a bare 500 for what went wrong here (the cause is logged, never sent).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why a request failed. One variant per failed check; `code()` is stable.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A ceremony check failed; the code is latch-webauthn's.
    #[error("{0}")]
    Ceremony(#[from] latch_webauthn::Error),
    #[error("the request body is not what this call takes: {0}")]
    InvalidBody(String),
    #[error("the request carries the cookie {0} twice; one was not set by this site (clear this site's cookies)")]
    DuplicateCookie(&'static str),
    #[error("a call that takes a body takes JSON (Content-Type: application/json), not {0:?}")]
    InvalidContentType(String),
    #[error("the request body is over the {limit}-byte limit")]
    BodyTooLarge { limit: usize },
    #[error("the browser says this request comes from another site ({site}, origin {origin:?}), which may not make state-changing requests here")]
    CrossSiteRequest {
        site: String,
        origin: Option<String>,
    },
    #[error("origin {0:?} may not make state-changing requests here")]
    OriginForbidden(String),
    #[error("username {0}")]
    InvalidUsername(&'static str),
    #[error("display name {0}")]
    InvalidDisplayName(&'static str),
    #[error("credential name {0}")]
    InvalidCredentialName(&'static str),
    #[error("that username is taken")]
    UsernameTaken,
    #[error("no ceremony is in progress (it was never begun, was already finished, or its cookie is missing)")]
    CeremonyNotFound,
    #[error("the ceremony expired; begin again")]
    CeremonyExpired,
    #[error("this credential is registered already")]
    CredentialExists,
    #[error("no account has this credential, or the assertion is not signed by it")]
    UnknownCredential,
    #[error("a concurrent sign-in with this credential already used a counter this high")]
    CounterRaced,
    #[error("not signed in")]
    NotSignedIn,
    #[error("the session expired; sign in again")]
    SessionExpired,
    #[error("this ceremony was begun by another account")]
    CeremonyUserMismatch,
    #[error("no credential with this id belongs to this account")]
    CredentialNotFound,
    #[error("this is the account's last way to sign in; add another first")]
    LastCredential,
    #[error("no session with this id belongs to this account")]
    SessionNotFound,
    #[error("password {0}")]
    WeakPassword(&'static str),
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: i64 },
    #[error("the server is busy checking other passwords; try again in {retry_after} seconds")]
    Busy { retry_after: i64 },
    #[error("this change needs a recent sign-in; re-authenticate (POST /api/v1/me/reauth/begin) and try again")]
    ReauthenticationRequired,
    #[error("this account cannot re-authenticate that way: {0}")]
    ReauthMethodUnavailable(&'static str),
    #[error("no trusted browser with this id belongs to this account")]
    TrustedBrowserNotFound,
    #[error("the current password is wrong")]
    CurrentPasswordIncorrect,
    #[error("no sign-in is waiting for a second factor (sign in with the password first)")]
    NoPendingSignIn,
    #[error("the code is not 6 digits, or not the current one, or was used already")]
    InvalidCode,
    #[error("too many wrong second factors; sign in with the password again")]
    TooManyFactorFailures,
    #[error("an authenticator app is enabled already; disable it first")]
    TotpAlreadyEnabled,
    #[error("no authenticator app enrolment is in progress")]
    TotpNotEnrolled,
    #[error("this account holds {max} credentials, the most the policy allows; delete one first")]
    TooManyCredentials { max: u32 },
    #[error("this account has {have} passkeys or security keys; the policy needs {need} before a key can be the second factor")]
    SecurityKeysBelowMinimum { have: i64, need: u32 },
    #[error("only administrators may do this")]
    AdminRequired,
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("no such route")]
    RouteNotFound,
    #[error("metrics are not served here: use the private listener (--metrics-listen), or start the server with --metrics-token")]
    MetricsPrivate,
    #[error("metrics need the token: Authorization: Bearer <--metrics-token>")]
    MetricsTokenRequired,
    #[error("{0}")]
    Vault(#[from] latch_vault::VaultError),
    #[error("this account has no vault yet (POST /api/v1/vault creates one)")]
    NoVault,
    #[error("this account has a vault already")]
    VaultExists,
    #[error(
        "vault writes need the device's signature (Latch-Device, Latch-Timestamp, Latch-Signature)"
    )]
    DeviceSignatureRequired,
    #[error("device {0} is not a member of this vault")]
    DeviceNotMember(String),
    #[error("the ledger moved on (its head is entry {head}); fetch it and try again")]
    LedgerConflict { head: i64 },
    #[error("items are written under the current epoch, {current}; fetch its key share")]
    StaleEpoch { current: i64 },
    #[error("no pairing with this id is in progress")]
    PairingNotFound,
    #[error("the vault has no recovery wrap for epoch {0}")]
    WrapNotFound(i64),
    #[error("{0}")]
    InvalidClient(#[from] crate::oidc::client::ClientError),
    #[error("there is no OpenID Connect client {0:?}")]
    ClientNotFound(String),
    #[error("an OpenID Connect client {0:?} exists already")]
    ClientExists(String),
    #[error(
        "this sign-in request for an app has ended or expired: go back to the app and start again"
    )]
    OidcRequestGone,
    #[error("the app's sign-in request cannot be answered: {0}")]
    OidcRequestRefused(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Ceremony(_)
            | ApiError::InvalidBody(_)
            | ApiError::InvalidUsername(_)
            | ApiError::InvalidDisplayName(_)
            | ApiError::InvalidCredentialName(_)
            | ApiError::CeremonyNotFound
            | ApiError::CeremonyExpired
            | ApiError::UnknownCredential
            | ApiError::CounterRaced => StatusCode::BAD_REQUEST,
            ApiError::InvalidContentType(_) | ApiError::DuplicateCookie(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::CrossSiteRequest { .. } | ApiError::OriginForbidden(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::WeakPassword(_) | ApiError::InvalidCode => StatusCode::BAD_REQUEST,
            ApiError::InvalidCredentials | ApiError::NoPendingSignIn => StatusCode::UNAUTHORIZED,
            ApiError::CurrentPasswordIncorrect => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts { .. } | ApiError::TooManyFactorFailures => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            ApiError::ReauthMethodUnavailable(_) => StatusCode::BAD_REQUEST,
            ApiError::TrustedBrowserNotFound => StatusCode::NOT_FOUND,
            ApiError::TotpAlreadyEnabled => StatusCode::CONFLICT,
            ApiError::TooManyCredentials { .. } | ApiError::SecurityKeysBelowMinimum { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::AdminRequired => StatusCode::FORBIDDEN,
            ApiError::InvalidPolicy(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::TotpNotEnrolled => StatusCode::NOT_FOUND,
            ApiError::CeremonyUserMismatch => StatusCode::FORBIDDEN,
            ApiError::NotSignedIn | ApiError::SessionExpired => StatusCode::UNAUTHORIZED,
            ApiError::UsernameTaken | ApiError::CredentialExists | ApiError::LastCredential => {
                StatusCode::CONFLICT
            }
            ApiError::CredentialNotFound | ApiError::SessionNotFound | ApiError::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::Vault(_) => StatusCode::BAD_REQUEST,
            ApiError::NoVault | ApiError::PairingNotFound | ApiError::WrapNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::VaultExists
            | ApiError::LedgerConflict { .. }
            | ApiError::StaleEpoch { .. } => StatusCode::CONFLICT,
            ApiError::DeviceSignatureRequired => StatusCode::UNAUTHORIZED,
            ApiError::DeviceNotMember(_) => StatusCode::FORBIDDEN,
            ApiError::InvalidClient(_) | ApiError::OidcRequestRefused(_) => StatusCode::BAD_REQUEST,
            ApiError::ClientNotFound(_) | ApiError::OidcRequestGone => StatusCode::NOT_FOUND,
            ApiError::ClientExists(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MetricsPrivate => StatusCode::FORBIDDEN,
            ApiError::MetricsTokenRequired => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Ceremony(e) => e.code(),
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidContentType(_) => "invalid_content_type",
            ApiError::DuplicateCookie(_) => "duplicate_cookie",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::CrossSiteRequest { .. } => "cross_site_request",
            ApiError::OriginForbidden(_) => "origin_forbidden",
            ApiError::InvalidUsername(_) => "invalid_username",
            ApiError::InvalidDisplayName(_) => "invalid_display_name",
            ApiError::InvalidCredentialName(_) => "invalid_credential_name",
            ApiError::UsernameTaken => "username_taken",
            ApiError::CeremonyNotFound => "ceremony_not_found",
            ApiError::CeremonyExpired => "ceremony_expired",
            ApiError::CredentialExists => "credential_exists",
            ApiError::UnknownCredential => "unknown_credential",
            ApiError::CounterRaced => "counter_regressed",
            ApiError::NotSignedIn => "not_signed_in",
            ApiError::SessionExpired => "session_expired",
            ApiError::CeremonyUserMismatch => "ceremony_user_mismatch",
            ApiError::CredentialNotFound => "credential_not_found",
            ApiError::LastCredential => "last_credential",
            ApiError::SessionNotFound => "session_not_found",
            ApiError::WeakPassword(_) => "weak_password",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::ReauthenticationRequired => "reauthentication_required",
            ApiError::ReauthMethodUnavailable(_) => "reauth_method_unavailable",
            ApiError::TrustedBrowserNotFound => "trusted_browser_not_found",
            ApiError::CurrentPasswordIncorrect => "current_password_incorrect",
            ApiError::NoPendingSignIn => "no_pending_sign_in",
            ApiError::InvalidCode => "invalid_code",
            ApiError::TooManyFactorFailures => "too_many_attempts",
            ApiError::TotpAlreadyEnabled => "totp_already_enabled",
            ApiError::TotpNotEnrolled => "totp_not_enrolled",
            ApiError::TooManyCredentials { .. } => "too_many_credentials",
            ApiError::SecurityKeysBelowMinimum { .. } => "security_keys_below_minimum",
            ApiError::AdminRequired => "admin_required",
            ApiError::InvalidPolicy(_) => "invalid_policy",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::RouteNotFound => "not_found",
            ApiError::Vault(_) => "vault_refused",
            ApiError::NoVault => "no_vault",
            ApiError::VaultExists => "vault_exists",
            ApiError::DeviceSignatureRequired => "device_signature_required",
            ApiError::DeviceNotMember(_) => "device_not_member",
            ApiError::LedgerConflict { .. } => "ledger_conflict",
            ApiError::StaleEpoch { .. } => "stale_epoch",
            ApiError::PairingNotFound => "pairing_not_found",
            ApiError::WrapNotFound(_) => "wrap_not_found",
            ApiError::InvalidClient(_) => "invalid_client_registration",
            ApiError::ClientNotFound(_) => "client_not_found",
            ApiError::ClientExists(_) => "client_exists",
            ApiError::OidcRequestGone => "oauth_request_gone",
            ApiError::OidcRequestRefused(_) => "oauth_request_refused",
            ApiError::Internal(_) => "internal",
            ApiError::Busy { .. } => "busy",
            ApiError::MetricsPrivate => "metrics_private",
            ApiError::MetricsTokenRequired => "metrics_token_required",
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }
}

impl From<crate::store::DbError> for ApiError {
    fn from(e: crate::store::DbError) -> ApiError {
        ApiError::internal(format_args!("database: {e}"))
    }
}

impl From<crate::store::commit::CommitError> for ApiError {
    fn from(e: crate::store::commit::CommitError) -> ApiError {
        use crate::store::commit::CommitError;
        match e {
            CommitError::CeremonyUsed => ApiError::CeremonyNotFound,
            CommitError::CeremonyExpired => ApiError::CeremonyExpired,
            CommitError::UsernameTaken => ApiError::UsernameTaken,
            CommitError::CredentialExists => ApiError::CredentialExists,
            CommitError::TooManyCredentials { max } => ApiError::TooManyCredentials { max },
            CommitError::AccountGone | CommitError::SessionGone => ApiError::NotSignedIn,
            CommitError::CredentialGone => ApiError::UnknownCredential,
            CommitError::CounterRaced => ApiError::CounterRaced,
            CommitError::NoPendingSession => ApiError::NoPendingSignIn,
            CommitError::Db(e) => e.into(),
        }
    }
}

/// The stable code of an error response, left in the response's extensions for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(cause) => {
                // The cause stays in the server's log; the client learns only that it failed.
                eprintln!("latch-server: internal error: {cause}");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let body = json!({ "error": { "code": self.code(), "message": message } });
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code()));
        if let ApiError::TooManyAttempts { retry_after } | ApiError::Busy { retry_after } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after.max(1)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let response = ApiError::internal("disk on fire at /var/lib/x").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn ceremony_errors_keep_the_core_code() {
        let e = ApiError::from(latch_webauthn::Error::ChallengeMismatch);
        assert_eq!(e.code(), "challenge_mismatch");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
