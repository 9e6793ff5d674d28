//! Restarts: runs left active by a stopped server resume at the next start, a run whose spec
//! cannot be loaded fails with the reason, and a run left CANCELING ends CANCELED.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use weir_store::sqlite::SqliteStore;
use weir_store::{NewRun, State, Store};

const RUNS: &str = "/apis/v2beta1/runs";

fn open_store(server: &TestServer) -> SqliteStore {
    let path = server.data_dir().join(weir_store::sqlite::DB_FILE);
    match SqliteStore::open(&path) {
        Ok(store) => store,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

fn new_run(run_id: &str, pipeline_spec: serde_json::Value) -> NewRun {
    NewRun {
        run_id: run_id.to_string(),
        name: run_id.to_string(),
        description: String::new(),
        pipeline_name: "p".to_string(),
        pipeline_spec,
        parameters: json!({"parameters": {}, "artifacts": {}}),
        pipeline_root: String::new(),
        experiment_id: None,
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_running_run() {
    let mut server = TestServer::start().await;
    let run_id = server.create_run("sleepy.yaml", json!({"seconds": 2})).await;
    for _ in 0..200 {
        let run = server.get(&format!("{RUNS}/{run_id}")).await.json();
        let task_running = run["run_details"]["task_details"]
            .as_array()
            .is_some_and(|tasks| tasks.iter().any(|t| t["state"] == "RUNNING"));
        if task_running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;

    let stored = match open_store(&server).get_run(&run_id).await {
        Ok(run) => run,
        Err(e) => panic!("run {run_id} is not stored: {e}"),
    };
    assert_eq!(stored.state, State::Running, "the stopped server leaves the run RUNNING");

    server.restart().await;
    let run = server.wait_for_state(&run_id, "SUCCEEDED").await;
    let sleeper = task(&run, "sleeper");
    assert_eq!(sleeper["state"], "SUCCEEDED");
    assert_eq!(tasks(&run).len(), 1, "the task keeps its record: {run:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_fails_run_with_unloadable_spec() {
    let mut server = TestServer::start().await;
    server.stop().await;
    let store = open_store(&server);
    let broken = new_run("broken-run", json!({"pipelineSpec": {"root": 5}}));
    if let Err(e) = store.create_run(&broken).await {
        panic!("cannot store the run: {e}");
    }
    let canceling = new_run("canceling-run", json!({"pipelineSpec": {}}));
    if let Err(e) = store.create_run(&canceling).await {
        panic!("cannot store the run: {e}");
    }
    if let Err(e) = store.set_run_state("canceling-run", State::Canceling, None).await {
        panic!("cannot set the run state: {e}");
    }
    drop(store);

    server.restart().await;
    let run = server.wait_for_state("broken-run", "FAILED").await;
    let message = run["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "the server could not execute the run: stored pipeline spec of run broken-run is \
             unreadable: "
        ),
        "{message}"
    );
    let canceled = server.wait_for_state("canceling-run", "CANCELED").await;
    assert_eq!(
        canceled["error"]["message"],
        "run was canceled; the server stopped before the run finished stopping"
    );
}
