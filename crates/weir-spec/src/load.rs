//! Loader: turns a file or text into a validated [`Pipeline`].
//!
//! Accepted forms, detected from the content:
//! - the YAML the kfp compiler writes: optional `#` comment header, document 1 the
//!   `PipelineSpec`, optional document 2 the `PlatformSpec` (`platforms: ...`);
//! - the same spec as one JSON object;
//! - a PipelineJob or run wrapper whose `pipelineSpec` (or `pipeline_spec`) contains the spec, with
//!   an optional `runtimeConfig` (returned by [`load_document_str`]);
//! - Kubernetes manifests (`kind: PipelineVersion`, optionally preceded by `kind: Pipeline`) whose
//!   `spec.pipelineSpec` and `spec.platformSpec` contain the two documents.
//!
//! Every `load_*` function parses and then validates; an invalid spec is [`SpecError::Invalid`]
//! with every problem found.

mod legacy;
mod shape;

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Problem, SpecError};
use crate::model::{Pipeline, PipelineSpec, RuntimeConfig};
use crate::validate::validate;

/// A loaded pipeline plus the run arguments that came with it in a PipelineJob wrapper.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedDocument {
    pub pipeline: Pipeline,
    /// `runtimeConfig` of a PipelineJob or run wrapper; `None` for a plain compiled spec.
    pub runtime_config: Option<RuntimeConfig>,
}

/// Reads, parses and validates the pipeline file at `path`.
pub fn load_file(path: &Path) -> Result<Pipeline, SpecError> {
    load_document_file(path).map(|document| document.pipeline)
}

/// Parses and validates pipeline text; `origin` names the text in error messages.
pub fn load_str(text: &str, origin: &str) -> Result<Pipeline, SpecError> {
    load_document_str(text, origin).map(|document| document.pipeline)
}

/// Loads like [`load_file`] and also returns the `runtimeConfig` of a PipelineJob wrapper.
pub fn load_document_file(path: &Path) -> Result<LoadedDocument, SpecError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecError::Unreadable { path: path.to_path_buf(), source })?;
    load_document_str(&text, &path.display().to_string())
}

/// Loads like [`load_str`] and also returns the `runtimeConfig` of a PipelineJob wrapper.
pub fn load_document_str(text: &str, origin: &str) -> Result<LoadedDocument, SpecError> {
    let documents = parse_documents(text, origin)?;
    let parts = unwrap_documents(documents, origin)?;

    let mut spec = deserialize_spec(parts.spec, origin)?;
    legacy::normalize_legacy_constants(&mut spec);
    let problems = validate(&spec);
    if !problems.is_empty() {
        return Err(SpecError::Invalid(problems));
    }
    if !spec.schema_version.starts_with("2.") {
        tracing::warn!(
            origin,
            schema_version = %spec.schema_version,
            "Pipeline spec has an unknown schemaVersion; loading it as 2.x."
        );
    }

    tracing::debug!(
        origin,
        pipeline = %spec.pipeline_info.name,
        tasks = crate::count_tasks(&spec),
        "Pipeline spec loaded."
    );
    let pipeline = Pipeline { spec, platform_spec: parts.platform_spec };
    Ok(LoadedDocument { pipeline, runtime_config: parts.runtime_config })
}

/// Splits the text into its YAML documents, or returns the one JSON object when the text starts
/// with `{` (YAML flow style is not accepted there, so a broken JSON file reports a JSON error).
fn parse_documents(text: &str, origin: &str) -> Result<Vec<Value>, SpecError> {
    if !text.trim_start().starts_with('{') {
        return parse_yaml_documents(text, origin);
    }
    serde_json::from_str::<Value>(text).map(|value| vec![value]).map_err(|error| {
        SpecError::Malformed {
            origin: origin.to_string(),
            format: "JSON",
            line: Some(error.line()),
            column: Some(error.column()),
            message: strip_location(&error.to_string()),
        }
    })
}

fn parse_yaml_documents(text: &str, origin: &str) -> Result<Vec<Value>, SpecError> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|error| {
            let location = error.location();
            SpecError::Malformed {
                origin: origin.to_string(),
                format: "YAML",
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: strip_location(&error.to_string()),
            }
        })?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// Removes the ` at line L column C` suffix the parsers append, since [`SpecError::Malformed`]
/// prints the location itself.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// The parts found in the documents, before typing.
struct RawParts {
    spec: Value,
    platform_spec: Option<Value>,
    runtime_config: Option<RuntimeConfig>,
}

fn unwrap_documents(documents: Vec<Value>, origin: &str) -> Result<RawParts, SpecError> {
    let not_a_pipeline =
        |reason: String| SpecError::NotAPipeline { origin: origin.to_string(), reason };

    let Some(first) = documents.first() else {
        return Err(not_a_pipeline("the file contains no YAML or JSON document".into()));
    };
    if !first.is_object() {
        return Err(not_a_pipeline(format!(
            "the first document is {}, expected a mapping with `pipelineInfo` and `root`",
            shape::kind_of(first)
        )));
    }

    if documents.iter().any(|document| document.get("kind").is_some()) {
        return unwrap_manifest(&documents).map_err(not_a_pipeline);
    }

    let mut documents = documents.into_iter();
    let first = documents.next().unwrap_or(Value::Null);
    if first.get("root").is_none() && pipeline_spec_field(&first).is_some() {
        return unwrap_job(first).map_err(not_a_pipeline);
    }

    let platform_spec = documents.next();
    if let Some(platform) = &platform_spec {
        if platform.get("platforms").is_none() {
            return Err(not_a_pipeline(format!(
                "document 2 should be a platform spec with a `platforms` key, found {}",
                describe_keys(platform)
            )));
        }
    }
    let extra = documents.count();
    if extra > 0 {
        return Err(not_a_pipeline(format!(
            "found {} YAML documents; a compiled pipeline has at most two (the pipeline spec \
             and the platform spec)",
            extra + 2
        )));
    }
    Ok(RawParts { spec: first, platform_spec, runtime_config: None })
}

/// Unwraps `kind: PipelineVersion` (and `kind: Pipeline`) Kubernetes manifests.
fn unwrap_manifest(documents: &[Value]) -> Result<RawParts, String> {
    for document in documents {
        let Some(spec) = document.get("spec") else { continue };
        let Some(pipeline_spec) = pipeline_spec_field(spec) else { continue };
        let platform_spec = spec.get("platformSpec").or_else(|| spec.get("platform_spec"));
        return Ok(RawParts {
            spec: pipeline_spec.clone(),
            platform_spec: platform_spec.filter(|p| !is_empty(p)).cloned(),
            runtime_config: None,
        });
    }
    let kinds: Vec<String> = documents
        .iter()
        .map(|d| d.get("kind").and_then(Value::as_str).unwrap_or("(no kind)").to_string())
        .collect();
    Err(format!(
        "found Kubernetes manifests of kind {} but none has `spec.pipelineSpec`; a \
         `kind: PipelineVersion` document holds the pipeline",
        kinds.join(", ")
    ))
}

/// Unwraps a PipelineJob or KFP run/pipeline-version object holding `pipelineSpec`.
fn unwrap_job(job: Value) -> Result<RawParts, String> {
    let runtime_config = job.get("runtimeConfig").or_else(|| job.get("runtime_config"));
    let runtime_config = match runtime_config {
        Some(config) => Some(read_runtime_config(config)?),
        None => None,
    };
    let Some(mut spec) = pipeline_spec_field(&job).cloned() else {
        return Err("the wrapper has no `pipelineSpec`".into());
    };

    // The KFP API nests `{pipeline_spec, platform_spec}` one level deeper when the pipeline has
    // a platform spec.
    let mut platform_spec = None;
    if spec.get("root").is_none() {
        if let Some(inner) = pipeline_spec_field(&spec).cloned() {
            platform_spec = spec.get("platformSpec").or_else(|| spec.get("platform_spec")).cloned();
            spec = inner;
        }
    }
    Ok(RawParts { spec, platform_spec: platform_spec.filter(|p| !is_empty(p)), runtime_config })
}

fn read_runtime_config(config: &Value) -> Result<RuntimeConfig, String> {
    let mut runtime_config: RuntimeConfig = serde_json::from_value(config.clone())
        .map_err(|error| format!("`runtimeConfig` is invalid: {error}"))?;
    // The KFP v2beta1 run API stores plain values in a map named `parameters`. It is read only
    // when `parameterValues` is absent, so a Vertex AI typed `parameters` map never wins.
    if runtime_config.parameter_values.is_empty() {
        if let Some(Value::Object(parameters)) = config.get("parameters") {
            for (name, value) in parameters {
                runtime_config.parameter_values.insert(name.clone(), untyped_value(value));
            }
        }
    }
    Ok(runtime_config)
}

/// Unwraps the deprecated typed form `{stringValue|intValue|doubleValue: x}` to `x`.
fn untyped_value(value: &Value) -> Value {
    legacy::untyped(value).unwrap_or_else(|| value.clone())
}

fn pipeline_spec_field(value: &Value) -> Option<&Value> {
    value.get("pipelineSpec").or_else(|| value.get("pipeline_spec")).filter(|v| v.is_object())
}

/// Types the spec document, reporting missing top-level keys and shape errors with paths.
fn deserialize_spec(spec: Value, origin: &str) -> Result<PipelineSpec, SpecError> {
    let missing: Vec<&str> = [("pipelineInfo", "pipeline_info"), ("root", "root")]
        .into_iter()
        .filter(|(camel, snake)| spec.get(camel).is_none() && spec.get(snake).is_none())
        .map(|(camel, _)| camel)
        .collect();
    if !missing.is_empty() {
        let missing: Vec<String> = missing.iter().map(|key| format!("`{key}`")).collect();
        return Err(SpecError::NotAPipeline {
            origin: origin.to_string(),
            reason: format!("missing {}; found {}", missing.join(" and "), describe_keys(&spec)),
        });
    }

    match PipelineSpec::deserialize(&spec) {
        Ok(typed) => Ok(typed),
        Err(error) => {
            let mut problems = shape::shape_problems(&spec);
            if problems.is_empty() {
                problems.push(Problem::new("(top level)", error.to_string()));
            }
            Err(SpecError::Invalid(problems))
        }
    }
}

fn is_empty(value: &Value) -> bool {
    value.is_null() || value.as_object().is_some_and(Map::is_empty)
}

/// Names the top-level keys of a document for "not a pipeline" messages.
fn describe_keys(value: &Value) -> String {
    match value.as_object() {
        Some(fields) if fields.is_empty() => "an empty mapping".to_string(),
        Some(fields) => {
            let keys: Vec<&str> = fields.keys().map(String::as_str).take(8).collect();
            let more = fields.len().saturating_sub(keys.len());
            let suffix = if more > 0 { format!(" and {more} more") } else { String::new() };
            format!("top-level keys {}{suffix}", keys.join(", "))
        }
        None => shape::kind_of(value).to_string(),
    }
}
