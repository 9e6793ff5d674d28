//! `weir run FILE`: runs a compiled pipeline in the foreground with a progress display.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use weir_engine::{EngineConfig, EngineError, RunRequest};
use weir_executor::local::LocalExecutorOptions;
use weir_spec::{values, Pipeline};
use weir_store::State;

use crate::tracking::{self, EmbeddedTracking};
use crate::{display, progress, setup};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Compiled pipeline (YAML or JSON, as written by kfp.compiler).
    pub file: PathBuf,
    /// Pipeline argument as NAME=VALUE; repeat for several. Lists and dicts are JSON.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Run name [default: <pipeline name>-<UTC timestamp>-<first 8 characters of the run id>].
    #[arg(long)]
    pub name: Option<String>,
    /// Experiment of the run, by name; it is created when missing [default: Default]
    /// (needs --server).
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// With --server, wait until the run ends and print its outcome, as a local run does
    /// (local runs always wait).
    #[arg(long)]
    pub wait: bool,
    /// Run every task even when an earlier run cached its result.
    #[arg(long)]
    pub no_cache: bool,
    /// Maximum tasks running at once [default: 4 per CPU core] (local runs only).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// Timeout in seconds for tasks whose spec sets none (local runs only).
    #[arg(long, value_name = "SECONDS")]
    pub task_timeout: Option<f64>,
    /// Python interpreter that runs Python components [default: python3 on PATH] (local runs
    /// only; a server uses its own --python).
    #[arg(long, env = "WEIR_PYTHON", value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Print no progress, only the outcome.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
    /// MLflow tracking server for the tasks, given to them as MLFLOW_TRACKING_URI. The default
    /// is a tracking server inside this weir process that keeps its data in the data folder.
    /// Local runs only: a server gives tasks its own address.
    #[arg(long, env = "MLFLOW_TRACKING_URI", value_name = "URI")]
    pub tracking_uri: Option<String>,
}

pub async fn run(data_dir: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    // A closed stdout or stderr (`weir run ... | head`) must not stop the run halfway: write
    // errors are ignored instead.
    // SAFETY: setting a signal's disposition has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let pipeline = weir_spec::load_file(&args.file)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot load pipeline {}", args.file.display()))?;
    let arguments = parse_params(&pipeline, &args.params)?;
    if let Some(experiment) = &args.experiment {
        bail!(
            "--experiment {experiment:?} needs a server: local runs have no experiments. Pass \
             --server URL (or set WEIR_SERVER), and start the server with `weir server`"
        );
    }

    let mut config =
        EngineConfig { caching: setup::caching_enabled_globally()?, ..EngineConfig::default() };
    if let Some(n) = args.parallelism {
        if n == 0 {
            bail!("--parallelism must be at least 1");
        }
        config.max_parallel_tasks = n;
    }
    if let Some(seconds) = args.task_timeout {
        let timeout = Duration::try_from_secs_f64(seconds).ok().filter(|_| seconds > 0.0);
        let Some(timeout) = timeout else {
            bail!("--task-timeout must be a positive number of seconds, got {seconds}");
        };
        config.default_task_timeout = Some(timeout);
    }
    if let Some(python) = &args.python {
        check_python(python)?;
    }
    let embedded = match &args.tracking_uri {
        Some(uri) => {
            config.tracking_uri = Some(uri.clone());
            None
        }
        None => {
            let embedded = EmbeddedTracking::start(data_dir).await?;
            config.tracking_uri = Some(embedded.uri.clone());
            config.tracking_is_weir = true;
            Some(embedded)
        }
    };
    let executor = LocalExecutorOptions { python: args.python.clone(), ..Default::default() };
    let engine = setup::open_engine(data_dir, config, executor)?;

    let mut request = RunRequest::new(pipeline);
    request.arguments = arguments;
    request.name = args.name.clone();
    request.enable_caching = !args.no_cache;
    let run = match engine.submit(request).await {
        Ok(run) => run,
        Err(EngineError::InvalidArguments(message)) => bail!("invalid run arguments:\n{message}"),
        Err(e) => return Err(e.into()),
    };
    if !args.quiet && !args.json {
        note(&format!("Run {} ({}) started; data in {}", run.name, run.run_id, data_dir.display()));
    }

    let cancel = CancellationToken::new();
    spawn_interrupt_handler(cancel.clone());
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let show = !args.quiet && !args.json;
    let display_task = tokio::spawn(progress::show(events_rx, show));
    let finished = engine.execute(&run.run_id, cancel, Some(events_tx)).await?;
    let _ = display_task.await;
    if let (Some(embedded), true) = (&embedded, finished.state.is_final()) {
        weir_server::runs_manager::end_open_tracking_runs(&engine, &embedded.state, &run.run_id)
            .await;
    }

    let tasks = engine.store().list_tasks(&finished.run_id).await?;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    // Write errors (a closed stdout) are ignored: the run's outcome is already stored.
    let _ = if args.json {
        display::write_run_json(&mut stdout, &finished, &tasks)
    } else {
        std::io::Write::write_all(&mut stdout, display::run_summary(&finished, &tasks).as_bytes())
    };
    if let Some(embedded) = embedded {
        if !args.json {
            let _ = tracking::print_links(&mut stdout, &embedded.state, &finished.run_id).await;
        }
        embedded.stop().await;
    }
    let _ = std::io::Write::flush(&mut stdout);
    Ok(match finished.state {
        State::Succeeded => ExitCode::SUCCESS,
        State::Canceled => ExitCode::from(130),
        _ => ExitCode::from(1),
    })
}

/// Returns `text` as an artifact URI: URIs with a scheme as given, local paths absolute.
fn artifact_uri(text: &str) -> String {
    if text.contains("://") {
        return text.to_string();
    }
    match std::path::absolute(text) {
        Ok(path) => path.display().to_string(),
        Err(_) => text.to_string(),
    }
}

/// Checks that `--python` names an existing file, or a program on PATH.
fn check_python(python: &Path) -> anyhow::Result<()> {
    let found = if python.components().count() > 1 {
        python.is_file()
    } else {
        std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(python).is_file()))
            .unwrap_or(false)
    };
    if !found {
        bail!(
            "--python {}: no such interpreter; give the path of a Python that has kfp installed",
            python.display()
        );
    }
    Ok(())
}

/// Ctrl-C, SIGTERM or SIGHUP cancels the run: tasks get SIGTERM and the run is recorded as
/// canceled. A second signal kills the tasks at once.
fn spawn_interrupt_handler(cancel: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    for kind in [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()] {
        let mut stream = match signal(kind) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "Failed to watch a stop signal.");
                continue;
            }
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if sender.send(()).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    tokio::spawn(async move {
        if received.recv().await.is_none() {
            return;
        }
        note("\nCanceling the run: stopping its tasks.");
        cancel.cancel();
        // Exiting now would leave task processes running and the run recorded as CANCELING,
        // so a second signal only skips the grace period tasks get after SIGTERM.
        if received.recv().await.is_some() {
            note("Killing the run's tasks now.");
            weir_executor::local::kill_canceled_tasks_now();
        }
    });
}

/// Writes a line to stderr, ignoring a closed stderr.
fn note(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Parses `NAME=VALUE` pairs using the declared type of each root input.
pub fn parse_params(
    pipeline: &Pipeline,
    params: &[String],
) -> anyhow::Result<BTreeMap<String, Value>> {
    let definitions = &pipeline.spec.root.input_definitions;
    let mut arguments = BTreeMap::new();
    let mut problems = Vec::new();
    for param in params {
        let Some((name, text)) = param.split_once('=') else {
            problems.push(format!("invalid --param {param:?}: expected NAME=VALUE"));
            continue;
        };
        let name = name.trim();
        let value = match definitions.parameters.get(name) {
            Some(definition) => match values::parse_cli_value(text, definition.parameter_type) {
                Ok(value) => value,
                Err(e) => {
                    problems.push(format!("invalid value for pipeline parameter {name:?}: {e}"));
                    continue;
                }
            },
            // Artifacts take a URI; a relative local path is made absolute, because tasks run
            // in their own folders. Unknown names are reported by the engine with the list of
            // known inputs.
            None if definitions.artifacts.contains_key(name) => Value::String(artifact_uri(text)),
            None => Value::String(text.to_string()),
        };
        if arguments.insert(name.to_string(), value).is_some() {
            problems.push(format!("pipeline parameter {name:?} is given more than once"));
        }
    }
    if problems.is_empty() {
        Ok(arguments)
    } else {
        bail!("{}", problems.join("\n"))
    }
}
