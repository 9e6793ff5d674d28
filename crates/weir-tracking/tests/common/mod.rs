//! Test harness: a tracking router over a fresh database in a temporary folder, and helpers
//! that send one request and return the status and the JSON body.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;
use weir_tracking::{router, Tracking, TrackingState};

/// A router over its own database; the folder lives as long as the value.
pub struct App {
    pub dir: TempDir,
    pub state: TrackingState,
    pub router: Router,
}

impl App {
    pub fn new() -> App {
        let dir = tempfile::tempdir().expect("temporary folder");
        let state = Tracking::open(&dir.path().join("weir.db"), dir.path().join("artifacts"))
            .expect("tracking store opens");
        let router = router(state.clone());
        App { dir, state, router }
    }

    /// Sends a request with an optional JSON body; returns the status and the parsed body
    /// (`Value::Null` when the body is empty or not JSON).
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, bytes) =
            self.call_raw(method, uri, body.map(|b| b.to_string().into_bytes())).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends raw bytes; returns the status and the raw response body.
    pub async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request builds");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body reads")
            .to_vec();
        (status, bytes)
    }

    /// POSTs JSON to `/api/2.0/mlflow/<path>` and returns the status and body.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", &format!("/api/2.0/mlflow/{path}"), Some(body)).await
    }

    /// GETs `/api/2.0/mlflow/<path_and_query>` and returns the status and body.
    pub async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/api/2.0/mlflow/{path_and_query}"), None).await
    }

    /// POSTs and asserts 200, returning the body.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "POST {path} answered {value}");
        value
    }

    /// Creates an experiment and returns its id.
    pub async fn experiment(&self, name: &str) -> String {
        let body = self.ok("experiments/create", serde_json::json!({ "name": name })).await;
        body["experiment_id"].as_str().expect("experiment_id").to_owned()
    }
}
