//! Storage: one SQL text for SQLite and PostgreSQL, run through [`db`].
//!
//! Queries use `$n` placeholders, BIGINT for integers and flags, and BLOB/BYTEA for bytes.
//! Every function takes a `&mut Conn`, so the same code runs on a pooled connection or
//! inside a write: a finish step's writes either all commit or none do. SQLite
//! ([`sqlite`], on rusqlite) runs statements on the calling thread and its writes through one
//! group-commit writer ([`batch`]); PostgreSQL ([`postgres`], on sqlx) runs them on a pool.

pub mod admin;
pub mod audit;
pub mod batch;
pub mod ceremonies;
pub mod commit;
pub mod credentials;
pub mod db;
pub mod factors;
pub mod oidc;
pub mod policy;
pub mod postgres;
pub mod rate_limits;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod sqlite;
pub mod trusted_browsers;
pub mod users;
pub mod vault;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::PgPool;

pub use db::{Conn, DbError};

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

/// Which tables a database holds: `latch serve`'s, or one escrow guardian's (each guardian
/// keeps a database of its own, shared with nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Server,
    Guardian,
}

/// A schema's migrations, in order: (version, description, SQL).
pub(crate) type Migrations = &'static [(i64, &'static str, &'static str)];

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://FILE, sqlite::memory: or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] DbError),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] DbError),
    #[error("database error: {0}")]
    Query(#[from] DbError),
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

/// The database every `latch serve` instance shares, and how this one reaches it.
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engine,
    /// SQLite: the key that seals ceremonies into their cookies ([`crate::sealed`]), kept in
    /// `<database file>.key`. PostgreSQL instances, which may run on several hosts, keep
    /// ceremonies in the database instead.
    sealing: Option<Arc<SealingKey>>,
    /// Seals secrets kept in the database: the same key as `sealing` on SQLite, the
    /// `--key-file` on PostgreSQL.
    secrets: Option<Arc<SealingKey>>,
}

#[derive(Debug, Clone)]
enum Engine {
    /// Reads on pooled connections, writes through the group-commit writer.
    Sqlite {
        pool: Arc<sqlite::Pool>,
        writer: batch::Batcher,
        /// Held by a [`Tx`] while it is open, so that a second one waits its turn here,
        /// asynchronously, instead of in SQLite's busy handler on a runtime worker.
        turn: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(PgPool),
}

/// The sealing key of a SQLite database: beside its file, or in memory for a memory database.
fn sqlite_sealing_key(file: Option<&Path>) -> Result<SealingKey, StoreError> {
    let Some(file) = file else {
        return SealingKey::ephemeral().map_err(|_| StoreError::Rng);
    };
    let mut path = file.as_os_str().to_owned();
    path.push(".key");
    let path = PathBuf::from(path);
    SealingKey::load_or_create(&path).map_err(|source| StoreError::SealingKey {
        path: path.display().to_string(),
        source,
    })
}

/// A transaction on a connection of its own: dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub struct Tx {
    conn: Conn,
    /// SQLite: this transaction's turn, given up after the connection (fields drop in order).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// Runs `sql` on a SQLite connection on a blocking thread, and hands the connection back.
async fn on_blocking_thread(
    conn: sqlite::Pooled,
    sql: &'static str,
) -> Result<sqlite::Pooled, DbError> {
    tokio::task::spawn_blocking(move || {
        conn.connection()?.execute_batch(sql)?;
        Ok(conn)
    })
    .await
    .map_err(|e| DbError::Other(format!("a blocking task failed: {e}")))?
}

impl Tx {
    pub async fn commit(self) -> Result<(), DbError> {
        match self.conn {
            // A commit waits for its fsync: off the runtime's workers.
            Conn::Sqlite(c) => on_blocking_thread(c, "COMMIT").await.map(drop),
            Conn::PostgresTx(tx) => Ok(tx.commit().await?),
            Conn::Postgres(_) => Err(DbError::Other("no transaction to commit".into())),
        }
    }

    /// Undoes the transaction's writes (as dropping it does).
    pub async fn rollback(self) -> Result<(), DbError> {
        match self.conn {
            Conn::Sqlite(c) => Ok(c.connection()?.execute_batch("ROLLBACK")?),
            Conn::PostgresTx(tx) => Ok(tx.rollback().await?),
            Conn::Postgres(_) => Ok(()),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// SQLite runs in WAL mode with `synchronous=FULL`: an acknowledged write survives a
    /// power loss, and readers never block the writer. `sqlite::memory:` is a database of
    /// this store's own, gone when it closes.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with_key(url, None).await
    }

    /// [`Store::connect`] with the key that seals secrets (and, on SQLite, ceremonies) kept
    /// in `key_file` (made when missing) instead of beside a SQLite file. PostgreSQL has no
    /// file to keep it beside: without one it stores no authenticator-app secrets.
    pub async fn connect_with_key(url: &str, key_file: Option<&Path>) -> Result<Store, StoreError> {
        Store::open(url, Schema::Server, key_file).await
    }

    /// A guardian's database: its own tables, and no sealing key (it seals nothing).
    pub async fn connect_guardian(url: &str) -> Result<Store, StoreError> {
        let mut store = Store::open(url, Schema::Guardian, None).await?;
        store.sealing = None;
        store.secrets = None;
        Ok(store)
    }

    async fn open(url: &str, schema: Schema, key_file: Option<&Path>) -> Result<Store, StoreError> {
        let load = |path: &Path| {
            SealingKey::load_or_create(path)
                .map(Arc::new)
                .map_err(|source| StoreError::SealingKey {
                    path: path.display().to_string(),
                    source,
                })
        };
        let secrets = key_file.map(load).transpose()?;
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let location = sqlite::Location::of_url(url)
                    .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
                let key = match (secrets, schema) {
                    (Some(key), _) => key,
                    (None, Schema::Server) => {
                        Arc::new(sqlite_sealing_key(location.file.as_deref())?)
                    }
                    (None, Schema::Guardian) => {
                        Arc::new(SealingKey::ephemeral().map_err(|_| StoreError::Rng)?)
                    }
                };
                // Opening and migrating a file is blocking work: off the runtime's workers.
                let pool =
                    tokio::task::spawn_blocking(move || sqlite::Pool::open(location, schema))
                        .await
                        .map_err(|e| StoreError::Connect(DbError::Other(e.to_string())))??;
                let writer = batch::Batcher::start(pool.clone());
                Ok(Store {
                    engine: Engine::Sqlite {
                        pool,
                        writer,
                        turn: Arc::default(),
                    },
                    sealing: Some(key.clone()),
                    secrets: Some(key),
                })
            }
            Some(Backend::Postgres) => Ok(Store {
                engine: Engine::Postgres(postgres::connect(url, schema).await?),
                sealing: None,
                secrets,
            }),
            None => Err(StoreError::UnsupportedUrl(url.to_owned())),
        }
    }

    /// The key that seals ceremonies into cookies, when this backend uses one.
    pub fn sealing_key(&self) -> Option<&SealingKey> {
        self.sealing.as_deref()
    }

    /// The key that seals secrets stored in the database (authenticator-app secrets).
    pub fn secrets_key(&self) -> Option<&SealingKey> {
        self.secrets.as_deref()
    }

    /// A connection for reads (and single-statement writes).
    pub async fn conn(&self) -> Result<Conn, DbError> {
        match &self.engine {
            Engine::Sqlite { pool, .. } => Ok(Conn::Sqlite(pool.get()?)),
            Engine::Postgres(pool) => Ok(Conn::Postgres(pool.acquire().await?)),
        }
    }

    /// A transaction: dropped without `commit`, it rolls back.
    ///
    /// On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock at once (waiting up to the
    /// busy timeout), so a transaction that reads before it writes cannot fail at its first
    /// write because another one committed in between. PostgreSQL locks rows as it goes.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        match &self.engine {
            Engine::Sqlite { pool, turn, .. } => {
                let turn = turn.clone().lock_owned().await;
                // Taking the write lock may wait for the writer's batch (and its fsync): off
                // the runtime's workers.
                let conn = on_blocking_thread(pool.get()?, "BEGIN IMMEDIATE").await?;
                Ok(Tx {
                    conn: Conn::Sqlite(conn),
                    _turn: Some(turn),
                })
            }
            Engine::Postgres(pool) => Ok(Tx {
                conn: Conn::PostgresTx(pool.begin().await?),
                _turn: None,
            }),
        }
    }

    /// Runs `f` as one atomic, durable write: its writes all commit before this returns `Ok`
    /// and none persist when it returns `Err`. On SQLite it joins the group commit
    /// ([`batch`]); on PostgreSQL it is a transaction on a pooled connection. `f` should only
    /// write: read before, and re-check inside `f` whatever the write depends on.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> batch::BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite { writer, .. } => writer.run(f).await,
            Engine::Postgres(pool) => {
                let mut tx = Tx {
                    conn: Conn::PostgresTx(pool.begin().await.map_err(DbError::from)?),
                    _turn: None,
                };
                let value = f(&mut tx).await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    }

    /// Like [`Store::write`], for writes whose statements need not be atomic together (a
    /// single insert, say): on PostgreSQL they run directly on a pooled connection, without
    /// the round trips of a transaction.
    pub async fn write_each<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> batch::BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite { writer, .. } => writer.run(f).await,
            Engine::Postgres(pool) => {
                let mut conn = Conn::Postgres(pool.acquire().await.map_err(DbError::from)?);
                f(&mut conn).await
            }
        }
    }

    /// Applies a finish's writes, `ceremony` used up first, atomically and durably: on SQLite
    /// inside the group commit, on PostgreSQL as a transaction (see [`commit`]).
    pub async fn commit(
        &self,
        ceremony: commit::CeremonyUse,
        commit: commit::Commit,
        caller: audit::Caller,
        now: i64,
    ) -> Result<commit::Committed, commit::CommitError> {
        if let (
            Engine::Postgres(pool),
            commit::CeremonyUse::Stored { hash },
            commit::Commit::SignIn { assertion, session },
        ) = (&self.engine, &ceremony, &commit)
        {
            // The commit every sign-in makes, in one round trip.
            let mut conn = Conn::Postgres(pool.acquire().await.map_err(DbError::from)?);
            return postgres::sign_in(&mut conn, hash, assertion, session, &caller, now).await;
        }
        self.write(move |conn| {
            Box::pin(async move { commit::apply(conn, &ceremony, &commit, &caller, now).await })
        })
        .await
    }

    /// Uses a ceremony up without writing anything else (a failed assertion's).
    pub async fn use_up(
        &self,
        ceremony: commit::CeremonyUse,
        now: i64,
    ) -> Result<(), commit::CommitError> {
        self.write(move |conn| Box::pin(async move { commit::use_up(conn, &ceremony, now).await }))
            .await
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite { pool, .. } => pool.close(),
            Engine::Postgres(pool) => pool.close().await,
        }
    }
}

/// Flags are stored as 0/1.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}
