//! Artifact endpoints: the `mlflow-artifacts` proxy (upload, download, list, delete,
//! presigned downloads), `mlflow/artifacts/list` and `/get-artifact` of a run, and path traversal.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::App;
use serde_json::{json, Value};
use tower::ServiceExt;

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";
const RUN_ID: &str = "0123456789abcdef0123456789abcdef";

/// Sends a request and returns the status, headers and raw body.
async fn send(
    app: &App,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request =
        Request::builder().method(method).uri(uri).body(Body::from(body)).expect("request builds");
    let response = app.router.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
    (status, headers, bytes.to_vec())
}

async fn put(app: &App, path: &str, content: &[u8]) {
    let (status, _, body) = send(app, "PUT", &format!("{PROXY}/{path}"), content.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "PUT {path}: {}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"{}");
}

async fn get_json(app: &App, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(app, "GET", uri, Vec::new()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Bytes that are not text and differ at every position of a 64 KiB window.
fn sample_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

/// Stores a run row whose artifacts live at `artifact_uri`.
async fn insert_run(app: &App, artifact_uri: &str) {
    let uri = artifact_uri.to_owned();
    app.state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO tracking_runs (run_id, experiment_id, artifact_uri, start_time)
                 VALUES (?1, 0, ?2, 0)",
                (RUN_ID, uri),
            )?;
            Ok(())
        })
        .await
        .expect("run row inserts");
}

#[tokio::test]
async fn upload_and_download_round_trip_bytes() {
    let app = App::new();
    let content = sample_bytes(3 * 1024 * 1024 + 17);
    put(&app, "1/abc/artifacts/data.bin", &content).await;

    let (status, headers, body) =
        send(&app, "GET", &format!("{PROXY}/1/abc/artifacts/data.bin"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), content.len());
    assert!(body == content, "downloaded bytes differ from the upload");
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["content-length"], content.len().to_string().as_str());
    assert_eq!(headers["content-disposition"], "attachment; filename=\"data.bin\"");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let on_disk = app.dir.path().join("artifacts/1/abc/artifacts/data.bin");
    assert_eq!(std::fs::read(on_disk).expect("file is on disk"), content);
}

#[tokio::test]
async fn upload_replaces_file_and_leaves_no_temporaries() {
    let app = App::new();
    put(&app, "0/r/artifacts/model/MLmodel", b"first").await;
    put(&app, "0/r/artifacts/model/MLmodel", b"second version").await;

    let (status, headers, body) =
        send(&app, "GET", &format!("{PROXY}/0/r/artifacts/model/MLmodel"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"second version");
    assert_eq!(headers["content-type"], "text/plain");

    let folder = app.dir.path().join("artifacts/0/r/artifacts/model");
    let names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder lists")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["MLmodel"]);
}

#[tokio::test]
async fn upload_larger_than_json_body_limit() {
    let app = App::new();
    let content = sample_bytes(weir_tracking::fields::MAX_BODY_BYTES + 1024);
    put(&app, "0/r/artifacts/big.bin", &content).await;
    let size = std::fs::metadata(app.dir.path().join("artifacts/0/r/artifacts/big.bin"))
        .expect("file is on disk")
        .len();
    assert_eq!(size, content.len() as u64);
}

#[tokio::test]
async fn empty_file_round_trips() {
    let app = App::new();
    put(&app, "0/r/artifacts/empty.txt", b"").await;
    let (status, headers, body) =
        send(&app, "GET", &format!("{PROXY}/0/r/artifacts/empty.txt"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(headers["content-length"], "0");
}

#[tokio::test]
async fn proxy_list_returns_names_sizes_and_folders() {
    let app = App::new();
    put(&app, "1/abc/artifacts/notes.txt", b"hello").await;
    put(&app, "1/abc/artifacts/model/MLmodel", b"flavors: {}").await;
    put(&app, "1/abc/artifacts/model/model.pkl", &[0u8; 10]).await;

    let (status, body) = get_json(&app, &format!("{PROXY}?path=1/abc/artifacts")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "files": [
            { "path": "model", "is_dir": true },
            { "path": "notes.txt", "is_dir": false, "file_size": 5 },
        ]})
    );

    let (_, body) = get_json(&app, &format!("{PROXY}?path=1/abc/artifacts/model")).await;
    assert_eq!(
        body,
        json!({ "files": [
            { "path": "MLmodel", "is_dir": false, "file_size": 11 },
            { "path": "model.pkl", "is_dir": false, "file_size": 10 },
        ]})
    );

    let (_, body) = get_json(&app, PROXY).await;
    assert_eq!(body, json!({ "files": [{ "path": "1", "is_dir": true }] }));

    for missing in ["1/nothing", "1/abc/artifacts/notes.txt"] {
        let (status, body) = get_json(&app, &format!("{PROXY}?path={missing}")).await;
        assert_eq!(status, StatusCode::OK, "{missing}");
        assert_eq!(body, json!({}), "{missing}");
    }

    let (status, _) = get_json(&app, "/ajax-api/2.0/mlflow-artifacts/artifacts?path=1").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn delete_removes_files_and_folders() {
    let app = App::new();
    put(&app, "2/r/artifacts/a.txt", b"a").await;
    put(&app, "2/r/artifacts/model/MLmodel", b"m").await;
    put(&app, "2/r/artifacts/model/sub/x.bin", b"x").await;

    let (status, _, body) =
        send(&app, "DELETE", &format!("{PROXY}/2/r/artifacts/a.txt"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"{}");
    let (status, _, _) =
        send(&app, "DELETE", &format!("{PROXY}/2/r/artifacts/model"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) =
        send(&app, "DELETE", &format!("{PROXY}/2/r/artifacts/never-there"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);

    let (_, body) = get_json(&app, &format!("{PROXY}?path=2/r/artifacts")).await;
    assert_eq!(body, json!({}));
    assert!(!app.dir.path().join("artifacts/2/r/artifacts/model").exists());

    let (status, body) = get_json(&app, &format!("{PROXY}/2/r/artifacts/a.txt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn download_of_folder_or_missing_file_fails() {
    let app = App::new();
    put(&app, "3/r/artifacts/model/MLmodel", b"m").await;

    let (status, body) = get_json(&app, &format!("{PROXY}/3/r/artifacts/model")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = get_json(&app, &format!("{PROXY}/3/r/artifacts/nope.txt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        body["message"],
        "No such artifact: '3/r/artifacts/nope.txt'. List the folder to see which files exist."
    );
}

#[tokio::test]
async fn upload_onto_folder_or_through_file_fails() {
    let app = App::new();
    put(&app, "4/r/artifacts/model/MLmodel", b"m").await;

    let (status, _, body) =
        send(&app, "PUT", &format!("{PROXY}/4/r/artifacts/model"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) =
        send(&app, "PUT", &format!("{PROXY}/4/r/artifacts/model/MLmodel/x"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) =
        send(&app, "PUT", &format!("{PROXY}/4/r/.weir-upload.x"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Every traversal form is rejected with MLflow's code before any file is touched.
#[tokio::test]
async fn traversal_attempts_are_rejected() {
    let app = App::new();
    let outside = app.dir.path().join("secret.txt");
    std::fs::write(&outside, b"keep me").expect("outside file writes");

    let paths = [
        "../secret.txt",
        "..%2Fsecret.txt",
        "%2E%2E/secret.txt",
        "%252E%252E%252Fsecret.txt",
        "1/../../secret.txt",
        "%2F..%2Fsecret.txt",
        "..%5Csecret.txt",
        "C:%2Fwindows",
        "file:%2F%2F%2Fetc%2Fpasswd",
        "a%23b",
        "a%0Ab",
    ];
    for path in paths {
        for method in ["GET", "PUT", "DELETE"] {
            let uri = format!("{PROXY}/{path}");
            let (status, _, body) = send(&app, method, &uri, b"overwritten".to_vec()).await;
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
            assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{method} {path}");
        }
        let (status, body) = get_json(&app, &format!("{PROXY}?path={path}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "list {path}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "list {path}");
    }
    assert_eq!(std::fs::read(&outside).expect("outside file reads"), b"keep me");
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_link_out_of_root_is_rejected() {
    let app = App::new();
    let outside = app.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside folder");
    std::fs::write(outside.join("secret.txt"), b"keep me").expect("outside file writes");
    put(&app, "5/placeholder.txt", b"p").await;
    std::os::unix::fs::symlink(&outside, app.dir.path().join("artifacts/5/link"))
        .expect("link is made");

    let (status, body) = get_json(&app, &format!("{PROXY}/5/link/secret.txt")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    let (status, _, _) = send(&app, "PUT", &format!("{PROXY}/5/link/new.txt"), b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) =
        send(&app, "DELETE", &format!("{PROXY}/5/link/secret.txt"), Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(&app, &format!("{PROXY}?path=5/link")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert!(!outside.join("new.txt").exists());
    assert_eq!(std::fs::read(outside.join("secret.txt")).expect("reads"), b"keep me");
}

#[tokio::test]
async fn presigned_download_is_not_implemented_as_in_mlflow() {
    let app = App::new();
    let (status, body) = get_json(&app, "/api/2.0/mlflow-artifacts/presigned/1/r/x.bin").await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Multipart download is not supported for the current artifact repository"));
}

#[tokio::test]
async fn run_artifact_list_is_relative_to_run_root() {
    let app = App::new();
    let root = format!("mlflow-artifacts:/0/{RUN_ID}/artifacts");
    insert_run(&app, &root).await;
    put(&app, &format!("0/{RUN_ID}/artifacts/notes.txt"), b"hello").await;
    put(&app, &format!("0/{RUN_ID}/artifacts/model/MLmodel"), b"flavors").await;

    let (status, body) = app.get(&format!("artifacts/list?run_id={RUN_ID}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "files": [
                { "path": "model", "is_dir": true },
                { "path": "notes.txt", "is_dir": false, "file_size": 5 },
            ],
            "root_uri": root,
        })
    );

    let (_, body) = app.get(&format!("artifacts/list?run_uuid={RUN_ID}&path=model")).await;
    assert_eq!(
        body,
        json!({
            "files": [{ "path": "model/MLmodel", "is_dir": false, "file_size": 7 }],
            "root_uri": root,
        })
    );

    let (_, body) = app.get(&format!("artifacts/list?run_id={RUN_ID}&path=empty")).await;
    assert_eq!(body, json!({ "root_uri": root }));

    let (status, body) = app.get(&format!("artifacts/list?run_id={RUN_ID}&path=../..")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = app.get("artifacts/list?run_id=ffffffffffffffffffffffffffffffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    let (status, body) = app.get("artifacts/list").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn run_with_foreign_artifact_uri_is_not_served() {
    let app = App::new();
    insert_run(&app, "s3://bucket/0/run/artifacts").await;
    let (status, body) = app.get(&format!("artifacts/list?run_id={RUN_ID}")).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    assert_eq!(body["error_code"], "NOT_IMPLEMENTED");
}

#[tokio::test]
async fn get_artifact_downloads_run_file() {
    let app = App::new();
    insert_run(&app, &format!("mlflow-artifacts:/0/{RUN_ID}/artifacts")).await;
    let content = sample_bytes(70_000);
    put(&app, &format!("0/{RUN_ID}/artifacts/plots/loss.png"), &content).await;

    let uri = format!("/get-artifact?run_id={RUN_ID}&path=plots/loss.png");
    let (status, headers, body) = send(&app, "GET", &uri, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == content, "downloaded bytes differ from the upload");
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"loss.png\"");

    let (status, body) = get_json(&app, &format!("/get-artifact?run_id={RUN_ID}&path=plots")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) =
        get_json(&app, &format!("/get-artifact?run_id={RUN_ID}&path=../../secret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = get_json(&app, &format!("/get-artifact?run_id={RUN_ID}&path=x.txt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}
