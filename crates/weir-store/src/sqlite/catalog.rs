//! [`CatalogStore`] for [`SqliteStore`]: each method runs the SQL of one table module, and the
//! methods that change several rows run it in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{experiments, pipelines, recurring, run_catalog, SqliteStore};
use crate::{
    timestamp_now, CatalogStore, ExperimentRecord, ListQuery, NewExperiment, NewPipeline,
    NewPipelineVersion, Page, PipelineRecord, PipelineVersionRecord, RecurringMode,
    RecurringRunRecord, Result, RunRecord, State, StorageState,
};

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn create_experiment(&self, experiment: &NewExperiment) -> Result<ExperimentRecord> {
        self.with_conn(|conn| experiments::create_experiment(conn, experiment, timestamp_now()))
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<ExperimentRecord> {
        self.with_conn(|conn| experiments::get_experiment(conn, experiment_id))
    }

    async fn get_experiment_by_name(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ExperimentRecord> {
        self.with_conn(|conn| experiments::get_experiment_by_name(conn, namespace, name))
    }

    async fn list_experiments(&self, query: &ListQuery) -> Result<Page<ExperimentRecord>> {
        self.with_conn(|conn| experiments::list_experiments(conn, query))
    }

    async fn set_experiment_storage_state(
        &self,
        experiment_id: &str,
        state: StorageState,
    ) -> Result<()> {
        self.with_transaction(|conn| {
            experiments::set_experiment_storage_state(conn, experiment_id, state, timestamp_now())
        })
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.with_conn(|conn| experiments::delete_experiment(conn, experiment_id))
    }

    async fn create_pipeline(
        &self,
        pipeline: &NewPipeline,
        version: Option<&NewPipelineVersion>,
    ) -> Result<(PipelineRecord, Option<PipelineVersionRecord>)> {
        self.with_transaction(|conn| {
            pipelines::create_pipeline(conn, pipeline, version, timestamp_now())
        })
    }

    async fn get_pipeline(&self, pipeline_id: &str) -> Result<PipelineRecord> {
        self.with_conn(|conn| pipelines::get_pipeline(conn, pipeline_id))
    }

    async fn get_pipeline_by_name(&self, namespace: &str, name: &str) -> Result<PipelineRecord> {
        self.with_conn(|conn| pipelines::get_pipeline_by_name(conn, namespace, name))
    }

    async fn list_pipelines(&self, query: &ListQuery) -> Result<Page<PipelineRecord>> {
        self.with_conn(|conn| pipelines::list_pipelines(conn, query))
    }

    async fn update_pipeline(
        &self,
        pipeline_id: &str,
        display_name: Option<&str>,
        description: Option<&str>,
    ) -> Result<PipelineRecord> {
        self.with_conn(|conn| {
            pipelines::update_pipeline(conn, pipeline_id, display_name, description)
        })
    }

    async fn delete_pipeline(&self, pipeline_id: &str, cascade: bool) -> Result<()> {
        self.with_transaction(|conn| pipelines::delete_pipeline(conn, pipeline_id, cascade))
    }

    async fn create_pipeline_version(
        &self,
        version: &NewPipelineVersion,
    ) -> Result<PipelineVersionRecord> {
        self.with_conn(|conn| pipelines::create_pipeline_version(conn, version, timestamp_now()))
    }

    async fn get_pipeline_version(&self, version_id: &str) -> Result<PipelineVersionRecord> {
        self.with_conn(|conn| pipelines::get_pipeline_version(conn, version_id))
    }

    async fn list_pipeline_versions(
        &self,
        pipeline_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PipelineVersionRecord>> {
        self.with_conn(|conn| pipelines::list_pipeline_versions(conn, pipeline_id, query))
    }

    async fn update_pipeline_version(
        &self,
        version_id: &str,
        display_name: Option<&str>,
        description: Option<&str>,
    ) -> Result<PipelineVersionRecord> {
        self.with_conn(|conn| {
            pipelines::update_pipeline_version(conn, version_id, display_name, description)
        })
    }

    async fn delete_pipeline_version(&self, version_id: &str) -> Result<()> {
        self.with_conn(|conn| pipelines::delete_pipeline_version(conn, version_id))
    }

    async fn list_runs_page(
        &self,
        experiment_id: Option<&str>,
        query: &ListQuery,
        include_spec: bool,
    ) -> Result<Page<RunRecord>> {
        self.with_conn(|conn| run_catalog::list_runs_page(conn, experiment_id, query, include_spec))
    }

    async fn set_run_storage_state(&self, run_id: &str, state: StorageState) -> Result<()> {
        self.with_conn(|conn| run_catalog::set_run_storage_state(conn, run_id, state))
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.with_conn(|conn| run_catalog::delete_run(conn, run_id))
    }

    async fn list_runs_in_states(&self, states: &[State]) -> Result<Vec<RunRecord>> {
        self.with_conn(|conn| run_catalog::list_runs_in_states(conn, states))
    }

    async fn count_active_runs_of_recurring(&self, recurring_run_id: &str) -> Result<u64> {
        self.with_conn(|conn| run_catalog::count_active_runs_of_recurring(conn, recurring_run_id))
    }

    async fn create_recurring_run(&self, run: &RecurringRunRecord) -> Result<RecurringRunRecord> {
        self.with_conn(|conn| recurring::create_recurring_run(conn, run, timestamp_now()))
    }

    async fn get_recurring_run(&self, recurring_run_id: &str) -> Result<RecurringRunRecord> {
        self.with_conn(|conn| recurring::get_recurring_run(conn, recurring_run_id))
    }

    async fn list_recurring_runs(
        &self,
        experiment_id: Option<&str>,
        query: &ListQuery,
    ) -> Result<Page<RecurringRunRecord>> {
        self.with_conn(|conn| recurring::list_recurring_runs(conn, experiment_id, query))
    }

    async fn set_recurring_run_mode(
        &self,
        recurring_run_id: &str,
        mode: RecurringMode,
    ) -> Result<()> {
        self.with_conn(|conn| {
            recurring::set_recurring_run_mode(conn, recurring_run_id, mode, timestamp_now())
        })
    }

    async fn set_recurring_run_last_scheduled(
        &self,
        recurring_run_id: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<()> {
        self.with_conn(|conn| {
            recurring::set_recurring_run_last_scheduled(conn, recurring_run_id, scheduled_at)
        })
    }

    async fn delete_recurring_run(&self, recurring_run_id: &str) -> Result<()> {
        self.with_conn(|conn| recurring::delete_recurring_run(conn, recurring_run_id))
    }
}
