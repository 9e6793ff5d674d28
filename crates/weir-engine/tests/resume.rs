//! Executing a run again (a retry, or a resume after a restart): tasks that succeeded keep
//! their records and outputs, and only the others run.

mod common;

use common::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use weir_store::State;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_reruns_only_failed_tasks() {
    let h = Harness::new();
    let path = h.scratch("lines.txt");
    let uri = path.display().to_string();

    // The imported file does not exist yet, so the reader fails.
    let run = match h.submit("importer.yaml", &[("uri", json!(uri))]).await {
        Ok(run) => run,
        Err(e) => panic!("submit failed: {e}"),
    };
    let (first, tasks) = h.execute(&run.run_id, CancellationToken::new(), None).await;
    assert_run_state(&first, State::Failed);
    assert_state(task(&tasks, "importer"), State::Succeeded);
    assert_state(task(&tasks, "read-imported"), State::Failed);
    let importer_id = task(&tasks, "importer").task_id.clone();
    let reader_id = task(&tasks, "read-imported").task_id.clone();

    if let Err(e) = std::fs::write(&path, "alpha\nbeta\ngamma\n") {
        panic!("failed to write {}: {e}", path.display());
    }
    let (second, tasks) = h.execute(&run.run_id, CancellationToken::new(), None).await;

    assert_run_state(&second, State::Succeeded);
    assert_eq!(tasks.len(), 2, "a retry adds no task records: {tasks:?}");
    let importer = task(&tasks, "importer");
    let reader = task(&tasks, "read-imported");
    assert_eq!(importer.task_id, importer_id, "importer keeps its id");
    assert_eq!(reader.task_id, reader_id, "reader keeps its id");
    assert_state(reader, State::Succeeded);
    assert_eq!(reader.error, None, "the earlier error is cleared");
    assert_run_outputs(
        &second,
        &[
            ("line_count", json!(3)),
            ("first_line", json!("alpha")),
            ("origin", json!("weir-test/v1")),
        ],
    );
    assert!(second.finished_at.is_some(), "finished_at is set again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn succeeded_run_executed_again_runs_nothing() {
    let h = Harness::new();
    let log = h.scratch("runs.log");
    let log = log.display().to_string();
    let (first, _) = h.run("caching.yaml", &[("log_path", json!(log))]).await;
    assert_run_state(&first, State::Succeeded);
    let lines_before = std::fs::read_to_string(&log).unwrap_or_default().lines().count();

    let (second, tasks) = h.execute(&first.run_id, CancellationToken::new(), None).await;

    assert_run_state(&second, State::Succeeded);
    let lines_after = std::fs::read_to_string(&log).unwrap_or_default().lines().count();
    assert_eq!(lines_after, lines_before, "no task process ran again");
    assert_store_final(&second, &tasks);
}
