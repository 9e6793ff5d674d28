//! Shared helpers for the tests that run the real `weir` binary.
//!
//! [`Weir`] owns a temporary data folder and runs `weir --data-dir <folder> ...` against it,
//! returning an [`Outcome`] (exit code, stdout, stderr). [`Background`] is a `weir` process
//! left running so a test can signal or cancel it. The process helpers find task processes by
//! a unique argument, so a test can check that a stopped task left nothing behind.
//!
//! Python components need a `python3` with kfp: the interpreter named by `WEIR_TEST_PYTHON`,
//! or else the repository's `.venv`. Its folder goes first on the child's `PATH`, as activating
//! the environment would do, because `weir` runs Python components with the `python3` on
//! `PATH`.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Maximum time one `weir` command may take before its test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variables that `weir` reads. The tests clear them so that the caller's shell
/// cannot change the outcome.
const WEIR_VARIABLES: [&str; 8] = [
    "WEIR_DATA_DIR",
    "WEIR_LOG",
    "WEIR_PYTHON",
    "WEIR_CACHE",
    "WEIR_SERVER",
    "RUST_LOG",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_RUN_CONTEXT",
];

/// A pipeline of two container tasks that print a text: `first` prints
/// `said: <greeting>` and `second`, after it, prints `said: bye`. Caching is off.
pub const ECHO_PIPELINE: &str = r#"
pipelineInfo: {name: echo}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      greeting: {parameterType: STRING, defaultValue: hello}
  dag:
    tasks:
      first:
        componentRef: {name: comp-echo}
        taskInfo: {name: first}
        cachingOptions: {}
        inputs:
          parameters:
            text: {componentInputParameter: greeting}
      second:
        componentRef: {name: comp-echo}
        dependentTasks: [first]
        taskInfo: {name: second}
        cachingOptions: {}
        inputs:
          parameters:
            text: {runtimeValue: {constant: bye}}
components:
  comp-echo:
    executorLabel: exec-echo
    inputDefinitions:
      parameters:
        text: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-echo:
      container:
        image: alpine:3.20
        command: [sh, -c, 'echo "said: $0"']
        args: ['{{$.inputs.parameters[''text'']}}']
"#;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Returns the path of one of the repository's test pipelines (`tests/pipelines/<file>`).
pub fn pipeline(file: &str) -> PathBuf {
    let path = workspace_root().join("tests/pipelines").join(file);
    assert!(path.is_file(), "test pipeline {} does not exist", path.display());
    path
}

/// Returns the folder of the Python interpreter that runs Python components.
///
/// Panics with the fix when the interpreter or a `python3` next to it is missing.
pub fn python_bin_dir() -> PathBuf {
    let python = match std::env::var_os("WEIR_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "no Python with kfp for the weir CLI tests: {} does not exist. Run \
         scripts/python_env.sh, or set WEIR_TEST_PYTHON to a python3 with kfp 2.17 installed",
        python.display()
    );
    let Some(dir) = python.parent().map(Path::to_path_buf) else {
        panic!("WEIR_TEST_PYTHON {} has no parent folder", python.display());
    };
    assert!(
        dir.join("python3").exists(),
        "{} has no `python3`, which weir runs for Python components; point WEIR_TEST_PYTHON at \
         an interpreter in a folder that has one (such as a virtualenv's bin/python)",
        dir.display()
    );
    dir
}

/// Returns `PATH` for `weir` child processes: the Python folder first, then the caller's.
fn child_path() -> OsString {
    let mut folders = vec![python_bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        folders.extend(std::env::split_paths(&path));
    }
    match std::env::join_paths(folders) {
        Ok(path) => path,
        Err(e) => panic!("cannot build PATH for the weir process: {e}"),
    }
}

/// Returns a `weir` command with a clean environment and no data folder argument.
pub fn weir_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    for name in WEIR_VARIABLES {
        command.env_remove(name);
    }
    command.env("PATH", child_path()).stdin(Stdio::null());
    command
}

/// Exit code and output of one finished `weir` command.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the exit code, showing both output streams when it differs.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
    }

    /// Asserts that stderr contains each of `parts`.
    pub fn assert_stderr_has(&self, parts: &[&str]) {
        for part in parts {
            assert!(self.stderr.contains(part), "{part:?} not in stderr:\n{}", self.stderr);
        }
    }

    /// Asserts that stdout contains each of `parts`.
    pub fn assert_stdout_has(&self, parts: &[&str]) {
        for part in parts {
            assert!(self.stdout.contains(part), "{part:?} not in stdout:\n{}", self.stdout);
        }
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> Value {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!(
                "stdout is not JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            ),
        }
    }
}

/// Runs `command` to completion, failing the test after [`COMMAND_TIMEOUT`].
pub fn finish(command: &mut Command) -> Outcome {
    Background::start(command).wait(COMMAND_TIMEOUT)
}

/// A `weir` process running in the background, killed on drop if the test did not wait for
/// it.
pub struct Background {
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Background {
    pub fn start(command: &mut Command) -> Background {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {command:?}: {e}"),
        };
        let stdout = child.stdout.take().map(spawn_reader);
        let stderr = child.stderr.take().map(spawn_reader);
        Background { child: Some(child), stdout, stderr }
    }

    pub fn pid(&self) -> i32 {
        let id = self.child.as_ref().map(Child::id).unwrap_or(0);
        match i32::try_from(id) {
            Ok(pid) if pid > 0 => pid,
            _ => panic!("the weir process has no valid pid ({id})"),
        }
    }

    /// Sends `signal` to the `weir` process only (not to its task processes).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.pid();
        // SAFETY: kill only sends a signal. The pid is our own child, which is not reaped
        // until `wait`, so the id cannot belong to another process.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal}) failed: {}", std::io::Error::last_os_error());
    }

    /// Returns whether the process has exited, without reaping it for good.
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(_))) => true,
            Some(Ok(None)) => false,
            Some(Err(e)) => panic!("cannot wait for the weir process: {e}"),
            None => true,
        }
    }

    /// Waits for the process to exit and returns its outcome; kills it and fails the test
    /// after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Outcome {
        let Some(mut child) = self.child.take() else {
            panic!("the weir process was already waited for");
        };
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = join_reader(self.stderr.take());
                    panic!("weir did not exit within {timeout:?}; its stderr:\n{stderr}");
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("cannot wait for the weir process: {e}"),
            }
        };
        Outcome {
            code: status.code(),
            stdout: join_reader(self.stdout.take()),
            stderr: join_reader(self.stderr.take()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_reader(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_reader(reader: Option<JoinHandle<String>>) -> String {
    match reader.map(JoinHandle::join) {
        Some(Ok(text)) => text,
        Some(Err(_)) => panic!("the output reader thread panicked"),
        None => String::new(),
    }
}

/// A temporary folder with a `weir` data folder (`data/`) and a folder for test files
/// (`files/`).
pub struct Weir {
    dir: TempDir,
}

impl Weir {
    pub fn new() -> Weir {
        match tempfile::Builder::new().prefix("weir-cli-test-").tempdir() {
            Ok(dir) => Weir { dir },
            Err(e) => panic!("cannot create a temporary folder: {e}"),
        }
    }

    /// Returns the temporary folder that contains the data folder and the test files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes `text` to `files/<name>` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let folder = self.dir.path().join("files");
        if let Err(e) = std::fs::create_dir_all(&folder) {
            panic!("cannot create {}: {e}", folder.display());
        }
        let path = folder.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }

    /// Returns `weir --data-dir <data> <args>`.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = weir_command();
        command.arg("--data-dir").arg(self.data_dir()).args(args);
        command
    }

    /// Runs `weir --data-dir <data> <args>` to completion.
    pub fn output<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Outcome {
        finish(&mut self.command(args))
    }

    /// Runs `weir run <file> <args>` and returns the outcome.
    pub fn run(&self, file: &Path, args: &[&str]) -> Outcome {
        let mut command = self.command(&["run"]);
        command.arg(file).args(args);
        finish(&mut command)
    }

    /// Runs `weir run <file> --json <args>`, asserts the exit code and returns the JSON
    /// outcome.
    pub fn run_json(&self, file: &Path, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let outcome = self.run(file, &all);
        outcome.assert_code(code);
        outcome.json()
    }

    /// Returns the runs that `weir runs list --json` prints.
    pub fn runs(&self) -> Vec<Value> {
        let outcome = self.output(&["runs", "list", "--json"]);
        outcome.assert_code(0);
        match outcome.json() {
            Value::Array(runs) => runs,
            other => panic!("`runs list --json` printed {other}, not a list"),
        }
    }

    /// Returns what `weir runs get <run> --json` prints.
    pub fn get(&self, run: &str) -> Value {
        let outcome = self.output(&["runs", "get", run, "--json"]);
        outcome.assert_code(0);
        outcome.json()
    }
}

/// Returns the string at `field` of a JSON object, failing the test if it is missing.
pub fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    match value.get(field).and_then(Value::as_str) {
        Some(text) => text,
        None => panic!("no string field {field:?} in {value:#}"),
    }
}

/// Finds the task at `path` in a run printed as JSON; the panic message lists every path.
pub fn task<'a>(run: &'a Value, path: &str) -> &'a Value {
    let tasks = tasks(run);
    match tasks.iter().find(|t| t.get("path").and_then(Value::as_str) == Some(path)) {
        Some(task) => task,
        None => panic!("no task {path:?}; the run has {:?}", task_paths(run)),
    }
}

pub fn tasks(run: &Value) -> &[Value] {
    match run.get("tasks").and_then(Value::as_array) {
        Some(tasks) => tasks,
        None => panic!("no `tasks` list in {run:#}"),
    }
}

pub fn task_paths(run: &Value) -> Vec<&str> {
    tasks(run).iter().filter_map(|t| t.get("path").and_then(Value::as_str)).collect()
}

/// Returns the output parameter `name` of a task printed as JSON.
pub fn output_parameter<'a>(task: &'a Value, name: &str) -> &'a Value {
    match task.pointer(&format!("/outputs/parameters/{name}")) {
        Some(value) => value,
        None => panic!("no output parameter {name:?} in task {task:#}"),
    }
}

/// Calls `probe` every 100 ms until it returns a value; fails the test with `what` after
/// `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Returns a sleep length in seconds that no other test uses, for use as a process marker:
/// tasks given it carry it as a whole argument (`sleep <seconds>`).
pub fn unique_seconds() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) % 1_000;
    // The pid tells apart test processes running at once, and the counter the tests in one
    // process. Ten billion seconds and more is far longer than any test.
    10_000_000_000 + u64::from(std::process::id()) * 1_000 + count
}

/// Returns the pids of live processes that have `marker` as one whole argument.
pub fn processes_with_argument(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("cannot read /proc; these tests need Linux");
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        // A process that exits while we scan has no cmdline any more; a zombie has an empty
        // one.
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.split(|byte| *byte == 0).any(|argument| argument == marker.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Kills, on drop, every process that still has the marker argument, so a failed test leaves
/// no hour-long sleep behind.
pub struct MarkerGuard {
    pub marker: String,
}

impl Drop for MarkerGuard {
    fn drop(&mut self) {
        for pid in processes_with_argument(&self.marker) {
            // SAFETY: kill only sends a signal. The pid carries a marker unique to this test,
            // so it is a task process the test started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
