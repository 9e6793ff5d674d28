//! Broken pipelines: each case edits a small valid pipeline and expects one problem at an exact
//! path whose message names the offending value.

use weir_spec::{load_str, Problem, SpecError};

/// A valid two-task pipeline: `prep` writes a dataset that `train` reads.
const BASE: &str = r#"
# PIPELINE DEFINITION
# Name: small
pipelineInfo: {name: small}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}
      rows: {parameterType: LIST, defaultValue: [1, 2]}
  dag:
    tasks:
      prep:
        componentRef: {name: comp-prep}
        taskInfo: {name: prep}
      train:
        componentRef: {name: comp-train}
        dependentTasks: [prep]
        taskInfo: {name: train}
        inputs:
          parameters:
            lr: {componentInputParameter: lr}
          artifacts:
            data: {taskOutputArtifact: {producerTask: prep, outputArtifactKey: data}}
components:
  comp-prep:
    executorLabel: exec-prep
    outputDefinitions:
      artifacts:
        data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}
  comp-train:
    executorLabel: exec-train
    inputDefinitions:
      parameters:
        lr: {parameterType: NUMBER_DOUBLE}
      artifacts:
        data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}
    outputDefinitions:
      parameters:
        Output: {parameterType: NUMBER_DOUBLE}
deploymentSpec:
  executors:
    exec-prep: {container: {image: 'python:3.11', command: [python3]}}
    exec-train: {container: {image: 'python:3.11', command: [python3]}}
"#;

/// Applies text replacements to [`BASE`]; each `from` must occur in it.
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "edit target {from:?} not in the base pipeline");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Loads `text` and returns the problems, failing the test on any other outcome.
fn problems_of(text: &str) -> Vec<Problem> {
    match load_str(text, "test.yaml") {
        Err(SpecError::Invalid(problems)) => problems,
        Ok(_) => panic!("the pipeline loaded without problems"),
        Err(other) => panic!("expected SpecError::Invalid, got: {other}"),
    }
}

/// Asserts that the edited base has exactly one problem, at `path`, whose message contains
/// every one of `words`.
fn check(edits: &[(&str, &str)], path: &str, words: &[&str]) {
    let problems = problems_of(&edited(edits));
    assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
    assert_eq!(problems[0].path, path, "{}", problems[0]);
    for word in words {
        assert!(problems[0].message.contains(word), "{word:?} not in: {}", problems[0].message);
    }
}

#[test]
fn base_pipeline_is_valid() {
    let pipeline = load_str(BASE, "base.yaml").map_err(|e| e.to_string());
    assert_eq!(pipeline.map(|p| p.spec.pipeline_info.name), Ok("small".to_string()));
}

#[test]
fn unknown_component_ref() {
    let edit = ("componentRef: {name: comp-train}", "componentRef: {name: comp-trian}");
    check(&[edit], "root.dag.tasks.train.componentRef.name", &["'comp-trian'", "not found"]);
}

#[test]
fn unknown_executor_label() {
    let edit = ("executorLabel: exec-train", "executorLabel: exec-gone");
    check(&[edit], "components.comp-train.executorLabel", &["'exec-gone'", "not found"]);
}

#[test]
fn unknown_producer_task() {
    let edit = ("{producerTask: prep,", "{producerTask: ghost,");
    let path = "root.dag.tasks.train.inputs.artifacts.data.taskOutputArtifact.producerTask";
    check(&[edit], path, &["'ghost'", "not found", "prep, train"]);
}

#[test]
fn unknown_output_key() {
    let edit = ("outputArtifactKey: data}", "outputArtifactKey: dataset}");
    let path = "root.dag.tasks.train.inputs.artifacts.data.taskOutputArtifact.outputArtifactKey";
    check(&[edit], path, &["'dataset'", "'prep'", "outputs: data"]);
}

#[test]
fn unknown_output_parameter_key() {
    let edit = (
        "lr: {componentInputParameter: lr}",
        "lr: {taskOutputParameter: {producerTask: prep, outputParameterKey: Output}}",
    );
    let path = "root.dag.tasks.train.inputs.parameters.lr.taskOutputParameter.outputParameterKey";
    check(&[edit], path, &["'Output'", "'prep'", "outputs: none"]);
}

#[test]
fn unknown_dependent_task() {
    let edit = ("dependentTasks: [prep]", "dependentTasks: [prep, prepare]");
    check(&[edit], "root.dag.tasks.train.dependentTasks", &["'prepare'", "not found"]);
}

#[test]
fn self_dependency() {
    let edit = ("dependentTasks: [prep]", "dependentTasks: [prep, train]");
    check(&[edit], "root.dag.tasks.train.dependentTasks", &["'train'", "itself"]);
}

#[test]
fn dependency_cycle_names_tasks() {
    let edit =
        ("taskInfo: {name: prep}", "taskInfo: {name: prep}\n        dependentTasks: [train]");
    check(&[edit], "root.dag.tasks", &["cycle: prep -> train -> prep"]);
}

#[test]
fn unknown_component_input_parameter() {
    let edit = ("lr: {componentInputParameter: lr}", "lr: {componentInputParameter: rate}");
    let path = "root.dag.tasks.train.inputs.parameters.lr.componentInputParameter";
    check(&[edit], path, &["'rate'", "not found", "root", "lr, rows"]);
}

#[test]
fn loop_item_subvar_sdk_bug() {
    let edit = (
        "lr: {componentInputParameter: lr}",
        "lr: {componentInputParameter: lr}\n            pipelinechannel--rows-loop-item-subvar-a: \
         {componentInputParameter: rows-loop-item-subvar-a}",
    );
    let path = "root.dag.tasks.train.inputs.parameters.pipelinechannel--rows-loop-item-subvar-a\
                .componentInputParameter";
    check(&[edit], path, &["'rows-loop-item-subvar-a'", "f-string", "ParallelFor"]);
}

#[test]
fn unknown_component_input_artifact() {
    let edit = (
        "data: {taskOutputArtifact: {producerTask: prep, outputArtifactKey: data}}",
        "data: {componentInputArtifact: dataset}",
    );
    let path = "root.dag.tasks.train.inputs.artifacts.data.componentInputArtifact";
    check(&[edit], path, &["'dataset'", "not found"]);
}

#[test]
fn bad_cel_syntax() {
    let edit = (
        "taskInfo: {name: train}",
        "taskInfo: {name: train}\n        triggerPolicy: {condition: \"inputs.parameter_values['lr'] >\"}",
    );
    check(&[edit], "root.dag.tasks.train.triggerPolicy.condition", &["invalid CEL", "['lr'] >"]);
}

#[test]
fn condition_reads_unknown_input() {
    let edit = (
        "taskInfo: {name: train}",
        "taskInfo: {name: train}\n        triggerPolicy: {condition: \"inputs.parameter_values['flip'] == 'heads'\"}",
    );
    check(
        &[edit],
        "root.dag.tasks.train.triggerPolicy.condition",
        &["'flip'", "input parameters: lr"],
    );
}

#[test]
fn parameter_type_mismatch() {
    let edit =
        ("lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "lr: {parameterType: STRING}");
    check(&[edit], "root.dag.tasks.train.inputs.parameters.lr", &["NUMBER_DOUBLE", "STRING"]);
}

#[test]
fn constant_type_mismatch() {
    let edit = ("lr: {componentInputParameter: lr}", "lr: {runtimeValue: {constant: fast}}");
    let path = "root.dag.tasks.train.inputs.parameters.lr.runtimeValue.constant";
    check(&[edit], path, &["\"fast\"", "NUMBER_DOUBLE"]);
}

#[test]
fn bad_default_value() {
    let edit = ("defaultValue: 0.1}", "defaultValue: [0.1]}");
    check(&[edit], "root.inputDefinitions.parameters.lr.defaultValue", &["'lr'", "[0.1]"]);
}

#[test]
fn missing_required_input() {
    let edit = ("            lr: {componentInputParameter: lr}\n", "            {}\n");
    let edit_parameters = ("          parameters:\n            {}\n", "");
    check(
        &[edit, edit_parameters],
        "root.dag.tasks.train.inputs.parameters.lr",
        &["'lr'", "'comp-train'"],
    );
}

#[test]
fn two_input_sources() {
    let edit = (
        "lr: {componentInputParameter: lr}",
        "lr: {componentInputParameter: lr, runtimeValue: {constant: 1.0}}",
    );
    check(&[edit], "root.dag.tasks.train.inputs.parameters.lr", &["'lr'", "exactly one"]);
}

#[test]
fn executor_with_two_kinds() {
    let edit = (
        "exec-prep: {container: {image: 'python:3.11', command: [python3]}}",
        "exec-prep: {container: {image: 'python:3.11'}, importer: {artifactUri: {constant: /x}}}",
    );
    check(&[edit], "deploymentSpec.executors.exec-prep", &["'exec-prep'", "exactly one"]);
}

#[test]
fn component_cycle() {
    let edit = (
        "  comp-prep:\n    executorLabel: exec-prep\n",
        "  comp-prep:\n    dag:\n      tasks:\n        again: {componentRef: {name: comp-prep}}\n",
    );
    let problems = problems_of(&edited(&[edit]));
    let cycle = problems.iter().find(|p| p.path == "components.comp-prep.dag");
    let Some(cycle) = cycle else { panic!("no component cycle reported: {problems:#?}") };
    assert!(cycle.message.contains("cycle: comp-prep -> comp-prep"), "{}", cycle.message);
}

#[test]
fn loop_items_input_not_on_task() {
    let edit = (
        "taskInfo: {name: prep}",
        "taskInfo: {name: prep}\n        parameterIterator: {itemInput: item, items: {inputParameter: pipelinechannel--rowz}}",
    );
    let problems = problems_of(&edited(&[edit]));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "root.dag.tasks.prep.parameterIterator.items.inputParameter",
            "root.dag.tasks.prep.parameterIterator.itemInput",
        ]
    );
    assert!(problems[0].message.contains("'pipelinechannel--rowz'"), "{}", problems[0]);
    assert!(problems[1].message.contains("'item'"), "{}", problems[1]);
}

#[test]
fn dag_output_unknown_subtask() {
    let outputs = (
        "  dag:\n    tasks:\n",
        "  outputDefinitions:\n    parameters:\n      result: {parameterType: NUMBER_DOUBLE}\n  \
         dag:\n    outputs:\n      parameters:\n        result: {valueFromParameter: \
         {producerSubtask: trainer, outputParameterKey: Output}}\n    tasks:\n",
    );
    let path = "root.dag.outputs.parameters.result.valueFromParameter.producerSubtask";
    check(&[outputs], path, &["'trainer'", "not found"]);
}

#[test]
fn dag_output_without_selector() {
    let outputs = (
        "  dag:\n    tasks:\n",
        "  outputDefinitions:\n    parameters:\n      result: {parameterType: NUMBER_DOUBLE}\n  \
         dag:\n    tasks:\n",
    );
    check(&[outputs], "root.outputDefinitions.parameters.result", &["'result'", "no selector"]);
}

#[test]
fn every_problem_is_listed() {
    let text = edited(&[
        ("componentRef: {name: comp-prep}", "componentRef: {name: comp-nope}"),
        ("executorLabel: exec-train", "executorLabel: exec-nope"),
        ("lr: {componentInputParameter: lr}", "lr: {componentInputParameter: nope}"),
    ]);
    let error = load_str(&text, "three.yaml").err().map(|e| e.to_string()).unwrap_or_default();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 4, "{error}");
    assert_eq!(lines[0], "invalid pipeline spec (3 problems):");
    assert!(lines[1].starts_with("  root.dag.tasks.prep.componentRef.name: "), "{error}");
    assert!(lines[2].starts_with("  root.dag.tasks.train.inputs.parameters.lr."), "{error}");
    assert!(lines[3].starts_with("  components.comp-train.executorLabel: "), "{error}");
}

#[test]
fn shape_error_has_path() {
    let edit = ("dependentTasks: [prep]", "dependentTasks: {prep: 1}");
    let problems = problems_of(&edited(&[edit]));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].path, "root.dag.tasks.train");
    assert!(problems[0].message.contains("sequence"), "{}", problems[0]);
}

#[test]
fn malformed_yaml_reports_line() {
    let text = "pipelineInfo: {name: x}\nroot:\n  dag: [a, b\n";
    let error = load_str(text, "bad.yaml");
    let Err(SpecError::Malformed { origin, format, line, .. }) = &error else {
        panic!("expected Malformed, got {error:?}");
    };
    assert_eq!(origin, "bad.yaml");
    assert_eq!(*format, "YAML");
    assert_eq!(*line, Some(4));
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with("bad.yaml: malformed YAML at line 4, column "), "{message}");
}

#[test]
fn malformed_json_reports_line() {
    let text = "{\n  \"pipelineInfo\": {\"name\": \"x\"},\n  \"root\": }\n";
    let error = load_str(text, "bad.json");
    let Err(SpecError::Malformed { format, line, column, .. }) = &error else {
        panic!("expected Malformed, got {error:?}");
    };
    assert_eq!(*format, "JSON");
    assert_eq!(*line, Some(3));
    assert_eq!(*column, Some(11));
}

#[test]
fn not_a_pipeline_says_what_is_missing() {
    let cases = [
        ("foo: 1\nbar: 2\n", vec!["missing `pipelineInfo` and `root`", "foo, bar"]),
        ("pipelineInfo: {name: x}\ncomponents: {}\n", vec!["missing `root`"]),
        ("- a\n- b\n", vec!["a list"]),
        ("", vec!["no YAML or JSON document"]),
        ("# only a comment\n", vec!["no YAML or JSON document"]),
        ("kind: Pipeline\nspec: {displayName: x}\n", vec!["kind Pipeline", "spec.pipelineSpec"]),
    ];
    for (text, words) in cases {
        let error = load_str(text, "odd.yaml");
        assert!(matches!(error, Err(SpecError::NotAPipeline { .. })), "{text:?}: {error:?}");
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("odd.yaml: not a KFP pipeline spec: "), "{message}");
        for word in words {
            assert!(message.contains(word), "{word:?} not in {message:?}");
        }
    }
}

#[test]
fn extra_documents_rejected() {
    let second = format!("{BASE}---\nplatforms: {{}}\n---\nfoo: 1\n");
    let message = load_str(&second, "x.yaml").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("found 3 YAML documents"), "{message}");

    let not_platform = format!("{BASE}---\nfoo: 1\n");
    let message =
        load_str(&not_platform, "x.yaml").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("document 2 should be a platform spec"), "{message}");
}

#[test]
fn unreadable_file_names_path() {
    let path = std::path::Path::new("/nonexistent/weir/pipeline.yaml");
    let error = weir_spec::load_file(path);
    assert!(matches!(error, Err(SpecError::Unreadable { .. })), "{error:?}");
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("cannot read pipeline file /nonexistent/weir/pipeline.yaml: "),
        "{message}"
    );
}

#[test]
fn unknown_parameter_type_has_path() {
    let edit = ("lr: {parameterType: NUMBER_DOUBLE}", "lr: {parameterType: FLOAT}");
    let problems = problems_of(&edited(&[edit]));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].path, "components.comp-train.inputDefinitions.parameters.lr");
    assert!(problems[0].message.contains("FLOAT"), "{}", problems[0]);
}

#[test]
fn executors_not_a_mapping() {
    let edit = ("  executors:\n", "  executors: [1]\n  unused:\n");
    let problems = problems_of(&edited(&[edit]));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].path, "deploymentSpec.executors");
    assert_eq!(problems[0].message, "expected a mapping, found a list");
}
