-- Logged models (MLflow 3): a model logged by a run, with its own artifact folder, params and
-- tags. Its metrics are the points in tracking_metrics that carry its model_id.

-- `model_id` is "m-" followed by 32 hex digits. `status` is MLflow's LoggedModelStatus number:
-- 0 unspecified, 1 pending, 2 ready, 3 upload failed. `artifact_location` is
-- `<experiment artifact_location>/models/<model_id>/artifacts`; the model registry reads it to
-- resolve `models:/<model_id>` sources.
CREATE TABLE tracking_logged_models (
    model_id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL
        REFERENCES tracking_experiments (experiment_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    creation_timestamp INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    status INTEGER NOT NULL,
    status_message TEXT,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    model_type TEXT,
    source_run_id TEXT
);

-- The default search order: newest first within the searched experiments.
CREATE INDEX tracking_logged_models_by_experiment
    ON tracking_logged_models (experiment_id, creation_timestamp DESC, model_id);

CREATE TABLE tracking_logged_model_tags (
    model_id TEXT NOT NULL REFERENCES tracking_logged_models (model_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE tracking_logged_model_params (
    model_id TEXT NOT NULL REFERENCES tracking_logged_models (model_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- Finds a model's metric points. Partial, so metric points without a model (most of them) cost
-- nothing extra to insert.
CREATE INDEX tracking_metrics_by_model
    ON tracking_metrics (model_id, key) WHERE model_id IS NOT NULL;
