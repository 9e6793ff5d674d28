-- Schema version 1: the runs, tasks and cache entries the engine writes, and the tables the
-- KFP API server keeps (experiments, pipelines, pipeline versions, recurring runs).
--
-- Conventions:
-- * Timestamps are INTEGER microseconds since the Unix epoch, UTC, so they sort as numbers.
--   In the sqlite3 shell, datetime(created_at / 1000000, 'unixepoch') shows one.
-- * JSON documents are TEXT.
-- * Enumerations are TEXT holding the KFP name (RUNNING, AVAILABLE, ENABLE). There are no CHECK
--   constraints on them, so a new value needs no table rebuild. The store rejects an unknown
--   value when it reads the row.
-- * Ids are TEXT chosen by the caller (UUIDs in practice).
-- * Large JSON columns come last, because SQLite follows a row's overflow pages to reach the
--   columns stored after a large value.
-- * Runs refer to experiments, pipeline versions and recurring runs without foreign keys: a run
--   started from the command line names an experiment that may not exist in this database.

CREATE TABLE experiments (
    experiment_id TEXT PRIMARY KEY NOT NULL,
    namespace TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- AVAILABLE or ARCHIVED
    storage_state TEXT NOT NULL DEFAULT 'AVAILABLE',
    created_at INTEGER NOT NULL,
    UNIQUE (namespace, display_name)
);

CREATE TABLE pipelines (
    pipeline_id TEXT PRIMARY KEY NOT NULL,
    -- '' outside multi-user mode, where the name is unique across the database.
    namespace TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (namespace, name)
);

CREATE TABLE pipeline_versions (
    pipeline_version_id TEXT PRIMARY KEY NOT NULL,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (pipeline_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    package_url TEXT,
    code_source_url TEXT,
    created_at INTEGER NOT NULL,
    -- PipelineSpec as JSON, with platformSpec when the pipeline has one.
    pipeline_spec TEXT NOT NULL,
    UNIQUE (pipeline_id, name)
);
CREATE INDEX pipeline_versions_by_created ON pipeline_versions (pipeline_id, created_at);

CREATE TABLE recurring_runs (
    recurring_run_id TEXT PRIMARY KEY NOT NULL,
    namespace TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    experiment_id TEXT,
    pipeline_version_id TEXT,
    -- ENABLE or DISABLE
    mode TEXT NOT NULL DEFAULT 'ENABLE',
    max_concurrency INTEGER NOT NULL DEFAULT 1 CHECK (max_concurrency >= 1),
    no_catchup INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_scheduled_at INTEGER,
    -- KFP Trigger as JSON: a cron or periodic schedule with optional start and end times.
    trigger_spec TEXT NOT NULL,
    -- KFP RuntimeConfig as JSON: run parameters and pipeline root.
    runtime_config TEXT NOT NULL DEFAULT '{}',
    -- Inline PipelineSpec JSON, set exactly when pipeline_version_id is NULL.
    pipeline_spec TEXT,
    CHECK ((pipeline_version_id IS NULL) <> (pipeline_spec IS NULL))
);
CREATE INDEX recurring_runs_by_experiment ON recurring_runs (experiment_id, created_at);

-- seq orders runs created in the same microsecond. An INTEGER PRIMARY KEY gets max(seq) + 1 on
-- insert, so it grows with creation order among the rows present.
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    pipeline_name TEXT NOT NULL,
    pipeline_root TEXT NOT NULL,
    experiment_id TEXT,
    pipeline_version_id TEXT,
    recurring_run_id TEXT,
    enable_caching INTEGER NOT NULL,
    state TEXT NOT NULL,
    -- AVAILABLE or ARCHIVED
    storage_state TEXT NOT NULL DEFAULT 'AVAILABLE',
    error TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    -- When the schedule of the recurring run fired, for runs a recurring run started.
    scheduled_at INTEGER,
    parameters TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT '{}'
);
-- Listing pages sort by (created_at, seq). seq is the rowid, which every index ends with, so
-- these indexes return rows already in that order.
CREATE INDEX runs_by_created ON runs (created_at);
CREATE INDEX runs_by_experiment ON runs (experiment_id, created_at);
-- The KFP UI lists an experiment's runs filtered by storage state. This index returns them in
-- order, and counts them without reading the table.
CREATE INDEX runs_by_experiment_storage ON runs (experiment_id, storage_state, created_at);
CREATE INDEX runs_by_recurring_run ON runs (recurring_run_id, created_at);
CREATE INDEX runs_by_name ON runs (name, created_at);
-- Finds the active runs to resume when the server starts, without reading the whole table.
CREATE INDEX runs_by_state ON runs (state, created_at);

-- The pipeline spec of each run, keyed by the run's seq. A compiled pipeline is several
-- kilobytes of JSON. Kept in the runs table, the specs made 100,000 runs about 700 MB, so a
-- filtered count read its pages from the operating system instead of SQLite's page cache.
-- Without them the runs table of 100,000 runs is about 11 MB.
CREATE TABLE run_specs (
    seq INTEGER PRIMARY KEY REFERENCES runs (seq) ON DELETE CASCADE,
    pipeline_spec TEXT NOT NULL
);

-- seq is the creation order of a run's tasks. An upsert keeps the row, and so its seq.
CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    parent_task_id TEXT,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    component TEXT NOT NULL,
    iteration_index INTEGER,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    error TEXT,
    cache_key TEXT,
    log_path TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL
);
CREATE UNIQUE INDEX tasks_by_run_path ON tasks (run_id, path);
CREATE INDEX tasks_by_parent ON tasks (parent_task_id);

CREATE TABLE cache_entries (
    cache_key TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    outputs TEXT NOT NULL
);
CREATE INDEX cache_entries_by_run ON cache_entries (run_id);
