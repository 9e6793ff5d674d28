//! Exit handlers: the exit task runs after its body whether the body failed
//! (`exit_handler_fail.yaml`) or succeeded (`exit_handler_success.yaml`), and receives the
//! body's final status. The IR sample adds an `ignore_upstream_failure` task inside the body.

mod common;

use common::*;
use serde_json::json;
use weir_store::State::{Failed, Succeeded};
use weir_store::TaskRecord;

/// Checks that `exit_task` started after `body` finished and received its final status.
fn assert_exit_task_after(tasks: &[TaskRecord], exit_task: &str, body: &str, state: &str) {
    let exit = task(tasks, exit_task);
    let body_record = task(tasks, body);
    assert!(
        exit.started_at >= body_record.finished_at,
        "{exit_task} started at {:?}, before {body} finished at {:?}",
        exit.started_at,
        body_record.finished_at
    );
    let status = &exit.inputs["parameters"]["status"];
    assert_eq!(status["state"], json!(state), "status input of {exit_task}: {status}");
    assert_eq!(status["pipeline_task_name"], json!(body), "status input of {exit_task}: {status}");
    assert_output_param(exit, "Output", json!(state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_body_still_runs_exit_task() {
    let h = Harness::new();
    let (run, tasks) = h.run("exit_handler_fail.yaml", &[]).await;

    assert_run_state(&run, Failed);
    assert_states(
        &tasks,
        &[
            ("exit-handler-1", Failed),
            ("exit-handler-1/say", Succeeded),
            ("exit-handler-1/fail", Failed),
            ("record-status", Succeeded),
        ],
    );
    assert_eq!(task(&tasks, "exit-handler-1").display_name, "body");
    assert_output_param(task(&tasks, "exit-handler-1/say"), "Output", json!("hello"));
    let error = task(&tasks, "exit-handler-1/fail").error.clone().unwrap_or_default();
    assert!(error.contains("exited with code 1"), "error of fail: {error}");
    assert_not_run(&tasks, "exit-handler-1/say-2");
    assert_exit_task_after(&tasks, "record-status", "exit-handler-1", "FAILED");
    assert_no_run_outputs(&run);
    assert_store_final(&run, &tasks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn succeeded_body_reports_success() {
    let h = Harness::new();
    let (run, tasks) = h.run("exit_handler_success.yaml", &[]).await;

    assert_run_state(&run, Succeeded);
    assert_states(
        &tasks,
        &[
            ("exit-handler-1", Succeeded),
            ("exit-handler-1/say", Succeeded),
            ("exit-handler-1/say-2", Succeeded),
            ("record-status", Succeeded),
        ],
    );
    assert_output_param(task(&tasks, "exit-handler-1/say"), "Output", json!("hello"));
    assert_output_param(task(&tasks, "exit-handler-1/say-2"), "Output", json!("world"));
    assert_exit_task_after(&tasks, "record-status", "exit-handler-1", "SUCCEEDED");
    assert_no_run_outputs(&run);
}

/// IR sample: inside the failing body, `say-2` ignores its failed upstream and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_in_body_runs_after_failure() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/exit_handler.yaml", &[]).await;

    assert_run_state(&run, Failed);
    assert_states(
        &tasks,
        &[
            ("exit-handler-1", Failed),
            ("exit-handler-1/say", Succeeded),
            ("exit-handler-1/fail-me", Failed),
            ("exit-handler-1/say-2", Succeeded),
            ("final", Succeeded),
        ],
    );
    assert_output_param(task(&tasks, "exit-handler-1/say"), "Output", json!("hi"));
    assert_output_param(task(&tasks, "exit-handler-1/say-2"), "Output", json!("cleanup"));
    assert_exit_task_after(&tasks, "final", "exit-handler-1", "FAILED");
}
