//! Failing tasks: a command that does not exist, an output that does not parse, tasks that
//! ignore a failed upstream (`ignore_upstream_failure.yaml`), and timeouts from the engine
//! setting and from the platform spec (`sleep.yaml`). The tests of failed runs also check that
//! the store contains a finished run whose tasks are all in final states.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use weir_engine::EngineConfig;
use weir_store::State::{self, Failed, Succeeded};

/// Hand-written IR: `run-missing` runs a command that does not exist, `after-missing` depends
/// on it, and `beside-missing` runs at the same time and succeeds.
const MISSING_COMMAND: &str = r#"
pipelineInfo:
  name: missing-command
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  dag:
    tasks:
      run-missing:
        taskInfo: {name: run-missing}
        cachingOptions: {}
        componentRef: {name: comp-run-missing}
      after-missing:
        taskInfo: {name: after-missing}
        cachingOptions: {}
        componentRef: {name: comp-quick}
        dependentTasks: [run-missing]
      beside-missing:
        taskInfo: {name: beside-missing}
        cachingOptions: {}
        componentRef: {name: comp-quick}
components:
  comp-run-missing: {executorLabel: exec-run-missing}
  comp-quick: {executorLabel: exec-quick}
deploymentSpec:
  executors:
    exec-run-missing:
      container:
        image: alpine:3.20
        command: [weir-no-such-command]
        args: [--version]
    exec-quick:
      container:
        image: alpine:3.20
        command: [sh, -c, 'sleep 0.2']
"#;

#[tokio::test]
async fn missing_command_fails_task() {
    let h = Harness::new();
    let (run, tasks) = h.run_request(request(load_text(MISSING_COMMAND), &[])).await;

    assert_run_state(&run, Failed);
    let missing = task(&tasks, "run-missing");
    assert_state(missing, Failed);
    assert_eq!(missing.attempts, 1, "attempts of run-missing");
    let error = missing.error.clone().unwrap_or_default();
    assert!(error.contains("weir-no-such-command"), "error does not name the command: {error}");
    let run_error = run.error.clone().unwrap_or_default();
    assert!(run_error.contains("weir-no-such-command"), "run error: {run_error}");

    assert_not_run(&tasks, "after-missing");
    assert_state(task(&tasks, "beside-missing"), Succeeded);
    assert_store_final(&run, &tasks);
}

/// Hand-written IR: a container that writes `abc` to its NUMBER_INTEGER output file.
const BAD_NUMBER: &str = r#"
pipelineInfo:
  name: bad-number
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  dag:
    tasks:
      bad-number:
        taskInfo: {name: bad-number}
        cachingOptions: {}
        componentRef: {name: comp-bad-number}
components:
  comp-bad-number:
    executorLabel: exec-bad-number
    outputDefinitions:
      parameters:
        count: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-bad-number:
      container:
        image: alpine:3.20
        command: [sh, -c, 'printf abc > "$0"']
        args: ["{{$.outputs.parameters['count'].output_file}}"]
"#;

#[tokio::test]
async fn unparsable_output_fails_task() {
    let h = Harness::new();
    let (run, tasks) = h.run_request(request(load_text(BAD_NUMBER), &[])).await;

    assert_run_state(&run, Failed);
    let bad = task(&tasks, "bad-number");
    assert_state(bad, Failed);
    let error = bad.error.clone().unwrap_or_default();
    assert!(error.contains("count"), "error does not name the output: {error}");
    assert_store_final(&run, &tasks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_tasks_run_after_failure() {
    let h = Harness::new();
    let (run, tasks) = h.run("ignore_upstream_failure.yaml", &[]).await;

    assert_run_state(&run, Failed);
    assert_states(
        &tasks,
        &[
            ("produce", Succeeded),
            ("fail-with", Failed),
            ("report", Succeeded),
            ("report-2", Succeeded),
            ("report-3", Succeeded),
        ],
    );
    assert_output_param(task(&tasks, "produce"), "Output", json!("ok"));
    assert_output_param(task(&tasks, "report"), "Output", json!("got ok"));
    assert_output_param(task(&tasks, "report-2"), "Output", json!("got after"));
    assert_output_param(task(&tasks, "report-3"), "Output", json!("got upstream failed"));
    assert_not_run(&tasks, "report-4");
    assert_no_run_outputs(&run);
    assert_store_final(&run, &tasks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_tasks_without_failure() {
    let h = Harness::new();
    let (run, tasks) = h.run("ignore_upstream_failure.yaml", &[("code", json!(0))]).await;

    assert_run_state(&run, Succeeded);
    for task in &tasks {
        assert_state(task, Succeeded);
    }
    assert_output_param(task(&tasks, "fail-with"), "Output", json!("fine"));
    assert_output_param(task(&tasks, "report"), "Output", json!("got ok"));
    assert_output_param(task(&tasks, "report-2"), "Output", json!("got after"));
    assert_output_param(task(&tasks, "report-3"), "Output", json!("got fine"));
    assert_output_param(task(&tasks, "report-4"), "Output", json!("got fine"));
}

/// Runs `sleep.yaml` with a sleep no test waits for and checks that `sleep-for` timed out,
/// that its processes are gone and that `mark-2` never ran.
async fn assert_sleep_times_out(h: &Harness, pipeline: weir_spec::Pipeline) {
    let seconds = unique_seconds();
    let started = Instant::now();
    let (run, tasks) = h.run_request(request(pipeline, &[("seconds", json!(seconds))])).await;
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_secs(10), "the run took {elapsed:?} with a 1 s timeout");
    assert_run_state(&run, Failed);
    assert_state(task(&tasks, "mark"), Succeeded);
    let sleep = task(&tasks, "sleep-for");
    assert_state(sleep, Failed);
    let error = sleep.error.clone().unwrap_or_default();
    assert!(error.contains("timed out"), "error of sleep-for: {error}");
    assert_not_run(&tasks, "mark-2");
    assert_store_final(&run, &tasks);

    let stopped = wait_until(Duration::from_secs(2), || sleep_processes(seconds).is_empty()).await;
    assert!(
        stopped,
        "`sleep {seconds}` still runs after the timeout: {:?}",
        sleep_processes(seconds)
    );
}

#[tokio::test]
async fn engine_timeout_stops_task() {
    let config =
        EngineConfig { default_task_timeout: Some(Duration::from_secs(1)), ..test_config() };
    let h = Harness::with_config(config);
    assert_sleep_times_out(&h, load("sleep.yaml")).await;
}

#[tokio::test]
async fn platform_deadline_stops_task() {
    let h = Harness::new();
    let platform =
        "\n---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        \
                    exec-sleep-for:\n          activeDeadlineSeconds: '1'\n";
    let text = read(pipeline_path("sleep.yaml")) + platform;
    assert_sleep_times_out(&h, load_text(&text)).await;
}

/// A run whose tasks all failed or were skipped still records every task as final.
#[tokio::test]
async fn failed_run_leaves_store_final() {
    let h = Harness::new();
    let (run, tasks) = h.run_request(request(load_text(MISSING_COMMAND), &[])).await;
    let stored = h.engine.store().get_run(&run.run_id).await;
    let stored = stored.unwrap_or_else(|e| panic!("get_run failed: {e}"));

    assert_eq!(stored, run, "execute returned the stored run");
    assert_run_state(&stored, State::Failed);
    assert!(stored.started_at.is_some(), "run has no started_at");
    assert!(stored.finished_at >= stored.started_at, "run finished before it started");
    assert_store_final(&stored, &tasks);
}

#[tokio::test]
async fn unknown_run_id_is_error() {
    let h = Harness::new();
    let executed = h.engine.execute("no-such-run", Default::default(), None).await;
    match executed {
        Err(weir_engine::EngineError::Store(weir_store::StoreError::NotFound { id, .. })) => {
            assert_eq!(id, "no-such-run");
        }
        Err(other) => panic!("expected a not-found store error, got {other}"),
        Ok(run) => panic!("executing an unknown id returned run {}", run.run_id),
    }
}
