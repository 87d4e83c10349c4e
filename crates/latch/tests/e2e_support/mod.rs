//! The processes and databases of the end-to-end tests: `latch serve` on a random port over a
//! fresh database, and `latch key run` on a random UDP port with its own state file. Each is
//! stopped (and its files removed) when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use latch_ctap::client::{Ctap2, HidDevice};
use latch_server::store::db::query;
use latch_server::store::Store;
use sqlx::{Connection, Executor, PgConnection};

use crate::udp::UdpTransport;

/// The RP ID the server is started with, and the origin of the (imaginary) page using it.
pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:3000";

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let mut r = [0u8; 4];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{prefix}_{}_{}_{hex}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The key file of the servers on database `url` (the same across restarts), in the temporary
/// directory rather than wherever the test runs.
fn key_file_for(url: &str) -> PathBuf {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, url.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::env::temp_dir().join(format!("latch_e2e_{hex}.key"))
}

/// One test's database: a SQLite file, or a PostgreSQL schema of its own.
pub struct Db {
    pub name: &'static str,
    pub url: String,
    pub file: Option<PathBuf>,
    schema: Option<(String, String)>,
}

/// A fresh SQLite database, then PostgreSQL when `LATCH_TEST_POSTGRES_URL` is set.
pub fn databases() -> Vec<Db> {
    let path = std::env::temp_dir().join(format!("{}.db", unique("latch_e2e")));
    let mut dbs = vec![Db {
        name: "sqlite",
        url: format!("sqlite://{}", path.display()),
        file: Some(path),
        schema: None,
    }];
    match std::env::var("LATCH_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = unique("latch_e2e");
            block_on(async {
                let mut conn = PgConnection::connect(&base).await.unwrap();
                conn.execute(format!("CREATE SCHEMA {schema}").as_str())
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            });
            let sep = if base.contains('?') { '&' } else { '?' };
            dbs.push(Db {
                name: "postgres",
                url: format!("{base}{sep}options[search_path]={schema}"),
                file: None,
                schema: Some((base, schema)),
            });
        }
        _ => eprintln!("note: LATCH_TEST_POSTGRES_URL is not set; PostgreSQL runs are skipped"),
    }
    dbs
}

impl Db {
    /// Every credential's stored signature counter.
    pub fn counters(&self) -> Vec<i64> {
        block_on(async {
            let store = Store::connect(&self.url).await.unwrap();
            let mut conn = store.conn().await.unwrap();
            let rows = query("SELECT sign_count FROM credentials ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            drop(conn);
            store.close().await;
            rows.iter()
                .map(|r| r.try_get::<i64>("sign_count").unwrap())
                .collect()
        })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(key_file_for(&self.url));
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        if let Some((base, schema)) = self.schema.take() {
            block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&base).await {
                    let _ = conn
                        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            });
        }
    }
}

/// Reads `child`'s stderr up to the line containing `marker`, returns the word after it, and
/// keeps draining stderr (to the test's output) so the child never blocks on a full pipe.
fn address_after(child: &mut Child, marker: &str) -> String {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the process ended before saying {marker:?}: {seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.split(marker).nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || {
                let mut rest = String::new();
                let _ = stderr.read_to_string(&mut rest);
                eprint!("{rest}");
            });
            return addr;
        }
    }
}

/// A `latch serve` process.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl Server {
    pub fn start(db: &str) -> Server {
        Server::start_at(db, "127.0.0.1:0")
    }

    /// On this address (a port the last run of the server had, say).
    pub fn start_at(db: &str, listen: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
            .args(["serve", "--listen", listen, "--db", db])
            .arg("--key-file")
            .arg(key_file_for(db))
            .args(["--rp-id", RP_ID, "--origin", ORIGIN])
            // Every client here is 127.0.0.1, and the load tests sign up hundreds.
            .args(["--signup-limit", "1000000"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = address_after(&mut child, "listening on http://");
        Server {
            url: format!("http://{addr}"),
            child,
        }
    }
}

impl Server {
    /// SIGKILL: no shutdown, no flush, whatever the process was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `latch guardian` process on its own database.
#[allow(dead_code)] // used by the escrow tests only
pub struct Guardian {
    pub url: String,
    pub listen: String,
    child: Child,
}

#[allow(dead_code)]
impl Guardian {
    pub fn start(db: &str) -> Guardian {
        Guardian::start_at(db, "127.0.0.1:0")
    }

    pub fn start_at(db: &str, listen: &str) -> Guardian {
        let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
            .args(["guardian", "--listen", listen, "--db", db])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = address_after(&mut child, "listening on http://");
        Guardian {
            url: format!("http://{addr}"),
            listen: addr,
            child,
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `latch key run --presence auto --built-in-uv` process with a fresh state file (the
/// server requires user verification for passkeys by default).
pub struct Key {
    addr: String,
    dir: PathBuf,
    child: Child,
}

impl Key {
    pub fn start() -> Key {
        Key::start_with(&[])
    }

    /// With more `latch key run` arguments (`--vault DIR`, say).
    pub fn start_with(extra: &[&std::ffi::OsStr]) -> Key {
        let dir = std::env::temp_dir().join(unique("latch_e2e_key"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
            .args([
                "key",
                "run",
                "--udp",
                "127.0.0.1:0",
                "--presence",
                "auto",
                "--built-in-uv",
            ])
            .arg("--state")
            .arg(dir.join("key.state"))
            .args(extra)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = address_after(&mut child, "listening on udp://");
        Key { addr, dir, child }
    }

    /// A CTAP client of the key over UDP (what a browser is to a USB key).
    pub fn client(&self) -> Ctap2<HidDevice<UdpTransport>> {
        let transport = UdpTransport::connect(&self.addr).unwrap();
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).unwrap();
        Ctap2::new(HidDevice::open(transport, nonce).unwrap()).unwrap()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
