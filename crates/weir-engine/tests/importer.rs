//! Importer tasks: a local file published as a Dataset with metadata from a pipeline input
//! (`importer.yaml`), a URI naming no file, and the IR sample with a remote Model URI and a
//! consumer that carries retry, environment and resource options.

mod common;

use common::*;
use serde_json::json;
use weir_store::{State, TaskKind};

fn write_lines(h: &Harness) -> String {
    let path = h.scratch("lines.txt");
    if let Err(e) = std::fs::write(&path, "alpha\nbeta\ngamma\n") {
        panic!("failed to write {}: {e}", path.display());
    }
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_file_becomes_dataset() {
    let h = Harness::new();
    let uri = write_lines(&h);
    let (run, tasks) = h.run("importer.yaml", &[("uri", json!(uri))]).await;

    assert_run_state(&run, State::Succeeded);
    let importer = task(&tasks, "importer");
    assert_eq!(importer.kind, TaskKind::Importer, "kind of importer");
    assert_state(importer, State::Succeeded);
    assert_eq!(importer.attempts, 0, "an importer starts no process");
    let artifact = output_artifact(&importer.outputs, "artifact", "importer");
    assert_eq!(artifact.uri, uri);
    assert_eq!(artifact.artifact_type.schema_title.as_deref(), Some("system.Dataset"));
    assert!(
        json_equal(&json!(artifact.metadata), &json!({"source": "weir-test", "tag": "v1"})),
        "metadata {:?}",
        artifact.metadata
    );

    assert_state(task(&tasks, "read-imported"), State::Succeeded);
    assert_run_outputs(
        &run,
        &[
            ("line_count", json!(3)),
            ("first_line", json!("alpha")),
            ("origin", json!("weir-test/v1")),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_follows_input() {
    let h = Harness::new();
    let uri = write_lines(&h);
    let (run, tasks) = h.run("importer.yaml", &[("uri", json!(uri)), ("tag", json!("v2"))]).await;

    assert_run_state(&run, State::Succeeded);
    let artifact = output_artifact(&task(&tasks, "importer").outputs, "artifact", "importer");
    assert_eq!(artifact.metadata.get("tag"), Some(&json!("v2")), "metadata tag");
    assert_run_output_param(&run, "origin", json!("weir-test/v2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_fails_consumer() {
    let h = Harness::new();
    let uri = h.scratch("absent.txt").display().to_string();
    let (run, tasks) = h.run("importer.yaml", &[("uri", json!(uri))]).await;

    assert_run_state(&run, State::Failed);
    assert_state(task(&tasks, "importer"), State::Succeeded);
    let reader = task(&tasks, "read-imported");
    assert_state(reader, State::Failed);
    let error = reader.error.clone().unwrap_or_default();
    assert!(error.contains("absent.txt"), "error of read-imported: {error}");
    assert_no_run_outputs(&run);
    assert_store_final(&run, &tasks);
}

/// IR sample: importers for a given path and for `s3://b/k`. `read-ds` reads the first, and
/// `say` formats its output into an f-string with the pipeline input `who`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_options_sample() {
    let h = Harness::new();
    let uri = write_lines(&h);
    let (run, tasks) = h.run("ir-samples/task_options.yaml", &[("uri", json!(uri))]).await;

    assert_run_state(&run, State::Succeeded);
    let imported = output_artifact(&task(&tasks, "importer").outputs, "artifact", "importer");
    assert_eq!(imported.uri, uri);
    assert!(json_equal(&json!(imported.metadata), &json!({"source": "import"})));

    let model = output_artifact(&task(&tasks, "importer-2").outputs, "artifact", "importer-2");
    assert_eq!(model.uri, "s3://b/k");
    assert_eq!(model.artifact_type.schema_title.as_deref(), Some("system.Model"));

    let reader = task(&tasks, "read-ds");
    assert_eq!(reader.display_name, "read imported data");
    assert_eq!(reader.attempts, 1, "attempts of read-ds");
    assert_output_param(reader, "Output", json!("alpha\nbeta\ngamma\n"));
    assert_output_param(
        task(&tasks, "say"),
        "Output",
        json!("hello world, got alpha\nbeta\ngamma\n"),
    );
}
