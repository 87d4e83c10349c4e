//! `latch guardian`: one escrow guardian. It keeps, for each escrow, one share of a vault's
//! recovery key masked under its own OPRF key, and answers guesses at the passcode, each
//! counted and committed before the answer is computed; at the limit it erases the record in
//! the same statement. Run several, each with its own database and, in production, its own
//! operator: the protocol is in `latch_vault::escrow`, what it does not protect in SECURITY.md.
//!
//! The API (`/v1/escrows/{id}`, CBOR bodies, JSON errors):
//! - `GET  …/{id}`: the registration's status; counts nothing.
//! - `PUT  …/{id}/stage`: a new registration, signed by the escrow's owner; not yet in force.
//! - `POST …/{id}/commit`: the staged registration replaces the current one.
//! - `POST …/{id}/evaluate`: one guess.
//! - `POST …/{id}/unlock`: proof of a right guess; resets the count.
//!
//! An escrow's id is random and known to the account's vault, so only someone who can read the
//! vault (or its operator) can spend its guesses.

pub mod records;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use latch_vault::escrow::guardian::Registration;
use latch_vault::escrow::messages::{Commit, Evaluate, Unlock, MAX_MESSAGE_BYTES};
use latch_vault::escrow::open_stage;
use latch_vault::VaultError;
use latch_webauthn::b64;
use serde_json::json;

use crate::state::{Clock, SystemClock};
use crate::store::{DbError, Store, StoreError};

/// Concurrent guesses race for one row; each loses at most this many times to another.
const RETRIES: usize = 64;

#[derive(Clone)]
pub struct Guardian {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Guardian {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Guardian { store, clock }
    }
}

/// Why a guardian refused a call.
#[derive(Debug, thiserror::Error)]
pub enum GuardianError {
    #[error("{0}")]
    Vault(#[from] VaultError),
    #[error("the escrow id is not 16 bytes of base64url")]
    BadId,
    #[error("no escrow with this id")]
    NotFound,
    #[error("nothing is staged with this version")]
    NothingStaged,
    #[error("another change to this escrow came first; try again")]
    Conflict,
    #[error("the guardian's database failed")]
    Database(#[from] DbError),
}

impl IntoResponse for GuardianError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            GuardianError::Vault(VaultError::NoGuesses) => (StatusCode::GONE, "no_guesses"),
            GuardianError::Vault(
                VaultError::VersionMismatch | VaultError::RegistrationMismatch,
            ) => (StatusCode::CONFLICT, "version_mismatch"),
            GuardianError::Vault(VaultError::BadUnlockTag) => {
                (StatusCode::FORBIDDEN, "bad_unlock_tag")
            }
            GuardianError::Vault(VaultError::BadSignature { .. }) => {
                (StatusCode::FORBIDDEN, "bad_signature")
            }
            GuardianError::Vault(_) | GuardianError::BadId => {
                (StatusCode::BAD_REQUEST, "malformed")
            }
            GuardianError::NotFound => (StatusCode::NOT_FOUND, "not_registered"),
            GuardianError::NothingStaged => (StatusCode::CONFLICT, "nothing_staged"),
            GuardianError::Conflict => (StatusCode::CONFLICT, "conflict"),
            GuardianError::Database(e) => {
                eprintln!("latch guardian: database: {e}");
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
        };
        (
            status,
            Json(json!({ "error": code, "message": self.to_string() })),
        )
            .into_response()
    }
}

fn cbor(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()
}

fn escrow_id(text: &str) -> Result<[u8; 16], GuardianError> {
    b64::decode(text)
        .and_then(|b| b.try_into().ok())
        .ok_or(GuardianError::BadId)
}

async fn current(g: &Guardian, id: &[u8; 16]) -> Result<Registration, GuardianError> {
    records::find(&g.store, id)
        .await?
        .and_then(|r| r.current)
        .ok_or(GuardianError::NotFound)
}

pub fn app(guardian: Guardian) -> Router {
    Router::new()
        .route("/v1/escrows/{id}", get(status))
        .route("/v1/escrows/{id}/stage", put(stage))
        .route("/v1/escrows/{id}/commit", post(commit))
        .route("/v1/escrows/{id}/evaluate", post(evaluate))
        .route("/v1/escrows/{id}/unlock", post(unlock))
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(guardian)
}

async fn status(
    State(g): State<Guardian>,
    Path(id): Path<String>,
) -> Result<Response, GuardianError> {
    let registration = current(&g, &escrow_id(&id)?).await?;
    Ok(cbor(registration.status().to_bytes()?))
}

async fn stage(
    State(g): State<Guardian>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuardianError> {
    let id = escrow_id(&id)?;
    let record = records::find(&g.store, &id).await?;
    let owner = record.as_ref().map(|r| r.owner);
    let current = record
        .as_ref()
        .and_then(|r| r.current.as_ref())
        .map(|c| c.version);
    let stage = open_stage(&body, &id, owner, current)?;
    if !records::stage(&g.store, id, owner, &stage, body.to_vec(), g.clock.now()).await? {
        return Err(GuardianError::Conflict);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn commit(
    State(g): State<Guardian>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuardianError> {
    let id = escrow_id(&id)?;
    let commit = Commit::parse(&body)?;
    let record = records::find(&g.store, &id)
        .await?
        .ok_or(GuardianError::NotFound)?;
    let staged = record.staged.ok_or(GuardianError::NothingStaged)?;
    let current = record.current.as_ref().map(|c| c.version);
    let stage = open_stage(&staged, &id, Some(record.owner), current)?;
    if stage.version != commit.version {
        return Err(GuardianError::NothingStaged);
    }
    let registration = Registration::from_stage(&stage)?;
    if !records::commit(
        &g.store,
        id,
        staged,
        &registration,
        stage.owner,
        g.clock.now(),
    )
    .await?
    {
        return Err(GuardianError::Conflict);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One guess: counted and committed first; only then is the evaluation computed and sent.
async fn evaluate(
    State(g): State<Guardian>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuardianError> {
    let id = escrow_id(&id)?;
    let guess = Evaluate::parse(&body)?;
    for _ in 0..RETRIES {
        let was = current(&g, &id).await?;
        let (next, evaluator) = was.count_guess(&guess)?;
        if records::update_count(&g.store, id, &was, &next, g.clock.now()).await? {
            return Ok(cbor(evaluator.evaluate()?.to_bytes()?));
        }
        // Another guess or reset changed the row first: read it again.
    }
    Err(GuardianError::Conflict)
}

async fn unlock(
    State(g): State<Guardian>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuardianError> {
    let id = escrow_id(&id)?;
    let proof = Unlock::parse(&body)?;
    for _ in 0..RETRIES {
        let was = current(&g, &id).await?;
        let next = was.unlock(&proof)?;
        if records::update_count(&g.store, id, &was, &next, g.clock.now()).await? {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    Err(GuardianError::Conflict)
}

#[derive(Debug, thiserror::Error)]
pub enum GuardianServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Opens (and migrates) the guardian's database and serves until `shutdown` resolves.
pub async fn serve(
    listen: &str,
    db: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GuardianServeError> {
    let store = Store::connect_guardian(db).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| GuardianServeError::Listen {
            addr: listen.to_owned(),
            source,
        })?;
    let addr = listener.local_addr()?;
    eprintln!("latch guardian: listening on http://{addr} (database {db})");
    eprintln!(
        "latch guardian: this database is the guess count. Restoring it from a backup or \
         snapshot hands back spent guesses; run each guardian with its own operator."
    );
    let router = app(Guardian::new(store.clone(), Arc::new(SystemClock)));
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    Ok(served?)
}
