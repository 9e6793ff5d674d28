//! Shared helpers for the engine's integration tests.
//!
//! [`Harness`] owns a temporary folder with a SQLite store, a local artifact store and an
//! [`Engine`] that runs tasks as local processes. [`Harness::run`] runs one pipeline file to its
//! final state and returns the run and its task records, which the `assert_*` helpers check by
//! task path, so each test reads as a table of expected states and values.
//!
//! Python components need an interpreter with kfp installed: `WEIR_TEST_PYTHON`, or else the
//! repository's `.venv` that `scripts/python_env.sh` creates.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use weir_artifacts::LocalArtifactStore;
use weir_engine::{Engine, EngineConfig, EngineError, RunRequest, TaskEvent};
use weir_executor::local::{LocalExecutor, LocalExecutorOptions};
use weir_executor::RuntimeArtifact;
use weir_spec::Pipeline;
use weir_store::sqlite::SqliteStore;
use weir_store::{RunRecord, State, TaskRecord};

/// Maximum time of any single run in these tests, so a hung engine fails its test instead of
/// blocking the suite.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Engine settings for tests: the defaults with a short cancel poll interval.
pub fn test_config() -> EngineConfig {
    EngineConfig { cancel_poll_interval: Duration::from_millis(50), ..EngineConfig::default() }
}

/// Returns the Python interpreter that runs lightweight Python components.
///
/// Panics with the fix when neither `WEIR_TEST_PYTHON` nor the repository's `.venv` exists.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("WEIR_TEST_PYTHON") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "WEIR_TEST_PYTHON names {}, which does not exist; point it at a python3 with kfp \
             installed, or unset it and run scripts/python_env.sh",
            path.display()
        );
        return path;
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with kfp for the engine tests: {} does not exist. Run scripts/python_env.sh, \
         or set WEIR_TEST_PYTHON to a python3 with kfp 2.17 installed",
        venv.display()
    );
    venv
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Resolves a pipeline file name: a bare name (`sleep.yaml`) is one of the repository's test
/// pipelines in `tests/pipelines/`, and a name with a folder (`bench/fanout.yaml`) is relative
/// to this crate's `tests/data/`.
pub fn pipeline_path(file: &str) -> PathBuf {
    if file.contains('/') {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file)
    } else {
        workspace_root().join("tests/pipelines").join(file)
    }
}

pub fn load(file: &str) -> Pipeline {
    let path = pipeline_path(file);
    match weir_spec::load_file(&path) {
        Ok(pipeline) => pipeline,
        Err(e) => panic!("failed to load {}: {e}", path.display()),
    }
}

pub fn load_text(yaml: &str) -> Pipeline {
    match weir_spec::load_str(yaml, "test pipeline") {
        Ok(pipeline) => pipeline,
        Err(e) => panic!("failed to load the test pipeline: {e}"),
    }
}

/// Builds a run request for `pipeline` with caching on and the given arguments.
pub fn request(pipeline: Pipeline, arguments: &[(&str, Value)]) -> RunRequest {
    let mut request = RunRequest::new(pipeline);
    for (name, value) in arguments {
        request.arguments.insert(name.to_string(), value.clone());
    }
    request
}

/// Returns the executor every harness of this test binary uses. Sharing it means the package
/// install step of Python components (`pip install kfp`, about 0.8 s) runs once per binary
/// rather than once per test.
pub fn shared_executor() -> Arc<LocalExecutor> {
    static EXECUTOR: OnceLock<Arc<LocalExecutor>> = OnceLock::new();
    let executor = EXECUTOR.get_or_init(|| {
        let options = LocalExecutorOptions { python: Some(python()), reuse_installs: true };
        Arc::new(LocalExecutor::new(options))
    });
    Arc::clone(executor)
}

/// A temporary folder with a store, an artifact store and an engine over a local executor.
pub struct Harness {
    pub dir: TempDir,
    pub engine: Engine,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(test_config())
    }

    pub fn with_config(config: EngineConfig) -> Harness {
        let dir = match tempfile::Builder::new().prefix("weir-engine-test-").tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("failed to create a temporary folder: {e}"),
        };
        let store = match SqliteStore::open(&dir.path().join("weir.db")) {
            Ok(store) => store,
            Err(e) => panic!("failed to open the test store: {e}"),
        };
        let artifacts = LocalArtifactStore::new(dir.path().join("artifacts"));
        let engine = Engine::new(Arc::new(store), shared_executor(), artifacts, config);
        Harness { dir, engine }
    }

    /// Returns a path in the harness folder outside the artifact store, for files a test passes to
    /// tasks.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join("scratch");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("failed to create {}: {e}", dir.display());
        }
        dir.join(name)
    }

    /// Submits `file` with `arguments`, returning the submit error if there is one.
    pub async fn submit(
        &self,
        file: &str,
        arguments: &[(&str, Value)],
    ) -> Result<RunRecord, EngineError> {
        self.engine.submit(request(load(file), arguments)).await
    }

    /// Runs `file` with `arguments` to its final state.
    pub async fn run(
        &self,
        file: &str,
        arguments: &[(&str, Value)],
    ) -> (RunRecord, Vec<TaskRecord>) {
        self.run_request(request(load(file), arguments)).await
    }

    /// Runs a request to its final state; panics if submitting or executing returns an error.
    pub async fn run_request(&self, request: RunRequest) -> (RunRecord, Vec<TaskRecord>) {
        let run = match self.engine.submit(request).await {
            Ok(run) => run,
            Err(e) => panic!("submit failed: {e}"),
        };
        self.execute(&run.run_id, CancellationToken::new(), None).await
    }

    /// Executes a submitted run to its final state and reads back its tasks.
    pub async fn execute(
        &self,
        run_id: &str,
        cancel: CancellationToken,
        events: Option<UnboundedSender<TaskEvent>>,
    ) -> (RunRecord, Vec<TaskRecord>) {
        let executed =
            tokio::time::timeout(RUN_TIMEOUT, self.engine.execute(run_id, cancel, events)).await;
        let run = match executed {
            Ok(Ok(run)) => run,
            Ok(Err(e)) => panic!("execute failed: {e}"),
            Err(_) => panic!("run {run_id} did not finish within {RUN_TIMEOUT:?}"),
        };
        let tasks = self.tasks(run_id).await;
        (run, tasks)
    }

    pub async fn tasks(&self, run_id: &str) -> Vec<TaskRecord> {
        match self.engine.store().list_tasks(run_id).await {
            Ok(tasks) => tasks,
            Err(e) => panic!("failed to list the tasks of run {run_id}: {e}"),
        }
    }
}

/// Finds the task record at `path`; the panic message lists every path of the run.
pub fn task<'a>(tasks: &'a [TaskRecord], path: &str) -> &'a TaskRecord {
    match tasks.iter().find(|t| t.path == path) {
        Some(task) => task,
        None => {
            let paths: Vec<&str> = tasks.iter().map(|t| t.path.as_str()).collect();
            panic!("no task {path:?}; the run has {paths:?}")
        }
    }
}

/// Checks the run state, showing the run error on a mismatch.
pub fn assert_run_state(run: &RunRecord, expected: State) {
    assert_eq!(run.state, expected, "state of run {} (error: {:?})", run.run_id, run.error);
}

pub fn assert_state(task: &TaskRecord, expected: State) {
    assert_eq!(task.state, expected, "state of task {:?} (error: {:?})", task.path, task.error);
}

/// Checks the state of each `(path, state)` pair.
pub fn assert_states(tasks: &[TaskRecord], expected: &[(&str, State)]) {
    for (path, state) in expected {
        assert_state(task(tasks, path), *state);
    }
}

/// Checks that the task at `path` started no process and produced nothing: either it has no
/// record, or its record is final without attempts or outputs (the engine may record it as
/// SKIPPED or CANCELED).
pub fn assert_not_run(tasks: &[TaskRecord], path: &str) {
    let Some(task) = tasks.iter().find(|t| t.path == path) else { return };
    assert!(task.state.is_final(), "task {path:?} is {} but should not run", task.state);
    assert_ne!(task.state, State::Succeeded, "task {path:?} should not run");
    assert_ne!(task.state, State::Failed, "task {path:?} should not run");
    assert_eq!(task.attempts, 0, "attempts of task {path:?}, which should not run");
    assert_no_outputs(&task.outputs, path);
}

/// Checks that no task path starts with `prefix` (used for the children of skipped DAGs).
pub fn assert_no_tasks_under(tasks: &[TaskRecord], prefix: &str) {
    let found: Vec<&str> =
        tasks.iter().map(|t| t.path.as_str()).filter(|p| p.starts_with(prefix)).collect();
    for path in found {
        assert_not_run(tasks, path);
    }
}

fn assert_no_outputs(outputs: &Value, owner: &str) {
    let empty_map =
        |key: &str| outputs.get(key).and_then(Value::as_object).is_none_or(|map| map.is_empty());
    assert!(empty_map("parameters"), "output parameters of {owner}: {outputs}");
    assert!(empty_map("artifacts"), "output artifacts of {owner}: {outputs}");
}

/// Returns the output parameter `name` of `outputs` (`{"parameters": {...}, "artifacts": {...}}`).
pub fn output_param<'a>(outputs: &'a Value, name: &str, owner: &str) -> &'a Value {
    match outputs.pointer(&format!("/parameters/{name}")) {
        Some(value) => value,
        None => panic!("{owner} has no output parameter {name:?}; its outputs are {outputs}"),
    }
}

/// Returns the single artifact of output `name`.
pub fn output_artifact(outputs: &Value, name: &str, owner: &str) -> RuntimeArtifact {
    let list = outputs.pointer(&format!("/artifacts/{name}"));
    let Some(list) = list else {
        panic!("{owner} has no output artifact {name:?}; its outputs are {outputs}")
    };
    let artifacts: Vec<RuntimeArtifact> = match serde_json::from_value(list.clone()) {
        Ok(artifacts) => artifacts,
        Err(e) => panic!("output artifact {name:?} of {owner} is not a list of artifacts: {e}"),
    };
    assert_eq!(artifacts.len(), 1, "number of artifacts in output {name:?} of {owner}");
    artifacts.into_iter().next().unwrap_or_default()
}

/// Checks a task's output parameter; numbers compare by value (`1` equals `1.0`).
pub fn assert_output_param(task: &TaskRecord, name: &str, expected: Value) {
    let owner = format!("task {:?}", task.path);
    let actual = output_param(&task.outputs, name, &owner);
    assert!(
        json_equal(actual, &expected),
        "output {name:?} of {owner}: expected {expected}, got {actual}"
    );
}

/// Checks a pipeline output parameter; numbers compare by value.
pub fn assert_run_output_param(run: &RunRecord, name: &str, expected: Value) {
    let actual = output_param(&run.outputs, name, "the run");
    assert!(
        json_equal(actual, &expected),
        "pipeline output {name:?}: expected {expected}, got {actual}"
    );
}

/// Checks the pipeline's output parameters are exactly `expected`.
pub fn assert_run_outputs(run: &RunRecord, expected: &[(&str, Value)]) {
    for (name, value) in expected {
        assert_run_output_param(run, name, value.clone());
    }
    let names: Vec<&String> = run
        .outputs
        .get("parameters")
        .and_then(Value::as_object)
        .map(|map| map.keys().collect())
        .unwrap_or_default();
    assert_eq!(names.len(), expected.len(), "pipeline output parameters: {names:?}");
}

/// Checks the run has no pipeline outputs at all.
pub fn assert_no_run_outputs(run: &RunRecord) {
    assert_no_outputs(&run.outputs, "the run");
}

/// Checks the stored records after a run ended: the run has its finish time and every task is
/// in a final state with a finish time, and a start time no later than it when it started.
pub fn assert_store_final(run: &RunRecord, tasks: &[TaskRecord]) {
    assert!(run.state.is_final(), "run state {} is not final", run.state);
    assert!(run.finished_at.is_some(), "run {} has no finished_at", run.run_id);
    for task in tasks {
        assert!(task.state.is_final(), "task {:?} was left in state {}", task.path, task.state);
        let Some(finished) = task.finished_at else {
            panic!("task {:?} has no finished_at", task.path);
        };
        if let Some(started) = task.started_at {
            assert!(started <= finished, "task {:?} finished before it started", task.path);
        }
        if task.attempts > 0 {
            assert!(task.started_at.is_some(), "task {:?} ran but has no started_at", task.path);
        }
    }
}

/// Equality of JSON values where numbers compare by numeric value.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(key, a)| y.get(key).is_some_and(|b| json_equal(a, b)))
        }
        _ => a == b,
    }
}

/// Reads a text file the test or a task wrote.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("failed to read {}: {e}", path.display()),
    }
}

/// Reads the local file or folder behind an artifact URI as text (a file's content).
pub fn read_artifact(artifact: &RuntimeArtifact) -> String {
    read(weir_artifacts::local_path_for_uri(&artifact.uri))
}

/// Returns a sleep length in seconds that no other test uses, so a test finds its own `sleep`
/// processes with [`sleep_processes`]. The value is about 12 to 35 days, which no test waits for.
pub fn unique_seconds() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let salt = u64::from(std::process::id()) * 1_000 + COUNTER.fetch_add(1, Ordering::Relaxed);
    1_000_000 + (nanos + salt * 7_919) % 2_000_000
}

/// Ids of live processes whose command line runs `sleep` with the argument `seconds`, found by
/// reading `/proc` (Linux only).
pub fn sleep_processes(seconds: u64) -> Vec<u32> {
    let needle = seconds.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == &needle) && args.iter().any(|a| a.contains("sleep")) {
            found.push(pid);
        }
    }
    found
}

/// Polls `condition` every 20 ms until it is true or `limit` passes, and returns its last value.
pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
