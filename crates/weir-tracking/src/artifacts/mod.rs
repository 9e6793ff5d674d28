//! Artifacts: the `mlflow-artifacts` proxy that stores files under [`crate::Tracking`]'s
//! artifact folder, and the tracking service's `artifacts/list`.

use axum::Router;

use crate::TrackingState;

/// `GET /mlflow/artifacts/list` and the other routes of the tracking service, relative to
/// `/api/2.0`.
pub fn tracking_routes() -> Router<TrackingState> {
    Router::new()
}

/// The `mlflow-artifacts` proxy routes, relative to `/api/2.0`.
pub fn proxy_routes() -> Router<TrackingState> {
    Router::new()
}

/// Routes outside the versioned prefixes, such as `/get-artifact`.
pub fn plain_routes() -> Router<TrackingState> {
    Router::new()
}
