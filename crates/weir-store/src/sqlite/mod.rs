//! The SQLite backend of [`Store`]: one database file that every weir process on a machine shares.
//!
//! [`SqliteStore`] keeps one connection behind a `std::sync::Mutex` and runs each statement
//! synchronously inside the async methods. Statements take tens of microseconds (see
//! `examples/store_rates.rs`), short enough to run on the async worker thread. Each statement is
//! prepared once per connection and cached.
//!
//! Connection settings, and why:
//! - `journal_mode = WAL`: readers do not wait for the writer and the writer does not wait for
//!   readers, so `weir runs list` works while a run writes to the same file.
//! - `synchronous = NORMAL`: in WAL mode a commit appends to the WAL file without an fsync, and
//!   SQLite syncs the WAL when it checkpoints it into the database. A committed change survives a
//!   crash of the process, because it is already in the operating system's page cache. A power
//!   loss or a crash of the operating system can lose the last commits but leaves the database
//!   consistent. `FULL` would add an fsync to every commit, and the engine commits about three
//!   times per task.
//! - `foreign_keys = ON`: SQLite enforces foreign keys only on connections that enable them.
//!   The SQLite that rusqlite bundles (libsqlite3-sys 0.40) turns them on by default, and the
//!   pragma keeps them on with a SQLite built without that default.
//! - A busy timeout of [`BUSY_TIMEOUT`]: two processes that write at once (two `weir run`) take
//!   turns instead of failing with "database is locked".
//! - A page cache of [`CACHE_KIB`] KiB instead of SQLite's 2000 KiB. A filtered count over one
//!   experiment's runs reads one page per run, because the runs of different experiments
//!   interleave. With 100,000 runs the runs table is about 11 MB. With the default cache, the
//!   pages of each count were read again from the operating system. The cache grows only as
//!   pages are read.

mod catalog;
mod convert;
mod experiments;
mod listing;
mod migrations;
mod page_token;
mod pipelines;
mod recurring;
mod run_catalog;
mod runs;
mod tasks;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::Value;
use tracing::{debug, warn};

use self::convert::backend;
use crate::{
    timestamp_now, CacheEntry, NewRun, Result, RunQuery, RunRecord, State, Store, StoreError,
    TaskRecord,
};

pub use self::migrations::SCHEMA_VERSION;

/// File name of the database inside the data folder.
pub const DB_FILE: &str = "weir.db";

/// How long a statement waits for another connection's write lock before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Size of each connection's page cache, in KiB.
pub const CACHE_KIB: i64 = 32 * 1024;

/// Room for every fixed statement the store prepares and for the listing statements in recent
/// use. A listing's SQL depends on its filters and sort order, so there is no fixed number.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// A [`Store`] in one SQLite database file, or in memory for tests.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The database path as text, or `:memory:`, for errors and logs.
    location: String,
}

impl SqliteStore {
    /// Opens the database at `path`, creating missing parent folders and the file, and migrates
    /// its schema to [`SCHEMA_VERSION`].
    ///
    /// Fails with [`StoreError::SchemaTooNew`] when a newer weir wrote the database.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                StoreError::Backend(format!(
                    "could not create the folder {} for the database: {err}. Choose a \
                     writable data folder",
                    parent.display()
                ))
            })?;
        }

        let location = path.display().to_string();
        let conn = Connection::open(path).map_err(backend(format_args!("opening {location}")))?;
        Self::from_connection(conn, location, false)
    }

    /// Opens a private database in memory, with the same schema as a file.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(backend("opening a database in memory"))?;
        Self::from_connection(conn, ":memory:".to_owned(), true)
    }

    fn from_connection(mut conn: Connection, location: String, in_memory: bool) -> Result<Self> {
        configure(&conn, &location, in_memory)?;
        migrations::migrate(&mut conn, &location)?;
        debug!(db = %location, "Opened the state store.");
        Ok(SqliteStore { conn: Mutex::new(conn), location })
    }

    /// Returns the database path as given to [`SqliteStore::open`], or `:memory:`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Sets the page cache size in KiB. A process that only writes runs and tasks (`weir run`)
    /// gains nothing from the larger default, which is sized for catalog listings.
    pub fn set_cache_size_kib(&self, kib: i64) -> Result<()> {
        let kib = kib.max(64);
        self.with_conn(|conn| {
            // A negative cache_size is in KiB; `kib` is an integer, not text from input.
            conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))
                .map_err(backend(format_args!("setting the cache size of {}", self.location)))
        })
    }

    /// Reads the schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.with_conn(migrations::schema_version)
    }

    fn with_conn<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // A panic while the lock was held cannot leave a change half-done: single statements
        // commit or roll back as a whole, and `with_transaction` rolls back when it unwinds.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        work(&conn)
    }

    /// Runs `work` in one transaction, which commits when `work` succeeds and rolls back when
    /// it fails.
    ///
    /// The transaction takes the write lock at its start (`BEGIN IMMEDIATE`). A read transaction
    /// that later writes fails at once when another process writes, instead of waiting its
    /// turn like a single statement does.
    fn with_transaction<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("starting a transaction"))?;
        let value = work(&tx)?;
        tx.commit().map_err(backend("committing a transaction"))?;
        Ok(value)
    }
}

fn configure(conn: &Connection, location: &str, in_memory: bool) -> Result<()> {
    // The timeout comes first: switching to WAL needs a lock that another process may hold.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend("setting the busy timeout"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);

    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(backend(format_args!("switching {location} to WAL mode")))?;
    if !in_memory && !mode.eq_ignore_ascii_case("wal") {
        // Some file systems (network mounts) have no shared memory for the WAL index.
        warn!(db = %location, journal_mode = %mode, "WAL mode is unavailable, so readers of the \
              state store wait while a run writes.");
    }

    // A negative cache_size is in KiB. PRAGMA takes no bound parameters, and CACHE_KIB is a
    // constant, not input.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{CACHE_KIB};"
    ))
    .map_err(backend(format_args!("configuring {location}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_run(&self, run: &NewRun) -> Result<RunRecord> {
        self.with_transaction(|conn| runs::create_run(conn, run, timestamp_now()))
    }

    async fn get_run(&self, run_id: &str) -> Result<RunRecord> {
        self.with_conn(|conn| runs::get_run(conn, run_id))
    }

    async fn find_run(&self, id_or_name: &str) -> Result<RunRecord> {
        self.with_conn(|conn| runs::find_run(conn, id_or_name))
    }

    async fn list_runs(&self, query: &RunQuery) -> Result<Vec<RunRecord>> {
        self.with_conn(|conn| runs::list_runs(conn, query))
    }

    async fn set_run_state(&self, run_id: &str, state: State, error: Option<&str>) -> Result<()> {
        self.with_conn(|conn| runs::set_run_state(conn, run_id, state, error, timestamp_now()))
    }

    async fn set_run_outputs(&self, run_id: &str, outputs: &Value) -> Result<()> {
        self.with_conn(|conn| runs::set_run_outputs(conn, run_id, outputs))
    }

    async fn put_task(&self, task: &TaskRecord) -> Result<()> {
        self.with_conn(|conn| tasks::put_task(conn, task))
    }

    async fn get_task(&self, task_id: &str) -> Result<TaskRecord> {
        self.with_conn(|conn| tasks::get_task(conn, task_id))
    }

    async fn list_tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>> {
        self.with_conn(|conn| tasks::list_tasks(conn, run_id))
    }

    async fn get_cache_entry(&self, cache_key: &str) -> Result<Option<CacheEntry>> {
        self.with_conn(|conn| tasks::get_cache_entry(conn, cache_key))
    }

    async fn put_cache_entry(&self, entry: &CacheEntry) -> Result<()> {
        self.with_conn(|conn| tasks::put_cache_entry(conn, entry))
    }
}

/// Returns the folder for weir's database when `$WEIR_DATA_DIR` is not set.
///
/// That is `$XDG_DATA_HOME/weir`, else `~/.local/share/weir`. Without a home folder it is
/// `.weir` in the working directory.
pub fn default_data_dir() -> PathBuf {
    data_dir_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

fn data_dir_from(xdg_data_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    // Per the XDG Base Directory specification, an empty or relative XDG_DATA_HOME is ignored.
    let xdg_data_home = xdg_data_home.map(PathBuf::from).filter(|dir| dir.is_absolute());
    if let Some(dir) = xdg_data_home {
        return dir.join("weir");
    }
    match home.filter(|home| !home.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/weir"),
        None => PathBuf::from(".weir"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_follows_xdg_then_home() {
        let cases: [(Option<&str>, Option<&str>, &str); 6] = [
            (Some("/data"), Some("/home/ana"), "/data/weir"),
            (None, Some("/home/ana"), "/home/ana/.local/share/weir"),
            (Some(""), Some("/home/ana"), "/home/ana/.local/share/weir"),
            (Some("relative/dir"), Some("/home/ana"), "/home/ana/.local/share/weir"),
            (None, Some(""), ".weir"),
            (None, None, ".weir"),
        ];
        for (xdg, home, expected) in cases {
            let dir = data_dir_from(xdg.map(OsString::from), home.map(OsString::from));
            assert_eq!(dir, PathBuf::from(expected), "XDG_DATA_HOME={xdg:?} HOME={home:?}");
        }
    }
}
