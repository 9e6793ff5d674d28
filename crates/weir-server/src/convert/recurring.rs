//! Recurring runs: `v2beta1RecurringRun` JSON and the create request.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_store::{RecurringMode, RecurringRunRecord};

use super::run::{ApiRuntimeConfig, ApiVersionReference, RuntimeConfigBody, VersionReferenceBody};
use super::spec::stored_to_api;
use super::{de_int64, de_string, non_empty, timestamp};

#[derive(Debug, Serialize)]
pub struct ApiRecurringRun {
    pub recurring_run_id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_reference: Option<ApiVersionReference>,
    pub runtime_config: ApiRuntimeConfig,
    /// An int64, so a string in protobuf JSON.
    pub max_concurrency: String,
    pub trigger: Value,
    pub mode: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub status: &'static str,
    pub no_catchup: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
}

impl ApiRecurringRun {
    /// Converts a record; `pipeline_id` is the pipeline of its version, when it has one.
    pub fn new(record: &RecurringRunRecord, pipeline_id: Option<&str>) -> Self {
        let config = &record.runtime_config;
        let parameters = match config.get("parameters") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let pipeline_root = config.get("pipeline_root").and_then(Value::as_str).and_then(non_empty);
        ApiRecurringRun {
            recurring_run_id: record.recurring_run_id.clone(),
            display_name: record.display_name.clone(),
            description: non_empty(&record.description),
            pipeline_version_id: record.pipeline_version_id.clone(),
            pipeline_spec: record.pipeline_spec.as_ref().map(stored_to_api),
            pipeline_version_reference: record.pipeline_version_id.as_ref().map(|version_id| {
                ApiVersionReference {
                    pipeline_id: pipeline_id.unwrap_or_default().to_string(),
                    pipeline_version_id: version_id.clone(),
                }
            }),
            runtime_config: ApiRuntimeConfig { parameters, pipeline_root },
            max_concurrency: record.max_concurrency.to_string(),
            trigger: record.trigger.clone(),
            mode: record.mode.as_str(),
            created_at: timestamp(record.created_at),
            updated_at: timestamp(record.updated_at),
            status: match record.mode {
                RecurringMode::Enable => "ENABLED",
                RecurringMode::Disable => "DISABLED",
            },
            no_catchup: record.no_catchup,
            namespace: non_empty(&record.namespace),
            experiment_id: record.experiment_id.clone().filter(|id| !id.is_empty()),
        }
    }
}

/// Body of `POST /recurringruns`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecurringRunBody {
    #[serde(alias = "displayName", deserialize_with = "de_string")]
    pub display_name: String,
    #[serde(deserialize_with = "de_string")]
    pub description: String,
    #[serde(alias = "pipelineVersionId", deserialize_with = "de_string")]
    pub pipeline_version_id: String,
    #[serde(alias = "pipelineSpec")]
    pub pipeline_spec: Option<Value>,
    #[serde(alias = "pipelineVersionReference")]
    pub pipeline_version_reference: Option<VersionReferenceBody>,
    #[serde(alias = "runtimeConfig")]
    pub runtime_config: Option<RuntimeConfigBody>,
    #[serde(alias = "maxConcurrency", deserialize_with = "de_int64")]
    pub max_concurrency: Option<i64>,
    pub trigger: Option<Value>,
    #[serde(deserialize_with = "de_string")]
    pub mode: String,
    #[serde(alias = "noCatchup")]
    pub no_catchup: Option<bool>,
    #[serde(deserialize_with = "de_string")]
    pub namespace: String,
    #[serde(alias = "experimentId", deserialize_with = "de_string")]
    pub experiment_id: String,
}
