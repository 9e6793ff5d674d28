//! `/apis/v2beta1/pipelines`: pipelines and their versions, created from JSON or uploaded as
//! multipart files, then read, listed, updated and deleted.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use weir_spec::Pipeline;
use weir_store::{NewPipeline, NewPipelineVersion, PipelineRecord, StoreError};

use crate::convert::pipeline::{
    ApiPipeline, ApiPipelineVersion, PipelineAndVersionBody, PipelineBody, PipelineVersionBody,
};
use crate::convert::spec;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::filter::ListParams;
use crate::state::AppState;

/// Largest pipeline file an upload may send.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PipelineBody>,
) -> ApiResult<Json<ApiPipeline>> {
    let new = new_pipeline(&body)?;
    let (pipeline, _) = insert_pipeline(&state, &new, None).await?;
    Ok(Json(ApiPipeline::from(&pipeline)))
}

/// `POST /pipelines/create`: a pipeline and its first version in one request.
pub async fn create_with_version(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PipelineAndVersionBody>,
) -> ApiResult<Json<Value>> {
    let Some(pipeline_body) = &body.pipeline else {
        return Err(ApiError::invalid("`pipeline` is required"));
    };
    let Some(version_body) = &body.pipeline_version else {
        return Err(ApiError::invalid(
            "`pipeline_version` is required; use POST /apis/v2beta1/pipelines for a pipeline \
             without versions",
        ));
    };
    let new = new_pipeline(pipeline_body)?;
    let version = new_version(&new.pipeline_id, version_body, &new.name).await?;
    let (pipeline, version) = insert_pipeline(&state, &new, Some(&version)).await?;
    Ok(Json(json!({
        "pipeline": ApiPipeline::from(&pipeline),
        "pipeline_version": version.as_ref().map(|v| ApiPipelineVersion::new(v, true)),
    })))
}

fn new_pipeline(body: &PipelineBody) -> ApiResult<NewPipeline> {
    let name = first_non_empty(&[&body.name, &body.display_name]);
    if name.is_empty() {
        return Err(ApiError::invalid("pipeline name or display_name is required"));
    }
    Ok(NewPipeline {
        pipeline_id: uuid::Uuid::new_v4().to_string(),
        namespace: body.namespace.clone(),
        name: name.to_string(),
        display_name: first_non_empty(&[&body.display_name, name]).to_string(),
        description: body.description.clone().unwrap_or_default(),
    })
}

fn first_non_empty<'a>(candidates: &[&'a str]) -> &'a str {
    candidates.iter().map(|c| c.trim()).find(|c| !c.is_empty()).unwrap_or_default()
}

async fn insert_pipeline(
    state: &AppState,
    new: &NewPipeline,
    version: Option<&NewPipelineVersion>,
) -> ApiResult<(PipelineRecord, Option<weir_store::PipelineVersionRecord>)> {
    let created = state.store.create_pipeline(new, version).await.map_err(|e| match e {
        StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(format!(
            "a pipeline named {:?} already exists; upload a new version of it, or choose \
             another name",
            new.name
        )),
        other => other.into(),
    })?;
    tracing::info!(pipeline.id = %new.pipeline_id, pipeline.name = %new.name, "Pipeline created.");
    Ok(created)
}

/// Builds a version from a JSON body, loading its spec inline or from a local `package_url`.
async fn new_version(
    pipeline_id: &str,
    body: &PipelineVersionBody,
    default_name: &str,
) -> ApiResult<NewPipelineVersion> {
    let package_url = body.package_url.as_ref().map(|url| url.pipeline_url.trim().to_string());
    let pipeline = match (&body.pipeline_spec, package_url.as_deref()) {
        (Some(value), _) if !value.is_null() => spec::load_api_spec(value, "pipeline_spec")?,
        (_, Some(url)) if !url.is_empty() => load_package_url(url).await?,
        _ => {
            return Err(ApiError::invalid(
                "pipeline version needs pipeline_spec or package_url.pipeline_url; to send a \
                 file, use POST /apis/v2beta1/pipelines/upload_version",
            ))
        }
    };
    let name = first_non_empty(&[&body.name, &body.display_name, default_name]).to_string();
    Ok(version_record(
        pipeline_id,
        &pipeline,
        VersionText {
            name,
            display_name: body.display_name.clone(),
            description: body.description.clone().unwrap_or_default(),
            package_url,
            code_source_url: body.code_source_url.clone(),
        },
    ))
}

/// Reads a pipeline from a `file://` URL or an absolute local path. Weir downloads nothing.
async fn load_package_url(url: &str) -> ApiResult<Pipeline> {
    let path = match url.strip_prefix("file://") {
        Some(path) => path,
        None if url.starts_with('/') => url,
        None => {
            return Err(ApiError::invalid(format!(
                "cannot read package_url {url:?}: Weir reads only file:// URLs and absolute \
                 local paths; send the spec as pipeline_spec or upload the file"
            )))
        }
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| ApiError::invalid(format!("cannot read package_url {url:?}: {e}")))?;
    spec::load_text(&text, url)
}

struct VersionText {
    name: String,
    display_name: String,
    description: String,
    package_url: Option<String>,
    code_source_url: Option<String>,
}

fn version_record(pipeline_id: &str, pipeline: &Pipeline, text: VersionText) -> NewPipelineVersion {
    let display_name =
        if text.display_name.trim().is_empty() { text.name.clone() } else { text.display_name };
    NewPipelineVersion {
        pipeline_version_id: uuid::Uuid::new_v4().to_string(),
        pipeline_id: pipeline_id.to_string(),
        name: text.name,
        display_name,
        description: text.description,
        pipeline_spec: spec::to_stored(pipeline),
        package_url: text.package_url.filter(|url| !url.is_empty()),
        code_source_url: text.code_source_url.filter(|url| !url.is_empty()),
    }
}

/// Query parameters of the two upload endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct UploadParams {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub namespace: Option<String>,
    pub code_source_url: Option<String>,
    pub pipelineid: Option<String>,
}

/// `POST /pipelines/upload`: a new pipeline with its first version from a multipart file.
pub async fn upload(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UploadParams>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ApiPipeline>> {
    let file = read_upload(multipart).await?;
    let pipeline = spec::load_text(&file.text, &file.name)?;
    let name = first_non_empty(&[
        params.name.as_deref().unwrap_or_default(),
        params.display_name.as_deref().unwrap_or_default(),
        file_stem(&file.name),
        &pipeline.spec.pipeline_info.name,
    ])
    .to_string();
    let new = NewPipeline {
        pipeline_id: uuid::Uuid::new_v4().to_string(),
        namespace: params.namespace.clone().unwrap_or_default(),
        name: name.clone(),
        display_name: first_non_empty(&[params.display_name.as_deref().unwrap_or_default(), &name])
            .to_string(),
        description: params.description.clone().unwrap_or_default(),
    };
    let version = version_record(
        &new.pipeline_id,
        &pipeline,
        VersionText {
            name: name.clone(),
            display_name: new.display_name.clone(),
            description: new.description.clone(),
            package_url: None,
            code_source_url: params.code_source_url.clone(),
        },
    );
    let (pipeline, _) = insert_pipeline(&state, &new, Some(&version)).await?;
    Ok(Json(ApiPipeline::from(&pipeline)))
}

/// `POST /pipelines/upload_version?pipelineid=...`: a new version from a multipart file.
pub async fn upload_version(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UploadParams>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ApiPipelineVersion>> {
    let pipeline_id = params.pipelineid.as_deref().unwrap_or_default().trim();
    if pipeline_id.is_empty() {
        return Err(ApiError::invalid(
            "query parameter pipelineid is required: the pipeline to add the version to",
        ));
    }
    state.store.get_pipeline(pipeline_id).await?;
    let file = read_upload(multipart).await?;
    let pipeline = spec::load_text(&file.text, &file.name)?;
    let name = first_non_empty(&[
        params.name.as_deref().unwrap_or_default(),
        params.display_name.as_deref().unwrap_or_default(),
        file_stem(&file.name),
    ]);
    if name.is_empty() {
        return Err(ApiError::invalid("query parameter name is required: the version name"));
    }
    let version = version_record(
        pipeline_id,
        &pipeline,
        VersionText {
            name: name.to_string(),
            display_name: params.display_name.clone().unwrap_or_default(),
            description: params.description.clone().unwrap_or_default(),
            package_url: None,
            code_source_url: params.code_source_url.clone(),
        },
    );
    let version = insert_version(&state, &version).await?;
    Ok(Json(ApiPipelineVersion::new(&version, true)))
}

async fn insert_version(
    state: &AppState,
    version: &NewPipelineVersion,
) -> ApiResult<weir_store::PipelineVersionRecord> {
    let created = state.store.create_pipeline_version(version).await.map_err(|e| match e {
        StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(format!(
            "pipeline {:?} already has a version named {:?}; choose another name",
            version.pipeline_id, version.name
        )),
        other => other.into(),
    })?;
    tracing::info!(pipeline.id = %version.pipeline_id,
        pipeline_version.id = %version.pipeline_version_id, "Pipeline version created.");
    Ok(created)
}

/// An uploaded pipeline file.
struct Upload {
    name: String,
    text: String,
}

/// Reads the `uploadfile` part of a multipart upload as UTF-8 text.
async fn read_upload(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<Upload> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::invalid(format!(
            "expected a multipart/form-data upload with the pipeline file in the field \
             `uploadfile`: {}",
            e.body_text()
        ))
    })?;
    let mut field_names = Vec::new();
    // Bounded by the body limit; each loop reads one part.
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::invalid(format!("invalid multipart upload: {}", e.body_text())))?
    {
        let field_name = field.name().unwrap_or_default().to_string();
        if field_name != "uploadfile" {
            field_names.push(field_name);
            continue;
        }
        let name = field.file_name().unwrap_or("uploadfile").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            ApiError::invalid(format!(
                "failed to read the uploaded file {name:?}: {}",
                e.body_text()
            ))
        })?;
        if bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(b"PK") {
            return Err(ApiError::invalid(format!(
                "{name}: archives (.tar.gz, .zip) are not supported; upload the compiled \
                 pipeline YAML"
            )));
        }
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::invalid(format!(
                "{name}: the file is not UTF-8 text; upload the compiled pipeline YAML"
            ))
        })?;
        return Ok(Upload { name, text });
    }
    Err(ApiError::invalid(format!(
        "the upload has no field `uploadfile`{}; send the pipeline file in a multipart field \
         named uploadfile",
        if field_names.is_empty() {
            String::new()
        } else {
            format!(" (found {})", field_names.join(", "))
        }
    )))
}

fn file_stem(file_name: &str) -> &str {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    for suffix in [".yaml", ".yml", ".json"] {
        if let Some(stem) = base.strip_suffix(suffix) {
            return stem;
        }
    }
    base
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(pipeline_id): ApiPath<String>,
) -> ApiResult<Json<ApiPipeline>> {
    let pipeline = state.store.get_pipeline(&pipeline_id).await?;
    Ok(Json(ApiPipeline::from(&pipeline)))
}

#[derive(Debug, Default, Deserialize)]
pub struct NamespaceParam {
    pub namespace: Option<String>,
}

pub async fn get_by_name(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<NamespaceParam>,
) -> ApiResult<Json<ApiPipeline>> {
    let namespace = params.namespace.unwrap_or_default();
    let pipeline = state.store.get_pipeline_by_name(&namespace, &name).await?;
    Ok(Json(ApiPipeline::from(&pipeline)))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let query = params.to_query()?;
    let page = state.store.list_pipelines(&query).await?;
    let pipelines: Vec<ApiPipeline> = page.items.iter().map(ApiPipeline::from).collect();
    Ok(Json(super::page_json("pipelines", pipelines, page.total_size, page.next_page_token)))
}

/// `PATCH /pipelines/{id}`: changes display_name and description.
pub async fn update(
    State(state): State<AppState>,
    ApiPath(pipeline_id): ApiPath<String>,
    ApiJson(body): ApiJson<PipelineBody>,
) -> ApiResult<Json<ApiPipeline>> {
    let display_name = Some(body.display_name.trim()).filter(|name| !name.is_empty());
    let pipeline = state
        .store
        .update_pipeline(&pipeline_id, display_name, body.description.as_deref())
        .await?;
    Ok(Json(ApiPipeline::from(&pipeline)))
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteParams {
    pub cascade: Option<String>,
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(pipeline_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<Json<Value>> {
    // Accepts the spellings of Go's strconv.ParseBool, because the Python client sends `True`.
    let cascade = match params.cascade.as_deref().map(str::trim) {
        None | Some("" | "false" | "False" | "FALSE" | "f" | "F" | "0") => false,
        Some("true" | "True" | "TRUE" | "t" | "T" | "1") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!("invalid cascade {other:?}: use true or false")))
        }
    };
    state.store.delete_pipeline(&pipeline_id, cascade).await?;
    tracing::info!(pipeline.id = %pipeline_id, cascade, "Pipeline deleted.");
    Ok(Json(json!({})))
}

pub async fn create_version(
    State(state): State<AppState>,
    ApiPath(pipeline_id): ApiPath<String>,
    ApiJson(body): ApiJson<PipelineVersionBody>,
) -> ApiResult<Json<ApiPipelineVersion>> {
    if !body.pipeline_id.is_empty() && body.pipeline_id != pipeline_id {
        return Err(ApiError::invalid(format!(
            "the body's pipeline_id {:?} differs from the path's {pipeline_id:?}",
            body.pipeline_id
        )));
    }
    let pipeline = state.store.get_pipeline(&pipeline_id).await?;
    let version = new_version(&pipeline_id, &body, &pipeline.name).await?;
    let version = insert_version(&state, &version).await?;
    Ok(Json(ApiPipelineVersion::new(&version, true)))
}

pub async fn get_version(
    State(state): State<AppState>,
    ApiPath((pipeline_id, version_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ApiPipelineVersion>> {
    let version = version_of(&state, &pipeline_id, &version_id).await?;
    Ok(Json(ApiPipelineVersion::new(&version, true)))
}

async fn version_of(
    state: &AppState,
    pipeline_id: &str,
    version_id: &str,
) -> ApiResult<weir_store::PipelineVersionRecord> {
    let version = state.store.get_pipeline_version(version_id).await?;
    if version.pipeline_id != pipeline_id {
        return Err(ApiError::NotFound(format!(
            "pipeline version {version_id:?} not found in pipeline {pipeline_id:?}"
        )));
    }
    Ok(version)
}

pub async fn list_versions(
    State(state): State<AppState>,
    ApiPath(pipeline_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let query = params.to_query()?;
    state.store.get_pipeline(&pipeline_id).await?;
    let page = state.store.list_pipeline_versions(&pipeline_id, &query).await?;
    let versions: Vec<ApiPipelineVersion> =
        page.items.iter().map(|v| ApiPipelineVersion::new(v, false)).collect();
    Ok(Json(super::page_json("pipeline_versions", versions, page.total_size, page.next_page_token)))
}

pub async fn update_version(
    State(state): State<AppState>,
    ApiPath((pipeline_id, version_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PipelineVersionBody>,
) -> ApiResult<Json<ApiPipelineVersion>> {
    version_of(&state, &pipeline_id, &version_id).await?;
    let display_name = Some(body.display_name.trim()).filter(|name| !name.is_empty());
    let version = state
        .store
        .update_pipeline_version(&version_id, display_name, body.description.as_deref())
        .await?;
    Ok(Json(ApiPipelineVersion::new(&version, true)))
}

pub async fn delete_version(
    State(state): State<AppState>,
    ApiPath((pipeline_id, version_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    version_of(&state, &pipeline_id, &version_id).await?;
    state.store.delete_pipeline_version(&version_id).await?;
    tracing::info!(pipeline.id = %pipeline_id, pipeline_version.id = %version_id,
        "Pipeline version deleted.");
    Ok(Json(json!({})))
}
