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

/// Longest a canceled run may take to end once the cancel is issued.
const CANCEL_DEADLINE: Duration = Duration::from_secs(10);

/// Waits for the event that `path` entered `state`, returning every event seen so far.
async fn wait_for_event(
    events: &mut UnboundedReceiver<TaskEvent>,
    path: &str,
    state: State,
) -> Vec<TaskEvent> {
    let mut seen = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = events.recv().await {
            let done = event.path == path && event.state == state;
            seen.push(event);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(waited, Ok(true), "no event for {path:?} entering {state}; saw {seen:?}");
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

    wait_for_event(&mut events, "sleep-for", State::Running).await;
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
    let gone = wait_until(Duration::from_secs(2), || sleep_processes(seconds).is_empty()).await;
    assert!(gone, "`sleep {seconds}` still runs: {:?}", sleep_processes(seconds));

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

/// An engine over the same database, standing in for another `weir` process.
fn second_engine(h: &Harness) -> Engine {
    let store = match SqliteStore::open(&h.dir.path().join("weir.db")) {
        Ok(store) => store,
        Err(e) => panic!("failed to open the store a second time: {e}"),
    };
    let executor = weir_executor::local::LocalExecutor::new(Default::default());
    let artifacts = weir_artifacts::LocalArtifactStore::new(h.dir.path().join("artifacts"));
    Engine::new(Arc::new(store), Arc::new(executor), artifacts, test_config())
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

/// A run canceled before it starts is final at once, and executing it later runs nothing.
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

    let (run, tasks) = h.execute(&run.run_id, CancellationToken::new(), None).await;
    assert_run_state(&run, State::Canceled);
    assert_not_run(&tasks, "mark");
    assert_not_run(&tasks, "sleep-for");
    assert_not_run(&tasks, "mark-2");
}
