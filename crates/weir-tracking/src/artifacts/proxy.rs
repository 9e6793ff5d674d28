//! The `mlflow-artifacts` proxy service (`MlflowArtifactsService` in MLflow's
//! `mlflow_artifacts.proto`): download, upload, list and delete files under the artifact root
//! by their path relative to it. `mlflow-artifacts:/1/abc/artifacts/model/MLmodel` is the file
//! `<artifact_root>/1/abc/artifacts/model/MLmodel`.
//!
//! Multipart uploads (`mpu/create`, `mpu/complete`, `mpu/abort`) work as with MLflow's cloud
//! artifact stores, except that the part URLs point back at this server ([`super::multipart`]).
//! Presigned downloads fail as they do on an MLflow server with a local artifact root:
//! `NOT_IMPLEMENTED`, with the message prefix the `mlflow` client checks before it falls back
//! to one streamed `GET`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{HeaderValue, ETAG, HOST};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::local::{self, blocking};
use super::path::ArtifactPath;
use super::{download, files_json, multipart};
use crate::error::{ErrorCode, Result, TrackingError};
use crate::fields::Fields;
use crate::TrackingState;

/// The route of part uploads, after the `/api/2.0` prefix.
pub const PARTS_ROUTE: &str = "/mlflow-artifacts/mpu/parts";

/// The start of the message of MLflow's `_UnsupportedMultipartDownloadException`, which the
/// client checks before it falls back to one streamed `GET`.
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

/// `POST /api/2.0/mlflow-artifacts/mpu/create/{path}`: see [`create_multipart`].
pub async fn create_multipart_api(
    state: State<TrackingState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    create_multipart("/api/2.0", state, headers, path, fields).await
}

/// `POST /ajax-api/2.0/mlflow-artifacts/mpu/create/{path}`: see [`create_multipart`].
pub async fn create_multipart_ajax_api(
    state: State<TrackingState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    create_multipart("/ajax-api/2.0", state, headers, path, fields).await
}

/// `POST <prefix>/mlflow-artifacts/mpu/create/{path}`: starts a multipart upload of the file
/// named by the `path` field's base name into the folder `{path}`. Returns the
/// `upload_id` and one credential per part, whose `url` is this server's part route under
/// `prefix` and the request's host.
async fn create_multipart(
    prefix: &str,
    State(state): State<TrackingState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    let folder = route_path(path)?;
    let local_file = fields.str("path")?;
    let requested = fields.opt_i64("num_parts")?.unwrap_or(0);
    let num_parts = u32::try_from(requested)
        .ok()
        .filter(|count| *count <= multipart::MAX_PARTS)
        .ok_or_else(|| {
            TrackingError::invalid(format!(
                "Invalid num_parts {requested}: it must be between 0 and {}. Use larger parts.",
                multipart::MAX_PARTS
            ))
        })?;
    let target = multipart::target_path(&folder, &local_file)?;
    let base = part_url_base(prefix, &headers)?;
    let id = multipart::create(state.artifact_root.clone(), target, num_parts).await?;
    let credentials: Vec<Value> = (1..=num_parts)
        .map(|part| json!({ "url": format!("{base}/{id}/{part}"), "part_number": part }))
        .collect();
    Ok(Json(json!({ "upload_id": id, "credentials": credentials })))
}

/// `PUT mlflow-artifacts/mpu/parts/{upload_id}/{part_number}`: stores one part from the
/// request body and returns its ETag in the `ETag` header.
pub async fn upload_part(
    State(state): State<TrackingState>,
    params: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> Result<Response> {
    let Path((id, part)) = params
        .map_err(|err| TrackingError::invalid(format!("Invalid multipart upload URL: {err}.")))?;
    let part_number: i64 = part.parse().map_err(|_| {
        TrackingError::invalid(format!(
            "Invalid part number '{part}': it must be a whole number. Use the URLs the create \
             call returned."
        ))
    })?;
    let etag = multipart::put_part(state.artifact_root.clone(), id, part_number, body).await?;
    let mut response = Json(json!({})).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}

/// `POST mlflow-artifacts/mpu/complete/{path}`: joins the uploaded parts into the file.
pub async fn complete_multipart(
    State(state): State<TrackingState>,
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    let folder = route_path(path)?;
    let target = multipart::target_path(&folder, &fields.str("path")?)?;
    let id = fields.str("upload_id")?;
    if fields.raw("parts").is_none() {
        return Err(TrackingError::missing("parts"));
    }
    let mut parts = Vec::new();
    for part in fields.objects("parts")? {
        let number =
            part.opt_i64("part_number")?.ok_or_else(|| TrackingError::missing("part_number"))?;
        parts.push((number, part.opt_str("etag")?));
    }
    multipart::complete(state.artifact_root.clone(), id, target, parts).await?;
    Ok(Json(json!({})))
}

/// `POST mlflow-artifacts/mpu/abort/{path}`: drops an upload and its parts.
pub async fn abort_multipart(
    State(state): State<TrackingState>,
    path: Result<Path<String>, PathRejection>,
    fields: Fields,
) -> Result<Json<Value>> {
    let folder = route_path(path)?;
    let target = multipart::target_path(&folder, &fields.str("path")?)?;
    let id = fields.str("upload_id")?;
    multipart::abort(state.artifact_root.clone(), id, target).await?;
    Ok(Json(json!({})))
}

/// Builds `<scheme>://<host><prefix>/mlflow-artifacts/mpu/parts` for the part URLs of a create
/// request, with the host from its `Host` header. The scheme is `http`, or `https` when a proxy
/// in front sets `X-Forwarded-Proto: https`.
fn part_url_base(prefix: &str, headers: &HeaderMap) -> Result<String> {
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
        })
        .ok_or_else(|| {
            TrackingError::invalid(
                "A multipart upload needs the server's address in the Host header of the create \
                 request, to build the part URLs. Send a Host header.",
            )
        })?;
    let forwarded = headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok());
    let scheme = match forwarded {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}{prefix}{PARTS_ROUTE}"))
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
