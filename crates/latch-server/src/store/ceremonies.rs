//! Begun ceremonies, kept in the database so any instance can finish what another began.

use sqlx::{AnyConnection, Row};

/// A ceremony taken out of the store by its finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub user_id: Option<i64>,
    pub state: String,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &mut AnyConnection,
    id: &[u8],
    kind: &str,
    user_id: Option<i64>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
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

/// Deletes and returns the ceremony: a challenge answers one finish only. Run inside the
/// finish's transaction, so a finish that fails afterwards leaves the ceremony in place, and
/// as its first statement, so SQLite takes the write lock before anything is read.
pub async fn take(
    conn: &mut AnyConnection,
    id: &[u8],
    kind: &str,
) -> Result<Option<Taken>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM ceremonies WHERE id = $1 AND kind = $2 \
         RETURNING user_id, state, expires_at",
    )
    .bind(id.to_vec())
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(Taken {
            user_id: row.try_get("user_id")?,
            state: row.try_get("state")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Removes ceremonies that expired before `now`.
pub async fn purge_expired(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
