//! Metric logging and histories: latest-value rules, NaN and infinities, duplicate points,
//! get-history order and paging, the bulk history of the web UI, and interval sampling.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::{json, Value};

async fn create_run(app: &App) -> String {
    let body = app.ok("runs/create", json!({ "experiment_id": "0" })).await;
    body["run"]["info"]["run_id"].as_str().expect("run_id").to_owned()
}

/// Logs one point with log-metric.
async fn log(app: &App, run_id: &str, key: &str, value: Value, timestamp: i64, step: i64) {
    app.ok(
        "runs/log-metric",
        json!({ "run_id": run_id, "key": key, "value": value, "timestamp": timestamp,
                "step": step }),
    )
    .await;
}

/// The latest metrics of a run, as runs/get returns them.
async fn latest(app: &App, run_id: &str) -> Value {
    let (status, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["run"]["data"]["metrics"].clone()
}

async fn history(app: &App, query: &str) -> Value {
    let (status, body) = app.get(&format!("metrics/get-history?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `(step, timestamp, value)` of each metric in a response list.
fn points(list: &Value) -> Vec<(i64, i64, Value)> {
    list.as_array()
        .expect("metric list")
        .iter()
        .map(|m| {
            (
                m["step"].as_i64().expect("step"),
                m["timestamp"].as_i64().expect("ts"),
                m["value"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn latest_metric_prefers_step_then_timestamp_then_value() {
    let app = App::new();
    let run_id = create_run(&app).await;
    // A higher step wins even with an older timestamp.
    log(&app, &run_id, "step", json!(1.0), 100, 1).await;
    log(&app, &run_id, "step", json!(2.0), 50, 2).await;
    log(&app, &run_id, "step", json!(3.0), 200, 0).await;
    // With equal steps the newer timestamp wins.
    log(&app, &run_id, "time", json!(1.0), 10, 5).await;
    log(&app, &run_id, "time", json!(0.5), 20, 5).await;
    log(&app, &run_id, "time", json!(9.0), 15, 5).await;
    // With equal step and timestamp the higher value wins.
    log(&app, &run_id, "value", json!(1.0), 10, 5).await;
    log(&app, &run_id, "value", json!(3.0), 10, 5).await;
    log(&app, &run_id, "value", json!(2.0), 10, 5).await;

    assert_eq!(
        latest(&app, &run_id).await,
        json!([
            { "key": "step", "value": 2.0, "timestamp": 50, "step": 2 },
            { "key": "time", "value": 0.5, "timestamp": 20, "step": 5 },
            { "key": "value", "value": 3.0, "timestamp": 10, "step": 5 },
        ])
    );
}

#[tokio::test]
async fn latest_metric_within_one_batch() {
    let app = App::new();
    let run_id = create_run(&app).await;
    log(&app, &run_id, "loss", json!(0.9), 1, 10).await;
    app.ok(
        "runs/log-batch",
        json!({ "run_id": run_id, "metrics": [
            { "key": "loss", "value": 0.5, "timestamp": 5, "step": 12 },
            { "key": "loss", "value": 0.7, "timestamp": 9, "step": 11 },
            { "key": "loss", "value": 0.4, "timestamp": 6, "step": 12 },
            { "key": "acc", "value": 0.1, "timestamp": 3 },
        ] }),
    )
    .await;
    assert_eq!(
        latest(&app, &run_id).await,
        json!([
            { "key": "acc", "value": 0.1, "timestamp": 3, "step": 0 },
            { "key": "loss", "value": 0.4, "timestamp": 6, "step": 12 },
        ])
    );
    // An older point logged later leaves the latest value alone.
    log(&app, &run_id, "loss", json!(0.0), 100, 3).await;
    assert_eq!(latest(&app, &run_id).await[1]["value"], 0.4);
}

#[tokio::test]
async fn metric_nan_and_infinity_values() {
    let app = App::new();
    let run_id = create_run(&app).await;
    log(&app, &run_id, "m", json!("NaN"), 1, 0).await;
    log(&app, &run_id, "m", json!("Infinity"), 2, 1).await;
    log(&app, &run_id, "m", json!("-Infinity"), 3, 2).await;
    log(&app, &run_id, "nan", json!("NaN"), 4, 0).await;

    let body = history(&app, &format!("run_id={run_id}&metric_key=m")).await;
    assert_eq!(
        points(&body["metrics"]),
        vec![(0, 1, json!("NaN")), (1, 2, json!(f64::MAX)), (2, 3, json!(f64::MIN))]
    );
    assert_eq!(
        latest(&app, &run_id).await,
        json!([
            { "key": "m", "value": f64::MIN, "timestamp": 3, "step": 2 },
            { "key": "nan", "value": "NaN", "timestamp": 4, "step": 0 },
        ])
    );
    // A NaN and a 0 at the same step and time are two points, and the latest is the first.
    log(&app, &run_id, "nan", json!(0.0), 4, 0).await;
    let body = history(&app, &format!("run_id={run_id}&metric_key=nan")).await;
    assert_eq!(body["metrics"].as_array().map(Vec::len), Some(2));
    assert_eq!(latest(&app, &run_id).await[1]["value"], "NaN");
}

#[tokio::test]
async fn duplicate_points_are_stored_once() {
    let app = App::new();
    let run_id = create_run(&app).await;
    log(&app, &run_id, "m", json!(1.5), 7, 1).await;
    log(&app, &run_id, "m", json!(1.5), 7, 1).await;
    app.ok(
        "runs/log-batch",
        json!({ "run_id": run_id, "metrics": [
            { "key": "m", "value": 1.5, "timestamp": 7, "step": 1 },
            { "key": "m", "value": 1.5, "timestamp": 7, "step": 1 },
            { "key": "m", "value": 2.5, "timestamp": 7, "step": 1 },
        ] }),
    )
    .await;
    let body = history(&app, &format!("run_id={run_id}&metric_key=m")).await;
    assert_eq!(points(&body["metrics"]), vec![(1, 7, json!(1.5)), (1, 7, json!(2.5))]);
}

#[tokio::test]
async fn history_is_ordered_by_timestamp_step_value() {
    let app = App::new();
    let run_id = create_run(&app).await;
    log(&app, &run_id, "m", json!(5.0), 30, 0).await;
    log(&app, &run_id, "m", json!(4.0), 10, 2).await;
    log(&app, &run_id, "m", json!(3.0), 10, 1).await;
    log(&app, &run_id, "m", json!(2.0), 10, 1).await;
    log(&app, &run_id, "m", json!(1.0), 20, 0).await;
    log(&app, &run_id, "other", json!(1.0), 1, 0).await;

    let body = history(&app, &format!("run_id={run_id}&metric_key=m")).await;
    assert_eq!(
        body,
        json!({ "metrics": [
            { "key": "m", "value": 2.0, "timestamp": 10, "step": 1 },
            { "key": "m", "value": 3.0, "timestamp": 10, "step": 1 },
            { "key": "m", "value": 4.0, "timestamp": 10, "step": 2 },
            { "key": "m", "value": 1.0, "timestamp": 20, "step": 0 },
            { "key": "m", "value": 5.0, "timestamp": 30, "step": 0 },
        ] })
    );
    // run_uuid works as well; an unknown run or key has an empty history, as in MLflow.
    let body = history(&app, &format!("run_uuid={run_id}&metric_key=missing")).await;
    assert_eq!(body, json!({ "metrics": [] }));
    let body = history(&app, "run_id=0123456789abcdef0123456789abcdef&metric_key=m").await;
    assert_eq!(body, json!({ "metrics": [] }));
}

#[tokio::test]
async fn history_pages_with_offset_tokens() {
    let app = App::new();
    let run_id = create_run(&app).await;
    for step in 0..5 {
        log(&app, &run_id, "m", json!(step), 100 + step, step).await;
    }
    let base = format!("run_id={run_id}&metric_key=m&max_results=2");

    let first = history(&app, &base).await;
    assert_eq!(points(&first["metrics"]).iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 1]);
    // base64 of {"offset": 2}, MLflow's token format.
    assert_eq!(first["next_page_token"], "eyJvZmZzZXQiOiAyfQ==");

    let second = history(&app, &format!("{base}&page_token=eyJvZmZzZXQiOiAyfQ%3D%3D")).await;
    assert_eq!(points(&second["metrics"]).iter().map(|p| p.0).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(second["next_page_token"], "eyJvZmZzZXQiOiA0fQ==");

    let last = history(&app, &format!("{base}&page_token=eyJvZmZzZXQiOiA0fQ%3D%3D")).await;
    assert_eq!(points(&last["metrics"]).iter().map(|p| p.0).collect::<Vec<_>>(), vec![4]);
    assert_eq!(last.get("next_page_token"), None);

    // A page that ends exactly at the last point has no token either.
    let exact = history(&app, &format!("run_id={run_id}&metric_key=m&max_results=5")).await;
    assert_eq!(exact["metrics"].as_array().map(Vec::len), Some(5));
    assert_eq!(exact.get("next_page_token"), None);

    for bad in ["max_results=0", "max_results=-1", "page_token=notatoken"] {
        let (status, body) =
            app.get(&format!("metrics/get-history?run_id={run_id}&metric_key=m&{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{bad}");
    }
    let (status, _) = app.get(&format!("metrics/get-history?run_id={run_id}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn history_returns_every_point_of_a_large_metric() {
    let app = App::new();
    let run_id = create_run(&app).await;
    for batch in 0..100_i64 {
        let metrics: Vec<Value> = (0..1000_i64)
            .map(|i| {
                let step = batch * 1000 + i;
                json!({ "key": "loss", "value": step as f64 / 2.0, "timestamp": 1_000 + step,
                        "step": step })
            })
            .collect();
        app.ok("runs/log-batch", json!({ "run_id": run_id, "metrics": metrics })).await;
    }
    let body = history(&app, &format!("run_id={run_id}&metric_key=loss")).await;
    let list = body["metrics"].as_array().expect("metrics");
    assert_eq!(list.len(), 100_000);
    assert_eq!(list[0], json!({ "key": "loss", "value": 0.0, "timestamp": 1000, "step": 0 }));
    assert_eq!(
        list[99_999],
        json!({ "key": "loss", "value": 49_999.5, "timestamp": 100_999, "step": 99_999 })
    );
    assert_eq!(body.get("next_page_token"), None);
}

#[tokio::test]
async fn bulk_history_under_ajax_prefix() {
    let app = App::new();
    let mut runs = [create_run(&app).await, create_run(&app).await];
    runs.sort();
    for (index, run_id) in runs.iter().enumerate() {
        let index = index as i64;
        log(&app, run_id, "m", json!(1.0), 20, index).await;
        log(&app, run_id, "m", json!(2.0), 10, index).await;
    }
    // Runs come back in run id order whatever the request order is.
    let uri = format!(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id={}&run_id={}&metric_key=m",
        runs[1], runs[0]
    );
    let (status, body) = app.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "metrics": [
            { "key": "m", "value": 2.0, "timestamp": 10, "step": 0, "run_id": runs[0] },
            { "key": "m", "value": 1.0, "timestamp": 20, "step": 0, "run_id": runs[0] },
            { "key": "m", "value": 2.0, "timestamp": 10, "step": 1, "run_id": runs[1] },
            { "key": "m", "value": 1.0, "timestamp": 20, "step": 1, "run_id": runs[1] },
        ] })
    );

    // max_results caps the points of all runs together.
    let (_, body) = app.call("GET", &format!("{uri}&max_results=3"), None).await;
    assert_eq!(body["metrics"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["metrics"][2]["run_id"], runs[1].as_str());

    let (status, body) =
        app.call("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk?metric_key=m", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}

async fn interval(app: &App, query: &str) -> (StatusCode, Value) {
    app.get(&format!("metrics/get-history-bulk-interval?{query}")).await
}

fn steps(body: &Value) -> Vec<i64> {
    points(&body["metrics"]).into_iter().map(|point| point.0).collect()
}

#[tokio::test]
async fn bulk_interval_samples_steps_evenly() {
    let app = App::new();
    let run_id = create_run(&app).await;
    let metrics: Vec<Value> = (0..10)
        .map(|step| json!({ "key": "m", "value": step, "timestamp": 100 - step, "step": step }))
        .collect();
    app.ok("runs/log-batch", json!({ "run_id": run_id, "metrics": metrics })).await;

    let query = format!("run_ids={run_id}&metric_key=m");
    let (status, body) = interval(&app, &format!("{query}&max_results=3")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Ten points in three buckets of 4, 3 and 3: the first of each, with the last point
    // replacing the first of the last bucket.
    assert_eq!(steps(&body), vec![0, 4, 9]);
    assert_eq!(
        body["metrics"][0],
        json!({ "key": "m", "value": 0.0, "timestamp": 100, "step": 0, "run_id": run_id })
    );

    let (_, body) = interval(&app, &query).await;
    assert_eq!(steps(&body), (0..10).collect::<Vec<_>>());
    let (_, body) = interval(&app, &format!("{query}&max_results=1")).await;
    assert_eq!(steps(&body), vec![9]);
    let (_, body) = interval(&app, &format!("{query}&max_results=4&start_step=2&end_step=7")).await;
    // Six points in four buckets of 2, 2, 1 and 1.
    assert_eq!(steps(&body), vec![2, 4, 6, 7]);

    // Several runs come back in request order; unknown runs are skipped.
    let other = create_run(&app).await;
    log(&app, &other, "m", json!(1.0), 1, 50).await;
    let (_, body) = interval(
        &app,
        &format!("run_ids={other}&run_ids=ffffffffffffffffffffffffffffffff&run_ids={run_id}&metric_key=m&max_results=2"),
    )
    .await;
    assert_eq!(steps(&body), vec![50, 0, 9]);
    assert_eq!(body["metrics"][0]["run_id"], other.as_str());
}

#[tokio::test]
async fn bulk_interval_rejects_bad_arguments() {
    let app = App::new();
    let run_id = create_run(&app).await;
    let too_many: String = (0..101).map(|i| format!("run_ids=r{i}&")).collect();
    for query in [
        format!("run_ids={run_id}&metric_key=m&max_results=0"),
        format!("run_ids={run_id}&metric_key=m&max_results=2501"),
        format!("run_ids={run_id}&metric_key=m&start_step=1"),
        format!("run_ids={run_id}&metric_key=m&start_step=5&end_step=1"),
        format!("run_ids={run_id}"),
        "metric_key=m".to_owned(),
        format!("{too_many}metric_key=m"),
    ] {
        let (status, body) = interval(&app, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{query}");
    }
    let (status, _) =
        interval(&app, &format!("run_ids={run_id}&metric_key=m&max_results=2500")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn relogged_point_links_to_model() {
    let app = App::new();
    let run_id = create_run(&app).await;
    let model = app
        .ok("logged-models", json!({ "experiment_id": "0", "name": "m", "source_run_id": run_id }))
        .await;
    let model_id = model["model"]["info"]["model_id"].as_str().expect("model_id").to_owned();
    log(&app, &run_id, "acc", json!(0.5), 10, 1).await;
    // `mlflow.log_model` sends the run's metrics again with the new model's id.
    app.ok(
        "runs/log-batch",
        json!({ "run_id": run_id, "metrics": [
            { "key": "acc", "value": 0.5, "timestamp": 10, "step": 1, "model_id": model_id }
        ] }),
    )
    .await;

    let body = history(&app, &format!("run_id={run_id}&metric_key=acc")).await;
    assert_eq!(body["metrics"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, body) = app.get(&format!("logged-models/{model_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["model"]["data"]["metrics"],
        json!([{ "key": "acc", "value": 0.5, "timestamp": 10, "step": 1,
                 "model_id": model_id, "run_id": run_id }])
    );
}
