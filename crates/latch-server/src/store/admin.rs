//! Administrators, and the audit log across every account.

use sqlx::{AnyConnection, Row};

pub async fn is_admin(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT is_admin FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>("is_admin")? != 0,
        None => false,
    })
}

/// Marks these accounts administrators; returns the usernames that have no account.
pub async fn mark_admins(
    conn: &mut AnyConnection,
    usernames: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut missing = Vec::new();
    for name in usernames {
        let done = sqlx::query("UPDATE users SET is_admin = 1 WHERE username = $1")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 0 {
            missing.push(name.clone());
        }
    }
    Ok(missing)
}

/// One event of the whole log, with its account's username (when it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub id: i64,
    pub username: Option<String>,
    pub user_handle: Option<Vec<u8>>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

/// Every account's events, newest first: those with an id below `before` (when given).
pub async fn events(
    conn: &mut AnyConnection,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<LoggedEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.id, u.username, u.user_handle, e.kind, e.detail, e.ip, e.created_at \
         FROM audit_events e LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.id < $1 ORDER BY e.id DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LoggedEvent {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                user_handle: row.try_get("user_handle")?,
                kind: row.try_get("kind")?,
                detail: row.try_get("detail")?,
                ip: row.try_get("ip")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
