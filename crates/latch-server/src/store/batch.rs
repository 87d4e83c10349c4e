//! Group commit for SQLite. SQLite has one writer at a time, and with `synchronous=FULL` every
//! commit waits for an fsync (milliseconds on a real disk), so transactions that each commit on
//! their own cap the server at a few hundred writes per second however many cores it has, and
//! connections queueing for the write lock sleep in SQLite's busy handler.
//!
//! Instead, write jobs go to one task with a connection of its own. It takes every job waiting,
//! runs them in one `BEGIN IMMEDIATE` transaction, each under its own savepoint (a job that
//! fails rolls back to its savepoint and leaves the others alone), commits once, and only
//! then tells each job how it ended. So each job is still atomic, and a job reported as done
//! is as durable as before (its commit's fsync has returned); only the fsync is shared.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Executor};
use tokio::sync::{mpsc, oneshot};

/// A boxed future borrowing the connection it writes on.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 256;

/// Jobs waiting for the writer at most; past that a write waits for room (backpressure)
/// instead of queueing without bound while the disk falls behind.
const MAX_WAITING: usize = 4096;

/// Hands a job's result to its caller, given the batch's commit error if it failed.
type Deliver = Box<dyn FnOnce(Option<&sqlx::Error>) + Send>;

/// How a job ended inside its batch, and how to hand over its result once the commit is known.
struct Done {
    keep: bool,
    deliver: Deliver,
}

type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Done> + Send>;

/// The sending side of the writer task.
#[derive(Debug, Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the writer on a thread of its own; its connection is opened with `options` and
    /// then set up by `setup` (pragmas). The writer is the one serial part of the server:
    /// on its own thread (and its own single-threaded runtime) it is woken as soon as SQLite
    /// answers, instead of queueing behind every request on the shared runtime's workers.
    /// It stops when the last [`Batcher`] is dropped.
    pub fn start(options: AnyConnectOptions, setup: &'static str) -> Batcher {
        let (jobs, receiver) = mpsc::channel(MAX_WAITING);
        let spawned = std::thread::Builder::new()
            .name("latch-sqlite-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(writer(options, setup, receiver)),
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
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
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
            E::from(sqlx::Error::Protocol(
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

/// The error every job of a failed batch gets (sqlx errors cannot be cloned).
fn failed(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the group commit failed: {e}"))
}

async fn writer(
    options: AnyConnectOptions,
    setup: &'static str,
    mut receiver: mpsc::Receiver<Job>,
) {
    let mut conn: Option<AnyConnection> = None;
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match connect(&options, setup).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    eprintln!("latch-server: group commit: cannot open the database: {e}");
                    // Dropped jobs answer their callers with an error; nothing was written.
                    drop(jobs);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = batch(c, jobs).await {
            // The connection may be in any state: start over with a new one.
            eprintln!("latch-server: group commit: {e}");
            conn = None;
        }
    }
}

async fn connect(options: &AnyConnectOptions, setup: &str) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = options.connect().await?;
    conn.execute(setup).await?;
    Ok(conn)
}

/// One transaction for `jobs`. Every job is answered, whatever happens; an `Err` means the
/// connection should not be used again.
///
/// The transaction and the savepoints are driven with plain SQL, and each step between two
/// jobs is one round trip to SQLite's thread (`RELEASE job; SAVEPOINT job`): the writer is
/// the one serial part of the server, and on a busy machine every round trip costs it a
/// wake-up of another thread.
async fn batch(conn: &mut AnyConnection, jobs: Vec<Job>) -> Result<(), sqlx::Error> {
    conn.execute("BEGIN IMMEDIATE; SAVEPOINT job").await?;
    let mut delivered = Vec::with_capacity(jobs.len());
    let mut broken = None;
    let mut jobs = jobs.into_iter().peekable();
    while let Some(job) = jobs.next() {
        let Ok(done) = CatchUnwind(job(&mut *conn)).await else {
            // A bug, not bad input: the job's caller sees the writer as gone, and the batch
            // (whose connection is in an unknown state) is given up, but the writer lives on.
            broken = Some(sqlx::Error::Protocol("a write panicked".into()));
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
        if let Err(e) = conn.execute(end).await {
            broken = Some(e);
            break;
        }
    }
    // Jobs never started (the transaction broke) are dropped: their callers see the writer
    // as gone, which is an error for them, and nothing of theirs was written.
    drop(jobs);
    let outcome = match broken {
        Some(e) => Err(e),
        None => conn.execute("COMMIT").await.map(|_| ()),
    };
    if outcome.is_err() {
        // Undo whatever is left; the caller drops the connection anyway.
        let _ = conn.execute("ROLLBACK").await;
    }
    let error = outcome.as_ref().err();
    for deliver in delivered {
        deliver(error);
    }
    outcome
}
