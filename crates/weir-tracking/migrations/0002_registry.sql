-- Model registry: registered models, their versions, and the tags and aliases of both.
-- A model has an integer key, so a rename changes one row; a version has an integer key for its
-- tags. Versions, tags and aliases go away with their model.

CREATE TABLE registry_models (
    model_key INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    -- '' when unset: MLflow leaves an empty description out of the JSON.
    description TEXT NOT NULL DEFAULT '',
    -- The highest version number given so far, deleted versions included, so that a number is
    -- never given twice.
    last_version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE registry_model_versions (
    version_key INTEGER PRIMARY KEY,
    model_key INTEGER NOT NULL REFERENCES registry_models (model_key) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    -- NULL after an update without a description: MLflow then leaves the field out.
    description TEXT,
    current_stage TEXT NOT NULL DEFAULT 'None',
    source TEXT NOT NULL,
    -- Where the files are: `source`, or what a `models:/` source points to.
    storage_location TEXT NOT NULL,
    run_id TEXT,
    run_link TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'READY',
    model_id TEXT,
    UNIQUE (model_key, version)
);

CREATE INDEX registry_model_versions_by_run ON registry_model_versions (run_id);
CREATE INDEX registry_model_versions_by_update ON registry_model_versions (last_updated_time);

CREATE TABLE registry_model_tags (
    model_key INTEGER NOT NULL REFERENCES registry_models (model_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_key, key)
) WITHOUT ROWID;

CREATE TABLE registry_version_tags (
    version_key INTEGER NOT NULL
        REFERENCES registry_model_versions (version_key) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (version_key, key)
) WITHOUT ROWID;

-- An alias names one version of its model; deleting the version deletes its aliases.
CREATE TABLE registry_aliases (
    model_key INTEGER NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (model_key, alias),
    FOREIGN KEY (model_key, version)
        REFERENCES registry_model_versions (model_key, version) ON DELETE CASCADE
) WITHOUT ROWID;
