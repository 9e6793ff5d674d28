//! Measures the SQLite store on a file: task upserts per second and the time to list one page of
//! runs of an experiment among many runs.
//!
//! Run: `cargo run --release -p weir-store --example store_rates [TASKS] [RUNS] [SPEC_BYTES]`
//! (defaults 3000 tasks, 100000 runs and a 6000-byte pipeline spec, about the median size of
//! a compiled KFP pipeline).
//!
//! Each task gets three upserts, as the engine writes them: created (PENDING), started
//! (RUNNING) and finished (SUCCEEDED with outputs). Each upsert is its own transaction. The runs
//! are spread over 100 experiments. The database lives in a fresh temporary folder.
//!
//! Results with the defaults, release build, on a 2-vCPU AMD EPYC virtual machine whose load
//! average was about 5 from other builds, so the numbers are pessimistic:
//!
//! - put_task, 9000 upserts: 13,800 per second (72 µs each). An earlier run at a lower load
//!   measured 23,000 per second (43 µs each).
//! - create_run with a 6.5 KB spec, 100,000 runs: 1,800 to 4,300 per second over three runs.
//! - list_runs, 50 newest runs of one experiment: median 2.7 ms, max 7.4 ms.
//! - list_runs, 50 newest of all runs: median 2.8 ms, max 8.4 ms.
//! - The same page of one experiment read without parsing the JSON: median 0.09 ms.
//!
//! Parsing the 50 pipeline specs into `serde_json::Value` takes almost all of a listing.

use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use serde_json::{json, Value};
use weir_store::sqlite::SqliteStore;
use weir_store::{timestamp_now, NewRun, RunQuery, State, Store, TaskKind, TaskRecord};

const EXPERIMENTS: usize = 100;
const PAGE: usize = 50;
const LIST_REPEATS: u32 = 200;

/// Formats the minimum, median and maximum of `times` in milliseconds.
fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |time: Duration| time.as_secs_f64() * 1e3;
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let (min, max) = (times.first().copied(), times.last().copied());
    format!(
        "min {:.2} ms, median {:.2} ms, max {:.2} ms",
        ms(min.unwrap_or_default()),
        ms(median),
        ms(max.unwrap_or_default())
    )
}

fn arg(position: usize, default: usize) -> usize {
    std::env::args().nth(position).and_then(|text| text.parse().ok()).unwrap_or(default)
}

/// Builds a spec-like JSON document of about `bytes` bytes.
fn pipeline_spec(bytes: usize) -> Value {
    let component = json!({
        "executorLabel": "exec-train",
        "inputDefinitions": {"parameters": {"lr": {"parameterType": "NUMBER_DOUBLE"}}},
        "outputDefinitions": {
            "artifacts": {"model": {"artifactType": {"schemaTitle": "system.Model"}}}
        }
    });
    let per_component = component.to_string().len();
    let components: serde_json::Map<String, Value> = (0..bytes / per_component + 1)
        .map(|index| (format!("comp-{index}"), component.clone()))
        .collect();
    json!({"pipelineInfo": {"name": "bench"}, "components": components})
}

fn new_task(run_id: &str, index: usize) -> TaskRecord {
    TaskRecord {
        task_id: format!("{run_id}-task-{index}"),
        run_id: run_id.to_owned(),
        parent_task_id: Some(format!("{run_id}-root")),
        name: format!("task-{index}"),
        display_name: format!("task-{index}"),
        path: format!("task-{index}"),
        kind: TaskKind::Container,
        component: "comp-train".to_owned(),
        iteration_index: None,
        state: State::Pending,
        attempts: 0,
        cached: false,
        inputs: json!({"parameters": {"lr": 0.01, "epochs": 10}, "artifacts": {}}),
        outputs: json!({}),
        error: None,
        cache_key: Some(format!("sha256:{index:064x}")),
        log_path: None,
        created_at: timestamp_now(),
        started_at: None,
        finished_at: None,
    }
}

fn new_run(index: usize, spec: &Value) -> NewRun {
    NewRun {
        run_id: format!("run-{index:08}"),
        name: format!("bench {index}"),
        description: String::new(),
        pipeline_name: "bench".to_owned(),
        pipeline_spec: spec.clone(),
        parameters: json!({"lr": 0.01}),
        pipeline_root: "/tmp/weir-bench".to_owned(),
        experiment_id: Some(format!("exp-{}", index % EXPERIMENTS)),
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: true,
    }
}

async fn measure_task_upserts(store: &SqliteStore, tasks: usize) -> weir_store::Result<()> {
    let run = store.create_run(&new_run(usize::MAX, &json!({}))).await?;

    let started = Instant::now();
    for index in 0..tasks {
        let mut task = new_task(&run.run_id, index);
        store.put_task(&task).await?;

        task.state = State::Running;
        task.attempts = 1;
        task.started_at = Some(timestamp_now());
        task.log_path = Some(format!("/tmp/weir-bench/logs/{index}.log"));
        store.put_task(&task).await?;

        task.state = State::Succeeded;
        task.finished_at = Some(timestamp_now());
        task.outputs = json!({"parameters": {"accuracy": 0.93}, "artifacts": {"model": [
            {"uri": format!("/tmp/weir-bench/{index}/model"), "metadata": {}}]}});
        store.put_task(&task).await?;
    }
    let elapsed = started.elapsed();

    let upserts = tasks * 3;
    println!(
        "put_task: {upserts} upserts in {:.3} s = {:.0} upserts/s ({:.1} µs each)",
        elapsed.as_secs_f64(),
        upserts as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / upserts as f64
    );
    Ok(())
}

async fn measure_run_listing(
    store: &SqliteStore,
    runs: usize,
    spec_bytes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let spec = pipeline_spec(spec_bytes);
    println!("pipeline spec: {} bytes of JSON", spec.to_string().len());

    let started = Instant::now();
    for index in 0..runs {
        store.create_run(&new_run(index, &spec)).await?;
    }
    let elapsed = started.elapsed();
    println!(
        "create_run: {runs} runs in {:.1} s = {:.0} runs/s",
        elapsed.as_secs_f64(),
        runs as f64 / elapsed.as_secs_f64()
    );

    let by_experiment =
        RunQuery { experiment_id: Some("exp-42".to_owned()), limit: PAGE, ..Default::default() };
    let unfiltered = RunQuery { limit: PAGE, ..Default::default() };
    for (label, query) in [("experiment exp-42", by_experiment), ("all runs", unfiltered)] {
        let mut rows = 0;
        let mut times = Vec::new();
        for _ in 0..LIST_REPEATS {
            let started = Instant::now();
            rows = store.list_runs(&query).await?.len();
            times.push(started.elapsed());
        }
        println!("list_runs, newest {PAGE} of {label}: {rows} rows, {}", summary(&mut times));
    }

    // The same page through a plain connection, reading the text without parsing the JSON,
    // splits the time between SQLite and serde_json.
    let conn = rusqlite::Connection::open(store.location())?;
    let mut stmt = conn.prepare(
        "SELECT run_id, name, pipeline_name, pipeline_root, experiment_id, pipeline_version_id, \
         enable_caching, state, error, created_at, started_at, finished_at, parameters, outputs, \
         (SELECT pipeline_spec FROM run_specs WHERE run_specs.seq = runs.seq) \
         FROM runs WHERE experiment_id = ?1 ORDER BY created_at DESC, seq DESC LIMIT ?2",
    )?;
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..LIST_REPEATS {
        let started = Instant::now();
        let mut rows = stmt.query(rusqlite::params!["exp-42", PAGE as i64])?;
        bytes = 0;
        while let Some(row) = rows.next()? {
            for column in 0..15 {
                if let ValueRef::Text(text) = row.get_ref(column)? {
                    bytes += text.len();
                }
            }
        }
        times.push(started.elapsed());
    }
    println!("same page of exp-42, SQLite only ({bytes} bytes of text): {}", summary(&mut times));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = arg(1, 3000);
    let runs = arg(2, 100_000);
    let spec_bytes = arg(3, 6000);

    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("weir.db"))?;
    println!("database: {}", store.location());

    measure_task_upserts(&store, tasks).await?;
    measure_run_listing(&store, runs, spec_bytes).await?;
    Ok(())
}
