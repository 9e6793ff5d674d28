//! The OpenAPI document is served and every operation it lists is routed; the health check and
//! unknown paths return their documented bodies.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_only_routed_operations() {
    let server = TestServer::start().await;
    let response = server.get("/apis/v2beta1/openapi.json").await;
    response.assert_status(200);
    assert_eq!(response.content_type, "application/json");
    let document = response.json();
    assert_eq!(document["openapi"], "3.0.3");
    let paths = match document["paths"].as_object() {
        Some(paths) => paths.clone(),
        None => panic!("the document has no paths: {document}"),
    };
    assert_eq!(paths.len(), 28);

    let mut checked = 0;
    for (template, operations) in &paths {
        let path = fill_parameters(template);
        for method in operations
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let method = method.to_ascii_uppercase();
            let body = matches!(method.as_str(), "POST" | "PATCH").then(|| Body {
                content_type: "application/json".into(),
                bytes: json!({}).to_string().into_bytes(),
            });
            let response = server.send(&method, &path, body).await;
            let message = if response.content_type == "application/json" {
                response.json()["message"].as_str().unwrap_or_default().to_string()
            } else {
                String::new()
            };
            assert_ne!(response.status, 405, "{method} {path} is not routed: {message}");
            assert!(
                !message.starts_with("no endpoint"),
                "{method} {path} is not routed: {message}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 40);
}

/// Replaces each `{name}` of a path template with `x`.
fn fill_parameters(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in template.chars() {
        match c {
            '{' => inside = true,
            '}' => {
                inside = false;
                out.push('x');
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_unknown_paths() {
    let server = TestServer::start().await;
    let health = server.get("/apis/v2beta1/healthz").await;
    health.assert_status(200);
    assert_eq!(health.json(), json!({"multi_user": false, "pipeline_store": "database"}));

    server.get("/apis/v2beta1/nothing").await.assert_error(
        404,
        5,
        "no endpoint GET /apis/v2beta1/nothing; the implemented endpoints are listed at \
         /apis/v2beta1/openapi.json",
    );
    server.send("PUT", "/apis/v2beta1/experiments", None).await.assert_error(
        405,
        12,
        "method PUT is not allowed on /apis/v2beta1/experiments",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_mlflow_paths_get_mlflow_errors() {
    let server = TestServer::start().await;
    let health = server.get("/health").await;
    health.assert_status(200);
    for path in ["/api/3.0/mlflow/traces/search", "/ajax-api/2.0/mlflow/nothing"] {
        let response = server.send("POST", path, None).await;
        response.assert_status(404);
        let body = response.json();
        assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND", "{path}: {body}");
        assert!(body["message"].as_str().unwrap_or_default().contains(path), "{body}");
    }
}
