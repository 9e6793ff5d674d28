//! Cancellation of `sleep.yaml` while its long task runs: through the run's
//! `CancellationToken`, and through a cancel request written to the store by another engine
//! (as `weir cancel` in another process would). Each test checks the run and task states and
//! that the sleep process is gone.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_engine::{Engine, EngineError, TaskEvent};
use weir_store::sqlite::SqliteStore;
use weir_store::{RunRecord, State, TaskRecord};

/// Maximum time a canceled run may take to end after the cancel.
const CANCEL_DEADLINE: Duration = Duration::from_secs(10);

/// Waits until every task in `paths` has entered `state`, and returns the events seen so far.
async fn wait_for_events(
    events: &mut UnboundedReceiver<TaskEvent>,
    paths: &[&str],
    state: State,
) -> Vec<TaskEvent> {
    let mut seen: Vec<TaskEvent> = Vec::new();
    let reached = |seen: &[TaskEvent], path: &str| {
        seen.iter().any(|event| event.path == path && event.state == state)
    };
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = events.recv().await {
            seen.push(event);
            if paths.iter().all(|path| reached(&seen, path)) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(waited, Ok(true), "not all of {paths:?} entered {state}; saw {seen:?}");
    seen
}

/// A run of `sleep.yaml` executing in the background.
struct SleepRun {
    seconds: u64,
    run_id: String,
    cancel: CancellationToken,
    events: UnboundedReceiver<TaskEvent>,
    handle: JoinHandle<Result<RunRecord, EngineError>>,
}

/// Starts `sleep.yaml` and returns once its sleep process runs.
async fn start_sleep(h: &Harness) -> SleepRun {
    let seconds = unique_seconds();
    let run = match h.submit("sleep.yaml", &[("seconds", json!(seconds))]).await {
        Ok(run) => run,
        Err(e) => panic!("submit failed: {e}"),
    };
    let (sender, mut events) = unbounded_channel();
    let cancel = CancellationToken::new();
    let engine = h.engine.clone();
    let (run_id, token) = (run.run_id.clone(), cancel.clone());
    let handle = tokio::spawn(async move { engine.execute(&run_id, token, Some(sender)).await });

    wait_for_events(&mut events, &["sleep-for"], State::Running).await;
    let started =
        wait_until(Duration::from_secs(10), || !sleep_processes(seconds).is_empty()).await;
    assert!(started, "sleep-for is RUNNING but no `sleep {seconds}` process appeared");
    SleepRun { seconds, run_id: run.run_id, cancel, events, handle }
}

/// Waits for the canceled run to end and checks the outcome `sleep.py` documents.
async fn assert_canceled(h: &Harness, mut sleep: SleepRun, cancel_issued: Instant) {
    let joined = tokio::time::timeout(CANCEL_DEADLINE, &mut sleep.handle).await;
    let run = match joined {
        Ok(Ok(Ok(run))) => run,
        Ok(Ok(Err(e))) => panic!("execute failed: {e}"),
        Ok(Err(e)) => panic!("execute panicked: {e}"),
        Err(_) => {
            sleep.handle.abort();
            panic!("the run did not end within {CANCEL_DEADLINE:?} of the cancel")
        }
    };
    let elapsed = cancel_issued.elapsed();
    assert!(elapsed < Duration::from_secs(5), "the run took {elapsed:?} to stop after the cancel");

    let tasks: Vec<TaskRecord> = h.tasks(&sleep.run_id).await;
    assert_run_state(&run, State::Canceled);
    assert_state(task(&tasks, "mark"), State::Succeeded);
    assert_output_param(task(&tasks, "mark"), "out", json!("before"));
    assert_state(task(&tasks, "sleep-for"), State::Canceled);
    assert_not_run(&tasks, "mark-2");
    assert_no_run_outputs(&run);
    assert_store_final(&run, &tasks);

    let seconds = sleep.seconds;
    let stopped = wait_until(Duration::from_secs(2), || sleep_processes(seconds).is_empty()).await;
    assert!(stopped, "`sleep {seconds}` still runs: {:?}", sleep_processes(seconds));

    let mut last_state = None;
    while let Ok(event) = sleep.events.try_recv() {
        if event.path == "sleep-for" {
            last_state = Some(event.state);
        }
    }
    assert_eq!(last_state, Some(State::Canceled), "last event of sleep-for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_cancel_stops_sleep() {
    let h = Harness::new();
    let sleep = start_sleep(&h).await;

    let issued = Instant::now();
    sleep.cancel.cancel();
    assert_canceled(&h, sleep, issued).await;
}

/// Opens a second engine over the same database, standing in for another `weir` process.
fn second_engine(h: &Harness) -> Engine {
    let store = match SqliteStore::open(&h.dir.path().join("weir.db")) {
        Ok(store) => store,
        Err(e) => panic!("failed to open the store a second time: {e}"),
    };
    let artifacts = weir_artifacts::LocalArtifactStore::new(h.dir.path().join("artifacts"));
    Engine::new(Arc::new(store), shared_executor(), artifacts, test_config())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_request_stops_sleep() {
    let h = Harness::new();
    let sleep = start_sleep(&h).await;

    let issued = Instant::now();
    let requested = second_engine(&h).request_cancel(&sleep.run_id).await;
    let requested = requested.unwrap_or_else(|e| panic!("request_cancel failed: {e}"));
    assert_eq!(requested.state, State::Canceling, "state right after the cancel request");
    assert_canceled(&h, sleep, issued).await;
}

/// A run canceled before it starts is final at once and has no tasks.
#[tokio::test]
async fn pending_run_cancels_at_once() {
    let h = Harness::new();
    let run = match h.submit("sleep.yaml", &[("seconds", json!(1))]).await {
        Ok(run) => run,
        Err(e) => panic!("submit failed: {e}"),
    };
    let canceled = h.engine.request_cancel(&run.run_id).await;
    let canceled = canceled.unwrap_or_else(|e| panic!("request_cancel failed: {e}"));

    assert_run_state(&canceled, State::Canceled);
    assert!(canceled.finished_at.is_some(), "canceled run has no finished_at");
    assert!(h.tasks(&run.run_id).await.is_empty(), "a canceled pending run has tasks");
}

/// Hand-written IR: a ParallelFor over `items` with parallelism 2 whose body sleeps for
/// `seconds`.
const SLEEP_LOOP: &str = r#"
pipelineInfo:
  name: sleep-loop
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      items: {parameterType: LIST}
      seconds: {parameterType: NUMBER_INTEGER}
  dag:
    tasks:
      for-loop-1:
        taskInfo: {name: for-loop-1}
        componentRef: {name: comp-for-loop-1}
        inputs:
          parameters:
            pipelinechannel--items: {componentInputParameter: items}
            pipelinechannel--seconds: {componentInputParameter: seconds}
        parameterIterator:
          itemInput: pipelinechannel--items-loop-item
          items: {inputParameter: pipelinechannel--items}
        iteratorPolicy: {parallelismLimit: 2}
components:
  comp-for-loop-1:
    inputDefinitions:
      parameters:
        pipelinechannel--items: {parameterType: LIST}
        pipelinechannel--items-loop-item: {parameterType: NUMBER_INTEGER}
        pipelinechannel--seconds: {parameterType: NUMBER_INTEGER}
    dag:
      tasks:
        nap:
          taskInfo: {name: nap}
          cachingOptions: {}
          componentRef: {name: comp-nap}
          inputs:
            parameters:
              seconds: {componentInputParameter: pipelinechannel--seconds}
  comp-nap:
    executorLabel: exec-nap
    inputDefinitions:
      parameters:
        seconds: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-nap:
      container:
        image: alpine:3.20
        command: [sh, -c, 'sleep "$0"']
        args: ["{{$.inputs.parameters['seconds']}}"]
"#;

/// Canceling a loop stops its running iterations and starts no more of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_cancel_stops_iterations() {
    let h = Harness::new();
    let seconds = unique_seconds();
    let arguments = [("items", json!([0, 1, 2, 3, 4])), ("seconds", json!(seconds))];
    let run = match h.engine.submit(request(load_text(SLEEP_LOOP), &arguments)).await {
        Ok(run) => run,
        Err(e) => panic!("submit failed: {e}"),
    };
    let (sender, mut events) = unbounded_channel();
    let cancel = CancellationToken::new();
    let engine = h.engine.clone();
    let (run_id, token) = (run.run_id.clone(), cancel.clone());
    let handle = tokio::spawn(async move { engine.execute(&run_id, token, Some(sender)).await });

    let first_two = ["for-loop-1/iteration-0/nap", "for-loop-1/iteration-1/nap"];
    wait_for_events(&mut events, &first_two, State::Running).await;
    let spawned = wait_until(Duration::from_secs(10), || sleep_processes(seconds).len() >= 2).await;
    assert!(spawned, "the first two iterations started no `sleep {seconds}` processes");
    cancel.cancel();

    let joined = tokio::time::timeout(CANCEL_DEADLINE, handle).await;
    let Ok(Ok(Ok(run))) = joined else { panic!("the loop run did not end after the cancel") };
    let tasks = h.tasks(&run.run_id).await;
    assert_run_state(&run, State::Canceled);
    assert_state(task(&tasks, "for-loop-1"), State::Canceled);
    let started: Vec<&TaskRecord> =
        tasks.iter().filter(|t| t.path.ends_with("/nap") && t.attempts > 0).collect();
    assert_eq!(started.len(), 2, "naps started before the cancel (parallelism 2)");
    for nap in started {
        assert_state(nap, State::Canceled);
    }
    for index in 2..5 {
        assert_not_run(&tasks, &format!("for-loop-1/iteration-{index}/nap"));
    }
    assert_store_final(&run, &tasks);
    let stopped = wait_until(Duration::from_secs(2), || sleep_processes(seconds).is_empty()).await;
    assert!(stopped, "`sleep {seconds}` still runs: {:?}", sleep_processes(seconds));
}
