//! SQL for the `runs` table: create, read, find by id, prefix or name, list, and state changes.

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSql, Value as SqlValue};
use rusqlite::{params, Connection, Row};
use serde_json::Value;

use super::convert::{backend, to_json, to_micros, to_micros_opt, violation, RowReader, Violation};
use crate::{NewRun, Result, RunQuery, RunRecord, State, StorageState, StoreError};

/// Every column of `runs` that [`read_run`] reads except the pipeline spec.
macro_rules! run_columns_without_spec {
    () => {
        "run_id, name, description, pipeline_name, pipeline_root, experiment_id, \
         pipeline_version_id, recurring_run_id, enable_caching, state, storage_state, error, \
         created_at, started_at, finished_at, scheduled_at, parameters, outputs"
    };
}

/// The columns [`read_run`] reads, in a form for `SELECT ... FROM runs`. The spec comes from
/// `run_specs`, one lookup by rowid per run.
pub(super) const RUN_COLUMNS: &str = concat!(
    run_columns_without_spec!(),
    ", (SELECT spec.pipeline_spec FROM run_specs AS spec WHERE spec.seq = runs.seq) \
     AS pipeline_spec"
);

/// Like [`RUN_COLUMNS`], with the JSON `null` in place of the pipeline spec, which is by far the
/// largest value of a run.
pub(super) const RUN_COLUMNS_WITHOUT_SPEC: &str =
    concat!(run_columns_without_spec!(), ", 'null' AS pipeline_spec");

/// Listing order: newest first, and the later insert first within one microsecond.
const NEWEST_FIRST: &str = "ORDER BY created_at DESC, seq DESC";

/// Selects up to `?2` run ids that match the GLOB pattern `?1`.
const IDS_MATCHING_SQL: &str =
    "SELECT run_id FROM runs WHERE run_id GLOB ?1 ORDER BY run_id LIMIT ?2";

/// Inserts a run and its spec. Run it in a transaction, so that no run lacks its spec.
pub(super) fn create_run(conn: &Connection, run: &NewRun, now: DateTime<Utc>) -> Result<RunRecord> {
    let record = RunRecord {
        run_id: run.run_id.clone(),
        name: run.name.clone(),
        description: run.description.clone(),
        pipeline_name: run.pipeline_name.clone(),
        pipeline_spec: run.pipeline_spec.clone(),
        parameters: run.parameters.clone(),
        pipeline_root: run.pipeline_root.clone(),
        experiment_id: run.experiment_id.clone(),
        pipeline_version_id: run.pipeline_version_id.clone(),
        recurring_run_id: run.recurring_run_id.clone(),
        enable_caching: run.enable_caching,
        state: State::Pending,
        storage_state: StorageState::Available,
        error: None,
        outputs: Value::Object(Default::default()),
        created_at: now,
        started_at: None,
        finished_at: None,
        scheduled_at: run.scheduled_at,
    };

    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO runs (run_id, name, description, pipeline_name, pipeline_root, \
             experiment_id, pipeline_version_id, recurring_run_id, enable_caching, state, \
             storage_state, created_at, scheduled_at, parameters, outputs) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(backend("preparing the run insert"))?;
    let inserted = stmt.execute(params![
        record.run_id,
        record.name,
        record.description,
        record.pipeline_name,
        record.pipeline_root,
        record.experiment_id,
        record.pipeline_version_id,
        record.recurring_run_id,
        record.enable_caching,
        record.state.as_str(),
        record.storage_state.as_str(),
        to_micros(record.created_at),
        to_micros_opt(record.scheduled_at),
        to_json(&record.parameters, "the run parameters")?,
        to_json(&record.outputs, "the run outputs")?,
    ]);
    match inserted {
        Ok(_) => {}
        Err(err) if violation(&err) == Some(Violation::Unique) => {
            return Err(StoreError::AlreadyExists { kind: "run", id: record.run_id });
        }
        Err(err) => return Err(backend(format_args!("inserting run {:?}", record.run_id))(err)),
    }

    // last_insert_rowid() is the seq of the run inserted just before on this connection.
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO run_specs (seq, pipeline_spec) VALUES (last_insert_rowid(), ?1)",
        )
        .map_err(backend("preparing the run spec insert"))?;
    stmt.execute([to_json(&record.pipeline_spec, "the pipeline spec")?])
        .map_err(backend(format_args!("inserting the spec of run {:?}", record.run_id)))?;
    Ok(record)
}

pub(super) fn get_run(conn: &Connection, run_id: &str) -> Result<RunRecord> {
    get_run_opt(conn, run_id)?
        .ok_or_else(|| StoreError::NotFound { kind: "run", id: run_id.to_owned() })
}

fn get_run_opt(conn: &Connection, run_id: &str) -> Result<Option<RunRecord>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1");
    let runs = query_runs(conn, &sql, &[&run_id], format_args!("reading run {run_id:?}"))?;
    Ok(runs.into_iter().next())
}

/// Finds a run by exact id, then unique id prefix, then exact name (the newest such run).
///
/// An ambiguous prefix is an error only when no run has that name, because a name typed in
/// full is more specific than a few characters of an id.
pub(super) fn find_run(conn: &Connection, id_or_name: &str) -> Result<RunRecord> {
    let not_found = || StoreError::NotFound { kind: "run", id: id_or_name.to_owned() };
    if id_or_name.is_empty() {
        return Err(not_found());
    }

    if let Some(run) = get_run_opt(conn, id_or_name)? {
        return Ok(run);
    }

    let pattern = glob_prefix_pattern(id_or_name);
    let prefixed = ids_matching(conn, &pattern, 2)?;
    if let [run_id] = prefixed.as_slice() {
        return get_run(conn, run_id);
    }

    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE name = ?1 {NEWEST_FIRST} LIMIT 1");
    let named =
        query_runs(conn, &sql, &[&id_or_name], format_args!("finding run named {id_or_name:?}"))?;
    if let Some(run) = named.into_iter().next() {
        return Ok(run);
    }

    if prefixed.len() > 1 {
        let matches = count_matching(conn, &pattern)?;
        return Err(StoreError::Ambiguous { kind: "run", prefix: id_or_name.to_owned(), matches });
    }
    Err(not_found())
}

/// Builds a GLOB pattern that matches the strings starting with `prefix`.
///
/// GLOB, unlike LIKE, is case-sensitive like run ids, and SQLite uses the index on `col` for
/// `col GLOB 'abc*'`. The wildcards `*`, `?` and `[` in the prefix become one-character sets.
fn glob_prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        match ch {
            '*' => pattern.push_str("[*]"),
            '?' => pattern.push_str("[?]"),
            '[' => pattern.push_str("[[]"),
            other => pattern.push(other),
        }
    }
    pattern.push('*');
    pattern
}

fn ids_matching(conn: &Connection, pattern: &str, limit: i64) -> Result<Vec<String>> {
    let action = || format!("finding runs whose id matches {pattern:?}");
    let mut stmt = conn.prepare_cached(IDS_MATCHING_SQL).map_err(backend(action()))?;
    let ids =
        stmt.query_map(params![pattern, limit], |row| row.get(0)).map_err(backend(action()))?;
    ids.collect::<rusqlite::Result<_>>().map_err(backend(action()))
}

fn count_matching(conn: &Connection, pattern: &str) -> Result<u64> {
    let mut stmt = conn
        .prepare_cached("SELECT count(*) FROM runs WHERE run_id GLOB ?1")
        .map_err(backend("preparing the run count"))?;
    let count: i64 = stmt
        .query_row([pattern], |row| row.get(0))
        .map_err(backend(format_args!("counting runs whose id matches {pattern:?}")))?;
    // count(*) is never negative.
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(super) fn list_runs(conn: &Connection, query: &RunQuery) -> Result<Vec<RunRecord>> {
    let (sql, values) = list_runs_statement(query);
    let values: Vec<&dyn ToSql> = values.iter().map(|value| value as &dyn ToSql).collect();
    query_runs(conn, &sql, &values, "listing runs")
}

/// Builds the SQL and bound values of a run listing.
///
/// The WHERE clause names only the filters in use, so SQLite can pick the index for each
/// combination: `runs_by_experiment` for an experiment, `runs_by_created` otherwise.
fn list_runs_statement(query: &RunQuery) -> (String, Vec<SqlValue>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(state) = query.state {
        values.push(SqlValue::Text(state.as_str().to_owned()));
        conditions.push(format!("state = ?{}", values.len()));
    }
    if let Some(experiment_id) = &query.experiment_id {
        values.push(SqlValue::Text(experiment_id.clone()));
        conditions.push(format!("experiment_id = ?{}", values.len()));
    }

    let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push(' ');
    sql.push_str(NEWEST_FIRST);

    if query.limit > 0 {
        values.push(SqlValue::Integer(i64::try_from(query.limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" LIMIT ?{}", values.len()));
    }
    (sql, values)
}

pub(super) fn set_run_state(
    conn: &Connection,
    run_id: &str,
    state: State,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE runs SET state = ?2, error = ?3, \
             started_at = CASE WHEN ?5 THEN coalesce(started_at, ?4) ELSE started_at END, \
             finished_at = CASE WHEN ?6 THEN coalesce(finished_at, ?4) ELSE NULL END \
             WHERE run_id = ?1",
        )
        .map_err(backend("preparing the run state update"))?;
    let changed = stmt
        .execute(params![
            run_id,
            state.as_str(),
            error,
            to_micros(now),
            state == State::Running,
            state.is_final(),
        ])
        .map_err(backend(format_args!("setting the state of run {run_id:?} to {state}")))?;
    expect_one_row(changed, run_id)
}

pub(super) fn set_run_outputs(conn: &Connection, run_id: &str, outputs: &Value) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("UPDATE runs SET outputs = ?2 WHERE run_id = ?1")
        .map_err(backend("preparing the run outputs update"))?;
    let changed = stmt
        .execute(params![run_id, to_json(outputs, "the run outputs")?])
        .map_err(backend(format_args!("setting the outputs of run {run_id:?}")))?;
    expect_one_row(changed, run_id)
}

pub(super) fn expect_one_row(changed: usize, run_id: &str) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "run", id: run_id.to_owned() });
    }
    Ok(())
}

pub(super) fn query_runs(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    action: impl std::fmt::Display,
) -> Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend(&action))?;
    let mut rows = stmt.query(values).map_err(backend(&action))?;
    let mut runs = Vec::new();
    while let Some(row) = rows.next().map_err(backend(&action))? {
        runs.push(read_run(row)?);
    }
    Ok(runs)
}

pub(super) fn read_run(row: &Row<'_>) -> Result<RunRecord> {
    let row = RowReader::new(row, "runs");
    Ok(RunRecord {
        run_id: row.get("run_id")?,
        name: row.get("name")?,
        description: row.get("description")?,
        pipeline_name: row.get("pipeline_name")?,
        pipeline_spec: row.json("pipeline_spec")?,
        parameters: row.json("parameters")?,
        pipeline_root: row.get("pipeline_root")?,
        experiment_id: row.get("experiment_id")?,
        pipeline_version_id: row.get("pipeline_version_id")?,
        recurring_run_id: row.get("recurring_run_id")?,
        enable_caching: row.get("enable_caching")?,
        state: row.parse("state", "state")?,
        storage_state: row.parse("storage_state", "storage state")?,
        error: row.get("error")?,
        outputs: row.json("outputs")?,
        created_at: row.timestamp("created_at")?,
        started_at: row.timestamp_opt("started_at")?,
        finished_at: row.timestamp_opt("finished_at")?,
        scheduled_at: row.timestamp_opt("scheduled_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the `detail` lines of SQLite's plan for a run listing.
    fn list_plan(query: &RunQuery) -> Vec<String> {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn, "test").unwrap();
        let (sql, values) = list_runs_statement(query);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details = stmt
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>("detail"))
            .unwrap();
        details.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn list_runs_statement_per_filter() {
        let query = RunQuery {
            state: Some(State::Failed),
            experiment_id: Some("exp-1".to_owned()),
            limit: 50,
        };

        let (sql, values) = list_runs_statement(&query);

        assert_eq!(
            sql,
            format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE state = ?1 AND experiment_id = ?2 \
                 ORDER BY created_at DESC, seq DESC LIMIT ?3"
            )
        );
        assert_eq!(
            values,
            [
                SqlValue::Text("FAILED".to_owned()),
                SqlValue::Text("exp-1".to_owned()),
                SqlValue::Integer(50)
            ]
        );
        let (sql, values) = list_runs_statement(&RunQuery::default());
        assert_eq!(sql, format!("SELECT {RUN_COLUMNS} FROM runs {NEWEST_FIRST}"));
        assert_eq!(values, []);
    }

    #[test]
    fn find_run_prefix_search_uses_id_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn, "test").unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {IDS_MATCHING_SQL}")).unwrap();

        let details: Vec<String> = stmt
            .query_map(params!["4f2a*", 2], |row| row.get("detail"))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();

        assert_eq!(
            details,
            ["SEARCH runs USING COVERING INDEX sqlite_autoindex_runs_1 (run_id>? AND run_id<?)"]
        );
    }

    #[test]
    fn list_runs_uses_an_index_for_order() {
        let by_experiment =
            RunQuery { experiment_id: Some("e".to_owned()), limit: 50, ..Default::default() };
        let by_state = RunQuery { state: Some(State::Running), ..Default::default() };
        let cases = [
            (RunQuery::default(), "SCAN runs USING INDEX runs_by_created"),
            (by_state, "SEARCH runs USING INDEX runs_by_state (state=?)"),
            (by_experiment, "SEARCH runs USING INDEX runs_by_experiment (experiment_id=?)"),
        ];
        for (query, expected) in cases {
            // No "USE TEMP B-TREE FOR ORDER BY": the index returns rows in order, and each spec
            // is one lookup by rowid.
            assert_eq!(
                list_plan(&query),
                [
                    expected,
                    "CORRELATED SCALAR SUBQUERY 1",
                    "SEARCH spec USING INTEGER PRIMARY KEY (rowid=?)"
                ],
                "query {query:?}"
            );
        }
    }

    #[test]
    fn glob_prefix_pattern_escapes_wildcards() {
        let cases = [
            ("4f2a", "4f2a*"),
            ("a*b", "a[*]b*"),
            ("a?b", "a[?]b*"),
            ("a[b]", "a[[]b]*"),
            ("run-1", "run-1*"),
        ];
        for (prefix, expected) in cases {
            assert_eq!(glob_prefix_pattern(prefix), expected, "prefix {prefix:?}");
        }
    }
}
