//! The local executor with real processes: outputs, logs, exit codes, missing commands,
//! timeouts, cancellation, environment, a real lightweight Python component, and reuse of the
//! package-install step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use weir_executor::local::{LocalExecutor, LocalExecutorOptions};
use weir_executor::{
    ArtifactList, Executor, ExecutorInput, OutputParameter, PlaceholderContext, RuntimeArtifact,
    TaskLaunch, TaskOutcome, TaskOutputs,
};
use weir_spec::{ArtifactTypeSchema, ContainerSpec, EnvVar, ParameterType};

const VENV_PYTHON: &str = "/work/main/.venv/bin/python";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Builds a launch for task `name` under `dir` that runs `command` with an output file for
/// each of `outputs`.
fn launch(
    dir: &Path,
    name: &str,
    command: &[&str],
    outputs: &[(&str, ParameterType)],
) -> TaskLaunch {
    let task_root = dir.join("run").join(name);
    let mut input = ExecutorInput::default();
    let mut output_parameter_types = BTreeMap::new();
    for (output, parameter_type) in outputs {
        let output_file = task_root.join(output).to_string_lossy().into_owned();
        input.outputs.parameters.insert(output.to_string(), OutputParameter { output_file });
        output_parameter_types.insert(output.to_string(), *parameter_type);
    }
    input.outputs.output_file = task_root.join("executor_output.json").to_string_lossy().into();
    TaskLaunch {
        run_id: "run-1".into(),
        task_id: format!("{name}-id"),
        task_path: name.into(),
        attempt: 1,
        container: ContainerSpec {
            image: "alpine:3".into(),
            command: strings(command),
            ..Default::default()
        },
        executor_input: input,
        output_parameter_types,
        context: PlaceholderContext { pipeline_task_name: name.into(), ..Default::default() },
        env: Vec::new(),
        log_path: dir.join("logs").join(format!("{name}.log")),
        task_root,
        timeout: None,
    }
}

async fn run(executor: &LocalExecutor, launch: TaskLaunch) -> TaskOutcome {
    executor.run(launch, CancellationToken::new()).await
}

fn succeeded(outcome: TaskOutcome) -> TaskOutputs {
    match outcome {
        TaskOutcome::Succeeded(outputs) => outputs,
        other => panic!("expected success, got {other:?}"),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const OUTPUT_FILE: &str = "{{$.outputs.parameters['msg'].output_file}}";

#[tokio::test]
async fn output_parameter_file_is_collected() {
    let dir = tempfile::tempdir().unwrap();
    let command = ["sh", "-c", "printf hello > \"$0\"; printf 41 > \"$1\"", OUTPUT_FILE];
    let mut launch = launch(dir.path(), "echo", &command, &[("msg", ParameterType::String)]);
    let count_file = launch.task_root.join("nested/count").to_string_lossy().into_owned();
    let count = OutputParameter { output_file: count_file };
    launch.executor_input.outputs.parameters.insert("count".into(), count);
    launch.output_parameter_types.insert("count".into(), ParameterType::NumberInteger);
    launch.container.args = vec!["{{$.outputs.parameters['count'].output_file}}".into()];

    let outputs = succeeded(run(&LocalExecutor::default(), launch).await);
    assert_eq!(outputs.parameters["msg"], json!("hello"));
    assert_eq!(outputs.parameters["count"], json!(41));
}

#[tokio::test]
async fn working_directory_is_task_root() {
    let dir = tempfile::tempdir().unwrap();
    let command = ["sh", "-c", "pwd > \"$0\"", OUTPUT_FILE];
    let launch = launch(dir.path(), "cwd", &command, &[("msg", ParameterType::String)]);
    let task_root = launch.task_root.canonicalize().unwrap_or(launch.task_root.clone());
    let outputs = succeeded(run(&LocalExecutor::default(), launch).await);
    let expected = format!("{}\n", task_root.display());
    assert_eq!(outputs.parameters["msg"], json!(expected));
}

#[tokio::test]
async fn stdout_and_stderr_go_to_log() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo out-1; echo err-1 >&2; printf 'no newline'";
    let launch = launch(dir.path(), "logs", &["sh", "-c", script], &[]);
    let log_path = launch.log_path.clone();
    succeeded(run(&LocalExecutor::default(), launch).await);

    let log = read(&log_path);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("--- attempt 1 (20"), "{log}");
    assert!(lines[0].ends_with("Z) ---"), "{log}");
    assert!(lines.contains(&"out-1"), "{log}");
    assert!(lines.contains(&"err-1"), "{log}");
    assert!(lines.contains(&"no newline"), "{log}");
    assert_eq!(lines.last(), Some(&"--- attempt 1 succeeded ---"), "{log}");
}

#[tokio::test]
async fn log_is_appended_across_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let executor = LocalExecutor::default();
    let first = launch(dir.path(), "retry", &["sh", "-c", "echo first; exit 1"], &[]);
    let mut second = first.clone();
    second.attempt = 2;
    second.container.command = strings(&["sh", "-c", "echo second"]);
    let log_path = first.log_path.clone();

    assert!(matches!(run(&executor, first).await, TaskOutcome::Failed { .. }));
    succeeded(run(&executor, second).await);
    let log = read(&log_path);
    let first_at = log.find("--- attempt 1 (").unwrap();
    let second_at = log.find("--- attempt 2 (").unwrap();
    assert!(first_at < log.find("first").unwrap(), "{log}");
    assert!(log.find("first").unwrap() < second_at, "{log}");
    assert!(second_at < log.find("second\n").unwrap(), "{log}");
}

#[tokio::test]
async fn nonzero_exit_is_failed_with_code() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo starting; echo 'boom: bad input' >&2; exit 3";
    let launch = launch(dir.path(), "fail", &["sh", "-c", script], &[]);
    let TaskOutcome::Failed { message } = run(&LocalExecutor::default(), launch).await else {
        panic!("expected Failed");
    };
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(message.contains("boom: bad input"), "{message}");
    assert!(!message.contains("starting"), "{message}");
}

#[tokio::test]
async fn killed_process_reports_signal() {
    let dir = tempfile::tempdir().unwrap();
    let launch = launch(dir.path(), "signal", &["sh", "-c", "kill -9 $$"], &[]);
    let TaskOutcome::Failed { message } = run(&LocalExecutor::default(), launch).await else {
        panic!("expected Failed");
    };
    assert!(message.contains("killed by signal 9"), "{message}");
}

#[tokio::test]
async fn missing_output_after_success_is_failed() {
    let dir = tempfile::tempdir().unwrap();
    let launch = launch(dir.path(), "lazy", &["true"], &[("msg", ParameterType::String)]);
    let TaskOutcome::Failed { message } = run(&LocalExecutor::default(), launch).await else {
        panic!("expected Failed");
    };
    assert!(message.contains("output parameter 'msg' was not written"), "{message}");
}

#[tokio::test]
async fn missing_command_is_launch_failed() {
    let dir = tempfile::tempdir().unwrap();
    let launch = launch(dir.path(), "missing", &["weir-no-such-command", "x"], &[]);
    let TaskOutcome::LaunchFailed { message } = run(&LocalExecutor::default(), launch).await else {
        panic!("expected LaunchFailed");
    };
    assert!(message.contains("'weir-no-such-command'"), "{message}");
    assert!(message.contains("PATH"), "{message}");
}

#[tokio::test]
async fn bad_placeholder_is_launch_failed() {
    let dir = tempfile::tempdir().unwrap();
    let command = ["echo", "{{$.inputs.parameters['absent']}}"];
    let launch = launch(dir.path(), "placeholder", &command, &[]);
    let TaskOutcome::LaunchFailed { message } = run(&LocalExecutor::default(), launch).await else {
        panic!("expected LaunchFailed");
    };
    assert!(message.contains("'absent'"), "{message}");
}

/// Returns whether process `pid` is gone or a zombie waiting to be reaped by its new parent,
/// polling for up to 1 s because SIGKILL takes effect asynchronously.
fn is_dead(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let dead = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => {
                stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'))
            }
        };
        if dead || Instant::now() > deadline {
            return dead;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn timeout_kills_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let script = "sleep 30 & echo $! > \"$0\"; wait";
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let mut launch = launch(dir.path(), "slow", &["sh", "-c", script, &pid_arg], &[]);
    launch.timeout = Some(Duration::from_millis(500));
    let log_path = launch.log_path.clone();

    let started = Instant::now();
    let outcome = run(&LocalExecutor::default(), launch).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome, TaskOutcome::TimedOut { after: Duration::from_millis(500) });
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");

    let sleep_pid = read(&pid_file);
    assert!(is_dead(sleep_pid.trim()), "background sleep {} still running", sleep_pid.trim());
    assert!(read(&log_path).contains("timed out after 500ms"));
}

#[tokio::test]
async fn cancel_stops_process() {
    let dir = tempfile::tempdir().unwrap();
    let launch = launch(dir.path(), "cancel", &["sleep", "30"], &[]);
    let executor = Arc::new(LocalExecutor::default());
    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let executor = Arc::clone(&executor);
        let cancel = cancel.clone();
        async move { executor.run(launch, cancel).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    cancel.cancel();
    let outcome = task.await.unwrap();
    assert_eq!(outcome, TaskOutcome::Canceled);
    assert!(started.elapsed() < Duration::from_millis(1000), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn cancel_kills_process_ignoring_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let script = "trap '' TERM; sleep 30 & echo $! > \"$0\"; wait";
    let launch = launch(dir.path(), "stubborn", &["sh", "-c", script, &pid_arg], &[]);
    let cancel = CancellationToken::new();
    let canceler = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceler.cancel();
    });
    let started = Instant::now();
    let outcome = LocalExecutor::default().run(launch, cancel).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome, TaskOutcome::Canceled);
    // 300 ms before the cancel, then the 2 s grace period before SIGKILL.
    assert!(elapsed >= Duration::from_millis(2200), "took {elapsed:?}");
    assert!(elapsed < Duration::from_millis(3500), "took {elapsed:?}");
    assert!(is_dead(read(&pid_file).trim()));
}

#[tokio::test]
async fn spec_and_launch_env_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let script = "printf '%s %s %s' \"$MODE\" \"$EXTRA\" \"${HOME:+home-inherited}\" > \"$0\"";
    let mut launch = launch(
        dir.path(),
        "env",
        &["sh", "-c", script, OUTPUT_FILE],
        &[("msg", ParameterType::String)],
    );
    launch.container.env = vec![
        EnvVar { name: "MODE".into(), value: "from-spec".into() },
        EnvVar { name: "EXTRA".into(), value: "spec-value".into() },
    ];
    launch.env = vec![("EXTRA".into(), "from-launch".into())];
    let outputs = succeeded(run(&LocalExecutor::default(), launch).await);
    assert_eq!(outputs.parameters["msg"], json!("from-spec from-launch home-inherited"));
}

#[tokio::test]
async fn stale_output_of_earlier_attempt_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let executor = LocalExecutor::default();
    let command = ["sh", "-c", "printf first > \"$0\"", OUTPUT_FILE];
    let first = launch(dir.path(), "stale", &command, &[("msg", ParameterType::String)]);
    let mut second = first.clone();
    second.attempt = 2;
    second.container.command = strings(&["true"]);
    succeeded(run(&executor, first).await);
    let outcome = run(&executor, second).await;
    assert!(matches!(outcome, TaskOutcome::Failed { .. }), "{outcome:?}");
}

#[tokio::test]
async fn output_artifact_parent_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let script = "printf weights > \"$0\"";
    let path = "{{$.outputs.artifacts['model'].path}}";
    let mut launch = launch(dir.path(), "train", &["sh", "-c", script, path], &[]);
    let uri = launch.task_root.join("deep/dir/model").to_string_lossy().into_owned();
    let model = dataset("model", uri.clone(), json!({}));
    let models = ArtifactList { artifacts: vec![model] };
    launch.executor_input.outputs.artifacts.insert("model".into(), models);

    let outputs = succeeded(run(&LocalExecutor::default(), launch).await);
    assert_eq!(outputs.artifacts["model"][0].uri, uri);
    assert_eq!(read(Path::new(&uri)), "weights");
}

#[tokio::test]
async fn cancel_before_start_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let marker_arg = marker.to_string_lossy().into_owned();
    let launch = launch(dir.path(), "early", &["touch", &marker_arg], &[]);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = LocalExecutor::default().run(launch, cancel).await;
    assert_eq!(outcome, TaskOutcome::Canceled);
    assert!(!marker.exists());
}

// --- Package-install reuse with a stand-in install script ---

/// An install wrapper shaped like the SDK's: it records each run in `counter` and then runs the
/// rest of the argv through `"$0" "$@"`.
fn fake_install_command(counter: &Path, exit_code: u8) -> Vec<String> {
    let script = format!(
        "echo 'pip install stand-in' >> '{}'; [ {exit_code} -eq 0 ] && \"$0\" \"$@\"",
        counter.display()
    );
    vec!["sh".into(), "-c".into(), script, "sh".into(), "-c".into()]
}

fn install_launch(dir: &Path, name: &str, counter: &Path, exit_code: u8) -> TaskLaunch {
    let mut launch = launch(dir, name, &[], &[("msg", ParameterType::String)]);
    launch.container.command = fake_install_command(counter, exit_code);
    launch.container.args = strings(&["printf ran > \"$0\"", OUTPUT_FILE]);
    launch
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|text| text.lines().count()).unwrap_or(0)
}

#[tokio::test]
async fn install_script_runs_once_per_executor() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("installs");
    let executor = LocalExecutor::default();
    for name in ["a", "b", "c"] {
        let outputs =
            succeeded(run(&executor, install_launch(dir.path(), name, &counter, 0)).await);
        assert_eq!(outputs.parameters["msg"], json!("ran"), "task {name}");
    }
    assert_eq!(count_lines(&counter), 1);
    assert_eq!(executor.install_runs(), 1);
    assert_eq!(executor.installs_skipped(), 2);
}

#[tokio::test]
async fn concurrent_tasks_wait_for_one_install() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("installs");
    let executor = LocalExecutor::default();
    let first = run(&executor, install_launch(dir.path(), "a", &counter, 0));
    let second = run(&executor, install_launch(dir.path(), "b", &counter, 0));
    let (first, second) = tokio::join!(first, second);
    succeeded(first);
    succeeded(second);
    assert_eq!(count_lines(&counter), 1);
    assert_eq!(executor.install_runs(), 1);
    assert_eq!(executor.installs_skipped(), 1);
}

#[tokio::test]
async fn failed_install_fails_task_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("installs");
    let executor = LocalExecutor::default();
    let outcome = run(&executor, install_launch(dir.path(), "a", &counter, 1)).await;
    let TaskOutcome::Failed { message } = outcome else { panic!("expected Failed") };
    assert!(message.contains("package install step"), "{message}");
    assert!(message.contains("exited with code 1"), "{message}");

    let outcome = run(&executor, install_launch(dir.path(), "b", &counter, 1)).await;
    assert!(matches!(outcome, TaskOutcome::Failed { .. }), "{outcome:?}");
    assert_eq!(count_lines(&counter), 2);
    assert_eq!(executor.install_runs(), 2);
    assert_eq!(executor.installs_skipped(), 0);
}

#[tokio::test]
async fn install_reuse_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("installs");
    let options = LocalExecutorOptions { reuse_installs: false, ..Default::default() };
    let executor = LocalExecutor::new(options);
    for name in ["a", "b"] {
        succeeded(run(&executor, install_launch(dir.path(), name, &counter, 0)).await);
    }
    assert_eq!(count_lines(&counter), 2);
    assert_eq!(executor.install_runs(), 0);
    assert_eq!(executor.installs_skipped(), 0);
}

// --- A real lightweight Python component (bench-chain `seed` and `step`) ---

fn venv_python() -> PathBuf {
    let python = PathBuf::from(VENV_PYTHON);
    assert!(
        python.exists(),
        "{VENV_PYTHON} is missing; create the venv with `python3.11 -m venv /work/main/.venv && \
         /work/main/.venv/bin/pip install kfp==2.17.3` before running these tests"
    );
    python
}

fn chain_component(name: &str) -> ContainerSpec {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chain_components.json");
    let components: Value = serde_json::from_str(&read(&fixture)).unwrap();
    serde_json::from_value(components[name].clone()).unwrap()
}

fn dataset(name: &str, uri: String, metadata: Value) -> RuntimeArtifact {
    RuntimeArtifact {
        name: name.into(),
        artifact_type: ArtifactTypeSchema {
            schema_title: Some("system.Dataset".into()),
            schema_version: Some("0.0.1".into()),
            ..Default::default()
        },
        uri,
        metadata: metadata.as_object().cloned().unwrap_or_default(),
    }
}

/// Builds the launch of a chain component, with `n` and an optional input dataset.
fn python_launch(
    dir: &TempDir,
    name: &str,
    component: &str,
    n: i64,
    input: Option<RuntimeArtifact>,
) -> TaskLaunch {
    let mut launch = launch(dir.path(), name, &[], &[("Output", ParameterType::NumberInteger)]);
    launch.container = chain_component(component);
    let executor_input = &mut launch.executor_input;
    executor_input.inputs.parameter_values.insert("n".into(), json!(n));
    if let Some(artifact) = input {
        executor_input
            .inputs
            .artifacts
            .insert("in_ds".into(), ArtifactList { artifacts: vec![artifact] });
    }
    let uri = launch.task_root.join("out_ds").to_string_lossy().into_owned();
    let out_ds = dataset("out_ds", uri, json!({}));
    executor_input
        .outputs
        .artifacts
        .insert("out_ds".into(), ArtifactList { artifacts: vec![out_ds] });
    launch
}

#[tokio::test]
async fn python_component_chain_runs() {
    let python = venv_python();
    let dir = tempfile::tempdir().unwrap();
    let options = LocalExecutorOptions { python: Some(python), reuse_installs: true };
    let executor = LocalExecutor::new(options);

    let seed = python_launch(&dir, "seed", "seed", 7, None);
    let seed_log = seed.log_path.clone();
    let seed_outputs = match run(&executor, seed).await {
        TaskOutcome::Succeeded(outputs) => outputs,
        other => panic!("seed: {other:?}\nlog:\n{}", read(&seed_log)),
    };
    assert_eq!(seed_outputs.parameters["Output"], json!(7));
    let seed_ds = &seed_outputs.artifacts["out_ds"][0];
    assert_eq!(Value::Object(seed_ds.metadata.clone()), json!({"step": 0}));
    assert_eq!(read(Path::new(&seed_ds.uri)), "step 0 value 7\n");

    let step = python_launch(&dir, "step", "step", 7, Some(seed_ds.clone()));
    let step_log = step.log_path.clone();
    let step_outputs = match run(&executor, step).await {
        TaskOutcome::Succeeded(outputs) => outputs,
        other => panic!("step: {other:?}\nlog:\n{}", read(&step_log)),
    };
    assert_eq!(step_outputs.parameters["Output"], json!(8));
    let step_ds = &step_outputs.artifacts["out_ds"][0];
    assert_eq!(Value::Object(step_ds.metadata.clone()), json!({"lines": 2}));
    assert_eq!(read(Path::new(&step_ds.uri)), "step 0 value 7\nnext value 8\n");

    // Both components carry the same kfp install script, so only the first one ran it.
    assert_eq!(executor.install_runs(), 1);
    assert_eq!(executor.installs_skipped(), 1);
}

#[tokio::test]
async fn python_component_failure_shows_traceback() {
    let python = venv_python();
    let dir = tempfile::tempdir().unwrap();
    let executor =
        LocalExecutor::new(LocalExecutorOptions { python: Some(python), reuse_installs: true });
    let missing = dataset("out_ds", dir.path().join("nope").to_string_lossy().into(), json!({}));
    let launch = python_launch(&dir, "step", "step", 1, Some(missing));
    let TaskOutcome::Failed { message } = run(&executor, launch).await else {
        panic!("expected Failed");
    };
    assert!(message.contains("exited with code 1"), "{message}");
    assert!(message.contains("FileNotFoundError"), "{message}");
}
