//! Measures the latency of the two hottest read endpoints on a large store:
//! `GET /runs?experiment_id=...&page_size=50&sort_by=created_at desc` over 100,000 runs, and
//! `GET /runs/{id}` of a run with 100 tasks.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p weir-server --example api_latency [-- RUNS [REQUESTS]]
//! ```
//!
//! It fills a store in a temporary folder with RUNS runs over 10 experiments, all SUCCEEDED so
//! the server resumes none. Then it starts the server on 127.0.0.1, sends REQUESTS requests of
//! each kind over one keep-alive connection, and prints p50, p99 and max in milliseconds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::{Server, ServerConfig};
use weir_store::sqlite::SqliteStore;
use weir_store::{CatalogStore, NewExperiment, NewRun, State, Store, TaskKind, TaskRecord};

const EXPERIMENTS: usize = 10;
const TASKS: usize = 100;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);

    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let (experiment, big_run) = fill_store(dir.path(), runs).await?;
    println!("filled the store with {runs} runs in {:.1} s", started.elapsed().as_secs_f64());

    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let server = Server::bind(ServerConfig::new(addr, dir.path())).await?.spawn();
    let mut client = Client::connect(server.addr()).await?;

    let list = format!(
        "/apis/v2beta1/runs?experiment_id={experiment}&page_size=50&sort_by=created_at%20desc"
    );
    let body = client.get(&list).await?;
    let page: serde_json::Value = serde_json::from_slice(&body)?;
    println!(
        "list page: {} runs of {} in the experiment",
        page["runs"].as_array().map_or(0, Vec::len),
        page["total_size"]
    );
    report("runs list, page of 50", &mut client, &list, requests).await?;

    let get = format!("/apis/v2beta1/runs/{big_run}");
    let body = client.get(&get).await?;
    let run: serde_json::Value = serde_json::from_slice(&body)?;
    println!(
        "run get: {} task details, {} bytes",
        run["run_details"]["task_details"].as_array().map_or(0, Vec::len),
        body.len()
    );
    report("runs get, 100 tasks", &mut client, &get, requests).await?;

    drop(client);
    server.stop().await?;
    Ok(())
}

/// Stores the runs and one run with [`TASKS`] tasks; returns an experiment id and that run's id.
async fn fill_store(
    dir: &std::path::Path,
    runs: usize,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(&dir.join(weir_store::sqlite::DB_FILE))?;
    let mut experiments = Vec::new();
    for index in 0..EXPERIMENTS {
        let experiment = store
            .create_experiment(&NewExperiment {
                experiment_id: format!("experiment-{index}"),
                namespace: String::new(),
                display_name: format!("experiment {index}"),
                description: String::new(),
            })
            .await?;
        experiments.push(experiment.experiment_id);
    }
    let spec = json!({"pipelineSpec": {"pipelineInfo": {"name": "bench"}, "root": {}}});
    for index in 0..runs {
        let run_id = format!("run-{index:06}");
        let mut run = new_run(&run_id, spec.clone());
        run.experiment_id = Some(experiments[index % EXPERIMENTS].clone());
        store.create_run(&run).await?;
        store.set_run_state(&run_id, State::Succeeded, None).await?;
    }

    let big_run = "run-with-tasks".to_string();
    let mut run = new_run(&big_run, spec);
    run.experiment_id = Some(experiments[0].clone());
    store.create_run(&run).await?;
    store.set_run_state(&big_run, State::Succeeded, None).await?;
    for index in 0..TASKS {
        store.put_task(&task(&big_run, index)).await?;
    }
    Ok((experiments[0].clone(), big_run))
}

fn new_run(run_id: &str, pipeline_spec: serde_json::Value) -> NewRun {
    NewRun {
        run_id: run_id.to_string(),
        name: run_id.to_string(),
        description: String::new(),
        pipeline_name: "bench".to_string(),
        pipeline_spec,
        parameters: json!({"parameters": {"epochs": 20, "lr": 0.01}, "artifacts": {}}),
        pipeline_root: format!("/tmp/weir/{run_id}"),
        experiment_id: None,
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: true,
    }
}

fn task(run_id: &str, index: usize) -> TaskRecord {
    let now = weir_store::timestamp_now();
    let uri = format!("/tmp/weir/{run_id}/task-{index}/model");
    TaskRecord {
        task_id: format!("{run_id}-task-{index}"),
        run_id: run_id.to_string(),
        parent_task_id: None,
        name: format!("task-{index}"),
        display_name: format!("task-{index}"),
        path: format!("task-{index}"),
        kind: TaskKind::Container,
        component: "comp-train".to_string(),
        iteration_index: None,
        state: State::Succeeded,
        attempts: 1,
        cached: false,
        inputs: json!({"parameters": {"epochs": 20, "lr": 0.01, "name": "x"}, "artifacts": {}}),
        outputs: json!({
            "parameters": {"accuracy": 0.93},
            "artifacts": {"model": [{"name": "model", "uri": uri,
                "type": {"schemaTitle": "system.Model"}, "metadata": {"framework": "sklearn"}}]}
        }),
        error: None,
        cache_key: None,
        log_path: None,
        created_at: now,
        started_at: Some(now),
        finished_at: Some(now),
    }
}

async fn report(
    label: &str,
    client: &mut Client,
    path: &str,
    requests: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..20 {
        client.get(path).await?;
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        client.get(path).await?;
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {requests} requests",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(times[times.len() - 1])
    );
    Ok(())
}

/// An HTTP/1.1 client on one keep-alive connection, for responses with a Content-Length.
struct Client {
    stream: TcpStream,
    addr: SocketAddr,
    buffer: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client { stream, addr, buffer: Vec::new() })
    }

    async fn get(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.stream.write_all(request.as_bytes()).await?;
        let head_end = loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            self.read_more().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_ascii_lowercase();
        if !head.starts_with("http/1.1 200") {
            return Err(std::io::Error::other(format!("GET {path}: {head}")));
        }
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .ok_or_else(|| std::io::Error::other("response without Content-Length"))?;
        let total = head_end + 4 + length;
        while self.buffer.len() < total {
            self.read_more().await?;
        }
        let body = self.buffer[head_end + 4..total].to_vec();
        self.buffer.drain(..total);
        Ok(body)
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 65536];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}
