//! The KFP v2beta1 REST API server: the process behind `weir server`, which the unmodified kfp
//! SDK client (`kfp.Client(host=...)`) and the `kfp` command line talk to.
//!
//! It serves pipelines, pipeline versions, experiments, runs and recurring runs from the
//! [`CatalogStore`]. The engine in the same process runs the pipelines submitted to it
//! ([`runs_manager`]), and the [`scheduler`] starts recurring runs on schedule. At start the
//! server resumes the runs a previous process left unfinished.
//!
//! [`Server::bind`] opens the store and binds the address. [`Server::serve`] serves requests
//! until its shutdown future completes, and [`Server::spawn`] does the same on a background task
//! for tests. The KFP wire format lives only in this crate: [`convert`] maps records to API JSON,
//! [`filter`] reads list parameters, and [`error::ApiError`] is the one error shape.

pub mod convert;
pub mod error;
pub mod extract;
pub mod filter;
pub mod launch;
pub mod openapi;
pub mod routes;
pub mod runs_manager;
pub mod scheduler;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_artifacts::LocalArtifactStore;
use weir_engine::{Engine, EngineConfig};
use weir_executor::local::{LocalExecutor, LocalExecutorOptions};
use weir_store::sqlite::SqliteStore;
use weir_store::{CatalogStore, Store, StoreError};

use crate::runs_manager::RunsManager;
use crate::state::{AppState, Shared};

/// The address `weir server` binds by default.
pub const DEFAULT_BIND: &str = "127.0.0.1:8888";

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Folder of the state database (`weir.db`), artifacts and logs.
    pub data_dir: PathBuf,
    pub engine: EngineConfig,
    pub executor: LocalExecutorOptions,
}

impl ServerConfig {
    pub fn new(bind: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            bind,
            data_dir: data_dir.into(),
            engine: EngineConfig::default(),
            executor: LocalExecutorOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the state store {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("cannot open the tracking store {path}: {source}")]
    Tracking { path: String, source: weir_tracking::TrackingError },
    #[error("cannot listen on {addr}: {source}. Choose another address with --bind")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// Returns the folder that contains the tracking server's artifacts (`mlflow-artifacts:/` URIs)
/// inside a data folder.
pub fn tracking_artifact_root(data_dir: &Path) -> PathBuf {
    data_dir.join("artifacts").join("mlflow")
}

/// Returns the tracking URI that tasks on this machine use to reach a server bound to `addr`:
/// an unspecified address (`0.0.0.0`, `::`) becomes the loopback address.
pub fn tracking_uri_for(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// A server whose address is bound and whose store is open, ready to serve.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Server {
    /// Opens the store in the data folder and binds the address. No run starts yet.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let db_path = config.data_dir.join(weir_store::sqlite::DB_FILE);
        let store = SqliteStore::open(&db_path)
            .map_err(|source| ServerError::Store { path: db_path.display().to_string(), source })?;
        let store = Arc::new(store);
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| ServerError::Bind { addr: config.bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr: config.bind, source })?;

        let tracking =
            weir_tracking::Tracking::open(&db_path, tracking_artifact_root(&config.data_dir))
                .map_err(|source| ServerError::Tracking {
                    path: db_path.display().to_string(),
                    source,
                })?;
        let artifacts = LocalArtifactStore::new(config.data_dir.join("artifacts"));
        let executor = Arc::new(LocalExecutor::new(config.executor.clone()));
        let engine_store: Arc<dyn Store> = store.clone();
        let mut engine_config = config.engine.clone();
        if engine_config.tracking_uri.is_none() {
            engine_config.tracking_uri = Some(tracking_uri_for(addr));
            engine_config.tracking_is_weir = true;
        }
        let engine = Engine::new(engine_store, executor, artifacts, engine_config);
        let catalog: Arc<dyn CatalogStore> = store;
        let runs = RunsManager::new(engine.clone(), catalog.clone(), tracking.clone());
        let state = AppState::new(Shared {
            store: catalog,
            engine,
            runs,
            scheduler_wake: Arc::new(Notify::new()),
            data_dir: config.data_dir.clone(),
            tracking,
        });
        Ok(Server { listener, addr, state })
    }

    /// Returns the bound address, with the port the system chose when the configured port was 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.state.data_dir
    }

    /// Serves requests, runs and schedules until `shutdown` completes, then stops accepting
    /// requests, stops the scheduler, and stops the active runs so the next start resumes them.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Server { listener, addr, state } = self;
        tracing::info!(address = %addr, data_dir = %state.data_dir.display(), "Server listening.");

        let background = CancellationToken::new();
        let resumer = {
            let runs = state.runs.clone();
            tokio::spawn(async move {
                let resumed = runs.resume_unfinished().await;
                if resumed > 0 {
                    tracing::info!(runs = resumed, "Resumed unfinished runs.");
                }
            })
        };
        let scheduler = tokio::spawn(scheduler::run(state.clone(), background.clone()));

        let app = routes::router(state.clone());
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;

        background.cancel();
        resumer.abort();
        let _ = scheduler.await;
        let stopped = state.runs.shutdown().await;
        tracing::info!(address = %addr, runs_stopped = stopped,
            "Server stopped; stopped runs resume at the next start.");
        served.map_err(ServerError::Serve)
    }

    /// Serves on a background task; [`RunningServer::stop`] shuts it down.
    pub fn spawn(self) -> RunningServer {
        let addr = self.addr;
        let token = CancellationToken::new();
        let shutdown = token.clone();
        let handle = tokio::spawn(self.serve(async move { shutdown.cancelled().await }));
        RunningServer { addr, token, handle }
    }
}

/// A server serving on a background task.
pub struct RunningServer {
    addr: SocketAddr,
    token: CancellationToken,
    handle: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts the server down and waits until it has stopped.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.token.cancel();
        match self.handle.await {
            Ok(result) => result,
            Err(join_error) => {
                Err(ServerError::Serve(std::io::Error::other(join_error.to_string())))
            }
        }
    }
}
