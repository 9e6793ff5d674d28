//! `weir server`: serves the KFP v2beta1 REST API, so the kfp SDK client and the `kfp` command
//! line work against this machine, and runs the pipelines submitted to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use weir_executor::local::LocalExecutorOptions;
use weir_server::{Server, ServerConfig};

use crate::setup;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on, as HOST:PORT; port 0 picks a free port.
    #[arg(long, default_value = weir_server::DEFAULT_BIND, value_name = "ADDR")]
    bind: SocketAddr,
    /// Maximum tasks running at once over all runs [default: 4 per CPU core].
    #[arg(long, value_name = "N")]
    parallelism: Option<usize>,
    /// Python interpreter that runs Python components [default: python3 on PATH].
    #[arg(long, env = "WEIR_PYTHON", value_name = "PATH")]
    python: Option<PathBuf>,
}

pub async fn server(data_dir: &Path, args: ServerArgs) -> anyhow::Result<ExitCode> {
    let mut config = ServerConfig::new(args.bind, data_dir);
    config.engine.caching = setup::caching_enabled_globally()?;
    if let Some(n) = args.parallelism {
        if n == 0 {
            bail!("--parallelism must be at least 1");
        }
        config.engine.max_parallel_tasks = n;
    }
    config.executor = LocalExecutorOptions { python: args.python, ..Default::default() };

    let server = Server::bind(config).await?;
    eprintln!(
        "Weir server listening on http://{} (data in {}); press Ctrl-C to stop.",
        server.local_addr(),
        data_dir.display()
    );
    server.serve(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    eprintln!("Stopping the server; active runs resume at the next start.");
}
