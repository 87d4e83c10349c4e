//! The one read a passkey sign-in's finish makes: the credential with its owner, the stored
//! policy and the attempt counts its rate limits look at, in one statement. On SQLite every
//! statement on a pooled connection is a read transaction of its own, which after any write
//! starts from an empty page cache; one statement instead of three is most of the finish's
//! database time.

use std::sync::LazyLock;

use super::db::{self, Conn, DbError};

use super::credentials::{self, Credential};
use super::users::User;

/// What [`read`] found.
#[derive(Debug)]
pub struct SignInRead {
    /// The credential and its account, if the id names one.
    pub found: Option<(Credential, User)>,
    /// The stored policy's bytes, if one was ever stored (see [`super::policy::raw`]).
    pub policy: Option<Vec<u8>>,
    /// Attempts so far for each (scope, key, window start) asked for, in order.
    pub attempts: Vec<i64>,
}

/// The attempt counts one query can carry (a finish checks two limits).
pub const MAX_LIMITS: usize = 2;

static SQL: LazyLock<String> = LazyLock::new(|| {
    let limits = (0..MAX_LIMITS)
        .map(|i| {
            let n = 3 + 3 * i;
            format!(
                "(SELECT attempts FROM rate_limits WHERE scope = ${} AND key = ${} \
                 AND window_start = ${}) AS attempts_{i}",
                n,
                n + 1,
                n + 2
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {}, (SELECT value FROM settings WHERE key = $2) AS policy, {limits} \
         FROM (SELECT 1 AS one) AS one \
         LEFT JOIN credentials c ON c.id = $1 \
         LEFT JOIN users u ON u.id = c.user_id",
        credentials::OWNED_COLUMNS.as_str()
    )
});

/// Reads what a sign-in with `credential_id` needs; `limits` holds at most [`MAX_LIMITS`]
/// (scope, key, window start) triples (the rest are not counted).
pub async fn read(
    conn: &mut Conn,
    credential_id: &[u8],
    limits: &[(&str, &str, i64)],
) -> Result<SignInRead, DbError> {
    let mut query = db::query(SQL.as_str())
        .bind(credential_id.to_vec())
        .bind(super::policy::KEY);
    for i in 0..MAX_LIMITS {
        // An unused slot asks for a scope no limit has.
        let (scope, key, start) = limits.get(i).copied().unwrap_or(("", "", 0));
        query = query.bind(scope).bind(key).bind(start);
    }
    let row = query.fetch_one(&mut *conn).await?;
    let found = match row.try_get::<Option<Vec<u8>>>("id")? {
        Some(_) => Some(credentials::owned_from_row(&row)?),
        None => None,
    };
    let mut attempts = Vec::with_capacity(limits.len());
    for i in 0..limits.len().min(MAX_LIMITS) {
        let n: Option<i64> = row.try_get(format!("attempts_{i}").as_str())?;
        attempts.push(n.unwrap_or(0));
    }
    Ok(SignInRead {
        found,
        policy: row.try_get("policy")?,
        attempts,
    })
}
