//! Search endpoints: `runs/search` and `experiments/search` filters, orders, view types, page
//! tokens and errors. Runs are written straight into the tables by [`seed`], so these tests
//! depend only on the schema, not on the run endpoints.

mod common;

use std::time::Instant;

use axum::http::StatusCode;
use common::App;
use serde_json::{json, Value};

/// One run to insert. Unset times are NULL; metrics with `f64::NAN` are stored as NaN.
#[derive(Clone, Default)]
struct Seed {
    id: &'static str,
    experiment: i64,
    name: &'static str,
    status: &'static str,
    user: &'static str,
    start: Option<i64>,
    end: Option<i64>,
    deleted: bool,
    params: Vec<(&'static str, &'static str)>,
    tags: Vec<(&'static str, &'static str)>,
    metrics: Vec<(&'static str, f64)>,
    /// Dataset inputs as (name, digest, context); an empty context adds no context tag.
    datasets: Vec<(&'static str, &'static str, &'static str)>,
}

fn run(id: &'static str, start: i64) -> Seed {
    Seed {
        id,
        experiment: 0,
        name: id,
        status: "FINISHED",
        user: "ann",
        start: Some(start),
        ..Seed::default()
    }
}

impl Seed {
    fn param(mut self, key: &'static str, value: &'static str) -> Seed {
        self.params.push((key, value));
        self
    }

    fn tag(mut self, key: &'static str, value: &'static str) -> Seed {
        self.tags.push((key, value));
        self
    }

    fn metric(mut self, key: &'static str, value: f64) -> Seed {
        self.metrics.push((key, value));
        self
    }
}

/// Inserts runs with their params, tags, latest metrics and dataset inputs.
async fn seed(app: &App, runs: Vec<Seed>) {
    app.state
        .db
        .write(move |tx| {
            for run in runs {
                let stage = if run.deleted { "deleted" } else { "active" };
                tx.execute(
                    "INSERT INTO tracking_runs (run_id, experiment_id, name, user_id, status,
                         start_time, end_time, artifact_uri, lifecycle_stage)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    rusqlite::params![
                        run.id,
                        run.experiment,
                        run.name,
                        run.user,
                        run.status,
                        run.start,
                        run.end,
                        format!("mlflow-artifacts:/{}/{}/artifacts", run.experiment, run.id),
                        stage
                    ],
                )?;
                let key = tx.last_insert_rowid();
                for (name, value) in &run.params {
                    tx.execute(
                        "INSERT INTO tracking_params (run_key, key, value) VALUES (?1, ?2, ?3)",
                        rusqlite::params![key, name, value],
                    )?;
                }
                for (name, value) in &run.tags {
                    tx.execute(
                        "INSERT INTO tracking_run_tags (run_key, key, value) VALUES (?1, ?2, ?3)",
                        rusqlite::params![key, name, value],
                    )?;
                }
                for (name, value) in &run.metrics {
                    let (stored, is_nan) = if value.is_nan() { (0.0, 1) } else { (*value, 0) };
                    tx.execute(
                        "INSERT INTO tracking_latest_metrics
                             (run_key, key, step, timestamp, is_nan, value)
                         VALUES (?1, ?2, 0, 0, ?3, ?4)",
                        rusqlite::params![key, name, is_nan, stored],
                    )?;
                }
                for (name, digest, context) in &run.datasets {
                    tx.execute(
                        "INSERT OR IGNORE INTO tracking_datasets
                             (dataset_uuid, experiment_id, name, digest, source_type, source)
                         VALUES (?1, ?2, ?3, ?4, 'local', '{}')",
                        rusqlite::params![format!("{name}-{digest}"), run.experiment, name, digest],
                    )?;
                    let tags = if context.is_empty() {
                        json!([])
                    } else {
                        json!([{ "key": "mlflow.data.context", "value": context }])
                    };
                    tx.execute(
                        "INSERT INTO tracking_run_inputs (run_key, dataset_key, tags)
                         SELECT ?1, dataset_key, ?2 FROM tracking_datasets WHERE dataset_uuid = ?3",
                        rusqlite::params![key, tags.to_string(), format!("{name}-{digest}")],
                    )?;
                }
            }
            Ok(())
        })
        .await
        .expect("runs are inserted");
}

/// Searches experiment 0 and returns the run ids in order and the next page token.
async fn search(app: &App, mut body: Value) -> (Vec<String>, Option<String>) {
    if body.get("experiment_ids").is_none() {
        body["experiment_ids"] = json!(["0"]);
    }
    let response = app.ok("runs/search", body).await;
    let ids = response["runs"]
        .as_array()
        .expect("runs is a list")
        .iter()
        .map(|run| run["info"]["run_id"].as_str().expect("run_id").to_owned())
        .collect();
    (ids, response["next_page_token"].as_str().map(str::to_owned))
}

async fn ids(app: &App, filter: &str) -> Vec<String> {
    search(app, json!({ "filter": filter })).await.0
}

async fn ordered(app: &App, order_by: &[&str]) -> Vec<String> {
    search(app, json!({ "order_by": order_by })).await.0
}

/// Asserts that a search is rejected with `INVALID_PARAMETER_VALUE` and a message naming
/// `part`.
async fn rejected(app: &App, path: &str, body: Value, part: &str) {
    let (status, response) = app.post(path, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body} answered {response}");
    assert_eq!(response["error_code"], "INVALID_PARAMETER_VALUE", "{body}");
    let message = response["message"].as_str().unwrap_or_default();
    assert!(message.contains(part), "{body}: message {message:?} should contain {part:?}");
}

fn five_runs() -> Vec<Seed> {
    vec![
        run("a", 100).param("lr", "0.01").metric("acc", 0.3).tag("team", "ml"),
        run("b", 300).param("lr", "0.01").metric("acc", f64::NAN).tag("team", "ML"),
        run("c", 200).param("lr", "0.1"),
        run("d", 300).param("lr", "0.01").metric("acc", 0.9).tag("team", "data"),
        run("e", 50).param("lr", "0.001").metric("acc", 0.3),
    ]
}

#[tokio::test]
async fn default_order_is_start_time_then_run_id() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ids(&app, "").await, ["b", "d", "c", "a", "e"]);
}

#[tokio::test]
async fn metric_and_param_filters_combine() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ids(&app, "metrics.acc > 0.5 and params.lr = '0.01'").await, ["d"]);
    assert_eq!(ids(&app, "metrics.acc >= 0.3 AND params.lr = '0.01'").await, ["d", "a"]);
    assert_eq!(ids(&app, "metrics.acc = 0.3").await, ["a", "e"]);
    assert_eq!(ids(&app, "metrics.acc < 1").await, ["d", "a", "e"]);
    assert_eq!(ids(&app, "params.lr != '0.01'").await, ["c", "e"]);
    assert_eq!(ids(&app, "param.lr LIKE '0.0%'").await, ["b", "d", "a", "e"]);
}

#[tokio::test]
async fn nan_metrics_match_only_not_equal() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ids(&app, "metrics.acc != 0.3").await, ["b", "d"]);
    assert_eq!(ids(&app, "metrics.acc > -1").await, ["d", "a", "e"]);
    assert_eq!(ids(&app, "metrics.acc = 0").await, Vec::<String>::new());
}

#[tokio::test]
async fn tag_filters_are_case_sensitive_except_ilike() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ids(&app, "tags.team = 'ml'").await, ["a"]);
    assert_eq!(ids(&app, "tags.team LIKE 'M%'").await, ["b"]);
    assert_eq!(ids(&app, "tags.team ILIKE 'm%'").await, ["b", "a"]);
    assert_eq!(ids(&app, "tags.team IS NULL").await, ["c", "e"]);
    assert_eq!(ids(&app, "tags.team IS NOT NULL").await, ["b", "d", "a"]);
    assert_eq!(ids(&app, "params.lr IS NULL").await, Vec::<String>::new());
    assert_eq!(ids(&app, "tags.`team` != 'ml'").await, ["b", "d"]);
}

#[tokio::test]
async fn attribute_filters_read_run_columns() {
    let app = App::new();
    let mut runs = five_runs();
    runs[1].status = "FAILED";
    runs[2].user = "bob";
    runs[2].name = "Best run";
    runs[3].end = Some(400);
    seed(&app, runs).await;
    assert_eq!(ids(&app, "status = 'FAILED'").await, ["b"]);
    assert_eq!(ids(&app, "attributes.status != 'FAILED'").await, ["d", "c", "a", "e"]);
    assert_eq!(ids(&app, "user_id = 'bob'").await, ["c"]);
    assert_eq!(ids(&app, "run_name = 'Best run'").await, ["c"]);
    assert_eq!(ids(&app, "`Run Name` LIKE 'Best%'").await, ["c"]);
    assert_eq!(ids(&app, "attributes.run_name LIKE 'best%'").await, Vec::<String>::new());
    assert_eq!(ids(&app, "run.run_name ILIKE 'best%'").await, ["c"]);
    assert_eq!(ids(&app, "run_id IN ('a', 'e', 'zz')").await, ["a", "e"]);
    assert_eq!(ids(&app, "run_id NOT IN ('a', 'e')").await, ["b", "d", "c"]);
    assert_eq!(ids(&app, "start_time >= 200").await, ["b", "d", "c"]);
    assert_eq!(ids(&app, "created < 100").await, ["e"]);
    assert_eq!(ids(&app, "end_time > 0").await, ["d"]);
    assert_eq!(ids(&app, "artifact_uri LIKE '%/c/%'").await, ["c"]);
}

#[tokio::test]
async fn dataset_filters_match_inputs() {
    let app = App::new();
    let mut runs = five_runs();
    runs[0].datasets = vec![("iris", "d1", "training")];
    runs[2].datasets = vec![("iris", "d2", "eval"), ("wine", "d3", "")];
    runs[4].datasets = vec![("wine", "d3", "training")];
    seed(&app, runs).await;
    assert_eq!(ids(&app, "datasets.name = 'iris'").await, ["c", "a"]);
    assert_eq!(ids(&app, "dataset.digest = 'd3'").await, ["c", "e"]);
    assert_eq!(ids(&app, "datasets.context = 'training'").await, ["a", "e"]);
    assert_eq!(ids(&app, "datasets.context IN ('eval', 'test')").await, ["c"]);
    assert_eq!(ids(&app, "datasets.name LIKE 'w%' and datasets.context = 'training'").await, ["e"]);
    assert_eq!(ids(&app, "datasets.name NOT IN ('iris')").await, ["c", "e"]);
}

#[tokio::test]
async fn metric_order_puts_nan_then_missing_last() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ordered(&app, &["metrics.acc"]).await, ["a", "e", "d", "b", "c"]);
    assert_eq!(ordered(&app, &["metrics.acc DESC"]).await, ["d", "a", "e", "b", "c"]);
}

#[tokio::test]
async fn string_order_puts_missing_last() {
    let app = App::new();
    seed(&app, five_runs()).await;
    assert_eq!(ordered(&app, &["tags.team"]).await, ["b", "d", "a", "c", "e"]);
    assert_eq!(ordered(&app, &["tags.team DESC"]).await, ["a", "d", "b", "c", "e"]);
    assert_eq!(ordered(&app, &["params.lr DESC", "metrics.acc"]).await, ["c", "a", "d", "b", "e"]);
}

#[tokio::test]
async fn attribute_order_puts_nulls_last() {
    let app = App::new();
    let mut runs = five_runs();
    runs[0].end = Some(10);
    runs[4].end = Some(20);
    seed(&app, runs).await;
    assert_eq!(ordered(&app, &["end_time"]).await, ["a", "e", "b", "d", "c"]);
    assert_eq!(ordered(&app, &["end_time DESC"]).await, ["e", "a", "b", "d", "c"]);
    assert_eq!(ordered(&app, &["start_time"]).await, ["e", "a", "c", "b", "d"]);
    assert_eq!(ordered(&app, &["created DESC"]).await, ["b", "d", "c", "a", "e"]);
    assert_eq!(ordered(&app, &["run_name DESC"]).await, ["e", "d", "c", "b", "a"]);
}

#[tokio::test]
async fn pages_follow_offset_tokens() {
    let app = App::new();
    seed(&app, five_runs()).await;
    let (first, token) = search(&app, json!({ "max_results": 2 })).await;
    assert_eq!(first, ["b", "d"]);
    assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiAyfQ=="));
    let (second, token) = search(&app, json!({ "max_results": 2, "page_token": token })).await;
    assert_eq!(second, ["c", "a"]);
    assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiA0fQ=="));
    let (third, token) = search(&app, json!({ "max_results": 2, "page_token": token })).await;
    assert_eq!(third, ["e"]);
    assert_eq!(token, None);
    let (exact, token) = search(&app, json!({ "max_results": 5 })).await;
    assert_eq!(exact.len(), 5);
    assert_eq!(token, None);
}

#[tokio::test]
async fn view_types_select_lifecycle_stages() {
    let app = App::new();
    let mut runs = five_runs();
    runs[1].deleted = true;
    runs[4].deleted = true;
    seed(&app, runs).await;
    let active = ["d", "c", "a"];
    let deleted = ["b", "e"];
    let all = ["b", "d", "c", "a", "e"];
    for (view, expected) in [
        (Value::Null, &active[..]),
        (json!("ACTIVE_ONLY"), &active),
        (json!("DELETED_ONLY"), &deleted),
        (json!(2), &deleted),
        (json!("ALL"), &all),
        (json!("3"), &all),
        (json!("UNKNOWN"), &active),
    ] {
        let (found, _) = search(&app, json!({ "run_view_type": view })).await;
        assert_eq!(found, expected, "run_view_type {view}");
    }
}

#[tokio::test]
async fn experiments_scope_the_search() {
    let app = App::new();
    let other = app.experiment("other").await;
    let mut runs = five_runs();
    runs[0].experiment = other.parse().expect("numeric id");
    seed(&app, runs).await;
    for (experiment_ids, expected) in [
        (json!([other]), vec!["a"]),
        (json!(["0", other]), vec!["b", "d", "c", "a", "e"]),
        (json!(["0"]), vec!["b", "d", "c", "e"]),
        (json!(["99"]), vec![]),
    ] {
        let (found, _) = search(&app, json!({ "experiment_ids": experiment_ids })).await;
        assert_eq!(found, expected, "experiment_ids {experiment_ids}");
    }
    let body = app.ok("runs/search", json!({ "experiment_ids": [] })).await;
    assert_eq!(body, json!({ "runs": [] }));
}

#[tokio::test]
async fn found_runs_carry_their_data() {
    let app = App::new();
    seed(&app, five_runs()).await;
    let body =
        app.ok("runs/search", json!({ "experiment_ids": ["0"], "filter": "run_id = 'd'" })).await;
    let found = &body["runs"][0];
    assert_eq!(found["info"]["run_id"], "d");
    assert_eq!(found["info"]["experiment_id"], "0");
    assert_eq!(found["info"]["start_time"], 300);
    assert_eq!(found["data"]["params"], json!([{ "key": "lr", "value": "0.01" }]));
    assert_eq!(found["data"]["metrics"][0]["value"], 0.9);
    assert_eq!(body.get("next_page_token"), None);
}

#[tokio::test]
async fn bad_run_searches_are_rejected() {
    let app = App::new();
    for (body, part) in [
        (json!({ "filter": "metrics.acc > 0.5 or params.lr = '0.01'" }), "OR"),
        (json!({ "filter": "metrics.acc > '1'" }), "expected a number"),
        (json!({ "filter": "params.lr = 0.01" }), "expected a quoted string"),
        (json!({ "filter": "tags.x > 'a'" }), "Invalid comparator '>'"),
        (json!({ "filter": "metrics.acc IS NULL" }), "'IS NULL'"),
        (json!({ "filter": "status IN ('A')" }), "only run_id"),
        (json!({ "filter": "lifecycle_stage = 'active'" }), "'lifecycle_stage'"),
        (json!({ "filter": "foo.bar = 'x'" }), "'foo'"),
        (json!({ "filter": "   " }), "whitespace"),
        (json!({ "order_by": ["metrics.a", "metrics.a DESC"] }), "more than once"),
        (json!({ "order_by": ["created DESC", "start_time"] }), "more than once"),
        (json!({ "order_by": ["datasets.name"] }), "'dataset'"),
        (json!({ "order_by": ["metrics.acc up"] }), "ASC or DESC"),
        (json!({ "max_results": 0 }), "max_results"),
        (json!({ "max_results": 50001 }), "50000"),
        (json!({ "page_token": "xyz" }), "xyz"),
        (json!({ "page_token": "eyJvZmZzZXQiOiAwfQ==" }), "eyJvZmZzZXQiOiAwfQ=="),
    ] {
        let mut body = body;
        body["experiment_ids"] = json!(["0"]);
        rejected(&app, "runs/search", body, part).await;
    }
    rejected(&app, "runs/search", json!({ "experiment_ids": ["abc"] }), "'abc'").await;
    let (_, ok) = search(&app, json!({ "max_results": 50000 })).await;
    assert_eq!(ok, None);
}

#[tokio::test]
async fn runs_search_is_post_only() {
    let app = App::new();
    let (status, _) = app.get("runs/search?experiment_ids=0").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Creates experiments `names` and sets their creation times.
async fn experiments(app: &App, named: &[(&str, i64)]) {
    for (name, _) in named {
        app.experiment(name).await;
    }
    let times: Vec<(String, i64)> = named.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect();
    app.state
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE tracking_experiments SET creation_time = 0, last_update_time = 0",
                [],
            )?;
            for (name, time) in times {
                tx.execute(
                    "UPDATE tracking_experiments SET creation_time = ?1, last_update_time = ?1
                     WHERE name = ?2",
                    rusqlite::params![time, name],
                )?;
            }
            Ok(())
        })
        .await
        .expect("times are set");
}

/// Searches experiments by POST and returns their names and the next page token.
async fn find_experiments(app: &App, body: Value) -> (Vec<String>, Option<String>) {
    let response = app.ok("experiments/search", body).await;
    names_of(&response)
}

fn names_of(response: &Value) -> (Vec<String>, Option<String>) {
    let names = response["experiments"]
        .as_array()
        .expect("experiments is a list")
        .iter()
        .map(|e| e["name"].as_str().expect("name").to_owned())
        .collect();
    (names, response["next_page_token"].as_str().map(str::to_owned))
}

async fn experiment_names(app: &App, filter: &str) -> Vec<String> {
    find_experiments(app, json!({ "filter": filter, "max_results": 100 })).await.0
}

#[tokio::test]
async fn experiments_default_to_newest_first() {
    let app = App::new();
    experiments(&app, &[("alpha", 30), ("beta", 10), ("gamma", 30), ("delta", 20)]).await;
    let (names, token) = find_experiments(&app, json!({})).await;
    assert_eq!(names, ["alpha", "gamma", "delta", "beta", "Default"]);
    assert_eq!(token, None);
}

#[tokio::test]
async fn experiment_filters_follow_mlflow() {
    let app = App::new();
    experiments(&app, &[("alpha", 30), ("Beta", 10), ("gamma", 30), ("delta", 20)]).await;
    app.ok(
        "experiments/set-experiment-tag",
        json!({ "experiment_id": "1", "key": "team", "value": "ml" }),
    )
    .await;
    app.ok(
        "experiments/set-experiment-tag",
        json!({ "experiment_id": "3", "key": "team", "value": "ops" }),
    )
    .await;
    assert_eq!(experiment_names(&app, "name = 'alpha'").await, ["alpha"]);
    assert_eq!(experiment_names(&app, "attribute.name LIKE 'b%'").await, Vec::<String>::new());
    assert_eq!(experiment_names(&app, "name ILIKE 'b%'").await, ["Beta"]);
    assert_eq!(
        experiment_names(&app, "name != 'Default' and creation_time >= 20").await,
        ["alpha", "gamma", "delta"]
    );
    assert_eq!(experiment_names(&app, "experiment_id IN ('1', '2')").await, ["alpha", "Beta"]);
    assert_eq!(experiment_names(&app, "experiment_id = '0'").await, ["Default"]);
    assert_eq!(
        experiment_names(&app, "experiment_id NOT IN ('0', '1', '2')").await,
        ["gamma", "delta"]
    );
    assert_eq!(experiment_names(&app, "tags.team = 'ml'").await, ["alpha"]);
    assert_eq!(experiment_names(&app, "tags.team IS NOT NULL").await, ["alpha", "gamma"]);
    assert_eq!(experiment_names(&app, "tag.team IS NULL").await, ["delta", "Beta", "Default"]);
    assert_eq!(experiment_names(&app, "last_update_time < 15").await, ["Beta", "Default"]);
}

#[tokio::test]
async fn experiment_order_and_pages() {
    let app = App::new();
    experiments(&app, &[("alpha", 30), ("beta", 10), ("gamma", 30), ("delta", 20)]).await;
    let (names, _) = find_experiments(&app, json!({ "order_by": ["name DESC"] })).await;
    assert_eq!(names, ["gamma", "delta", "beta", "alpha", "Default"]);
    let (names, _) = find_experiments(&app, json!({ "order_by": ["creation_time"] })).await;
    assert_eq!(names, ["Default", "beta", "delta", "gamma", "alpha"]);
    let (names, _) =
        find_experiments(&app, json!({ "order_by": ["creation_time", "experiment_id"] })).await;
    assert_eq!(names, ["Default", "beta", "delta", "alpha", "gamma"]);

    let (page, token) = find_experiments(&app, json!({ "max_results": 2 })).await;
    assert_eq!(page, ["alpha", "gamma"]);
    assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiAyfQ=="));
    let (page, token) =
        find_experiments(&app, json!({ "max_results": 2, "page_token": token })).await;
    assert_eq!(page, ["delta", "beta"]);
    let (page, token) =
        find_experiments(&app, json!({ "max_results": 2, "page_token": token })).await;
    assert_eq!(page, ["Default"]);
    assert_eq!(token, None);
}

#[tokio::test]
async fn experiment_search_reads_query_strings() {
    let app = App::new();
    experiments(&app, &[("alpha", 30), ("beta", 10)]).await;
    app.ok("experiments/delete", json!({ "experiment_id": "2" })).await;
    let (status, body) = app.get("experiments/search?max_results=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names_of(&body).0, ["alpha", "Default"]);
    let (_, body) = app.get("experiments/search?view_type=DELETED_ONLY").await;
    assert_eq!(names_of(&body).0, ["beta"]);
    let (_, body) =
        app.get("experiments/search?view_type=3&order_by=creation_time&order_by=name%20DESC").await;
    assert_eq!(names_of(&body).0, ["Default", "beta", "alpha"]);
    let (_, body) = app.get("experiments/search?filter=name%20LIKE%20%27a%25%27").await;
    assert_eq!(names_of(&body).0, ["alpha"]);
    assert_eq!(body["experiments"][0]["experiment_id"], "1");
    assert_eq!(body["experiments"][0]["lifecycle_stage"], "active");
}

#[tokio::test]
async fn bad_experiment_searches_are_rejected() {
    let app = App::new();
    for (body, part) in [
        (json!({ "filter": "attributes.name = 'a'" }), "'attributes'"),
        (json!({ "filter": "metrics.a > 1" }), "'metrics'"),
        (json!({ "filter": "name > 'a'" }), "Invalid comparator '>'"),
        (json!({ "filter": "experiment_id > '1'" }), "experiment_id"),
        (json!({ "filter": "experiment_id = 'abc'" }), "'abc'"),
        (json!({ "filter": "experiment_id = 1" }), "expected a quoted string"),
        (json!({ "filter": "creation_time > 5.5" }), "5.5"),
        (json!({ "filter": "creation_time > '5'" }), "expected a number"),
        (json!({ "filter": "tags.x > 'a'" }), "Invalid comparator '>'"),
        (json!({ "filter": "name IS NULL" }), "'IS NULL'"),
        (json!({ "order_by": ["tags.x"] }), "'tag'"),
        (json!({ "order_by": ["start_time"] }), "'start_time'"),
        (json!({ "max_results": 50001 }), "50000"),
        (json!({ "page_token": "not a token" }), "not a token"),
    ] {
        rejected(&app, "experiments/search", body, part).await;
    }
}

/// Seeds `count` runs shaped like the tracking benchmark: params `lr` (cycling 0.01, 0.001,
/// 0.1), `batch_size` and `optimizer`, metrics `acc`, `loss` and `f1` from a fixed sequence.
async fn seed_benchmark_runs(app: &App, count: usize) -> usize {
    const LRS: [&str; 3] = ["0.01", "0.001", "0.1"];
    let mut state: u64 = 42;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut runs = Vec::with_capacity(count);
    let mut matches = 0;
    for i in 0..count {
        let id: &'static str = Box::leak(format!("{i:032x}").into_boxed_str());
        let acc = next();
        let lr = LRS[i % 3];
        if acc > 0.5 && lr == "0.01" {
            matches += 1;
        }
        runs.push(
            run(id, 1_700_000_000_000 + i as i64)
                .param("lr", lr)
                .param("batch_size", "32")
                .param("optimizer", "adam")
                .metric("acc", acc)
                .metric("loss", next())
                .metric("f1", next()),
        );
    }
    seed(app, runs).await;
    matches
}

#[tokio::test]
async fn benchmark_shaped_search_returns_full_pages() {
    let app = App::new();
    let matches = seed_benchmark_runs(&app, 2000).await;
    assert!(matches > 100, "the seed has {matches} matches, fewer than one page");
    let body = json!({
        "experiment_ids": ["0"],
        "filter": "metrics.acc > 0.5 and params.lr = '0.01'",
        "max_results": 100,
    });

    let mut timings = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let (found, token) = search(&app, body.clone()).await;
        timings.push(started.elapsed());
        assert_eq!(found.len(), 100);
        assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiAxMDB9"));
    }

    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut page_body = body.clone();
        if let Some(token) = &token {
            page_body["page_token"] = json!(token);
        }
        let (found, next) = search(&app, page_body).await;
        all.extend(found);
        token = next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), matches);
    let distinct: std::collections::HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), matches);

    timings.sort();
    // Printed for `cargo test --release -- --nocapture`; not asserted, because shared test
    // machines vary too much.
    println!(
        "runs/search over 2000 runs: p50 {:?}, p99 {:?}, max {:?}",
        timings[timings.len() / 2],
        timings[timings.len() * 99 / 100],
        timings[timings.len() - 1]
    );
}
