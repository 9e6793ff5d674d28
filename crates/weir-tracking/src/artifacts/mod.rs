//! Artifacts: the `mlflow-artifacts` proxy that stores files under [`crate::Tracking`]'s
//! artifact folder ([`proxy`]), and the tracking-service routes that read a run's or a logged
//! model's files ([`runs`]).
//!
//! Multipart uploads ([`multipart`]) stage their parts in a private folder of the artifact
//! root and join them into the file on completion.
//!
//! Every path from a request passes [`ArtifactPath::parse`], which rejects traversal, and
//! every file access goes through [`local::resolve`], which keeps symbolic links from leading
//! out of the artifact folder. Uploads stream to disk and downloads stream from it, so a file's
//! size is not bounded by memory.

pub mod download;
pub mod local;
pub mod multipart;
pub mod path;
pub mod proxy;
pub mod runs;
pub mod stale;

use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::error::Result;
use crate::{Tracking, TrackingState};

pub use path::{proxied_root, ArtifactPath};

/// Builds the `GET /mlflow/artifacts/list` route, relative to `/api/2.0`.
pub fn tracking_routes() -> Router<TrackingState> {
    Router::new().route("/mlflow/artifacts/list", get(runs::list))
}

/// Builds the `mlflow-artifacts` proxy routes, relative to `/api/2.0`. Uploads and multipart
/// parts have no body size limit because they stream to disk.
pub fn proxy_routes() -> Router<TrackingState> {
    Router::new()
        .route("/mlflow-artifacts/artifacts", get(proxy::list))
        .route(
            "/mlflow-artifacts/artifacts/{*path}",
            get(proxy::download)
                .put(proxy::upload)
                .delete(proxy::delete)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/mlflow-artifacts/mpu/complete/{*path}", post(proxy::complete_multipart))
        .route("/mlflow-artifacts/mpu/abort/{*path}", post(proxy::abort_multipart))
        .route(
            "/mlflow-artifacts/mpu/parts/{upload_id}/{part_number}",
            put(proxy::upload_part).layer(DefaultBodyLimit::disable()),
        )
        .route("/mlflow-artifacts/presigned/{*path}", get(proxy::presigned))
}

/// Builds the routes outside the versioned prefixes: `/get-artifact`, the logged-model file
/// download, and the multipart upload create call, which is routed under each prefix by its
/// full path because the part URLs it returns repeat the request's prefix.
pub fn plain_routes() -> Router<TrackingState> {
    Router::new()
        .route("/get-artifact", get(runs::get_artifact))
        .route(
            "/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files",
            get(runs::logged_model_file),
        )
        .route("/api/2.0/mlflow-artifacts/mpu/create/{*path}", post(proxy::create_multipart_api))
        .route(
            "/ajax-api/2.0/mlflow-artifacts/mpu/create/{*path}",
            post(proxy::create_multipart_ajax_api),
        )
}

/// Lists the folder `path` below the proxied artifact root `root_uri` (such as a run's
/// `artifact_uri`) as MLflow's `ListArtifacts.Response`: `root_uri` and `files`, whose paths
/// are relative to `root_uri`.
pub async fn list_uri(tracking: &Tracking, root_uri: &str, path: &ArtifactPath) -> Result<Value> {
    let folder = proxied_root(root_uri)?.join(path);
    let root = tracking.artifact_root.clone();
    let entries = local::blocking(move || local::list(&root, &folder)).await?;
    let mut response = files_json(path, &entries);
    if let Value::Object(fields) = &mut response {
        fields.insert("root_uri".into(), Value::String(root_uri.to_owned()));
    }
    Ok(response)
}

/// Streams the file `path` below the proxied artifact root `root_uri`.
pub async fn send_uri(
    tracking: &Tracking,
    root_uri: &str,
    path: &ArtifactPath,
) -> Result<Response> {
    let file = proxied_root(root_uri)?.join(path);
    download::send(tracking.artifact_root.clone(), file).await
}

/// Builds the `{"files": [...]}` of a listing, each path being `prefix/name`. An empty listing
/// is `{}`, because proto JSON leaves out empty lists.
fn files_json(prefix: &ArtifactPath, entries: &[local::Entry]) -> Value {
    let mut response = Map::new();
    if entries.is_empty() {
        return Value::Object(response);
    }
    let files = entries
        .iter()
        .map(|entry| {
            let path = prefix.child(&entry.name).as_posix();
            // Proto JSON leaves out a zero size, so an empty file has no `file_size`, as
            // MLflow lists it.
            match entry.size.filter(|size| *size > 0) {
                Some(size) => json!({ "path": path, "is_dir": entry.is_dir, "file_size": size }),
                None => json!({ "path": path, "is_dir": entry.is_dir }),
            }
        })
        .collect();
    response.insert("files".into(), Value::Array(files));
    Value::Object(response)
}
