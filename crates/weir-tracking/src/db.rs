//! [`Db`], the tracking tables' connections to the SQLite database that the rest of Weir uses,
//! and the tracking schema's migrations.
//!
//! The tracking store lives in the same database file as runs and tasks (`weir.db`), in tables
//! whose names start with `tracking_` or `registry_`. It keeps its own version table,
//! `tracking_schema_migrations`, so its migrations and the run store's never interfere.
//!
//! There are two connections: one writer and one reader. In WAL mode the reader sees the last
//! committed state while the writer writes, so a long metric history read does not hold up
//! metric logging. Both run their work on tokio's blocking pool.
//!
//! Durability: `synchronous = NORMAL` in WAL mode. A commit is in the operating system's page
//! cache when the response is sent, so an acknowledged write survives `kill -9` of the
//! server; a power loss can lose the last commits but leaves the database consistent.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Result, TrackingError};

/// How long a statement waits for another connection's write lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Room for every fixed statement and the search statements in recent use.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// The tracking schema, one SQL script per version, applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_tracking.sql")),
    (2, include_str!("../migrations/0002_registry.sql")),
    (3, include_str!("../migrations/0003_logged_models.sql")),
];

/// The writer and reader connections of the tracking store.
#[derive(Debug)]
pub struct Db {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    location: String,
}

impl Db {
    /// Opens the database file at `path` (creating it and its folder), migrates the tracking
    /// schema, and creates the `Default` experiment when it is missing.
    pub fn open(path: &Path) -> Result<Arc<Db>> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                TrackingError::internal(format!(
                    "could not create the folder {} for the tracking database: {err}. Choose a \
                     writable data folder",
                    parent.display()
                ))
            })?;
        }
        let location = path.display().to_string();
        let mut writer = open_connection(path, &location)?;
        migrate(&mut writer, &location)?;
        let reader = open_connection(path, &location)?;
        tracing::debug!(db = %location, "Opened the tracking store.");
        Ok(Arc::new(Db { writer: Mutex::new(writer), reader: Mutex::new(reader), location }))
    }

    /// Returns the database path, for logs.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`) on the blocking pool. The
    /// transaction commits when `work` returns `Ok` and rolls back when it returns `Err`.
    pub async fn write<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(self);
        blocking(move || {
            let mut conn = db.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Runs `work` in one read transaction on the blocking pool, so every statement in it reads
    /// the same committed snapshot.
    pub async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(self);
        blocking(move || {
            let mut conn = db.reader.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = work(&tx)?;
            tx.finish()?;
            Ok(value)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| TrackingError::internal(format!("a tracking database task failed: {err}")))?
}

fn open_connection(path: &Path, location: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|err| {
        TrackingError::internal(format!("could not open the tracking database {location}: {err}"))
    })?;
    // The timeout comes first: switching to WAL needs a lock that another process may hold.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -16384;",
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

fn migrate(conn: &mut Connection, location: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS tracking_schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         );",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM tracking_schema_migrations",
        [],
        |row| row.get(0),
    )?;
    let newest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if current > newest {
        return Err(TrackingError::internal(format!(
            "the tracking schema in {location} is version {current}, newer than this weir \
             understands ({newest}). Upgrade weir or use another data folder"
        )));
    }
    for (version, script) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
        tx.execute_batch(script).map_err(|err| {
            TrackingError::internal(format!(
                "could not apply tracking migration {version} to {location}: {err}"
            ))
        })?;
        tx.execute(
            "INSERT INTO tracking_schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, crate::now_ms()),
        )?;
        tracing::info!(db = %location, version, "Applied a tracking schema migration.");
    }
    tx.execute(
        "INSERT OR IGNORE INTO tracking_experiments
             (experiment_id, name, artifact_location, lifecycle_stage, creation_time,
              last_update_time)
         VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', ?1, ?1)",
        [crate::now_ms()],
    )?;
    tx.commit()?;
    Ok(())
}
