//! Measures the KFP API server's hot reads on a SQLite file holding many runs: one page of an
//! experiment's runs, and one run with its tasks.
//!
//! Run: `cargo run --release -p weir-store --example list_runs_100k [RUNS] [SPEC_BYTES]`
//! (defaults 100000 runs over 10 experiments, and a 6000-byte pipeline spec, about the median
//! size of a compiled KFP pipeline). The database lives in a fresh temporary folder.
//!
//! Each measurement repeats the call [`REPEATS`] times and prints the minimum, the median (p50)
//! and the 99th percentile (p99). Set `KEEP_DB=<path>` to write the database to `path` and keep
//! it, for example to try queries in the `sqlite3` shell.
//!
//! Results with the defaults, release build, on a 2-vCPU AMD EPYC virtual machine whose load
//! average was 9 to 18 from other builds. So p50 and p99 are pessimistic, and the minimum is
//! closest to the cost on an idle machine. Pages have 50 rows, and exp-3 has 10,000 runs.
//!
//! | call                                               | min     | p50      | p99      |
//! |----------------------------------------------------|---------|----------|----------|
//! | exp-3, created_at desc, first page                 | 0.60 ms | 0.69 ms  | 9.1 ms   |
//! | the same page with pipeline specs                  | 2.7 ms  | 9.4 ms   | 27 ms    |
//! | exp-3, created_at desc, page 150 (by page token)   | 0.41 ms | 0.55 ms  | 4.9 ms   |
//! | exp-3, storage_state EQUALS AVAILABLE              | 0.44 ms | 0.86 ms  | 8.8 ms   |
//! | exp-3, storage_state NOT_EQUALS ARCHIVED           | 0.58 ms | 1.0 ms   | 9.4 ms   |
//! | exp-3, display_name IS_SUBSTRING (111 matches)     | 5.3 ms  | 19 ms    | 38 ms    |
//! | all 100,000 runs, created_at desc, first page      | 0.21 ms | 0.37 ms  | 9.8 ms   |
//! | get_run + list_tasks of a run with 100 tasks       | 0.53 ms | 0.87 ms  | 13 ms    |
//!
//! Every time includes `total_size`, a `count(*)` over the matching runs. A substring search
//! reads every run of the experiment for that count, and no index can serve it. Creating the
//! 100,000 runs took 95 s (1,050 runs per second) at that load.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use weir_store::sqlite::SqliteStore;
use weir_store::{
    timestamp_now, CatalogStore, FilterValue, ListQuery, NewRun, Op, Predicate, State, Store,
    TaskKind, TaskRecord,
};

const EXPERIMENTS: usize = 10;
const PAGE: usize = 50;
const TASKS: usize = 100;
const REPEATS: usize = 500;
/// Page number of the deep page, to show that a page token costs the same at any depth.
const DEEP_PAGE: usize = 150;

fn arg(position: usize, default: usize) -> usize {
    std::env::args().nth(position).and_then(|text| text.parse().ok()).unwrap_or(default)
}

/// Formats the minimum, the median and the 99th percentile of `times` in milliseconds.
fn percentiles(times: &mut [Duration]) -> String {
    times.sort();
    let at = |fraction: f64| {
        let index = ((times.len() as f64 - 1.0) * fraction).round() as usize;
        times.get(index).copied().unwrap_or_default().as_secs_f64() * 1e3
    };
    format!("min {:.3} ms, p50 {:.3} ms, p99 {:.3} ms", at(0.0), at(0.50), at(0.99))
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

fn new_run(index: usize, spec: &Value) -> NewRun {
    NewRun {
        run_id: format!("run-{index:08}"),
        name: format!("bench {index}"),
        description: String::new(),
        pipeline_name: "bench".to_owned(),
        pipeline_spec: spec.clone(),
        parameters: json!({"lr": 0.01, "epochs": 10}),
        pipeline_root: "/tmp/weir-bench".to_owned(),
        experiment_id: Some(format!("exp-{}", index % EXPERIMENTS)),
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: true,
    }
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
        state: State::Succeeded,
        attempts: 1,
        cached: false,
        inputs: json!({"parameters": {"lr": 0.01, "epochs": 10}, "artifacts": {}}),
        outputs: json!({"parameters": {"accuracy": 0.93}, "artifacts": {"model": [
            {"uri": format!("/tmp/weir-bench/{index}/model"), "metadata": {}}]}}),
        error: None,
        cache_key: Some(format!("sha256:{index:064x}")),
        log_path: Some(format!("/tmp/weir-bench/logs/{index}.log")),
        created_at: timestamp_now(),
        started_at: Some(timestamp_now()),
        finished_at: Some(timestamp_now()),
    }
}

/// Lists the page of `query` [`REPEATS`] times and prints the percentiles.
async fn measure_page(
    store: &SqliteStore,
    label: &str,
    experiment_id: Option<&str>,
    query: &ListQuery,
    include_spec: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(REPEATS);
    let mut rows = 0;
    let mut total = 0;
    for _ in 0..REPEATS {
        let started = Instant::now();
        let page = store.list_runs_page(experiment_id, query, include_spec).await?;
        times.push(started.elapsed());
        rows = page.items.len();
        total = page.total_size;
    }
    println!("{label}: {rows} rows of {total}, {}", percentiles(&mut times));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = arg(1, 100_000);
    let spec = pipeline_spec(arg(2, 6000));
    let folder = tempfile::tempdir()?;
    let keep = std::env::var_os("KEEP_DB");
    let path = match &keep {
        Some(path) => std::path::PathBuf::from(path),
        None => folder.path().join("weir.db"),
    };
    let store = SqliteStore::open(&path)?;
    println!("pipeline spec: {} bytes of JSON", spec.to_string().len());

    let started = Instant::now();
    for index in 0..runs {
        store.create_run(&new_run(index, &spec)).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("create_run: {runs} runs in {elapsed:.1} s = {:.0} runs/s", runs as f64 / elapsed);

    let newest_first = ListQuery { descending: true, page_size: PAGE, ..Default::default() };
    let experiment = Some("exp-3");
    measure_page(&store, "exp-3, created_at desc, first page", experiment, &newest_first, false)
        .await?;
    measure_page(&store, "exp-3, same page with specs", experiment, &newest_first, true).await?;

    let mut deep = newest_first.clone();
    for _ in 1..DEEP_PAGE {
        deep.page_token = store.list_runs_page(experiment, &deep, false).await?.next_page_token;
    }
    let label = format!("exp-3, created_at desc, page {DEEP_PAGE}");
    measure_page(&store, &label, experiment, &deep, false).await?;

    let available = ListQuery {
        predicates: vec![Predicate {
            field: "storage_state".to_owned(),
            op: Op::Equals,
            value: FilterValue::Text("AVAILABLE".to_owned()),
        }],
        ..newest_first.clone()
    };
    measure_page(
        &store,
        "exp-3, storage_state AVAILABLE, first page",
        experiment,
        &available,
        false,
    )
    .await?;
    let not_archived = ListQuery {
        predicates: vec![Predicate {
            field: "storage_state".to_owned(),
            op: Op::NotEquals,
            value: FilterValue::Text("ARCHIVED".to_owned()),
        }],
        ..newest_first.clone()
    };
    let label = "exp-3, storage_state NOT_EQUALS ARCHIVED, first page";
    measure_page(&store, label, experiment, &not_archived, false).await?;
    let search = ListQuery {
        predicates: vec![Predicate {
            field: "display_name".to_owned(),
            op: Op::IsSubstring,
            value: FilterValue::Text("bench 99".to_owned()),
        }],
        ..newest_first.clone()
    };
    measure_page(
        &store,
        "exp-3, display_name IS_SUBSTRING, first page",
        experiment,
        &search,
        false,
    )
    .await?;
    measure_page(&store, "all runs, created_at desc, first page", None, &newest_first, false)
        .await?;

    let run_id = new_run(runs / 2, &spec).run_id;
    for index in 0..TASKS {
        store.put_task(&new_task(&run_id, index)).await?;
    }
    let mut times = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        let started = Instant::now();
        let run = store.get_run(&run_id).await?;
        let tasks = store.list_tasks(&run.run_id).await?;
        times.push(started.elapsed());
        assert_eq!(tasks.len(), TASKS);
    }
    println!("get_run + list_tasks ({TASKS} tasks): {}", percentiles(&mut times));
    Ok(())
}
