//! Placeholder resolution: every form the KFP v2 SDK emits in `command` and `args`, the
//! structured Concat/IfPresent elements, and the errors for names the task does not have.

use serde_json::{json, Value};
use weir_executor::placeholders::{build_argv, render_parameter_values, PlaceholderError};
use weir_executor::{
    ArtifactList, ExecutorInput, OutputParameter, PlaceholderContext, RuntimeArtifact,
};
use weir_spec::{ArtifactTypeSchema, ContainerSpec};

fn artifact(name: &str, uri: &str, metadata: Value) -> RuntimeArtifact {
    RuntimeArtifact {
        name: name.to_string(),
        artifact_type: ArtifactTypeSchema {
            schema_title: Some("system.Dataset".to_string()),
            schema_version: Some("0.0.1".to_string()),
            ..Default::default()
        },
        uri: uri.to_string(),
        metadata: metadata.as_object().cloned().unwrap_or_default(),
    }
}

fn list(artifacts: Vec<RuntimeArtifact>) -> ArtifactList {
    ArtifactList { artifacts }
}

fn input() -> ExecutorInput {
    let mut input = ExecutorInput::default();
    let parameters = &mut input.inputs.parameter_values;
    parameters.insert("text".into(), json!("hello"));
    parameters.insert("n".into(), json!(5.0));
    parameters.insert("ratio".into(), json!(0.5));
    parameters.insert("flag".into(), json!(true));
    parameters.insert("xs".into(), json!([1.0, 2.5]));
    parameters.insert("cfg".into(), json!({"k": 4.0}));
    parameters.insert("none".into(), Value::Null);
    parameters.insert("tricky".into(), json!("{{$.inputs.parameters['n']}}"));

    let artifacts = &mut input.inputs.artifacts;
    let data = artifact("data", "gs://bucket/data.csv", json!({"rows": 10.0, "source": "lab"}));
    artifacts.insert("data".into(), list(vec![data]));
    let many = vec![
        artifact("a", "/runs/r1/a/out", json!({})),
        artifact("b", "/runs/r1/b/out", json!({})),
    ];
    artifacts.insert("many".into(), list(many));
    artifacts.insert("empty".into(), list(vec![]));

    let outputs = &mut input.outputs;
    let output_file = "/runs/r1/t/Output".to_string();
    outputs.parameters.insert("Output".into(), OutputParameter { output_file });
    let model = artifact("model", "/runs/r1/t/model", json!({}));
    outputs.artifacts.insert("model".into(), list(vec![model]));
    outputs.output_file = "/runs/r1/t/executor_output.json".into();
    input
}

fn context() -> PlaceholderContext {
    PlaceholderContext {
        pipeline_job_name: "job-name".into(),
        pipeline_job_resource_name: "job-resource".into(),
        pipeline_job_uuid: "job-uuid".into(),
        pipeline_task_name: "task-name".into(),
        pipeline_task_uuid: "task-uuid".into(),
        pipeline_root: "/runs/r1".into(),
        pipeline_job_create_time_utc: "2026-01-02T03:04:05Z".into(),
        pipeline_job_schedule_time_utc: "2026-01-02T00:00:00Z".into(),
        workspace_path: "/runs/r1/.workspace".into(),
    }
}

fn container(args: &[&str]) -> ContainerSpec {
    ContainerSpec {
        image: "python:3.11".into(),
        command: vec!["prog".into()],
        args: args.iter().map(|arg| arg.to_string()).collect(),
        ..Default::default()
    }
}

fn resolve(args: &[&str]) -> Result<Vec<String>, PlaceholderError> {
    build_argv(&container(args), &input(), &context()).map(|argv| argv[1..].to_vec())
}

/// Resolves one argv element and compares it with the expected text.
fn check(arg: &str, expected: &str) {
    let resolved = resolve(&[arg]).unwrap_or_else(|error| panic!("{arg}: {error}"));
    assert_eq!(resolved, vec![expected.to_string()], "argument {arg}");
}

/// Resolves several argv elements and compares the whole resulting list.
fn check_all(args: &[&str], expected: &[&str]) {
    let resolved = resolve(args).unwrap_or_else(|error| panic!("{args:?}: {error}"));
    assert_eq!(resolved, expected, "arguments {args:?}");
}

fn check_error(arg: &str, expected: PlaceholderError) {
    assert_eq!(resolve(&[arg]), Err(expected), "argument {arg}");
}

#[test]
fn command_comes_before_args() {
    let mut spec = container(&["b"]);
    spec.command = vec!["sh".into(), "-c".into()];
    let argv = build_argv(&spec, &input(), &context()).unwrap();
    assert_eq!(argv, ["sh", "-c", "b"]);
}

#[test]
fn input_parameter_text_forms() {
    check("{{$.inputs.parameters['text']}}", "hello");
    check("{{$.inputs.parameters['n']}}", "5");
    check("{{$.inputs.parameters['ratio']}}", "0.5");
    check("{{$.inputs.parameters['flag']}}", "true");
    check("{{$.inputs.parameters['xs']}}", "[1,2.5]");
    check("{{$.inputs.parameters['cfg']}}", r#"{"k":4}"#);
    check("{{$.inputs.parameters['none']}}", "null");
    check(r#"{{$.inputs.parameters["text"]}}"#, "hello");
}

#[test]
fn several_placeholders_in_one_element() {
    check("--n={{$.inputs.parameters['n']}},t={{$.inputs.parameters['text']}}!", "--n=5,t=hello!");
}

#[test]
fn inserted_text_is_not_resolved_again() {
    check("{{$.inputs.parameters['tricky']}}", "{{$.inputs.parameters['n']}}");
}

#[test]
fn input_artifact_forms() {
    check("{{$.inputs.artifacts['data'].path}}", "/gcs/bucket/data.csv");
    check("{{$.inputs.artifacts['data'].uri}}", "gs://bucket/data.csv");
    check("{{$.inputs.artifacts['data'].metadata}}", r#"{"rows":10,"source":"lab"}"#);
    check("{{$.inputs.artifacts['data'].metadata['rows']}}", "10");
    check("{{$.inputs.artifacts['data'].metadata['source']}}", "lab");
    check("{{$.inputs.artifacts['many'].path}}", "/runs/r1/a/out");
}

#[test]
fn whole_artifact_list_is_json_array() {
    check(
        "{{$.inputs.artifacts['many']}}",
        concat!(
            r#"[{"name":"a","type":{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"},"#,
            r#""uri":"/runs/r1/a/out","metadata":{}},"#,
            r#"{"name":"b","type":{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"},"#,
            r#""uri":"/runs/r1/b/out","metadata":{}}]"#,
        ),
    );
    check("{{$.inputs.artifacts['empty']}}", "[]");
    check(
        "{{$.outputs.artifacts['model']}}",
        concat!(
            r#"[{"name":"model","type":{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"},"#,
            r#""uri":"/runs/r1/t/model","metadata":{}}]"#,
        ),
    );
}

#[test]
fn output_forms() {
    check("{{$.outputs.parameters['Output'].output_file}}", "/runs/r1/t/Output");
    check("{{$.outputs.artifacts['model'].path}}", "/runs/r1/t/model");
    check("{{$.outputs.artifacts['model'].uri}}", "/runs/r1/t/model");
    check("{{$.outputs.artifacts['model'].metadata}}", "{}");
    check("{{$.outputs.output_file}}", "/runs/r1/t/executor_output.json");
    check("{{$.outputMetadataUri}}", "/runs/r1/t/executor_output.json");
}

#[test]
fn constant_forms() {
    check("{{$.pipeline_job_name}}", "job-name");
    check("{{$.pipeline_job_resource_name}}", "job-resource");
    check("{{$.pipeline_job_uuid}}", "job-uuid");
    check("{{$.pipeline_task_name}}", "task-name");
    check("{{$.pipeline_task_uuid}}", "task-uuid");
    check("{{$.pipeline_root}}", "/runs/r1");
    check("{{$.pipeline_job_create_time_utc}}", "2026-01-02T03:04:05Z");
    check("{{$.pipeline_job_schedule_time_utc}}", "2026-01-02T00:00:00Z");
    check("{{$.workspace_path}}/data", "/runs/r1/.workspace/data");
}

#[test]
fn executor_input_placeholder_is_compact_json() {
    let mut small = ExecutorInput::default();
    small.inputs.parameter_values.insert("n".into(), json!(8.0));
    small.inputs.parameter_values.insert("xs".into(), json!([1.0, 0.5]));
    small.outputs.parameters.insert("Output".into(), OutputParameter { output_file: "/o".into() });
    small.outputs.output_file = "/e.json".into();
    let argv = build_argv(&container(&["{{$}}"]), &small, &context()).unwrap();
    let expected = concat!(
        // A whole number given as a double keeps its fraction at the top level (a NUMBER_DOUBLE
        // input), and loses it inside lists.
        r#"{"inputs":{"parameterValues":{"n":8.0,"xs":[1,0.5]},"artifacts":{}},"#,
        r#""outputs":{"parameters":{"Output":{"outputFile":"/o"}},"artifacts":{},"#,
        r#""outputFile":"/e.json"}}"#,
    );
    assert_eq!(argv[1], expected);
}

#[test]
fn executor_input_placeholder_round_trips() {
    let argv = build_argv(&container(&["{{$}}"]), &input(), &context()).unwrap();
    let parsed: ExecutorInput = serde_json::from_str(&argv[1]).unwrap();
    let mut expected = input();
    // Integral doubles inside lists, structs and metadata come back as integers, which compare
    // unequal in serde_json; top-level values keep their fraction.
    expected.inputs.parameter_values.insert("cfg".into(), json!({"k": 4}));
    expected.inputs.parameter_values.insert("xs".into(), json!([1, 2.5]));
    let data = &mut expected.inputs.artifacts.get_mut("data").unwrap().artifacts[0];
    data.metadata.insert("rows".into(), json!(10));
    assert_eq!(parsed, expected);
}

#[test]
fn text_that_is_not_a_placeholder_is_kept() {
    check("{{$x}} {{ name }} ${HOME} {{$.unclosed", "{{$x}} {{ name }} ${HOME} {{$.unclosed");
}

#[test]
fn concat_joins_items() {
    check(
        r#"{"Concat": ["prefix-", "{{$.inputs.parameters['text']}}", "-", "{{$.inputs.artifacts['data'].uri}}"]}"#,
        "prefix-hello-gs://bucket/data.csv",
    );
}

#[test]
fn if_present_splices_branch() {
    let present = r#"{"IfPresent": {"InputName": "text", "Then": ["--text", "{{$.inputs.parameters['text']}}"], "Else": ["--no-text"]}}"#;
    check_all(&["a", present, "z"], &["a", "--text", "hello", "z"]);

    let absent =
        r#"{"IfPresent": {"InputName": "missing", "Then": ["--x"], "Else": ["--no-x", "1"]}}"#;
    check_all(&["a", absent, "z"], &["a", "--no-x", "1", "z"]);
}

#[test]
fn if_present_null_parameter_is_absent() {
    let arg = r#"{"IfPresent": {"InputName": "none", "Then": ["--none"], "Else": "--no-none"}}"#;
    check_all(&[arg], &["--no-none"]);
}

#[test]
fn if_present_empty_artifact_list_is_absent() {
    let arg = r#"{"IfPresent": {"InputName": "empty", "Then": "yes", "Else": "no"}}"#;
    check_all(&[arg], &["no"]);
    let arg =
        r#"{"IfPresent": {"InputName": "data", "Then": "{{$.inputs.artifacts['data'].path}}"}}"#;
    check_all(&[arg], &["/gcs/bucket/data.csv"]);
}

#[test]
fn if_present_without_else_adds_nothing() {
    let arg = r#"{"IfPresent": {"InputName": "missing", "Then": ["--x", "1"]}}"#;
    check_all(&["a", arg, "b"], &["a", "b"]);
}

#[test]
fn nested_structured_placeholders() {
    let then_concat = r#"{"IfPresent": {"InputName": "n", "Then": [{"Concat": ["--n=", "{{$.inputs.parameters['n']}}"]}, "{{$.inputs.parameters['text']}}"]}}"#;
    check_all(&[then_concat], &["--n=5", "hello"]);

    let concat_if = r#"{"Concat": ["x", {"IfPresent": {"InputName": "flag", "Then": "-{{$.inputs.parameters['flag']}}"}}, {"IfPresent": {"InputName": "missing", "Then": "-never", "Else": "-else"}}, {"Concat": ["-", "{{$.pipeline_task_name}}"]}]}"#;
    check_all(&[concat_if], &["x-true-else-task-name"]);

    let deep = r#"{"IfPresent": {"InputName": "missing", "Then": "a", "Else": {"IfPresent": {"InputName": "text", "Then": ["b", "c"]}}}}"#;
    check_all(&[deep], &["b", "c"]);
}

#[test]
fn concat_of_nothing_is_an_empty_element() {
    let arg = r#"{"Concat": [{"IfPresent": {"InputName": "missing", "Then": "x"}}]}"#;
    check_all(&["a", arg], &["a", ""]);
}

#[test]
fn missing_input_parameter_is_an_error() {
    let placeholder = "{{$.inputs.parameters['nope']}}";
    let expected = PlaceholderError::MissingInputParameter {
        placeholder: placeholder.into(),
        name: "nope".into(),
    };
    check_error(&format!("--x={placeholder}"), expected.clone());
    let message = expected.to_string();
    assert!(message.contains("'nope'"), "{message}");
}

#[test]
fn missing_names_are_errors() {
    let p = "{{$.inputs.artifacts['nope'].path}}";
    let name = "nope".to_string();
    check_error(
        p,
        PlaceholderError::MissingInputArtifact { placeholder: p.into(), name: name.clone() },
    );
    let p = "{{$.outputs.parameters['nope'].output_file}}";
    check_error(
        p,
        PlaceholderError::MissingOutputParameter { placeholder: p.into(), name: name.clone() },
    );
    let p = "{{$.outputs.artifacts['nope'].uri}}";
    check_error(p, PlaceholderError::MissingOutputArtifact { placeholder: p.into(), name });
}

#[test]
fn missing_input_inside_concat_is_an_error() {
    let arg = r#"{"Concat": ["a", "{{$.inputs.parameters['nope']}}"]}"#;
    let expected = PlaceholderError::MissingInputParameter {
        placeholder: "{{$.inputs.parameters['nope']}}".into(),
        name: "nope".into(),
    };
    check_error(arg, expected);
}

#[test]
fn empty_artifact_list_path_is_an_error() {
    let p = "{{$.inputs.artifacts['empty'].path}}";
    let expected =
        PlaceholderError::EmptyArtifactList { placeholder: p.into(), name: "empty".into() };
    check_error(p, expected);
}

#[test]
fn missing_metadata_key_is_an_error() {
    let p = "{{$.inputs.artifacts['data'].metadata['nope']}}";
    let expected = PlaceholderError::MissingMetadataKey {
        placeholder: p.into(),
        name: "data".into(),
        key: "nope".into(),
    };
    check_error(p, expected);
}

#[test]
fn unknown_forms_are_errors() {
    let cases = [
        "{{$.inputs.parameters['text'].value}}",
        "{{$.inputs.artifacts['data'].size}}",
        "{{$.outputs.parameters['Output']}}",
        "{{$.json_escape[0]}}",
        "{{$.pipeline_nothing}}",
        "{{$.inputs.parameters[text]}}",
    ];
    for placeholder in cases {
        let expected = PlaceholderError::Unknown { placeholder: placeholder.into() };
        check_error(placeholder, expected);
    }
}

#[test]
fn workspace_without_configuration_is_an_error() {
    let mut ctx = context();
    ctx.workspace_path.clear();
    let result = build_argv(&container(&["{{$.workspace_path}}"]), &input(), &ctx);
    let expected =
        PlaceholderError::WorkspaceNotConfigured { placeholder: "{{$.workspace_path}}".into() };
    assert_eq!(result, Err(expected));
}

#[test]
fn invalid_structured_element_is_an_error() {
    let cases = [
        r#"{"Concat": ["a", }"#,
        r#"{"Concat": "a"}"#,
        r#"{"IfPresent": {"Then": "a"}}"#,
        r#"{"Concat": ["a", 1]}"#,
        r#"{"IfPresent": {"InputName": "text", "Then": "a"}, "Concat": []}"#,
    ];
    for element in cases {
        let result = resolve(&[element]);
        assert!(
            matches!(&result, Err(PlaceholderError::InvalidStructured { element: e, .. }) if e == element),
            "element {element}: {result:?}"
        );
    }
}

#[test]
fn parameter_values_render_fstrings() {
    let mut input = input();
    let parameters = &mut input.inputs.parameter_values;
    parameters.insert(
        "msg".into(),
        json!(
            "n is {{$.inputs.parameters['n']}} in {{$.pipeline_job_name}} at {{$.workspace_path}}"
        ),
    );
    parameters.insert("keep".into(), json!("{{$}} and {{$.inputs.parameters['nope']}}"));
    parameters.insert("uri".into(), json!("{{$.inputs.artifacts['data'].uri}}"));
    render_parameter_values(&mut input, &context());

    let parameters = &input.inputs.parameter_values;
    assert_eq!(parameters["msg"], json!("n is 5 in job-name at /runs/r1/.workspace"));
    assert_eq!(parameters["keep"], json!("{{$}} and {{$.inputs.parameters['nope']}}"));
    assert_eq!(parameters["uri"], json!("gs://bucket/data.csv"));
    assert_eq!(parameters["n"], json!(5.0));
    // Values are resolved against the values before the call, so one pass only.
    assert_eq!(parameters["tricky"], json!("5"));
}
