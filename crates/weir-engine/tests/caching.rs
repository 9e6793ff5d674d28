//! Task caching: a cached task reuses its earlier result without starting a process, and the
//! per-run, per-task and engine-wide switches each turn that off (`caching.yaml`, whose tasks
//! append one line per process to `log_path`). A cached result whose artifact file is gone is
//! not reused.

mod common;

use common::*;
use serde_json::json;
use weir_engine::EngineConfig;
use weir_store::{RunRecord, State, TaskRecord};

/// Runs `caching.yaml` with `value` and returns the run, its two tasks and the process log.
async fn run_counted(
    h: &Harness,
    value: &str,
    enable_caching: bool,
) -> (RunRecord, TaskRecord, TaskRecord, String) {
    let log_path = h.scratch("processes.log");
    let arguments = [("log_path", json!(log_path.display().to_string())), ("value", json!(value))];
    let mut request = request(load("caching.yaml"), &arguments);
    request.enable_caching = enable_caching;
    let (run, tasks) = h.run_request(request).await;
    assert_run_state(&run, State::Succeeded);
    assert_run_outputs(&run, &[("Output", json!(value))]);
    let cached = task(&tasks, "count-run").clone();
    let uncached = task(&tasks, "count-run-2").clone();
    (run, cached, uncached, read(&log_path))
}

fn assert_ran(task: &TaskRecord) {
    assert_state(task, State::Succeeded);
    assert!(!task.cached, "task {:?} came from the cache", task.path);
    assert_eq!(task.attempts, 1, "attempts of {:?}", task.path);
}

fn assert_from_cache(task: &TaskRecord) {
    assert_state(task, State::Succeeded);
    assert!(task.cached, "task {:?} ran instead of coming from the cache", task.path);
    assert_eq!(task.attempts, 0, "attempts of cached task {:?}", task.path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_reuses_cached_task() {
    let h = Harness::new();

    let (_, cached, uncached, log) = run_counted(&h, "v1", true).await;
    assert_ran(&cached);
    assert_ran(&uncached);
    assert_eq!(log, "cached v1\nuncached v1\n");

    let (_, cached, uncached, log) = run_counted(&h, "v1", true).await;
    assert_from_cache(&cached);
    assert_output_param(&cached, "Output", json!("v1"));
    // count-run-2 disables caching, so it runs every time.
    assert_ran(&uncached);
    assert_eq!(log, "cached v1\nuncached v1\nuncached v1\n");

    let (_, cached, uncached, log) = run_counted(&h, "v2", true).await;
    assert_ran(&cached);
    assert_ran(&uncached);
    assert_output_param(&cached, "Output", json!("v2"));
    assert_eq!(log, "cached v1\nuncached v1\nuncached v1\ncached v2\nuncached v2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_switch_disables_cache() {
    let h = Harness::new();
    run_counted(&h, "v1", true).await;

    let (run, cached, uncached, log) = run_counted(&h, "v1", false).await;
    assert!(!run.enable_caching, "stored enable_caching of the run");
    assert_ran(&cached);
    assert_ran(&uncached);
    assert_eq!(log.lines().count(), 4, "process log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_switch_disables_cache() {
    let h = Harness::with_config(EngineConfig { caching: false, ..test_config() });
    run_counted(&h, "v1", true).await;

    let (_, cached, uncached, log) = run_counted(&h, "v1", true).await;
    assert_ran(&cached);
    assert_ran(&uncached);
    assert_eq!(log, "cached v1\nuncached v1\ncached v1\nuncached v1\n");
}

/// Hand-written IR: one cached container task that appends `ran` to `log_path` and writes
/// `payload` to its Dataset output, which is also the pipeline output.
const CACHED_FILE: &str = r#"
pipelineInfo:
  name: cached-file
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      log_path: {parameterType: STRING}
  outputDefinitions:
    artifacts:
      data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}
  dag:
    outputs:
      artifacts:
        data:
          artifactSelectors:
          - {producerSubtask: write-file, outputArtifactKey: data}
    tasks:
      write-file:
        taskInfo: {name: write-file}
        cachingOptions: {enableCache: true}
        componentRef: {name: comp-write-file}
        inputs:
          parameters:
            log_path: {componentInputParameter: log_path}
components:
  comp-write-file:
    executorLabel: exec-write-file
    inputDefinitions:
      parameters:
        log_path: {parameterType: STRING}
    outputDefinitions:
      artifacts:
        data: {artifactType: {schemaTitle: system.Dataset, schemaVersion: 0.0.1}}
deploymentSpec:
  executors:
    exec-write-file:
      container:
        image: alpine:3.20
        command: [sh, -c, 'echo ran >> "$0"; printf payload > "$1"']
        args: ["{{$.inputs.parameters['log_path']}}", "{{$.outputs.artifacts['data'].path}}"]
"#;

#[tokio::test]
async fn missing_artifact_forces_rerun() {
    let h = Harness::new();
    let log_path = h.scratch("processes.log");
    let arguments = [("log_path", json!(log_path.display().to_string()))];
    let run_once = || h.run_request(request(load_text(CACHED_FILE), &arguments));

    let (first, tasks) = run_once().await;
    assert_run_state(&first, State::Succeeded);
    assert_ran(task(&tasks, "write-file"));
    let first_data = output_artifact(&first.outputs, "data", "the first run");
    assert_eq!(read_artifact(&first_data), "payload");

    let (second, tasks) = run_once().await;
    assert_run_state(&second, State::Succeeded);
    assert_from_cache(task(&tasks, "write-file"));
    let data = output_artifact(&second.outputs, "data", "the second run");
    assert_eq!(data.uri, first_data.uri, "a cached output keeps the first run's artifact");
    assert_eq!(read(&log_path), "ran\n", "processes after the second run");

    let path = weir_artifacts::local_path_for_uri(&data.uri);
    if let Err(e) = std::fs::remove_file(&path) {
        panic!("failed to remove {}: {e}", path.display());
    }
    let (third, tasks) = run_once().await;
    assert_run_state(&third, State::Succeeded);
    assert_ran(task(&tasks, "write-file"));
    assert_eq!(read(&log_path), "ran\nran\n", "processes after the third run");
    let data = output_artifact(&third.outputs, "data", "the third run");
    assert_ne!(data.uri, first_data.uri, "the third run wrote a new artifact");
    assert_eq!(read_artifact(&data), "payload");
}
