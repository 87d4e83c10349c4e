//! WebAuthn credentials (passkeys and security keys).

use std::sync::LazyLock;

use super::db::{self, Conn, DbError, Row};

use super::flag;
use super::users::User;

/// A stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Vec<u8>,
    pub user_id: i64,
    /// The COSE_Key exactly as the authenticator encoded it.
    pub public_key: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub transports: Vec<String>,
    pub aaguid: [u8; 16],
    pub attestation_fmt: String,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub user_verified: bool,
    /// credProps.rk, when the client reported it.
    pub discoverable: Option<bool>,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, public_key, alg, sign_count, transports, aaguid, \
    attestation_fmt, backup_eligible, backed_up, user_verified, discoverable, name, created_at, \
    last_used_at";

fn decode_error(column: &str, what: &str) -> DbError {
    DbError::decode(column, what)
}

fn from_row(row: &Row) -> Result<Credential, DbError> {
    let sign_count: i64 = row.try_get("sign_count")?;
    let transports: String = row.try_get("transports")?;
    let aaguid: Vec<u8> = row.try_get("aaguid")?;
    let discoverable: Option<i64> = row.try_get("discoverable")?;
    Ok(Credential {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        public_key: row.try_get("public_key")?,
        alg: row.try_get("alg")?,
        sign_count: u32::try_from(sign_count)
            .map_err(|_| decode_error("sign_count", "out of the u32 range"))?,
        transports: serde_json::from_str(&transports)
            .map_err(|_| decode_error("transports", "not a JSON array of strings"))?,
        aaguid: aaguid
            .try_into()
            .map_err(|_| decode_error("aaguid", "not 16 bytes"))?,
        attestation_fmt: row.try_get("attestation_fmt")?,
        backup_eligible: row.try_get::<i64>("backup_eligible")? != 0,
        backed_up: row.try_get::<i64>("backed_up")? != 0,
        user_verified: row.try_get::<i64>("user_verified")? != 0,
        discoverable: discoverable.map(|d| d != 0),
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

pub async fn by_id(conn: &mut Conn, id: &[u8]) -> Result<Option<Credential>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM credentials WHERE id = $1");
    let row = db::query(&sql)
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The columns of a credential (`c`) joined with its owner (`u`), as [`owned_from_row`]
/// reads them.
pub(super) static OWNED_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let credential = COLUMNS
        .split(", ")
        .map(|c| format!("c.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{credential}, u.username AS u_username, u.display_name AS u_display_name, \
         u.user_handle AS u_user_handle, u.password_hash AS u_password_hash, \
         u.created_at AS u_created_at"
    )
});

/// A credential and its owner from a row of [`OWNED_COLUMNS`].
pub(super) fn owned_from_row(row: &Row) -> Result<(Credential, User), DbError> {
    let credential = from_row(row)?;
    let user = User {
        id: credential.user_id,
        username: row.try_get("u_username")?,
        display_name: row.try_get("u_display_name")?,
        user_handle: row.try_get("u_user_handle")?,
        password_hash: row.try_get("u_password_hash")?,
        created_at: row.try_get("u_created_at")?,
    };
    Ok((credential, user))
}

/// The credential with this id and the account that owns it, in one query (a sign-in needs
/// both).
pub async fn with_owner(conn: &mut Conn, id: &[u8]) -> Result<Option<(Credential, User)>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM credentials c JOIN users u ON u.id = c.user_id WHERE c.id = $1",
            OWNED_COLUMNS.as_str()
        )
    });
    let row = db::query(SQL.as_str())
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(owned_from_row).transpose()
}

/// The account with this username and its credentials (oldest first), in one query.
pub async fn of_username(
    conn: &mut Conn,
    username: &str,
) -> Result<Option<(User, Vec<Credential>)>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT u.id AS u_id, {} FROM users u LEFT JOIN credentials c ON c.user_id = u.id \
             WHERE u.username = $1 ORDER BY c.created_at, c.id",
            OWNED_COLUMNS.as_str()
        )
    });
    let rows = db::query(SQL.as_str())
        .bind(username)
        .fetch_all(&mut *conn)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = User {
        id: first.try_get("u_id")?,
        username: first.try_get("u_username")?,
        display_name: first.try_get("u_display_name")?,
        user_handle: first.try_get("u_user_handle")?,
        password_hash: first.try_get("u_password_hash")?,
        created_at: first.try_get("u_created_at")?,
    };
    let mut credentials = Vec::with_capacity(rows.len());
    for row in &rows {
        // An account without credentials comes back as one row with no credential columns.
        if row.try_get::<Option<Vec<u8>>>("id")?.is_some() {
            credentials.push(from_row(row)?);
        }
    }
    Ok(Some((user, credentials)))
}

/// The user's credentials, oldest first.
pub async fn of_user(conn: &mut Conn, user_id: i64) -> Result<Vec<Credential>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM credentials WHERE user_id = $1 ORDER BY created_at, id");
    let rows = db::query(&sql).bind(user_id).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Whether a credential with this id is stored.
pub async fn exists(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let row = db::query("SELECT 1 AS stored FROM credentials WHERE id = $1")
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

pub async fn count_of_user(conn: &mut Conn, user_id: i64) -> Result<i64, DbError> {
    let row = db::query("SELECT COUNT(*) AS n FROM credentials WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

/// Inserts a credential; an id that exists already fails with a unique violation.
pub async fn insert(conn: &mut Conn, c: &Credential) -> Result<(), DbError> {
    let transports =
        serde_json::to_string(&c.transports).map_err(|e| DbError::Encode(Box::new(e)))?;
    let sql = format!(
        "INSERT INTO credentials ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    db::query(&sql)
        .bind(c.id.clone())
        .bind(c.user_id)
        .bind(c.public_key.clone())
        .bind(c.alg)
        .bind(i64::from(c.sign_count))
        .bind(transports)
        .bind(c.aaguid.to_vec())
        .bind(c.attestation_fmt.as_str())
        .bind(flag(c.backup_eligible))
        .bind(flag(c.backed_up))
        .bind(flag(c.user_verified))
        .bind(c.discoverable.map(flag))
        .bind(c.name.as_str())
        .bind(c.created_at)
        .bind(c.last_used_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What a verified sign-in changes on its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub now: i64,
}

/// Records a sign-in. The counter moves only forward: the update applies only while the stored
/// counter is below the new one (or both are zero, for authenticators that keep no counter),
/// so two concurrent sign-ins can never move it backwards. Returns whether it applied.
pub async fn record_use(conn: &mut Conn, id: &[u8], u: Use) -> Result<bool, DbError> {
    let done = db::query(
        "UPDATE credentials SET sign_count = $1, backup_eligible = $2, backed_up = $3, \
         last_used_at = $4 \
         WHERE id = $5 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))",
    )
    .bind(i64::from(u.sign_count))
    .bind(flag(u.backup_eligible))
    .bind(flag(u.backed_up))
    .bind(u.now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Renames the user's credential; false when the user has no such credential.
pub async fn rename(
    conn: &mut Conn,
    user_id: i64,
    id: &[u8],
    name: &str,
) -> Result<Option<Credential>, DbError> {
    let sql = format!(
        "UPDATE credentials SET name = $1 WHERE id = $2 AND user_id = $3 RETURNING {COLUMNS}"
    );
    let row = db::query(&sql)
        .bind(name)
        .bind(id.to_vec())
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes the user's credential; false when the user has no such credential.
pub async fn delete(conn: &mut Conn, user_id: i64, id: &[u8]) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM credentials WHERE id = $1 AND user_id = $2")
        .bind(id.to_vec())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
