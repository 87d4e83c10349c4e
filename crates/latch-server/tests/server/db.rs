//! The databases every test runs against: a fresh SQLite file always, and PostgreSQL when
//! `LATCH_TEST_POSTGRES_URL` is set (each test in its own schema, dropped afterwards).

use std::sync::atomic::{AtomicU32, Ordering};

use latch_server::store::db::query;
use latch_server::Store;
use sqlx::{Connection, Executor, PgConnection};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique_name(prefix: &str) -> String {
    let mut r = [0u8; 6];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{prefix}_{}_{}_{hex}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A database for one test; the SQLite file or PostgreSQL schema is removed when this is
/// dropped.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    file: Option<std::path::PathBuf>,
    /// (server URL, schema) for PostgreSQL.
    schema: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm", ".key"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        if let Some((base, schema)) = self.schema.take() {
            // Drop runs inside the test's runtime, so the cleanup gets a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let mut conn = PgConnection::connect(&base).await.unwrap();
                    // The test's pool may still hold a connection whose rollback is queued on
                    // the (now blocked) test runtime; end those connections first.
                    conn.execute(
                        format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = '{schema}'"
                        )
                        .as_str(),
                    )
                    .await
                    .unwrap();
                    conn.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                        .await
                        .unwrap();
                    conn.close().await.unwrap();
                });
            })
            .join();
        }
    }
}

impl TestDb {
    /// The key file a server on this database is started with: none on SQLite (the key
    /// lives beside the file), one of its own on PostgreSQL (removed with it).
    pub fn key_file(&self) -> Option<std::path::PathBuf> {
        let file = self.file.as_ref().filter(|_| self.schema.is_some())?;
        let mut key = file.clone().into_os_string();
        key.push(".key");
        Some(key.into())
    }

    /// A store on this database, with its key file.
    pub async fn store(&self) -> Store {
        Store::connect_with_key(&self.url, self.key_file().as_deref())
            .await
            .unwrap()
    }

    /// A handle on a database another `TestDb` owns (dropping it removes nothing).
    pub fn borrowed(name: &'static str, url: &str) -> TestDb {
        TestDb {
            name,
            url: url.to_owned(),
            file: None,
            schema: None,
        }
    }
}

async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("{}.db", unique_name("latch_test")));
    TestDb {
        name: "sqlite",
        url: format!("sqlite://{}", path.display()),
        file: Some(path),
        schema: None,
    }
}

async fn postgres(base: &str) -> TestDb {
    let schema = unique_name("latch_test");
    let mut conn = PgConnection::connect(base).await.unwrap();
    conn.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    conn.close().await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    TestDb {
        name: "postgres",
        url: format!("{base}{sep}options[search_path]={schema}&application_name={schema}"),
        // No database file: the name only places the key file (see `key_file`).
        file: Some(std::env::temp_dir().join(&schema)),
        schema: Some((base.to_owned(), schema)),
    }
}

/// SQLite, then PostgreSQL if configured (with a note when it is not).
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    match std::env::var("LATCH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => dbs.push(postgres(&url).await),
        _ => {
            static NOTE: std::sync::Once = std::sync::Once::new();
            NOTE.call_once(|| {
                eprintln!("note: LATCH_TEST_POSTGRES_URL is not set; PostgreSQL runs are skipped")
            });
        }
    }
    dbs
}

/// Rows per table, and every credential's counter: what a failed finish must leave as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub counts: Vec<(&'static str, i64)>,
    pub counters: Vec<(Vec<u8>, i64, Option<i64>)>,
}

impl Snapshot {
    /// Without the ceremony tables: what a failed finish must leave alone, while it uses up
    /// its ceremony.
    pub fn accounts(&self) -> Snapshot {
        let mut kept = self.clone();
        kept.counts
            .retain(|(table, _)| !matches!(*table, "ceremonies" | "used_ceremonies"));
        kept
    }
}

pub async fn snapshot(store: &Store) -> Snapshot {
    let mut conn = store.conn().await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "users",
        "credentials",
        "sessions",
        "ceremonies",
        "used_ceremonies",
        "audit_events",
    ] {
        let row = query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push((table, row.try_get::<i64>("n").unwrap()));
    }
    let rows = query("SELECT id, sign_count, last_used_at FROM credentials ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let counters = rows
        .iter()
        .map(|r| {
            (
                r.try_get("id").unwrap(),
                r.try_get("sign_count").unwrap(),
                r.try_get("last_used_at").unwrap(),
            )
        })
        .collect();
    Snapshot { counts, counters }
}

impl Snapshot {
    pub fn count(&self, table: &str) -> i64 {
        self.counts
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, n)| *n)
            .unwrap()
    }
}
