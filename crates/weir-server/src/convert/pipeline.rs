//! Pipelines and pipeline versions: `v2beta1Pipeline` and `v2beta1PipelineVersion` JSON and the
//! create and update requests.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_store::{PipelineRecord, PipelineVersionRecord};

use super::spec::stored_to_api;
use super::{de_string, non_empty, timestamp};

#[derive(Debug, Serialize)]
pub struct ApiPipeline {
    pub pipeline_id: String,
    pub display_name: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl From<&PipelineRecord> for ApiPipeline {
    fn from(record: &PipelineRecord) -> Self {
        ApiPipeline {
            pipeline_id: record.pipeline_id.clone(),
            display_name: record.display_name.clone(),
            name: record.name.clone(),
            description: non_empty(&record.description),
            created_at: timestamp(record.created_at),
            namespace: non_empty(&record.namespace),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ApiUrl {
    pub pipeline_url: String,
}

#[derive(Debug, Serialize)]
pub struct ApiPipelineVersion {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
    pub display_name: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_url: Option<ApiUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_source_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<Value>,
}

impl ApiPipelineVersion {
    /// Converts a version; `with_spec` false leaves the spec out, as list pages do.
    pub fn new(record: &PipelineVersionRecord, with_spec: bool) -> Self {
        ApiPipelineVersion {
            pipeline_id: record.pipeline_id.clone(),
            pipeline_version_id: record.pipeline_version_id.clone(),
            display_name: record.display_name.clone(),
            name: record.name.clone(),
            description: non_empty(&record.description),
            created_at: timestamp(record.created_at),
            package_url: record
                .package_url
                .as_ref()
                .filter(|url| !url.is_empty())
                .map(|url| ApiUrl { pipeline_url: url.clone() }),
            code_source_url: record.code_source_url.clone().filter(|url| !url.is_empty()),
            pipeline_spec: with_spec.then(|| stored_to_api(&record.pipeline_spec)),
        }
    }
}

/// Body of `POST /pipelines` and `PATCH /pipelines/{id}`, and the `pipeline` of
/// `POST /pipelines/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PipelineBody {
    #[serde(alias = "pipelineId", deserialize_with = "de_string")]
    pub pipeline_id: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    #[serde(alias = "displayName", deserialize_with = "de_string")]
    pub display_name: String,
    pub description: Option<String>,
    #[serde(deserialize_with = "de_string")]
    pub namespace: String,
}

/// `package_url` of a version body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UrlBody {
    #[serde(alias = "pipelineUrl", deserialize_with = "de_string")]
    pub pipeline_url: String,
}

/// Body of `POST /pipelines/{id}/versions` and `PATCH .../versions/{id}`, and the
/// `pipeline_version` of `POST /pipelines/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PipelineVersionBody {
    #[serde(alias = "pipelineId", deserialize_with = "de_string")]
    pub pipeline_id: String,
    #[serde(deserialize_with = "de_string")]
    pub name: String,
    #[serde(alias = "displayName", deserialize_with = "de_string")]
    pub display_name: String,
    pub description: Option<String>,
    #[serde(alias = "packageUrl")]
    pub package_url: Option<UrlBody>,
    #[serde(alias = "codeSourceUrl")]
    pub code_source_url: Option<String>,
    #[serde(alias = "pipelineSpec")]
    pub pipeline_spec: Option<Value>,
}

/// Body of `POST /pipelines/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PipelineAndVersionBody {
    pub pipeline: Option<PipelineBody>,
    #[serde(alias = "pipelineVersion")]
    pub pipeline_version: Option<PipelineVersionBody>,
}
