//! The identity server through its public API, against SQLite and (when
//! `LATCH_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod attacks;
mod authenticator;
mod bodies;
mod ceremonies;
mod client;
mod credentials;
mod db;
mod instances;
mod limits;
mod login;
mod non_browser;
mod oidc;
mod ops;
mod pages;
mod password;
mod policy;
mod policy_admin;
mod reauth;
mod security_info;
mod sessions;
mod signup;
mod store;
mod trusted;
mod vault;
