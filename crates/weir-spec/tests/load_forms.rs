//! The file forms the loader accepts: compiled YAML with a platform document, JSON, PipelineJob
//! and run wrappers with a runtimeConfig, Kubernetes manifests and snake_case keys. The compiled
//! samples of the kfp-local benchmark are loaded too.

use std::path::PathBuf;

use serde_json::{json, Value};
use weir_spec::{load_document_str, load_file, load_str, ParameterType, SpecError};

fn shared_dir() -> PathBuf {
    match std::env::var_os("WEIR_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// Returns a minimal valid spec as JSON: one task reading the pipeline input `who`.
fn small_spec() -> Value {
    json!({
        "pipelineInfo": {"name": "small"},
        "schemaVersion": "2.1.0",
        "root": {
            "inputDefinitions": {"parameters": {"who": {"parameterType": "STRING"}}},
            "dag": {"tasks": {"say": {
                "componentRef": {"name": "comp-say"},
                "inputs": {"parameters": {"msg": {"componentInputParameter": "who"}}}
            }}}
        },
        "components": {"comp-say": {
            "executorLabel": "exec-say",
            "inputDefinitions": {"parameters": {"msg": {"parameterType": "STRING"}}}
        }},
        "deploymentSpec": {"executors": {"exec-say": {"container": {"image": "python:3.11"}}}}
    })
}

fn platform() -> Value {
    json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-say": {
        "nodeSelector": {"labels": {"pool": "cpu"}}
    }}}}}})
}

#[test]
fn yaml_with_platform_document() {
    let path = shared_dir().join("corpus/kfp-ir/secret_as_env.yaml");
    let pipeline = load_file(&path).unwrap_or_else(|error| panic!("{error}"));
    let kubernetes = pipeline.platform_spec.as_ref().and_then(|p| p["platforms"].get("kubernetes"));
    assert!(kubernetes.is_some(), "{:?}", pipeline.platform_spec);
}

#[test]
fn yaml_without_platform_document() {
    let path = shared_dir().join("corpus/kfp-ir/hello_world.yaml");
    let pipeline = load_file(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(pipeline.platform_spec, None);
    assert_eq!(pipeline.spec.pipeline_info.name, "echo");
}

#[test]
fn json_object() {
    let text = serde_json::to_string_pretty(&small_spec()).unwrap_or_default();
    let document = load_document_str(&text, "small.json").unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(document.pipeline.spec.pipeline_info.name, "small");
    assert_eq!(document.runtime_config, None);
}

#[test]
fn pipeline_job_wrapper() {
    let job = json!({
        "displayName": "job",
        "pipelineSpec": small_spec(),
        "runtimeConfig": {
            "parameterValues": {"who": "world"},
            "gcsOutputDirectory": "gs://bucket/root"
        }
    });
    let document =
        load_document_str(&job.to_string(), "job.json").unwrap_or_else(|error| panic!("{error}"));
    let config = document.runtime_config.unwrap_or_default();
    assert_eq!(config.parameter_values.get("who"), Some(&json!("world")));
    assert_eq!(config.pipeline_root.as_deref(), Some("gs://bucket/root"));
    assert_eq!(document.pipeline.spec.pipeline_info.name, "small");
}

#[test]
fn run_api_wrapper_with_nested_platform() {
    let run = json!({
        "display_name": "run",
        "pipeline_spec": {"pipeline_spec": small_spec(), "platform_spec": platform()},
        "runtime_config": {"parameters": {"who": {"stringValue": "typed"}}, "pipeline_root": "/tmp/r"}
    });
    let document =
        load_document_str(&run.to_string(), "run.json").unwrap_or_else(|error| panic!("{error}"));
    let config = document.runtime_config.unwrap_or_default();
    assert_eq!(config.parameter_values.get("who"), Some(&json!("typed")));
    assert_eq!(config.pipeline_root.as_deref(), Some("/tmp/r"));
    assert_eq!(document.pipeline.platform_spec, Some(platform()));
}

#[test]
fn kubernetes_manifests() {
    let pipeline_doc = json!({
        "apiVersion": "pipelines.kubeflow.org/v2beta1",
        "kind": "Pipeline",
        "metadata": {"name": "small"},
        "spec": {"displayName": "small"}
    });
    let version_doc = json!({
        "apiVersion": "pipelines.kubeflow.org/v2beta1",
        "kind": "PipelineVersion",
        "metadata": {"name": "small-v1"},
        "spec": {"pipelineName": "small", "pipelineSpec": small_spec(), "platformSpec": platform()}
    });
    let to_yaml = |value: &Value| serde_yaml::to_string(value).unwrap_or_default();
    let text = format!("{}---\n{}", to_yaml(&pipeline_doc), to_yaml(&version_doc));

    let pipeline = load_str(&text, "manifest.yaml").unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(pipeline.spec.pipeline_info.name, "small");
    assert_eq!(pipeline.platform_spec, Some(platform()));

    let only_version = to_yaml(&version_doc);
    let pipeline =
        load_str(&only_version, "version.yaml").unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(pipeline.spec.root.dag.map(|dag| dag.tasks.len()), Some(1));
}

#[test]
fn snake_case_keys() {
    let text = r#"
pipeline_info: {name: snake}
schema_version: 2.1.0
root:
  input_definitions:
    parameters:
      n: {parameter_type: NUMBER_INTEGER, default_value: 3.0, is_optional: true}
  dag:
    tasks:
      t:
        component_ref: {name: comp-t}
        task_info: {name: t}
        inputs:
          parameters:
            n: {component_input_parameter: n}
components:
  comp-t:
    executor_label: exec-t
    input_definitions:
      parameters:
        n: {parameter_type: NUMBER_INTEGER}
deployment_spec:
  executors:
    exec-t: {container: {image: alpine}}
"#;
    let pipeline = load_str(text, "snake.yaml").unwrap_or_else(|error| panic!("{error}"));
    let input = &pipeline.spec.root.input_definitions.parameters["n"];
    assert_eq!(input.parameter_type, ParameterType::NumberInteger);
    assert_eq!(input.default_value, Some(json!(3.0)));
    assert_eq!(pipeline.spec.deployment_spec.executors.len(), 1);
}

#[test]
fn legacy_typed_constant_is_unwrapped() {
    let mut spec = small_spec();
    spec["root"]["dag"]["tasks"]["say"]["inputs"]["parameters"]["msg"] =
        json!({"runtimeValue": {"constant": {"stringValue": "1"}}});
    let pipeline = load_str(&spec.to_string(), "legacy.json").unwrap_or_else(|e| panic!("{e}"));
    let dag = pipeline.spec.root.dag.unwrap_or_default();
    let constant = dag.tasks["say"].inputs.parameters["msg"].runtime_value.clone();
    assert_eq!(constant.and_then(|value| value.constant), Some(json!("1")));
}

#[test]
fn benchmark_samples_load() {
    let bench = shared_dir().join("bench/kfp-local");
    let mut files: Vec<PathBuf> = ["chain.yaml", "container.yaml", "fanout.yaml"]
        .iter()
        .map(|name| bench.join(name))
        .collect();
    for name in [
        "artifact_iterator.yaml",
        "conditions.yaml",
        "exit_handler.yaml",
        "k8s_platform.yaml",
        "nested.yaml",
        "placeholders.yaml",
        "task_options.yaml",
    ] {
        files.push(bench.join("ir-samples").join(name));
    }
    for path in files {
        if let Err(error) = load_file(&path) {
            panic!("{} failed to load: {error}", path.display());
        }
    }
}

#[test]
fn loops_sample_has_sdk_subvar_bug() {
    let path = shared_dir().join("bench/kfp-local/ir-samples/loops.yaml");
    let Err(SpecError::Invalid(problems)) = load_file(&path) else {
        panic!("loops.yaml should be invalid");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].path,
        "root.dag.tasks.for-loop-1.inputs.parameters.pipelinechannel--rows-loop-item-subvar-a\
         .componentInputParameter"
    );
    assert!(problems[0].message.contains("'rows-loop-item-subvar-a'"), "{}", problems[0]);
}
