//! Retry policies: a task that fails on its first attempts (`retry.yaml`) and a hand-written
//! always-failing task whose backoff delays are measured.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use weir_store::State;

/// Runs `retry.yaml` with a fresh marker folder and returns the run, the `flaky` task and the
/// number of attempts the component logged.
async fn run_flaky(
    fail_times: Option<i64>,
) -> (weir_store::RunRecord, weir_store::TaskRecord, usize) {
    let h = Harness::new();
    let marker_dir = h.scratch("markers");
    let mut arguments = vec![("marker_dir", json!(marker_dir.display().to_string()))];
    if let Some(times) = fail_times {
        arguments.push(("fail_times", json!(times)));
    }
    let (run, tasks) = h.run("retry.yaml", &arguments).await;
    let logged = read(marker_dir.join("attempts")).lines().count();
    (run, task(&tasks, "flaky").clone(), logged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn succeeds_on_second_attempt() {
    let (run, flaky, logged) = run_flaky(None).await;

    assert_run_state(&run, State::Succeeded);
    assert_state(&flaky, State::Succeeded);
    assert_eq!(flaky.attempts, 2, "attempts of flaky");
    assert_eq!(logged, 2, "attempts the component logged");
    assert_output_param(&flaky, "Output", json!(2));
    assert_run_outputs(&run, &[("Output", json!(2))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_after_all_attempts() {
    let (run, flaky, logged) = run_flaky(Some(3)).await;

    assert_run_state(&run, State::Failed);
    assert_state(&flaky, State::Failed);
    assert_eq!(flaky.attempts, 3, "attempts of flaky");
    assert_eq!(logged, 3, "attempts the component logged");
    assert_no_run_outputs(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_attempt_success_not_retried() {
    let (run, flaky, logged) = run_flaky(Some(0)).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(flaky.attempts, 1, "attempts of flaky");
    assert_eq!(logged, 1, "attempts the component logged");
    assert_output_param(&flaky, "Output", json!(1));
}

/// Hand-written IR: one container task that logs each attempt to `log_path` and exits 1, with
/// 2 retries and a backoff of 0.2 s doubled each time.
const ALWAYS_FAILS: &str = r#"
pipelineInfo:
  name: always-fails
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      log_path: {parameterType: STRING}
  dag:
    tasks:
      give-up:
        taskInfo: {name: give-up}
        cachingOptions: {}
        componentRef: {name: comp-give-up}
        inputs:
          parameters:
            log_path: {componentInputParameter: log_path}
        retryPolicy:
          maxRetryCount: 2
          backoffDuration: 0.2s
          backoffFactor: 2.0
          backoffMaxDuration: 3600s
components:
  comp-give-up:
    executorLabel: exec-give-up
    inputDefinitions:
      parameters:
        log_path: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-give-up:
      container:
        image: alpine:3.20
        command: [sh, -c, 'echo attempt >> "$0"; exit 1']
        args: ["{{$.inputs.parameters['log_path']}}"]
"#;

#[tokio::test]
async fn backoff_delays_between_attempts() {
    let h = Harness::new();
    let log_path = h.scratch("attempts.log");
    let arguments = [("log_path", json!(log_path.display().to_string()))];
    let (run, tasks) = h.run_request(request(load_text(ALWAYS_FAILS), &arguments)).await;

    assert_run_state(&run, State::Failed);
    let give_up = task(&tasks, "give-up");
    assert_state(give_up, State::Failed);
    assert_eq!(give_up.attempts, 3, "attempts of give-up");
    assert_eq!(read(&log_path).lines().count(), 3, "attempts the command logged");

    let (Some(started), Some(finished)) = (give_up.started_at, give_up.finished_at) else {
        panic!("give-up lacks a start or finish time")
    };
    let elapsed = (finished - started).to_std().unwrap_or_default();
    // Backoff 0.2 s before the second attempt and 0.4 s before the third.
    assert!(elapsed >= Duration::from_millis(600), "three attempts took only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "three attempts took {elapsed:?}");
}
