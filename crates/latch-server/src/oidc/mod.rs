//! The OpenID Connect provider's protocol, apart from HTTP and storage: signing keys and
//! JWTs (`keys`, `jwt`), registered clients (`client`), authorization requests and PKCE
//! (`request`), and the OAuth errors (`error`). `routes/oidc` serves it; `store/oidc` keeps
//! its state, so any node can take any step of a flow another began.

pub mod client;
pub mod error;
pub mod jwt;
pub mod keys;
pub mod request;

/// How long an authorization request may wait for its sign-in, step-up and consent.
pub const REQUEST_TTL: i64 = 600;
/// How long a code may wait for its exchange (RFC 6749 §4.1.2 asks for at most 10 minutes).
pub const CODE_TTL: i64 = 60;
/// How long an access token works.
pub const ACCESS_TTL: i64 = 900;
/// How long an ID token is valid.
pub const ID_TOKEN_TTL: i64 = 600;
/// How long a grant (and so every refresh token in it) lasts from its sign-in.
pub const GRANT_TTL: i64 = 30 * 24 * 3600;
/// A signing key signs this long before a new one replaces it...
pub const KEY_SIGNS_FOR: i64 = 30 * 24 * 3600;
/// ...and stays published this long after, so that tokens it signed still verify.
pub const KEY_PUBLISHED_AFTER: i64 = 7 * 24 * 3600;

/// The scopes this provider knows; others asked for are left out of the grant.
pub const SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];
