//! The PostgreSQL backend on `sqlx`: a pool of connections several `latch serve` instances
//! (on several hosts) may share a database through; ceremonies are kept in its tables.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::db::DbError;
use super::StoreError;

/// Connections per instance: enough for the requests two cores keep in flight.
const MAX_CONNECTIONS: u32 = 16;

/// The schema, embedded so the binary migrates its database wherever it runs; the same tables
/// as SQLite's. Never edit a released file (sqlx checks its checksum).
const MIGRATIONS: &[(i64, &str, &str)] = &[
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
];

fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATIONS
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
pub async fn connect(url: &str) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .test_before_acquire(false)
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| StoreError::Connect(e.into()))?;
    migrator()
        .run(&pool)
        .await
        .map_err(|e| StoreError::Migrate(DbError::Other(e.to_string())))?;
    Ok(pool)
}
