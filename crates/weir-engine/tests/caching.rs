//! Task caching: a cached task reuses its earlier result without starting a process, and the
//! per-run, per-task and engine-wide switches each turn that off (`caching.yaml`, whose tasks
//! append one line per process to `log_path`). A cached result whose artifact file is gone is
//! not reused, and one whose artifacts never had a file (`Metrics`, `ClassificationMetrics` in
//! `cached_metrics.yaml`) is.

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

/// Runs `cached_metrics.yaml` and returns the run, its `score` task and the process log.
async fn run_scored(h: &Harness) -> (RunRecord, TaskRecord, String) {
    let log_path = h.scratch("scored.log");
    let arguments = [("log_path", json!(log_path.display().to_string()))];
    let (run, tasks) = h.run_request(request(load("cached_metrics.yaml"), &arguments)).await;
    assert_run_state(&run, State::Succeeded);
    assert_run_outputs(&run, &[("Output", json!(1.5))]);
    assert_eq!(tasks.len(), 1, "tasks of the run");
    let score = task(&tasks, "score").clone();
    assert_output_param(&score, "Output", json!(1.5));
    (run, score, read(&log_path))
}

/// Regression: a task whose output artifacts are metadata-only has no file behind them, and the
/// cache used to require one, so the task ran every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_only_task_reused() {
    let h = Harness::new();
    let confusion_metadata = json!({"confusionMatrix": {
        "annotationSpecs": [{"displayName": "yes"}, {"displayName": "no"}],
        "rows": [{"row": [3, 1]}, {"row": [0, 4]}],
    }});

    let (_, first, log) = run_scored(&h).await;
    assert_ran(&first);
    assert_eq!(log, "scored 0.75\n");
    let metrics = output_artifact(&first.outputs, "metrics", "score");
    let confusion = output_artifact(&first.outputs, "confusion", "score");
    assert!(json_equal(&json!(metrics.metadata), &json!({"accuracy": 0.75})));
    assert!(json_equal(&json!(confusion.metadata), &confusion_metadata));
    for artifact in [&metrics, &confusion] {
        let path = weir_artifacts::local_path_for_uri(&artifact.uri);
        assert!(!path.exists(), "the executor wrote {}", path.display());
    }

    let (_, second, log) = run_scored(&h).await;
    assert_from_cache(&second);
    assert_eq!(log, "scored 0.75\n", "processes after the second run");
    let cached_metrics = output_artifact(&second.outputs, "metrics", "cached score");
    let cached_confusion = output_artifact(&second.outputs, "confusion", "cached score");
    assert_eq!(cached_metrics, metrics, "cached metrics artifact");
    assert_eq!(cached_confusion, confusion, "cached confusion artifact");
}

/// The example pipeline run twice: every cached task, `evaluate-model` with its `Metrics` and
/// `ClassificationMetrics` outputs among them, comes from the cache the second time, and
/// `register-model`, which disables caching, runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_pipeline_second_run_cached() {
    let h = Harness::new();
    let path = workspace_root().join("pipelines/train_pipeline.yaml");
    let pipeline = match weir_spec::load_file(&path) {
        Ok(pipeline) => pipeline,
        Err(e) => panic!("failed to load {}: {e}", path.display()),
    };
    // Two epochs keep the test short, and a zero threshold makes register-model always run.
    let arguments = [("epochs", json!(2)), ("accuracy_threshold", json!(0.0))];
    let cached_tasks = ["prepare-data", "train-model", "evaluate-model"];

    let (first, tasks) = h.run_request(request(pipeline.clone(), &arguments)).await;
    assert_run_state(&first, State::Succeeded);
    for path in cached_tasks.iter().chain(&["condition-1/register-model"]) {
        assert_ran(task(&tasks, path));
    }
    let accuracy = output_param(&first.outputs, "accuracy", "the first run").clone();

    let (second, tasks) = h.run_request(request(pipeline, &arguments)).await;
    assert_run_state(&second, State::Succeeded);
    for path in cached_tasks {
        assert_from_cache(task(&tasks, path));
    }
    assert_ran(task(&tasks, "condition-1/register-model"));
    assert_run_output_param(&second, "accuracy", accuracy);
}
