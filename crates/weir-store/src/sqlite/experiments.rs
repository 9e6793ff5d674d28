//! SQL for the `experiments` table: create, read, list, archive and delete.
//!
//! An experiment's `last_run_created_at` is not stored. Each read looks up the newest run of the
//! experiment in the index `runs_by_experiment`, one index seek per experiment, so the value
//! stays right when runs are deleted.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};

use super::convert::{backend, to_micros, violation, RowReader, Violation};
use super::listing::{fetch_page, text_value, Condition, Entity, Field, FieldKind};
use super::run_catalog::STORAGE_STATE_NAMES;
use crate::{
    ExperimentRecord, ListQuery, NewExperiment, Page, RecurringMode, Result, StorageState,
    StoreError,
};

/// Creation time of the experiment's newest run, as an SQL expression on a row of `experiments`.
const LAST_RUN_CREATED_AT: &str = "(SELECT newest.created_at FROM runs AS newest \
    WHERE newest.experiment_id = experiments.experiment_id \
    ORDER BY newest.created_at DESC LIMIT 1)";

/// Listing fields of experiments. Experiments have only a display name, which the KFP v1 API
/// calls `name`.
pub(super) static EXPERIMENTS: Entity = Entity {
    noun: "experiments",
    table: "experiments",
    key: "experiment_id",
    default_sort: "created_at",
    fields: &[
        Field::text(&["experiment_id", "id"], "experiment_id", false),
        Field::text(&["display_name", "name"], "display_name", false),
        Field::text(&["description"], "description", false),
        Field::text(&["namespace"], "namespace", false),
        Field {
            names: &["storage_state"],
            sql: "storage_state",
            kind: FieldKind::Enum(STORAGE_STATE_NAMES),
            nullable: false,
        },
        Field::timestamp(&["created_at"], "created_at", false),
        Field::timestamp(&["last_run_created_at"], LAST_RUN_CREATED_AT, true),
    ],
};

fn columns() -> String {
    format!(
        "experiment_id, namespace, display_name, description, storage_state, created_at, \
         {LAST_RUN_CREATED_AT} AS last_run_created_at"
    )
}

pub(super) fn create_experiment(
    conn: &Connection,
    experiment: &NewExperiment,
    now: DateTime<Utc>,
) -> Result<ExperimentRecord> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO experiments (experiment_id, namespace, display_name, description, \
             storage_state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend("preparing the experiment insert"))?;
    let inserted = stmt.execute(params![
        experiment.experiment_id,
        experiment.namespace,
        experiment.display_name,
        experiment.description,
        StorageState::Available.as_str(),
        to_micros(now),
    ]);

    match inserted {
        Ok(_) => get_experiment(conn, &experiment.experiment_id),
        Err(err) if violation(&err) == Some(Violation::Unique) => {
            if find(conn, "experiment_id = ?1", &[&experiment.experiment_id])?.is_some() {
                Err(StoreError::AlreadyExists {
                    kind: "experiment",
                    id: experiment.experiment_id.clone(),
                })
            } else {
                Err(StoreError::AlreadyExists {
                    kind: "experiment name",
                    id: experiment.display_name.clone(),
                })
            }
        }
        Err(err) => {
            Err(backend(format_args!("inserting experiment {:?}", experiment.experiment_id))(err))
        }
    }
}

pub(super) fn get_experiment(conn: &Connection, experiment_id: &str) -> Result<ExperimentRecord> {
    find(conn, "experiment_id = ?1", &[&experiment_id])?
        .ok_or_else(|| StoreError::NotFound { kind: "experiment", id: experiment_id.to_owned() })
}

pub(super) fn get_experiment_by_name(
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<ExperimentRecord> {
    find(conn, "namespace = ?1 AND display_name = ?2", &[&namespace, &name])?
        .ok_or_else(|| StoreError::NotFound { kind: "experiment name", id: name.to_owned() })
}

fn find(
    conn: &Connection,
    condition: &str,
    values: &[&dyn rusqlite::ToSql],
) -> Result<Option<ExperimentRecord>> {
    let action = || format!("reading an experiment where {condition}");
    let sql = format!("SELECT {} FROM experiments WHERE {condition}", columns());
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(action()))?;
    let mut rows = stmt.query(values).map_err(backend(action()))?;
    match rows.next().map_err(backend(action()))? {
        Some(row) => read_experiment(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn list_experiments(
    conn: &Connection,
    query: &ListQuery,
) -> Result<Page<ExperimentRecord>> {
    let mut scope = Vec::new();
    if let Some(namespace) = &query.namespace {
        scope.push(Condition::new("namespace = ?", vec![text_value(namespace)]));
    }
    fetch_page(conn, &EXPERIMENTS, &columns(), scope, query, read_experiment)
}

/// Sets an experiment's storage state. Archiving also archives its runs and disables its
/// recurring runs, but unarchiving changes only the experiment, as in KFP.
///
/// Run it in a transaction, so that an archive applies to all three tables or to none.
pub(super) fn set_experiment_storage_state(
    conn: &Connection,
    experiment_id: &str,
    state: StorageState,
    now: DateTime<Utc>,
) -> Result<()> {
    let action = || format!("setting the storage state of experiment {experiment_id:?}");
    let changed = conn
        .execute(
            "UPDATE experiments SET storage_state = ?2 WHERE experiment_id = ?1",
            params![experiment_id, state.as_str()],
        )
        .map_err(backend(action()))?;
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "experiment", id: experiment_id.to_owned() });
    }
    if state != StorageState::Archived {
        return Ok(());
    }

    conn.execute(
        "UPDATE runs SET storage_state = ?2 WHERE experiment_id = ?1",
        params![experiment_id, StorageState::Archived.as_str()],
    )
    .map_err(backend(format_args!("archiving the runs of experiment {experiment_id:?}")))?;
    let disable = RecurringMode::Disable.as_str();
    conn.execute(
        "UPDATE recurring_runs SET mode = ?2, updated_at = ?3 \
         WHERE experiment_id = ?1 AND mode <> ?2",
        params![experiment_id, disable, to_micros(now)],
    )
    .map_err(backend(format_args!(
        "disabling the recurring runs of experiment {experiment_id:?}"
    )))?;
    Ok(())
}

/// Deletes an experiment, but not its runs or recurring runs, as in KFP.
pub(super) fn delete_experiment(conn: &Connection, experiment_id: &str) -> Result<()> {
    let changed = conn
        .execute("DELETE FROM experiments WHERE experiment_id = ?1", [experiment_id])
        .map_err(backend(format_args!("deleting experiment {experiment_id:?}")))?;
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "experiment", id: experiment_id.to_owned() });
    }
    Ok(())
}

fn read_experiment(row: &Row<'_>) -> Result<ExperimentRecord> {
    let row = RowReader::new(row, "experiments");
    Ok(ExperimentRecord {
        experiment_id: row.get("experiment_id")?,
        namespace: row.get("namespace")?,
        display_name: row.get("display_name")?,
        description: row.get("description")?,
        storage_state: row.parse("storage_state", "storage state")?,
        created_at: row.timestamp("created_at")?,
        last_run_created_at: row.timestamp_opt("last_run_created_at")?,
    })
}
