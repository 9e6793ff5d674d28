//! `GET /apis/v2beta1/openapi.json`: an OpenAPI 3 document of the endpoints Weir implements,
//! written by hand in `openapi.json` beside this file. A test checks that every operation it
//! lists is routed.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn get() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
