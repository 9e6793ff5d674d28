//! Searching: MLflow's filter and order-by grammar ([`filter`]) and the search endpoints of
//! experiments and runs.

pub mod filter;

use axum::Router;

use crate::TrackingState;

/// The search routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
}
