//! Accounts.

use super::db::{self, Conn, DbError, Row};

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// The WebAuthn user handle (random, never the username).
    pub user_handle: Vec<u8>,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, display_name, user_handle, password_hash, created_at";

fn from_row(row: &Row) -> Result<User, DbError> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        user_handle: row.try_get("user_handle")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn by_username(conn: &mut Conn, username: &str) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
    let row = db::query(&sql)
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row = db::query(&sql).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts an account; a taken username fails with a unique violation.
pub async fn insert(
    conn: &mut Conn,
    username: &str,
    display_name: &str,
    user_handle: &[u8],
    now: i64,
) -> Result<User, DbError> {
    let sql = format!(
        "INSERT INTO users (username, display_name, user_handle, password_hash, created_at) \
         VALUES ($1, $2, $3, NULL, $4) RETURNING {COLUMNS}"
    );
    let row = db::query(&sql)
        .bind(username)
        .bind(display_name)
        .bind(user_handle.to_vec())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    from_row(&row)
}

/// Takes the account's row lock for the rest of the transaction (PostgreSQL locks the row,
/// SQLite the database), so checks such as "is this the last credential" cannot race.
pub async fn lock(conn: &mut Conn, id: i64) -> Result<bool, DbError> {
    let done = db::query("UPDATE users SET id = id WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Renames the account as people see it (the username stays).
pub async fn set_display_name(conn: &mut Conn, id: i64, display_name: &str) -> Result<(), DbError> {
    db::query("UPDATE users SET display_name = $1 WHERE id = $2")
        .bind(display_name)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
