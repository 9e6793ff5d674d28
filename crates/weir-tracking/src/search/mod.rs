//! Searching: MLflow's filter and order-by grammar ([`filter`]), what each endpoint accepts
//! ([`rules`]), its translation to SQL ([`sql`]), offset page tokens ([`page`]), and the
//! search endpoints of runs ([`runs`]) and experiments ([`experiments`]).
//!
//! Other searches (registered models, model versions, logged models) use the same pieces:
//! `rules::parse_filter(text, &rules::MODEL_VERSIONS)`, then `sql::Sql::push_condition` for
//! each comparison, and `page` for the tokens.

pub mod experiments;
pub mod filter;
pub mod page;
pub mod rules;
pub mod runs;
pub mod sql;
mod token;

use axum::routing::{get, post};
use axum::Router;

use crate::error::Result;
use crate::fields::Fields;
use crate::TrackingState;

/// Returns the search routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow/runs/search", post(runs::search))
        .route("/mlflow/experiments/search", get(experiments::search).post(experiments::search))
}

/// Reads the lifecycle stages a view type selects: `ACTIVE_ONLY` (1, the default), `DELETED_ONLY`
/// (2) or `ALL` (3), given by name or number.
pub fn lifecycle_stages(fields: &Fields, field: &str) -> Result<&'static [&'static str]> {
    let view = fields.opt_enum(field)?.unwrap_or_default();
    Ok(match view.trim() {
        "DELETED_ONLY" | "2" => &["deleted"],
        "ALL" | "3" => &["active", "deleted"],
        // MLflow's proto parser ignores an unknown enum name, which leaves the default.
        _ => &["active"],
    })
}
