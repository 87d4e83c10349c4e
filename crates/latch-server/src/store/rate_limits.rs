//! Attempt counters in fixed windows, kept in the database so that every instance sees the
//! same counts. One row per (scope, key, window); rows are swept once their window is over.

use sqlx::{AnyConnection, Row};

/// Counts one attempt in the window starting at `window_start` and returns the count so far
/// (this attempt included). One statement, so concurrent attempts never lose a count.
pub async fn hit(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    window_start: i64,
    expires_at: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO rate_limits (scope, key, window_start, attempts, expires_at) \
         VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (scope, key, window_start) \
         DO UPDATE SET attempts = rate_limits.attempts + 1 \
         RETURNING attempts",
    )
    .bind(scope)
    .bind(key)
    .bind(window_start)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get("attempts")
}

/// The attempts counted so far in the window (0 when none).
pub async fn count(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    window_start: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT attempts FROM rate_limits WHERE scope = $1 AND key = $2 AND window_start = $3",
    )
    .bind(scope)
    .bind(key)
    .bind(window_start)
    .fetch_optional(&mut *conn)
    .await?;
    row.map_or(Ok(0), |r| r.try_get("attempts"))
}

/// Forgets the attempts of `key` in `scope` (after a success).
pub async fn reset(conn: &mut AnyConnection, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM rate_limits WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the rows of windows that are over.
pub async fn purge_expired(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
