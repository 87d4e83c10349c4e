//! The SQLite backend on `rusqlite`: connections used synchronously by the thread that holds
//! them, each with its prepared statements cached.
//!
//! Reads take a connection from a small pool of idle ones (opening another when none is
//! free) and run on the request's own thread: a statement on a warm connection costs
//! microseconds, less than handing it to another thread would. Writes that must be durable go
//! to the group-commit writer ([`super::batch`]), which owns one more connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::db::DbError;
use super::{Migrations, Schema, StoreError};

/// What every connection runs first. `synchronous = FULL`: a commit returns once it is on
/// disk, so an acknowledged write survives a power loss. No memory map: remapping it after
/// every commit that grew the file cost more than the reads it spared (measured). The WAL is
/// copied back into the database every 10,000 pages (40 MB) instead of SQLite's 1,000: pages
/// written again and again (a credential's counter, the sessions' index) are copied once per
/// checkpoint, so fewer checkpoints copy less.
const SETUP: &str = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
    PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864";

/// How long a statement waits for another connection's write lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle connections kept for reads; more are opened when all are busy, and closed again.
const MAX_IDLE: usize = 8;

/// Prepared statements kept per connection (the server has about a hundred).
const STATEMENT_CACHE: usize = 128;

/// The schema, embedded so the binary migrates its database wherever it runs. Never edit a
/// released file: its checksum is recorded when it is applied, and checked at every start.
const SERVER_MIGRATIONS: Migrations = &[
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
    (
        6,
        "vault",
        include_str!("../../migrations/sqlite/0006_vault.sql"),
    ),
    (
        7,
        "oidc",
        include_str!("../../migrations/sqlite/0007_oidc.sql"),
    ),
];

/// A guardian's tables (`latch guardian`), in a database of its own.
const GUARDIAN_MIGRATIONS: Migrations = &[(
    1,
    "escrows",
    include_str!("../../migrations/guardian/sqlite/0001_escrows.sql"),
)];

fn migrations(schema: Schema) -> Migrations {
    match schema {
        Schema::Server => SERVER_MIGRATIONS,
        Schema::Guardian => GUARDIAN_MIGRATIONS,
    }
}

/// Where the database is: a file, or a named in-memory database of this process.
#[derive(Debug, Clone)]
pub struct Location {
    /// What `sqlite3_open_v2` is given (a path, or a `file:` URI for memory).
    target: String,
    flags: OpenFlags,
    /// The file, for a file database.
    pub file: Option<PathBuf>,
}

impl Location {
    /// The database a `sqlite:` URL names: `sqlite://FILE`, `sqlite:FILE` (options after `?`
    /// are ignored), or `sqlite::memory:` (private to this store).
    pub fn of_url(url: &str) -> Option<Location> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
        let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE;
        if path.is_empty() || path.contains(":memory:") || options.contains("mode=memory") {
            // The memdb VFS shares a database named with a leading slash among this
            // process's connections, with the usual locking; the counter keeps each store's
            // own.
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            return Some(Location {
                target: format!("file:/latch-{}-{n}?vfs=memdb", std::process::id()),
                flags,
                file: None,
            });
        }
        Some(Location {
            target: path.to_owned(),
            flags,
            file: Some(PathBuf::from(path)),
        })
    }

    pub fn open(&self) -> Result<Connection, DbError> {
        let conn = Connection::open_with_flags(&self.target, self.flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch(SETUP)?;
        Ok(conn)
    }
}

/// The idle connections of one database.
#[derive(Debug)]
pub struct Pool {
    location: Location,
    idle: Mutex<Vec<Connection>>,
    /// Set by [`Pool::close`]: no connection is handed out after it.
    closed: AtomicBool,
}

/// A connection taken from the [`Pool`] (given back when dropped), or one of its own (the
/// writer's). A transaction left open is rolled back first.
pub struct Pooled {
    conn: Option<Connection>,
    pool: Option<Arc<Pool>>,
}

impl Pooled {
    /// A connection that belongs to no pool.
    pub fn own(conn: Connection) -> Pooled {
        Pooled {
            conn: Some(conn),
            pool: None,
        }
    }

    pub fn connection(&self) -> Result<&Connection, DbError> {
        self.conn
            .as_ref()
            .ok_or_else(|| DbError::Other("the connection was closed".into()))
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return; // In an unknown state: closed, not reused.
        }
        if let Some(pool) = self.pool.as_ref().filter(|p| !p.is_closed()) {
            if let Ok(mut idle) = pool.idle.lock() {
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
            }
        }
    }
}

impl Pool {
    /// Opens the database (creating the file if needed) in WAL mode, and migrates it.
    pub fn open(location: Location, schema: Schema) -> Result<Arc<Pool>, StoreError> {
        let conn = location.open().map_err(StoreError::Connect)?;
        if location.file.is_some() {
            // Stored in the file, so set once; in-memory databases keep their own journal.
            conn.execute_batch("PRAGMA journal_mode = WAL")
                .map_err(|e| StoreError::Connect(e.into()))?;
        }
        migrate(&conn, migrations(schema)).map_err(StoreError::Migrate)?;
        Ok(Arc::new(Pool {
            location,
            // Kept: it is also what keeps an in-memory database alive.
            idle: Mutex::new(vec![conn]),
            closed: AtomicBool::new(false),
        }))
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// An idle connection, or a new one.
    pub fn get(self: &Arc<Pool>) -> Result<Pooled, DbError> {
        if self.is_closed() {
            return Err(DbError::Other("the database is closed".into()));
        }
        let idle = self.idle.lock().ok().and_then(|mut idle| {
            // An in-memory database lives as long as one connection to it: keep the last.
            if self.location.file.is_none() && idle.len() == 1 {
                return None;
            }
            idle.pop()
        });
        let conn = match idle {
            Some(conn) => conn,
            None => self.location.open()?,
        };
        Ok(Pooled {
            conn: Some(conn),
            pool: Some(self.clone()),
        })
    }

    /// Closes the idle connections and hands out no more (at shutdown).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Applies the migrations not yet applied, each in a transaction of its own, recording them
/// in `_sqlx_migrations` as sqlx does (so databases migrated by earlier versions, which ran
/// sqlx's migrator, carry on). An applied migration whose text changed since is refused.
fn migrate(conn: &Connection, migrations: Migrations) -> Result<(), DbError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        )",
    )?;
    // A database a newer version migrated further is not opened by an older one.
    let known = migrations.iter().map(|(v, _, _)| *v).max().unwrap_or(0);
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM _sqlx_migrations", [], |row| {
            row.get(0)
        })?;
    if let Some(newest) = newest.filter(|n| *n > known) {
        return Err(DbError::Other(format!(
            "the database has migration {newest}, which this version does not know: run a newer latch"
        )));
    }
    for (version, description, sql) in migrations {
        let checksum = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, sql.as_bytes());
        // Taken before looking, so that two processes starting together apply it once.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn.query_row(
            "SELECT success, checksum FROM _sqlx_migrations WHERE version = ?1",
            [version],
            |row| Ok((row.get::<_, bool>(0)?, row.get::<_, Vec<u8>>(1)?)),
        );
        let outcome = match applied {
            Ok((true, stored)) if stored == checksum.as_ref() => Ok(()),
            Ok((true, _)) => Err(DbError::Other(format!(
                "migration {version} ({description}) was applied with other contents"
            ))),
            Ok((false, _)) => Err(DbError::Other(format!(
                "migration {version} ({description}) failed part-way before; restore a backup"
            ))),
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                let started = Instant::now();
                conn.execute_batch(sql)
                    .and_then(|()| {
                        let took = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
                        conn.execute(
                            "INSERT INTO _sqlx_migrations \
                         (version, description, success, checksum, execution_time) \
                         VALUES (?1, ?2, TRUE, ?3, ?4)",
                            rusqlite::params![version, description, checksum.as_ref(), took],
                        )
                        .map(|_| ())
                    })
                    .map_err(DbError::from)
            }
            Err(e) => Err(e.into()),
        };
        match outcome {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_file_or_memory() {
        let file =
            |url| Location::of_url(url).and_then(|l| l.file.map(|p| p.display().to_string()));
        assert_eq!(file("sqlite://latch.db").as_deref(), Some("latch.db"));
        assert_eq!(
            file("sqlite:latch.db?mode=rwc").as_deref(),
            Some("latch.db")
        );
        assert_eq!(
            file("sqlite:///var/lib/latch.db").as_deref(),
            Some("/var/lib/latch.db")
        );
        assert!(Location::of_url("sqlite::memory:").is_some());
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory"), None);
        assert!(Location::of_url("postgres://db/latch").is_none());
    }

    #[test]
    fn memory_databases_are_shared_by_a_store_and_not_between_stores() {
        let (Some(a), Some(b)) = (
            Location::of_url("sqlite::memory:"),
            Location::of_url("sqlite::memory:"),
        ) else {
            panic!("memory URLs parse");
        };
        let a = Pool::open(a, Schema::Server).unwrap();
        let b = Pool::open(b, Schema::Server).unwrap();
        let one = a.get().unwrap();
        one.connection()
            .unwrap()
            .execute("INSERT INTO settings (key, value) VALUES ('k', x'01')", [])
            .unwrap();
        let two = a.get().unwrap();
        let seen: i64 = two
            .connection()
            .unwrap()
            .query_row("SELECT COUNT(*) FROM settings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 1);
        let other: i64 = b
            .get()
            .unwrap()
            .connection()
            .unwrap()
            .query_row("SELECT COUNT(*) FROM settings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(other, 0);
    }

    #[test]
    fn migrating_twice_changes_nothing_and_a_changed_migration_is_refused() {
        let conn = Location::of_url("sqlite::memory:").unwrap().open().unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, i64::try_from(SERVER_MIGRATIONS.len()).unwrap());
        conn.execute(
            "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 3",
            [],
        )
        .unwrap();
        let refused = migrate(&conn, SERVER_MIGRATIONS).unwrap_err().to_string();
        assert!(refused.contains("migration 3"), "{refused}");
    }

    #[test]
    fn a_database_migrated_by_a_newer_version_is_refused() {
        let conn = Location::of_url("sqlite::memory:").unwrap().open().unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'future', TRUE, x'00', 0)",
            [],
        )
        .unwrap();
        let refused = migrate(&conn, SERVER_MIGRATIONS).unwrap_err().to_string();
        assert!(refused.contains("migration 99"), "{refused}");
    }
}
