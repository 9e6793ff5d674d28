//! The HTTP routes of the KFP v2beta1 API under `/apis/v2beta1`, and what every route shares:
//! the list response shape, the request log, and the JSON errors for unknown paths and methods.
//!
//! Custom actions such as `POST /runs/{run_id}:archive` share one route per resource, whose
//! handler splits the last path segment at its final `:`.

pub mod artifacts;
pub mod experiments;
pub mod healthz;
pub mod pipelines;
pub mod recurring_runs;
pub mod runs;
pub mod tracking_links;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ErrorMessage};
use crate::state::AppState;

/// Prefix of every API path.
pub const API_PREFIX: &str = "/apis/v2beta1";

/// Builds the router of every endpoint: the KFP API and the MLflow tracking API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz::get))
        .route("/openapi.json", get(crate::openapi::get))
        .route("/experiments", get(experiments::list).post(experiments::create))
        .route(
            "/experiments/{experiment_id}",
            get(experiments::get).delete(experiments::delete).post(experiments::action),
        )
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route("/pipelines/create", post(pipelines::create_with_version))
        .route("/pipelines/upload", post(pipelines::upload))
        .route("/pipelines/upload_version", post(pipelines::upload_version))
        .route("/pipelines/names/{name}", get(pipelines::get_by_name))
        .route(
            "/pipelines/{pipeline_id}",
            get(pipelines::get).patch(pipelines::update).delete(pipelines::delete),
        )
        .route(
            "/pipelines/{pipeline_id}/versions",
            get(pipelines::list_versions).post(pipelines::create_version),
        )
        .route(
            "/pipelines/{pipeline_id}/versions/{pipeline_version_id}",
            get(pipelines::get_version)
                .patch(pipelines::update_version)
                .delete(pipelines::delete_version),
        )
        .route("/runs", get(runs::list).post(runs::create))
        .route("/runs/{run_id}", get(runs::get).delete(runs::delete).post(runs::action))
        .route("/runs/{run_id}/nodes/{node_id}/artifacts/{artifact}", get(artifacts::read_artifact))
        .route("/runs/{run_id}/tasks/{task_id}/logs", get(artifacts::task_log))
        .route("/runs/{run_id}/logs", get(artifacts::run_log))
        .route("/runs/{run_id}/mlflow-runs", get(tracking_links::list))
        .route("/recurringruns", get(recurring_runs::list).post(recurring_runs::create))
        .route(
            "/recurringruns/{recurring_run_id}",
            get(recurring_runs::get).delete(recurring_runs::delete).post(recurring_runs::action),
        )
        .method_not_allowed_fallback(method_not_allowed);

    let tracking = weir_tracking::router(state.tracking.clone());
    Router::new()
        .nest(API_PREFIX, api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(pipelines::MAX_UPLOAD_BYTES))
        .with_state(state)
        .merge(tracking)
        .layer(axum::middleware::from_fn(log_request))
}

/// Builds a list response: `{<key>: [...], "total_size": n, "next_page_token": "..."}`.
pub fn page_json<T: Serialize>(
    key: &str,
    items: Vec<T>,
    total_size: u64,
    next_page_token: Option<String>,
) -> Value {
    let mut body = Map::new();
    body.insert(key.to_string(), serde_json::to_value(items).unwrap_or_else(|_| json!([])));
    body.insert("total_size".to_string(), json!(total_size));
    if let Some(token) = next_page_token.filter(|token| !token.is_empty()) {
        body.insert("next_page_token".to_string(), json!(token));
    }
    Value::Object(body)
}

pub fn unknown_action(kind: &str, verb: &str, known: &[&str]) -> ApiError {
    ApiError::NotFound(format!(
        "unknown {kind} action {verb:?}; the actions are {}",
        known.iter().map(|v| format!(":{v}")).collect::<Vec<_>>().join(", ")
    ))
}

async fn not_found(request: Request) -> Response {
    if weir_tracking::is_tracking_path(request.uri().path()) {
        // The MLflow client reads `error_code`, so a call to an MLflow endpoint Weir does not
        // serve gets MLflow's error body.
        let (parts, _) = request.into_parts();
        return weir_tracking::endpoint_not_found(parts.method, parts.uri).await.into_response();
    }
    ApiError::NotFound(format!(
        "no endpoint {} {}; the implemented endpoints are listed at {API_PREFIX}/openapi.json",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

/// Rejects a known path with another method. Inside the nested API router the path lacks the
/// prefix, so the message puts it back.
async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "method {} is not allowed on {API_PREFIX}{}",
        request.method(),
        request.uri().path()
    ))
}

/// Logs every request at debug level, and every error response at warn (client errors) or
/// error (server errors) level with its method, path and message.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let message = response.extensions().get::<ErrorMessage>().map(|m| m.0.as_str());
    match message {
        Some(message) if status.is_server_error() => tracing::error!(
            %method, %path, status = status.as_u16(), error = %message, "Request failed."
        ),
        Some(message) => tracing::warn!(
            %method, %path, status = status.as_u16(), error = %message, "Request rejected."
        ),
        None => tracing::debug!(
            %method, %path, status = status.as_u16(), elapsed_ms, "Request served."
        ),
    }
    response
}
