//! The tracking server from the command line: `weir run` serves it to its tasks and lists the
//! tracking runs they made, and `weir server` keeps every tracking write it acknowledged
//! through a `kill -9`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The pipeline of the mlflow client suite whose task logs a param and a metric to MLflow and
/// returns the id of its MLflow run.
fn tracked_training() -> std::path::PathBuf {
    workspace_root().join("tests/mlflow_client/pipelines/tracked_training.yaml")
}

#[test]
fn weir_run_lists_task_tracking_runs() {
    let weir = Weir::new();
    let outcome = weir.run(&tracked_training(), &[]);
    outcome.assert_code(0);
    let runs = weir.runs();
    let run = weir.get(runs[0]["run_id"].as_str().unwrap_or_default());
    let mlflow_run_id = run["outputs"]["parameters"]["Output"].as_str().unwrap_or_default();
    assert_eq!(mlflow_run_id.len(), 32, "the task returned no MLflow run id: {run:#}");
    outcome.assert_stdout_has(&[
        "\nTracking (MLflow)\n",
        &format!("  run {mlflow_run_id} ("),
        ") from task train-and-log: FINISHED, experiment 0\n",
    ]);
}

/// A `weir server` on a free port over a test's data folder.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(weir: &Weir) -> Server {
        let mut command = weir.command(&["server", "--bind", "127.0.0.1:0"]);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start weir server: {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let addr =
            rx.recv_timeout(Duration::from_secs(30)).expect("the server printed its address");
        Server { child, addr }
    }

    /// Sends one request and returns the status and JSON body.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).expect("the server accepts connections");
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("the request is sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("the response is read");
        let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call("POST", &format!("/api/2.0/mlflow/{path}"), Some(&body));
        assert_eq!(status, 200, "POST {path} answered {answer}");
        answer
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tracking_writes_survive_kill_9() {
    let weir = Weir::new();
    let server = Server::start(&weir);
    let experiment = server.ok("experiments/create", json!({ "name": "durable" }));
    let run = server.ok(
        "runs/create",
        json!({ "experiment_id": experiment["experiment_id"], "start_time": 1 }),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap_or_default().to_owned();
    for step in 0..200 {
        server.ok(
            "runs/log-metric",
            json!({ "run_id": run_id, "key": "loss", "value": step as f64 / 8.0,
                    "timestamp": 1000 + step, "step": step }),
        );
    }
    server.ok("runs/log-parameter", json!({ "run_id": run_id, "key": "lr", "value": "0.1" }));
    // Drop sends SIGKILL: the server gets no chance to flush or checkpoint anything.
    drop(server);

    let server = Server::start(&weir);
    let (status, history) = server.call(
        "GET",
        &format!("/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=loss"),
        None,
    );
    assert_eq!(status, 200, "{history}");
    let points: Vec<(i64, f64)> = history["metrics"]
        .as_array()
        .map(|points| {
            points
                .iter()
                .map(|p| (p["step"].as_i64().unwrap_or(-1), p["value"].as_f64().unwrap_or(-1.0)))
                .collect()
        })
        .unwrap_or_default();
    let expected: Vec<(i64, f64)> = (0..200).map(|step| (step, step as f64 / 8.0)).collect();
    assert_eq!(points, expected);
    let (_, got) = server.call("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run_id}"), None);
    assert_eq!(got["run"]["data"]["params"], json!([{ "key": "lr", "value": "0.1" }]));
}

#[test]
fn server_run_wait_lists_tracking_runs() {
    let weir = Weir::new();
    let server = Server::start(&weir);
    let client = Weir::new();
    let mut command = weir_command();
    command.arg("--data-dir").arg(client.data_dir());
    command.args(["--server", &format!("http://{}", server.addr), "run"]);
    command.arg(tracked_training()).arg("--wait");
    let outcome = finish(&mut command);
    outcome.assert_code(0);
    outcome.assert_stdout_has(&[
        "\nTracking (MLflow)\n",
        ") from task train-and-log: FINISHED, experiment 0\n",
    ]);
}

#[test]
fn abandoned_tracking_run_ends_failed() {
    let weir = Weir::new();
    let outcome = weir.run(&pipeline("mlflow_abandoned.yaml"), &[]);
    outcome.assert_code(1);
    outcome.assert_stdout_has(&[
        "\nTracking (MLflow)\n",
        ") from task abandon: FAILED, experiment 0\n",
    ]);
}

#[test]
fn task_token_links_client_runs_and_versions() {
    let weir = Weir::new();
    let outcome = weir.run(&pipeline("mlflow_client_calls.yaml"), &[]);
    outcome.assert_code(0);
    let runs = weir.runs();
    let run = weir.get(runs[0]["run_id"].as_str().unwrap_or_default());
    let task_record = task(&run, "make-version");
    let mlflow_run_id = task_record["outputs"]["parameters"]["Output"].as_str().unwrap_or_default();
    assert_eq!(mlflow_run_id.len(), 32, "the task returned no MLflow run id: {task_record:#}");
    outcome.assert_stdout_has(&[
        "\nTracking (MLflow)\n",
        &format!("  run {mlflow_run_id} ("),
        ") from task make-version: FINISHED, experiment 0\n",
        "  registered model client-calls version 1 (models:/client-calls/1)\n",
    ]);
}
