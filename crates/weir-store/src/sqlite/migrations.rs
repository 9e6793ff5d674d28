//! Schema migrations: numbered SQL scripts applied in order, tracked in `PRAGMA user_version`.
//!
//! Script `n` (1-based) moves the schema from version `n - 1` to `n`, and a new database has
//! version 0. Every pending script runs inside one `BEGIN IMMEDIATE` transaction that also sets
//! the new version, so a failed migration leaves the database as it was. A released script never
//! changes, because databases already carry its version. A schema change is a new script.

use rusqlite::{Connection, TransactionBehavior};
use tracing::info;

use super::convert::backend;
use crate::{Result, StoreError};

/// The scripts in order. `MIGRATIONS[i]` produces schema version `i + 1`.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

/// The schema version this binary writes and the newest it can read.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema of `conn` to [`SCHEMA_VERSION`].
///
/// `location` names the database in errors and logs (a path, or `:memory:`).
pub(super) fn migrate(conn: &mut Connection, location: &str) -> Result<()> {
    apply(conn, MIGRATIONS, location)
}

/// Reads the schema version stored in the database header.
pub(super) fn schema_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend("reading the schema version (PRAGMA user_version)"))
}

fn apply(conn: &mut Connection, scripts: &[&str], location: &str) -> Result<()> {
    let supported = scripts.len() as i64;

    // Most opens find the schema current. They check without taking the write lock, so they do
    // not queue behind a process that is writing.
    let found = schema_version(conn)?;
    check_readable(found, supported, location)?;
    if found == supported {
        return Ok(());
    }

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend("starting the schema migration"))?;

    // Another process may have migrated between the first check and the write lock.
    let found = schema_version(&tx)?;
    check_readable(found, supported, location)?;
    if found == supported {
        return Ok(());
    }

    // `check_readable` returned an error for negative versions, so the cast keeps the value.
    for (index, script) in scripts.iter().enumerate().skip(found as usize) {
        let version = index + 1;
        tx.execute_batch(script)
            .map_err(backend(format_args!("applying schema migration {version} to {location}")))?;
    }

    // PRAGMA takes no bound parameters, and `supported` is a count of scripts, not input.
    tx.execute_batch(&format!("PRAGMA user_version = {supported}"))
        .map_err(backend("recording the schema version"))?;
    tx.commit().map_err(backend(format_args!("committing the schema migration of {location}")))?;

    info!(db = %location, from = found, to = supported, "Migrated the state store schema.");
    Ok(())
}

fn check_readable(found: i64, supported: i64, location: &str) -> Result<()> {
    if found < 0 {
        return Err(StoreError::Corrupt(format!(
            "{location} has the negative schema version {found} (PRAGMA user_version)"
        )));
    }
    if found > supported {
        return Err(StoreError::SchemaTooNew { path: location.to_owned(), found, supported });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |row| row.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn apply_runs_pending_scripts_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        let scripts = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT"];

        apply(&mut conn, &scripts[..1], "test").unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 1);

        apply(&mut conn, &scripts, "test").unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 2);
        conn.execute("INSERT INTO a (x, y) VALUES (1, 'one')", []).unwrap();

        // Applying again is a no-op, not a second CREATE TABLE.
        apply(&mut conn, &scripts, "test").unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 2);
    }

    #[test]
    fn failed_script_rolls_back_every_pending_script() {
        let mut conn = Connection::open_in_memory().unwrap();
        let scripts = ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (", "CREATE TABLE c (x)"];

        let err = apply(&mut conn, &scripts, "test").unwrap_err();

        let message = err.to_string();
        assert!(message.starts_with("state store failed: applying schema migration 2 to test: "));
        assert_eq!(schema_version(&conn).unwrap(), 0);
        assert_eq!(table_names(&conn), Vec::<String>::new());
    }

    #[test]
    fn negative_version_is_corrupt() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = -3").unwrap();

        let err = apply(&mut conn, MIGRATIONS, "test").unwrap_err();

        assert_eq!(
            err.to_string(),
            "invalid value in the state store: test has the negative schema version -3 \
             (PRAGMA user_version)"
        );
    }

    #[test]
    fn initial_schema_creates_all_tables() {
        let mut conn = Connection::open_in_memory().unwrap();

        migrate(&mut conn, "test").unwrap();

        assert_eq!(
            table_names(&conn),
            [
                "cache_entries",
                "experiments",
                "pipeline_versions",
                "pipelines",
                "recurring_runs",
                "run_specs",
                "runs",
                "tasks"
            ]
        );
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
    }
}
