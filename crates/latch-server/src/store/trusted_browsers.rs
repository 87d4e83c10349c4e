//! Trusted browsers: a password sign-in from one of these skips the second factor until the
//! row expires or is revoked. The cookie holds a random token; the table holds its SHA-256.

use super::db::{self, Conn, DbError, Row};

/// What a new trusted browser records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrusted<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// A trusted browser as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    pub id_hash: Vec<u8>,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

const COLUMNS: &str = "id, user_id, created_at, expires_at, last_used_at, ip, user_agent";

fn from_row(row: &Row) -> Result<Trusted, DbError> {
    Ok(Trusted {
        id_hash: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

pub async fn insert(conn: &mut Conn, t: &NewTrusted<'_>) -> Result<(), DbError> {
    db::query(
        "INSERT INTO trusted_browsers (id, user_id, created_at, expires_at, last_used_at, ip, \
         user_agent) VALUES ($1, $2, $3, $4, NULL, $5, $6)",
    )
    .bind(t.id_hash.to_vec())
    .bind(t.user_id)
    .bind(t.now)
    .bind(t.expires_at)
    .bind(t.ip)
    .bind(t.user_agent)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The unexpired trusted browser with this id, if any.
pub async fn live(conn: &mut Conn, id_hash: &[u8], now: i64) -> Result<Option<Trusted>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM trusted_browsers WHERE id = $1 AND expires_at > $2");
    let row = db::query(&sql)
        .bind(id_hash.to_vec())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn touch(conn: &mut Conn, id_hash: &[u8], now: i64) -> Result<(), DbError> {
    db::query("UPDATE trusted_browsers SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id_hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The user's unexpired trusted browsers, newest first.
pub async fn of_user(conn: &mut Conn, user_id: i64, now: i64) -> Result<Vec<Trusted>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM trusted_browsers WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, id"
    );
    let rows = db::query(&sql)
        .bind(user_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes one of the user's trusted browsers; false when the user has no such browser.
pub async fn delete_of_user(
    conn: &mut Conn,
    user_id: i64,
    id_hash: &[u8],
) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM trusted_browsers WHERE id = $1 AND user_id = $2")
        .bind(id_hash.to_vec())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every trusted browser of the user; returns how many there were.
pub async fn delete_all_of_user(conn: &mut Conn, user_id: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM trusted_browsers WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
