//! Signed-in sessions. The cookie holds a random token; the table holds its SHA-256.

use super::db::{self, Conn, DbError};

use super::flag;

/// What a new session records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The credential that signed in, when a passkey or key did.
    pub credential_id: Option<&'a [u8]>,
    pub second_factor_done: bool,
    /// Whether the sign-in proved who the owner is, so that it counts as recent for sensitive
    /// changes; a password sign-in that a trusted browser let skip the second factor does not.
    pub proven: bool,
    /// How the owner signed in ([`crate::amr::Amr::stored`]).
    pub amr: &'a str,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub second_factor_done: bool,
    /// When the owner last proved who they are (sign-in or re-authentication).
    pub authenticated_at: i64,
    /// How the owner signed in and re-authenticated ([`crate::amr::Amr::stored`]).
    pub amr: String,
    /// The key that signed in, when one did.
    pub credential_id: Option<Vec<u8>>,
}

pub async fn insert(conn: &mut Conn, s: &NewSession<'_>) -> Result<(), DbError> {
    db::query(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, \
         user_agent, credential_id, second_factor_done, authenticated_at, amr) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(s.id_hash.to_vec())
    .bind(s.user_id)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.ip.map(str::to_owned))
    .bind(s.user_agent.map(str::to_owned))
    .bind(s.credential_id.map(<[u8]>::to_vec))
    .bind(flag(s.second_factor_done))
    // Never recent: 0 is long before any sign-in.
    .bind(if s.proven { s.now } else { 0 })
    .bind(s.amr)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn by_id_hash(conn: &mut Conn, id_hash: &[u8]) -> Result<Option<Session>, DbError> {
    let row = db::query(
        "SELECT user_id, created_at, last_seen_at, expires_at, second_factor_done, \
         authenticated_at, amr, credential_id FROM sessions WHERE id = $1",
    )
    .bind(id_hash.to_vec())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(Session {
            user_id: row.try_get("user_id")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
            second_factor_done: row.try_get::<i64>("second_factor_done")? != 0,
            authenticated_at: row.try_get("authenticated_at")?,
            amr: row.try_get("amr")?,
            credential_id: row.try_get("credential_id")?,
        })
    })
    .transpose()
}

pub async fn touch(conn: &mut Conn, id_hash: &[u8], now: i64) -> Result<(), DbError> {
    db::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id_hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id_hash: &[u8]) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM sessions WHERE id = $1")
        .bind(id_hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A session as its owner sees it in the list of their sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub credential_id: Option<Vec<u8>>,
}

/// The user's complete sessions that have neither expired nor been unused since before
/// `seen_since`, most recently seen first.
pub async fn of_user(
    conn: &mut Conn,
    user_id: i64,
    now: i64,
    seen_since: i64,
) -> Result<Vec<Listed>, DbError> {
    let rows = db::query(
        "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent, credential_id \
         FROM sessions WHERE user_id = $1 AND expires_at > $2 AND last_seen_at >= $3 \
         AND second_factor_done = 1 ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .bind(seen_since)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Listed {
                id_hash: row.try_get("id")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                expires_at: row.try_get("expires_at")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                credential_id: row.try_get("credential_id")?,
            })
        })
        .collect()
}

/// Ends one of the user's sessions; false when the user has no such session.
pub async fn delete_of_user(
    conn: &mut Conn,
    user_id: i64,
    id_hash: &[u8],
) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(id_hash.to_vec())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a re-authentication on the session, and the methods it has proved with now
/// (`amr`, the sign-in's and this one's).
pub async fn set_authenticated(
    conn: &mut Conn,
    id_hash: &[u8],
    now: i64,
    amr: &str,
) -> Result<bool, DbError> {
    let done = db::query("UPDATE sessions SET authenticated_at = $1, amr = $3 WHERE id = $2")
        .bind(now)
        .bind(id_hash.to_vec())
        .bind(amr)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces how the session's owner is recorded as having proved who they are.
pub async fn set_amr(conn: &mut Conn, id_hash: &[u8], amr: &str) -> Result<(), DbError> {
    db::query("UPDATE sessions SET amr = $2 WHERE id = $1")
        .bind(id_hash.to_vec())
        .bind(amr)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of the user except `keep` (waiting sign-ins too); returns how many.
pub async fn delete_others_of_user(
    conn: &mut Conn,
    user_id: i64,
    keep: &[u8],
) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The ids of the user's sessions that `credential_id` signed in.
pub async fn ids_by_credential(
    conn: &mut Conn,
    user_id: i64,
    credential_id: &[u8],
) -> Result<Vec<Vec<u8>>, DbError> {
    let rows = db::query("SELECT id FROM sessions WHERE user_id = $1 AND credential_id = $2")
        .bind(user_id)
        .bind(credential_id.to_vec())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Ends the user's sessions that `credential_id` signed in; returns how many.
pub async fn delete_by_credential(
    conn: &mut Conn,
    user_id: i64,
    credential_id: &[u8],
) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM sessions WHERE user_id = $1 AND credential_id = $2")
        .bind(user_id)
        .bind(credential_id.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
