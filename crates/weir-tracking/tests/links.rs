//! Links from a Weir run to the tracking runs its tasks made and the model versions they
//! registered.

mod common;

use common::App;
use serde_json::json;
use weir_tracking::links::{LinkedModelVersion, LinkedRun};

/// Creates a tracking run with the tags a Weir task's `MLFLOW_RUN_CONTEXT` gives it.
async fn task_run(app: &App, weir_run: &str, task: &str, path: &str) -> String {
    let tags = json!([
        { "key": "weir.run_id", "value": weir_run },
        { "key": "weir.task_id", "value": format!("{task}-id") },
        { "key": "weir.task_name", "value": task },
        { "key": "weir.task_path", "value": path },
    ]);
    let body =
        app.ok("runs/create", json!({ "experiment_id": "0", "start_time": 1, "tags": tags })).await;
    body["run"]["info"]["run_id"].as_str().expect("run_id").to_owned()
}

async fn version(app: &App, run_id: &str, tags: serde_json::Value) -> String {
    let source = format!("mlflow-artifacts:/0/{run_id}/artifacts/model");
    let body = app
        .ok(
            "model-versions/create",
            json!({ "name": "m", "source": source, "run_id": run_id,
                                              "tags": tags }),
        )
        .await;
    body["model_version"]["version"].as_str().expect("version").to_owned()
}

#[tokio::test]
async fn links_find_runs_and_versions() {
    let app = App::new();
    let train = task_run(&app, "weir-a", "train", "for-loop-1/0/train").await;
    task_run(&app, "weir-other", "train", "train").await;
    app.ok("registered-models/create", json!({ "name": "m" })).await;
    // Version 1 comes from the run of weir-a and carries no tag: it belongs to weir-a.
    assert_eq!(version(&app, &train, json!([])).await, "1");
    // Version 2 comes from the same tracking run, registered by weir-b after a cache hit.
    let tagged = json!([{ "key": "weir.run_id", "value": "weir-b" }]);
    assert_eq!(version(&app, &train, tagged).await, "2");

    let runs = app.state.runs_of_weir_run("weir-a").await.expect("runs read");
    assert_eq!(
        runs,
        vec![LinkedRun {
            run_id: train.clone(),
            experiment_id: "0".into(),
            run_name: runs[0].run_name.clone(),
            status: "RUNNING".into(),
            task_id: "train-id".into(),
            task_name: "train".into(),
            task_path: "for-loop-1/0/train".into(),
        }]
    );
    let of = |weir_run: &'static str| {
        let state = app.state.clone();
        async move { state.model_versions_of_weir_run(weir_run).await.expect("versions read") }
    };
    let version_of = |version: &str| LinkedModelVersion {
        name: "m".into(),
        version: version.into(),
        run_id: train.clone(),
    };
    assert_eq!(of("weir-a").await, vec![version_of("1")]);
    assert_eq!(of("weir-b").await, vec![version_of("2")]);
    assert_eq!(of("weir-other").await, vec![]);
}

#[tokio::test]
async fn links_end_runs_left_running() {
    let app = App::new();
    let failed = task_run(&app, "weir-a", "fail", "fail").await;
    let killed = task_run(&app, "weir-a", "lost", "lost").await;
    let finished = task_run(&app, "weir-a", "done", "done").await;
    app.ok("runs/update", json!({ "run_id": finished, "status": "FINISHED", "end_time": 5 })).await;
    let other = task_run(&app, "weir-other", "fail", "fail").await;

    let ended = app
        .state
        .end_open_runs_of_weir_run("weir-a", vec!["fail-id".to_owned()])
        .await
        .expect("runs end");
    assert_eq!(ended, 2);
    for (run_id, status) in
        [(&failed, "FAILED"), (&killed, "KILLED"), (&finished, "FINISHED"), (&other, "RUNNING")]
    {
        let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
        assert_eq!(body["run"]["info"]["status"], status, "{body}");
    }
    let (_, body) = app.get(&format!("runs/get?run_id={finished}")).await;
    assert_eq!(body["run"]["info"]["end_time"], 5);
}
