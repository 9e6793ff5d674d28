//! Pipelines used as components: two levels deep with parameter and artifact outputs
//! (`nested_pipeline.yaml`), and the IR sample whose nested pipeline returns Metrics.

mod common;

use common::*;
use serde_json::json;
use weir_store::{State, TaskKind};

/// Checks one `add-and-note` call: its sub-DAGs, its outputs and its note Dataset.
fn assert_add_and_note(tasks: &[weir_store::TaskRecord], key: &str, doubled: i64) {
    let value = doubled + 1;
    let call = task(tasks, key);
    assert_eq!(call.kind, TaskKind::Dag, "kind of {key}");
    assert_state(call, State::Succeeded);
    assert_eq!(task(tasks, &format!("{key}/double")).kind, TaskKind::Dag, "kind of {key}/double");
    assert_output_param(task(tasks, &format!("{key}/double")), "Output", json!(doubled));
    assert_output_param(task(tasks, &format!("{key}/double/multiply")), "Output", json!(doubled));
    assert_output_param(task(tasks, &format!("{key}/add-one")), "Output", json!(value));
    assert_state(task(tasks, &format!("{key}/write-note")), State::Succeeded);

    assert_output_param(call, "value", json!(value));
    let note = output_artifact(&call.outputs, "note", key);
    assert_eq!(read_artifact(&note), format!("value={value}"));
    assert!(json_equal(&json!(note.metadata), &json!({"value": value})), "{:?}", note.metadata);
    let written = output_artifact(&task(tasks, &format!("{key}/write-note")).outputs, "note", key);
    assert_eq!(note.uri, written.uri, "note of {key} is the one write-note wrote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_levels_with_outputs() {
    let h = Harness::new();
    let (run, tasks) = h.run("nested_pipeline.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_add_and_note(&tasks, "add-and-note", 6);
    assert_add_and_note(&tasks, "add-and-note-2", 14);
    assert_output_param(task(&tasks, "read-note"), "Output", json!("value=15"));
    assert_run_outputs(&run, &[("value", json!(15)), ("note_text", json!("value=15"))]);

    let note = output_artifact(&run.outputs, "note", "the run");
    let inner = output_artifact(&task(&tasks, "add-and-note-2/write-note").outputs, "note", "");
    assert_eq!(note.uri, inner.uri, "pipeline output note comes from add-and-note-2/write-note");
    assert_eq!(read_artifact(&note), "value=15");
    assert!(json_equal(&json!(note.metadata), &json!({"value": 15})), "{:?}", note.metadata);
}

/// IR sample: the nested pipeline `inner` returns a string and a Metrics artifact, and the
/// Metrics become the pipeline's output. Caching is on in this sample, so the root `say`
/// (same component and input as `inner/say`) may reuse `inner/say`'s result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_output_from_inner() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/nested.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    let two_outputs = task(&tasks, "inner/two-outputs");
    assert_output_param(two_outputs, "a", json!(1));
    assert_output_param(two_outputs, "b", json!("b"));
    assert_output_param(task(&tasks, "inner/say"), "Output", json!("b"));
    assert_output_param(task(&tasks, "inner"), "s", json!("b"));
    assert_state(task(&tasks, "say"), State::Succeeded);
    assert_output_param(task(&tasks, "say"), "Output", json!("b"));

    let metrics = output_artifact(&run.outputs, "Output", "the run");
    assert_eq!(metrics.artifact_type.schema_title.as_deref(), Some("system.Metrics"));
    assert!(json_equal(&json!(metrics.metadata), &json!({"acc": 0.9})), "{:?}", metrics.metadata);
    let produced = output_artifact(&two_outputs.outputs, "metrics", "inner/two-outputs");
    assert_eq!(metrics.uri, produced.uri, "pipeline output is inner/two-outputs' Metrics");
}
