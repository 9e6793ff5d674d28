//! The scheduler of recurring runs, a task of the server process.
//!
//! It wakes once a second while a recurring run is enabled (and at once when one is created,
//! enabled, disabled or deleted), and for each enabled recurring run starts the runs whose
//! schedule time has passed:
//! - The schedule times due are those after the last one scheduled (or after the start time,
//!   or else the creation time), up to now. With `no_catchup` only the newest of them starts.
//!   Otherwise all start, oldest first, but at most [`MAX_CATCHUP_RUNS`] per wake-up: older ones
//!   are skipped with a warning, so a server that was down for a long time does not flood the
//!   machine.
//! - While the recurring run has `max_concurrency` runs active, a due time waits, and its run
//!   starts when one of them finishes, as in the KFP scheduled workflow controller (which also
//!   caps `max_concurrency` at 10, where Weir sets no cap).
//! - Each started run records `recurring_run_id` and `scheduled_at`, and the recurring run's
//!   `last_scheduled_at` is stored right after the run is created. A crash between the two
//!   writes is repaired at the next start, which takes the newest `scheduled_at` of the
//!   recurring run's runs, so no schedule time starts twice.

pub mod trigger;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use weir_store::{FilterValue, ListQuery, Op, Predicate, RecurringMode, RecurringRunRecord};

use crate::convert::spec;
use crate::error::ApiResult;
use crate::launch::{self, PipelineSource, RunSettings};
use crate::state::AppState;
use trigger::Trigger;

/// Most missed runs one recurring run starts at one wake-up when it catches up.
pub const MAX_CATCHUP_RUNS: usize = 10;

/// Most schedule times examined per recurring run and wake-up. When more are due, all the
/// examined ones are skipped and the next wake-up goes on from the newest of them.
const MAX_TIMES_EXAMINED: usize = 100_000;

/// Wake-up interval while a recurring run is enabled.
const TICK: Duration = Duration::from_secs(1);

/// Wake-up interval when no recurring run is enabled.
const IDLE_TICK: Duration = Duration::from_secs(60);

/// Runs the scheduler until `shutdown` is canceled.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut scheduler = Scheduler { state, reconciled: HashSet::new(), reported: HashMap::new() };
    tracing::debug!("Scheduler started.");
    loop {
        let any_enabled = scheduler.tick(Utc::now()).await;
        let sleep = if any_enabled { TICK } else { IDLE_TICK };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = scheduler.state.scheduler_wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    tracing::debug!("Scheduler stopped.");
}

struct Scheduler {
    state: AppState,
    /// Recurring runs whose last schedule time was checked against their runs in this process.
    reconciled: HashSet<String>,
    /// The last error reported per recurring run, so a broken one is logged once, not every tick.
    reported: HashMap<String, String>,
}

impl Scheduler {
    /// Starts the runs that are due at `now`. Returns whether any recurring run is enabled.
    async fn tick(&mut self, now: DateTime<Utc>) -> bool {
        let recurring_runs = match self.enabled_recurring_runs().await {
            Ok(runs) => runs,
            Err(error) => {
                self.report("", format!("failed to list recurring runs: {error}"));
                return true;
            }
        };
        for recurring in &recurring_runs {
            if let Err(message) = self.schedule(recurring, now).await {
                self.report(&recurring.recurring_run_id, message);
            } else {
                self.reported.remove(&recurring.recurring_run_id);
            }
        }
        !recurring_runs.is_empty()
    }

    fn report(&mut self, recurring_run_id: &str, message: String) {
        if self.reported.get(recurring_run_id) == Some(&message) {
            return;
        }
        tracing::error!(recurring_run.id = %recurring_run_id, error = %message,
            "Scheduler failed; it retries every second.");
        self.reported.insert(recurring_run_id.to_string(), message);
    }

    async fn enabled_recurring_runs(&self) -> ApiResult<Vec<RecurringRunRecord>> {
        let mut all = Vec::new();
        let mut query = ListQuery { page_size: weir_store::MAX_PAGE_SIZE, ..ListQuery::default() };
        // Bounded: 1,000 pages of 200 recurring runs.
        for _ in 0..1000 {
            let page = self.state.store.list_recurring_runs(None, &query).await?;
            all.extend(page.items.into_iter().filter(|r| r.mode == RecurringMode::Enable));
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => break,
            }
        }
        Ok(all)
    }

    async fn schedule(
        &mut self,
        recurring: &RecurringRunRecord,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let id = &recurring.recurring_run_id;
        let trigger = Trigger::from_json(&recurring.trigger)
            .map_err(|e| format!("the stored trigger is invalid: {e}"))?;
        let mut last = match recurring.last_scheduled_at {
            Some(last) => last,
            None => trigger.first_base(recurring.created_at),
        };
        if !self.reconciled.contains(id) {
            if let Some(newest) = self.newest_scheduled_run(id).await? {
                if newest > last {
                    tracing::info!(recurring_run.id = %id, scheduled_at = %newest,
                        "A run of this schedule time exists; continuing after it.");
                    self.persist(id, newest).await?;
                    last = newest;
                }
            }
            self.reconciled.insert(id.clone());
        }

        let (due, complete) = due_times(&trigger, last, now);
        let keep = if recurring.no_catchup { 1 } else { MAX_CATCHUP_RUNS };
        let skip = if complete { due.len().saturating_sub(keep) } else { due.len() };
        if skip > 0 {
            // Storing the newest skipped time makes sure no skipped time starts later.
            self.persist(id, due[skip - 1]).await?;
            if recurring.no_catchup {
                tracing::debug!(recurring_run.id = %id, skipped = skip,
                    "Skipped missed schedule times because catch-up is off.");
            } else {
                tracing::warn!(recurring_run.id = %id, skipped = skip, max = MAX_CATCHUP_RUNS,
                    "Skipped missed schedule times beyond the catch-up limit.");
            }
        }

        for &scheduled_at in &due[skip..] {
            let active = self
                .state
                .store
                .count_active_runs_of_recurring(id)
                .await
                .map_err(|e| format!("failed to count active runs: {e}"))?;
            let max = recurring.max_concurrency.max(1);
            if active >= max as u64 {
                tracing::debug!(recurring_run.id = %id, active, max,
                    "Schedule time waits for an active run to finish.");
                break;
            }
            self.start_run(recurring, scheduled_at).await?;
            self.persist(id, scheduled_at).await?;
        }
        Ok(())
    }

    /// Returns the newest `scheduled_at` of the runs this recurring run started.
    async fn newest_scheduled_run(&self, id: &str) -> Result<Option<DateTime<Utc>>, String> {
        let query = ListQuery {
            predicates: vec![Predicate {
                field: "recurring_run_id".to_string(),
                op: Op::Equals,
                value: FilterValue::Text(id.to_string()),
            }],
            sort_field: Some("created_at".to_string()),
            descending: true,
            page_size: 1,
            ..ListQuery::default()
        };
        let page = self
            .state
            .store
            .list_runs_page(None, &query, false)
            .await
            .map_err(|e| format!("failed to read the newest run of the recurring run: {e}"))?;
        Ok(page.items.first().and_then(|run| run.scheduled_at))
    }

    async fn persist(&self, id: &str, scheduled_at: DateTime<Utc>) -> Result<(), String> {
        self.state
            .store
            .set_recurring_run_last_scheduled(id, scheduled_at)
            .await
            .map_err(|e| format!("failed to store the last schedule time: {e}"))
    }

    async fn start_run(
        &self,
        recurring: &RecurringRunRecord,
        scheduled_at: DateTime<Utc>,
    ) -> Result<(), String> {
        let id = &recurring.recurring_run_id;
        let store = self.state.store.as_ref();
        let resolved = match (&recurring.pipeline_spec, &recurring.pipeline_version_id) {
            (Some(stored), _) => {
                let origin = format!("pipeline spec of recurring run {id}");
                let pipeline = spec::load_stored(stored, &origin).map_err(|e| e.to_string())?;
                launch::ResolvedPipeline { pipeline, version: None }
            }
            (None, Some(version_id)) => {
                let source = PipelineSource::Version { pipeline_id: "", version_id };
                launch::resolve_pipeline(store, source).await.map_err(|e| e.to_string())?
            }
            (None, None) => return Err("the recurring run has no pipeline".to_string()),
        };
        let experiment_id =
            launch::experiment_for_run(store, recurring.experiment_id.as_deref().unwrap_or(""))
                .await
                .map_err(|e| e.to_string())?;
        let arguments = match recurring.runtime_config.get("parameters") {
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Default::default(),
        };
        let settings = RunSettings {
            name: Some(format!(
                "{}-{}",
                recurring.display_name,
                scheduled_at.format("%Y%m%d%H%M%S")
            )),
            description: recurring.description.clone(),
            arguments,
            experiment_id: Some(experiment_id),
            recurring_run_id: Some(id.clone()),
            scheduled_at: Some(scheduled_at),
        };
        let run =
            launch::launch(&self.state, resolved, settings).await.map_err(|e| e.to_string())?;
        tracing::info!(recurring_run.id = %id, run.id = %run.run_id, scheduled_at = %scheduled_at,
            "Scheduled run started.");
        Ok(())
    }
}

/// Returns the schedule times after `last` up to `now`, oldest first, and whether that is all
/// of them: false when more than [`MAX_TIMES_EXAMINED`] are due.
fn due_times(
    trigger: &Trigger,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<DateTime<Utc>>, bool) {
    let mut due = Vec::new();
    let mut cursor = last;
    while let Some(next) = trigger.next_after(cursor) {
        if next > now {
            break;
        }
        if due.len() == MAX_TIMES_EXAMINED {
            return (due, false);
        }
        due.push(next);
        cursor = next;
    }
    (due, true)
}
