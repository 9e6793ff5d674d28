//! SQL for the `recurring_runs` table: schedules that start runs, and their mode and progress.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};

use super::convert::{backend, to_json, to_micros, to_micros_opt, violation, RowReader, Violation};
use super::listing::{fetch_page, text_value, Condition, Entity, Field, FieldKind};
use crate::{ListQuery, Page, RecurringMode, RecurringRunRecord, Result, StoreError};

const RECURRING_COLUMNS: &str = "recurring_run_id, namespace, display_name, description, \
    experiment_id, pipeline_version_id, mode, max_concurrency, no_catchup, created_at, \
    updated_at, last_scheduled_at, trigger_spec, runtime_config, pipeline_spec";

/// Listing fields of recurring runs. The KFP v1 API calls the display name `name`.
pub(super) static RECURRING_RUNS: Entity = Entity {
    noun: "recurring runs",
    table: "recurring_runs",
    key: "recurring_run_id",
    default_sort: "created_at",
    fields: &[
        Field::text(&["recurring_run_id", "id"], "recurring_run_id", false),
        Field::text(&["display_name", "name"], "display_name", false),
        Field::text(&["description"], "description", false),
        Field::text(&["namespace"], "namespace", false),
        Field {
            names: &["mode"],
            sql: "mode",
            kind: FieldKind::Enum(&["ENABLE", "DISABLE"]),
            nullable: false,
        },
        Field::text(&["experiment_id"], "experiment_id", true),
        Field::text(&["pipeline_version_id"], "pipeline_version_id", true),
        Field::timestamp(&["created_at"], "created_at", false),
        Field::timestamp(&["updated_at"], "updated_at", false),
    ],
};

/// Inserts a recurring run with `created_at` and `updated_at` set to `now`.
pub(super) fn create_recurring_run(
    conn: &Connection,
    run: &RecurringRunRecord,
    now: DateTime<Utc>,
) -> Result<RecurringRunRecord> {
    check_recurring_run(run)?;
    let record = RecurringRunRecord { created_at: now, updated_at: now, ..run.clone() };
    let pipeline_spec = match &record.pipeline_spec {
        Some(spec) => Some(to_json(spec, "the pipeline spec")?),
        None => None,
    };

    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO recurring_runs (recurring_run_id, namespace, display_name, description, \
             experiment_id, pipeline_version_id, mode, max_concurrency, no_catchup, created_at, \
             updated_at, last_scheduled_at, trigger_spec, runtime_config, pipeline_spec) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(backend("preparing the recurring run insert"))?;
    let inserted = stmt.execute(params![
        record.recurring_run_id,
        record.namespace,
        record.display_name,
        record.description,
        record.experiment_id,
        record.pipeline_version_id,
        record.mode.as_str(),
        record.max_concurrency,
        record.no_catchup,
        to_micros(record.created_at),
        to_micros(record.updated_at),
        to_micros_opt(record.last_scheduled_at),
        to_json(&record.trigger, "the trigger")?,
        to_json(&record.runtime_config, "the runtime config")?,
        pipeline_spec,
    ]);

    match inserted {
        Ok(_) => Ok(record),
        Err(err) if violation(&err) == Some(Violation::Unique) => {
            Err(StoreError::AlreadyExists { kind: "recurring run", id: record.recurring_run_id })
        }
        Err(err) => {
            Err(backend(format_args!("inserting recurring run {:?}", record.recurring_run_id))(err))
        }
    }
}

/// Checks the rules that the table's CHECK constraints enforce, so the error names the fix.
fn check_recurring_run(run: &RecurringRunRecord) -> Result<()> {
    let id = &run.recurring_run_id;
    match (&run.pipeline_version_id, &run.pipeline_spec) {
        (Some(_), Some(_)) => {
            return Err(StoreError::InvalidArgument(format!(
                "recurring run {id:?} has both a pipeline version and a pipeline spec; give \
                 exactly one of them"
            )))
        }
        (None, None) => {
            return Err(StoreError::InvalidArgument(format!(
                "recurring run {id:?} has neither a pipeline version nor a pipeline spec; give \
                 exactly one of them"
            )))
        }
        _ => {}
    }
    if run.max_concurrency < 1 {
        return Err(StoreError::InvalidArgument(format!(
            "recurring run {id:?} has max_concurrency {}; it must be at least 1",
            run.max_concurrency
        )));
    }
    Ok(())
}

pub(super) fn get_recurring_run(
    conn: &Connection,
    recurring_run_id: &str,
) -> Result<RecurringRunRecord> {
    let action = || format!("reading recurring run {recurring_run_id:?}");
    let sql = format!("SELECT {RECURRING_COLUMNS} FROM recurring_runs WHERE recurring_run_id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(action()))?;
    let mut rows = stmt.query([recurring_run_id]).map_err(backend(action()))?;
    match rows.next().map_err(backend(action()))? {
        Some(row) => read_recurring_run(row),
        None => Err(not_found(recurring_run_id)),
    }
}

/// Lists a page of recurring runs, of one experiment when `experiment_id` is given.
pub(super) fn list_recurring_runs(
    conn: &Connection,
    experiment_id: Option<&str>,
    query: &ListQuery,
) -> Result<Page<RecurringRunRecord>> {
    let mut scope = Vec::new();
    if let Some(experiment_id) = experiment_id {
        scope.push(Condition::new("experiment_id = ?", vec![text_value(experiment_id)]));
    }
    if let Some(namespace) = &query.namespace {
        scope.push(Condition::new("namespace = ?", vec![text_value(namespace)]));
    }
    fetch_page(conn, &RECURRING_RUNS, RECURRING_COLUMNS, scope, query, read_recurring_run)
}

/// Sets the mode and, when it changes, `updated_at`.
pub(super) fn set_recurring_run_mode(
    conn: &Connection,
    recurring_run_id: &str,
    mode: RecurringMode,
    now: DateTime<Utc>,
) -> Result<()> {
    let changed = conn
        .execute(
            "UPDATE recurring_runs SET updated_at = CASE WHEN mode = ?2 THEN updated_at ELSE ?3 \
             END, mode = ?2 WHERE recurring_run_id = ?1",
            params![recurring_run_id, mode.as_str(), to_micros(now)],
        )
        .map_err(backend(format_args!("setting the mode of recurring run {recurring_run_id:?}")))?;
    expect_one_row(changed, recurring_run_id)
}

pub(super) fn set_recurring_run_last_scheduled(
    conn: &Connection,
    recurring_run_id: &str,
    scheduled_at: DateTime<Utc>,
) -> Result<()> {
    let changed = conn
        .execute(
            "UPDATE recurring_runs SET last_scheduled_at = ?2 WHERE recurring_run_id = ?1",
            params![recurring_run_id, to_micros(scheduled_at)],
        )
        .map_err(backend(format_args!(
            "setting the last schedule time of recurring run {recurring_run_id:?}"
        )))?;
    expect_one_row(changed, recurring_run_id)
}

/// Deletes a recurring run. The runs it started stay, with their `recurring_run_id`.
pub(super) fn delete_recurring_run(conn: &Connection, recurring_run_id: &str) -> Result<()> {
    let changed = conn
        .execute("DELETE FROM recurring_runs WHERE recurring_run_id = ?1", [recurring_run_id])
        .map_err(backend(format_args!("deleting recurring run {recurring_run_id:?}")))?;
    expect_one_row(changed, recurring_run_id)
}

fn expect_one_row(changed: usize, recurring_run_id: &str) -> Result<()> {
    if changed == 0 {
        return Err(not_found(recurring_run_id));
    }
    Ok(())
}

fn not_found(recurring_run_id: &str) -> StoreError {
    StoreError::NotFound { kind: "recurring run", id: recurring_run_id.to_owned() }
}

fn read_recurring_run(row: &Row<'_>) -> Result<RecurringRunRecord> {
    let row = RowReader::new(row, "recurring_runs");
    Ok(RecurringRunRecord {
        recurring_run_id: row.get("recurring_run_id")?,
        namespace: row.get("namespace")?,
        display_name: row.get("display_name")?,
        description: row.get("description")?,
        experiment_id: row.get("experiment_id")?,
        pipeline_version_id: row.get("pipeline_version_id")?,
        pipeline_spec: row.json_opt("pipeline_spec")?,
        trigger: row.json("trigger_spec")?,
        runtime_config: row.json("runtime_config")?,
        mode: row.parse("mode", "recurring run mode")?,
        max_concurrency: row.get("max_concurrency")?,
        no_catchup: row.get("no_catchup")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
        last_scheduled_at: row.timestamp_opt("last_scheduled_at")?,
    })
}
