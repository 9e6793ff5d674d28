//! [`LocalExecutor`]: runs a container task's command as a process on this machine, without
//! the container.
//!
//! The image is not pulled; the command runs in the task directory with the inherited
//! environment plus the container's `env` and the launch's extra variables. Each process is
//! spawned in its own process group, so a timeout or a cancel stops everything it started.
//! Stdout and stderr are appended to the task log line by line as they arrive, after a header
//! line per attempt.
//!
//! # Package-install reuse
//!
//! A lightweight Python component's command starts with an `sh -c "<script>"` wrapper that
//! runs `pip install kfp==<version>` (and the component's `packages_to_install`) and then runs
//! the rest of the argv through `"$0" "$@"`. Even when the packages are already installed, pip
//! takes about 0.4 s per task. With `reuse_installs` on (the default), the executor runs each
//! distinct install script once. The first task that needs it runs the script alone, as
//! `sh -c "<script>" sh -c :`, and holds a lock for that script text meanwhile. Concurrent
//! tasks with the same script wait for the lock. Once one such run exits 0, every task with
//! the identical script skips the wrapper and runs the rest of its argv (`argv[3..]`) directly. A failed install
//! fails the task and is retried by the next task. Scripts that activate a virtual environment
//! (`use_venv=True`) are always run in full, because the activation does not outlive them.
//! [`LocalExecutor::install_runs`] and [`LocalExecutor::installs_skipped`] count both cases.
//!
//! NOTE: reuse assumes installed packages stay installed for the executor's lifetime; a task
//! that uninstalls them breaks later tasks with the same script.

mod install;

/// Kills canceled tasks at once instead of after the grace period that follows SIGTERM. Tasks
/// are only affected once their run is canceled.
pub fn kill_canceled_tasks_now() {
    process::kill_now_token().cancel();
}
mod process;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, Instrument};

use crate::placeholders::build_argv;
use crate::{outputs, Executor, TaskLaunch, TaskOutcome};
use process::{ProcessEnd, ProcessSpec};

/// Settings of a [`LocalExecutor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalExecutorOptions {
    /// Interpreter that replaces `python3` and `python` where the command runs them (not in
    /// the component source), as kfp.local does. `None` keeps whatever `python3` is first on
    /// `PATH`.
    pub python: Option<PathBuf>,
    /// Run each distinct package-install wrapper once and skip it afterwards.
    pub reuse_installs: bool,
}

impl Default for LocalExecutorOptions {
    fn default() -> Self {
        LocalExecutorOptions { python: None, reuse_installs: true }
    }
}

/// Runs container tasks as local processes.
#[derive(Debug, Default)]
pub struct LocalExecutor {
    options: LocalExecutorOptions,
    /// Images already reported as not pulled.
    images_seen: Mutex<HashSet<String>>,
    /// Per install script: a lock held while it runs, and whether a run succeeded.
    installs: Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>,
    install_runs: AtomicUsize,
    installs_skipped: AtomicUsize,
    kfp_installed: tokio::sync::OnceCell<bool>,
    legacy_executor_main_missing: tokio::sync::OnceCell<bool>,
}

impl LocalExecutor {
    pub fn new(options: LocalExecutorOptions) -> Self {
        LocalExecutor { options, ..Default::default() }
    }

    pub fn options(&self) -> &LocalExecutorOptions {
        &self.options
    }

    /// Number of package-install scripts run so far, failed runs included.
    pub fn install_runs(&self) -> usize {
        self.install_runs.load(Ordering::Relaxed)
    }

    /// Number of tasks that skipped their package-install wrapper.
    pub fn installs_skipped(&self) -> usize {
        self.installs_skipped.load(Ordering::Relaxed)
    }

    fn note_image(&self, image: &str) {
        if image.is_empty() {
            return;
        }
        let mut seen = self.images_seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.insert(image.to_string()) {
            info!(image, "Image not pulled; the task runs as a local process.");
        }
    }

    /// Returns whether the interpreter that runs Python components can import kfp (checked once).
    async fn kfp_installed(&self) -> bool {
        let python = self.options.python.clone().unwrap_or_else(|| "python3".into());
        *self
            .kfp_installed
            .get_or_init(|| async move {
                let check = tokio::process::Command::new(&python)
                    .args([
                        "-c",
                        "import importlib.util as u, sys; sys.exit(u.find_spec('kfp') is None)",
                    ])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .await;
                let installed = check.map(|s| s.success()).unwrap_or(false);
                info!(python = %python.display(), installed, "Checked whether kfp is installed.");
                installed
            })
            .await
    }

    /// Returns whether the interpreter's kfp has `kfp.dsl.executor_main` and no longer has
    /// `kfp.components.executor_main`, as in kfp 2.1 and later (checked once).
    async fn legacy_executor_main_missing(&self) -> bool {
        let python = self.options.python.clone().unwrap_or_else(|| "python3".into());
        *self
            .legacy_executor_main_missing
            .get_or_init(|| async move {
                let check = tokio::process::Command::new(&python)
                    .args(["-c", install::LEGACY_EXECUTOR_MAIN_MISSING_CHECK])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .await;
                let missing = check.map(|s| s.success()).unwrap_or(false);
                info!(python = %python.display(), missing,
                    "Checked whether kfp still has kfp.components.executor_main.");
                missing
            })
            .await
    }

    /// Makes sure the install script has succeeded once, running it if needed.
    ///
    /// Returns `Err` with the task's outcome when the install did not succeed.
    async fn ensure_installed(
        &self,
        launch: &TaskLaunch,
        argv: &[String],
        env: &[(String, String)],
        log: &Arc<File>,
        deadline: Option<Instant>,
        cancel: &CancellationToken,
    ) -> Result<(), TaskOutcome> {
        let script = &argv[2];
        let state = {
            let mut installs = self.installs.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(installs.entry(script.clone()).or_default())
        };
        let mut installed = tokio::select! {
            guard = state.lock() => guard,
            () = cancel.cancelled() => return Err(TaskOutcome::Canceled),
            () = sleep_until(deadline) => return Err(timed_out(launch)),
        };
        if *installed {
            self.installs_skipped.fetch_add(1, Ordering::Relaxed);
            debug!(task = %launch.task_path, "Package install already done; skipping the wrapper.");
            return Ok(());
        }

        self.install_runs.fetch_add(1, Ordering::Relaxed);
        // `"$0" "$@"` at the end of the script becomes `sh -c :`, which does nothing.
        let install_argv = [&argv[0], &argv[1], script, &argv[0], "-c", ":"].map(String::from);
        let spec = ProcessSpec { argv: &install_argv, cwd: &launch.task_root, env, log, deadline };
        match process::run(spec, cancel).await {
            Ok(ProcessEnd::Exited { status, .. }) if status.success() => {
                *installed = true;
                Ok(())
            }
            Ok(ProcessEnd::Exited { status, stderr_tail }) => {
                let what = format!("package install step (`{} -c <script>`)", argv[0]);
                let message = failure_message(&what, status, &stderr_tail, &launch.log_path);
                Err(TaskOutcome::Failed { message })
            }
            Ok(ProcessEnd::TimedOut) => Err(timed_out(launch)),
            Ok(ProcessEnd::Canceled) => Err(TaskOutcome::Canceled),
            Err(error) => {
                Err(TaskOutcome::LaunchFailed { message: spawn_message(&argv[0], &error) })
            }
        }
    }

    async fn run_attempt(&self, launch: &TaskLaunch, cancel: &CancellationToken) -> TaskOutcome {
        if cancel.is_cancelled() {
            return TaskOutcome::Canceled;
        }
        let deadline = launch.timeout.map(|timeout| Instant::now() + timeout);
        self.note_image(&launch.container.image);

        if let Err(message) = prepare_directories(launch) {
            return TaskOutcome::LaunchFailed { message };
        }
        let container = match &self.options.python {
            Some(python) => Cow::Owned(install::rewrite_python(&launch.container, python)),
            None => Cow::Borrowed(&launch.container),
        };
        let argv = match build_argv(&container, &launch.executor_input, &launch.context) {
            Ok(argv) if argv.is_empty() => {
                let message = "the container spec has no command or args; Weir does not run \
                               image entrypoints, so the component must set a command"
                    .to_string();
                return TaskOutcome::LaunchFailed { message };
            }
            Ok(argv) => argv,
            Err(error) => {
                let message = format!("failed to build the command line: {error}");
                return TaskOutcome::LaunchFailed { message };
            }
        };

        let log = match open_log(&launch.log_path) {
            Ok(log) => Arc::new(log),
            Err(message) => return TaskOutcome::LaunchFailed { message },
        };
        write_log_line(&log, &format!("--- attempt {} ({}) ---", launch.attempt, now_utc()));

        let env: Vec<(String, String)> = launch
            .container
            .env
            .iter()
            .map(|var| (var.name.clone(), var.value.clone()))
            .chain(launch.env.iter().cloned())
            .collect();

        let mut argv = argv;
        if install::install_wrapper(&argv).is_some() && self.kfp_installed().await {
            if let Some(unpinned) = install::unpin_kfp(&argv[2]) {
                debug!(task = %launch.task_path,
                    "kfp is installed; the component's kfp version pin is not installed over it.");
                argv[2] = unpinned;
                if self.legacy_executor_main_missing().await
                    && install::rename_legacy_executor_main(&mut argv)
                {
                    debug!(task = %launch.task_path,
                        "The component names kfp.components.executor_main; running \
                         kfp.dsl.executor_main of the installed kfp instead.");
                }
            }
        }

        let mut command = &argv[..];
        if self.options.reuse_installs && install::install_wrapper(&argv).is_some() {
            let installed = self.ensure_installed(launch, &argv, &env, &log, deadline, cancel);
            if let Err(outcome) = installed.await {
                return outcome;
            }
            command = &argv[3..];
        }

        let spec =
            ProcessSpec { argv: command, cwd: &launch.task_root, env: &env, log: &log, deadline };
        let end = match process::run(spec, cancel).await {
            Ok(end) => end,
            Err(error) => {
                return TaskOutcome::LaunchFailed { message: spawn_message(&command[0], &error) };
            }
        };
        match end {
            ProcessEnd::Exited { status, .. } if status.success() => {
                match outputs::collect(&launch.executor_input, &launch.output_parameter_types) {
                    Ok(outputs) => TaskOutcome::Succeeded(outputs),
                    Err(error) => TaskOutcome::Failed {
                        message: format!(
                            "the task exited with code 0, but collecting its outputs failed: \
                             {error}"
                        ),
                    },
                }
            }
            ProcessEnd::Exited { status, stderr_tail } => {
                let what = format!("command `{}`", command[0]);
                TaskOutcome::Failed {
                    message: failure_message(&what, status, &stderr_tail, &launch.log_path),
                }
            }
            ProcessEnd::TimedOut => timed_out(launch),
            ProcessEnd::Canceled => TaskOutcome::Canceled,
        }
    }
}

#[async_trait]
impl Executor for LocalExecutor {
    async fn run(&self, launch: TaskLaunch, cancel: CancellationToken) -> TaskOutcome {
        let span = info_span!(
            "task_attempt",
            run.id = %launch.run_id,
            task.path = %launch.task_path,
            attempt = launch.attempt
        );
        let outcome = self.run_attempt(&launch, &cancel).instrument(span).await;
        if let Ok(log) = open_log(&launch.log_path) {
            write_log_line(&log, &summary_line(launch.attempt, &outcome));
        }
        info!(
            run.id = %launch.run_id,
            task.path = %launch.task_path,
            attempt = launch.attempt,
            outcome = outcome_name(&outcome),
            "Task attempt finished."
        );
        outcome
    }

    fn image_note(&self, image: &str) -> Option<String> {
        Some(format!("image {image} is not pulled; its tasks run as local processes"))
    }
}

/// Creates the task directory and the parent directories of every output file and local
/// output artifact path, and removes output files left by an earlier attempt.
fn prepare_directories(launch: &TaskLaunch) -> Result<(), String> {
    create_dir(&launch.task_root)?;
    let outputs = &launch.executor_input.outputs;
    let parameter_files = outputs.parameters.values().map(|parameter| &parameter.output_file);
    for file in parameter_files.chain([&outputs.output_file]) {
        if file.is_empty() {
            continue;
        }
        let path = Path::new(file);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        remove_stale(path)?;
    }
    for artifact in outputs.artifacts.values().flat_map(|list| &list.artifacts) {
        // Remote URIs map to mount points such as /gcs/..., which this executor does not
        // provide, so only local output paths get their directories.
        let is_remote = artifact.uri.contains("://") && !artifact.uri.starts_with("file://");
        if is_remote {
            continue;
        }
        let path = weir_artifacts::local_path_for_uri(&artifact.uri);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
    }
    if let Some(parent) = launch.log_path.parent() {
        create_dir(parent)?;
    }
    Ok(())
}

fn create_dir(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(path)
        .map_err(|error| format!("failed to create directory {}: {error}", path.display()))
}

fn remove_stale(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!(
            "failed to remove output file {} of an earlier attempt: {error}",
            path.display()
        )),
    }
}

fn open_log(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| format!("failed to open task log {}: {error}", path.display()))
}

fn write_log_line(log: &File, line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    if let Err(error) = (&*log).write_all(text.as_bytes()) {
        debug!(%error, "Failed to write to the task log.");
    }
}

fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn timed_out(launch: &TaskLaunch) -> TaskOutcome {
    TaskOutcome::TimedOut { after: launch.timeout.unwrap_or_default() }
}

fn spawn_message(program: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            format!("command '{program}' not found; check PATH or the component's command")
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "command '{program}' is not executable; check its file permissions or the \
             component's command"
        ),
        _ => format!("failed to start command '{program}': {error}"),
    }
}

/// Describes a non-zero exit, with the last stderr lines and where the full log is.
fn failure_message(what: &str, status: ExitStatus, stderr_tail: &[String], log: &Path) -> String {
    let mut message = match (status.code(), status.signal()) {
        (Some(code), _) => format!("{what} exited with code {code}"),
        (None, Some(signal)) => format!("{what} was killed by signal {signal}"),
        (None, None) => format!("{what} failed ({status})"),
    };
    if stderr_tail.is_empty() {
        message.push_str("; it wrote nothing to stderr");
    } else {
        message.push_str("; last lines of stderr:");
        for line in stderr_tail {
            message.push_str("\n  ");
            message.push_str(line);
        }
    }
    message.push_str(&format!("\nfull log: {}", log.display()));
    message
}

fn summary_line(attempt: u32, outcome: &TaskOutcome) -> String {
    let first_line = |message: &str| message.lines().next().unwrap_or_default().to_string();
    let summary = match outcome {
        TaskOutcome::Succeeded(_) => "succeeded".to_string(),
        TaskOutcome::Failed { message } => format!("failed: {}", first_line(message)),
        TaskOutcome::LaunchFailed { message } => {
            format!("could not start: {}", first_line(message))
        }
        TaskOutcome::TimedOut { after } => {
            format!("timed out after {after:?}; its process group was killed")
        }
        TaskOutcome::Canceled => "canceled; its process group was stopped".to_string(),
    };
    format!("--- attempt {attempt} {summary} ---")
}

fn outcome_name(outcome: &TaskOutcome) -> &'static str {
    match outcome {
        TaskOutcome::Succeeded(_) => "succeeded",
        TaskOutcome::Failed { .. } => "failed",
        TaskOutcome::LaunchFailed { .. } => "launch_failed",
        TaskOutcome::TimedOut { .. } => "timed_out",
        TaskOutcome::Canceled => "canceled",
    }
}
