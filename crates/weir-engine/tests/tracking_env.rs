//! The MLflow variables a task gets: the engine's tracking URI and the tags naming the run and
//! task, unless the pipeline sets its own server (`tracking_env.yaml`).

mod common;

use common::*;
use serde_json::{json, Value};
use weir_engine::EngineConfig;
use weir_store::{State, TaskRecord};

/// Splits a `report` task's `env` output into the URI line and the parsed context object.
fn reported(task: &TaskRecord) -> (String, Value) {
    let text =
        output_param(&task.outputs, "env", &task.path).as_str().unwrap_or_default().to_owned();
    let (uri, context) = text.split_once('\n').unwrap_or((&text, ""));
    let context =
        if context.is_empty() { Value::Null } else { serde_json::from_str(context).unwrap() };
    (uri.to_owned(), context)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_env_has_server_and_tags() {
    let config = EngineConfig { tracking_uri: Some("http://127.0.0.1:9".into()), ..test_config() };
    let h = Harness::with_config(config);
    let (run, tasks) = h.run("tracking_env.yaml", &[]).await;
    assert_run_state(&run, State::Succeeded);

    let report = task(&tasks, "report");
    let (uri, context) = reported(report);
    assert_eq!(uri, "http://127.0.0.1:9");
    assert_eq!(
        context,
        json!({
            "weir.run_id": run.run_id,
            "weir.task_id": report.task_id,
            "weir.task_name": "report",
            "weir.task_path": "report",
        })
    );

    let own = task(&tasks, "report-2");
    let (uri, context) = reported(own);
    assert_eq!(uri, "http://mlflow.example:5000");
    assert_eq!(
        context,
        json!({
            "team": "vision",
            "weir.run_id": run.run_id,
            "weir.task_id": own.task_id,
            "weir.task_name": "report-2",
            "weir.task_path": "report-2",
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_env_empty_without_server() {
    let h = Harness::with_config(EngineConfig { tracking_uri: None, ..test_config() });
    let (run, tasks) = h.run("tracking_env.yaml", &[]).await;
    assert_run_state(&run, State::Succeeded);
    let (uri, context) = reported(task(&tasks, "report"));
    assert_eq!((uri.as_str(), context), ("", Value::Null));
    let (uri, context) = reported(task(&tasks, "report-2"));
    assert_eq!((uri.as_str(), context), ("http://mlflow.example:5000", json!({"team": "vision"})));
}
