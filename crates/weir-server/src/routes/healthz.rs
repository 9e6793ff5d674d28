//! `GET /apis/v2beta1/healthz`: returns 200 once the server accepts requests.

use axum::Json;
use serde_json::{json, Value};

pub async fn get() -> Json<Value> {
    Json(json!({"multi_user": false, "pipeline_store": "database"}))
}
