//! The HTTP client of a Weir server's KFP v2beta1 REST API, for the `--server` commands.
//!
//! [`Client`] contains the server's base URL and sends [`Call`]s: it builds the endpoint URL under
//! `/apis/v2beta1` with every path segment percent-encoded, and turns an error status into
//! [`ClientError::Api`] with the message of the `googleRpcStatus` body. [`api`] has the typed
//! calls, [`types`] the response shapes, and [`records`] turns responses into the store records
//! that the terminal renderings of [`crate::display`] take.

pub mod api;
mod error;
pub mod records;
pub mod types;

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::ClientError;

/// Path segments of the API under the server's base URL.
const API_PREFIX: [&str; 2] = ["apis", "v2beta1"];

/// Time to open a connection before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time for one request and its response. Deleting an active run waits until it stops, and a
/// task log is sent whole, so the limit is generous.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Maximum characters of a non-JSON error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 300;

/// A server's API, at one base URL.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// The base URL as given, without a trailing slash, for messages.
    server: String,
}

/// A response body parsed into `T`, with the JSON it was parsed from for `--json` output.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub item: T,
    pub json: Value,
}

/// One request: method, path segments under `/apis/v2beta1`, query parameters and body.
pub struct Call<'a> {
    method: Method,
    segments: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    body: CallBody<'a>,
}

enum CallBody<'a> {
    Empty,
    Json(&'a Value),
    /// A multipart upload of one file in the field `uploadfile`, as the KFP upload endpoints
    /// take it.
    File {
        name: String,
        bytes: Vec<u8>,
    },
}

impl<'a> Call<'a> {
    pub fn new(method: Method, segments: &[&'a str]) -> Self {
        Call { method, segments: segments.to_vec(), query: Vec::new(), body: CallBody::Empty }
    }

    pub fn get(segments: &[&'a str]) -> Self {
        Call::new(Method::GET, segments)
    }

    pub fn post(segments: &[&'a str]) -> Self {
        Call::new(Method::POST, segments)
    }

    pub fn delete(segments: &[&'a str]) -> Self {
        Call::new(Method::DELETE, segments)
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn json(mut self, body: &'a Value) -> Self {
        self.body = CallBody::Json(body);
        self
    }

    pub fn file(mut self, name: String, bytes: Vec<u8>) -> Self {
        self.body = CallBody::File { name, bytes };
        self
    }
}

impl Client {
    /// Creates a client of the server at `server`: `http://HOST:PORT`, optionally with a path
    /// prefix, or `HOST:PORT`, which means `http://HOST:PORT`.
    pub fn new(server: &str) -> Result<Client, ClientError> {
        let base = parse_server_url(server)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClientError::InvalidUrl {
                url: server.to_string(),
                reason: format!("cannot create an HTTP client for it: {e}"),
            })?;
        let server = base.as_str().trim_end_matches('/').to_string();
        Ok(Client { http, base, server })
    }

    /// Returns the server's base URL, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends a call whose response is JSON and parses it as `T`.
    pub async fn fetch<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<Fetched<T>, ClientError> {
        let method = call.method.clone();
        let url = self.endpoint(&call.segments);
        let response = self.send(call, url.clone()).await?;
        let text = response
            .text()
            .await
            .map_err(|e| ClientError::from_reqwest(e, &method, url.as_str(), &self.server))?;
        let invalid = |cause: String| ClientError::InvalidResponse {
            method: method.to_string(),
            url: url.to_string(),
            server: self.server.clone(),
            cause,
        };
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("the body is not JSON ({e})")))?;
        let item = serde_json::from_value(json.clone())
            .map_err(|e| invalid(format!("unexpected JSON shape ({e})")))?;
        Ok(Fetched { item, json })
    }

    /// Sends a call whose response is not JSON, such as a log, and returns its bytes.
    pub async fn bytes(&self, call: Call<'_>) -> Result<Vec<u8>, ClientError> {
        let method = call.method.clone();
        let url = self.endpoint(&call.segments);
        let response = self.send(call, url.clone()).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::from_reqwest(e, &method, url.as_str(), &self.server))?;
        Ok(bytes.to_vec())
    }

    /// Returns `base` + `/apis/v2beta1/` + the segments, each percent-encoded, so a task path
    /// such as `for-loop-2/iteration-0/square` stays one segment.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // A base URL that cannot have a path is rejected by `parse_server_url`.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(API_PREFIX).extend(segments);
        }
        url
    }

    /// Sends the request and returns the response of a success status, or the server's error.
    async fn send(&self, call: Call<'_>, url: Url) -> Result<reqwest::Response, ClientError> {
        let method = call.method.clone();
        let mut request = self.http.request(call.method, url.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match call.body {
            CallBody::Empty => request,
            CallBody::Json(body) => request.json(body),
            CallBody::File { name, bytes } => {
                let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
                request.multipart(reqwest::multipart::Form::new().part("uploadfile", part))
            }
        };

        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::from_reqwest(e, &method, url.as_str(), &self.server))?;
        let status = response.status();
        tracing::debug!(%method, %url, status = status.as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "Server responded.");
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(ClientError::Api { status: status.as_u16(), message: error_message(status, &body) })
    }
}

/// Parses the `--server` value into a base URL with a path that ends in `/`.
fn parse_server_url(server: &str) -> Result<Url, ClientError> {
    let invalid = |reason: String| ClientError::InvalidUrl { url: server.to_string(), reason };
    let text = server.trim();
    if text.is_empty() {
        return Err(invalid("the URL is empty; give one such as http://127.0.0.1:8888".into()));
    }
    let with_scheme =
        if text.contains("://") { text.to_string() } else { format!("http://{text}") };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| invalid(format!("{e}; give one such as http://127.0.0.1:8888")))?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(invalid(
                "https is not supported because this weir is built without TLS; `weir server` \
                 serves plain http://"
                    .into(),
            ))
        }
        other => return Err(invalid(format!("unsupported scheme {other:?}; use http://"))),
    }
    if url.host_str().is_none_or(str::is_empty) || url.cannot_be_a_base() {
        return Err(invalid("the URL has no host; give one such as http://127.0.0.1:8888".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("remove the query and fragment (after `?` or `#`)".into()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Returns the message of an error response: the `message` of a `googleRpcStatus` body, else
/// the start of the body, else the status's reason phrase.
fn error_message(status: reqwest::StatusCode, body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let message = value.get("message").or_else(|| value.get("error"));
        if let Some(message) = message.and_then(Value::as_str).filter(|m| !m.is_empty()) {
            return message.to_string();
        }
    }
    let body = body.trim();
    if body.is_empty() {
        return status.canonical_reason().unwrap_or("error status").to_string();
    }
    match body.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(server: &str, segments: &[&str]) -> String {
        match Client::new(server) {
            Ok(client) => client.endpoint(segments).to_string(),
            Err(e) => panic!("{server}: {e}"),
        }
    }

    #[test]
    fn endpoints_from_server_urls() {
        let cases = [
            ("http://127.0.0.1:8888", vec!["runs"], "http://127.0.0.1:8888/apis/v2beta1/runs"),
            ("127.0.0.1:8888/", vec!["runs"], "http://127.0.0.1:8888/apis/v2beta1/runs"),
            ("http://host/kfp", vec!["runs"], "http://host/kfp/apis/v2beta1/runs"),
            ("http://host/kfp/", vec!["runs"], "http://host/kfp/apis/v2beta1/runs"),
            (
                "http://h:1",
                vec!["runs", "r1", "tasks", "loop/iteration-0/sq", "logs"],
                "http://h:1/apis/v2beta1/runs/r1/tasks/loop%2Fiteration-0%2Fsq/logs",
            ),
            (
                "http://h:1",
                vec!["runs", "r1:terminate"],
                "http://h:1/apis/v2beta1/runs/r1:terminate",
            ),
            ("http://h:1", vec!["runs", "a b?"], "http://h:1/apis/v2beta1/runs/a%20b%3F"),
        ];
        for (server, segments, expected) in cases {
            assert_eq!(endpoint(server, &segments), expected, "{server} {segments:?}");
        }
    }

    #[test]
    fn server_urls_rejected() {
        let cases = [
            ("", "the URL is empty"),
            ("https://h:1", "https is not supported"),
            ("ftp://h", "unsupported scheme \"ftp\""),
            ("http://h:1/?x=1", "remove the query"),
            ("http://h:99999", "invalid port number"),
        ];
        for (server, expected) in cases {
            match Client::new(server) {
                Ok(_) => panic!("{server:?} was accepted"),
                Err(e) => assert!(e.to_string().contains(expected), "{server:?}: {e}"),
            }
        }
    }

    #[test]
    fn error_messages_from_bodies() {
        let not_found = reqwest::StatusCode::NOT_FOUND;
        let cases = [
            (
                r#"{"code": 5, "message": "run \"x\" not found", "details": []}"#,
                "run \"x\" not found",
            ),
            ("plain text\n", "plain text"),
            ("", "Not Found"),
            (r#"{"code": 5}"#, r#"{"code": 5}"#),
        ];
        for (body, expected) in cases {
            assert_eq!(error_message(not_found, body), expected, "{body:?}");
        }
    }
}
