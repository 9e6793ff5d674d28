//! Artifacts passed between tasks: a Dataset file with metadata, a directory Artifact, a
//! Dataset pipeline output (`artifacts.yaml`), and the ten-step chain of the benchmark set.

mod common;

use common::*;
use serde_json::json;
use weir_store::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_and_directory_reach_consumer() {
    let h = Harness::new();
    let (run, tasks) = h.run("artifacts.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_states(&tasks, &[("write-numbers", State::Succeeded), ("summarize", State::Succeeded)]);

    let writer = task(&tasks, "write-numbers");
    let numbers = output_artifact(&writer.outputs, "numbers", "write-numbers");
    assert_eq!(numbers.artifact_type.schema_title.as_deref(), Some("system.Dataset"));
    assert_eq!(read_artifact(&numbers), "1\n2\n3\n4\n5\n");
    assert!(json_equal(&json!(numbers.metadata), &json!({"rows": 5, "format": "lines"})));

    let bundle = output_artifact(&writer.outputs, "bundle", "write-numbers");
    assert_eq!(bundle.artifact_type.schema_title.as_deref(), Some("system.Artifact"));
    let bundle_dir = weir_artifacts::local_path_for_uri(&bundle.uri);
    assert_eq!(read(bundle_dir.join("a.txt")), "alpha");
    assert_eq!(read(bundle_dir.join("b.txt")), "beta");

    let summary = task(&tasks, "summarize");
    assert_output_param(summary, "total", json!(15));
    assert_output_param(summary, "rows", json!(5));
    assert_output_param(summary, "bundle_files", json!("a.txt,b.txt"));

    assert_run_outputs(
        &run,
        &[("total", json!(15)), ("rows", json!(5)), ("bundle_files", json!("a.txt,b.txt"))],
    );
    let published = output_artifact(&run.outputs, "numbers", "the run");
    assert_eq!(published.uri, numbers.uri, "pipeline output numbers is write-numbers' Dataset");
    assert!(json_equal(&json!(published.metadata), &json!(numbers.metadata)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_dataset_gives_zero() {
    let h = Harness::new();
    let (run, tasks) = h.run("artifacts.yaml", &[("count", json!(0))]).await;

    assert_run_state(&run, State::Succeeded);
    let numbers = output_artifact(&task(&tasks, "write-numbers").outputs, "numbers", "writer");
    assert_eq!(read_artifact(&numbers), "");
    assert_run_outputs(
        &run,
        &[("total", json!(0)), ("rows", json!(0)), ("bundle_files", json!("a.txt,b.txt"))],
    );
}

/// Ten Python steps that each pass an int and a growing Dataset to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_passes_values_along() {
    let h = Harness::new();
    let (run, tasks) = h.run("bench/chain.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(tasks.len(), 10, "one task per step");
    for task in &tasks {
        assert_state(task, State::Succeeded);
    }
    assert_run_output_param(&run, "value", json!(9));

    let data = output_artifact(&run.outputs, "data", "the run");
    assert!(json_equal(&json!(data.metadata), &json!({"lines": 10})), "{:?}", data.metadata);
    let mut expected = String::from("step 0 value 0\n");
    for n in 1..=9 {
        expected.push_str(&format!("next value {n}\n"));
    }
    assert_eq!(read_artifact(&data), expected);
}
