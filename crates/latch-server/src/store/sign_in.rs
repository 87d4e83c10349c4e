//! The one read a passkey sign-in's finish makes: the credential with its owner, the stored
//! policy and the attempt counts its rate limits look at, in one statement. On SQLite every
//! statement on a pooled connection is a read transaction of its own, which after any write
//! starts from an empty page cache; one statement instead of three is most of the finish's
//! database time.

use std::sync::LazyLock;

use sqlx::{AnyConnection, Row};

use super::credentials::{self, Credential, Use};
use super::sessions::{self, NewSession};
use super::users::User;
use super::{audit, ceremonies, is_unique_violation, shift_parameters};
use crate::http::ClientMeta;

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
    conn: &mut AnyConnection,
    credential_id: &[u8],
    limits: &[(&str, &str, i64)],
) -> Result<SignInRead, sqlx::Error> {
    let mut query = sqlx::query(SQL.as_str())
        .bind(credential_id.to_vec())
        .bind(super::policy::KEY);
    for i in 0..MAX_LIMITS {
        // An unused slot asks for a scope no limit has.
        let (scope, key, start) = limits.get(i).copied().unwrap_or(("", "", 0));
        query = query.bind(scope).bind(key).bind(start);
    }
    let row = query.fetch_one(&mut *conn).await?;
    let found = match row.try_get::<Option<Vec<u8>>, _>("id")? {
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

/// Everything a passkey sign-in writes once its assertion verified.
#[derive(Debug)]
pub struct SignInWrite<'a> {
    /// The sealed ceremony token's hash and expiry: it is marked used.
    pub ceremony: (&'a [u8], i64),
    pub credential_id: &'a [u8],
    pub usage: Use,
    /// The `login` audit event's detail, and who called.
    pub detail: &'a serde_json::Value,
    pub meta: &'a ClientMeta,
    pub session: NewSession<'a>,
}

/// How [`record`] ended; on anything but `Done` the caller must roll back (the statements
/// after a failed check may have run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Done,
    /// The ceremony token was used before: a replay.
    CeremonyUsed,
    /// The stored counter moved past this sign-in's since it was checked.
    CounterRaced,
    /// The credential (or its account) was deleted since it was checked.
    CredentialGone,
}

static RECORD_SQL: LazyLock<String> = LazyLock::new(|| {
    let mut sql = String::new();
    let mut before = 0;
    for (statement, parameters) in [
        ceremonies::MARK_USED_STRICT,
        credentials::RECORD_USE,
        audit::LOG,
        sessions::INSERT,
    ] {
        sql.push_str(&shift_parameters(statement, before));
        sql.push_str(";\n");
        before += parameters;
    }
    sql
});

/// Writes a sign-in as one query of four statements: the ceremony is marked used, the counter
/// moves, the event is logged and the session created. SQLite only (PostgreSQL takes one
/// statement per query); there, one query is one round trip to SQLite's thread instead of
/// four, on the group-commit writer, the one serial part of the server.
pub async fn record(
    conn: &mut AnyConnection,
    user_id: i64,
    w: &SignInWrite<'_>,
) -> Result<Recorded, sqlx::Error> {
    let query = sqlx::query(RECORD_SQL.as_str());
    let query = ceremonies::bind_mark_used(query, w.ceremony.0, w.ceremony.1);
    let query = credentials::bind_record_use(query, w.credential_id, w.usage);
    let query = audit::bind_log(query, Some(user_id), "login", w.detail, w.meta, w.usage.now);
    let query = sessions::bind_insert(query, &w.session);
    match query.execute(&mut *conn).await {
        // Only the first statement can conflict (session ids are random), and it stops the rest.
        Err(e) if is_unique_violation(&e) => Ok(Recorded::CeremonyUsed),
        // The account is gone: its event and session have nobody to belong to.
        Err(e)
            if e.as_database_error()
                .is_some_and(|d| d.is_foreign_key_violation()) =>
        {
            Ok(Recorded::CredentialGone)
        }
        Err(e) => Err(e),
        // One row each: the ceremony, the credential, the event and the session.
        Ok(done) => match done.rows_affected() {
            4 => Ok(Recorded::Done),
            // The counter did not move: it raced ahead, or the credential is gone.
            3 => match credentials::exists(conn, w.credential_id).await? {
                true => Ok(Recorded::CounterRaced),
                false => Ok(Recorded::CredentialGone),
            },
            n => Err(sqlx::Error::Protocol(format!(
                "a sign-in's write changed {n} rows, not 4"
            ))),
        },
    }
}
