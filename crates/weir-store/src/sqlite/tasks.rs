//! SQL for the `tasks` and `cache_entries` tables: task upserts and reads, cached results.

use rusqlite::{params, Connection, Row};

use super::convert::{backend, to_json, to_micros, to_micros_opt, violation, RowReader, Violation};
use crate::{CacheEntry, Result, StoreError, TaskRecord};

/// The columns [`read_task`] reads, in a form for `SELECT`.
const TASK_COLUMNS: &str = "task_id, run_id, parent_task_id, name, display_name, path, kind, \
    component, iteration_index, state, attempts, cached, error, cache_key, log_path, created_at, \
    started_at, finished_at, inputs, outputs";

/// Inserts the task, or overwrites every column of the row with the same `task_id`.
///
/// The upsert keeps the row, so the task keeps its place in creation order.
pub(super) fn put_task(conn: &Connection, task: &TaskRecord) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO tasks (task_id, run_id, parent_task_id, name, display_name, path, kind, \
             component, iteration_index, state, attempts, cached, error, cache_key, log_path, \
             created_at, started_at, finished_at, inputs, outputs) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19, ?20) \
             ON CONFLICT (task_id) DO UPDATE SET run_id = excluded.run_id, \
             parent_task_id = excluded.parent_task_id, name = excluded.name, \
             display_name = excluded.display_name, path = excluded.path, kind = excluded.kind, \
             component = excluded.component, iteration_index = excluded.iteration_index, \
             state = excluded.state, attempts = excluded.attempts, cached = excluded.cached, \
             error = excluded.error, cache_key = excluded.cache_key, \
             log_path = excluded.log_path, created_at = excluded.created_at, \
             started_at = excluded.started_at, finished_at = excluded.finished_at, \
             inputs = excluded.inputs, outputs = excluded.outputs",
        )
        .map_err(backend("preparing the task upsert"))?;
    let written = stmt.execute(params![
        task.task_id,
        task.run_id,
        task.parent_task_id,
        task.name,
        task.display_name,
        task.path,
        task.kind.as_str(),
        task.component,
        task.iteration_index,
        task.state.as_str(),
        task.attempts,
        task.cached,
        task.error,
        task.cache_key,
        task.log_path,
        to_micros(task.created_at),
        to_micros_opt(task.started_at),
        to_micros_opt(task.finished_at),
        to_json(&task.inputs, "the task inputs")?,
        to_json(&task.outputs, "the task outputs")?,
    ]);

    match written {
        Ok(_) => Ok(()),
        Err(err) => Err(match violation(&err) {
            Some(Violation::ForeignKey) => {
                StoreError::NotFound { kind: "run", id: task.run_id.clone() }
            }
            // `task_id` conflicts become updates, so the only unique key left is the path.
            Some(Violation::Unique) => {
                StoreError::AlreadyExists { kind: "task path", id: task.path.clone() }
            }
            None => backend(format_args!("writing task {:?}", task.task_id))(err),
        }),
    }
}

pub(super) fn get_task(conn: &Connection, task_id: &str) -> Result<TaskRecord> {
    let action = || format!("reading task {task_id:?}");
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ?1"))
        .map_err(backend(action()))?;
    let mut rows = stmt.query([task_id]).map_err(backend(action()))?;
    match rows.next().map_err(backend(action()))? {
        Some(row) => read_task(row),
        None => Err(StoreError::NotFound { kind: "task", id: task_id.to_owned() }),
    }
}

/// Lists a run's tasks in creation order. The list is empty for an unknown run.
pub(super) fn list_tasks(conn: &Connection, run_id: &str) -> Result<Vec<TaskRecord>> {
    let action = || format!("listing the tasks of run {run_id:?}");
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE run_id = ?1 ORDER BY seq"))
        .map_err(backend(action()))?;
    let mut rows = stmt.query([run_id]).map_err(backend(action()))?;
    let mut tasks = Vec::new();
    while let Some(row) = rows.next().map_err(backend(action()))? {
        tasks.push(read_task(row)?);
    }
    Ok(tasks)
}

fn read_task(row: &Row<'_>) -> Result<TaskRecord> {
    let row = RowReader::new(row, "tasks");
    Ok(TaskRecord {
        task_id: row.get("task_id")?,
        run_id: row.get("run_id")?,
        parent_task_id: row.get("parent_task_id")?,
        name: row.get("name")?,
        display_name: row.get("display_name")?,
        path: row.get("path")?,
        kind: row.parse("kind", "task kind")?,
        component: row.get("component")?,
        iteration_index: row.get("iteration_index")?,
        state: row.parse("state", "state")?,
        attempts: row.get("attempts")?,
        cached: row.get("cached")?,
        inputs: row.json("inputs")?,
        outputs: row.json("outputs")?,
        error: row.get("error")?,
        cache_key: row.get("cache_key")?,
        log_path: row.get("log_path")?,
        created_at: row.timestamp("created_at")?,
        started_at: row.timestamp_opt("started_at")?,
        finished_at: row.timestamp_opt("finished_at")?,
    })
}

pub(super) fn get_cache_entry(conn: &Connection, cache_key: &str) -> Result<Option<CacheEntry>> {
    let action = || format!("reading cache entry {cache_key:?}");
    let mut stmt = conn
        .prepare_cached(
            "SELECT cache_key, run_id, task_id, created_at, outputs FROM cache_entries \
             WHERE cache_key = ?1",
        )
        .map_err(backend(action()))?;
    let mut rows = stmt.query([cache_key]).map_err(backend(action()))?;
    let Some(row) = rows.next().map_err(backend(action()))? else {
        return Ok(None);
    };

    let row = RowReader::new(row, "cache_entries");
    Ok(Some(CacheEntry {
        cache_key: row.get("cache_key")?,
        run_id: row.get("run_id")?,
        task_id: row.get("task_id")?,
        outputs: row.json("outputs")?,
        created_at: row.timestamp("created_at")?,
    }))
}

/// Inserts the entry, or replaces the one with the same cache key.
pub(super) fn put_cache_entry(conn: &Connection, entry: &CacheEntry) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO cache_entries (cache_key, run_id, task_id, created_at, outputs) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (cache_key) DO UPDATE SET run_id = excluded.run_id, \
             task_id = excluded.task_id, created_at = excluded.created_at, \
             outputs = excluded.outputs",
        )
        .map_err(backend("preparing the cache entry upsert"))?;
    let written = stmt.execute(params![
        entry.cache_key,
        entry.run_id,
        entry.task_id,
        to_micros(entry.created_at),
        to_json(&entry.outputs, "the cached outputs")?,
    ]);

    match written {
        Ok(_) => Ok(()),
        Err(err) if violation(&err) == Some(Violation::ForeignKey) => {
            Err(StoreError::NotFound { kind: "run", id: entry.run_id.clone() })
        }
        Err(err) => Err(backend(format_args!("writing cache entry {:?}", entry.cache_key))(err)),
    }
}
