//! The PostgreSQL backend on `sqlx`: a pool of connections several `latch serve` instances
//! (on several hosts) may share a database through; ceremonies are kept in its tables.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use latch_webauthn::b64::Base64Url;
use serde_json::json;

use super::audit::Caller;
use super::commit::{Assertion, CommitError, Committed, NewSession};
use super::db::{self, Conn, DbError};
use super::{ceremonies, credentials, flag, Migrations, Schema, StoreError};

/// Connections per instance: enough for the requests two cores keep in flight.
const MAX_CONNECTIONS: u32 = 16;

/// The schema, embedded so the binary migrates its database wherever it runs; the same tables
/// as SQLite's. Never edit a released file (sqlx checks its checksum).
const SERVER_MIGRATIONS: Migrations = &[
    (
        1,
        "schema",
        include_str!("../../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "second factors",
        include_str!("../../migrations/postgres/0002_second_factors.sql"),
    ),
    (
        3,
        "policy",
        include_str!("../../migrations/postgres/0003_policy.sql"),
    ),
    (
        4,
        "security",
        include_str!("../../migrations/postgres/0004_security.sql"),
    ),
    (
        5,
        "sealed ceremonies",
        include_str!("../../migrations/postgres/0005_sealed_ceremonies.sql"),
    ),
    (
        6,
        "vault",
        include_str!("../../migrations/postgres/0006_vault.sql"),
    ),
    (
        7,
        "oidc",
        include_str!("../../migrations/postgres/0007_oidc.sql"),
    ),
];

/// A guardian's tables (`latch guardian`), in a database of its own.
const GUARDIAN_MIGRATIONS: Migrations = &[(
    1,
    "escrows",
    include_str!("../../migrations/guardian/postgres/0001_escrows.sql"),
)];

fn migrator(schema: Schema) -> Migrator {
    let migrations = match schema {
        Schema::Server => SERVER_MIGRATIONS,
        Schema::Guardian => GUARDIAN_MIGRATIONS,
    };
    Migrator {
        migrations: Cow::Owned(
            migrations
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect(),
        ),
        ignore_missing: false,
        // An advisory lock, so instances starting together migrate once.
        locking: true,
        no_tx: false,
    }
}

/// Connects to `url` and brings its schema up to date.
pub async fn connect(url: &str, schema: Schema) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .test_before_acquire(false)
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| StoreError::Connect(e.into()))?;
    migrator(schema)
        .run(&pool)
        .await
        .map_err(|e| StoreError::Migrate(DbError::Other(e.to_string())))?;
    Ok(pool)
}

/// A passkey sign-in's commit ([`Commit::SignIn`] with a stored ceremony) as one statement:
/// one round trip to PostgreSQL, where the general path takes six (`BEGIN`, four writes,
/// `COMMIT`). The ceremony is deleted, and only if it was there does the counter move
/// (re-checked as in `credentials::record_use`); only if it moved are the event logged and
/// the session inserted. A statement is atomic, so when the ceremony or the counter check
/// fails the division by zero at the end undoes the rest, and this reads why.
///
/// [`Commit::SignIn`]: super::commit::Commit::SignIn
const SIGN_IN: &str = "\
WITH used AS (
    DELETE FROM ceremonies WHERE id = $1 RETURNING id
), moved AS (
    UPDATE credentials
    SET sign_count = $2, backup_eligible = $3, backed_up = $4, last_used_at = $15
    WHERE id = $6 AND user_id = $7 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))
        AND EXISTS (SELECT 1 FROM used)
    RETURNING user_id
), event AS (
    INSERT INTO audit_events (user_id, kind, detail, ip, user_agent, created_at)
    SELECT user_id, 'login', $8, $9, $10, $5 FROM moved
    RETURNING id
), session AS (
    INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent,
        credential_id, second_factor_done, authenticated_at, amr)
    SELECT $11, user_id, $5, $5, $12, $9, $10, $6, $13, $14, $16 FROM moved
    RETURNING id
)
SELECT 1 / (SELECT COUNT(*) FROM moved) AS done, (SELECT COUNT(*) FROM event) AS events,
    (SELECT COUNT(*) FROM session) AS sessions";

/// PostgreSQL's code for a division by zero.
const DIVISION_BY_ZERO: &str = "22012";

/// The one-statement sign-in commit (see `SIGN_IN`) on a pooled connection.
pub async fn sign_in(
    conn: &mut Conn,
    ceremony: &[u8],
    assertion: &Assertion,
    session: &NewSession,
    caller: &Caller,
    now: i64,
) -> Result<Committed, CommitError> {
    let id = &assertion.credential_id;
    let detail = json!({ "credentialId": Base64Url(id.clone()) }).to_string();
    let done = db::query(SIGN_IN)
        .bind(ceremony)
        .bind(i64::from(assertion.usage.sign_count))
        .bind(flag(assertion.usage.backup_eligible))
        .bind(flag(assertion.usage.backed_up))
        .bind(now)
        .bind(id.as_slice())
        .bind(assertion.user_id)
        .bind(detail)
        .bind(caller.ip.clone())
        .bind(caller.user_agent.clone())
        .bind(session.id_hash.as_slice())
        .bind(session.expires_at)
        .bind(flag(session.second_factor_done))
        .bind(if session.proven { now } else { 0 })
        .bind(assertion.usage.now)
        .bind(session.amr.as_str())
        .fetch_one(conn)
        .await;
    match done {
        Ok(row) if row.try_get::<i64>("sessions")? == 1 && row.try_get::<i64>("events")? == 1 => {
            Ok(Committed::SignIn)
        }
        Ok(_) => Err(DbError::Other("a sign-in's statement wrote part of its rows".into()).into()),
        Err(DbError::Postgres(e))
            if e.as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == DIVISION_BY_ZERO) =>
        {
            // Nothing was written: say which check failed.
            if !ceremonies::exists(conn, ceremony).await? {
                return Err(CommitError::CeremonyUsed);
            }
            Err(match credentials::by_id(conn, id).await? {
                Some(c) if c.user_id == assertion.user_id => CommitError::CounterRaced,
                _ => CommitError::CredentialGone,
            })
        }
        Err(e) => Err(e.into()),
    }
}
