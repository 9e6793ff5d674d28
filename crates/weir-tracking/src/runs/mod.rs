//! Runs and what is logged to them: create, get, update, delete, restore, params, tags,
//! metrics, log-batch, dataset inputs and model outputs, and metric histories.

pub mod read;

use axum::Router;

use crate::TrackingState;

/// The run and metric routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
}
