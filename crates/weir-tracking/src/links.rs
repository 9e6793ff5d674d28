//! Links between Weir runs and tracking runs. A task's `mlflow` client tags each run it starts
//! with the Weir run and task ids (see `weir_engine::tracking_env`). These queries follow the
//! tags back: from a Weir run to the tracking runs its tasks made and the model versions
//! registered from them.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::{Tracking, TAG_WEIR_RUN_ID, TAG_WEIR_TASK_ID, TAG_WEIR_TASK_NAME, TAG_WEIR_TASK_PATH};

/// A tracking run made by a task of a Weir run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedRun {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub status: String,
    /// The Weir task id from the run's `weir.task_id` tag.
    pub task_id: String,
    /// The task name from the run's `weir.task_name` tag.
    pub task_name: String,
    /// The task path from the run's `weir.task_path` tag; loop iterations differ in it.
    pub task_path: String,
}

/// A registered model version made from a tracking run of a Weir run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedModelVersion {
    pub name: String,
    pub version: String,
    /// The tracking run the version was made from.
    pub run_id: String,
}

impl Tracking {
    /// Returns the tracking runs tagged with `weir_run_id`, oldest first. Deleted runs are
    /// left out.
    pub async fn runs_of_weir_run(&self, weir_run_id: &str) -> Result<Vec<LinkedRun>> {
        let weir_run_id = weir_run_id.to_owned();
        self.db
            .read(move |tx| {
                let mut statement = tx.prepare_cached(
                    "SELECT r.run_id, r.experiment_id, r.name, r.status,
                            COALESCE(task.value, ''), COALESCE(task_name.value, ''),
                            COALESCE(task_path.value, '')
                     FROM tracking_run_tags link
                     JOIN tracking_runs r ON r.run_key = link.run_key
                     LEFT JOIN tracking_run_tags task
                         ON task.run_key = r.run_key AND task.key = ?2
                     LEFT JOIN tracking_run_tags task_name
                         ON task_name.run_key = r.run_key AND task_name.key = ?3
                     LEFT JOIN tracking_run_tags task_path
                         ON task_path.run_key = r.run_key AND task_path.key = ?5
                     WHERE link.key = ?1 AND link.value = ?4 AND r.lifecycle_stage = 'active'
                     ORDER BY r.start_time, r.run_key",
                )?;
                let rows = statement.query_map(
                    params![
                        TAG_WEIR_RUN_ID,
                        TAG_WEIR_TASK_ID,
                        TAG_WEIR_TASK_NAME,
                        weir_run_id,
                        TAG_WEIR_TASK_PATH
                    ],
                    |row| {
                        Ok(LinkedRun {
                            run_id: row.get(0)?,
                            experiment_id: row.get::<_, i64>(1)?.to_string(),
                            run_name: row.get(2)?,
                            status: row.get(3)?,
                            task_id: row.get(4)?,
                            task_name: row.get(5)?,
                            task_path: row.get(6)?,
                        })
                    },
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    /// Returns the registered model versions a Weir run made, in the order they were created.
    ///
    /// A version tagged `weir.run_id` belongs to that run. A version without the tag belongs
    /// to the Weir run that tagged its tracking run. The tag wins because a tracking run can
    /// outlive its Weir run: when a later Weir run reuses a cached training task, it registers
    /// a new version from the old tracking run.
    pub async fn model_versions_of_weir_run(
        &self,
        weir_run_id: &str,
    ) -> Result<Vec<LinkedModelVersion>> {
        let weir_run_id = weir_run_id.to_owned();
        self.db
            .read(move |tx| {
                let mut statement = tx.prepare_cached(
                    "SELECT m.name, v.version, COALESCE(v.run_id, '')
                     FROM registry_model_versions v
                     JOIN registry_models m ON m.model_key = v.model_key
                     LEFT JOIN registry_version_tags own
                         ON own.version_key = v.version_key AND own.key = ?1
                     WHERE own.value = ?2
                        OR (own.value IS NULL AND v.run_id IN (
                                SELECT r.run_id FROM tracking_run_tags link
                                JOIN tracking_runs r ON r.run_key = link.run_key
                                WHERE link.key = ?1 AND link.value = ?2))
                     ORDER BY v.creation_time, v.version_key",
                )?;
                let rows = statement.query_map(params![TAG_WEIR_RUN_ID, weir_run_id], |row| {
                    Ok(LinkedModelVersion {
                        name: row.get(0)?,
                        version: row.get::<_, i64>(1)?.to_string(),
                        run_id: row.get(2)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    /// Ends the tracking runs of a finished Weir run that are still `RUNNING`: no task process
    /// of the Weir run is left to end them, so their tasks were killed, timed out or lost to a
    /// server restart. A run whose task is in `failed_task_ids` becomes `FAILED`, any other
    /// `KILLED`, with the current time as end time. Returns how many runs were ended.
    pub async fn end_open_runs_of_weir_run(
        &self,
        weir_run_id: &str,
        failed_task_ids: Vec<String>,
    ) -> Result<usize> {
        let weir_run_id = weir_run_id.to_owned();
        let failed = serde_json::to_string(&failed_task_ids).unwrap_or_else(|_| "[]".into());
        self.db
            .write(move |tx| {
                let ended = tx.execute(
                    "UPDATE tracking_runs
                     SET status = CASE WHEN EXISTS (
                             SELECT 1 FROM tracking_run_tags task
                             WHERE task.run_key = tracking_runs.run_key AND task.key = ?2
                               AND task.value IN (SELECT value FROM json_each(?3)))
                         THEN 'FAILED' ELSE 'KILLED' END,
                         end_time = ?4
                     WHERE status = 'RUNNING'
                       AND run_key IN (SELECT run_key FROM tracking_run_tags
                                       WHERE key = ?1 AND value = ?5)",
                    params![
                        TAG_WEIR_RUN_ID,
                        TAG_WEIR_TASK_ID,
                        failed,
                        crate::now_ms(),
                        weir_run_id
                    ],
                )?;
                Ok(ended)
            })
            .await
    }
}
