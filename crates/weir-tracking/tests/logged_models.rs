//! Logged model endpoints: create, finalize, get, delete, tags, params, metrics, artifact
//! listing and download, and search with filters, order and pages.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::{json, Value};

const RUN_ID: &str = "00000000000000000000000000000001";

async fn create(app: &App, body: Value) -> Value {
    app.ok("logged-models", body).await["model"].clone()
}

async fn patch(app: &App, path: &str, body: Value) -> (StatusCode, Value) {
    app.call("PATCH", &format!("/api/2.0/mlflow/logged-models/{path}"), Some(body)).await
}

async fn delete(app: &App, path: &str) -> (StatusCode, Value) {
    app.call("DELETE", &format!("/api/2.0/mlflow/logged-models/{path}"), None).await
}

fn model_id(model: &Value) -> String {
    model["info"]["model_id"].as_str().expect("model_id").to_owned()
}

/// Searches and returns the names of the models found, in order, and the next page token.
async fn search_names(app: &App, body: Value) -> (Vec<String>, Option<String>) {
    let found = app.ok("logged-models/search", body).await;
    let names = found["models"]
        .as_array()
        .map(|models| {
            models.iter().map(|m| m["info"]["name"].as_str().unwrap_or("").to_owned()).collect()
        })
        .unwrap_or_default();
    (names, found["next_page_token"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn logged_model_lifecycle() {
    let app = App::new();
    let experiment = app.experiment("models").await;
    let model = create(
        &app,
        json!({
            "experiment_id": experiment,
            "name": "model",
            "model_type": "sklearn",
            "source_run_id": RUN_ID,
            "params": [{ "key": "alpha", "value": "0.5" }],
            "tags": [{ "key": "mlflow.source.type", "value": "LOCAL" }],
        }),
    )
    .await;

    let id = model_id(&model);
    assert_eq!(id.len(), 34, "{id}");
    assert!(id.starts_with("m-"), "{id}");
    assert!(id[2..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
    let created = model["info"]["creation_timestamp_ms"].as_i64().expect("creation time");
    assert_eq!(
        model,
        json!({
            "info": {
                "model_id": id,
                "experiment_id": experiment,
                "name": "model",
                "creation_timestamp_ms": created,
                "last_updated_timestamp_ms": created,
                "artifact_uri": format!("mlflow-artifacts:/{experiment}/models/{id}/artifacts"),
                "status": "LOGGED_MODEL_PENDING",
                "model_type": "sklearn",
                "source_run_id": RUN_ID,
                "tags": [{ "key": "mlflow.source.type", "value": "LOCAL" }],
            },
            "data": { "params": [{ "key": "alpha", "value": "0.5" }] },
        })
    );

    let (status, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["model"], model);

    let (status, body) =
        patch(&app, &id, json!({ "model_id": id, "status": "LOGGED_MODEL_READY" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_READY");
    assert!(body["model"]["info"]["last_updated_timestamp_ms"].as_i64() >= Some(created));

    let tags =
        json!({ "tags": [{ "key": "team", "value": "ml" }, { "key": "stage", "value": "x" }] });
    let (status, body) = patch(&app, &format!("{id}/tags"), tags).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
    let (status, body) = delete(&app, &format!("{id}/tags/stage")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = delete(&app, &format!("{id}/tags/stage")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    let params = json!({ "model_id": id, "params": [{ "key": "beta", "value": "2" }] });
    let body = app.ok(&format!("logged-models/{id}/params"), params).await;
    assert_eq!(body, json!({}));

    let (_, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(
        body["model"]["info"]["tags"],
        json!([{ "key": "mlflow.source.type", "value": "LOCAL" }, { "key": "team", "value": "ml" }])
    );
    assert_eq!(
        body["model"]["data"]["params"],
        json!([{ "key": "alpha", "value": "0.5" }, { "key": "beta", "value": "2" }])
    );

    let (status, body) = delete(&app, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    let (status, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], format!("Logged model with ID '{id}' not found."));
    let (status, body) = app.get(&format!("logged-models/{id}?allow_deleted=true")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["model"]["info"]["model_id"], id);

    let location: String = app
        .state
        .db
        .read(move |tx| {
            Ok(tx.query_row(
                "SELECT artifact_location FROM tracking_logged_models WHERE model_id = ?1",
                [&id],
                |row| row.get(0),
            )?)
        })
        .await
        .expect("registry query runs");
    assert!(location.ends_with("/artifacts"), "{location}");
}

#[tokio::test]
async fn create_defaults_and_errors() {
    let app = App::new();
    let experiment = app.experiment("defaults").await;

    let model = create(&app, json!({ "experiment_id": experiment })).await;
    let name = model["info"]["name"].as_str().expect("a generated name");
    assert_eq!(name.split('-').count(), 3, "{name}");
    assert_eq!(model["data"], json!({}));
    assert!(model["info"].get("tags").is_none());
    assert!(model["info"].get("model_type").is_none());

    let (status, body) = app.post("logged-models", json!({ "name": "m" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert_eq!(body["message"], "Missing value for required parameter 'experiment_id'.");

    let (status, body) = app.post("logged-models", json!({ "experiment_id": "99" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    for bad in ["a/b", "a.b", "a:b", "50%", "it's"] {
        let request = json!({ "experiment_id": experiment, "name": bad });
        let (status, body) = app.post("logged-models", request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{bad}");
    }

    app.ok("experiments/delete", json!({ "experiment_id": experiment })).await;
    let (status, body) = app.post("logged-models", json!({ "experiment_id": experiment })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = app.get("logged-models/m-00000000000000000000000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn finalize_accepts_numbers_and_rejects_unknown_status() {
    let app = App::new();
    let experiment = app.experiment("finalize").await;
    let id = model_id(&create(&app, json!({ "experiment_id": experiment, "name": "m" })).await);

    let (status, body) = patch(&app, &id, json!({ "status": 3 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_UPLOAD_FAILED");

    let (status, body) = patch(&app, &id, json!({ "status": "DONE" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    let (status, body) = patch(&app, &id, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Missing value for required parameter 'status'.");

    let (status, _) =
        patch(&app, "m-ffffffffffffffffffffffffffffffff", json!({ "status": 2 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn model_metrics_come_from_run_points() {
    let app = App::new();
    let experiment = app.experiment("metrics").await;
    let id = model_id(&create(&app, json!({ "experiment_id": experiment, "name": "m" })).await);

    let model = id.clone();
    app.state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO tracking_runs (run_key, run_id, experiment_id, artifact_uri)
                 VALUES (7, ?1, 0, 'mlflow-artifacts:/0/r/artifacts')",
                [RUN_ID],
            )?;
            tx.execute(
                "INSERT INTO tracking_metrics
                     (run_key, key, step, timestamp, is_nan, value, model_id, dataset_name,
                      dataset_digest)
                 VALUES (7, 'acc', 0, 100, 0, 0.75, ?1, 'train', 'abc'),
                        (7, 'acc', 1, 200, 1, 0, ?1, NULL, NULL),
                        (7, 'loss', 0, 100, 0, 0.5, NULL, NULL, NULL)",
                [&model],
            )?;
            Ok(())
        })
        .await
        .expect("metric rows insert");

    let (_, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(
        body["model"]["data"]["metrics"],
        json!([
            {
                "key": "acc", "value": 0.75, "timestamp": 100, "step": 0,
                "dataset_name": "train", "dataset_digest": "abc",
                "model_id": id, "run_id": RUN_ID,
            },
            {
                "key": "acc", "value": "NaN", "timestamp": 200, "step": 1,
                "model_id": id, "run_id": RUN_ID,
            },
        ])
    );
}

#[tokio::test]
async fn model_artifacts_are_listed_and_downloaded() {
    let app = App::new();
    let experiment = app.experiment("files").await;
    let id = model_id(&create(&app, json!({ "experiment_id": experiment, "name": "m" })).await);
    let root = format!("{experiment}/models/{id}/artifacts");
    for (path, content) in [("MLmodel", &b"flavors: {}"[..]), ("data/model.pkl", &[7u8; 4][..])] {
        let uri = format!("/api/2.0/mlflow-artifacts/artifacts/{root}/{path}");
        let (status, _) = app.call_raw("PUT", &uri, Some(content.to_vec())).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }

    let root_uri = format!("mlflow-artifacts:/{root}");
    let (status, body) = app.get(&format!("logged-models/{id}/artifacts/directories")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "files": [
                { "path": "MLmodel", "is_dir": false, "file_size": 11 },
                { "path": "data", "is_dir": true },
            ],
            "root_uri": root_uri,
        })
    );
    let uri = format!("logged-models/{id}/artifacts/directories?artifact_directory_path=data");
    let (_, body) = app.get(&uri).await;
    assert_eq!(
        body["files"],
        json!([{ "path": "data/model.pkl", "is_dir": false, "file_size": 4 }])
    );

    let files = format!("/ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files");
    let (status, bytes) =
        app.call_raw("GET", &format!("{files}?artifact_file_path=data/model.pkl"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, [7u8; 4]);

    let (status, body) = app.call("GET", &files, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "BAD_REQUEST");
    let (status, body) =
        app.call("GET", &format!("{files}?artifact_file_path=../../../secret"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    let (status, body) = app
        .call(
            "GET",
            "/ajax-api/2.0/mlflow/logged-models/m-x/artifacts/files?artifact_file_path=a",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn search_orders_pages_and_skips_deleted() {
    let app = App::new();
    let first = app.experiment("one").await;
    let second = app.experiment("two").await;
    let mut ids = Vec::new();
    for (experiment, name) in [(&first, "a"), (&first, "b"), (&second, "c"), (&first, "d")] {
        let model = create(&app, json!({ "experiment_id": experiment, "name": name })).await;
        ids.push(model_id(&model));
        // Distinct creation times, so the default order is fixed.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    delete(&app, &ids[3]).await;

    let (names, token) = search_names(&app, json!({ "experiment_ids": [first] })).await;
    assert_eq!(names, ["b", "a"]);
    assert_eq!(token, None);

    let (names, _) = search_names(&app, json!({ "experiment_ids": [first, second] })).await;
    assert_eq!(names, ["c", "b", "a"]);

    let by_name = json!([{ "field_name": "name", "ascending": true }]);
    let request =
        json!({ "experiment_ids": [first, second], "order_by": by_name, "max_results": 2 });
    let (names, token) = search_names(&app, request.clone()).await;
    assert_eq!(names, ["a", "b"]);
    let token = token.expect("a second page");
    let mut next = request.clone();
    next["page_token"] = json!(token);
    let (names, token) = search_names(&app, next).await;
    assert_eq!(names, ["c"]);
    assert_eq!(token, None);

    let mut mismatched = json!({ "experiment_ids": [first], "max_results": 2 });
    mismatched["page_token"] = json!(search_names(&app, request).await.1.expect("token"));
    let (status, body) = app.post("logged-models/search", mismatched).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = app
        .post("logged-models/search", json!({ "experiment_ids": [first], "page_token": "@@" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = app.post("logged-models/search", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Missing value for required parameter 'experiment_ids'.");

    let bad_order =
        json!({ "experiment_ids": [first], "order_by": [{ "field_name": "params.x" }] });
    let (status, body) = app.post("logged-models/search", bad_order).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (names, _) = search_names(&app, json!({ "experiment_ids": ["42"] })).await;
    assert!(names.is_empty());
}

#[tokio::test]
async fn search_filters_by_attributes_tags_params_and_metrics() {
    let app = App::new();
    let experiment = app.experiment("filters").await;
    let models = [
        ("model", "v1", "0.1", 0.9, "train"),
        ("Model", "v2", "0.2", 0.4, "train"),
        ("other", "v1", "0.3", 0.7, "test"),
    ];
    let mut ids = Vec::new();
    for (name, tag, param, _, _) in models {
        let model = create(
            &app,
            json!({
                "experiment_id": experiment,
                "name": name,
                "source_run_id": RUN_ID,
                "tags": [{ "key": "version", "value": tag }],
                "params": [{ "key": "lr", "value": param }],
            }),
        )
        .await;
        ids.push(model_id(&model));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    patch(&app, &ids[0], json!({ "status": "LOGGED_MODEL_READY" })).await;
    let points: Vec<(String, f64, &str)> =
        ids.iter().zip(models).map(|(id, m)| (id.clone(), m.3, m.4)).collect();
    app.state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO tracking_runs (run_key, run_id, experiment_id, artifact_uri)
                 VALUES (7, ?1, 0, 'mlflow-artifacts:/0/r/artifacts')",
                [RUN_ID],
            )?;
            for (id, value, dataset) in points {
                tx.execute(
                    "INSERT INTO tracking_metrics
                         (run_key, key, step, timestamp, value, model_id, dataset_name)
                     VALUES (7, 'acc', 0, 100, ?1, ?2, ?3)",
                    (value, id, dataset),
                )?;
            }
            Ok(())
        })
        .await
        .expect("metric rows insert");

    let cases: &[(&str, &[&str])] = &[
        ("name = 'model'", &["model"]),
        ("name != 'model'", &["other", "Model"]),
        ("name LIKE 'mod%'", &["model"]),
        ("name ILIKE 'mod%'", &["Model", "model"]),
        ("name IN ('model', 'other')", &["other", "model"]),
        ("tags.version = 'v1'", &["other", "model"]),
        ("params.lr = '0.2'", &["Model"]),
        ("metrics.acc > 0.5", &["other", "model"]),
        ("metrics.acc <= 0.4", &["Model"]),
        ("status = 'READY'", &["model"]),
        ("creation_timestamp > 0 AND tags.version = 'v2'", &["Model"]),
        (&format!("source_run_id = '{RUN_ID}'"), &["other", "Model", "model"]),
    ];
    for (filter, expected) in cases {
        let request = json!({ "experiment_ids": [experiment], "filter": filter });
        let (status, body) = app.post("logged-models/search", request.clone()).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        let (names, _) = search_names(&app, request).await;
        assert_eq!(names, *expected, "{filter}");
    }

    let request = json!({
        "experiment_ids": [experiment],
        "filter": "metrics.acc > 0.5",
        "datasets": [{ "dataset_name": "train" }],
    });
    assert_eq!(search_names(&app, request).await.0, ["model"]);
    let request =
        json!({ "experiment_ids": [experiment], "datasets": [{ "dataset_name": "test" }] });
    assert_eq!(search_names(&app, request).await.0, ["other"]);

    let by_metric = json!([{ "field_name": "metrics.acc", "ascending": false }]);
    let request = json!({ "experiment_ids": [experiment], "order_by": by_metric });
    assert_eq!(search_names(&app, request).await.0, ["model", "other", "Model"]);

    for bad in ["nope = 'x'", "metrics.acc LIKE 'x'", "metric.acc > 1", "name > 'a'"] {
        let request = json!({ "experiment_ids": [experiment], "filter": bad });
        let (status, body) = app.post("logged-models/search", request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{bad}");
    }
}
