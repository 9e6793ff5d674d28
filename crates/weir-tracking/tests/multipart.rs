//! Multipart uploads through the `mlflow-artifacts` proxy: create, part uploads to the URLs
//! the create call returns, complete and abort, and the checks on each step.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::App;
use serde_json::{json, Value};
use tower::ServiceExt;

const HOST: &str = "weir.test:19701";
const MPU: &str = "/api/2.0/mlflow-artifacts/mpu";
const FOLDER: &str = "1/abc/artifacts/data";
const STAGING: &str = ".weir-upload.multipart";

/// Sends a request with a `Host` header; returns the status, headers and raw body.
async fn send(
    app: &App,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request builds");
    let response = app.router.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
    (status, headers, bytes.to_vec())
}

async fn post(app: &App, uri: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, bytes) = send(app, "POST", uri, body.to_string().into_bytes()).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Starts an upload of `name` into [`FOLDER`]; returns the upload id and the part URLs' paths.
async fn create(app: &App, name: &str, num_parts: u32) -> (String, Vec<String>) {
    let request = json!({ "path": format!("/home/user/{name}"), "num_parts": num_parts });
    let (status, body) = post(app, &format!("{MPU}/create/{FOLDER}"), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["upload_id"].as_str().expect("upload_id").to_owned();
    let credentials = body["credentials"].as_array().expect("credentials");
    let paths = credentials
        .iter()
        .enumerate()
        .map(|(index, credential)| {
            assert_eq!(credential["part_number"], index + 1);
            let url = credential["url"].as_str().expect("url");
            let path = url.strip_prefix(&format!("http://{HOST}")).expect("url names the host");
            path.to_owned()
        })
        .collect();
    (id, paths)
}

/// Uploads one part; returns its ETag.
async fn put_part(app: &App, path: &str, content: &[u8]) -> String {
    let (status, headers, body) = send(app, "PUT", path, content.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    headers.get("etag").and_then(|etag| etag.to_str().ok()).expect("ETag header").to_owned()
}

async fn complete(app: &App, name: &str, id: &str, parts: &[(u32, &str)]) -> (StatusCode, Value) {
    let parts: Vec<Value> = parts
        .iter()
        .map(|(number, etag)| json!({ "part_number": number, "etag": etag, "url": null }))
        .collect();
    let request = json!({ "path": format!("/home/user/{name}"), "upload_id": id, "parts": parts });
    post(app, &format!("{MPU}/complete/{FOLDER}"), request).await
}

async fn abort(app: &App, name: &str, id: &str) -> (StatusCode, Value) {
    let request = json!({ "path": format!("/home/user/{name}"), "upload_id": id });
    post(app, &format!("{MPU}/abort/{FOLDER}"), request).await
}

/// Bytes that are not text and differ at every position of a 64 KiB window.
fn sample_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn staging_entries(app: &App) -> usize {
    let staging = app.state.artifact_root.join(STAGING);
    std::fs::read_dir(staging).map(|entries| entries.count()).unwrap_or(0)
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
}

#[tokio::test]
async fn parts_join_into_the_file_byte_exact() {
    let app = App::new();
    let content = sample_bytes(2_500_000);
    let (id, paths) = create(&app, "big.bin", 3).await;
    assert_eq!(id.len(), 32);
    assert_eq!(
        paths,
        (1..=3).map(|n| format!("{MPU}/parts/{id}/{n}")).collect::<Vec<_>>(),
        "part URLs point back at this server"
    );

    // Parts sent out of order, and part 2 twice: the ETag picks the copy.
    let chunks: Vec<&[u8]> = content.chunks(1_000_000).collect();
    let etag3 = put_part(&app, &paths[2], chunks[2]).await;
    let stale2 = put_part(&app, &paths[1], b"an earlier attempt").await;
    let etag2 = put_part(&app, &paths[1], chunks[1]).await;
    let etag1 = put_part(&app, &paths[0], chunks[0]).await;
    assert_ne!(stale2, etag2);
    assert!(etag1.starts_with('"'), "{etag1}");
    assert!(etag1.ends_with('"'), "{etag1}");
    assert_eq!(etag1.len(), 34, "{etag1}");

    let (status, body) =
        complete(&app, "big.bin", &id, &[(3, &etag3), (1, &etag1), (2, &etag2)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));

    let (status, _, downloaded) =
        send(&app, "GET", &format!("/api/2.0/mlflow-artifacts/artifacts/{FOLDER}/big.bin"), vec![])
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(downloaded.len(), content.len());
    assert!(downloaded == content, "downloaded bytes differ from the upload");
    assert_eq!(staging_entries(&app), 0, "the staging folder is removed");
    let folder = app.state.artifact_root.join(FOLDER);
    let names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder lists")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["big.bin"], "no temporary file is left");

    // The upload is gone once completed.
    let (status, body) = complete(&app, "big.bin", &id, &[(1, &etag1)]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn part_urls_follow_prefix_and_scheme() {
    let app = App::new();
    let request = Request::builder()
        .method("POST")
        .uri(format!("/ajax-api/2.0/mlflow-artifacts/mpu/create/{FOLDER}"))
        .header("host", "example.org")
        .header("x-forwarded-proto", "https")
        .body(Body::from(json!({ "path": "f.bin", "num_parts": 1 }).to_string()))
        .expect("request builds");
    let response = app.router.clone().oneshot(request).await.expect("router answers");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
    let body: Value = serde_json::from_slice(&bytes).expect("JSON");
    let id = body["upload_id"].as_str().expect("upload_id");
    assert_eq!(
        body["credentials"],
        json!([{
            "url": format!("https://example.org/ajax-api/2.0/mlflow-artifacts/mpu/parts/{id}/1"),
            "part_number": 1
        }])
    );
}

#[tokio::test]
async fn zero_parts_make_an_empty_file() {
    let app = App::new();
    let (id, paths) = create(&app, "empty.bin", 0).await;
    assert!(paths.is_empty());
    let (status, body) = complete(&app, "empty.bin", &id, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file = app.state.artifact_root.join(FOLDER).join("empty.bin");
    assert_eq!(std::fs::read(file).expect("file reads"), b"");
}

#[tokio::test]
async fn abort_removes_the_parts() {
    let app = App::new();
    let (id, paths) = create(&app, "big.bin", 2).await;
    put_part(&app, &paths[0], b"first").await;
    assert_eq!(staging_entries(&app), 1);

    let (status, body) = abort(&app, "big.bin", &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(staging_entries(&app), 0);
    assert!(!app.state.artifact_root.join(FOLDER).join("big.bin").exists());

    let (status, _, bytes) = send(&app, "PUT", &paths[1], b"late".to_vec()).await;
    let body: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_error(status, &body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (status, body) = abort(&app, "big.bin", &id).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn bad_etags_and_missing_parts_are_rejected() {
    let app = App::new();
    let (id, paths) = create(&app, "big.bin", 2).await;
    let etag1 = put_part(&app, &paths[0], b"one").await;

    // Part 2 never arrived.
    let (status, body) = complete(&app, "big.bin", &id, &[(1, &etag1), (2, "\"x\"")]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(body["message"].as_str().unwrap_or_default().contains("Part 2"), "{body}");

    let etag2 = put_part(&app, &paths[1], b"two").await;
    let wrong = "\"00000000000000000000000000000000\"";
    let attempts: [&[(u32, &str)]; 5] = [
        &[(1, &etag1), (2, wrong)],
        &[(1, &etag2), (2, &etag1)],
        &[(1, &etag1)],
        &[(1, &etag1), (2, &etag2), (2, &etag2)],
        &[(1, &etag1), (2, &etag2), (3, &etag2)],
    ];
    for parts in attempts {
        let (status, body) = complete(&app, "big.bin", &id, parts).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    // Another file name than the create call's.
    let (status, body) = complete(&app, "other.bin", &id, &[(1, &etag1), (2, &etag2)]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    // A part number outside the upload.
    let (status, _, _) = send(&app, "PUT", &format!("{MPU}/parts/{id}/3"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = send(&app, "PUT", &format!("{MPU}/parts/{id}/one"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The failed calls left the upload open: ETags without quotes also match.
    let bare1 = etag1.trim_matches('"').to_owned();
    let (status, body) = complete(&app, "big.bin", &id, &[(1, &bare1), (2, &etag2)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file = app.state.artifact_root.join(FOLDER).join("big.bin");
    assert_eq!(std::fs::read(file).expect("file reads"), b"onetwo");
}

#[tokio::test]
async fn unknown_upload_ids_are_not_found() {
    let app = App::new();
    let unknown = "0123456789abcdef0123456789abcdef";
    for id in [unknown, "../../1", "x"] {
        let (status, body) = complete(&app, "big.bin", id, &[]).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
        let (status, body) = abort(&app, "big.bin", id).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    }
    let (status, _, _) =
        send(&app, "PUT", &format!("{MPU}/parts/{unknown}/1"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) =
        send(&app, "PUT", &format!("{MPU}/parts/..%2F..%2Fx/1"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_fields_and_traversal_are_rejected() {
    let app = App::new();
    for action in ["create", "complete", "abort"] {
        let uri = format!("{MPU}/{action}/{FOLDER}");
        let (status, body) = post(&app, &uri, json!({ "num_parts": 1, "upload_id": "u" })).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

        let bad = format!("{MPU}/{action}/..%2Fx");
        let (status, body) = post(&app, &bad, json!({ "path": "x", "upload_id": "u" })).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

        for name in ["/tmp/..", "dir/", "a%2F..%2F..%2Fb", ".weir-upload.x"] {
            let request = json!({ "path": name, "num_parts": 1, "upload_id": "u", "parts": [] });
            let (status, body) = post(&app, &uri, request).await;
            assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        }
    }
    // The staging area is not reachable through the proxy.
    let (id, _) = create(&app, "big.bin", 1).await;
    let private = format!("/api/2.0/mlflow-artifacts/artifacts/{STAGING}/{id}/upload.json");
    for method in ["GET", "PUT", "DELETE"] {
        let (status, _, _) = send(&app, method, &private, b"x".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {private}");
    }
    let (status, _, bytes) = send(&app, "GET", "/api/2.0/mlflow-artifacts/artifacts", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let listing: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(listing, json!({}), "the staging folder is not listed");
    assert_eq!(staging_entries(&app), 1);

    // Too many parts, and the number of parts as a negative number.
    for count in [10_001, -1] {
        let request = json!({ "path": "big.bin", "num_parts": count });
        let (status, body) = post(&app, &format!("{MPU}/create/{FOLDER}"), request).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
}

#[tokio::test]
async fn create_without_host_header_fails() {
    let app = App::new();
    let request = json!({ "path": "big.bin", "num_parts": 1 });
    let (status, body) = app.call("POST", &format!("{MPU}/create/{FOLDER}"), Some(request)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert_eq!(staging_entries(&app), 0);
}
