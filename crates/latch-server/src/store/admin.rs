//! Administrators, and the audit log across every account.

use super::db::{self, Conn, DbError};

pub async fn is_admin(conn: &mut Conn, user_id: i64) -> Result<bool, DbError> {
    let row = db::query("SELECT is_admin FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64>("is_admin")? != 0,
        None => false,
    })
}

/// What making the administrators exactly a given set of usernames changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminChanges {
    /// Listed usernames that have no account (nothing was changed).
    pub missing: Vec<String>,
    /// (id, username) of accounts made administrators, and of those no longer.
    pub granted: Vec<(i64, String)>,
    pub removed: Vec<(i64, String)>,
}

/// Makes the administrators exactly the accounts of `usernames` (inside the caller's
/// transaction); changes nothing when one of them has no account.
pub async fn set_admins(conn: &mut Conn, usernames: &[String]) -> Result<AdminChanges, DbError> {
    let mut changes = AdminChanges::default();
    let mut listed = Vec::new();
    for name in usernames {
        let row = db::query("SELECT id, is_admin FROM users WHERE username = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            None => changes.missing.push(name.clone()),
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                if row.try_get::<i64>("is_admin")? == 0 {
                    changes.granted.push((id, name.clone()));
                }
                listed.push(id);
            }
        }
    }
    if !changes.missing.is_empty() {
        changes.granted.clear();
        return Ok(changes);
    }
    let current = db::query("SELECT id, username FROM users WHERE is_admin = 1")
        .fetch_all(&mut *conn)
        .await?;
    for row in &current {
        let id: i64 = row.try_get("id")?;
        if !listed.contains(&id) {
            changes.removed.push((id, row.try_get("username")?));
        }
    }
    for (id, flag) in changes
        .granted
        .iter()
        .map(|(id, _)| (id, 1))
        .chain(changes.removed.iter().map(|(id, _)| (id, 0)))
    {
        db::query("UPDATE users SET is_admin = $1 WHERE id = $2")
            .bind(flag)
            .bind(*id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(changes)
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
    conn: &mut Conn,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<LoggedEvent>, DbError> {
    let rows = db::query(
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
