//! Weir's MLflow-compatible tracking server and model registry.
//!
//! Training code that calls `mlflow` talks to Weir as it would to an MLflow tracking server:
//! [`router`] serves MLflow's REST API under both `/api/2.0/mlflow/` and
//! `/ajax-api/2.0/mlflow/`, and the artifact proxy under `/api/2.0/mlflow-artifacts/`. State
//! lives in the database Weir already uses ([`db`]), and artifacts in a folder of Weir's
//! artifact store ([`artifacts`]).
//!
//! The wire format is MLflow's proto JSON: [`fields`] reads requests, [`error`] writes MLflow's
//! error body, and each resource module builds its own responses.

pub mod artifacts;
pub mod caller;
pub mod db;
pub mod error;
pub mod experiments;
pub mod fields;
pub mod links;
pub mod logged_models;
pub mod registry;
pub mod runs;
pub mod search;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

pub use crate::db::Db;
pub use crate::error::{ErrorCode, Result, TrackingError};

/// Tag key of a tracking run that contains the id of the Weir run whose task made it.
pub const TAG_WEIR_RUN_ID: &str = "weir.run_id";
/// Tag key of a tracking run that contains the id of the Weir task that made it.
pub const TAG_WEIR_TASK_ID: &str = "weir.task_id";
/// Tag key of a tracking run that contains the pipeline task name of the Weir task.
pub const TAG_WEIR_TASK_NAME: &str = "weir.task_name";

/// Tag key of a tracking run that holds the task's path in its Weir run, such as
/// `for-loop-1/iteration-2/train`.
pub const TAG_WEIR_TASK_PATH: &str = "weir.task_path";

/// The version `GET /version` reports: the MLflow API version Weir follows.
pub const MLFLOW_API_VERSION: &str = "3.17.2";

/// The state every tracking handler shares: the database and the artifact folder.
#[derive(Debug)]
pub struct Tracking {
    pub db: Arc<Db>,
    /// Folder behind `mlflow-artifacts:/` URIs.
    pub artifact_root: PathBuf,
}

/// The state type of every tracking route.
pub type TrackingState = Arc<Tracking>;

impl Tracking {
    /// Opens the tracking store in the database file `db_path` and keeps artifacts under
    /// `artifact_root`.
    pub fn open(db_path: &Path, artifact_root: impl Into<PathBuf>) -> Result<TrackingState> {
        let db = Db::open(db_path)?;
        let artifact_root = artifact_root.into();
        std::fs::create_dir_all(&artifact_root).map_err(|err| {
            TrackingError::internal(format!(
                "could not create the artifact folder {}: {err}. Choose a writable data folder",
                artifact_root.display()
            ))
        })?;
        spawn_stale_upload_cleanup(artifact_root.clone());
        Ok(Arc::new(Tracking { db, artifact_root }))
    }
}

/// Removes abandoned upload leftovers in the background, so a large artifact folder does not
/// delay the start.
fn spawn_stale_upload_cleanup(root: PathBuf) {
    let spawned = std::thread::Builder::new().name("weir-upload-cleanup".into()).spawn(move || {
        let removed =
            artifacts::stale::remove_stale_uploads(&root, artifacts::stale::ABANDONED_AFTER);
        if removed > 0 {
            tracing::info!(removed, root = %root.display(),
                "Removed the leftovers of abandoned artifact uploads.");
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "Could not start the cleanup of abandoned artifact uploads.");
    }
}

/// Builds the router of the MLflow API, with its state applied, ready to merge into a server.
pub fn router(tracking: TrackingState) -> Router {
    let api = Router::new()
        .merge(experiments::routes())
        .merge(runs::routes())
        .merge(search::routes())
        .merge(registry::routes())
        .merge(logged_models::routes())
        .merge(artifacts::tracking_routes());
    let versioned = Router::new()
        .merge(api)
        .merge(artifacts::proxy_routes())
        .layer(DefaultBodyLimit::max(fields::MAX_BODY_BYTES));
    Router::new()
        .nest("/api/2.0", versioned.clone())
        .nest("/ajax-api/2.0", versioned)
        .merge(artifacts::plain_routes())
        .merge(registry::plain_routes())
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { MLFLOW_API_VERSION }))
        .with_state(tracking)
}

/// True for a path under one of the MLflow API prefixes (`/api/`, `/ajax-api/`), which get
/// MLflow's error body even when no route matches.
pub fn is_tracking_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ajax-api/")
}

/// Returns MLflow's `ENDPOINT_NOT_FOUND` error for a request no route matched, for use as a
/// fallback route.
pub async fn endpoint_not_found(method: axum::http::Method, uri: axum::http::Uri) -> TrackingError {
    TrackingError::new(
        ErrorCode::EndpointNotFound,
        format!(
            "Weir does not serve the endpoint {method} {}; it serves MLflow's tracking and model \
             registry API (README.md, section Tracking)",
            uri.path()
        ),
    )
}

/// Milliseconds since the Unix epoch, MLflow's unit for every timestamp.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}
