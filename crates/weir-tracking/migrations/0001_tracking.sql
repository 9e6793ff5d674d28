-- Tracking: experiments, runs, params, tags, metrics and dataset inputs.
-- Runs have an integer key for the child tables and the 32-character hex `run_id` MLflow shows.

CREATE TABLE tracking_experiments (
    experiment_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    creation_time INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

CREATE TABLE tracking_experiment_tags (
    experiment_id INTEGER NOT NULL
        REFERENCES tracking_experiments (experiment_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE tracking_runs (
    run_key INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    experiment_id INTEGER NOT NULL REFERENCES tracking_experiments (experiment_id),
    name TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'RUNNING',
    start_time INTEGER,
    end_time INTEGER,
    artifact_uri TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    deleted_time INTEGER
);

CREATE INDEX tracking_runs_by_experiment
    ON tracking_runs (experiment_id, start_time DESC, run_id);

CREATE TABLE tracking_params (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;

CREATE TABLE tracking_run_tags (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;

-- Finds runs by tag value, such as the runs a Weir run's tasks made (`weir.run_id`).
CREATE INDEX tracking_run_tags_by_value ON tracking_run_tags (key, value);

-- Every logged point. NaN is stored as value 0 with is_nan = 1, because a primary key column
-- cannot hold NULL; the exact same point logged twice is kept once.
CREATE TABLE tracking_metrics (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    is_nan INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL,
    model_id TEXT,
    dataset_name TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_key, key, step, timestamp, is_nan, value)
) WITHOUT ROWID;

-- The latest point of each metric of a run: highest step, then highest timestamp, then highest
-- value. Run reads and searches use it instead of scanning the history.
CREATE TABLE tracking_latest_metrics (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    is_nan INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL,
    model_id TEXT,
    dataset_name TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;

CREATE INDEX tracking_latest_metrics_by_key ON tracking_latest_metrics (key, value);

CREATE TABLE tracking_datasets (
    dataset_key INTEGER PRIMARY KEY,
    dataset_uuid TEXT NOT NULL UNIQUE,
    experiment_id INTEGER NOT NULL
        REFERENCES tracking_experiments (experiment_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source TEXT NOT NULL,
    schema TEXT,
    profile TEXT,
    UNIQUE (experiment_id, name, digest)
);

-- A dataset used by a run; `tags` is a JSON list of {"key", "value"} objects.
CREATE TABLE tracking_run_inputs (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    dataset_key INTEGER NOT NULL REFERENCES tracking_datasets (dataset_key) ON DELETE CASCADE,
    tags TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_key, dataset_key)
) WITHOUT ROWID;

-- Logged models a run used (`direction` = 'input') or produced ('output').
CREATE TABLE tracking_run_models (
    run_key INTEGER NOT NULL REFERENCES tracking_runs (run_key) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_key, direction, model_id)
) WITHOUT ROWID;
