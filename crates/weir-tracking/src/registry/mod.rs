//! The model registry: registered models ([`models`]), their versions ([`versions`]), aliases
//! ([`aliases`]) and searches ([`search`]), served as MLflow's `ModelRegistryService`.
//!
//! [`source`] checks a version's `source` and finds where its files are. [`store`] builds the
//! proto JSON of models and versions, and [`checks`] contains MLflow's rules for names,
//! aliases, stages and tags. Stages (`None`, `Staging`, `Production`, `Archived`)
//! are deprecated in MLflow in favour of aliases, and both work here.

pub mod aliases;
pub mod checks;
pub mod models;
pub mod search;
pub mod source;
pub mod store;
pub mod versions;

use axum::routing::{delete, get, patch, post};
use axum::Router;

use crate::TrackingState;

/// Builds the registry routes, relative to `/api/2.0`.
pub fn routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow/registered-models/create", post(models::create))
        .route("/mlflow/registered-models/get", get(models::get))
        .route("/mlflow/registered-models/rename", post(models::rename))
        .route("/mlflow/registered-models/update", patch(models::update))
        .route("/mlflow/registered-models/delete", delete(models::delete))
        .route("/mlflow/registered-models/search", get(search::search_models))
        .route(
            "/mlflow/registered-models/get-latest-versions",
            get(models::latest_versions).post(models::latest_versions),
        )
        .route("/mlflow/registered-models/set-tag", post(models::set_tag))
        .route("/mlflow/registered-models/delete-tag", delete(models::delete_tag))
        .route(
            "/mlflow/registered-models/alias",
            post(aliases::set).delete(aliases::delete).get(aliases::get),
        )
        .route("/mlflow/model-versions/create", post(versions::create))
        .route("/mlflow/model-versions/get", get(versions::get))
        .route("/mlflow/model-versions/update", patch(versions::update))
        .route("/mlflow/model-versions/delete", delete(versions::delete))
        .route("/mlflow/model-versions/search", get(search::search_versions))
        .route("/mlflow/model-versions/transition-stage", post(versions::transition_stage))
        .route("/mlflow/model-versions/get-download-uri", get(versions::download_uri))
        .route("/mlflow/model-versions/set-tag", post(versions::set_tag))
        .route("/mlflow/model-versions/delete-tag", delete(versions::delete_tag))
}

/// Builds the registry route outside the versioned prefixes: `GET
/// /model-versions/get-artifact`, the file download of the MLflow UI.
pub fn plain_routes() -> Router<TrackingState> {
    Router::new().route("/model-versions/get-artifact", get(versions::get_artifact))
}
