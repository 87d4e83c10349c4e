//! Group commit for SQLite. SQLite has one writer at a time, and with `synchronous=FULL` every
//! commit waits for an fsync (milliseconds on a real disk), so transactions that each commit on
//! their own cap the server at a few hundred writes per second however many cores it has, and
//! connections queueing for the write lock sleep in SQLite's busy handler.
//!
//! Instead, write jobs queue for one connection kept for writing. Whoever gets the connection
//! (the leader) takes every job waiting, its own and others', runs them in one
//! `BEGIN IMMEDIATE` transaction, each under its own savepoint (a job that fails rolls back to
//! its savepoint and leaves the others alone), commits once, and only then tells each job how
//! it ended. So each job is still atomic, and a job reported as done is as durable as before
//! (its commit's fsync has returned); only the fsync is shared. A write that finds nobody
//! writing leads at once, on its own thread: no hand-over to another thread and back.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::db::{Conn, DbError};
use super::sqlite::{Pool, Pooled};

/// A boxed future borrowing the connection it writes on.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 256;

/// Hands a job's result to its caller, given the batch's commit error if it failed.
type Deliver = Box<dyn FnOnce(Option<&DbError>) + Send>;

/// How a job ended inside its batch, and how to hand over its result once the commit is known.
struct Done {
    keep: bool,
    deliver: Deliver,
}

type Job = Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Done> + Send>;

/// The write connection of one SQLite database and the jobs waiting for it.
#[derive(Clone)]
pub struct Batcher {
    pool: Arc<Pool>,
    queue: Arc<Mutex<VecDeque<Job>>>,
    /// The write connection (opened on first use, and again after a failed batch); holding
    /// the lock is leading.
    conn: Arc<tokio::sync::Mutex<Option<Conn>>>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl Batcher {
    /// The writer of `pool`'s database (it stops writing once the pool is closed).
    pub fn new(pool: Arc<Pool>) -> Batcher {
        Batcher {
            pool,
            queue: Arc::default(),
            conn: Arc::default(),
        }
    }

    /// Runs `f` inside the next batch; its writes commit (durably) before this returns `Ok`,
    /// and none of them persist when it returns `Err`.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (send, mut receive) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                Done {
                    keep: result.is_ok(),
                    deliver: Box::new(move |commit_error| {
                        let result = match (result, commit_error) {
                            (Ok(_), Some(e)) => Err(E::from(failed(e))),
                            (result, _) => result,
                        };
                        let _ = send.send(result);
                    }),
                }
            })
        });
        let stopped = || {
            E::from(DbError::Other(
                "the database writer did not run this write".into(),
            ))
        };
        self.queue.lock().map_err(|_| stopped())?.push_back(job);
        // Done by the leader of the moment, or lead: whichever comes first.
        tokio::select! {
            biased;
            done = &mut receive => return done.map_err(|_| stopped())?,
            mut conn = self.conn.lock() => self.lead(&mut conn).await,
        }
        receive.await.map_err(|_| stopped())?
    }

    /// Runs the jobs waiting (its own among them) as one batch on the write connection. Jobs
    /// queued meanwhile wait for the next leader: each of their callers is waiting for the
    /// connection too.
    async fn lead(&self, conn: &mut Option<Conn>) {
        let jobs: Vec<Job> = match self.queue.lock() {
            Ok(mut queue) => {
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            }
            Err(_) => return,
        };
        if jobs.is_empty() {
            return;
        }
        if self.pool.is_closed() {
            // Dropped jobs answer their callers with an error; nothing was written.
            *conn = None;
            return;
        }
        if let Some(Conn::Sqlite(c)) = conn.as_ref() {
            // A leader cancelled half-way left its transaction open, and its jobs were
            // dropped unanswered (an error for their callers): undo their writes.
            if c.connection().is_ok_and(|c| !c.is_autocommit())
                && run(conn.as_ref(), "ROLLBACK").is_err()
            {
                *conn = None;
            }
        }
        if conn.is_none() {
            match self.pool.location().open() {
                Ok(c) => *conn = Some(Conn::Sqlite(Pooled::own(c))),
                Err(e) => {
                    eprintln!("latch-server: group commit: cannot open the database: {e}");
                    return;
                }
            }
        }
        let Some(c) = conn.as_mut() else { return };
        if let Err(e) = batch(c, jobs).await {
            // The connection may be in any state: start over with a new one.
            eprintln!("latch-server: group commit: {e}");
            *conn = None;
        }
    }
}

/// A job's future, with a panic inside it turned into `Err` instead of ending the writer.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// The error every job of a failed batch gets (database errors cannot be cloned).
fn failed(e: &DbError) -> DbError {
    DbError::Other(format!("the group commit failed: {e}"))
}

/// Runs `sql` (statements without arguments) on the write connection.
fn run(conn: Option<&Conn>, sql: &str) -> Result<(), DbError> {
    match conn {
        Some(Conn::Sqlite(c)) => Ok(c.connection()?.execute_batch(sql)?),
        _ => Err(DbError::Other("the group commit is for SQLite".into())),
    }
}

/// One transaction for `jobs`. Every job is answered, whatever happens; an `Err` means the
/// connection should not be used again.
async fn batch(conn: &mut Conn, jobs: Vec<Job>) -> Result<(), DbError> {
    run(Some(conn), "BEGIN IMMEDIATE; SAVEPOINT job")?;
    let mut delivered = Vec::with_capacity(jobs.len());
    let mut broken = None;
    let mut jobs = jobs.into_iter().peekable();
    while let Some(job) = jobs.next() {
        let Ok(done) = CatchUnwind(job(&mut *conn)).await else {
            // A bug, not bad input: the job's caller sees the writer as gone, and the batch
            // (whose connection is in an unknown state) is given up, but the writer lives on.
            broken = Some(DbError::Other("a write panicked".into()));
            break;
        };
        // A kept job's writes join the transaction; a failed job's are undone. Either way
        // the next job (if any) starts under a fresh savepoint.
        let end = match (done.keep, jobs.peek().is_some()) {
            (true, true) => "RELEASE job; SAVEPOINT job",
            (true, false) => "RELEASE job",
            (false, true) => "ROLLBACK TO job",
            (false, false) => "ROLLBACK TO job; RELEASE job",
        };
        delivered.push(done.deliver);
        if let Err(e) = run(Some(conn), end) {
            broken = Some(e);
            break;
        }
    }
    // Jobs never started (the transaction broke) are dropped: their callers see the writer
    // as gone, which is an error for them, and nothing of theirs was written.
    drop(jobs);
    let outcome = match broken {
        Some(e) => Err(e),
        None => run(Some(conn), "COMMIT"),
    };
    if outcome.is_err() {
        // Undo whatever is left; the caller drops the connection anyway.
        let _ = run(Some(conn), "ROLLBACK");
    }
    let error = outcome.as_ref().err();
    for deliver in delivered {
        deliver(error);
    }
    outcome
}
