//! `weir --server URL ...`: the client commands against a real `weir server` process.
//!
//! Each test starts its own server on a free port (`--bind 127.0.0.1:0`, the port read from the
//! address it prints) with its own data folder, and runs `weir --server <url>` commands against
//! it. The server runs the Python components, so the Python folder goes first on its `PATH`
//! (see `common`). The client gets a data folder of its own that must never be created: a
//! `--server` command reads and writes only through the API.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Maximum time for the server to print its address.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Maximum time for the server to stop after SIGTERM before it is killed.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Maximum time for a run or task to reach an expected state.
const STATE_TIMEOUT: Duration = Duration::from_secs(60);

/// A `weir server` process with its own data folder, stopped on drop.
struct Server {
    child: Child,
    url: String,
    /// The server's data folder, and the client's folder that must stay absent.
    weir: Weir,
    /// Everything the server printed on stderr so far, for failure messages.
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start() -> Server {
        let weir = Weir::new();
        let mut command = weir.command(&["server", "--bind", "127.0.0.1:0"]);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {command:?}: {e}"),
        };
        let Some(stderr) = child.stderr.take() else {
            panic!("the server's stderr is not piped");
        };

        // The reader keeps draining stderr so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        let reader_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = listening_url(&line) {
                    let _ = url_tx.send(url);
                }
                if let Ok(mut log) = reader_log.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });

        let mut server = Server { child, url: String::new(), weir, log };
        match url_rx.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(url) => server.url = url,
            Err(_) => panic!(
                "weir server printed no address within {SERVER_START_TIMEOUT:?}; its stderr:\n{}",
                server.log_text()
            ),
        }
        server
    }

    fn log_text(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// The data folder given to client commands, which they must not create.
    fn client_data_dir(&self) -> PathBuf {
        self.weir.root().join("client-data")
    }

    /// Runs `weir --server <url> <args>` to completion.
    fn weir(&self, args: &[&str]) -> Outcome {
        let mut command = weir_command();
        command.arg("--data-dir").arg(self.client_data_dir());
        command.arg("--server").arg(&self.url).args(args);
        finish(&mut command)
    }

    /// Runs a command that must succeed and returns its stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let outcome = self.weir(args);
        outcome.assert_code(0);
        outcome.json()
    }

    /// Returns `runs get <run> --json`: the server's `v2beta1Run` with its task details.
    fn run(&self, run: &str) -> Value {
        self.json(&["runs", "get", run, "--json"])
    }

    /// Polls the run until `ready` accepts it; fails the test after [`STATE_TIMEOUT`].
    fn wait_run(&self, run_id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        wait_for(STATE_TIMEOUT, what, || {
            let run = self.run(run_id);
            ready(&run).then_some(run)
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets the server stop its runs, which kills their task processes.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill only sends a signal. The pid is our own child, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + SERVER_STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let client_data = self.client_data_dir();
        if !std::thread::panicking() {
            assert!(!client_data.exists(), "a --server command created {}", client_data.display());
        }
    }
}

/// Reads the URL from the server's start line `Weir server listening on http://ADDR (...`.
fn listening_url(line: &str) -> Option<String> {
    let rest = line.split("listening on ").nth(1)?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then(|| url.to_string())
}

/// Finds the task at `path` in a `v2beta1Run`.
fn api_task<'a>(run: &'a Value, path: &str) -> &'a Value {
    let tasks = api_tasks(run);
    match tasks.iter().find(|t| t["path"] == path) {
        Some(task) => task,
        None => {
            let paths: Vec<&Value> = tasks.iter().map(|t| &t["path"]).collect();
            panic!("no task {path:?} in the run; its tasks: {paths:?}")
        }
    }
}

fn api_tasks(run: &Value) -> &[Value] {
    match run.pointer("/run_details/task_details").and_then(Value::as_array) {
        Some(tasks) => tasks,
        None => panic!("no run_details.task_details in {run:#}"),
    }
}

/// Returns `value` with every number as a float, for values whose numbers have no declared
/// type (the docstrings compare them by numeric value).
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), numbers_as_floats(v))).collect())
        }
        other => other.clone(),
    }
}

fn is_final(run: &Value) -> bool {
    matches!(run["state"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELED" | "SKIPPED"))
}

#[test]
fn pipelines_upload_list_get_delete() {
    let server = Server::start();
    let file = pipeline("params_types.yaml");
    let file = file.to_str().unwrap_or_default();

    let uploaded = server.json(&[
        "pipelines",
        "upload",
        file,
        "--name",
        "typed",
        "--description",
        "every type",
        "--json",
    ]);
    let pipeline_id = text(&uploaded, "pipeline_id").to_string();
    assert_eq!(uploaded["name"], "typed");
    assert_eq!(uploaded["display_name"], "typed");
    assert_eq!(uploaded["description"], "every type");

    // The name defaults to the file name without its extension.
    let second = server.weir(&["pipelines", "upload", file]);
    second.assert_code(0);
    assert!(second.stdout.starts_with("Pipeline params_types ("), "{}", second.stdout);
    assert!(second.stdout.ends_with(") uploaded.\n"), "{}", second.stdout);

    let duplicate = server.weir(&["pipelines", "upload", file, "--name", "typed"]);
    duplicate.assert_code(2);
    assert_eq!(
        duplicate.stderr,
        "error: a pipeline named \"typed\" already exists; upload a new version of it, or choose \
         another name (HTTP 409)\n"
    );

    let listed = server.json(&["pipelines", "list", "--json"]);
    let names: Vec<&Value> = listed.as_array().into_iter().flatten().map(|p| &p["name"]).collect();
    assert_eq!(names, [&json!("params_types"), &json!("typed")], "newest first");
    let table = server.weir(&["pipelines", "list", "--limit", "1"]);
    table.assert_code(0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", table.stdout);
    assert!(lines[0].starts_with("PIPELINE ID "), "{}", table.stdout);
    assert!(lines[1].contains("  params_types  "), "{}", table.stdout);

    let sleep = pipeline("sleep.yaml");
    let version = server.json(&[
        "pipelines",
        "upload-version",
        sleep.to_str().unwrap_or_default(),
        "--pipeline",
        &pipeline_id,
        "--name",
        "v2",
        "--json",
    ]);
    assert_eq!(version["pipeline_id"], json!(pipeline_id));
    assert_eq!(version["name"], "v2");

    let got = server.json(&["pipelines", "get", &pipeline_id, "--json"]);
    assert_eq!(got["pipeline"]["pipeline_id"], json!(pipeline_id));
    let version_names: Vec<&Value> =
        got["pipeline_versions"].as_array().into_iter().flatten().map(|v| &v["name"]).collect();
    assert_eq!(version_names, [&json!("v2"), &json!("typed")]);
    let described = server.weir(&["pipelines", "get", &pipeline_id]);
    described.assert_code(0);
    described.assert_stdout_has(&[
        &format!("Pipeline     typed ({pipeline_id})\n"),
        "Description  every type\n",
        "\nVersions\n",
        &format!("  {}  v2  ", text(&version, "pipeline_version_id")),
    ]);

    let kept = server.weir(&["pipelines", "delete", &pipeline_id]);
    kept.assert_code(2);
    assert_eq!(
        kept.stderr,
        format!(
            "error: pipeline \"{pipeline_id}\" has 2 versions; delete them first, or delete the \
             pipeline with cascade (HTTP 400)\n"
        )
    );
    let deleted = server.weir(&["pipelines", "delete", &pipeline_id, "--cascade"]);
    deleted.assert_code(0);
    assert_eq!(deleted.stdout, format!("Pipeline {pipeline_id} deleted.\n"));
    let gone = server.weir(&["pipelines", "get", &pipeline_id]);
    gone.assert_code(2);
    assert_eq!(gone.stderr, format!("error: pipeline \"{pipeline_id}\" not found (HTTP 404)\n"));
    let remaining = server.json(&["pipelines", "list", "--json"]);
    assert_eq!(remaining.as_array().map(Vec::len), Some(1));
}

#[test]
fn pipelines_upload_invalid_file() {
    let server = Server::start();
    let broken = server.weir.write("broken.yaml", "pipelineInfo: {name: broken}\nroot: [");
    let outcome = server.weir(&["pipelines", "upload", broken.to_str().unwrap_or_default()]);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&["error: broken.yaml: ", "(HTTP 400)\n"]);

    let missing = server.weir(&["pipelines", "upload", "/no/such/file.yaml"]);
    missing.assert_code(2);
    missing.assert_stderr_has(&["cannot read pipeline file /no/such/file.yaml"]);
    assert_eq!(server.json(&["pipelines", "list", "--json"]), json!([]));
}

#[test]
fn experiments_create_list_archive_delete() {
    let server = Server::start();
    let created = server.weir(&["experiments", "create", "exp-a", "--description", "first"]);
    created.assert_code(0);
    let listed = server.json(&["experiments", "list", "--json"]);
    let Some([experiment]) = listed.as_array().map(Vec::as_slice) else {
        panic!("expected one experiment, got {listed:#}");
    };
    let id = text(experiment, "experiment_id");
    assert_eq!(created.stdout, format!("Experiment exp-a ({id}) created.\n"));
    assert_eq!(experiment["display_name"], "exp-a");
    assert_eq!(experiment["description"], "first");
    assert_eq!(experiment["storage_state"], "AVAILABLE");

    let duplicate = server.weir(&["experiments", "create", "exp-a"]);
    duplicate.assert_code(2);
    assert_eq!(
        duplicate.stderr,
        "error: an experiment named \"exp-a\" already exists; choose another display_name \
         (HTTP 409)\n"
    );

    let archived = server.weir(&["experiments", "archive", id]);
    archived.assert_code(0);
    assert_eq!(archived.stdout, format!("Experiment {id} archived.\n"));
    let table = server.weir(&["experiments", "list"]);
    table.assert_code(0);
    assert!(table.stdout.starts_with("EXPERIMENT ID "), "{}", table.stdout);
    table.assert_stdout_has(&[&format!("{id}  exp-a"), "  ARCHIVED   ", "  first\n"]);

    // Runs cannot go into an archived experiment.
    let refused = server.weir(&[
        "run",
        pipeline("params_types.yaml").to_str().unwrap_or_default(),
        "--experiment",
        "exp-a",
    ]);
    refused.assert_code(2);
    assert_eq!(
        refused.stderr,
        format!(
            "error: experiment \"{id}\" is archived; unarchive it before creating runs in it \
             (HTTP 400)\n"
        )
    );

    server.weir(&["experiments", "unarchive", id]).assert_code(0);
    assert_eq!(server.json(&["experiments", "list", "--json"])[0]["storage_state"], "AVAILABLE");
    let deleted = server.weir(&["experiments", "delete", id]);
    deleted.assert_code(0);
    assert_eq!(deleted.stdout, format!("Experiment {id} deleted.\n"));
    let empty = server.weir(&["experiments", "list"]);
    empty.assert_code(0);
    assert_eq!(empty.stdout, format!("No experiments on {}.\n", server.url));
}

#[test]
fn run_wait_params_types_outputs() {
    let server = Server::start();
    let file = pipeline("params_types.yaml");
    let outcome = server.weir(&[
        "run",
        file.to_str().unwrap_or_default(),
        "--wait",
        "--experiment",
        "typed-runs",
        "--name",
        "typed-1",
    ]);
    outcome.assert_code(0);
    let experiments = server.json(&["experiments", "list", "--json"]);
    let experiment = match experiments
        .as_array()
        .and_then(|list| list.iter().find(|e| e["display_name"] == "typed-runs"))
    {
        Some(experiment) => experiment.clone(),
        None => panic!("no experiment typed-runs in {experiments:#}"),
    };
    let experiment_id = text(&experiment, "experiment_id");
    outcome.assert_stderr_has(&[
        &format!("Created experiment typed-runs ({experiment_id}).\n"),
        "Run typed-1 (",
        &format!(") started on {}\n", server.url),
        "SUCCEEDED echo-params",
    ]);
    assert!(outcome.stdout.starts_with("Run       typed-1 ("), "{}", outcome.stdout);
    outcome.assert_stdout_has(&[
        "\nPipeline  params-types\n",
        "\nState     SUCCEEDED in ",
        "\n\nTasks\n  echo-params  SUCCEEDED ",
        "\n\nOutputs\n  \
         config = {\"n\":2,\"name\":\"weir\",\"nested\":{\"on\":true}}\n  \
         count = 7\n  \
         flag = true\n  \
         items = [1,\"two\",3.5]\n  \
         ratio = 2.5\n  \
         text = say \"hi\"\n  \
         types = str,int,float,bool,list,dict\n",
    ]);

    // The run is in the experiment, with the defaults as its arguments.
    let run = server.run("typed-1");
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(run["experiment_id"], json!(experiment_id));
    assert_eq!(
        numbers_as_floats(&run["runtime_config"]["parameters"]),
        numbers_as_floats(&json!({
            "text": "say \"hi\"", "count": 7, "ratio": 2.5, "flag": true,
            "items": [1, "two", 3.5], "config": {"name": "weir", "n": 2, "nested": {"on": true}},
        }))
    );
    let echo = api_task(&run, "echo-params");
    assert_eq!(echo["state"], "SUCCEEDED");
    assert_eq!(echo["output_parameters"]["types"], "str,int,float,bool,list,dict");
    assert_eq!(echo["output_parameters"]["count"], 7);

    // By id, `runs get` prints the summary and the parameters.
    let run_id = text(&run, "run_id");
    let summary = server.weir(&["runs", "get", run_id]);
    summary.assert_code(0);
    summary.assert_stdout_has(&[
        &format!("Run       typed-1 ({run_id})\n"),
        "Pipeline  params-types\n",
        "\nParameters\n  config = {\"n\":2,\"name\":\"weir\",\"nested\":{\"on\":true}}\n",
        "  count = 7\n",
        "  types = str,int,float,bool,list,dict\n",
    ]);

    // Listing by experiment and by state.
    let in_experiment = server.json(&["runs", "list", "--experiment", experiment_id, "--json"]);
    assert_eq!(in_experiment.as_array().map(Vec::len), Some(1));
    assert_eq!(in_experiment[0]["run_id"], json!(run_id));
    assert_eq!(server.json(&["runs", "list", "--state", "failed", "--json"]), json!([]));
    let succeeded = server.json(&["runs", "list", "--state", "succeeded", "--json"]);
    assert_eq!(succeeded[0]["run_id"], json!(run_id));
    let table = server.weir(&["runs", "list"]);
    table.assert_code(0);
    assert!(table.stdout.starts_with("RUN ID "), "{}", table.stdout);
    table.assert_stdout_has(&[&format!("{run_id}  typed-1  "), "  SUCCEEDED  "]);
}

#[test]
fn run_params_typed_by_declared_inputs() {
    let server = Server::start();
    let file = pipeline("params_types.yaml");
    let run = server.json(&[
        "run",
        file.to_str().unwrap_or_default(),
        "--wait",
        "--json",
        "-p",
        "text=x",
        "-p",
        "count=-3",
        "-p",
        "ratio=0.0",
        "-p",
        "flag=false",
        "-p",
        "items=[]",
        "-p",
        "config={}",
    ]);
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(
        run["runtime_config"]["parameters"],
        json!({"text": "x", "count": -3, "ratio": 0.0, "flag": false, "items": [], "config": {}})
    );
    let outputs = &api_task(&run, "echo-params")["output_parameters"];
    assert_eq!(
        outputs,
        &json!({
            "text": "x", "count": -3, "ratio": 0.0, "flag": false, "items": [], "config": {},
            "types": "str,int,float,bool,list,dict",
        })
    );
    // The run went into the server's default experiment.
    let experiments = server.json(&["experiments", "list", "--json"]);
    assert_eq!(experiments[0]["display_name"], "Default");
    assert_eq!(run["experiment_id"], experiments[0]["experiment_id"]);
}

#[test]
fn run_wait_failed_exits_1_then_retry() {
    let server = Server::start();
    let file = pipeline("exit_handler_fail.yaml");
    let outcome =
        server.weir(&["run", file.to_str().unwrap_or_default(), "--wait", "--name", "failing"]);
    outcome.assert_code(1);
    outcome.assert_stdout_has(&[
        "Pipeline  exit-handler-fail\n",
        "State     FAILED in ",
        "Error     task \"exit-handler-1\" failed: task \"fail\" failed",
        "  exit-handler-1        FAILED ",
        "  exit-handler-1/say    SUCCEEDED ",
        "  exit-handler-1/fail   FAILED ",
        "  record-status         SUCCEEDED ",
    ]);
    outcome.assert_stderr_has(&["FAILED    exit-handler-1/fail\n"]);

    let before = server.run("failing");
    let run_id = text(&before, "run_id").to_string();
    assert_eq!(api_task(&before, "record-status")["output_parameters"]["Output"], "FAILED");
    assert_eq!(api_task(&before, "exit-handler-1/say")["output_parameters"]["Output"], "hello");

    // Logs of a task by name, and the run log.
    let task_log = server.weir(&["logs", "failing", "fail"]);
    task_log.assert_code(0);
    task_log.assert_stdout_has(&[
        "--- attempt 1 (",
        "exiting with status 1\n",
        "--- attempt 1 failed",
    ]);
    let run_log = server.weir(&["logs", &run_id]);
    run_log.assert_code(0);
    run_log.assert_stdout_has(&[
        "task exit-handler-1/say SUCCEEDED\n",
        "task exit-handler-1/fail FAILED",
        "run FAILED: task \"exit-handler-1\" failed",
    ]);
    let no_task = server.weir(&["logs", &run_id, "no-such-task"]);
    no_task.assert_code(2);
    assert_eq!(
        no_task.stderr,
        "error: no task \"no-such-task\" in this run; name a task by its task_id or path \
         (HTTP 404)\n"
    );

    // Retrying runs `fail` again but not `say`, which succeeded.
    let retried = server.weir(&["runs", "retry", "failing"]);
    retried.assert_code(0);
    assert_eq!(
        retried.stdout,
        format!("Run {run_id} is being retried; tasks that succeeded are not run again.\n")
    );
    let fail_started = &api_task(&before, "exit-handler-1/fail")["start_time"];
    let after = server.wait_run(&run_id, "the retried run to fail again", |run| {
        is_final(run) && &api_task(run, "exit-handler-1/fail")["start_time"] != fail_started
    });
    assert_eq!(after["state"], "FAILED");
    assert_eq!(
        api_task(&after, "exit-handler-1/say")["start_time"],
        api_task(&before, "exit-handler-1/say")["start_time"]
    );

    // A run that succeeded cannot be retried.
    let echo = server.weir.write("echo.yaml", ECHO_PIPELINE);
    server.weir(&["run", echo.to_str().unwrap_or_default(), "--wait", "-q"]).assert_code(0);
    let succeeded = server.json(&["runs", "list", "--state", "SUCCEEDED", "--json"]);
    let succeeded_id = text(&succeeded[0], "run_id");
    let refused = server.weir(&["runs", "retry", succeeded_id]);
    refused.assert_code(2);
    assert_eq!(
        refused.stderr,
        format!(
            "error: run \"{succeeded_id}\" is SUCCEEDED; only FAILED or CANCELED runs can be \
             retried (HTTP 400)\n"
        )
    );

    // Archive and delete.
    let archived = server.weir(&["runs", "archive", &run_id]);
    archived.assert_code(0);
    assert_eq!(archived.stdout, format!("Run {run_id} archived.\n"));
    assert_eq!(server.run(&run_id)["storage_state"], "ARCHIVED");
    let deleted = server.weir(&["runs", "delete", "failing"]);
    deleted.assert_code(0);
    assert_eq!(deleted.stdout, format!("Run {run_id} deleted.\n"));
    let gone = server.weir(&["runs", "get", &run_id]);
    gone.assert_code(2);
    assert_eq!(gone.stderr, format!("error: run \"{run_id}\" not found (HTTP 404)\n"));
}

#[test]
fn cancel_sleep_run() {
    let server = Server::start();
    let seconds = unique_seconds().to_string();
    let _marker = MarkerGuard { marker: seconds.clone() };
    let file = pipeline("sleep.yaml");
    let created = server.weir(&[
        "run",
        file.to_str().unwrap_or_default(),
        "--name",
        "sleeper",
        "-p",
        &format!("seconds={seconds}"),
    ]);
    created.assert_code(0);
    let run = server.run("sleeper");
    let run_id = text(&run, "run_id").to_string();
    assert_eq!(created.stdout, format!("Run sleeper ({run_id}) created on {}.\n", server.url));

    server.wait_run(&run_id, "sleep-for RUNNING", |run| {
        api_tasks(run).iter().any(|t| t["path"] == "sleep-for" && t["state"] == "RUNNING")
    });
    wait_for(STATE_TIMEOUT, "the sleep process", || {
        (!processes_with_argument(&seconds).is_empty()).then_some(())
    });

    let canceled = server.weir(&["runs", "cancel", "sleeper"]);
    canceled.assert_code(0);
    assert!(
        canceled.stdout == format!("Run {run_id} is canceled.\n")
            || canceled.stdout == format!("Run {run_id} is being canceled.\n"),
        "{}",
        canceled.stdout
    );
    let run = server.wait_run(&run_id, "the run CANCELED", is_final);
    assert_eq!(run["state"], "CANCELED");
    assert_eq!(api_task(&run, "mark")["state"], "SUCCEEDED");
    assert_eq!(api_task(&run, "sleep-for")["state"], "CANCELED");
    if let Some(after) = api_tasks(&run).iter().find(|t| t["path"] == "mark-2") {
        assert_ne!(after["state"], "SUCCEEDED", "mark-2 ran after the cancel");
    }
    wait_for(STATE_TIMEOUT, "the sleep process to end", || {
        processes_with_argument(&seconds).is_empty().then_some(())
    });

    let again = server.weir(&["runs", "cancel", &run_id, "--json"]);
    again.assert_code(0);
    assert_eq!(again.json(), json!({"run_id": run_id, "state": "CANCELED"}));
}

#[test]
fn logs_follow_until_run_ends() {
    let server = Server::start();
    let file = pipeline("sleep.yaml");
    let file = file.to_str().unwrap_or_default();
    server.weir(&["run", file, "--name", "short", "-p", "seconds=2"]).assert_code(0);

    // Started while the run sleeps, the follow ends when the run ends, with the whole log.
    let followed = server.weir(&["logs", "short", "--follow"]);
    followed.assert_code(0);
    followed.assert_stdout_has(&[
        "task mark started (attempt 1)\n",
        "task sleep-for SUCCEEDED\n",
        "task mark-2 SUCCEEDED\n",
        "run SUCCEEDED\n",
    ]);
    assert_eq!(server.run("short")["state"], "SUCCEEDED");
    let task = server.weir(&["logs", "short", "after", "--follow"]);
    task.assert_code(0);
    task.assert_stdout_has(&["--- attempt 1 (", "--- attempt 1 succeeded ---\n"]);
}

#[test]
fn interrupt_during_wait_cancels_run() {
    let server = Server::start();
    let seconds = unique_seconds().to_string();
    let _marker = MarkerGuard { marker: seconds.clone() };
    let file = pipeline("sleep.yaml");
    let mut command = weir_command();
    command.arg("--server").arg(&server.url).arg("run").arg(&file).args([
        "--wait",
        "--name",
        "interrupted",
        "-p",
        &format!("seconds={seconds}"),
    ]);
    let mut waiting = Background::start(&mut command);
    wait_for(STATE_TIMEOUT, "the sleep process", || {
        assert!(!waiting.has_exited(), "weir run --wait exited before the task started");
        (!processes_with_argument(&seconds).is_empty()).then_some(())
    });

    waiting.signal(libc::SIGINT);
    let outcome = waiting.wait(STATE_TIMEOUT);
    outcome.assert_code(130);
    outcome.assert_stderr_has(&["Canceling the run on the server; press Ctrl-C again"]);
    outcome.assert_stdout_has(&["State     CANCELED in ", "  sleep-for  CANCELED "]);
    assert_eq!(server.run("interrupted")["state"], "CANCELED");
}

#[test]
fn unknown_names_and_bad_input() {
    let server = Server::start();
    let echo = server.weir.write("echo.yaml", ECHO_PIPELINE);
    let echo = echo.to_str().unwrap_or_default();
    for _ in 0..2 {
        server.weir(&["run", echo, "--wait", "-q", "--name", "twin"]).assert_code(0);
    }
    let twins = server.json(&["runs", "list", "--json"]);
    let twin_ids: Vec<&str> =
        twins.as_array().into_iter().flatten().map(|r| text(r, "run_id")).collect();
    assert_eq!(twin_ids.len(), 2);

    let not_found = "error: run \"no-such-run\" not found (HTTP 404)\n";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["runs", "get", "no-such-run"], not_found.to_string()),
        (vec!["runs", "get", "no-such-run", "--json"], not_found.to_string()),
        (vec!["runs", "cancel", "no-such-run"], not_found.to_string()),
        (vec!["runs", "retry", "no-such-run"], not_found.to_string()),
        (vec!["runs", "delete", "no-such-run"], not_found.to_string()),
        (vec!["logs", "no-such-run"], not_found.to_string()),
        (
            vec!["runs", "get", "twin"],
            format!(
                "error: 2 runs are named \"twin\" ({}, {}); give the id of one\n",
                twin_ids[0], twin_ids[1]
            ),
        ),
        (
            vec!["experiments", "delete", "no-such-experiment"],
            "error: experiment \"no-such-experiment\" not found (HTTP 404)\n".to_string(),
        ),
        (
            vec!["runs", "list", "--state", "DONE"],
            "error: invalid --state \"DONE\"; use PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, \
             CANCELING or CANCELED\n"
                .to_string(),
        ),
        (
            vec!["run", echo, "-p", "greeting"],
            "error: invalid --param \"greeting\": expected NAME=VALUE\n".to_string(),
        ),
        (
            vec!["run", echo, "--parallelism", "2"],
            "error: --parallelism applies to local runs only. Start the server with `weir \
             server --parallelism N` instead\n"
                .to_string(),
        ),
    ];
    for (args, stderr) in cases {
        let outcome = server.weir(&args);
        assert_eq!(outcome.code, Some(2), "weir {args:?}: stderr {}", outcome.stderr);
        assert_eq!(outcome.stderr, stderr, "weir {args:?}");
        assert_eq!(outcome.stdout, "", "weir {args:?} printed to stdout");
    }
    // A bad argument is caught before a run is created.
    let unknown_param = server.weir(&["run", echo, "-p", "nope=1"]);
    unknown_param.assert_code(2);
    unknown_param.assert_stderr_has(&["error: invalid run arguments: ", "nope", "(HTTP 400)\n"]);
    assert_eq!(server.json(&["runs", "list", "--json"]).as_array().map(Vec::len), Some(2));
}

#[test]
fn connection_refused_names_url() {
    // A port that was free a moment ago has no server behind it.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot find a free port: {e}"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut command = weir_command();
    command.env("WEIR_SERVER", &url).args(["runs", "list"]);
    let outcome = finish(&mut command);
    outcome.assert_code(1);
    assert_eq!(
        outcome.stderr,
        format!(
            "error: cannot connect to the Weir server at {url}: Connection refused (os error \
             111). Start it with `weir server`, or give the address of a running server with \
             --server (or WEIR_SERVER)\n"
        )
    );
    assert_eq!(outcome.stdout, "");

    let mut https = weir_command();
    https.args(["--server", "https://127.0.0.1:1", "runs", "list"]);
    let outcome = finish(&mut https);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&[
        "error: invalid --server \"https://127.0.0.1:1\": https is not supported",
    ]);
}

#[test]
fn server_only_commands_without_server() {
    let weir = Weir::new();
    let cases: [(&[&str], &str); 4] = [
        (&["pipelines", "list"], "weir pipelines"),
        (&["experiments", "create", "x"], "weir experiments"),
        (&["runs", "retry", "r"], "weir runs retry"),
        (&["runs", "delete", "r"], "weir runs delete"),
    ];
    for (args, command) in cases {
        let outcome = weir.output(args);
        outcome.assert_code(2);
        assert_eq!(
            outcome.stderr,
            format!(
                "error: `{command}` needs a server: pass --server URL (or set WEIR_SERVER), and \
                 start the server with `weir server`\n"
            ),
            "weir {args:?}"
        );
    }
    let experiment = weir.run(&pipeline("sleep.yaml"), &["--experiment", "e"]);
    experiment.assert_code(2);
    experiment.assert_stderr_has(&["error: --experiment \"e\" needs a server"]);
    assert!(!weir.data_dir().exists(), "a rejected command created the data folder");
}
