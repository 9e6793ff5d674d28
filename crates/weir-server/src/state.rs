//! [`AppState`], what every handler shares: the store, the engine, the runs manager, the
//! scheduler's wake-up signal and the tracking store.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Notify;
use weir_engine::Engine;
use weir_store::CatalogStore;

use crate::runs_manager::RunsManager;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn CatalogStore>,
    pub engine: Engine,
    pub runs: RunsManager,
    /// Wakes the scheduler after a recurring run is created, enabled, disabled or deleted.
    pub scheduler_wake: Arc<Notify>,
    pub data_dir: PathBuf,
    /// The MLflow-compatible tracking store served next to the KFP API.
    pub tracking: weir_tracking::TrackingState,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
