//! Test harness: a real server on 127.0.0.1 with a temporary data folder, and a small HTTP/1.1
//! client over a TCP stream that sends one request per connection.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::{RunningServer, Server, ServerConfig};

/// Maximum time a test waits for a run to reach a state.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("cannot create a temporary folder: {e}"),
        };
        let server = start_in(dir.path()).await;
        TestServer { addr: server.addr(), server: Some(server), dir }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server and starts a new one on the same data folder.
    pub async fn restart(&mut self) {
        self.stop().await;
        let server = start_in(self.dir.path()).await;
        self.addr = server.addr();
        self.server = Some(server);
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            if let Err(e) = server.stop().await {
                panic!("server stopped with an error: {e}");
            }
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send("GET", path, None).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send("DELETE", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        let body = Body { content_type: "application/json".into(), bytes: body.to_string().into() };
        self.send("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        let body = Body { content_type: "application/json".into(), bytes: body.to_string().into() };
        self.send("PATCH", path, Some(body)).await
    }

    /// Uploads `content` as the multipart field `uploadfile`, as the kfp client does.
    pub async fn upload(&self, path: &str, file_name: &str, content: &str) -> Response {
        let boundary = "weir-test-boundary-7d1f";
        let mut bytes = Vec::new();
        bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        bytes.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"uploadfile\"; filename=\"{file_name}\"\r\n"
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        bytes.extend_from_slice(content.as_bytes());
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body =
            Body { content_type: format!("multipart/form-data; boundary={boundary}"), bytes };
        self.send("POST", path, Some(body)).await
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Body>) -> Response {
        match request(self.addr, method, path, body).await {
            Ok(response) => response,
            Err(e) => panic!("{method} {path} failed: {e}"),
        }
    }

    /// Uploads a pipeline file from `tests/data` and returns the new pipeline's id.
    pub async fn upload_pipeline(&self, name: &str, file: &str) -> String {
        let response = self
            .upload(&format!("/apis/v2beta1/pipelines/upload?name={name}"), file, &fixture(file))
            .await;
        response.assert_status(200);
        response.text_field("pipeline_id")
    }

    /// Creates a run of a `tests/data` pipeline with the given parameters; returns its id.
    pub async fn create_run(&self, file: &str, parameters: Value) -> String {
        let body = serde_json::json!({
            "display_name": format!("test {file}"),
            "pipeline_spec": pipeline_spec(file),
            "runtime_config": {"parameters": parameters},
        });
        let response = self.post("/apis/v2beta1/runs", &body).await;
        response.assert_status(200);
        response.text_field("run_id")
    }

    /// Polls a run until its state is `state`, and returns the run JSON.
    pub async fn wait_for_state(&self, run_id: &str, state: &str) -> Value {
        let started = Instant::now();
        loop {
            let response = self.get(&format!("/apis/v2beta1/runs/{run_id}")).await;
            response.assert_status(200);
            let run = response.json();
            if run["state"] == state {
                return run;
            }
            if started.elapsed() > RUN_TIMEOUT {
                panic!("run {run_id} did not reach {state} in {RUN_TIMEOUT:?}: {run:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn start_in(dir: &Path) -> RunningServer {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut config = ServerConfig::new(addr, dir);
    config.engine.cancel_poll_interval = Duration::from_millis(50);
    match Server::bind(config).await {
        Ok(server) => server.spawn(),
        Err(e) => panic!("server failed to start: {e}"),
    }
}

pub struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!("response is not JSON ({e}): {}", self.text()),
        }
    }

    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
    }

    /// Returns a string field of the JSON body.
    pub fn text_field(&self, name: &str) -> String {
        match self.json()[name].as_str() {
            Some(text) => text.to_string(),
            None => panic!("response has no string field {name}: {}", self.text()),
        }
    }

    /// Checks an error response: status, gRPC code and message.
    pub fn assert_error(&self, status: u16, code: i64, message: &str) {
        self.assert_status(status);
        let body = self.json();
        assert_eq!(body["code"], code, "gRPC code; body: {body}");
        assert_eq!(body["message"], message, "message; body: {body}");
        assert_eq!(body["details"], serde_json::json!([]), "details; body: {body}");
    }
}

/// Sends one HTTP/1.1 request and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Body>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let bytes = match body {
        Some(body) => {
            head.push_str(&format!("Content-Type: {}\r\n", body.content_type));
            body.bytes
        }
        None => Vec::new(),
    };
    head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&bytes).await?;

    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("no response within 30 seconds"))??;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let invalid = |what: &str| std::io::Error::other(format!("invalid response: {what}"));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| invalid("no head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status_line = lines.next().ok_or_else(|| invalid("empty"))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(status_line))?;
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-type" {
                content_type = value.trim().to_string();
            }
            if name == "transfer-encoding" && value.trim().eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    if chunked {
        body = decode_chunked(&body).ok_or_else(|| invalid("bad chunked body"))?;
    }
    Ok(Response { status, content_type, body })
}

fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

pub fn fixture_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join(file)
}

/// Reads a compiled pipeline from `tests/data`.
pub fn fixture(file: &str) -> String {
    let path = fixture_path(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// Returns a `tests/data` pipeline as the `pipeline_spec` object the kfp client sends.
pub fn pipeline_spec(file: &str) -> Value {
    let text = fixture(file);
    match serde_yaml::from_str::<Value>(&text) {
        Ok(value) => value,
        Err(e) => panic!("{file} is not YAML: {e}"),
    }
}

/// Returns the task detail with this display name; panics when none or several have it.
pub fn task<'a>(run: &'a Value, display_name: &str) -> &'a Value {
    let tasks = tasks(run);
    let found: Vec<&Value> = tasks.iter().filter(|t| t["display_name"] == display_name).collect();
    match found.as_slice() {
        [task] => task,
        _ => panic!("expected one task {display_name}, found {}: {run:#}", found.len()),
    }
}

pub fn tasks(run: &Value) -> &Vec<Value> {
    match run["run_details"]["task_details"].as_array() {
        Some(tasks) => tasks,
        None => panic!("run has no run_details.task_details: {run:#}"),
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
