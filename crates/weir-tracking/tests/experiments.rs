//! Experiment endpoints: create, get, rename, delete and restore, tags, and their errors.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::json;

#[tokio::test]
async fn experiment_lifecycle_round_trip() {
    let app = App::new();
    let id = app.experiment("first").await;
    assert_eq!(id, "1");

    let (status, body) = app.get("experiments/get?experiment_id=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["experiment"]["name"], "first");
    assert_eq!(body["experiment"]["artifact_location"], "mlflow-artifacts:/1");
    assert_eq!(body["experiment"]["lifecycle_stage"], "active");

    let (status, body) = app.post("experiments/create", json!({ "name": "first" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "RESOURCE_ALREADY_EXISTS");

    app.ok("experiments/update", json!({ "experiment_id": "1", "new_name": "renamed" })).await;
    let (_, body) = app.get("experiments/get-by-name?experiment_name=renamed").await;
    assert_eq!(body["experiment"]["experiment_id"], "1");

    app.ok(
        "experiments/set-experiment-tag",
        json!({ "experiment_id": "1", "key": "team", "value": "ml" }),
    )
    .await;
    let (_, body) = app.get("experiments/get?experiment_id=1").await;
    assert_eq!(body["experiment"]["tags"], json!([{ "key": "team", "value": "ml" }]));

    app.ok("experiments/delete", json!({ "experiment_id": "1" })).await;
    let (_, body) = app.get("experiments/get?experiment_id=1").await;
    assert_eq!(body["experiment"]["lifecycle_stage"], "deleted");
    let (status, body) =
        app.post("experiments/update", json!({ "experiment_id": "1", "new_name": "x" })).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error_code"], "INVALID_STATE");

    // Deleting a deleted experiment, or restoring an active one, finds no experiment.
    let (status, body) = app.post("experiments/delete", json!({ "experiment_id": "1" })).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );

    app.ok("experiments/restore", json!({ "experiment_id": "1" })).await;
    let (status, body) = app.post("experiments/restore", json!({ "experiment_id": "1" })).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (_, body) = app.get("experiments/get?experiment_id=1").await;
    assert_eq!(body["experiment"]["lifecycle_stage"], "active");
}

#[tokio::test]
async fn experiment_errors_use_mlflow_codes() {
    let app = App::new();
    let (status, body) = app.get("experiments/get?experiment_id=42").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], "No Experiment with id=42 exists");

    let (status, body) = app.get("experiments/get-by-name?experiment_name=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    // A number where the proto has a string is rejected, as MLflow's parsing rejects it.
    let (status, body) = app.post("experiments/create", json!({ "name": 5 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = app.post("experiments/create", json!({ "name": "" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) =
        app.call_raw("POST", "/api/2.0/mlflow/experiments/create", Some(b"{".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("BAD_REQUEST"));

    let (_, body) = app.get("experiments/get?experiment_id=0").await;
    assert_eq!(body["experiment"]["name"], "Default");
    let (status, _) =
        app.call("GET", "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0", None).await;
    assert_eq!(status, StatusCode::OK);
}
