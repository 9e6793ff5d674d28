//! The tracking server of a foreground run: `weir run` serves the MLflow API on a free
//! loopback port for as long as the run lasts, so tasks that call `mlflow` log to the same data
//! folder that `weir server` later serves. Afterwards [`print_links`] lists the tracking runs
//! the run's tasks made and the model versions registered from them.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use weir_tracking::links::{LinkedModelVersion, LinkedRun};
use weir_tracking::{Tracking, TrackingState};

/// A tracking server serving on a background task until [`EmbeddedTracking::stop`].
pub struct EmbeddedTracking {
    pub state: TrackingState,
    pub uri: String,
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl EmbeddedTracking {
    /// Opens the tracking store in the data folder and serves it on `127.0.0.1:<free port>`.
    pub async fn start(data_dir: &Path) -> anyhow::Result<EmbeddedTracking> {
        let db_path = data_dir.join(weir_store::sqlite::DB_FILE);
        let state = Tracking::open(&db_path, weir_server::tracking_artifact_root(data_dir))
            .with_context(|| format!("cannot open the tracking store {}", db_path.display()))?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .context("cannot open a local port for the run's tracking server")?;
        let addr = listener.local_addr().context("cannot read the tracking server's port")?;
        let uri = weir_server::tracking_uri_for(addr);
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let app = weir_tracking::router(state.clone()).fallback(weir_tracking::endpoint_not_found);
        let handle = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "The run's tracking server failed.");
            }
        });
        tracing::debug!(%uri, "Tracking server of the run started.");
        Ok(EmbeddedTracking { state, uri, stop, handle })
    }

    /// Stops serving and waits for open requests to finish.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.handle.await;
        tracing::debug!(uri = %self.uri, "Tracking server of the run stopped.");
    }
}

/// Writes the tracking runs that the Weir run's tasks made and the model versions registered
/// from them, as a `Tracking` section like the summary's other sections. Writes nothing when
/// there are none.
pub async fn print_links(
    out: &mut impl std::io::Write,
    tracking: &Tracking,
    weir_run_id: &str,
) -> std::io::Result<()> {
    let runs = tracking.runs_of_weir_run(weir_run_id).await.unwrap_or_else(|error| {
        tracing::warn!(run.id = %weir_run_id, %error, "Could not list the run's tracking runs.");
        Vec::new()
    });
    let versions = tracking.model_versions_of_weir_run(weir_run_id).await.unwrap_or_else(|error| {
        tracing::warn!(run.id = %weir_run_id, %error,
            "Could not list the run's registered model versions.");
        Vec::new()
    });
    write_links(out, &runs, &versions)
}

/// Writes tracking runs and model versions as a `Tracking (MLflow)` section; nothing when
/// both are empty.
pub fn write_links(
    out: &mut impl std::io::Write,
    runs: &[LinkedRun],
    versions: &[LinkedModelVersion],
) -> std::io::Result<()> {
    if runs.is_empty() && versions.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nTracking (MLflow)")?;
    for run in runs {
        writeln!(
            out,
            "  run {} ({}) from task {}: {}, experiment {}",
            run.run_id, run.run_name, run.task_path, run.status, run.experiment_id
        )?;
    }
    for version in versions {
        writeln!(
            out,
            "  registered model {} version {} (models:/{}/{})",
            version.name, version.version, version.name, version.version
        )?;
    }
    Ok(())
}
