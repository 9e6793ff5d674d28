//! The model registry: registered models, model versions, tags, aliases and stages.

use axum::Router;

use crate::TrackingState;

/// The registry routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
}
