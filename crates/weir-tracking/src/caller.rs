//! The Weir task a tracking request comes from. Weir gives each task it runs against its own
//! tracking server `MLFLOW_TRACKING_TOKEN=weir-task.<base64url of a JSON object>`, and the
//! `mlflow` client sends that token as `Authorization: Bearer ...` with every request. The
//! object has the same `weir.*` tags as the task's `MLFLOW_RUN_CONTEXT`
//! (`weir_engine::tracking_env` writes both). The server adds them to the runs and model
//! versions a task creates, including those made with `MlflowClient`, which reads no run
//! context.
//!
//! The token identifies, it does not authenticate: Weir's tracking server has no
//! authentication, and a request without the token is served the same way.

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use serde_json::{Map, Value};

/// The prefix of a task's token.
pub const TOKEN_PREFIX: &str = "weir-task.";

/// The `weir.*` tags of the task that sent a request, from its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCaller {
    tags: Vec<(String, String)>,
}

impl TaskCaller {
    /// Reads the caller from the `Authorization` header; `None` without a Weir task token.
    pub fn from_headers(headers: &HeaderMap) -> Option<TaskCaller> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ")?.trim().strip_prefix(TOKEN_PREFIX)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
        let Value::Object(map) = serde_json::from_slice::<Value>(&bytes).ok()? else {
            return None;
        };
        let tags = tags_of(map);
        (!tags.is_empty()).then_some(TaskCaller { tags })
    }

    /// Adds the caller's tags whose keys `tags` does not have yet.
    pub fn add_missing_tags(&self, tags: &mut Vec<(String, String)>) {
        for (key, value) in &self.tags {
            if !tags.iter().any(|(existing, _)| existing == key) {
                tags.push((key.clone(), value.clone()));
            }
        }
    }
}

/// Keeps the `weir.*` entries with text values.
fn tags_of(map: Map<String, Value>) -> Vec<(String, String)> {
    map.into_iter()
        .filter(|(key, _)| key.starts_with("weir."))
        .filter_map(|(key, value)| match value {
            Value::String(text) => Some((key, text)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn token(json: &str) -> String {
        format!(
            "Bearer {TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    #[test]
    fn caller_adds_missing_weir_tags() {
        let caller = TaskCaller::from_headers(&headers(&token(
            r#"{"weir.run_id": "r1", "weir.task_id": "t1", "other": "x", "weir.n": 3}"#,
        )))
        .expect("a caller");
        let mut tags = vec![("weir.run_id".to_owned(), "mine".to_owned())];
        caller.add_missing_tags(&mut tags);
        assert_eq!(
            tags,
            vec![
                ("weir.run_id".to_owned(), "mine".to_owned()),
                ("weir.task_id".to_owned(), "t1".to_owned()),
            ]
        );
    }

    #[test]
    fn caller_ignores_other_tokens() {
        assert_eq!(TaskCaller::from_headers(&HeaderMap::new()), None);
        for value in ["Basic dXNlcjpwdw==", "Bearer abc", "Bearer weir-task.%%%", &token("[1]")] {
            assert_eq!(TaskCaller::from_headers(&headers(value)), None, "{value}");
        }
    }
}
