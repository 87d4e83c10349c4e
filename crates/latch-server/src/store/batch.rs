//! Group commit for SQLite. SQLite has one writer at a time, and with `synchronous=FULL` every
//! commit waits for an fsync (milliseconds on a real disk), so transactions that each commit on
//! their own cap the server at a few hundred writes per second however many cores it has, and
//! connections queueing for the write lock sleep in SQLite's busy handler.
//!
//! Instead, write jobs go to one thread with a connection of its own. It takes every job waiting,
//! runs them in one `BEGIN IMMEDIATE` transaction, each under its own savepoint (a job that
//! fails rolls back to its savepoint and leaves the others alone), commits once, and only
//! then tells each job how it ended. So each job is still atomic, and a job reported as done
//! is as durable as before (its commit's fsync has returned); only the fsync is shared.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::db::{Conn, DbError};
use std::sync::Arc;

use super::sqlite::{Pool, Pooled};

/// A boxed future borrowing the connection it writes on.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 256;

/// Jobs waiting for the writer at most; past that a write waits for room (backpressure)
/// instead of queueing without bound while the disk falls behind.
const MAX_WAITING: usize = 4096;

/// How long the writer waits for more jobs before a batch, when the last batch carried more
/// than one (the server is busy): every commit costs an fsync and a write of each page it
/// changed, so under load a batch twice as large costs about half as much per job. A lone
/// write (an idle server) goes at once.
const GATHER: Duration = Duration::from_micros(800);

/// Hands a job's result to its caller, given the batch's commit error if it failed.
type Deliver = Box<dyn FnOnce(Option<&DbError>) + Send>;

/// How a job ended inside its batch, and how to hand over its result once the commit is known.
struct Done {
    keep: bool,
    deliver: Deliver,
}

type Job = Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Done> + Send>;

/// The sending side of the writer thread.
#[derive(Debug, Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the writer on a thread of its own, with its own connection to `pool`'s database
    /// (it stops writing once the pool is closed). The
    /// writer is the one serial part of the server: on its own thread it runs as soon as a
    /// job arrives, instead of queueing behind every request on the runtime's workers, and
    /// its statements are calls on its connection. It stops when the last [`Batcher`] is
    /// dropped.
    pub fn start(pool: Arc<Pool>) -> Batcher {
        let (jobs, receiver) = mpsc::channel(MAX_WAITING);
        let spawned = std::thread::Builder::new()
            .name("latch-sqlite-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => writer(&runtime, &pool, receiver),
                    // The receiver is dropped: every write answers that the writer is gone.
                    Err(e) => eprintln!("latch-server: group commit: cannot start: {e}"),
                }
            });
        if let Err(e) = spawned {
            eprintln!("latch-server: group commit: cannot start its thread: {e}");
        }
        Batcher { jobs }
    }

    /// Runs `f` inside the next batch; its writes commit (durably) before this returns `Ok`,
    /// and none of them persist when it returns `Err`.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (send, receive) = oneshot::channel::<Result<T, E>>();
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
        self.jobs.send(job).await.map_err(|_| stopped())?;
        receive.await.map_err(|_| stopped())?
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

fn writer(runtime: &tokio::runtime::Runtime, pool: &Pool, mut receiver: mpsc::Receiver<Job>) {
    let mut conn: Option<Conn> = None;
    let mut busy = false;
    while let Some(first) = receiver.blocking_recv() {
        if busy {
            std::thread::sleep(GATHER);
        }
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if pool.is_closed() {
            // Dropped jobs answer their callers with an error; nothing was written.
            conn = None;
            drop(jobs);
            continue;
        }
        if conn.is_none() {
            match pool.location().open() {
                Ok(c) => conn = Some(Conn::Sqlite(Pooled::own(c))),
                Err(e) => {
                    eprintln!("latch-server: group commit: cannot open the database: {e}");
                    // Dropped jobs answer their callers with an error; nothing was written.
                    drop(jobs);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        busy = jobs.len() > 1;
        if let Err(e) = runtime.block_on(batch(c, jobs)) {
            // The connection may be in any state: start over with a new one.
            eprintln!("latch-server: group commit: {e}");
            conn = None;
        }
    }
}

/// Runs `sql` (statements without arguments) on the writer's connection.
fn run(conn: &Conn, sql: &str) -> Result<(), DbError> {
    match conn {
        Conn::Sqlite(c) => Ok(c.connection()?.execute_batch(sql)?),
        _ => Err(DbError::Other("the group commit is for SQLite".into())),
    }
}

/// One transaction for `jobs`. Every job is answered, whatever happens; an `Err` means the
/// connection should not be used again.
async fn batch(conn: &mut Conn, jobs: Vec<Job>) -> Result<(), DbError> {
    run(conn, "BEGIN IMMEDIATE; SAVEPOINT job")?;
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
        if let Err(e) = run(conn, end) {
            broken = Some(e);
            break;
        }
    }
    // Jobs never started (the transaction broke) are dropped: their callers see the writer
    // as gone, which is an error for them, and nothing of theirs was written.
    drop(jobs);
    let outcome = match broken {
        Some(e) => Err(e),
        None => run(conn, "COMMIT"),
    };
    if outcome.is_err() {
        // Undo whatever is left; the caller drops the connection anyway.
        let _ = run(conn, "ROLLBACK");
    }
    let error = outcome.as_ref().err();
    for deliver in delivered {
        deliver(error);
    }
    outcome
}
