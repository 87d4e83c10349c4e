//! The pages people use Latch with: sign in, sign up, security info and the administrator's
//! policy page. Server-rendered from compile-time-checked templates (`templates/`), with small
//! plain JavaScript modules and one stylesheet (`assets/`) and a message catalogue per
//! language (`locales/`), all embedded in the binary.
//!
//! This crate only renders: the server decides who is signed in and serves the result. The
//! scripts do everything through the public `/api/v1` API, so whatever a page does an API
//! client can do too.

pub mod assets;
pub mod i18n;
mod pages;

pub use i18n::{negotiate, Locale};
pub use pages::{render, render_app_error, Page, Viewer};

/// The response headers every page and asset carries. No inline script or style anywhere, so
/// the policy can say `'self'` and nothing else; `data:` images are the authenticator icons
/// from FIDO metadata and the authenticator-app QR code.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
];
