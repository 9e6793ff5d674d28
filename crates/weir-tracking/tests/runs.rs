//! Run endpoints: create, get, update, delete and restore, params, tags, log-batch limits,
//! dataset and model inputs, log-model, and their errors.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::{json, Value};

/// Creates a run in `experiment_id` and returns its id.
async fn create_run(app: &App, experiment_id: &str) -> String {
    let body = app.ok("runs/create", json!({ "experiment_id": experiment_id })).await;
    body["run"]["info"]["run_id"].as_str().expect("run_id").to_owned()
}

async fn get_run(app: &App, run_id: &str) -> Value {
    let (status, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert_eq!(status, StatusCode::OK, "runs/get answered {body}");
    body["run"].clone()
}

/// Asserts that a POST fails with the given status and MLflow error code.
async fn assert_rejected(app: &App, path: &str, body: Value, status: StatusCode, code: &str) {
    let (got_status, got) = app.post(path, body).await;
    assert_eq!(got_status, status, "POST {path} answered {got}");
    assert_eq!(got["error_code"], code, "POST {path} answered {got}");
}

#[tokio::test]
async fn create_and_get_round_trip() {
    let app = App::new();
    let experiment_id = app.experiment("exp").await;
    let body = app
        .ok(
            "runs/create",
            json!({
                "experiment_id": experiment_id,
                "user_id": "ada",
                "run_name": "first-run",
                "start_time": 1700000000000_i64,
                "tags": [{ "key": "team", "value": "ml" }],
            }),
        )
        .await;
    let run = &body["run"];
    let run_id = run["info"]["run_id"].as_str().expect("run_id").to_owned();
    assert_eq!(run_id.len(), 32);
    assert!(run_id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        run["info"],
        json!({
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": "first-run",
            "experiment_id": "1",
            "user_id": "ada",
            "status": "RUNNING",
            "start_time": 1700000000000_i64,
            "artifact_uri": format!("mlflow-artifacts:/1/{run_id}/artifacts"),
            "lifecycle_stage": "active",
        })
    );
    assert_eq!(
        run["data"],
        json!({
            "metrics": [],
            "params": [],
            "tags": [
                { "key": "mlflow.runName", "value": "first-run" },
                { "key": "team", "value": "ml" },
            ],
        })
    );
    assert_eq!(get_run(&app, &run_id).await, *run);
}

#[tokio::test]
async fn create_defaults_to_default_experiment_and_random_name() {
    let app = App::new();
    let body = app.ok("runs/create", json!({ "start_time": 5 })).await;
    let info = &body["run"]["info"];
    assert_eq!(info["experiment_id"], "0");
    let name = info["run_name"].as_str().expect("run_name");
    assert_eq!(name.split('-').count(), 3, "{name}");
    assert!(name.len() <= 20, "{name}");
    assert_eq!(body["run"]["data"]["tags"], json!([{ "key": "mlflow.runName", "value": name }]));

    let body = app
        .ok("runs/create", json!({ "tags": [{ "key": "mlflow.runName", "value": "tagged" }] }))
        .await;
    assert_eq!(body["run"]["info"]["run_name"], "tagged");
}

#[tokio::test]
async fn create_rejects_bad_experiments_and_conflicting_names() {
    let app = App::new();
    assert_rejected(
        &app,
        "runs/create",
        json!({ "experiment_id": "42" }),
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    assert_rejected(
        &app,
        "runs/create",
        json!({ "experiment_id": "abc" }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    assert_rejected(
        &app,
        "runs/create",
        json!({ "run_name": "a", "tags": [{ "key": "mlflow.runName", "value": "b" }] }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;

    let experiment_id = app.experiment("gone").await;
    app.ok("experiments/delete", json!({ "experiment_id": experiment_id })).await;
    assert_rejected(
        &app,
        "runs/create",
        json!({ "experiment_id": experiment_id }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn update_sets_status_end_time_and_name() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    let body = app
        .ok(
            "runs/update",
            json!({ "run_id": run_id, "status": "FINISHED", "end_time": 99, "run_name": "renamed" }),
        )
        .await;
    assert_eq!(body["run_info"]["status"], "FINISHED");
    assert_eq!(body["run_info"]["end_time"], 99);
    assert_eq!(body["run_info"]["run_name"], "renamed");

    let run = get_run(&app, &run_id).await;
    assert_eq!(run["info"], body["run_info"]);
    assert_eq!(run["data"]["tags"], json!([{ "key": "mlflow.runName", "value": "renamed" }]));

    // Fields left out keep their values; the status may also be given by proto number.
    let body = app.ok("runs/update", json!({ "run_uuid": run_id, "status": 4 })).await;
    assert_eq!(body["run_info"]["status"], "FAILED");
    assert_eq!(body["run_info"]["end_time"], 99);
    assert_eq!(body["run_info"]["run_name"], "renamed");

    assert_rejected(
        &app,
        "runs/update",
        json!({ "run_id": run_id, "status": "DONE" }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn deleted_runs_reject_writes_until_restored() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    app.ok("runs/delete", json!({ "run_id": run_id })).await;
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["info"]["lifecycle_stage"], "deleted");

    let writes = [
        ("runs/log-metric", json!({ "run_id": run_id, "key": "m", "value": 1, "timestamp": 1 })),
        ("runs/log-parameter", json!({ "run_id": run_id, "key": "p", "value": "1" })),
        ("runs/set-tag", json!({ "run_id": run_id, "key": "t", "value": "1" })),
        ("runs/log-batch", json!({ "run_id": run_id, "params": [{ "key": "p", "value": "1" }] })),
        ("runs/update", json!({ "run_id": run_id, "status": "FINISHED" })),
    ];
    for (path, body) in &writes {
        assert_rejected(
            &app,
            path,
            body.clone(),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }
    let (_, body) = app.post("runs/set-tag", writes[2].1.clone()).await;
    assert_eq!(
        body["message"],
        format!(
            "The run {run_id} must be in the 'active' state to be changed, but it is 'deleted'. \
             Restore it with runs/restore first."
        )
    );

    app.ok("runs/restore", json!({ "run_id": run_id })).await;
    assert_eq!(get_run(&app, &run_id).await["info"]["lifecycle_stage"], "active");
    for (path, body) in writes {
        app.ok(path, body).await;
    }
}

#[tokio::test]
async fn unknown_runs_are_not_found() {
    let app = App::new();
    let missing = "0123456789abcdef0123456789abcdef";
    let (status, body) = app.get(&format!("runs/get?run_id={missing}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], format!("Run with id={missing} not found"));

    for (path, body) in [
        ("runs/log-metric", json!({ "run_id": missing, "key": "m", "value": 1, "timestamp": 1 })),
        ("runs/log-parameter", json!({ "run_id": missing, "key": "p", "value": "1" })),
        ("runs/delete", json!({ "run_id": missing })),
        ("runs/restore", json!({ "run_id": missing })),
        ("runs/update", json!({ "run_id": missing })),
    ] {
        assert_rejected(&app, path, body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST").await;
    }
    assert_rejected(
        &app,
        "runs/log-metric",
        json!({ "key": "m", "value": 1, "timestamp": 1 }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn params_cannot_change_once_logged() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    app.ok("runs/log-parameter", json!({ "run_id": run_id, "key": "lr", "value": "0.1" })).await;
    // Logging the same value again is fine.
    app.ok("runs/log-parameter", json!({ "run_uuid": run_id, "key": "lr", "value": "0.1" })).await;

    let (status, body) = app
        .post("runs/log-parameter", json!({ "run_id": run_id, "key": "lr", "value": "0.2" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("key='lr' has value='0.1', new value='0.2'"), "{message}");

    assert_eq!(
        get_run(&app, &run_id).await["data"]["params"],
        json!([{ "key": "lr", "value": "0.1" }])
    );
}

#[tokio::test]
async fn invalid_keys_are_rejected() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    for (path, body) in [
        ("runs/log-parameter", json!({ "run_id": run_id, "key": "a$b", "value": "1" })),
        ("runs/set-tag", json!({ "run_id": run_id, "key": "../x", "value": "1" })),
        ("runs/log-metric", json!({ "run_id": run_id, "key": "", "value": 1, "timestamp": 1 })),
        ("runs/log-metric", json!({ "run_id": run_id, "key": "m", "value": 1 })),
        ("runs/log-metric", json!({ "run_id": run_id, "key": "m", "value": 1, "timestamp": -1 })),
        ("runs/log-metric", json!({ "run_id": run_id, "key": "m", "value": "x", "timestamp": 1 })),
    ] {
        assert_rejected(&app, path, body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE").await;
    }
}

#[tokio::test]
async fn long_param_and_tag_values_are_truncated() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    app.ok(
        "runs/log-parameter",
        json!({ "run_id": run_id, "key": "p", "value": "x".repeat(6001) }),
    )
    .await;
    app.ok("runs/set-tag", json!({ "run_id": run_id, "key": "t", "value": "y".repeat(8001) }))
        .await;
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["data"]["params"][0]["value"].as_str().map(str::len), Some(6000));
    let tag = run["data"]["tags"].as_array().expect("tags").iter().find(|tag| tag["key"] == "t");
    assert_eq!(tag.and_then(|tag| tag["value"].as_str()).map(str::len), Some(8000));
}

#[tokio::test]
async fn tags_are_set_renamed_and_deleted() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    app.ok("runs/set-tag", json!({ "run_id": run_id, "key": "team", "value": "a" })).await;
    app.ok("runs/set-tag", json!({ "run_id": run_id, "key": "team", "value": "b" })).await;
    app.ok("runs/set-tag", json!({ "run_id": run_id, "key": "mlflow.runName", "value": "named" }))
        .await;
    // An empty run name is ignored, as in MLflow.
    app.ok("runs/set-tag", json!({ "run_id": run_id, "key": "mlflow.runName", "value": "" })).await;

    let run = get_run(&app, &run_id).await;
    assert_eq!(run["info"]["run_name"], "named");
    assert_eq!(
        run["data"]["tags"],
        json!([{ "key": "mlflow.runName", "value": "named" }, { "key": "team", "value": "b" }])
    );

    app.ok("runs/delete-tag", json!({ "run_id": run_id, "key": "team" })).await;
    let (status, body) =
        app.post("runs/delete-tag", json!({ "run_id": run_id, "key": "team" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], format!("No tag with name: team in run with id {run_id}"));
    assert_eq!(
        get_run(&app, &run_id).await["data"]["tags"],
        json!([{ "key": "mlflow.runName", "value": "named" }])
    );
}

fn metrics(count: usize) -> Vec<Value> {
    (0..count).map(|i| json!({ "key": "m", "value": i, "timestamp": 1, "step": i })).collect()
}

fn pairs(prefix: &str, count: usize) -> Vec<Value> {
    (0..count).map(|i| json!({ "key": format!("{prefix}{i}"), "value": "v" })).collect()
}

#[tokio::test]
async fn log_batch_enforces_each_limit() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    let cases = [
        (
            json!({ "run_id": run_id, "metrics": metrics(1001) }),
            "A batch logging request can contain at most 1000 metrics. Got 1001 metrics.",
        ),
        (
            json!({ "run_id": run_id, "params": pairs("p", 101) }),
            "A batch logging request can contain at most 100 params. Got 101 params.",
        ),
        (
            json!({ "run_id": run_id, "tags": pairs("t", 101) }),
            "A batch logging request can contain at most 100 tags. Got 101 tags.",
        ),
        (
            json!({
                "run_id": run_id,
                "metrics": metrics(900),
                "params": pairs("p", 100),
                "tags": pairs("t", 1),
            }),
            "A batch logging request can contain at most 1000 metrics, params, and tags. Got \
             1001 metrics, params, and tags.",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.post("runs/log-batch", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE");
        let message = answer["message"].as_str().expect("message");
        assert!(message.starts_with(expected), "{message}");
    }

    // Exactly at every limit is accepted.
    app.ok(
        "runs/log-batch",
        json!({ "run_id": run_id, "metrics": metrics(800), "params": pairs("p", 100),
                "tags": pairs("t", 100) }),
    )
    .await;
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["data"]["params"].as_array().map(Vec::len), Some(100));
    assert_eq!(run["data"]["tags"].as_array().map(Vec::len), Some(101));
    assert_eq!(
        run["data"]["metrics"],
        json!([{ "key": "m", "value": 799.0, "timestamp": 1, "step": 799 }])
    );
}

#[tokio::test]
async fn log_batch_rejects_param_conflicts_atomically() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    let duplicate = json!({
        "run_id": run_id,
        "params": [{ "key": "a", "value": "1" }, { "key": "a", "value": "1" }],
    });
    assert_rejected(
        &app,
        "runs/log-batch",
        duplicate,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;

    app.ok("runs/log-parameter", json!({ "run_id": run_id, "key": "a", "value": "1" })).await;
    let conflicting = json!({
        "run_id": run_id,
        "metrics": [{ "key": "m", "value": 1, "timestamp": 1 }],
        "params": [{ "key": "b", "value": "2" }, { "key": "a", "value": "other" }],
        "tags": [{ "key": "t", "value": "x" }],
    });
    assert_rejected(
        &app,
        "runs/log-batch",
        conflicting,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    // Nothing of the rejected batch was stored.
    let run = get_run(&app, &run_id).await;
    assert_eq!(run["data"]["params"], json!([{ "key": "a", "value": "1" }]));
    assert_eq!(run["data"]["metrics"], json!([]));
    assert_eq!(run["data"]["tags"].as_array().map(Vec::len), Some(1));

    // A batch that repeats a stored param with its stored value is accepted.
    app.ok(
        "runs/log-batch",
        json!({ "run_id": run_id, "params": [{ "key": "a", "value": "1" }],
                "tags": [{ "key": "mlflow.runName", "value": "batch-name" }] }),
    )
    .await;
    assert_eq!(get_run(&app, &run_id).await["info"]["run_name"], "batch-name");
}

#[tokio::test]
async fn log_batch_names_the_bad_entry() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({ "run_id": run_id, "metrics": [
                { "key": "ok", "value": 1, "timestamp": 1 },
                { "key": "bad", "value": 1 },
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "metrics[1]: Missing value for required parameter 'timestamp'.");
}

fn dataset(name: &str, digest: &str, context: &str) -> Value {
    json!({
        "tags": [{ "key": "mlflow.data.context", "value": context }],
        "dataset": {
            "name": name, "digest": digest, "source_type": "local",
            "source": "{\"uri\": \"/data\"}", "schema": "{}",
        },
    })
}

#[tokio::test]
async fn inputs_and_outputs_appear_on_the_run() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    app.ok(
        "runs/log-inputs",
        json!({
            "run_id": run_id,
            "datasets": [dataset("train", "d1", "training"), dataset("train", "d1", "again"),
                         dataset("eval", "d2", "eval")],
            "models": [{ "model_id": "m-1" }],
        }),
    )
    .await;
    // Logging a dataset the run already has keeps its first tags.
    app.ok(
        "runs/log-inputs",
        json!({ "run_id": run_id, "datasets": [dataset("train", "d1", "x")] }),
    )
    .await;
    app.ok(
        "runs/outputs",
        json!({ "run_id": run_id, "models": [{ "model_id": "m-2", "step": 3 }] }),
    )
    .await;

    let run = get_run(&app, &run_id).await;
    assert_eq!(
        run["inputs"],
        json!({
            "dataset_inputs": [
                {
                    "tags": [{ "key": "mlflow.data.context", "value": "training" }],
                    "dataset": { "name": "train", "digest": "d1", "source_type": "local",
                                 "source": "{\"uri\": \"/data\"}", "schema": "{}" },
                },
                {
                    "tags": [{ "key": "mlflow.data.context", "value": "eval" }],
                    "dataset": { "name": "eval", "digest": "d2", "source_type": "local",
                                 "source": "{\"uri\": \"/data\"}", "schema": "{}" },
                },
            ],
            "model_inputs": [{ "model_id": "m-1" }],
        })
    );
    assert_eq!(run["outputs"], json!({ "model_outputs": [{ "model_id": "m-2", "step": 3 }] }));

    // A second run of the experiment reuses the stored dataset.
    let other = create_run(&app, "0").await;
    app.ok(
        "runs/log-inputs",
        json!({ "run_id": other, "datasets": [dataset("train", "d1", "t")] }),
    )
    .await;
    let reader = app.state.db.clone();
    let count: i64 = reader
        .read(
            |tx| Ok(tx.query_row("SELECT COUNT(*) FROM tracking_datasets", [], |row| row.get(0))?),
        )
        .await
        .expect("count datasets");
    assert_eq!(count, 2);

    assert_rejected(
        &app,
        "runs/outputs",
        json!({ "run_id": run_id }),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn log_model_appends_to_history_tag() {
    let app = App::new();
    let run_id = create_run(&app, "0").await;
    let model = |path: &str| {
        json!({
            "run_id": run_id, "artifact_path": path, "utc_time_created": "2024-01-01 00:00:00",
            "flavors": { "sklearn": { "sklearn_version": "1.5", "config": { "x": 1 } } },
            "model_uuid": "u1", "signature": { "inputs": "[]" },
        })
        .to_string()
    };
    app.ok("runs/log-model", json!({ "run_id": run_id, "model_json": model("model") })).await;
    app.ok("runs/log-model", json!({ "run_id": run_id, "model_json": model("second") })).await;

    let run = get_run(&app, &run_id).await;
    let tag = run["data"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|tag| tag["key"] == "mlflow.log-model.history")
        .expect("history tag")
        .clone();
    let entry = |path: &str| {
        format!(
            "{{\"run_id\": \"{run_id}\", \"artifact_path\": \"{path}\", \"utc_time_created\": \
             \"2024-01-01 00:00:00\", \"model_uuid\": \"u1\", \"flavors\": {{\"sklearn\": \
             {{\"sklearn_version\": \"1.5\"}}}}}}"
        )
    };
    assert_eq!(tag["value"], format!("[{}, {}]", entry("model"), entry("second")));

    let (status, body) = app
        .post("runs/log-model", json!({ "run_id": run_id, "model_json": "{\"flavors\": {}}" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}
