//! Recurring runs over HTTP and the scheduler: periodic and cron triggers, the runs they start,
//! max concurrency, enable and disable, catch-up after a restart without duplicates, and errors.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use weir_store::sqlite::SqliteStore;
use weir_store::CatalogStore;

const RECURRING: &str = "/apis/v2beta1/recurringruns";
const RUNS: &str = "/apis/v2beta1/runs";

fn recurring_body(name: &str, file: &str, trigger: Value) -> Value {
    json!({
        "display_name": name,
        "pipeline_spec": pipeline_spec(file),
        "runtime_config": {"parameters": {}},
        "trigger": trigger,
        "max_concurrency": "5",
        "mode": "ENABLE",
    })
}

/// Returns the runs a recurring run started, oldest first.
async fn runs_of(server: &TestServer, recurring_run_id: &str) -> Vec<Value> {
    let filter = json!({"predicates": [
        {"key": "recurring_run_id", "operation": "EQUALS", "string_value": recurring_run_id}
    ]});
    let path =
        format!("{RUNS}?page_size=200&sort_by=created_at&filter={}", encode(&filter.to_string()));
    let response = server.get(&path).await;
    response.assert_status(200);
    response.json()["runs"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_runs(server: &TestServer, recurring_run_id: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let runs = runs_of(server, recurring_run_id).await;
        if runs.len() >= count {
            return runs;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!(
                "recurring run {recurring_run_id} started {} runs, expected {count}",
                runs.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn scheduled_times(runs: &[Value]) -> Vec<String> {
    runs.iter().filter_map(|run| run["scheduled_at"].as_str().map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_starts_runs_until_disabled() {
    let server = TestServer::start().await;
    let body = recurring_body(
        "every-second",
        "echo_loop.yaml",
        json!({"periodic_schedule": {"interval_second": "1"}}),
    );
    let created = server.post(RECURRING, &body).await;
    created.assert_status(200);
    let recurring = created.json();
    assert_eq!(recurring["status"], "ENABLED");
    assert_eq!(recurring["mode"], "ENABLE");
    assert_eq!(recurring["max_concurrency"], "5");
    assert_eq!(recurring["trigger"], json!({"periodic_schedule": {"interval_second": "1"}}));
    let id = created.text_field("recurring_run_id");

    let runs = wait_for_runs(&server, &id, 2).await;
    for run in &runs {
        assert_eq!(run["recurring_run_id"], id.as_str());
        assert_eq!(run["experiment_id"], recurring["experiment_id"]);
    }
    let times = scheduled_times(&runs);
    assert_eq!(times.len(), runs.len(), "every run has scheduled_at");

    server.post(&format!("{RECURRING}/{id}:disable"), &json!({})).await.assert_status(200);
    let disabled = server.get(&format!("{RECURRING}/{id}")).await.json();
    assert_eq!(disabled["status"], "DISABLED");
    assert_eq!(disabled["mode"], "DISABLE");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let count = runs_of(&server, &id).await.len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(runs_of(&server, &id).await.len(), count, "a disabled recurring run starts nothing");

    let list = server.get(RECURRING).await;
    list.assert_status(200);
    let list = list.json();
    assert_eq!(list["total_size"], 1);
    assert_eq!(list["recurringRuns"][0]["recurring_run_id"], id.as_str());

    server.delete(&format!("{RECURRING}/{id}")).await.assert_status(200);
    server.get(&format!("{RECURRING}/{id}")).await.assert_status(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_respects_max_concurrency() {
    let server = TestServer::start().await;
    let mut body =
        recurring_body("sleeps", "sleepy.yaml", json!({"cron_schedule": {"cron": "* * * * * *"}}));
    body["max_concurrency"] = json!(1);
    body["runtime_config"] = json!({"parameters": {"seconds": 60}});
    let created = server.post(RECURRING, &body).await;
    created.assert_status(200);
    let id = created.text_field("recurring_run_id");

    let runs = wait_for_runs(&server, &id, 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let runs_later = runs_of(&server, &id).await;
    assert_eq!(runs_later.len(), 1, "one run at a time: {runs_later:#?}");

    // When the active run ends, the next schedule time starts.
    let first = runs[0]["run_id"].as_str().unwrap_or_default().to_string();
    server.post(&format!("{RUNS}/{first}:terminate"), &json!({})).await.assert_status(200);
    let runs = wait_for_runs(&server, &id, 2).await;
    assert_ne!(runs[1]["run_id"], first.as_str());
    server.post(&format!("{RECURRING}/{id}:disable"), &json!({})).await.assert_status(200);
    let second = runs[1]["run_id"].as_str().unwrap_or_default().to_string();
    server.post(&format!("{RUNS}/{second}:terminate"), &json!({})).await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_catches_up_without_duplicates() {
    let mut server = TestServer::start().await;
    let body = recurring_body(
        "catch-up",
        "echo_loop.yaml",
        json!({"periodic_schedule": {"interval_second": "1"}}),
    );
    let created = server.post(RECURRING, &body).await;
    let id = created.text_field("recurring_run_id");
    wait_for_runs(&server, &id, 1).await;
    server.stop().await;

    // Replay a crash between creating a run and storing the last schedule time.
    let path = server.data_dir().join(weir_store::sqlite::DB_FILE);
    let store = match SqliteStore::open(&path) {
        Ok(store) => store,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    };
    let record = match store.get_recurring_run(&id).await {
        Ok(record) => record,
        Err(e) => panic!("recurring run {id} is not stored: {e}"),
    };
    if let Err(e) = store.set_recurring_run_last_scheduled(&id, record.created_at).await {
        panic!("cannot reset the last schedule time: {e}");
    }
    drop(store);
    tokio::time::sleep(Duration::from_millis(2500)).await;

    server.restart().await;
    let before = runs_of(&server, &id).await.len();
    let runs = wait_for_runs(&server, &id, before + 3).await;
    server.post(&format!("{RECURRING}/{id}:disable"), &json!({})).await.assert_status(200);
    let times = scheduled_times(&runs);
    let unique: HashSet<&String> = times.iter().collect();
    assert_eq!(unique.len(), times.len(), "no schedule time started twice: {times:?}");
    // Catch-up starts the times missed while the server was down, one second apart.
    let seconds: Vec<i64> = times
        .iter()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .collect();
    for pair in seconds.windows(2) {
        assert_eq!(pair[1] - pair[0], 1, "consecutive schedule times: {times:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_catchup_starts_only_the_newest() {
    let mut server = TestServer::start().await;
    let mut body = recurring_body(
        "latest-only",
        "echo_loop.yaml",
        json!({"periodic_schedule": {"interval_second": "1"}}),
    );
    body["no_catchup"] = json!(true);
    let created = server.post(RECURRING, &body).await;
    let id = created.text_field("recurring_run_id");
    wait_for_runs(&server, &id, 1).await;
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    server.restart().await;

    let before = runs_of(&server, &id).await.len();
    let runs = wait_for_runs(&server, &id, before + 1).await;
    server.post(&format!("{RECURRING}/{id}:disable"), &json!({})).await.assert_status(200);
    let seconds: Vec<i64> = scheduled_times(&runs)
        .iter()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .collect();
    // The restarted server may start the newest missed time before `before` is counted, so
    // look for the downtime gap anywhere: with catch-up every gap would be one second.
    assert!(
        seconds.windows(2).any(|pair| pair[1] - pair[0] >= 3),
        "the missed times were skipped, so one gap is the downtime: {seconds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurring_run_errors() {
    let server = TestServer::start().await;
    let no_trigger = recurring_body("x", "sleepy.yaml", Value::Null);
    server.post(RECURRING, &no_trigger).await.assert_error(
        400,
        3,
        "trigger is required: set cron_schedule {cron} or periodic_schedule {interval_second}",
    );
    let bad_cron =
        recurring_body("x", "sleepy.yaml", json!({"cron_schedule": {"cron": "every day"}}));
    server.post(RECURRING, &bad_cron).await.assert_error(
        400,
        3,
        "invalid cron expression \"every day\": found 2 fields. Use 6 fields `sec min hour \
         day-of-month month day-of-week`, such as \"0 */5 * * * *\"",
    );
    let mut negative =
        recurring_body("x", "sleepy.yaml", json!({"periodic_schedule": {"interval_second": 5}}));
    negative["max_concurrency"] = json!("-1");
    server.post(RECURRING, &negative).await.assert_error(
        400,
        3,
        "max_concurrency must be 1 or more, got -1",
    );

    server.get(&format!("{RECURRING}/missing")).await.assert_status(404);
    server.post(&format!("{RECURRING}/missing:enable"), &json!({})).await.assert_status(404);
    server.post(&format!("{RECURRING}/missing:pause"), &json!({})).await.assert_error(
        404,
        5,
        "unknown recurring run action \"pause\"; the actions are :enable, :disable",
    );
}
