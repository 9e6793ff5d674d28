//! Logged models (MLflow 3): models logged by a run, with their own params, tags, metrics and
//! artifact folder.

use axum::Router;

use crate::TrackingState;

/// The logged-model routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
}
