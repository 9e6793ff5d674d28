//! Tests of `SqliteStore` through the `Store` trait, on in-memory databases and on files.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::json;
use weir_store::sqlite::{SqliteStore, SCHEMA_VERSION};
use weir_store::{
    timestamp_now, CacheEntry, NewRun, RunQuery, State, Store, StoreError, TaskKind, TaskRecord,
};

fn new_run(run_id: &str, name: &str) -> NewRun {
    NewRun {
        run_id: run_id.to_owned(),
        name: name.to_owned(),
        description: String::new(),
        pipeline_name: "hello-pipeline".to_owned(),
        pipeline_spec: json!({"pipelineInfo": {"name": "hello-pipeline"}, "root": {"dag": {}}}),
        parameters: json!({"message": "hi", "count": 3}),
        pipeline_root: "/tmp/weir/root".to_owned(),
        experiment_id: None,
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: true,
    }
}

fn new_task(run_id: &str, task_id: &str, path: &str) -> TaskRecord {
    TaskRecord {
        task_id: task_id.to_owned(),
        run_id: run_id.to_owned(),
        parent_task_id: Some("root".to_owned()),
        name: path.rsplit('/').next().unwrap_or(path).to_owned(),
        display_name: path.to_owned(),
        path: path.to_owned(),
        kind: TaskKind::Container,
        component: "comp-train".to_owned(),
        iteration_index: None,
        state: State::Pending,
        attempts: 0,
        cached: false,
        inputs: json!({"parameters": {"lr": 0.1}, "artifacts": {}}),
        outputs: json!({}),
        error: None,
        cache_key: None,
        log_path: None,
        created_at: timestamp_now(),
        started_at: None,
        finished_at: None,
    }
}

/// Opens an in-memory store holding runs with the given `(id, name)` pairs, created in order.
async fn store_with_runs(runs: &[(&str, &str)]) -> SqliteStore {
    let store = SqliteStore::open_in_memory().unwrap();
    for (run_id, name) in runs {
        store.create_run(&new_run(run_id, name)).await.unwrap();
    }
    store
}

fn ids(runs: &[weir_store::RunRecord]) -> Vec<&str> {
    runs.iter().map(|run| run.run_id.as_str()).collect()
}

fn user_version(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap()
}

// Runs.

#[tokio::test]
async fn create_run_returns_pending_record() {
    let store = SqliteStore::open_in_memory().unwrap();
    let before = timestamp_now();

    let created = store.create_run(&new_run("r1", "first")).await.unwrap();

    let after = timestamp_now();
    assert_eq!(created.run_id, "r1");
    assert_eq!(created.name, "first");
    assert_eq!(created.pipeline_name, "hello-pipeline");
    assert_eq!(created.parameters, json!({"message": "hi", "count": 3}));
    assert_eq!(created.pipeline_root, "/tmp/weir/root");
    assert_eq!(created.state, State::Pending);
    assert_eq!(created.error, None);
    assert_eq!(created.outputs, json!({}));
    assert!(created.enable_caching);
    assert!(before <= created.created_at, "created_at is before the call");
    assert!(created.created_at <= after, "created_at is after the call");
    assert_eq!(created.started_at, None);
    assert_eq!(created.finished_at, None);
    assert_eq!(store.get_run("r1").await.unwrap(), created);
}

#[tokio::test]
async fn create_run_keeps_optional_ids() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut run = new_run("r1", "first");
    run.experiment_id = Some("exp-1".to_owned());
    run.pipeline_version_id = Some("pv-1".to_owned());
    run.recurring_run_id = Some("rr-1".to_owned());
    run.description = "nightly training".to_owned();
    let scheduled_at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
    run.scheduled_at = Some(scheduled_at);
    run.enable_caching = false;

    store.create_run(&run).await.unwrap();

    let stored = store.get_run("r1").await.unwrap();
    assert_eq!(stored.experiment_id.as_deref(), Some("exp-1"));
    assert_eq!(stored.pipeline_version_id.as_deref(), Some("pv-1"));
    assert_eq!(stored.recurring_run_id.as_deref(), Some("rr-1"));
    assert_eq!(stored.description, "nightly training");
    assert_eq!(stored.scheduled_at, Some(scheduled_at));
    assert_eq!(stored.storage_state, weir_store::StorageState::Available);
    assert!(!stored.enable_caching);
}

#[tokio::test]
async fn create_run_rejects_duplicate_id() {
    let store = store_with_runs(&[("r1", "first")]).await;

    let err = store.create_run(&new_run("r1", "again")).await.unwrap_err();

    assert!(matches!(err, StoreError::AlreadyExists { kind: "run", .. }), "{err:?}");
    assert_eq!(err.to_string(), r#"run "r1" already exists"#);
    assert_eq!(store.get_run("r1").await.unwrap().name, "first");
}

#[tokio::test]
async fn get_run_unknown_is_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();

    let err = store.get_run("nope").await.unwrap_err();

    assert_eq!(err.to_string(), r#"run "nope" not found"#);
}

#[tokio::test]
async fn list_runs_filters_and_orders() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (run_id, experiment) in [("a", "e1"), ("b", "e2"), ("c", "e1"), ("d", "e1")] {
        let mut run = new_run(run_id, run_id);
        run.experiment_id = Some(experiment.to_owned());
        store.create_run(&run).await.unwrap();
    }
    store.set_run_state("a", State::Running, None).await.unwrap();
    store.set_run_state("d", State::Running, None).await.unwrap();
    store.set_run_state("b", State::Succeeded, None).await.unwrap();

    let query = |state: Option<State>, experiment: Option<&str>, limit: usize| RunQuery {
        state,
        experiment_id: experiment.map(str::to_owned),
        limit,
    };
    let cases = [
        (query(None, None, 0), vec!["d", "c", "b", "a"]),
        (query(None, None, 2), vec!["d", "c"]),
        (query(Some(State::Running), None, 0), vec!["d", "a"]),
        (query(Some(State::Pending), None, 0), vec!["c"]),
        (query(None, Some("e1"), 0), vec!["d", "c", "a"]),
        (query(None, Some("e1"), 1), vec!["d"]),
        (query(Some(State::Running), Some("e1"), 0), vec!["d", "a"]),
        (query(Some(State::Succeeded), Some("e1"), 0), vec![]),
        (query(None, Some("missing"), 0), vec![]),
    ];
    for (query, expected) in cases {
        let runs = store.list_runs(&query).await.unwrap();
        assert_eq!(ids(&runs), expected, "query {query:?}");
    }
}

#[tokio::test]
async fn set_run_state_sets_timestamps() {
    let store = store_with_runs(&[("r1", "first")]).await;

    let before_start = timestamp_now();
    store.set_run_state("r1", State::Running, None).await.unwrap();
    let running = store.get_run("r1").await.unwrap();
    let started = running.started_at.unwrap();
    assert_eq!(running.state, State::Running);
    assert!(before_start <= started, "started_at is before the call");
    assert!(started <= timestamp_now(), "started_at is in the future");
    assert_eq!(running.finished_at, None);

    // Entering RUNNING again keeps the first start.
    store.set_run_state("r1", State::Running, None).await.unwrap();
    assert_eq!(store.get_run("r1").await.unwrap().started_at, Some(started));

    let before_finish = timestamp_now();
    store.set_run_state("r1", State::Failed, Some("task train failed")).await.unwrap();
    let failed = store.get_run("r1").await.unwrap();
    let finished = failed.finished_at.unwrap();
    assert_eq!(failed.state, State::Failed);
    assert_eq!(failed.error.as_deref(), Some("task train failed"));
    assert_eq!(failed.started_at, Some(started));
    assert!(before_finish <= finished, "finished_at is before the call");
    assert!(finished <= timestamp_now(), "finished_at is in the future");
}

#[tokio::test]
async fn set_run_state_final_timestamp_rules() {
    let store = store_with_runs(&[("r1", "first")]).await;

    // A run can fail before it starts: it gets finished_at but no started_at.
    store.set_run_state("r1", State::Failed, Some("invalid spec")).await.unwrap();
    let failed = store.get_run("r1").await.unwrap();
    assert_eq!(failed.started_at, None);
    let finished = failed.finished_at.unwrap();

    // A second final state keeps the first finish time.
    store.set_run_state("r1", State::Canceled, None).await.unwrap();
    let canceled = store.get_run("r1").await.unwrap();
    assert_eq!(canceled.finished_at, Some(finished));
    assert_eq!(canceled.error, None, "the error text is replaced, here by none");

    // Leaving the final states (a retry) clears finished_at.
    store.set_run_state("r1", State::Running, None).await.unwrap();
    let retried = store.get_run("r1").await.unwrap();
    assert_eq!(retried.finished_at, None);
    assert!(retried.started_at.is_some());
}

#[tokio::test]
async fn set_run_state_per_state() {
    // (state, started_at set, finished_at set) after a fresh PENDING run enters the state.
    let cases = [
        (State::Pending, false, false),
        (State::Running, true, false),
        (State::Canceling, false, false),
        (State::Succeeded, false, true),
        (State::Skipped, false, true),
        (State::Failed, false, true),
        (State::Canceled, false, true),
    ];
    for (state, started, finished) in cases {
        let store = store_with_runs(&[("r1", "first")]).await;

        store.set_run_state("r1", state, None).await.unwrap();

        let run = store.get_run("r1").await.unwrap();
        assert_eq!(run.state, state);
        assert_eq!(run.started_at.is_some(), started, "started_at after {state}");
        assert_eq!(run.finished_at.is_some(), finished, "finished_at after {state}");
    }
}

#[tokio::test]
async fn run_updates_unknown_run_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();

    let state_err = store.set_run_state("ghost", State::Running, None).await.unwrap_err();
    let outputs_err = store.set_run_outputs("ghost", &json!({})).await.unwrap_err();

    assert_eq!(state_err.to_string(), r#"run "ghost" not found"#);
    assert_eq!(outputs_err.to_string(), r#"run "ghost" not found"#);
}

#[tokio::test]
async fn set_run_outputs_round_trip() {
    let store = store_with_runs(&[("r1", "first")]).await;
    let outputs = json!({
        "parameters": {"accuracy": 0.93, "label": "ok"},
        "artifacts": {"model": [{"uri": "/tmp/weir/root/r1/train/model", "metadata": {}}]}
    });

    store.set_run_outputs("r1", &outputs).await.unwrap();

    assert_eq!(store.get_run("r1").await.unwrap().outputs, outputs);
}

// Finding runs.

#[tokio::test]
async fn find_run_by_id_prefix_or_name() {
    let store = store_with_runs(&[
        ("4f2a0001", "nightly"),
        ("4f2a0002", "adhoc"),
        ("4f3b0003", "nightly"),
        ("9c00aaaa", "4f2a"),
        ("a*b", "star"),
    ])
    .await;

    // (input, expected run id, or the error message)
    let cases: [(&str, Result<&str, &str>); 12] = [
        ("4f2a0001", Ok("4f2a0001")),
        ("4f3", Ok("4f3b0003")),
        ("9", Ok("9c00aaaa")),
        ("nightly", Ok("4f3b0003")),
        ("adhoc", Ok("4f2a0002")),
        ("4f2a", Ok("9c00aaaa")),
        ("4f", Err(r#"3 run ids start with "4f", so give more characters of the id"#)),
        ("4F2A0001", Err(r#"run "4F2A0001" not found"#)),
        ("a*", Ok("a*b")),
        ("4*", Err(r#"run "4*" not found"#)),
        ("zzz", Err(r#"run "zzz" not found"#)),
        ("", Err(r#"run "" not found"#)),
    ];
    for (input, expected) in cases {
        let found = store.find_run(input).await;
        let found = found.as_ref().map(|run| run.run_id.as_str()).map_err(|err| err.to_string());
        assert_eq!(found, expected.map_err(str::to_owned), "input {input:?}");
    }
}

#[tokio::test]
async fn find_run_ambiguous_counts_all_matches() {
    let runs: Vec<(String, String)> =
        (0..7).map(|i| (format!("77{i:02}"), format!("run {i}"))).collect();
    let pairs: Vec<(&str, &str)> =
        runs.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    let store = store_with_runs(&pairs).await;

    let err = store.find_run("77").await.unwrap_err();

    assert!(matches!(err, StoreError::Ambiguous { kind: "run", matches: 7, .. }), "{err:?}");
}

// Tasks.

#[tokio::test]
async fn put_task_upserts_in_creation_order() {
    let store = store_with_runs(&[("r1", "first"), ("r2", "second")]).await;
    let train = new_task("r1", "t-train", "train");
    let eval = new_task("r1", "t-eval", "eval");
    let other = new_task("r2", "t-other", "train");
    let report = new_task("r1", "t-report", "report");
    for task in [&train, &eval, &other, &report] {
        store.put_task(task).await.unwrap();
    }

    let mut running = train.clone();
    running.state = State::Running;
    running.attempts = 1;
    running.started_at = Some(timestamp_now());
    running.log_path = Some("/tmp/weir/logs/train.log".to_owned());
    store.put_task(&running).await.unwrap();

    let listed = store.list_tasks("r1").await.unwrap();
    let listed_ids: Vec<&str> = listed.iter().map(|task| task.task_id.as_str()).collect();
    assert_eq!(listed_ids, ["t-train", "t-eval", "t-report"]);
    assert_eq!(listed[0], running);
    assert_eq!(store.get_task("t-train").await.unwrap(), running);
    assert_eq!(store.list_tasks("r2").await.unwrap(), [other]);
    assert_eq!(store.list_tasks("no-such-run").await.unwrap(), []);
}

#[tokio::test]
async fn put_task_round_trips_every_field() {
    let store = store_with_runs(&[("r1", "first")]).await;
    let now = timestamp_now();
    let task = TaskRecord {
        task_id: "t-iter-3".to_owned(),
        run_id: "r1".to_owned(),
        parent_task_id: Some("t-loop".to_owned()),
        name: "3".to_owned(),
        display_name: "for-loop-2 iteration 3".to_owned(),
        path: "for-loop-2/3".to_owned(),
        kind: TaskKind::Iteration,
        component: "comp-for-loop-2".to_owned(),
        iteration_index: Some(3),
        state: State::Succeeded,
        attempts: 2,
        cached: true,
        inputs: json!({"parameters": {"item": {"a": 1, "b": [true, null]}}}),
        outputs: json!({"parameters": {"square": 9}}),
        error: Some("first attempt: exit code 1".to_owned()),
        cache_key: Some("sha256:abc".to_owned()),
        log_path: Some("/logs/3.log".to_owned()),
        created_at: now,
        started_at: Some(now + chrono::Duration::microseconds(5)),
        finished_at: Some(now + chrono::Duration::seconds(2)),
    };

    store.put_task(&task).await.unwrap();

    assert_eq!(store.get_task("t-iter-3").await.unwrap(), task);
}

#[tokio::test]
async fn put_task_every_kind_round_trips() {
    let store = store_with_runs(&[("r1", "first")]).await;
    let kinds = [
        TaskKind::Container,
        TaskKind::Importer,
        TaskKind::Dag,
        TaskKind::Loop,
        TaskKind::Iteration,
    ];
    for kind in kinds {
        let mut task = new_task("r1", kind.as_str(), kind.as_str());
        task.kind = kind;

        store.put_task(&task).await.unwrap();

        assert_eq!(store.get_task(kind.as_str()).await.unwrap().kind, kind);
    }
}

#[tokio::test]
async fn put_task_rejects_unknown_run_and_reused_path() {
    let store = store_with_runs(&[("r1", "first")]).await;
    store.put_task(&new_task("r1", "t1", "train")).await.unwrap();

    let unknown_run = store.put_task(&new_task("ghost", "t2", "train")).await.unwrap_err();
    let reused_path = store.put_task(&new_task("r1", "t3", "train")).await.unwrap_err();

    assert_eq!(unknown_run.to_string(), r#"run "ghost" not found"#);
    assert_eq!(reused_path.to_string(), r#"task path "train" already exists"#);
    let listed = store.list_tasks("r1").await.unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn get_task_unknown_is_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();

    let err = store.get_task("t-none").await.unwrap_err();

    assert_eq!(err.to_string(), r#"task "t-none" not found"#);
}

#[tokio::test]
async fn json_documents_round_trip_exactly() {
    let store = SqliteStore::open_in_memory().unwrap();
    let documents = [
        json!(null),
        json!({}),
        json!({"z": 1, "a": 2, "m": {"y": [], "b": {}}}),
        json!({"big": 9007199254740993u64, "negative": -12, "float": 0.1, "exp": 1.5e300}),
        json!({"text": "naïve \u{1F600} \"quoted\" \\ back\nslash\ttab", "empty": ""}),
        json!([1, "two", [3.0], {"four": null}, false]),
    ];
    for (index, document) in documents.iter().enumerate() {
        let run_id = format!("r{index}");
        let mut run = new_run(&run_id, "json");
        run.parameters = document.clone();
        run.pipeline_spec = document.clone();
        store.create_run(&run).await.unwrap();
        let mut task = new_task(&run_id, &format!("t{index}"), "task");
        task.inputs = document.clone();
        task.outputs = document.clone();

        store.put_task(&task).await.unwrap();
        store.set_run_outputs(&run_id, document).await.unwrap();

        let stored_run = store.get_run(&run_id).await.unwrap();
        let stored_task = store.get_task(&task.task_id).await.unwrap();
        assert_eq!(&stored_run.parameters, document);
        assert_eq!(&stored_run.pipeline_spec, document);
        assert_eq!(&stored_run.outputs, document);
        assert_eq!(&stored_task.inputs, document);
        assert_eq!(&stored_task.outputs, document);
        // Key order survives, not only equality.
        assert_eq!(stored_task.inputs.to_string(), document.to_string());
    }
}

// Cache entries.

#[tokio::test]
async fn cache_entries_put_get_replace() {
    let store = store_with_runs(&[("r1", "first"), ("r2", "second")]).await;
    let entry = CacheEntry {
        cache_key: "key-1".to_owned(),
        run_id: "r1".to_owned(),
        task_id: "t-train".to_owned(),
        outputs: json!({"parameters": {"accuracy": 0.9}}),
        created_at: timestamp_now(),
    };
    assert_eq!(store.get_cache_entry("key-1").await.unwrap(), None);

    store.put_cache_entry(&entry).await.unwrap();
    assert_eq!(store.get_cache_entry("key-1").await.unwrap(), Some(entry.clone()));

    let newer = CacheEntry {
        run_id: "r2".to_owned(),
        task_id: "t-train-2".to_owned(),
        outputs: json!({"parameters": {"accuracy": 0.95}}),
        ..entry
    };
    store.put_cache_entry(&newer).await.unwrap();
    assert_eq!(store.get_cache_entry("key-1").await.unwrap(), Some(newer));
    assert_eq!(store.get_cache_entry("key-2").await.unwrap(), None);
}

#[tokio::test]
async fn cache_entry_unknown_run_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();
    let entry = CacheEntry {
        cache_key: "key-1".to_owned(),
        run_id: "ghost".to_owned(),
        task_id: "t".to_owned(),
        outputs: json!({}),
        created_at: timestamp_now(),
    };

    let err = store.put_cache_entry(&entry).await.unwrap_err();

    assert_eq!(err.to_string(), r#"run "ghost" not found"#);
}

// Files, migrations and settings.

#[tokio::test]
async fn open_creates_folders_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/weir.db");

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.location(), path.display().to_string());
    let created = store.create_run(&new_run("r1", "first")).await.unwrap();
    store.put_task(&new_task("r1", "t1", "train")).await.unwrap();
    drop(store);
    assert_eq!(user_version(&path), SCHEMA_VERSION);

    // Reopening finds the schema current and applies nothing, so the data stays.
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(reopened.get_run("r1").await.unwrap(), created);
    assert_eq!(reopened.list_tasks("r1").await.unwrap().len(), 1);
}

#[test]
fn open_uses_wal_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.db");
    let _store = SqliteStore::open(&path).unwrap();

    let conn = Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();

    assert_eq!(mode, "wal");
}

#[test]
fn open_rejects_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.db");
    drop(SqliteStore::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 5;
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {newer}"))
        .unwrap();

    let err = SqliteStore::open(&path).unwrap_err();

    assert!(
        matches!(err, StoreError::SchemaTooNew { found, supported, .. }
        if found == newer && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the state store {} has schema version {newer}, but this weir supports versions up \
             to {SCHEMA_VERSION}. Upgrade weir, or use another data folder",
            path.display()
        )
    );
    assert_eq!(user_version(&path), newer, "a rejected open changes nothing");
}

#[test]
fn open_folder_path_fails_with_path() {
    let dir = tempfile::tempdir().unwrap();

    let err = SqliteStore::open(dir.path()).unwrap_err();

    let message = err.to_string();
    let expected_start = format!("state store failed: opening {}: ", dir.path().display());
    assert!(message.starts_with(&expected_start), "{message}");
}

// Two stores on one file.

#[tokio::test]
async fn reader_reads_while_writer_holds_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.db");
    let reader = SqliteStore::open(&path).unwrap();
    reader.create_run(&new_run("r1", "first")).await.unwrap();

    // Another process is in the middle of a write transaction.
    let mut writer = Connection::open(&path).unwrap();
    let tx = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
    tx.execute("UPDATE runs SET state = 'RUNNING' WHERE run_id = 'r1'", []).unwrap();

    let started = Instant::now();
    let during = reader.get_run("r1").await.unwrap();
    let listed = reader.list_runs(&RunQuery::default()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "the reads waited for the writer");
    assert_eq!(during.state, State::Pending, "uncommitted changes are invisible");
    assert_eq!(ids(&listed), ["r1"]);

    tx.commit().unwrap();
    assert_eq!(reader.get_run("r1").await.unwrap().state, State::Running);
}

#[tokio::test]
async fn writer_waits_for_other_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.db");
    let store = SqliteStore::open(&path).unwrap();
    store.create_run(&new_run("r1", "first")).await.unwrap();

    // Another process holds the write lock for 300 ms, well inside the busy timeout.
    let mut other = Connection::open(&path).unwrap();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let tx = other.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        tx.execute("UPDATE runs SET name = 'renamed' WHERE run_id = 'r1'", []).unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        tx.commit().unwrap();
    });
    locked_rx.recv().unwrap();

    let started = Instant::now();
    store.put_task(&new_task("r1", "t1", "train")).await.unwrap();

    assert!(started.elapsed() >= Duration::from_millis(200), "the write did not wait");
    holder.join().unwrap();
    assert_eq!(store.get_run("r1").await.unwrap().name, "renamed");
    assert_eq!(store.list_tasks("r1").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_read_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.db");
    let writer = SqliteStore::open(&path).unwrap();
    let reader = SqliteStore::open(&path).unwrap();
    writer.create_run(&new_run("r1", "first")).await.unwrap();

    const TASKS: usize = 200;
    let writing = tokio::spawn(async move {
        for index in 0..TASKS {
            let mut task = new_task("r1", &format!("t{index}"), &format!("task-{index}"));
            writer.put_task(&task).await.unwrap();
            task.state = State::Running;
            writer.put_task(&task).await.unwrap();
            task.state = State::Succeeded;
            writer.put_task(&task).await.unwrap();
        }
    });

    let mut reads = 0;
    let mut last_count = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writing.is_finished() && Instant::now() < deadline {
        let tasks = reader.list_tasks("r1").await.unwrap();
        assert!(tasks.len() >= last_count, "a read saw fewer tasks than the one before");
        last_count = tasks.len();
        reader.list_runs(&RunQuery::default()).await.unwrap();
        reads += 1;
    }
    writing.await.unwrap();

    let tasks = reader.list_tasks("r1").await.unwrap();
    assert_eq!(tasks.len(), TASKS);
    assert!(tasks.iter().all(|task| task.state == State::Succeeded));
    assert!(reads > 0);
}

// Values another program wrote.

/// Opens a file store holding run `r1` with task `t1`, then applies `sql` behind its back.
async fn store_with_edit(dir: &Path, sql: &str) -> SqliteStore {
    let path = dir.join("weir.db");
    let store = SqliteStore::open(&path).unwrap();
    store.create_run(&new_run("r1", "first")).await.unwrap();
    store.put_task(&new_task("r1", "t1", "train")).await.unwrap();
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    store
}

#[tokio::test]
async fn corrupt_run_values_name_column() {
    let cases = [
        (
            "UPDATE runs SET state = 'RUNNNG'",
            r#"column runs.state contains "RUNNNG", which is not a known state"#,
        ),
        (
            "UPDATE runs SET created_at = 'yesterday'",
            "column runs.created_at has SQL type Text, which does not fit the field",
        ),
        (
            "UPDATE runs SET started_at = 9223372036854775807",
            "column runs.started_at contains 9223372036854775807, which is not a timestamp",
        ),
        (
            "UPDATE runs SET parameters = '{\"a\": '",
            "column runs.parameters does not contain valid JSON \
             (EOF while parsing a value at line 1 column 6)",
        ),
    ];
    for (sql, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_edit(dir.path(), sql).await;

        let err = store.get_run("r1").await.unwrap_err();

        assert!(matches!(err, StoreError::Corrupt(_)), "{sql}: {err:?}");
        assert_eq!(err.to_string(), format!("invalid value in the state store: {expected}"));
    }
}

#[tokio::test]
async fn corrupt_task_values_name_column() {
    let cases = [
        (
            "UPDATE tasks SET kind = 'lambda'",
            r#"column tasks.kind contains "lambda", which is not a known task kind"#,
        ),
        (
            "UPDATE tasks SET state = ''",
            r#"column tasks.state contains "", which is not a known state"#,
        ),
        (
            "UPDATE tasks SET attempts = -1",
            "column tasks.attempts contains -1, which is out of range",
        ),
        (
            "UPDATE tasks SET outputs = 'not json'",
            "column tasks.outputs does not contain valid JSON",
        ),
    ];
    for (sql, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_edit(dir.path(), sql).await;

        let from_get = store.get_task("t1").await.unwrap_err().to_string();
        let from_list = store.list_tasks("r1").await.unwrap_err().to_string();

        let prefix = format!("invalid value in the state store: {expected}");
        assert!(from_get.starts_with(&prefix), "{sql}: {from_get}");
        assert_eq!(from_list, from_get);
    }
}

#[test]
fn store_is_usable_as_trait_object() {
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
    let _shared = std::sync::Arc::clone(&store);
}
