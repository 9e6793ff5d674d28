//! The text summary printed by `weir validate`, checked in full for two compiled samples.

use std::path::PathBuf;

use weir_spec::{describe, load_file, load_str};

fn sample(name: &str) -> PathBuf {
    let shared = match std::env::var_os("WEIR_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    shared.join("bench/kfp-local/ir-samples").join(name)
}

fn describe_file(path: PathBuf) -> String {
    let pipeline = load_file(&path).unwrap_or_else(|error| panic!("{error}"));
    describe(&pipeline)
}

#[test]
fn conditions_sample() {
    let expected = "\
Pipeline: feat-conditions
Inputs:
  threshold  NUMBER_INTEGER, default 2
Outputs:
  Output  STRING
Tasks: 9 tasks
  flip [comp-flip]; image python:3.11
  num [comp-num]; image python:3.11
  condition-branches-1 [comp-condition-branches-1]; after flip, num
    condition-2 \"is-heads\" [comp-condition-2]; if flip-Output == 'heads'
      say [comp-say]; image python:3.11
    condition-3 [comp-condition-3]; if !(flip-Output == 'heads') && int(num-Output) > int(threshold)
      say-2 [comp-say-2]; image python:3.11
    condition-4 [comp-condition-4]; if !(flip-Output == 'heads') && !(int(num-Output) > int(threshold))
      say-3 [comp-say-3]; image python:3.11
";
    assert_eq!(describe_file(sample("conditions.yaml")), expected);
}

#[test]
fn exit_handler_sample() {
    let expected = "\
Pipeline: feat-exit-handler
Inputs:
  msg  STRING, default \"hi\"
Outputs: none
Tasks: 5 tasks
  exit-handler-1 \"body\" [comp-exit-handler-1]
    say [comp-say]; image python:3.11
    fail-me [comp-fail-me]; after say; image python:3.11
    say-2 [comp-say-2]; after fail-me; runs after upstream tasks finish, even if they failed; image python:3.11
  final [comp-final]; after exit-handler-1; runs after upstream tasks finish, even if they failed; image python:3.11
";
    assert_eq!(describe_file(sample("exit_handler.yaml")), expected);
}

#[test]
fn inputs_outputs_and_platform() {
    let text = r#"
pipelineInfo: {name: p, displayName: Nice name, description: "first line\nsecond line"}
root:
  inputDefinitions:
    parameters:
      epochs: {parameterType: NUMBER_INTEGER, defaultValue: 20.0}
      note: {parameterType: STRING, isOptional: true}
      rate: {parameterType: NUMBER_DOUBLE}
    artifacts:
      data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}
      extra: {artifactType: {schemaTitle: system.Artifact}, isArtifactList: true, isOptional: true}
  outputDefinitions:
    artifacts:
      model: {artifactType: {schemaTitle: system.Model}}
  dag:
    outputs:
      artifacts:
        model: {artifactSelectors: [{producerSubtask: fit, outputArtifactKey: model}]}
    tasks:
      fit:
        componentRef: {name: comp-fit}
        inputs:
          parameters:
            epochs: {componentInputParameter: epochs}
          artifacts:
            data: {componentInputArtifact: data}
        iteratorPolicy: {parallelismLimit: 2}
        parameterIterator: {itemInput: i, items: {raw: '[1, 2]'}}
components:
  comp-fit:
    dag:
      outputs:
        artifacts:
          model: {artifactSelectors: [{producerSubtask: one, outputArtifactKey: model}]}
      tasks:
        one: {componentRef: {name: comp-one}, cachingOptions: {}}
    inputDefinitions:
      parameters:
        epochs: {parameterType: NUMBER_INTEGER}
        i: {parameterType: NUMBER_INTEGER}
      artifacts:
        data: {artifactType: {schemaTitle: system.Dataset}}
    outputDefinitions:
      artifacts:
        model: {artifactType: {schemaTitle: system.Model}, isArtifactList: true}
  comp-one:
    executorLabel: exec-one
    outputDefinitions:
      artifacts:
        model: {artifactType: {schemaTitle: system.Model}}
deploymentSpec:
  executors:
    exec-one: {container: {image: alpine:3}}
---
platforms: {kubernetes: {}}
"#;
    let pipeline = load_str(text, "p.yaml").unwrap_or_else(|error| panic!("{error}"));
    let expected = "\
Pipeline: p
Display name: Nice name
Description: first line
  second line
Inputs:
  epochs  NUMBER_INTEGER, default 20
  note    STRING, optional
  rate    NUMBER_DOUBLE, required
  data    artifact system.Dataset, required
  extra   artifact list system.Artifact, optional
Outputs:
  model  artifact system.Model
Tasks: 2 tasks
  fit [comp-fit]; loop over [1, 2]; at most 2 at a time
    one [comp-one]; cache off; image alpine:3
Platform settings: kubernetes
";
    assert_eq!(describe(&pipeline), expected);
}
