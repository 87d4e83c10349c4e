//! # latch-server
//!
//! The Latch identity server: accounts, passkey and security-key sign-in, and the signed-in
//! account's credentials, over the JSON API of `shared/ARCHITECTURE.md`. Ceremonies are
//! verified by `latch-webauthn`; everything is stored ([`store`]) in SQLite (the default) or
//! PostgreSQL (many stateless instances sharing one database: a ceremony begun on one
//! instance can be finished on another).
//!
//! [`app`] builds the router (tests drive it with `tower::ServiceExt::oneshot`); [`serve`]
//! opens the database, migrates it and serves until the shutdown future resolves.

pub mod amr;
pub mod config;
mod crypto;
mod csrf;
pub mod error;
pub mod guardian;
mod http;
mod limits;
mod metrics;
pub mod oidc;
mod openapi;
mod password;
pub mod policy;
mod routes;
pub mod sealed;
mod session;
pub mod state;
pub mod store;
mod totp;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::Config;
pub use error::ApiError;
pub use policy::{Policy, Startup};
pub use routes::{app, metrics_app};
pub use state::{AppState, Clock, ManualClock, SystemClock};
pub use store::Store;

/// Why the server could not start (or stopped with an error).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Startup(#[from] policy::StartupError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the database, then serves the API on `config.listen` until `shutdown` resolves,
/// finishing the requests in flight before returning.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    config.validate()?;
    let clock = Arc::new(SystemClock);
    let startup = policy::Startup::load(&config, clock.now())?;
    let store = Store::connect_with_key(&config.db, config.effective_key_file().as_deref()).await?;
    let state = AppState::with_startup(store.clone(), &config, clock, &startup).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let metrics = match &config.metrics_listen {
        Some(listen) => {
            let private = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| ServeError::Listen {
                    addr: listen.clone(),
                    source,
                })?;
            eprintln!(
                "latch serve: metrics on http://{}/metrics",
                private.local_addr()?
            );
            let router = metrics_app(state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(private, router).await {
                    eprintln!("latch serve: the metrics listener stopped: {e}");
                }
            }))
        }
        None => None,
    };
    eprintln!(
        "latch serve: listening on http://{addr} (RP ID {}, origins {})",
        config.rp_id,
        config.origins.join(", ")
    );
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    store.close().await;
    eprintln!("latch serve: stopped");
    Ok(())
}
