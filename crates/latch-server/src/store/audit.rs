//! The audit log: what happened to an account, written in the same transaction as the change.

use super::db::{self, Conn, DbError};

/// Who called: what an event records of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Records an event with who called (IP and user agent).
pub async fn log(
    conn: &mut Conn,
    user_id: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
    caller: impl Into<Caller>,
    now: i64,
) -> Result<(), DbError> {
    insert(conn, user_id, kind, detail, &caller.into(), now).await
}

/// [`log`] for a caller already known as a [`Caller`].
pub async fn insert(
    conn: &mut Conn,
    user_id: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
    caller: &Caller,
    now: i64,
) -> Result<(), DbError> {
    db::query(
        "INSERT INTO audit_events (user_id, kind, detail, ip, user_agent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(detail.to_string())
    .bind(caller.ip.clone())
    .bind(caller.user_agent.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl super::Store {
    /// Records an event as a durable write of its own (not part of another change).
    pub async fn log_event(
        &self,
        user_id: Option<i64>,
        kind: &'static str,
        detail: serde_json::Value,
        caller: Caller,
        now: i64,
    ) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move { insert(conn, user_id, kind, &detail, &caller, now).await })
        })
        .await
    }
}

/// Records an event knowing only the caller's IP (see [`log`]).
pub async fn record(
    conn: &mut Conn,
    user_id: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
    ip: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    db::query(
        "INSERT INTO audit_events (user_id, kind, detail, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(detail.to_string())
    .bind(ip)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
}

/// The user's most recent events, newest first.
pub async fn of_user(conn: &mut Conn, user_id: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    let rows = db::query(
        "SELECT kind, detail, ip, user_agent, created_at FROM audit_events WHERE user_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                kind: row.try_get("kind")?,
                detail: row.try_get("detail")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
