//! Collects what a finished task wrote: its output parameters and final output artifacts.
//!
//! [`collect`] reads the `ExecutorOutput` JSON at `outputs.outputFile` (absent or empty means
//! nothing was written), then reads the output file of every declared output parameter that
//! the `ExecutorOutput` does not contain, parsing the text by the declared type. As on the KFP
//! backend, a value in `ExecutorOutput` wins over the file. Output artifacts start from the
//! pre-assigned ones in the executor input; `ExecutorOutput` may replace their URI and add or
//! overwrite metadata keys. Outputs that the component does not declare are ignored.
//!
//! An artifact that the task wrote somewhere else (`Artifact.set_path` in the SDK, reported as
//! `custom_path`) is copied to the local path of its URI, which is where the KFP backend
//! launcher uploads it from and where consumers read it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::warn;
use weir_spec::ParameterType;

use crate::protocol::{ExecutorInput, RuntimeArtifact, TaskOutputs};

/// A task's outputs are missing or invalid.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("failed to read executor output file {path}: {source}")]
    ReadExecutorOutput { path: String, source: io::Error },
    #[error(
        "executor output file {path} is not valid ExecutorOutput JSON ({source}); the task must \
         write a JSON object with `parameterValues` and `artifacts`"
    )]
    InvalidExecutorOutput { path: String, source: serde_json::Error },
    #[error("output parameter '{name}' has no output file in the executor input")]
    NoOutputFile { name: String },
    #[error(
        "output parameter '{name}' was not written: the executor output does not contain it and \
         its output file {path} does not exist; the component must write it"
    )]
    MissingParameter { name: String, path: String },
    #[error("failed to read output parameter '{name}' from {path}: {source}")]
    ReadParameter { name: String, path: String, source: io::Error },
    #[error("output parameter '{name}' in {path} is not a valid {parameter_type} value: {reason}")]
    InvalidParameter { name: String, path: String, parameter_type: &'static str, reason: String },
    #[error(
        "failed to copy output artifact '{name}' from its custom path {from} to {to}: {source}"
    )]
    CopyCustomPath { name: String, from: PathBuf, to: PathBuf, source: io::Error },
}

/// Collects the outputs of a task that exited successfully.
///
/// `output_types` lists the declared output parameters and their types.
pub fn collect(
    input: &ExecutorInput,
    output_types: &BTreeMap<String, ParameterType>,
) -> Result<TaskOutputs, OutputError> {
    let mut written = read_executor_output(&input.outputs.output_file)?;

    let mut parameters = BTreeMap::new();
    for (name, parameter_type) in output_types {
        if let Some(value) = written.parameter_values.remove(name) {
            parameters.insert(name.clone(), value);
            continue;
        }
        let file = input
            .outputs
            .parameters
            .get(name)
            .ok_or_else(|| OutputError::NoOutputFile { name: name.clone() })?;
        let value = read_parameter_file(name, &file.output_file, *parameter_type)?;
        parameters.insert(name.clone(), value);
    }

    let mut artifacts = BTreeMap::new();
    for (name, assigned) in &input.outputs.artifacts {
        let mut list = assigned.artifacts.clone();
        if let Some(reported) = written.artifacts.remove(name) {
            merge_artifacts(name, &mut list, reported.artifacts)?;
        }
        artifacts.insert(name.clone(), list);
    }

    Ok(TaskOutputs { parameters, artifacts })
}

/// `ExecutorOutput` as a task writes it; both protobuf JSON and field names are accepted.
#[derive(Debug, Default, Deserialize)]
struct ExecutorOutput {
    #[serde(default, rename = "parameterValues", alias = "parameter_values")]
    parameter_values: BTreeMap<String, Value>,
    #[serde(default)]
    artifacts: BTreeMap<String, ReportedArtifactList>,
}

#[derive(Debug, Default, Deserialize)]
struct ReportedArtifactList {
    #[serde(default)]
    artifacts: Vec<ReportedArtifact>,
}

/// An artifact in `ExecutorOutput`. Its `name` and `type` are ignored because the declared
/// output keeps its own.
#[derive(Debug, Default, Deserialize)]
struct ReportedArtifact {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    metadata: Map<String, Value>,
    /// Local file or directory the task wrote instead of the artifact's `.path`.
    #[serde(default, alias = "customPath")]
    custom_path: String,
}

fn read_executor_output(path: &str) -> Result<ExecutorOutput, OutputError> {
    if path.is_empty() {
        return Ok(ExecutorOutput::default());
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(ExecutorOutput::default());
        }
        Err(source) => {
            return Err(OutputError::ReadExecutorOutput { path: path.to_string(), source });
        }
    };
    if text.trim().is_empty() {
        return Ok(ExecutorOutput::default());
    }
    serde_json::from_str(&text)
        .map_err(|source| OutputError::InvalidExecutorOutput { path: path.to_string(), source })
}

/// Takes each reported artifact's non-empty URI and merges its metadata keys over the
/// pre-assigned artifact at the same position, then copies a reported custom path to the
/// artifact's local path. Reported artifacts with no pre-assigned counterpart are dropped.
fn merge_artifacts(
    name: &str,
    list: &mut [RuntimeArtifact],
    reported: Vec<ReportedArtifact>,
) -> Result<(), OutputError> {
    for (artifact, reported) in list.iter_mut().zip(reported) {
        if !reported.uri.is_empty() {
            artifact.uri = reported.uri;
        }
        artifact.metadata.extend(reported.metadata);
        if !reported.custom_path.is_empty() {
            copy_custom_path(name, Path::new(&reported.custom_path), &artifact.uri)?;
        }
    }
    Ok(())
}

/// Copies what the task wrote at `custom_path` to the local path of `uri`, overwriting files
/// of the same name. A missing custom path is only logged, as the KFP backend launcher does for
/// output files that were not written. Remote URIs are skipped because their local paths
/// (`/gcs/...`) are mount points that this executor does not provide.
fn copy_custom_path(name: &str, custom_path: &Path, uri: &str) -> Result<(), OutputError> {
    if uri.contains("://") && !uri.starts_with("file://") {
        warn!(
            artifact = name,
            uri, "Output artifact has a custom path and a remote URI, so it is not copied."
        );
        return Ok(());
    }
    let target = weir_artifacts::local_path_for_uri(uri);
    if target == custom_path {
        return Ok(());
    }
    if !custom_path.exists() {
        warn!(
            artifact = name,
            custom_path = %custom_path.display(),
            "Custom path of an output artifact does not exist, so nothing is copied."
        );
        return Ok(());
    }
    copy_tree(custom_path, &target).map_err(|source| OutputError::CopyCustomPath {
        name: name.to_string(),
        from: custom_path.to_path_buf(),
        to: target.clone(),
        source,
    })
}

/// Copies a file, or a directory with everything below it, following symbolic links.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    if !std::fs::metadata(from)?.is_dir() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to)?;
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

fn read_parameter_file(
    name: &str,
    path: &str,
    parameter_type: ParameterType,
) -> Result<Value, OutputError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(OutputError::MissingParameter {
                name: name.to_string(),
                path: path.to_string(),
            });
        }
        Err(source) => {
            return Err(OutputError::ReadParameter {
                name: name.to_string(),
                path: path.to_string(),
                source,
            });
        }
    };
    let invalid = |reason: String| OutputError::InvalidParameter {
        name: name.to_string(),
        path: path.to_string(),
        parameter_type: parameter_type.as_str(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".to_string()))?;
    parse_parameter_text(text, parameter_type).map_err(invalid)
}

/// Converts the text of an output parameter file to a value of the declared type.
fn parse_parameter_text(text: String, parameter_type: ParameterType) -> Result<Value, String> {
    match parameter_type {
        ParameterType::String => Ok(Value::String(text)),
        ParameterType::NumberInteger => {
            let trimmed = text.trim();
            let int: i64 = trimmed.parse().map_err(|_| format!("{trimmed:?} is not an integer"))?;
            Ok(Value::from(int))
        }
        ParameterType::NumberDouble => {
            let trimmed = text.trim();
            let float: f64 = trimmed.parse().map_err(|_| format!("{trimmed:?} is not a number"))?;
            serde_json::Number::from_f64(float)
                .map(Value::Number)
                .ok_or_else(|| format!("{trimmed:?} is not a finite number"))
        }
        ParameterType::Boolean => parse_bool(text.trim())
            .map(Value::Bool)
            .ok_or_else(|| format!("{:?} is not one of true, false, 1, 0, t, f", text.trim())),
        ParameterType::List => match parse_json(&text)? {
            value @ Value::Array(_) => Ok(value),
            _ => Err("expected a JSON list".to_string()),
        },
        ParameterType::Struct => match parse_json(&text)? {
            value @ Value::Object(_) => Ok(value),
            _ => Err("expected a JSON object".to_string()),
        },
        ParameterType::Unspecified | ParameterType::TaskFinalStatus | ParameterType::TaskConfig => {
            parse_json(&text)
        }
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))
}

/// Parses the forms Go's `strconv.ParseBool` accepts.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
