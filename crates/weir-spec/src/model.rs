//! Typed model of a compiled KFP v2 pipeline (`PipelineSpec` in protobuf JSON mapping).
//!
//! Field names follow the lowerCamelCase JSON names the kfp compiler writes; every field whose
//! proto name differs also accepts the snake_case spelling. Parameter values stay as
//! `serde_json::Value` because the IR stores them as `google.protobuf.Value`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A whole compiled pipeline: the pipeline spec plus the optional platform spec document.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub spec: PipelineSpec,
    /// The second YAML document (`platforms: {kubernetes: ...}`), kept as JSON.
    pub platform_spec: Option<Value>,
}

/// Run arguments that came with the spec in a PipelineJob or run wrapper (`runtimeConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    /// Pipeline input name -> value, from `parameterValues` (or the KFP run API's `parameters`).
    #[serde(default, alias = "parameter_values")]
    pub parameter_values: BTreeMap<String, Value>,
    /// Pipeline root for this run (`pipelineRoot`, or Vertex AI's `gcsOutputDirectory`).
    #[serde(
        default,
        alias = "pipeline_root",
        alias = "gcsOutputDirectory",
        alias = "gcs_output_directory",
        skip_serializing_if = "Option::is_none"
    )]
    pub pipeline_root: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    #[serde(alias = "pipeline_info")]
    pub pipeline_info: PipelineInfo,
    #[serde(default, alias = "schema_version")]
    pub schema_version: String,
    #[serde(default, alias = "sdk_version", skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    #[serde(default, alias = "default_pipeline_root", skip_serializing_if = "Option::is_none")]
    pub default_pipeline_root: Option<String>,
    pub root: ComponentSpec,
    #[serde(default)]
    pub components: BTreeMap<String, ComponentSpec>,
    #[serde(default, alias = "deployment_spec")]
    pub deployment_spec: DeploymentSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default, alias = "display_name", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSpec {
    #[serde(default)]
    pub executors: BTreeMap<String, ExecutorSpec>,
}

/// A component: either a DAG of tasks or a reference to an executor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(default, alias = "input_definitions")]
    pub input_definitions: InputDefinitions,
    #[serde(default, alias = "output_definitions")]
    pub output_definitions: OutputDefinitions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagSpec>,
    #[serde(default, alias = "executor_label", skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    #[serde(default, alias = "single_platform_specs", skip_serializing_if = "Vec::is_empty")]
    pub single_platform_specs: Vec<Value>,
    #[serde(default, alias = "task_config_passthroughs", skip_serializing_if = "Vec::is_empty")]
    pub task_config_passthroughs: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputDefinitions {
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputDefinitions {
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    #[serde(default, alias = "parameter_type")]
    pub parameter_type: ParameterType,
    #[serde(default, alias = "default_value", skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    #[serde(default, alias = "is_optional")]
    pub is_optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<Value>,
}

/// `ParameterType.ParameterTypeEnum` of the pipeline spec proto.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterType {
    #[default]
    #[serde(rename = "PARAMETER_TYPE_ENUM_UNSPECIFIED")]
    Unspecified,
    NumberDouble,
    NumberInteger,
    String,
    Boolean,
    List,
    Struct,
    TaskFinalStatus,
    TaskConfig,
}

impl ParameterType {
    /// Returns the enum name as it appears in the IR.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::Unspecified => "PARAMETER_TYPE_ENUM_UNSPECIFIED",
            ParameterType::NumberDouble => "NUMBER_DOUBLE",
            ParameterType::NumberInteger => "NUMBER_INTEGER",
            ParameterType::String => "STRING",
            ParameterType::Boolean => "BOOLEAN",
            ParameterType::List => "LIST",
            ParameterType::Struct => "STRUCT",
            ParameterType::TaskFinalStatus => "TASK_FINAL_STATUS",
            ParameterType::TaskConfig => "TASK_CONFIG",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSpec {
    #[serde(default, alias = "artifact_type")]
    pub artifact_type: ArtifactTypeSchema,
    #[serde(default, alias = "is_artifact_list")]
    pub is_artifact_list: bool,
    #[serde(default, alias = "is_optional")]
    pub is_optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactTypeSchema {
    #[serde(default, alias = "schema_title", skip_serializing_if = "Option::is_none")]
    pub schema_title: Option<String>,
    #[serde(default, alias = "schema_version", skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, alias = "instance_schema", skip_serializing_if = "Option::is_none")]
    pub instance_schema: Option<String>,
    #[serde(default, alias = "schema_uri", skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagSpec {
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<DagOutputs>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagOutputs {
    #[serde(default)]
    pub parameters: BTreeMap<String, DagOutputParameter>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, DagOutputArtifact>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DagOutputParameter {
    #[serde(default, alias = "value_from_parameter", skip_serializing_if = "Option::is_none")]
    pub value_from_parameter: Option<ParameterSelector>,
    #[serde(default, alias = "value_from_oneof", skip_serializing_if = "Option::is_none")]
    pub value_from_oneof: Option<ParameterSelectorList>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSelectorList {
    #[serde(default, alias = "parameter_selectors")]
    pub parameter_selectors: Vec<ParameterSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSelector {
    #[serde(alias = "producer_subtask")]
    pub producer_subtask: String,
    #[serde(alias = "output_parameter_key")]
    pub output_parameter_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DagOutputArtifact {
    #[serde(default, alias = "artifact_selectors")]
    pub artifact_selectors: Vec<ArtifactSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSelector {
    #[serde(alias = "producer_subtask")]
    pub producer_subtask: String,
    #[serde(alias = "output_artifact_key")]
    pub output_artifact_key: String,
}

/// One task inside a DAG (`PipelineTaskSpec`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSpec {
    #[serde(default, alias = "task_info")]
    pub task_info: TaskInfo,
    #[serde(alias = "component_ref")]
    pub component_ref: ComponentRef,
    #[serde(default, alias = "dependent_tasks")]
    pub dependent_tasks: Vec<String>,
    #[serde(default)]
    pub inputs: TaskInputs,
    #[serde(default, alias = "caching_options", skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    #[serde(default, alias = "trigger_policy", skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
    #[serde(default, alias = "parameter_iterator", skip_serializing_if = "Option::is_none")]
    pub parameter_iterator: Option<ParameterIterator>,
    #[serde(default, alias = "artifact_iterator", skip_serializing_if = "Option::is_none")]
    pub artifact_iterator: Option<ArtifactIterator>,
    #[serde(default, alias = "iterator_policy", skip_serializing_if = "Option::is_none")]
    pub iterator_policy: Option<IteratorPolicy>,
    #[serde(default, alias = "retry_policy", skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentRef {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInputs {
    #[serde(default)]
    pub parameters: BTreeMap<String, TaskInputParameter>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, TaskInputArtifact>,
}

/// Source of a task input parameter's value (one of the `kind` fields is set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInputParameter {
    #[serde(default, alias = "task_output_parameter", skip_serializing_if = "Option::is_none")]
    pub task_output_parameter: Option<TaskOutputParameterRef>,
    #[serde(default, alias = "runtime_value", skip_serializing_if = "Option::is_none")]
    pub runtime_value: Option<RuntimeValue>,
    #[serde(default, alias = "component_input_parameter", skip_serializing_if = "Option::is_none")]
    pub component_input_parameter: Option<String>,
    #[serde(default, alias = "task_final_status", skip_serializing_if = "Option::is_none")]
    pub task_final_status: Option<TaskFinalStatusRef>,
    #[serde(
        default,
        alias = "parameter_expression_selector",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameter_expression_selector: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputParameterRef {
    #[serde(alias = "producer_task")]
    pub producer_task: String,
    #[serde(alias = "output_parameter_key")]
    pub output_parameter_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinalStatusRef {
    #[serde(alias = "producer_task")]
    pub producer_task: String,
}

/// `ValueOrRuntimeParameter`: a constant, or the name of a runtime parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    /// Deprecated typed form (`{stringValue|intValue|doubleValue}`) written by old SDKs.
    #[serde(default, alias = "constant_value", skip_serializing_if = "Option::is_none")]
    pub constant_value: Option<Value>,
    #[serde(default, alias = "runtime_parameter", skip_serializing_if = "Option::is_none")]
    pub runtime_parameter: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInputArtifact {
    #[serde(default, alias = "task_output_artifact", skip_serializing_if = "Option::is_none")]
    pub task_output_artifact: Option<TaskOutputArtifactRef>,
    #[serde(default, alias = "component_input_artifact", skip_serializing_if = "Option::is_none")]
    pub component_input_artifact: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputArtifactRef {
    #[serde(alias = "producer_task")]
    pub producer_task: String,
    #[serde(alias = "output_artifact_key")]
    pub output_artifact_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachingOptions {
    #[serde(default, alias = "enable_cache")]
    pub enable_cache: bool,
    #[serde(default, alias = "cache_key", skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default)]
    pub strategy: TriggerStrategy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerStrategy {
    /// Every upstream task must succeed (the default).
    #[default]
    #[serde(rename = "TRIGGER_STRATEGY_UNSPECIFIED")]
    Unspecified,
    AllUpstreamTasksSucceeded,
    AllUpstreamTasksCompleted,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterIterator {
    pub items: ParameterIteratorItems,
    #[serde(alias = "item_input")]
    pub item_input: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterIteratorItems {
    /// JSON text of a literal list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Name of one of the loop task's own input parameters.
    #[serde(default, alias = "input_parameter", skip_serializing_if = "Option::is_none")]
    pub input_parameter: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactIterator {
    pub items: ArtifactIteratorItems,
    #[serde(alias = "item_input")]
    pub item_input: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactIteratorItems {
    #[serde(alias = "input_artifact")]
    pub input_artifact: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IteratorPolicy {
    /// Maximum iterations running at once; 0 means no limit.
    #[serde(default, alias = "parallelism_limit", deserialize_with = "int_or_string")]
    pub parallelism_limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    #[serde(default, alias = "max_retry_count", deserialize_with = "int_or_string")]
    pub max_retry_count: i64,
    /// Protobuf duration text such as `"5s"` or `"0.5s"`.
    #[serde(default, alias = "backoff_duration", skip_serializing_if = "Option::is_none")]
    pub backoff_duration: Option<String>,
    #[serde(default, alias = "backoff_factor", skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    #[serde(default, alias = "backoff_max_duration", skip_serializing_if = "Option::is_none")]
    pub backoff_max_duration: Option<String>,
}

/// Implementation of a component: a container, an importer, or (unsupported) a resolver or
/// custom job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importer: Option<ImporterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<Value>,
    #[serde(default, alias = "custom_job", skip_serializing_if = "Option::is_none")]
    pub custom_job: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImporterSpec {
    #[serde(alias = "artifact_uri")]
    pub artifact_uri: RuntimeValue,
    #[serde(default, alias = "type_schema")]
    pub type_schema: ArtifactTypeSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub reimport: bool,
    #[serde(default, alias = "download_to_workspace")]
    pub download_to_workspace: bool,
}

/// Accepts an integer written as a JSON number or as a string (protobuf JSON writes int64 as
/// text).
fn int_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| D::Error::custom(format!("expected an integer, found {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("expected an integer, found {s:?}"))),
        Value::Null => Ok(0),
        other => Err(D::Error::custom(format!("expected an integer, found {other}"))),
    }
}
