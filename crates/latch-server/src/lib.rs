//! # latch-server
//!
//! The Latch identity server. Storage first: everything is kept through sqlx in SQLite (the
//! default) or PostgreSQL (many stateless instances sharing one database).

pub mod store;

pub use store::Store;
