//! Durable state of runs and tasks.
//!
//! [`Store`] is the interface the engine, the command line and (later) the API server use;
//! [`sqlite::SqliteStore`] is the default backend. A PostgreSQL backend implements the same
//! trait. The store has no pipeline semantics, because specs, inputs and outputs are JSON it keeps.

pub mod catalog;
pub mod model;

pub use catalog::*;
pub use model::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id:?} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {id:?} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    /// An id prefix given to [`Store::find_run`] that more than one id starts with.
    #[error("{matches} {kind} ids start with {prefix:?}, so give more characters of the id")]
    Ambiguous { kind: &'static str, prefix: String, matches: u64 },
    /// The database was written by a newer weir whose schema this binary cannot read.
    #[error(
        "the state store {path} has schema version {found}, but this weir supports versions up \
         to {supported}. Upgrade weir, or use another data folder"
    )]
    SchemaTooNew { path: String, found: i64, supported: i64 },
    /// The record exists but is in a state that does not allow the change, such as a pipeline
    /// that still has versions.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A listing names an unknown field, an operation the field does not support, a value of
    /// the wrong type, or a page token from another query.
    #[error("{0}")]
    InvalidQuery(String),
    /// A record to write is inconsistent, such as a recurring run with both a pipeline version
    /// and an inline pipeline spec.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("invalid value in the state store: {0}")]
    Corrupt(String),
    #[error("state store failed: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Returns the current time truncated to whole microseconds, the precision every backend keeps.
///
/// A record written with this timestamp reads back equal to the one written.
pub fn timestamp_now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Durable state of runs, tasks and cached task results.
///
/// Every method commits before it returns, so a change the engine acts on survives a crash.
/// Timestamps are kept to the microsecond, and [`timestamp_now`] returns one without finer digits.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a new run in state `PENDING` with empty outputs (`{}`).
    async fn create_run(&self, run: &NewRun) -> Result<RunRecord>;
    async fn get_run(&self, run_id: &str) -> Result<RunRecord>;
    /// Finds a run by full id, unique id prefix, or exact name (newest first).
    ///
    /// An id prefix that several runs share is an [`StoreError::Ambiguous`] error unless a run
    /// has exactly that name.
    async fn find_run(&self, id_or_name: &str) -> Result<RunRecord>;
    /// Lists the runs that match `query`, newest `created_at` first.
    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<RunRecord>>;
    /// Sets a run's state and replaces its error text.
    ///
    /// Entering `RUNNING` sets `started_at` unless it is already set. Entering a final state sets
    /// `finished_at` unless it is already set, and any other state clears it.
    async fn set_run_state(&self, run_id: &str, state: State, error: Option<&str>) -> Result<()>;
    async fn set_run_outputs(&self, run_id: &str, outputs: &serde_json::Value) -> Result<()>;

    /// Inserts a task, or replaces it when a task with the same id exists.
    async fn put_task(&self, task: &TaskRecord) -> Result<()>;
    async fn get_task(&self, task_id: &str) -> Result<TaskRecord>;
    /// Lists the tasks of a run in creation order.
    async fn list_tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>>;

    /// Looks up a cached result by cache key.
    async fn get_cache_entry(&self, cache_key: &str) -> Result<Option<CacheEntry>>;
    async fn put_cache_entry(&self, entry: &CacheEntry) -> Result<()>;
}

pub mod sqlite;
