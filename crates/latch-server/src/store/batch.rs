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
use std::pin::Pin;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

/// A boxed future borrowing the connection it writes on.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 256;

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
    jobs: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Starts the writer task (on the current Tokio runtime); its connection is opened with
    /// `options` and then set up by `setup` (pragmas).
    pub fn start(options: AnyConnectOptions, setup: &'static str) -> Batcher {
        let (jobs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(writer(options, setup, receiver));
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
        self.jobs.send(job).map_err(|_| stopped())?;
        receive.await.map_err(|_| stopped())?
    }
}

/// The error every job of a failed batch gets (sqlx errors cannot be cloned).
fn failed(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the group commit failed: {e}"))
}

async fn writer(
    options: AnyConnectOptions,
    setup: &'static str,
    mut receiver: mpsc::UnboundedReceiver<Job>,
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
async fn batch(conn: &mut AnyConnection, jobs: Vec<Job>) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut delivered = Vec::with_capacity(jobs.len());
    let mut broken = None;
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let mut savepoint = match Connection::begin(&mut *tx).await {
            Ok(s) => s,
            Err(e) => {
                broken = Some(e);
                break;
            }
        };
        let done = job(&mut savepoint).await;
        let end = if done.keep {
            savepoint.commit().await
        } else {
            savepoint.rollback().await
        };
        delivered.push(done.deliver);
        if let Err(e) = end {
            broken = Some(e);
            break;
        }
    }
    // Jobs never started (the transaction broke) are dropped: their callers see the writer
    // as gone, which is an error for them, and nothing of theirs was written.
    drop(jobs);
    let outcome = match broken {
        Some(e) => Err(e),
        None => tx.commit().await,
    };
    let error = outcome.as_ref().err();
    for deliver in delivered {
        deliver(error);
    }
    outcome
}
