//! Cache keys for container tasks and the check that a cached result is still usable.
//!
//! The key is a SHA-256 over what determines a task's outputs: image, command, arguments and
//! environment; the resolved input parameter values; the input artifacts' URIs and metadata;
//! and the names and types of the declared outputs. A `cacheKey` from the spec replaces it.

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

/// Returns the cached outputs if every local artifact they name still exists.
pub(crate) fn usable_outputs(stored: &Value) -> Option<TaskOutputs> {
    let outputs: TaskOutputs = serde_json::from_value(stored.clone()).ok()?;
    let all_present = outputs.artifacts.values().flatten().all(|artifact| {
        // Only local URIs can be checked here; remote ones are trusted.
        !artifact.uri.starts_with('/') || std::path::Path::new(&artifact.uri).exists()
    });
    all_present.then_some(outputs)
}
