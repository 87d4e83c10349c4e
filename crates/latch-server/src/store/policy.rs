//! The stored policy (the `settings` row every instance reads) and who applied it.

use super::db::{self, Conn, DbError};
use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// The settings key of the stored policy.
pub const KEY: &str = "policy";
/// The settings key of the digest of the policy last applied from a file.
pub const FILE_DIGEST_KEY: &str = "policy_file_digest";
/// An upsert on this row serializes policy writers (PostgreSQL locks the row until commit;
/// SQLite transactions here take the write lock at BEGIN).
const LOCK_KEY: &str = "policy_lock";

/// The policy as stored, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub policy: Policy,
    /// "file" or "admin".
    pub source: String,
    pub updated_at: i64,
    /// The administrator who set it, for "admin".
    pub updated_by: Option<String>,
}

async fn get_raw(conn: &mut Conn, key: &str) -> Result<Option<Vec<u8>>, DbError> {
    let row = db::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("value")).transpose()
}

async fn put_raw(conn: &mut Conn, key: &str, value: &[u8]) -> Result<(), DbError> {
    db::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The stored policy's bytes (JSON of [`Stored`]), if one was ever stored.
pub async fn raw(conn: &mut Conn) -> Result<Option<Vec<u8>>, DbError> {
    get_raw(conn, KEY).await
}

/// Parses stored bytes.
pub fn parse(bytes: &[u8]) -> Result<Stored, DbError> {
    serde_json::from_slice(bytes).map_err(|e| DbError::decode("value", e.to_string()))
}

pub async fn get(conn: &mut Conn) -> Result<Option<Stored>, DbError> {
    raw(conn).await?.as_deref().map(parse).transpose()
}

pub async fn put(conn: &mut Conn, stored: &Stored) -> Result<(), DbError> {
    let bytes = serde_json::to_vec(stored).map_err(|e| DbError::Encode(Box::new(e)))?;
    put_raw(conn, KEY, &bytes).await
}

/// Serializes policy changes for the rest of the transaction.
pub async fn lock(conn: &mut Conn) -> Result<(), DbError> {
    put_raw(conn, LOCK_KEY, b"1").await
}

pub async fn file_digest(conn: &mut Conn) -> Result<Option<Vec<u8>>, DbError> {
    get_raw(conn, FILE_DIGEST_KEY).await
}

pub async fn set_file_digest(conn: &mut Conn, digest: &[u8]) -> Result<(), DbError> {
    put_raw(conn, FILE_DIGEST_KEY, digest).await
}
