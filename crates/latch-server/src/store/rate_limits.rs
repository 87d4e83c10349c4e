//! Attempt counters in fixed windows, kept in the database so that every instance sees the
//! same counts. One row per (scope, key, window); rows are swept once their window is over.

use super::db::{self, Conn, DbError};

/// Counts one attempt in the window starting at `window_start` and returns the count so far
/// (this attempt included). One statement, so concurrent attempts never lose a count.
pub async fn hit(
    conn: &mut Conn,
    scope: &str,
    key: &str,
    window_start: i64,
    expires_at: i64,
) -> Result<i64, DbError> {
    let row = db::query(
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

/// The attempts counted so far for each (scope, key) in the windows given, in one query
/// (0 for a pair with none).
pub async fn counts(conn: &mut Conn, keys: &[(&str, &str, i64)]) -> Result<Vec<i64>, DbError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = (0..keys.len())
        .map(|i| {
            let n = 3 * i;
            format!(
                "(scope = ${} AND key = ${} AND window_start = ${})",
                n + 1,
                n + 2,
                n + 3
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!("SELECT scope, key, window_start, attempts FROM rate_limits WHERE {wanted}");
    let mut query = db::query(&sql);
    for (scope, key, window_start) in keys {
        query = query.bind(*scope).bind(*key).bind(*window_start);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut out = vec![0; keys.len()];
    for row in rows {
        let scope: String = row.try_get("scope")?;
        let key: String = row.try_get("key")?;
        let window_start: i64 = row.try_get("window_start")?;
        let attempts: i64 = row.try_get("attempts")?;
        for (slot, wanted) in out.iter_mut().zip(keys) {
            if *wanted == (scope.as_str(), key.as_str(), window_start) {
                *slot = attempts;
            }
        }
    }
    Ok(out)
}

/// Forgets the attempts of `key` in `scope` (after a success).
pub async fn reset(conn: &mut Conn, scope: &str, key: &str) -> Result<(), DbError> {
    db::query("DELETE FROM rate_limits WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the rows of windows that are over.
pub async fn purge_expired(conn: &mut Conn, now: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM rate_limits WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
