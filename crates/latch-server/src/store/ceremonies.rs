//! Begun ceremonies, kept in the database so any instance can finish what another began.

use super::db::{self, Conn, DbError};

/// A stored ceremony, as its finish reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub user_id: Option<i64>,
    pub state: String,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &mut Conn,
    id: &[u8],
    kind: &str,
    user_id: Option<i64>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    db::query(
        "INSERT INTO ceremonies (id, kind, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_vec())
    .bind(kind)
    .bind(user_id)
    .bind(state)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes ceremonies that expired before `now`.
pub async fn purge_expired(conn: &mut Conn, now: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The ceremony the token hash names, left in place (a finish that verifies before it writes
/// reads it first, then [`delete`]s it inside its write).
pub async fn get(conn: &mut Conn, id: &[u8], kind: &str) -> Result<Option<Stored>, DbError> {
    let row =
        db::query("SELECT user_id, state, expires_at FROM ceremonies WHERE id = $1 AND kind = $2")
            .bind(id.to_vec())
            .bind(kind)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|row| {
        Ok(Stored {
            user_id: row.try_get("user_id")?,
            state: row.try_get("state")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Whether the ceremony is still stored (not yet used up, whatever its kind or expiry).
pub async fn exists(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let row = db::query("SELECT 1 AS stored FROM ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Deletes the ceremony; false when it is gone already (another finish took it).
pub async fn delete(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the sealed ceremony token with this hash was accepted; false when it was
/// accepted before (a replay). Inside the finish's transaction, so a failed finish leaves the
/// token usable.
pub async fn mark_used(conn: &mut Conn, id: &[u8], expires_at: i64) -> Result<bool, DbError> {
    let done = db::query(
        "INSERT INTO used_ceremonies (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id.to_vec())
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the sealed ceremony token with this hash was accepted already.
pub async fn is_used(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let row = db::query("SELECT 1 AS used FROM used_ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Removes used-token records whose tokens expired before `now` (they could not be replayed
/// anyway).
pub async fn purge_used(conn: &mut Conn, now: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM used_ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
