//! [`RunsManager`]: executes the runs the server creates, each as a task on the tokio runtime,
//! and keeps what is needed to stop them.
//!
//! At start it resumes the runs a previous server left `PENDING` or `RUNNING`. Executing a run
//! again re-runs only its tasks that did not succeed, so a resumed run keeps its finished work.
//! A run that cannot be executed is marked `FAILED` with the reason, and a run left `CANCELING`
//! is marked `CANCELED`.
//! At shutdown it aborts the run tasks, which stops their processes, and leaves the runs
//! `RUNNING` in the store so the next start resumes them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_engine::Engine;
use weir_store::{CatalogStore, RunRecord, State};

use crate::error::{ApiError, ApiResult};

/// How long deleting an active run waits for it to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

struct ActiveRun {
    /// Tells this execution apart from a later one of the same run.
    generation: u64,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

/// Executes runs and stops them on request.
#[derive(Clone)]
pub struct RunsManager {
    engine: Engine,
    store: Arc<dyn CatalogStore>,
    tracking: weir_tracking::TrackingState,
    active: Arc<Mutex<HashMap<String, ActiveRun>>>,
    generations: Arc<AtomicU64>,
}

impl RunsManager {
    pub fn new(
        engine: Engine,
        store: Arc<dyn CatalogStore>,
        tracking: weir_tracking::TrackingState,
    ) -> Self {
        RunsManager {
            engine,
            store,
            tracking,
            active: Arc::new(Mutex::new(HashMap::new())),
            generations: Arc::new(AtomicU64::new(0)),
        }
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, ActiveRun>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns whether a run is being executed by this server.
    pub fn is_active(&self, run_id: &str) -> bool {
        self.active().contains_key(run_id)
    }

    /// Starts executing a stored run in the background; does nothing if it is already running.
    pub fn start(&self, run_id: &str) {
        let mut active = self.active();
        if active.contains_key(run_id) {
            return;
        }
        let cancel = CancellationToken::new();
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let manager = self.clone();
        let id = run_id.to_string();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            manager.execute(&id, token).await;
            let mut active = manager.active();
            if active.get(&id).is_some_and(|run| run.generation == generation) {
                active.remove(&id);
            }
        });
        active.insert(run_id.to_string(), ActiveRun { generation, cancel, handle });
    }

    async fn execute(&self, run_id: &str, cancel: CancellationToken) {
        match self.engine.execute(run_id, cancel, None).await {
            Ok(run) => {
                tracing::debug!(run.id = %run_id, state = %run.state, "Run finished.");
                if run.state.is_final() {
                    end_open_tracking_runs(&self.engine, &self.tracking, run_id).await;
                }
            }
            Err(error) => {
                tracing::error!(run.id = %run_id, error = %error, "Run could not be executed.");
                let reason = format!("the server could not execute the run: {error}");
                self.fail_unless_final(run_id, &reason).await;
            }
        }
    }

    async fn fail_unless_final(&self, run_id: &str, reason: &str) {
        match self.store.get_run(run_id).await {
            Ok(run) if run.state.is_final() => {}
            Ok(_) => {
                if let Err(e) = self.store.set_run_state(run_id, State::Failed, Some(reason)).await
                {
                    tracing::error!(run.id = %run_id, error = %e, "Failed to mark the run FAILED.");
                }
            }
            Err(e) => tracing::error!(run.id = %run_id, error = %e, "Failed to read the run."),
        }
    }

    /// Resumes the runs a previous server process left unfinished. Returns how many resumed.
    pub async fn resume_unfinished(&self) -> usize {
        let states = [State::Pending, State::Running, State::Canceling];
        let runs = match self.store.list_runs_in_states(&states).await {
            Ok(runs) => runs,
            Err(error) => {
                tracing::error!(error = %error, "Failed to list unfinished runs; none resumed.");
                return 0;
            }
        };
        let mut resumed = 0;
        for run in runs {
            if self.is_active(&run.run_id) {
                continue;
            }
            if run.state == State::Canceling {
                let reason =
                    "run was canceled; the server stopped before the run finished stopping";
                if let Err(e) =
                    self.store.set_run_state(&run.run_id, State::Canceled, Some(reason)).await
                {
                    tracing::error!(run.id = %run.run_id, error = %e,
                        "Failed to mark the run CANCELED.");
                }
                continue;
            }
            tracing::info!(run.id = %run.run_id, run.name = %run.name, state = %run.state,
                "Resuming a run the previous server left unfinished.");
            self.start(&run.run_id);
            resumed += 1;
        }
        resumed
    }

    /// Asks a run to stop. Returns the run after the request.
    pub async fn terminate(&self, run_id: &str) -> ApiResult<RunRecord> {
        let run = self.store.get_run(run_id).await?;
        match run.state {
            State::Canceled | State::Canceling => return Ok(run),
            state if state.is_final() => {
                return Err(ApiError::FailedPrecondition(format!(
                    "run {run_id:?} cannot be terminated because it is already {state}"
                )))
            }
            _ => {}
        }
        let run = self.engine.request_cancel(run_id).await?;
        if let Some(active) = self.active().get(run_id) {
            active.cancel.cancel();
        }
        tracing::info!(run.id = %run_id, "Run termination requested.");
        Ok(run)
    }

    /// Executes a `FAILED` or `CANCELED` run again; tasks that succeeded are not run again.
    pub async fn retry(&self, run_id: &str) -> ApiResult<()> {
        let run = self.store.get_run(run_id).await?;
        if !matches!(run.state, State::Failed | State::Canceled) {
            return Err(ApiError::FailedPrecondition(format!(
                "run {run_id:?} is {}; only FAILED or CANCELED runs can be retried",
                run.state
            )));
        }
        if self.is_active(run_id) {
            return Err(ApiError::FailedPrecondition(format!(
                "run {run_id:?} is still stopping; retry it when it has stopped"
            )));
        }
        self.store.set_run_state(run_id, State::Pending, None).await?;
        tracing::info!(run.id = %run_id, "Retrying the run.");
        self.start(run_id);
        Ok(())
    }

    /// Stops an active run and waits until its task ends, so the run can be deleted.
    pub async fn stop_and_wait(&self, run_id: &str) -> ApiResult<()> {
        let handle = {
            let mut active = self.active();
            match active.remove(run_id) {
                Some(run) => {
                    run.cancel.cancel();
                    run.handle
                }
                None => return Ok(()),
            }
        };
        match tokio::time::timeout(STOP_TIMEOUT, handle).await {
            Ok(_) => Ok(()),
            Err(_) => Err(ApiError::Internal(format!(
                "run {run_id:?} did not stop within {} seconds; try again",
                STOP_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Aborts every run task and waits for them to end, which kills their processes. The runs
    /// stay `RUNNING` in the store, so the next server resumes them. Returns how many stopped.
    pub async fn shutdown(&self) -> usize {
        let runs: Vec<(String, ActiveRun)> = self.active().drain().collect();
        let count = runs.len();
        for (run_id, run) in runs {
            run.handle.abort();
            let _ = run.handle.await;
            tracing::info!(run.id = %run_id,
                "Run stopped by the server shutdown; it resumes at the next start.");
        }
        count
    }
}

/// Ends the tracking runs a finished Weir run's tasks left `RUNNING` (see
/// [`weir_tracking::Tracking::end_open_runs_of_weir_run`]); failures are logged, not returned.
pub async fn end_open_tracking_runs(
    engine: &Engine,
    tracking: &weir_tracking::Tracking,
    run_id: &str,
) {
    let failed = match engine.store().list_tasks(run_id).await {
        Ok(tasks) => tasks
            .into_iter()
            .filter(|task| task.state == State::Failed)
            .map(|task| task.task_id)
            .collect(),
        Err(error) => {
            tracing::warn!(run.id = %run_id, %error, "Could not read the tasks of a finished run.");
            return;
        }
    };
    match tracking.end_open_runs_of_weir_run(run_id, failed).await {
        Ok(0) => {}
        Ok(ended) => tracing::info!(run.id = %run_id, tracking_runs = ended,
            "Ended tracking runs that the run's tasks left running."),
        Err(error) => tracing::warn!(run.id = %run_id, %error,
            "Could not end the tracking runs the run's tasks left running."),
    }
}
