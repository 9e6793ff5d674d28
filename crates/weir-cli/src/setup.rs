//! Shared start-up: logging, the data folder, and opening the store and engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use weir_artifacts::LocalArtifactStore;
use weir_engine::{Engine, EngineConfig};
use weir_executor::local::{LocalExecutor, LocalExecutorOptions};
use weir_store::sqlite::SqliteStore;
use weir_store::Store;

pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The data folder as an absolute path, because task processes run in their own folders and
/// must see absolute artifact paths.
pub fn data_dir(option: Option<PathBuf>) -> PathBuf {
    let dir = option.unwrap_or_else(weir_store::sqlite::default_data_dir);
    std::path::absolute(&dir).unwrap_or(dir)
}

pub fn open_store(data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let path = data_dir.join(weir_store::sqlite::DB_FILE);
    let store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the state store {}", path.display()))?;
    Ok(Arc::new(store))
}

pub fn artifact_store(data_dir: &Path) -> LocalArtifactStore {
    LocalArtifactStore::new(data_dir.join("artifacts"))
}

pub fn open_engine(
    data_dir: &Path,
    config: EngineConfig,
    executor: LocalExecutorOptions,
) -> anyhow::Result<Engine> {
    let path = data_dir.join(weir_store::sqlite::DB_FILE);
    let store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the state store {}", path.display()))?;
    // A foreground run only writes; SQLite's own default cache (about 2 MB) is enough.
    store.set_cache_size_kib(2000)?;
    let store: Arc<dyn Store> = Arc::new(store);
    let executor = Arc::new(LocalExecutor::new(executor));
    Ok(Engine::new(store, executor, artifact_store(data_dir), config))
}

/// Reads the global cache switch `WEIR_CACHE` (`on` or `off`; default on).
pub fn caching_enabled_globally() -> anyhow::Result<bool> {
    match std::env::var("WEIR_CACHE") {
        Err(_) => Ok(true),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "on" | "1" | "true" => Ok(true),
            "off" | "0" | "false" => Ok(false),
            _ => bail!("invalid WEIR_CACHE={value:?}; use on or off"),
        },
    }
}
