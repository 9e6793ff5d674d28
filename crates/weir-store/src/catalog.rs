//! Records and queries of the KFP API server: experiments, pipelines, pipeline versions,
//! recurring runs, and paged, filtered, sorted listings of them and of runs.
//!
//! [`CatalogStore`] extends [`Store`](crate::Store); field names in a [`ListQuery`] are the
//! KFP API's field names (`display_name`, `created_at`, `state`, ...), which each backend maps
//! to its own columns and rejects when a field cannot be filtered or sorted on.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Result, RunRecord, State, Store};

/// Rows per page when a [`ListQuery`] requests 0, as in the KFP API server.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Largest page. The KFP API server also lowers larger page sizes to 200 without an error.
pub const MAX_PAGE_SIZE: usize = 200;

/// Whether an experiment or run is archived (`StorageState` in the KFP API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageState {
    #[default]
    Available,
    Archived,
}

impl StorageState {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageState::Available => "AVAILABLE",
            StorageState::Archived => "ARCHIVED",
        }
    }
}

impl FromStr for StorageState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "AVAILABLE" => Ok(StorageState::Available),
            "ARCHIVED" => Ok(StorageState::Archived),
            other => Err(format!("unknown storage state {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewExperiment {
    pub experiment_id: String,
    pub namespace: String,
    pub display_name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRecord {
    pub experiment_id: String,
    pub namespace: String,
    pub display_name: String,
    pub description: String,
    pub storage_state: StorageState,
    pub created_at: DateTime<Utc>,
    /// Creation time of the experiment's newest run.
    pub last_run_created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPipeline {
    pub pipeline_id: String,
    pub namespace: String,
    /// Unique name within the namespace.
    pub name: String,
    pub display_name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord {
    pub pipeline_id: String,
    pub namespace: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPipelineVersion {
    pub pipeline_version_id: String,
    pub pipeline_id: String,
    /// Unique name within the pipeline.
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// `{"pipelineSpec": ..., "platformSpec": ...}` as the engine stores specs.
    pub pipeline_spec: Value,
    pub package_url: Option<String>,
    pub code_source_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineVersionRecord {
    pub pipeline_version_id: String,
    pub pipeline_id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub pipeline_spec: Value,
    pub package_url: Option<String>,
    pub code_source_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `RecurringRun.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecurringMode {
    #[default]
    Enable,
    Disable,
}

impl RecurringMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RecurringMode::Enable => "ENABLE",
            RecurringMode::Disable => "DISABLE",
        }
    }
}

impl FromStr for RecurringMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ENABLE" => Ok(RecurringMode::Enable),
            "DISABLE" => Ok(RecurringMode::Disable),
            other => Err(format!("unknown recurring run mode {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecurringRunRecord {
    pub recurring_run_id: String,
    pub namespace: String,
    pub display_name: String,
    pub description: String,
    pub experiment_id: Option<String>,
    /// Exactly one of `pipeline_version_id` and `pipeline_spec` is set.
    pub pipeline_version_id: Option<String>,
    pub pipeline_spec: Option<Value>,
    /// KFP `Trigger` JSON: `{"cron_schedule": {...}}` or `{"periodic_schedule": {...}}`.
    pub trigger: Value,
    /// KFP `RuntimeConfig` JSON (`parameters`, `pipeline_root`).
    pub runtime_config: Value,
    pub mode: RecurringMode,
    pub max_concurrency: i64,
    pub no_catchup: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Schedule time of the newest run this recurring run started.
    pub last_scheduled_at: Option<DateTime<Utc>>,
}

/// A filter predicate; `field` is a KFP API field name.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub field: String,
    pub op: Op,
    pub value: FilterValue,
}

/// `Predicate.Operation` of the KFP filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanEquals,
    LessThan,
    LessThanEquals,
    In,
    IsSubstring,
}

impl Op {
    /// Returns the KFP name of the operation (`EQUALS`, `IS_SUBSTRING`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equals => "EQUALS",
            Op::NotEquals => "NOT_EQUALS",
            Op::GreaterThan => "GREATER_THAN",
            Op::GreaterThanEquals => "GREATER_THAN_EQUALS",
            Op::LessThan => "LESS_THAN",
            Op::LessThanEquals => "LESS_THAN_EQUALS",
            Op::In => "IN",
            Op::IsSubstring => "IS_SUBSTRING",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Int(i64),
    Text(String),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    IntList(Vec<i64>),
    TextList(Vec<String>),
}

/// One page of a listing: which rows, in which order, from where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub namespace: Option<String>,
    pub predicates: Vec<Predicate>,
    /// KFP API field to sort on; `None` sorts by creation time.
    pub sort_field: Option<String>,
    pub descending: bool,
    /// Rows per page: 0 means [`DEFAULT_PAGE_SIZE`], and more than [`MAX_PAGE_SIZE`] means
    /// [`MAX_PAGE_SIZE`].
    pub page_size: usize,
    /// Token from the previous page's [`Page::next_page_token`].
    pub page_token: Option<String>,
}

impl ListQuery {
    /// Returns the maximum number of rows in a page of this query.
    pub fn effective_page_size(&self) -> usize {
        match self.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Set when more rows follow.
    pub next_page_token: Option<String>,
    /// Rows matching the predicates over all pages.
    pub total_size: u64,
}

/// The KFP API server's catalog, kept in the same database as runs and tasks.
#[async_trait]
pub trait CatalogStore: Store {
    async fn create_experiment(&self, experiment: &NewExperiment) -> Result<ExperimentRecord>;
    async fn get_experiment(&self, experiment_id: &str) -> Result<ExperimentRecord>;
    async fn get_experiment_by_name(&self, namespace: &str, name: &str)
        -> Result<ExperimentRecord>;
    async fn list_experiments(&self, query: &ListQuery) -> Result<Page<ExperimentRecord>>;
    /// Archiving also archives the experiment's runs and disables its recurring runs.
    async fn set_experiment_storage_state(
        &self,
        experiment_id: &str,
        state: StorageState,
    ) -> Result<()>;
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;

    /// Creates a pipeline, and its first version when given, in one transaction.
    async fn create_pipeline(
        &self,
        pipeline: &NewPipeline,
        version: Option<&NewPipelineVersion>,
    ) -> Result<(PipelineRecord, Option<PipelineVersionRecord>)>;
    async fn get_pipeline(&self, pipeline_id: &str) -> Result<PipelineRecord>;
    async fn get_pipeline_by_name(&self, namespace: &str, name: &str) -> Result<PipelineRecord>;
    async fn list_pipelines(&self, query: &ListQuery) -> Result<Page<PipelineRecord>>;
    async fn update_pipeline(
        &self,
        pipeline_id: &str,
        display_name: Option<&str>,
        description: Option<&str>,
    ) -> Result<PipelineRecord>;
    /// Without `cascade`, fails with `FailedPrecondition` while the pipeline has versions.
    async fn delete_pipeline(&self, pipeline_id: &str, cascade: bool) -> Result<()>;

    async fn create_pipeline_version(
        &self,
        version: &NewPipelineVersion,
    ) -> Result<PipelineVersionRecord>;
    async fn get_pipeline_version(&self, version_id: &str) -> Result<PipelineVersionRecord>;
    async fn list_pipeline_versions(
        &self,
        pipeline_id: &str,
        query: &ListQuery,
    ) -> Result<Page<PipelineVersionRecord>>;
    async fn update_pipeline_version(
        &self,
        version_id: &str,
        display_name: Option<&str>,
        description: Option<&str>,
    ) -> Result<PipelineVersionRecord>;
    async fn delete_pipeline_version(&self, version_id: &str) -> Result<()>;

    /// Lists runs; `experiment_id` restricts to one experiment. With `include_spec` false the
    /// returned records carry `Value::Null` as their pipeline spec, which keeps pages fast.
    async fn list_runs_page(
        &self,
        experiment_id: Option<&str>,
        query: &ListQuery,
        include_spec: bool,
    ) -> Result<Page<RunRecord>>;
    async fn set_run_storage_state(&self, run_id: &str, state: StorageState) -> Result<()>;
    /// Deletes a run and its tasks.
    async fn delete_run(&self, run_id: &str) -> Result<()>;
    /// Lists the runs in any of `states`, oldest first, with their pipeline specs. The server
    /// calls it at start to resume `PENDING`, `RUNNING` and `CANCELING` runs.
    async fn list_runs_in_states(&self, states: &[State]) -> Result<Vec<RunRecord>>;
    /// Counts the runs of a recurring run that are `PENDING`, `RUNNING` or `CANCELING`, to
    /// hold its `max_concurrency`.
    async fn count_active_runs_of_recurring(&self, recurring_run_id: &str) -> Result<u64>;

    /// Stores a recurring run with `created_at` and `updated_at` set to now.
    ///
    /// Fails with `InvalidArgument` unless exactly one of `pipeline_version_id` and
    /// `pipeline_spec` is set, or when `max_concurrency` is below 1.
    async fn create_recurring_run(&self, run: &RecurringRunRecord) -> Result<RecurringRunRecord>;
    async fn get_recurring_run(&self, recurring_run_id: &str) -> Result<RecurringRunRecord>;
    async fn list_recurring_runs(
        &self,
        experiment_id: Option<&str>,
        query: &ListQuery,
    ) -> Result<Page<RecurringRunRecord>>;
    async fn set_recurring_run_mode(
        &self,
        recurring_run_id: &str,
        mode: RecurringMode,
    ) -> Result<()>;
    async fn set_recurring_run_last_scheduled(
        &self,
        recurring_run_id: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn delete_recurring_run(&self, recurring_run_id: &str) -> Result<()>;
}
