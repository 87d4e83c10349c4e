//! Server-wide values every instance shares.

use super::db::{self, Conn, DbError};

/// Returns the value stored under `key`, storing `fresh` first if there is none. Two
/// instances racing here both end up with whichever value was inserted first.
pub async fn get_or_insert(conn: &mut Conn, key: &str, fresh: &[u8]) -> Result<Vec<u8>, DbError> {
    db::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(fresh.to_vec())
        .execute(&mut *conn)
        .await?;
    let row = db::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("value")
}
