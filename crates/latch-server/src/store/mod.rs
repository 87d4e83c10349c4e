//! Storage: one SQL text for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Queries use `$n` placeholders (both drivers accept them), BIGINT for integers and flags,
//! and BLOB/BYTEA for bytes, which is exactly the set of types `Any` decodes the same way on
//! both backends. Every function takes a `&mut AnyConnection`, so the same code runs on a
//! pooled connection or inside a transaction: a finish step opens one transaction, and either
//! all of its writes commit or none do.

pub mod admin;
pub mod audit;
pub mod batch;
pub mod ceremonies;
pub mod credentials;
pub mod factors;
pub mod policy;
pub mod rate_limits;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod trusted_browsers;
pub mod users;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Transaction};

use crate::sealed::SealingKey;

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a `sqlite:` or `postgres(ql)://` URL.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://FILE, sqlite::memory: or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("the system RNG failed")]
    Rng,
    #[error("--admin {}: no such account; start without it, sign up as that user, then start again with --admin", .0.join(", "))]
    UnknownAdmins(Vec<String>),
    #[error("cannot read or create the ceremony key {path}: {source}")]
    SealingKey {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A pool of connections to the one database every `latch serve` instance shares.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite files: the group-commit writer ([`batch`]).
    batcher: Option<batch::Batcher>,
    /// SQLite files: the connections of [`Store::begin`], apart from the readers', so that
    /// transactions queueing for the write lock never leave reads without a connection.
    transactions: Option<AnyPool>,
    /// SQLite: the key that seals ceremonies into their cookies ([`crate::sealed`]), kept in
    /// `<database file>.key`. PostgreSQL instances, which may run on several hosts, keep
    /// ceremonies in the database instead.
    sealing: Option<Arc<SealingKey>>,
    /// Seals secrets kept in the database: the same key as `sealing` on SQLite, the
    /// `--key-file` on PostgreSQL.
    secrets: Option<Arc<SealingKey>>,
}

/// Pooled connections to a SQLite file for reads (and single-statement writes). Few: SQLite
/// serves each from a thread of its own, and after every commit a connection's next read
/// starts from an empty page cache, so connections that each read more often do less work
/// (measured with `latch bench login`: 4 did about 10% more sign-ins per second than 8, and
/// 2 about 15% fewer).
const SQLITE_READERS: u32 = 4;
/// Connections to a SQLite file for [`Store::begin`]'s transactions.
const SQLITE_TRANSACTIONS: u32 = 4;

/// What every SQLite connection runs first. Reading through a memory map spares a system call
/// per page whenever a connection's page cache was dropped because another one wrote.
const SQLITE_SETUP: &str =
    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456";

/// The schema, embedded so the binary migrates its database wherever it runs. The two
/// directories hold the same tables; never edit a released file (sqlx checks its checksum).
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../../migrations/sqlite/0001_schema.sql"),
    ),
    (
        2,
        "second factors",
        include_str!("../../migrations/sqlite/0002_second_factors.sql"),
    ),
    (
        3,
        "policy",
        include_str!("../../migrations/sqlite/0003_policy.sql"),
    ),
    (
        4,
        "security",
        include_str!("../../migrations/sqlite/0004_security.sql"),
    ),
    (
        5,
        "sealed ceremonies",
        include_str!("../../migrations/sqlite/0005_sealed_ceremonies.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
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

fn migrator(backend: Backend) -> Migrator {
    let files = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator {
        migrations: Cow::Owned(
            files
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
        // PostgreSQL takes an advisory lock, so instances starting together migrate once.
        locking: true,
        no_tx: false,
    }
}

/// The database file a SQLite URL names (`None` for an in-memory database).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The sealing key of a SQLite database: beside its file, or in memory for a memory database.
fn sqlite_sealing_key(url: &str) -> Result<SealingKey, StoreError> {
    let Some(file) = sqlite_file(url) else {
        return SealingKey::ephemeral().map_err(|_| StoreError::Rng);
    };
    let mut path = file.into_os_string();
    path.push(".key");
    let path = PathBuf::from(path);
    SealingKey::load_or_create(&path).map_err(|source| StoreError::SealingKey {
        path: path.display().to_string(),
        source,
    })
}

/// SQLite URLs create their file when missing unless they say otherwise.
fn sqlite_url(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL`: an acknowledged write survives a
    /// power loss, and readers never block the writer. `sqlite::memory:` uses one connection
    /// (each connection would otherwise see its own empty database).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with_key(url, None).await
    }

    /// [`Store::connect`] with the key that seals secrets (and, on SQLite, ceremonies) kept
    /// in `key_file` (made when missing) instead of beside a SQLite file. PostgreSQL has no
    /// file to keep it beside: without one it stores no authenticator-app secrets.
    pub async fn connect_with_key(url: &str, key_file: Option<&Path>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let load = |path: &Path| {
            SealingKey::load_or_create(path)
                .map(Arc::new)
                .map_err(|source| StoreError::SealingKey {
                    path: path.display().to_string(),
                    source,
                })
        };
        let mut secrets = key_file.map(load).transpose()?;
        let Some(backend) = Backend::of_url(url) else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let mut batcher = None;
        let mut sealing = None;
        let mut transactions = None;
        let pool = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url);
                let memory = url.contains(":memory:");
                if !memory {
                    // journal_mode is stored in the file; set it once, on one connection,
                    // because switching it needs a lock that busy_timeout does not wait for.
                    let mut conn = AnyConnection::connect(&url)
                        .await
                        .map_err(StoreError::Connect)?;
                    conn.execute("PRAGMA journal_mode = WAL")
                        .await
                        .map_err(StoreError::Connect)?;
                    conn.close().await.map_err(StoreError::Connect)?;
                }
                let options: AnyConnectOptions = url.parse().map_err(StoreError::Connect)?;
                let key = match secrets.take() {
                    Some(key) => key,
                    None => Arc::new(sqlite_sealing_key(&url)?),
                };
                secrets = Some(key.clone());
                sealing = Some(key);
                let sqlite_pool = |max| {
                    AnyPoolOptions::new()
                        .test_before_acquire(false)
                        .after_connect(|conn, _| {
                            Box::pin(async move { conn.execute(SQLITE_SETUP).await.map(|_| ()) })
                        })
                        .max_connections(max)
                };
                if memory {
                    sqlite_pool(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .connect_with(options)
                        .await
                        .map_err(StoreError::Connect)?
                } else {
                    batcher = Some(batch::Batcher::start(options.clone(), SQLITE_SETUP));
                    transactions = Some(
                        sqlite_pool(SQLITE_TRANSACTIONS)
                            .connect_with(options.clone())
                            .await
                            .map_err(StoreError::Connect)?,
                    );
                    sqlite_pool(SQLITE_READERS)
                        .connect_with(options)
                        .await
                        .map_err(StoreError::Connect)?
                }
            }
            Backend::Postgres => AnyPoolOptions::new()
                .test_before_acquire(false)
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(StoreError::Connect)?,
        };
        migrator(backend)
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Store {
            pool,
            backend,
            batcher,
            transactions,
            sealing,
            secrets,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The key that seals ceremonies into cookies, when this backend uses one.
    pub fn sealing_key(&self) -> Option<&SealingKey> {
        self.sealing.as_deref()
    }

    /// The key that seals secrets stored in the database (authenticator-app secrets).
    pub fn secrets_key(&self) -> Option<&SealingKey> {
        self.secrets.as_deref()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for reads (and single-statement writes).
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A transaction: dropped without `commit`, it rolls back.
    ///
    /// On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock at once (waiting up to the
    /// busy timeout), so a transaction that reads before it writes cannot fail at its first
    /// write because another one committed in between. PostgreSQL locks rows as it goes.
    pub async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
        match (self.backend, &self.transactions) {
            (Backend::Sqlite, Some(transactions)) => {
                transactions.begin_with("BEGIN IMMEDIATE").await
            }
            (Backend::Sqlite, None) => self.pool.begin_with("BEGIN IMMEDIATE").await,
            (Backend::Postgres, _) => self.pool.begin().await,
        }
    }

    /// Runs `f` as one atomic, durable write: its writes all commit before this returns `Ok`
    /// and none persist when it returns `Err`. On a SQLite file it joins the group commit
    /// ([`batch`]); elsewhere it is a transaction on a pooled connection. `f` should only
    /// write: read before, and re-check inside `f` whatever the write depends on.
    ///
    /// Give back any pooled connection before calling this: a caller that holds one while it
    /// waits for the group commit keeps it from every other request, and with the pool's few
    /// connections that would cap how many writes one commit can carry.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut AnyConnection) -> batch::BoxFuture<'c, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        self.write_inner(f, true).await
    }

    /// Like [`Store::write`], for writes whose statements need not be atomic together (a
    /// single insert, say): outside SQLite's group commit they run directly on a pooled
    /// connection, without the round trips of a transaction.
    pub async fn write_each<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut AnyConnection) -> batch::BoxFuture<'c, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        self.write_inner(f, false).await
    }

    async fn write_inner<T, E, F>(&self, f: F, atomic: bool) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut AnyConnection) -> batch::BoxFuture<'c, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        if let Some(batcher) = &self.batcher {
            return batcher.run(f).await;
        }
        let mut conn = self.pool.acquire().await?;
        if !atomic {
            return f(&mut conn).await;
        }
        let mut tx = match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        };
        let value = f(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        if let Some(transactions) = &self.transactions {
            transactions.close().await;
        }
        self.pool.close().await;
    }
}

/// A query with its arguments being bound.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `sql` with every `$n` parameter renumbered to `$(n + by)`, so that several statements can
/// be sent to SQLite as one query (one round trip to its thread), each binding its own
/// arguments after the previous statements' ones.
pub(crate) fn shift_parameters(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            digits.push(d);
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&n.saturating_add(by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// Flags are stored as 0/1.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Is this error a unique-constraint violation (a row that already exists)?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_shift_and_nothing_else_does() {
        assert_eq!(
            shift_parameters("UPDATE t SET a = $1 WHERE b = $12 AND c = $1", 3),
            "UPDATE t SET a = $4 WHERE b = $15 AND c = $4"
        );
        assert_eq!(shift_parameters("SELECT 1", 5), "SELECT 1");
        assert_eq!(shift_parameters("a $ b $x", 2), "a $ b $x");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        let file = |url| sqlite_file(url).map(|p| p.display().to_string());
        assert_eq!(file("sqlite://latch.db").as_deref(), Some("latch.db"));
        assert_eq!(
            file("sqlite:latch.db?mode=rwc").as_deref(),
            Some("latch.db")
        );
        assert_eq!(
            file("sqlite:///var/lib/latch.db").as_deref(),
            Some("/var/lib/latch.db")
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory"), None);
        assert_eq!(file("postgres://db/latch"), None);
    }
}
