//! The `mlflow-artifacts` proxy service (`MlflowArtifactsService` in MLflow's
//! `mlflow_artifacts.proto`): download, upload, list and delete files under the artifact root
//! by their path relative to it. `mlflow-artifacts:/1/abc/artifacts/model/MLmodel` is the file
//! `<artifact_root>/1/abc/artifacts/model/MLmodel`.
//!
//! Multipart uploads and presigned downloads fail as they do on an MLflow server with a local
//! artifact root: `NOT_IMPLEMENTED`, with the message prefix the `mlflow` client checks before
//! it falls back to one streamed `PUT` or `GET`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::local::{self, blocking};
use super::path::ArtifactPath;
use super::{download, files_json};
use crate::error::{ErrorCode, Result, TrackingError};
use crate::fields::Fields;
use crate::TrackingState;

/// The start of the message of MLflow's `_UnsupportedMultipartUploadException`. The client
/// falls back to a single `PUT` only when the error message starts with it.
const MULTIPART_UPLOAD_UNSUPPORTED: &str =
    "Multipart upload is not supported for the current artifact repository";

/// The same for presigned (multipart) downloads.
const MULTIPART_DOWNLOAD_UNSUPPORTED: &str =
    "Multipart download is not supported for the current artifact repository";

/// `GET mlflow-artifacts/artifacts/{path}`: streams one file.
pub async fn download(
    State(state): State<TrackingState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response> {
    let path = route_path(path)?;
    download::send(state.artifact_root.clone(), path).await
}

/// `PUT mlflow-artifacts/artifacts/{path}`: stores the request body as the file.
pub async fn upload(
    State(state): State<TrackingState>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Json<Value>> {
    let path = route_path(path)?;
    local::write(state.artifact_root.clone(), path, body).await?;
    Ok(Json(json!({})))
}

/// `DELETE mlflow-artifacts/artifacts/{path}`: deletes a file or a folder.
pub async fn delete(
    State(state): State<TrackingState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>> {
    let path = route_path(path)?;
    let root = state.artifact_root.clone();
    blocking(move || local::delete(&root, &path)).await?;
    Ok(Json(json!({})))
}

/// `GET mlflow-artifacts/artifacts?path=`: lists one folder. Each entry's `path` is its name
/// only, as MLflow's server sends it.
pub async fn list(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let path = ArtifactPath::parse_optional(fields.opt_str("path")?.as_deref())?;
    let root = state.artifact_root.clone();
    let entries = blocking(move || local::list(&root, &path)).await?;
    Ok(Json(files_json(&ArtifactPath::default(), &entries)))
}

/// `POST mlflow-artifacts/mpu/{create,complete,abort}/{path}`: checks the request as MLflow
/// does, then returns `NOT_IMPLEMENTED` because multipart uploads are not supported.
pub async fn multipart(
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    route_path(path)?;
    fields.str("path")?;
    fields.opt_i64("num_parts")?;
    Err(TrackingError::new(
        ErrorCode::NotImplemented,
        format!(
            "{MULTIPART_UPLOAD_UNSUPPORTED}: Weir stores artifacts on its local disk. Upload \
             the file with one PUT to mlflow-artifacts/artifacts/<path>."
        ),
    ))
}

/// `GET mlflow-artifacts/presigned/{path}`: presigned downloads are not supported.
pub async fn presigned(path: Result<Path<String>, PathRejection>) -> Result<Json<Value>> {
    route_path(path)?;
    Err(TrackingError::new(
        ErrorCode::NotImplemented,
        format!(
            "{MULTIPART_DOWNLOAD_UNSUPPORTED}: Weir stores artifacts on its local disk. \
             Download the file with GET mlflow-artifacts/artifacts/<path>."
        ),
    ))
}

/// Reads and checks the `{*path}` part of the route.
fn route_path(path: Result<Path<String>, PathRejection>) -> Result<ArtifactPath> {
    let Path(raw) = path.map_err(|err| {
        TrackingError::invalid(format!("Invalid path in the request URL: {err}."))
    })?;
    ArtifactPath::parse(&raw)
}
