//! SQL for the run operations of the KFP API server: pages of runs, archiving, deleting, and the
//! active runs to resume or to count against a recurring run's `max_concurrency`.

use rusqlite::{params, Connection, ToSql};

use super::convert::backend;
use super::listing::{fetch_page, text_value, Condition, Entity, Field, FieldKind};
use super::runs::{expect_one_row, query_runs, read_run, RUN_COLUMNS, RUN_COLUMNS_WITHOUT_SPEC};
use crate::{ListQuery, Page, Result, RunRecord, State, StorageState};

/// States of a run that has not finished.
const ACTIVE_STATES: [State; 3] = [State::Pending, State::Running, State::Canceling];

pub(super) const STATE_NAMES: &[&str] =
    &["PENDING", "RUNNING", "SUCCEEDED", "SKIPPED", "FAILED", "CANCELING", "CANCELED"];
pub(super) const STORAGE_STATE_NAMES: &[&str] = &["AVAILABLE", "ARCHIVED"];

/// Listing fields of runs. The KFP API calls the run's name `display_name`, and its v1 API `name`.
pub(super) static RUNS: Entity = Entity {
    noun: "runs",
    table: "runs",
    key: "seq",
    default_sort: "created_at",
    fields: &[
        Field::text(&["run_id", "id"], "run_id", false),
        Field::text(&["display_name", "name"], "name", false),
        Field::text(&["description"], "description", false),
        Field {
            names: &["state"],
            sql: "state",
            kind: FieldKind::Enum(STATE_NAMES),
            nullable: false,
        },
        Field {
            names: &["storage_state"],
            sql: "storage_state",
            kind: FieldKind::Enum(STORAGE_STATE_NAMES),
            nullable: false,
        },
        Field::text(&["experiment_id"], "experiment_id", true),
        Field::text(&["pipeline_version_id"], "pipeline_version_id", true),
        Field::text(&["recurring_run_id"], "recurring_run_id", true),
        Field::timestamp(&["created_at"], "created_at", false),
        Field::timestamp(&["finished_at"], "finished_at", true),
        Field::timestamp(&["scheduled_at"], "scheduled_at", true),
    ],
};

/// Lists a page of runs, of one experiment when `experiment_id` is given.
///
/// Runs have no namespace of their own: a query's namespace selects the runs whose experiment is
/// in that namespace.
pub(super) fn list_runs_page(
    conn: &Connection,
    experiment_id: Option<&str>,
    query: &ListQuery,
    include_spec: bool,
) -> Result<Page<RunRecord>> {
    let mut scope = Vec::new();
    if let Some(experiment_id) = experiment_id {
        scope.push(Condition::new("experiment_id = ?", vec![text_value(experiment_id)]));
    }
    if let Some(namespace) = &query.namespace {
        scope.push(Condition::new(
            "experiment_id IN (SELECT experiment_id FROM experiments WHERE namespace = ?)",
            vec![text_value(namespace)],
        ));
    }
    let columns = if include_spec { RUN_COLUMNS } else { RUN_COLUMNS_WITHOUT_SPEC };
    fetch_page(conn, &RUNS, columns, scope, query, read_run)
}

pub(super) fn set_run_storage_state(
    conn: &Connection,
    run_id: &str,
    state: StorageState,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("UPDATE runs SET storage_state = ?2 WHERE run_id = ?1")
        .map_err(backend("preparing the run storage state update"))?;
    let changed = stmt
        .execute(params![run_id, state.as_str()])
        .map_err(backend(format_args!("setting the storage state of run {run_id:?}")))?;
    expect_one_row(changed, run_id)
}

/// Deletes a run. Foreign keys delete its tasks and the cache entries it wrote.
pub(super) fn delete_run(conn: &Connection, run_id: &str) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("DELETE FROM runs WHERE run_id = ?1")
        .map_err(backend("preparing the run delete"))?;
    let changed =
        stmt.execute([run_id]).map_err(backend(format_args!("deleting run {run_id:?}")))?;
    expect_one_row(changed, run_id)
}

/// Lists the runs in any of `states`, oldest first, through the index `runs_by_state`.
pub(super) fn list_runs_in_states(conn: &Connection, states: &[State]) -> Result<Vec<RunRecord>> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; states.len()].join(", ");
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE state IN ({placeholders}) ORDER BY created_at, seq"
    );
    let names: Vec<&str> = states.iter().map(|state| state.as_str()).collect();
    let values: Vec<&dyn ToSql> = names.iter().map(|name| name as &dyn ToSql).collect();
    query_runs(conn, &sql, &values, "listing runs by state")
}

pub(super) fn count_active_runs_of_recurring(
    conn: &Connection,
    recurring_run_id: &str,
) -> Result<u64> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT count(*) FROM runs WHERE recurring_run_id = ?1 AND state IN (?2, ?3, ?4)",
        )
        .map_err(backend("preparing the count of active runs"))?;
    let [first, second, third] = ACTIVE_STATES.map(State::as_str);
    let count: i64 =
        stmt.query_row(params![recurring_run_id, first, second, third], |row| row.get(0)).map_err(
            backend(format_args!("counting the active runs of recurring run {recurring_run_id:?}")),
        )?;
    // count(*) is never negative.
    Ok(u64::try_from(count).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value as SqlValue;

    use super::*;
    use crate::sqlite::listing::PageStatement;
    use crate::sqlite::migrations::migrate;
    use crate::sqlite::page_token::PageToken;
    use crate::{FilterValue, Op, Predicate};

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "test").unwrap();
        conn
    }

    /// Returns the `detail` lines of SQLite's plan for `sql` with `values`.
    fn plan(conn: &Connection, sql: &str, values: &[SqlValue]) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details = stmt
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>("detail"))
            .unwrap();
        details.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Builds the statement of the second page of `query`, which has a page token.
    fn second_page(scope: Vec<Condition>, mut query: ListQuery) -> PageStatement {
        let first = PageStatement::new(&RUNS, RUN_COLUMNS_WITHOUT_SPEC, scope.clone(), &query);
        let position = PageToken { sort_value: SqlValue::Integer(5), key: SqlValue::Integer(3) };
        query.page_token = Some(position.encode(first.unwrap().fingerprint));
        PageStatement::new(&RUNS, RUN_COLUMNS_WITHOUT_SPEC, scope, &query).unwrap()
    }

    #[test]
    fn run_pages_seek_in_an_index() {
        let conn = migrated();
        let experiment = || vec![Condition::new("experiment_id = ?", vec![text_value("e")])];
        let descending = ListQuery { descending: true, ..Default::default() };
        let cases = [
            (
                experiment(),
                ListQuery::default(),
                "SEARCH runs USING INDEX runs_by_experiment (experiment_id=? AND created_at>?)",
            ),
            (
                experiment(),
                descending.clone(),
                "SEARCH runs USING INDEX runs_by_experiment (experiment_id=? AND created_at<?)",
            ),
            (Vec::new(), descending, "SEARCH runs USING INDEX runs_by_created (created_at<?)"),
        ];
        for (scope, query, expected) in cases {
            let statement = second_page(scope, query.clone());

            // One line and no "USE TEMP B-TREE FOR ORDER BY": the index returns rows in order.
            let details = plan(&conn, &statement.page_sql, &statement.page_values);

            assert_eq!(details, [expected], "query {query:?}");
        }
    }

    #[test]
    fn run_pages_of_storage_state_use_an_index() {
        let conn = migrated();
        let experiment = || vec![Condition::new("experiment_id = ?", vec![text_value("e")])];
        let storage_state = |op| {
            let value = FilterValue::Text("ARCHIVED".to_owned());
            let predicates = vec![Predicate { field: "storage_state".to_owned(), op, value }];
            ListQuery { predicates, descending: true, ..Default::default() }
        };
        let cases = [
            (
                storage_state(Op::Equals),
                "SEARCH runs USING INDEX runs_by_experiment_storage \
                 (experiment_id=? AND storage_state=? AND created_at<?)",
            ),
            (
                storage_state(Op::NotEquals),
                "SEARCH runs USING INDEX runs_by_experiment (experiment_id=? AND created_at<?)",
            ),
        ];
        for (query, expected) in cases {
            let statement = second_page(experiment(), query.clone());

            let details = plan(&conn, &statement.page_sql, &statement.page_values);

            assert_eq!(details, [expected], "query {query:?}");
        }
    }

    #[test]
    fn run_counts_of_experiment_read_only_an_index() {
        let conn = migrated();
        let experiment = || vec![Condition::new("experiment_id = ?", vec![text_value("e")])];
        let archived = |op| {
            let value = FilterValue::Text("ARCHIVED".to_owned());
            let predicates = vec![Predicate { field: "storage_state".to_owned(), op, value }];
            ListQuery { predicates, ..Default::default() }
        };
        let cases = [
            (ListQuery::default(), "runs_by_experiment (experiment_id=?)"),
            (
                archived(Op::Equals),
                "runs_by_experiment_storage (experiment_id=? AND storage_state=?)",
            ),
            (archived(Op::NotEquals), "runs_by_experiment_storage (experiment_id=?)"),
        ];
        for (query, index) in cases {
            let statement = second_page(experiment(), query.clone());

            let details = plan(&conn, &statement.count_sql, &statement.count_values);

            assert_eq!(details, [format!("SEARCH runs USING COVERING INDEX {index}")], "{query:?}");
        }
    }

    #[test]
    fn pages_split_runs_of_one_microsecond() {
        let conn = migrated();
        // Five runs: three share one creation time, and seq orders them.
        for (run_id, created_at) in [("a", 10), ("b", 20), ("c", 20), ("d", 20), ("e", 30)] {
            conn.execute(
                "INSERT INTO runs (run_id, name, pipeline_name, pipeline_root, enable_caching, \
                 state, created_at, parameters) \
                 VALUES (?1, ?1, 'p', '/root', 1, 'PENDING', ?2, '{}')",
                params![run_id, created_at],
            )
            .unwrap();
        }
        for (descending, expected) in
            [(false, ["a", "b", "c", "d", "e"]), (true, ["e", "d", "c", "b", "a"])]
        {
            let mut query = ListQuery { descending, page_size: 2, ..Default::default() };
            let mut seen = Vec::new();
            for _ in 0..3 {
                let page = list_runs_page(&conn, None, &query, false).unwrap();
                seen.extend(page.items.into_iter().map(|run| run.run_id));
                query.page_token = page.next_page_token;
            }

            assert_eq!(seen, expected, "descending {descending}");
            assert_eq!(query.page_token, None, "descending {descending}");
        }
    }
}
