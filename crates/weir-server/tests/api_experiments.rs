//! Experiments over HTTP: create, duplicates, get, list with filters, sorting and pages,
//! archive, unarchive and delete.

mod common;

use common::*;
use serde_json::json;

const EXPERIMENTS: &str = "/apis/v2beta1/experiments";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_create_and_duplicate() {
    let server = TestServer::start().await;
    let body = json!({"display_name": "mlops-train", "description": "training runs"});

    let created = server.post(EXPERIMENTS, &body).await;
    created.assert_status(200);
    let experiment = created.json();
    assert_eq!(experiment["display_name"], "mlops-train");
    assert_eq!(experiment["description"], "training runs");
    assert_eq!(experiment["storage_state"], "AVAILABLE");
    let id = created.text_field("experiment_id");

    let duplicate = server.post(EXPERIMENTS, &body).await;
    duplicate.assert_error(
        409,
        6,
        "an experiment named \"mlops-train\" already exists; choose another display_name",
    );

    let fetched = server.get(&format!("{EXPERIMENTS}/{id}")).await;
    fetched.assert_status(200);
    assert_eq!(fetched.json(), experiment);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_errors() {
    let server = TestServer::start().await;

    let missing = server.get(&format!("{EXPERIMENTS}/no-such-id")).await;
    missing.assert_status(404);
    assert_eq!(missing.json()["code"], 5);

    let unnamed = server.post(EXPERIMENTS, &json!({"description": "x"})).await;
    unnamed.assert_error(400, 3, "experiment display_name is required");

    let not_json = server
        .send(
            "POST",
            EXPERIMENTS,
            Some(Body { content_type: "application/json".into(), bytes: b"{oops".to_vec() }),
        )
        .await;
    not_json.assert_status(400);
    let message = not_json.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("invalid request body: "), "{message}");

    let bad_action = server.post(&format!("{EXPERIMENTS}/abc:explode"), &json!({})).await;
    bad_action.assert_error(
        404,
        5,
        "unknown experiment action \"explode\"; the actions are :archive, :unarchive",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_list_filter_sort_pages() {
    let server = TestServer::start().await;
    for name in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        server.post(EXPERIMENTS, &json!({"display_name": name})).await.assert_status(200);
    }

    let all = server.get(EXPERIMENTS).await;
    all.assert_status(200);
    assert_eq!(all.json()["total_size"], 5);

    // The kfp client sends the operation as a number and camelCase value names.
    let filter = r#"{"predicates":[{"key":"display_name","operation":1,"stringValue":"gamma"}]}"#;
    let one = server.get(&format!("{EXPERIMENTS}?filter={}", encode(filter))).await;
    one.assert_status(200);
    let body = one.json();
    assert_eq!(body["total_size"], 1);
    assert_eq!(body["experiments"][0]["display_name"], "gamma");

    let substring =
        r#"{"predicates":[{"key":"display_name","operation":"IS_SUBSTRING","string_value":"ta"}]}"#;
    let sorted = server
        .get(&format!("{EXPERIMENTS}?filter={}&sort_by=display_name", encode(substring)))
        .await;
    let body = sorted.json();
    assert_eq!(sorted_names(&body), ["beta", "delta"]);

    let mut seen = Vec::new();
    let mut path = format!("{EXPERIMENTS}?page_size=2&sort_by={}", encode("display_name desc"));
    for _ in 0..5 {
        let page = server.get(&path).await;
        page.assert_status(200);
        let body = page.json();
        assert_eq!(body["total_size"], 5);
        seen.extend(sorted_names(&body).into_iter().map(str::to_string));
        match body["next_page_token"].as_str() {
            Some(token) => {
                path = format!(
                    "{EXPERIMENTS}?page_size=2&sort_by={}&page_token={}",
                    encode("display_name desc"),
                    encode(token)
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, ["gamma", "epsilon", "delta", "beta", "alpha"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_bad_filter_and_sort() {
    let server = TestServer::start().await;

    let bad_json = server.get(&format!("{EXPERIMENTS}?filter={}", encode("{bad"))).await;
    bad_json.assert_error(
        400,
        3,
        "invalid filter: key must be a string at line 1 column 2; expected URL-encoded JSON \
         such as {\"predicates\": [{\"key\": \"display_name\", \"operation\": \"EQUALS\", \
         \"string_value\": \"name\"}]}",
    );

    let bad_operation =
        r#"{"predicates":[{"key":"display_name","operation":"LIKE","string_value":"x"}]}"#;
    let response = server.get(&format!("{EXPERIMENTS}?filter={}", encode(bad_operation))).await;
    response.assert_status(400);
    let message = response.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with("invalid filter predicate 0: unknown operation \"LIKE\""),
        "{message}"
    );

    let bad_sort = server.get(&format!("{EXPERIMENTS}?sort_by={}", encode("name upward"))).await;
    bad_sort.assert_error(
        400,
        3,
        "invalid sort_by \"name upward\": expected \"<field>\" or \"<field> desc\", such as \
         \"created_at desc\"",
    );

    let bad_size = server.get(&format!("{EXPERIMENTS}?page_size=ten")).await;
    bad_size.assert_error(
        400,
        3,
        "invalid page_size \"ten\": expected a whole number of 0 or more",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_archive_unarchive_delete() {
    let server = TestServer::start().await;
    let created = server.post(EXPERIMENTS, &json!({"display_name": "old"})).await;
    let id = created.text_field("experiment_id");

    server.post(&format!("{EXPERIMENTS}/{id}:archive"), &json!({})).await.assert_status(200);
    let archived = server.get(&format!("{EXPERIMENTS}/{id}")).await.json();
    assert_eq!(archived["storage_state"], "ARCHIVED");

    // A run cannot go into an archived experiment.
    let run = json!({
        "display_name": "r",
        "experiment_id": id,
        "pipeline_spec": pipeline_spec("echo_loop.yaml"),
    });
    let rejected = server.post("/apis/v2beta1/runs", &run).await;
    rejected.assert_error(
        400,
        9,
        &format!("experiment {id:?} is archived; unarchive it before creating runs in it"),
    );

    server.post(&format!("{EXPERIMENTS}/{id}:unarchive"), &json!({})).await.assert_status(200);
    let available = server.get(&format!("{EXPERIMENTS}/{id}")).await.json();
    assert_eq!(available["storage_state"], "AVAILABLE");

    let deleted = server.delete(&format!("{EXPERIMENTS}/{id}")).await;
    deleted.assert_status(200);
    assert_eq!(deleted.json(), json!({}));
    server.get(&format!("{EXPERIMENTS}/{id}")).await.assert_status(404);
}

fn sorted_names(body: &serde_json::Value) -> Vec<&str> {
    body["experiments"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["display_name"].as_str()).collect())
        .unwrap_or_default()
}
