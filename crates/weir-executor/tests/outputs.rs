//! Output collection: executor output versus parameter files, typed parsing of files, and
//! artifact metadata merging.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use tempfile::TempDir;
use weir_executor::outputs::{collect, OutputError};
use weir_executor::{ArtifactList, ExecutorInput, OutputParameter, RuntimeArtifact};
use weir_spec::{ArtifactTypeSchema, ParameterType};

/// A task directory with output files and an executor input pointing at them.
struct Task {
    dir: TempDir,
    input: ExecutorInput,
    types: BTreeMap<String, ParameterType>,
}

impl Task {
    fn new() -> Task {
        let dir = tempfile::tempdir().unwrap();
        let mut input = ExecutorInput::default();
        input.outputs.output_file = path(dir.path(), "executor_output.json");
        Task { dir, input, types: BTreeMap::new() }
    }

    fn declare(&mut self, name: &str, parameter_type: ParameterType) -> &mut Self {
        let output_file = path(self.dir.path(), name);
        self.input.outputs.parameters.insert(name.into(), OutputParameter { output_file });
        self.types.insert(name.into(), parameter_type);
        self
    }

    fn artifact(&mut self, name: &str, metadata: Value) -> &mut Self {
        let artifact = RuntimeArtifact {
            name: name.into(),
            artifact_type: ArtifactTypeSchema {
                schema_title: Some("system.Model".into()),
                ..Default::default()
            },
            uri: path(self.dir.path(), name),
            metadata: metadata.as_object().cloned().unwrap_or_default(),
        };
        let list = ArtifactList { artifacts: vec![artifact] };
        self.input.outputs.artifacts.insert(name.into(), list);
        self
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.dir.path().join(file), text).unwrap();
        self
    }

    fn collect(&self) -> Result<weir_executor::TaskOutputs, OutputError> {
        collect(&self.input, &self.types)
    }

    fn uri(&self, name: &str) -> String {
        path(self.dir.path(), name)
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// Writes `text` to the output file of a parameter of `parameter_type` and returns the value.
fn parse_file(parameter_type: ParameterType, text: &str) -> Result<Value, OutputError> {
    let mut task = Task::new();
    task.declare("p", parameter_type).write("p", text);
    task.collect().map(|outputs| outputs.parameters["p"].clone())
}

#[test]
fn parameter_files_parse_by_type() {
    let cases = [
        (ParameterType::String, "  raw text\n", json!("  raw text\n")),
        (ParameterType::NumberInteger, " 42\n", json!(42)),
        (ParameterType::NumberInteger, "-7", json!(-7)),
        (ParameterType::NumberDouble, "2.5\n", json!(2.5)),
        (ParameterType::NumberDouble, "3", json!(3.0)),
        (ParameterType::List, "[1, \"a\", 2.0]", json!([1, "a", 2.0])),
        (ParameterType::Struct, "{\"k\": [true]}\n", json!({"k": [true]})),
    ];
    for (parameter_type, text, expected) in cases {
        let value = parse_file(parameter_type, text).unwrap();
        assert_eq!(value, expected, "{parameter_type:?} from {text:?}");
    }
}

#[test]
fn boolean_files_accept_parse_bool_forms() {
    for text in ["1", "t", "T", "TRUE", "true", "True", "true\n"] {
        assert_eq!(parse_file(ParameterType::Boolean, text).unwrap(), json!(true), "{text:?}");
    }
    for text in ["0", "f", "F", "FALSE", "false", "False", " false\n"] {
        assert_eq!(parse_file(ParameterType::Boolean, text).unwrap(), json!(false), "{text:?}");
    }
}

#[test]
fn invalid_parameter_files_are_errors() {
    let cases = [
        (ParameterType::NumberInteger, "4.5"),
        (ParameterType::NumberInteger, "four"),
        (ParameterType::NumberDouble, "NaN"),
        (ParameterType::NumberDouble, "x"),
        (ParameterType::Boolean, "yes"),
        (ParameterType::List, "{\"k\": 1}"),
        (ParameterType::Struct, "[1]"),
        (ParameterType::Struct, "{not json"),
    ];
    for (parameter_type, text) in cases {
        let result = parse_file(parameter_type, text);
        assert!(
            matches!(&result, Err(OutputError::InvalidParameter { name, .. }) if name == "p"),
            "{parameter_type:?} from {text:?}: {result:?}"
        );
    }
}

#[test]
fn executor_output_wins_over_file() {
    let mut task = Task::new();
    task.declare("Output", ParameterType::NumberInteger).declare("other", ParameterType::String);
    task.write("Output", "1").write("other", "from file");
    task.write("executor_output.json", r#"{"parameterValues": {"Output": 9.0}}"#);
    let outputs = task.collect().unwrap();
    assert_eq!(outputs.parameters["Output"], json!(9.0));
    assert_eq!(outputs.parameters["other"], json!("from file"));
}

#[test]
fn executor_output_accepts_snake_case() {
    let mut task = Task::new();
    task.declare("Output", ParameterType::String);
    task.write("executor_output.json", r#"{"parameter_values": {"Output": "snake"}}"#);
    assert_eq!(task.collect().unwrap().parameters["Output"], json!("snake"));
}

#[test]
fn undeclared_outputs_are_ignored() {
    let mut task = Task::new();
    task.declare("Output", ParameterType::String).artifact("model", json!({}));
    let written = r#"{"parameterValues": {"Output": "x", "extra": 1},
        "artifacts": {"other": {"artifacts": [{"uri": "/elsewhere"}]}}}"#;
    task.write("executor_output.json", written);
    let outputs = task.collect().unwrap();
    assert_eq!(outputs.parameters.keys().collect::<Vec<_>>(), ["Output"]);
    assert_eq!(outputs.artifacts.keys().collect::<Vec<_>>(), ["model"]);
}

#[test]
fn missing_output_parameter_is_an_error() {
    let mut task = Task::new();
    task.declare("result", ParameterType::String);
    let result = task.collect();
    let expected_path = task.uri("result");
    assert!(
        matches!(&result, Err(OutputError::MissingParameter { name, path })
            if name == "result" && *path == expected_path),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains("'result'"), "{message}");
}

#[test]
fn invalid_executor_output_is_an_error() {
    let task = Task::new();
    task.write("executor_output.json", "{\"parameterValues\": [");
    let result = task.collect();
    assert!(matches!(result, Err(OutputError::InvalidExecutorOutput { .. })), "{result:?}");
}

#[test]
fn empty_executor_output_counts_as_absent() {
    let mut task = Task::new();
    task.declare("p", ParameterType::String).write("p", "v").write("executor_output.json", "\n");
    assert_eq!(task.collect().unwrap().parameters["p"], json!("v"));
}

#[test]
fn artifacts_default_to_pre_assigned() {
    let mut task = Task::new();
    task.artifact("model", json!({"preset": 1}));
    let outputs = task.collect().unwrap();
    let model = &outputs.artifacts["model"][0];
    assert_eq!(model.uri, task.uri("model"));
    assert_eq!(Value::Object(model.metadata.clone()), json!({"preset": 1}));
    assert_eq!(model.artifact_type.schema_title.as_deref(), Some("system.Model"));
}

#[test]
fn artifact_metadata_merges_over_pre_assigned() {
    let mut task = Task::new();
    task.artifact("model", json!({"preset": 1, "acc": 0.1})).artifact("data", json!({}));
    let written = r#"{"artifacts": {
        "model": {"artifacts": [{"name": "model", "uri": "", "metadata": {"acc": 0.9, "n": 3}}]},
        "data": {"artifacts": [{"uri": "/new/data", "custom_path": "/x",
                                "type": {"schemaTitle": "system.Artifact"}}]}}}"#;
    task.write("executor_output.json", written);
    let outputs = task.collect().unwrap();

    let model = &outputs.artifacts["model"][0];
    assert_eq!(model.uri, task.uri("model"));
    assert_eq!(Value::Object(model.metadata.clone()), json!({"preset": 1, "acc": 0.9, "n": 3}));

    let data = &outputs.artifacts["data"][0];
    assert_eq!(data.uri, "/new/data");
    assert_eq!(data.artifact_type.schema_title.as_deref(), Some("system.Model"));
    assert!(data.metadata.is_empty());
}

#[test]
fn custom_path_file_is_copied_to_artifact_path() {
    let mut task = Task::new();
    task.artifact("data", json!({}));
    let custom = task.dir.path().join("elsewhere.txt");
    std::fs::write(&custom, "Hello, World!").unwrap();
    let written = json!({"artifacts": {"data": {"artifacts": [
        {"name": "data", "uri": task.uri("data"), "custom_path": custom.to_str().unwrap()}]}}});
    task.write("executor_output.json", &written.to_string());

    let outputs = task.collect().unwrap();

    assert_eq!(outputs.artifacts["data"][0].uri, task.uri("data"));
    let copied = std::fs::read_to_string(task.uri("data")).unwrap();
    assert_eq!(copied, "Hello, World!");
}

#[test]
fn custom_path_directory_is_copied_recursively() {
    let mut task = Task::new();
    task.artifact("model", json!({}));
    let custom = task.dir.path().join("custom-model");
    std::fs::create_dir_all(custom.join("sub")).unwrap();
    std::fs::write(custom.join("a.txt"), "a").unwrap();
    std::fs::write(custom.join("sub/b.txt"), "b").unwrap();
    let written = json!({"artifacts": {"model": {"artifacts": [
        {"uri": "", "customPath": custom.to_str().unwrap()}]}}});
    task.write("executor_output.json", &written.to_string());

    task.collect().unwrap();

    let target = Path::new(&task.uri("model")).to_path_buf();
    assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "a");
    assert_eq!(std::fs::read_to_string(target.join("sub/b.txt")).unwrap(), "b");
}

#[test]
fn missing_custom_path_copies_nothing() {
    let mut task = Task::new();
    task.artifact("data", json!({}));
    let missing = task.dir.path().join("never-written");
    let written = json!({"artifacts": {"data": {"artifacts": [
        {"custom_path": missing.to_str().unwrap()}]}}});
    task.write("executor_output.json", &written.to_string());

    let outputs = task.collect().unwrap();

    assert_eq!(outputs.artifacts["data"][0].uri, task.uri("data"));
    assert!(!Path::new(&task.uri("data")).exists());
}
