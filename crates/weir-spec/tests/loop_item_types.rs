//! The type check for ParallelFor loop items. The kfp compiler declares the item of a list with
//! an unknown element type as STRING, so such an item may feed an input of any type, also
//! through nested DAGs (`dsl.If`, an inner loop). Other STRING sources still conflict with
//! number inputs.

use weir_spec::{load_str, SpecError};

/// The shape kfp 2.17.3 compiles from a loop over an untyped `list` input `lrs`, whose body runs
/// `train(lr: float)` directly, inside a `dsl.If`, and inside an inner loop over `bs`.
/// `ITEM_TYPE` is the declared type of the item inputs, `SOURCE` the source of the direct
/// `train` task's `lr`, and `INNER_SOURCE` that of `train-2` inside the `dsl.If`.
const NESTED: &str = r#"
pipelineInfo: {name: nested-items}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      lrs: {parameterType: LIST, defaultValue: [0.1, 0.2]}
      bs: {parameterType: LIST, defaultValue: [1, 2]}
      flag: {parameterType: BOOLEAN, defaultValue: true}
  dag:
    tasks:
      for-loop-1:
        componentRef: {name: comp-for-loop-1}
        taskInfo: {name: for-loop-1}
        inputs:
          parameters:
            pipelinechannel--lrs: {componentInputParameter: lrs}
            pipelinechannel--bs: {componentInputParameter: bs}
            pipelinechannel--flag: {componentInputParameter: flag}
        parameterIterator:
          itemInput: pipelinechannel--lrs-loop-item
          items: {inputParameter: pipelinechannel--lrs}
components:
  comp-for-loop-1:
    inputDefinitions:
      parameters:
        pipelinechannel--lrs: {parameterType: LIST}
        pipelinechannel--lrs-loop-item: {parameterType: ITEM_TYPE}
        pipelinechannel--bs: {parameterType: LIST}
        pipelinechannel--flag: {parameterType: BOOLEAN}
    dag:
      tasks:
        name-it:
          componentRef: {name: comp-name-it}
          taskInfo: {name: name-it}
        train:
          componentRef: {name: comp-train}
          taskInfo: {name: train}
          inputs:
            parameters:
              lr: SOURCE
        condition-2:
          componentRef: {name: comp-condition-2}
          taskInfo: {name: condition-2}
          inputs:
            parameters:
              pipelinechannel--flag: {componentInputParameter: pipelinechannel--flag}
              pipelinechannel--lrs-loop-item: {componentInputParameter: pipelinechannel--lrs-loop-item}
              pipelinechannel--name-it-Output:
                taskOutputParameter: {producerTask: name-it, outputParameterKey: Output}
          triggerPolicy:
            condition: inputs.parameter_values['pipelinechannel--flag'] == true
        for-loop-3:
          componentRef: {name: comp-for-loop-3}
          taskInfo: {name: for-loop-3}
          inputs:
            parameters:
              pipelinechannel--bs: {componentInputParameter: pipelinechannel--bs}
              pipelinechannel--lrs-loop-item: {componentInputParameter: pipelinechannel--lrs-loop-item}
          parameterIterator:
            itemInput: pipelinechannel--bs-loop-item
            items: {inputParameter: pipelinechannel--bs}
  comp-condition-2:
    inputDefinitions:
      parameters:
        pipelinechannel--flag: {parameterType: BOOLEAN}
        pipelinechannel--lrs-loop-item: {parameterType: ITEM_TYPE}
        pipelinechannel--name-it-Output: {parameterType: STRING}
    dag:
      tasks:
        train-2:
          componentRef: {name: comp-train}
          taskInfo: {name: train-2}
          inputs:
            parameters:
              lr: {componentInputParameter: INNER_SOURCE}
  comp-for-loop-3:
    inputDefinitions:
      parameters:
        pipelinechannel--bs: {parameterType: LIST}
        pipelinechannel--bs-loop-item: {parameterType: STRING}
        pipelinechannel--lrs-loop-item: {parameterType: ITEM_TYPE}
    dag:
      tasks:
        train-3:
          componentRef: {name: comp-train}
          taskInfo: {name: train-3}
          inputs:
            parameters:
              lr: {componentInputParameter: pipelinechannel--lrs-loop-item}
        train-4:
          componentRef: {name: comp-train}
          taskInfo: {name: train-4}
          inputs:
            parameters:
              lr: {componentInputParameter: pipelinechannel--bs-loop-item}
  comp-name-it:
    executorLabel: exec-name-it
    outputDefinitions:
      parameters:
        Output: {parameterType: STRING}
  comp-train:
    executorLabel: exec-train
    inputDefinitions:
      parameters:
        lr: {parameterType: NUMBER_DOUBLE}
deploymentSpec:
  executors:
    exec-name-it: {container: {image: 'python:3.11', command: [python3]}}
    exec-train: {container: {image: 'python:3.11', command: [python3]}}
"#;

const ITEM_SOURCE: &str = "{componentInputParameter: pipelinechannel--lrs-loop-item}";
const INNER_ITEM: &str = "pipelinechannel--lrs-loop-item";

fn nested(item_type: &str, source: &str, inner_source: &str) -> String {
    NESTED
        .replace("ITEM_TYPE", item_type)
        .replace("INNER_SOURCE", inner_source)
        .replace("SOURCE", source)
}

/// Loads `text` and returns each problem as `path: message`, or no problems if it loaded.
fn problems(text: &str) -> Vec<String> {
    match load_str(text, "test.yaml") {
        Ok(_) => Vec::new(),
        Err(SpecError::Invalid(problems)) => problems.iter().map(|p| p.to_string()).collect(),
        Err(other) => panic!("expected a valid or invalid pipeline, got: {other}"),
    }
}

#[test]
fn string_item_feeds_double_at_every_depth() {
    let found = problems(&nested("STRING", ITEM_SOURCE, INNER_ITEM));
    assert!(found.is_empty(), "problems: {found:#?}");
}

#[test]
fn double_item_feeds_double() {
    let found = problems(&nested("NUMBER_DOUBLE", ITEM_SOURCE, INNER_ITEM));
    assert!(found.is_empty(), "problems: {found:#?}");
}

#[test]
fn boolean_item_into_double_rejected() {
    let found = problems(&nested("BOOLEAN", ITEM_SOURCE, INNER_ITEM));
    let expected = [
        "components.comp-condition-2.dag.tasks.train-2.inputs.parameters.lr: input 'lr' is \
         declared NUMBER_DOUBLE but its source is BOOLEAN",
        "components.comp-for-loop-1.dag.tasks.train.inputs.parameters.lr: input 'lr' is \
         declared NUMBER_DOUBLE but its source is BOOLEAN",
        "components.comp-for-loop-3.dag.tasks.train-3.inputs.parameters.lr: input 'lr' is \
         declared NUMBER_DOUBLE but its source is BOOLEAN",
    ];
    assert_eq!(found, expected);
}

#[test]
fn string_task_output_into_double_rejected() {
    let source = "{taskOutputParameter: {producerTask: name-it, outputParameterKey: Output}}";
    let found = problems(&nested("STRING", source, INNER_ITEM));
    let expected =
        ["components.comp-for-loop-1.dag.tasks.train.inputs.parameters.lr: input 'lr' is \
         declared NUMBER_DOUBLE but its source is STRING"];
    assert_eq!(found, expected);
}

/// A STRING input of a nested DAG that is passed a task output, not a loop item, keeps its type.
#[test]
fn string_dag_input_into_double_rejected() {
    let found = problems(&nested("STRING", ITEM_SOURCE, "pipelinechannel--name-it-Output"));
    let expected =
        ["components.comp-condition-2.dag.tasks.train-2.inputs.parameters.lr: input 'lr' is \
         declared NUMBER_DOUBLE but its source is STRING"];
    assert_eq!(found, expected);
}
