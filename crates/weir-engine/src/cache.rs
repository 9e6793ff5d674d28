//! Cache keys for container tasks and the check that a cached result is still usable.
//!
//! The key is a SHA-256 over what determines a task's outputs: image, command, arguments and
//! environment; the resolved input parameter values; the input artifacts' URIs and metadata;
//! and the names and types of the declared outputs. A `cacheKey` from the spec replaces it.
//!
//! A cached result is reused only while the local files its task wrote still exist. The entry
//! lists the local artifact URIs that had a file or folder when it was stored
//! ([`entry_outputs`]). An output artifact the task wrote no file for is not required, because
//! the first run's consumers saw no file either. The kfp executor writes no file for
//! metadata-only types such as `Metrics`, `ClassificationMetrics` and
//! `SlicedClassificationMetrics`: their values live in the artifact's metadata.

use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use weir_executor::{ExecutorInput, TaskOutputs};
use weir_spec::{ComponentSpec, ContainerSpec};

pub(crate) fn cache_key(
    container: &ContainerSpec,
    component: &ComponentSpec,
    input: &ExecutorInput,
    override_key: Option<&str>,
) -> String {
    if let Some(key) = override_key.filter(|k| !k.is_empty()) {
        return format!("user:{key}");
    }
    let input_artifacts: serde_json::Map<String, Value> = input
        .inputs
        .artifacts
        .iter()
        .map(|(name, list)| {
            let items: Vec<Value> = list
                .artifacts
                .iter()
                .map(|a| json!({"uri": a.uri, "metadata": a.metadata, "type": a.artifact_type}))
                .collect();
            (name.clone(), Value::Array(items))
        })
        .collect();
    let output_parameters: serde_json::Map<String, Value> = component
        .output_definitions
        .parameters
        .iter()
        .map(|(name, def)| (name.clone(), json!(def.parameter_type.as_str())))
        .collect();
    let output_artifacts: serde_json::Map<String, Value> = component
        .output_definitions
        .artifacts
        .iter()
        .map(|(name, def)| (name.clone(), json!(def.artifact_type)))
        .collect();
    let fingerprint = json!({
        "image": container.image,
        "command": container.command,
        "args": container.args,
        "env": container.env,
        "inputParameters": input.inputs.parameter_values,
        "inputArtifacts": input_artifacts,
        "outputParameters": output_parameters,
        "outputArtifacts": output_artifacts,
    });
    let digest = Sha256::digest(fingerprint.to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Key of the stored outputs that lists the local artifact URIs with a file or folder.
const WRITTEN_FILES: &str = "writtenFiles";

/// Builds the outputs JSON of a cache entry: the task outputs plus the local artifact URIs that
/// exist on disk now, right after the task succeeded.
pub(crate) fn entry_outputs(outputs: &TaskOutputs) -> Value {
    let mut stored = crate::record::outputs_json(outputs);
    let written: Vec<&str> = outputs
        .artifacts
        .values()
        .flatten()
        .map(|artifact| artifact.uri.as_str())
        .filter(|uri| is_local(uri) && Path::new(uri).exists())
        .collect();
    if let Some(fields) = stored.as_object_mut() {
        fields.insert(WRITTEN_FILES.to_string(), json!(written));
    }
    stored
}

/// Returns the cached outputs if every local file the task wrote still exists.
///
/// An entry without the list of written files requires every local artifact to exist.
pub(crate) fn usable_outputs(stored: &Value) -> Option<TaskOutputs> {
    let outputs: TaskOutputs = serde_json::from_value(stored.clone()).ok()?;
    let all_present = match stored.get(WRITTEN_FILES).and_then(Value::as_array) {
        Some(written) => written.iter().all(|uri| uri.as_str().is_some_and(file_exists)),
        None => outputs
            .artifacts
            .values()
            .flatten()
            .all(|artifact| !is_local(&artifact.uri) || file_exists(&artifact.uri)),
    };
    all_present.then_some(outputs)
}

/// Returns whether `uri` is a local path. Only those can be checked here; remote URIs are
/// trusted.
fn is_local(uri: &str) -> bool {
    uri.starts_with('/')
}

fn file_exists(uri: &str) -> bool {
    Path::new(uri).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_executor::RuntimeArtifact;

    /// Task outputs with one artifact per `(output name, uri)` pair.
    fn outputs(artifacts: &[(&str, &str)]) -> TaskOutputs {
        let mut outputs = TaskOutputs::default();
        for (name, uri) in artifacts {
            let artifact = RuntimeArtifact { uri: uri.to_string(), ..RuntimeArtifact::default() };
            outputs.artifacts.insert(name.to_string(), vec![artifact]);
        }
        outputs
    }

    fn temp_dir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("failed to create a temporary folder: {e}"),
        }
    }

    fn write(path: &Path) {
        if let Err(e) = std::fs::write(path, "x") {
            panic!("failed to write {}: {e}", path.display());
        }
    }

    #[test]
    fn entry_lists_only_written_files() {
        let dir = temp_dir();
        let written = dir.path().join("model");
        let never = dir.path().join("metrics");
        write(&written);
        let (written, never) = (written.display().to_string(), never.display().to_string());
        let task = outputs(&[("model", &written), ("metrics", &never), ("remote", "s3://b/k")]);

        let stored = entry_outputs(&task);
        assert_eq!(stored[WRITTEN_FILES], json!([written]));
        assert_eq!(usable_outputs(&stored), Some(task.clone()));

        if let Err(e) = std::fs::remove_file(&written) {
            panic!("failed to remove {written}: {e}");
        }
        assert_eq!(usable_outputs(&stored), None, "a written file is gone");
    }

    #[test]
    fn entry_without_list_needs_every_file() {
        let dir = temp_dir();
        let present = dir.path().join("model");
        write(&present);
        let present = present.display().to_string();
        let absent = dir.path().join("metrics").display().to_string();

        let complete = outputs(&[("model", &present), ("remote", "s3://b/k")]);
        let stored = crate::record::outputs_json(&complete);
        assert_eq!(usable_outputs(&stored), Some(complete));

        let stored = crate::record::outputs_json(&outputs(&[("model", &present), ("m", &absent)]));
        assert_eq!(usable_outputs(&stored), None);
    }
}
