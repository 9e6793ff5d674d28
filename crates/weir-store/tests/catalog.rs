//! Tests of `SqliteStore` through the `CatalogStore` trait: experiments, pipelines, pipeline
//! versions, recurring runs, and filtered, sorted, paged listings.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use weir_store::sqlite::SqliteStore;
use weir_store::{
    CatalogStore, FilterValue, ListQuery, NewExperiment, NewPipeline, NewPipelineVersion, NewRun,
    Op, Page, Predicate, RecurringMode, RecurringRunRecord, RunRecord, State, StorageState, Store,
    StoreError, TaskKind, TaskRecord,
};

// Helpers.

fn new_run(run_id: &str, name: &str) -> NewRun {
    NewRun {
        run_id: run_id.to_owned(),
        name: name.to_owned(),
        description: String::new(),
        pipeline_name: "hello-pipeline".to_owned(),
        pipeline_spec: json!({"pipelineInfo": {"name": "hello-pipeline"}, "root": {"dag": {}}}),
        parameters: json!({}),
        pipeline_root: "/tmp/weir/root".to_owned(),
        experiment_id: None,
        pipeline_version_id: None,
        recurring_run_id: None,
        scheduled_at: None,
        enable_caching: true,
    }
}

fn new_experiment(experiment_id: &str, namespace: &str, name: &str) -> NewExperiment {
    NewExperiment {
        experiment_id: experiment_id.to_owned(),
        namespace: namespace.to_owned(),
        display_name: name.to_owned(),
        description: format!("about {name}"),
    }
}

fn new_pipeline(pipeline_id: &str, name: &str) -> NewPipeline {
    NewPipeline {
        pipeline_id: pipeline_id.to_owned(),
        namespace: String::new(),
        name: name.to_owned(),
        display_name: name.to_uppercase(),
        description: format!("the {name} pipeline"),
    }
}

fn new_version(version_id: &str, pipeline_id: &str, name: &str) -> NewPipelineVersion {
    NewPipelineVersion {
        pipeline_version_id: version_id.to_owned(),
        pipeline_id: pipeline_id.to_owned(),
        name: name.to_owned(),
        display_name: format!("{name} (display)"),
        description: format!("version {name}"),
        pipeline_spec: json!({"pipelineSpec": {"pipelineInfo": {"name": name}}}),
        package_url: Some(format!("https://example.com/{name}.yaml")),
        code_source_url: None,
    }
}

fn recurring_run(recurring_run_id: &str, experiment_id: Option<&str>) -> RecurringRunRecord {
    RecurringRunRecord {
        recurring_run_id: recurring_run_id.to_owned(),
        namespace: String::new(),
        display_name: format!("nightly {recurring_run_id}"),
        description: String::new(),
        experiment_id: experiment_id.map(str::to_owned),
        pipeline_version_id: Some("pv-1".to_owned()),
        pipeline_spec: None,
        trigger: json!({"cron_schedule": {"cron": "0 0 * * * *"}}),
        runtime_config: json!({"parameters": {"lr": 0.1}, "pipeline_root": "/tmp/root"}),
        mode: RecurringMode::Enable,
        max_concurrency: 2,
        no_catchup: true,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        last_scheduled_at: None,
    }
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

fn predicate(field: &str, op: Op, value: FilterValue) -> Predicate {
    Predicate { field: field.to_owned(), op, value }
}

fn text(value: &str) -> FilterValue {
    FilterValue::Text(value.to_owned())
}

fn texts(values: &[&str]) -> FilterValue {
    FilterValue::TextList(values.iter().map(|value| (*value).to_owned()).collect())
}

fn filtered(predicates: Vec<Predicate>) -> ListQuery {
    ListQuery { predicates, page_size: 100, ..Default::default() }
}

fn sorted(field: &str, descending: bool) -> ListQuery {
    ListQuery {
        sort_field: Some(field.to_owned()),
        descending,
        page_size: 100,
        ..Default::default()
    }
}

fn run_ids(page: &Page<RunRecord>) -> Vec<&str> {
    page.items.iter().map(|run| run.run_id.as_str()).collect()
}

/// Sleeps long enough that the next timestamp differs from the last one.
fn tick() {
    std::thread::sleep(Duration::from_millis(2));
}

/// Five runs, created in order with distinct creation times:
///
/// | run | name            | experiment | state     | other                              |
/// |-----|-----------------|------------|-----------|------------------------------------|
/// | r1  | train-small     | e1         | SUCCEEDED | description, pv-1, scheduled .25 s |
/// | r2  | train_large     | e1         | FAILED    | scheduled at a whole second        |
/// | r3  | Evaluate 100%   | e2         | RUNNING   | recurring rr-1                     |
/// | r4  | evaluate        | none       | PENDING   | recurring rr-1                     |
/// | r5  | TRAIN-SMALL-2   | e2         | CANCELED  | archived                           |
///
/// r1, r2 and r5 finish in that order. Experiment e1 is in namespace team-a, e2 in team-b.
async fn run_fixture() -> (SqliteStore, Vec<RunRecord>) {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_experiment(&new_experiment("e1", "team-a", "first")).await.unwrap();
    store.create_experiment(&new_experiment("e2", "team-b", "second")).await.unwrap();

    let mut runs = vec![
        new_run("r1", "train-small"),
        new_run("r2", "train_large"),
        new_run("r3", "Evaluate 100%"),
        new_run("r4", "evaluate"),
        new_run("r5", "TRAIN-SMALL-2"),
    ];
    runs[0].description = "baseline model".to_owned();
    runs[0].pipeline_version_id = Some("pv-1".to_owned());
    runs[0].scheduled_at = Some(time(1_700_000_000_250_000));
    runs[1].scheduled_at = Some(time(1_700_000_001_000_000));
    runs[2].recurring_run_id = Some("rr-1".to_owned());
    runs[3].recurring_run_id = Some("rr-1".to_owned());
    for (run, experiment) in
        runs.iter_mut().zip([Some("e1"), Some("e1"), Some("e2"), None, Some("e2")])
    {
        run.experiment_id = experiment.map(str::to_owned);
    }
    for run in &runs {
        store.create_run(run).await.unwrap();
        tick();
    }

    for (run_id, state) in [
        ("r1", State::Succeeded),
        ("r2", State::Failed),
        ("r3", State::Running),
        ("r5", State::Canceled),
    ] {
        store.set_run_state(run_id, state, None).await.unwrap();
        tick();
    }
    store.set_run_storage_state("r5", StorageState::Archived).await.unwrap();

    let mut records = Vec::new();
    for run_id in ["r1", "r2", "r3", "r4", "r5"] {
        records.push(store.get_run(run_id).await.unwrap());
    }
    (store, records)
}

async fn list_run_ids(store: &SqliteStore, query: &ListQuery) -> Vec<String> {
    let page = store.list_runs_page(None, query, false).await.unwrap();
    page.items.into_iter().map(|run| run.run_id).collect()
}

// Run filters.

#[tokio::test]
async fn run_filters_on_text_fields() {
    let (store, _) = run_fixture().await;
    let cases: Vec<(Predicate, &[&str])> = vec![
        (predicate("run_id", Op::Equals, text("r2")), &["r2"]),
        (predicate("id", Op::Equals, text("r2")), &["r2"]),
        (predicate("display_name", Op::Equals, text("evaluate")), &["r4"]),
        (predicate("name", Op::NotEquals, text("evaluate")), &["r1", "r2", "r3", "r5"]),
        (predicate("display_name", Op::GreaterThan, text("train")), &["r1", "r2"]),
        (predicate("display_name", Op::GreaterThanEquals, text("train_large")), &["r2"]),
        (predicate("display_name", Op::LessThan, text("F")), &["r3"]),
        (predicate("display_name", Op::LessThanEquals, text("evaluate")), &["r3", "r4", "r5"]),
        (predicate("display_name", Op::In, texts(&["evaluate", "train_large"])), &["r2", "r4"]),
        (predicate("display_name", Op::In, texts(&[])), &[]),
        // LIKE ignores the case of ASCII letters.
        (predicate("display_name", Op::IsSubstring, text("train")), &["r1", "r2", "r5"]),
        // `_` and `%` are literal characters, not LIKE wildcards.
        (predicate("display_name", Op::IsSubstring, text("_")), &["r2"]),
        (predicate("display_name", Op::IsSubstring, text("0%")), &["r3"]),
        (predicate("description", Op::IsSubstring, text("line")), &["r1"]),
        (predicate("description", Op::Equals, text("")), &["r2", "r3", "r4", "r5"]),
        (predicate("experiment_id", Op::Equals, text("e1")), &["r1", "r2"]),
        // NOT_EQUALS also matches runs without an experiment.
        (predicate("experiment_id", Op::NotEquals, text("e1")), &["r3", "r4", "r5"]),
        (predicate("experiment_id", Op::In, texts(&["e2"])), &["r3", "r5"]),
        (predicate("pipeline_version_id", Op::Equals, text("pv-1")), &["r1"]),
        (predicate("recurring_run_id", Op::Equals, text("rr-1")), &["r3", "r4"]),
    ];
    for (predicate, expected) in cases {
        let ids = list_run_ids(&store, &filtered(vec![predicate.clone()])).await;
        assert_eq!(ids, expected, "predicate {predicate:?}");
    }
}

#[tokio::test]
async fn run_filters_on_states() {
    let (store, _) = run_fixture().await;
    let cases: Vec<(Predicate, &[&str])> = vec![
        (predicate("state", Op::Equals, text("RUNNING")), &["r3"]),
        (predicate("state", Op::NotEquals, text("SUCCEEDED")), &["r2", "r3", "r4", "r5"]),
        (predicate("state", Op::In, texts(&["FAILED", "CANCELED"])), &["r2", "r5"]),
        (predicate("state", Op::IsSubstring, text("ED")), &["r1", "r2", "r5"]),
        (predicate("storage_state", Op::Equals, text("ARCHIVED")), &["r5"]),
        (predicate("storage_state", Op::NotEquals, text("ARCHIVED")), &["r1", "r2", "r3", "r4"]),
    ];
    for (predicate, expected) in cases {
        let ids = list_run_ids(&store, &filtered(vec![predicate.clone()])).await;
        assert_eq!(ids, expected, "predicate {predicate:?}");
    }
}

#[tokio::test]
async fn run_filters_on_timestamps() {
    let (store, runs) = run_fixture().await;
    let created = |index: usize| FilterValue::Timestamp(runs[index].created_at);
    let finished = |index: usize| FilterValue::Timestamp(runs[index].finished_at.unwrap());
    let cases: Vec<(Predicate, &[&str])> = vec![
        (predicate("created_at", Op::Equals, created(2)), &["r3"]),
        (predicate("created_at", Op::NotEquals, created(2)), &["r1", "r2", "r4", "r5"]),
        (predicate("created_at", Op::GreaterThan, created(1)), &["r3", "r4", "r5"]),
        (predicate("created_at", Op::GreaterThanEquals, created(1)), &["r2", "r3", "r4", "r5"]),
        (predicate("created_at", Op::LessThan, created(1)), &["r1"]),
        (predicate("created_at", Op::LessThanEquals, created(1)), &["r1", "r2"]),
        (predicate("finished_at", Op::GreaterThan, finished(0)), &["r2", "r5"]),
        (predicate("finished_at", Op::LessThanEquals, finished(1)), &["r1", "r2"]),
        // Timestamps compare to the microsecond.
        (
            predicate(
                "scheduled_at",
                Op::Equals,
                FilterValue::Timestamp(time(1_700_000_000_250_000)),
            ),
            &["r1"],
        ),
        (
            predicate(
                "scheduled_at",
                Op::Equals,
                FilterValue::Timestamp(time(1_700_000_000_000_000)),
            ),
            &[],
        ),
        (
            predicate(
                "scheduled_at",
                Op::LessThan,
                FilterValue::Timestamp(time(1_700_000_000_250_001)),
            ),
            &["r1"],
        ),
        // An integer is a whole second since the Unix epoch, as in KFP's columns of seconds.
        (predicate("scheduled_at", Op::Equals, FilterValue::Int(1_700_000_000)), &["r1"]),
        (
            predicate("scheduled_at", Op::NotEquals, FilterValue::Int(1_700_000_000)),
            &["r2", "r3", "r4", "r5"],
        ),
        (predicate("scheduled_at", Op::GreaterThan, FilterValue::Int(1_700_000_000)), &["r2"]),
        (
            predicate("scheduled_at", Op::GreaterThanEquals, FilterValue::Int(1_700_000_000)),
            &["r1", "r2"],
        ),
        (predicate("scheduled_at", Op::LessThan, FilterValue::Int(1_700_000_001)), &["r1"]),
        (predicate("scheduled_at", Op::LessThanEquals, FilterValue::Int(1_700_000_000)), &["r1"]),
        (
            predicate("scheduled_at", Op::LessThanEquals, FilterValue::Int(1_700_000_001)),
            &["r1", "r2"],
        ),
    ];
    for (predicate, expected) in cases {
        let ids = list_run_ids(&store, &filtered(vec![predicate.clone()])).await;
        assert_eq!(ids, expected, "predicate {predicate:?}");
    }
}

#[tokio::test]
async fn run_filters_combine_with_and() {
    let (store, _) = run_fixture().await;
    let query = filtered(vec![
        predicate("experiment_id", Op::Equals, text("e1")),
        predicate("state", Op::Equals, text("FAILED")),
    ]);

    let page = store.list_runs_page(None, &query, false).await.unwrap();

    assert_eq!(run_ids(&page), ["r2"]);
    assert_eq!(page.total_size, 1);
}

#[tokio::test]
async fn run_pages_by_experiment_and_namespace() {
    let (store, _) = run_fixture().await;
    let team_b = ListQuery { namespace: Some("team-b".to_owned()), ..filtered(Vec::new()) };
    let failed = filtered(vec![predicate("state", Op::Equals, text("FAILED"))]);
    let cases: [(Option<&str>, &ListQuery, &[&str]); 5] = [
        (Some("e1"), &ListQuery::default(), &["r1", "r2"]),
        (Some("e2"), &ListQuery::default(), &["r3", "r5"]),
        (Some("e1"), &failed, &["r2"]),
        (Some("unknown"), &ListQuery::default(), &[]),
        (None, &team_b, &["r3", "r5"]),
    ];
    for (experiment_id, query, expected) in cases {
        let page = store.list_runs_page(experiment_id, query, false).await.unwrap();
        assert_eq!(run_ids(&page), expected, "experiment {experiment_id:?}, query {query:?}");
        assert_eq!(page.total_size, expected.len() as u64, "experiment {experiment_id:?}");
    }
}

#[tokio::test]
async fn run_page_spec_only_when_asked() {
    let (store, runs) = run_fixture().await;
    let query = filtered(vec![predicate("run_id", Op::Equals, text("r1"))]);

    let without = store.list_runs_page(None, &query, false).await.unwrap();
    let with = store.list_runs_page(None, &query, true).await.unwrap();

    assert_eq!(without.items[0].pipeline_spec, serde_json::Value::Null);
    assert_eq!(with.items[0], runs[0]);
    let expected = RunRecord { pipeline_spec: serde_json::Value::Null, ..runs[0].clone() };
    assert_eq!(without.items[0], expected);
}

// Run listing errors.

#[tokio::test]
async fn run_listing_rejects_invalid_queries() {
    let (store, _) = run_fixture().await;
    let fields = "run_id, display_name, description, state, storage_state, experiment_id, \
                  pipeline_version_id, recurring_run_id, created_at, finished_at, scheduled_at";
    let states = "PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, CANCELING, CANCELED";
    let comparisons = "use EQUALS, NOT_EQUALS, GREATER_THAN(_EQUALS) or LESS_THAN(_EQUALS)";
    let cases: Vec<(ListQuery, String)> = vec![
        (
            filtered(vec![predicate("colour", Op::Equals, text("red"))]),
            format!(r#"cannot filter runs by "colour"; fields: {fields}"#),
        ),
        (sorted("colour", false), format!(r#"cannot sort runs by "colour"; sortable fields: {fields}"#)),
        (
            filtered(vec![predicate("state", Op::Equals, text("Running"))]),
            format!(r#""Running" is not a value of the field "state" of runs; use one of {states}"#),
        ),
        (
            filtered(vec![predicate("state", Op::In, texts(&["RUNNING", "done"]))]),
            format!(r#""done" is not a value of the field "state" of runs; use one of {states}"#),
        ),
        (
            filtered(vec![predicate("storage_state", Op::NotEquals, text("DELETED"))]),
            r#""DELETED" is not a value of the field "storage_state" of runs; use one of AVAILABLE, ARCHIVED"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("created_at", Op::IsSubstring, text("2024"))]),
            format!(
                r#"IS_SUBSTRING does not apply to the timestamp field "created_at" of runs; {comparisons}"#
            ),
        ),
        (
            filtered(vec![predicate("created_at", Op::In, FilterValue::IntList(vec![1, 2]))]),
            format!(r#"IN does not apply to the timestamp field "created_at" of runs; {comparisons}"#),
        ),
        (
            filtered(vec![predicate("created_at", Op::Equals, text("yesterday"))]),
            r#"cannot filter runs by "created_at" EQUALS the text "yesterday": EQUALS takes a timestamp or an integer count of seconds since the Unix epoch on this field"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("display_name", Op::Equals, FilterValue::Int(3))]),
            r#"cannot filter runs by "display_name" EQUALS the integer 3: EQUALS takes a text value on this field"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("state", Op::Equals, FilterValue::Bool(true))]),
            r#"cannot filter runs by "state" EQUALS the boolean true: EQUALS takes a text value on this field"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("display_name", Op::In, text("a"))]),
            r#"cannot filter runs by "display_name" IN the text "a": IN takes a list of text values"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("display_name", Op::Equals, texts(&["a", "b"]))]),
            r#"cannot filter runs by "display_name" EQUALS the text list ["a", "b"]: only IN takes a list, and EQUALS takes a text value"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("display_name", Op::IsSubstring, FilterValue::Int(1))]),
            r#"cannot filter runs by "display_name" IS_SUBSTRING the integer 1: IS_SUBSTRING takes a text value on this field"#
                .to_owned(),
        ),
        (
            filtered(vec![predicate("scheduled_at", Op::Equals, FilterValue::Int(i64::MAX))]),
            format!(
                r#"{} seconds since the Unix epoch is out of range for the field "scheduled_at" of runs"#,
                i64::MAX
            ),
        ),
    ];
    for (query, expected) in cases {
        let err = store.list_runs_page(None, &query, false).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidQuery(_)), "query {query:?}: {err:?}");
        assert_eq!(err.to_string(), expected, "query {query:?}");
    }
}

// Run sorting.

#[tokio::test]
async fn run_sorting_by_field() {
    let (store, _) = run_fixture().await;
    let cases: [(&str, bool, [&str; 5]); 12] = [
        ("created_at", false, ["r1", "r2", "r3", "r4", "r5"]),
        ("created_at", true, ["r5", "r4", "r3", "r2", "r1"]),
        // Text sorts by bytes, so upper-case letters come first.
        ("display_name", false, ["r3", "r5", "r4", "r1", "r2"]),
        ("name", true, ["r2", "r1", "r4", "r5", "r3"]),
        ("state", false, ["r5", "r2", "r4", "r3", "r1"]),
        ("run_id", true, ["r5", "r4", "r3", "r2", "r1"]),
        // NULL comes first in ascending order and last in descending order. Equal values are
        // ordered by creation, in the direction of the sort.
        ("experiment_id", false, ["r4", "r1", "r2", "r3", "r5"]),
        ("experiment_id", true, ["r5", "r3", "r2", "r1", "r4"]),
        ("scheduled_at", false, ["r3", "r4", "r5", "r1", "r2"]),
        ("scheduled_at", true, ["r2", "r1", "r5", "r4", "r3"]),
        ("finished_at", false, ["r3", "r4", "r1", "r2", "r5"]),
        ("finished_at", true, ["r5", "r2", "r1", "r4", "r3"]),
    ];
    for (field, descending, expected) in cases {
        let ids = list_run_ids(&store, &sorted(field, descending)).await;
        assert_eq!(ids, expected, "sort by {field}, descending {descending}");
    }
}

#[tokio::test]
async fn run_sorting_default_is_created_at_ascending() {
    let (store, _) = run_fixture().await;
    let empty_field = ListQuery { sort_field: Some(String::new()), ..Default::default() };

    for query in [ListQuery::default(), empty_field] {
        assert_eq!(list_run_ids(&store, &query).await, ["r1", "r2", "r3", "r4", "r5"]);
    }
}

// Run paging.

/// Lists every page of `query` with pages of `page_size` rows and returns the ids of each page.
async fn all_pages(
    store: &SqliteStore,
    mut query: ListQuery,
    page_size: usize,
) -> Vec<Vec<String>> {
    query.page_size = page_size;
    let mut pages = Vec::new();
    for _ in 0..20 {
        let page = store.list_runs_page(None, &query, false).await.unwrap();
        pages.push(page.items.iter().map(|run| run.run_id.clone()).collect());
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => return pages,
        }
    }
    panic!("more than 20 pages of {query:?}");
}

#[tokio::test]
async fn run_paging_three_pages() {
    let store = SqliteStore::open_in_memory().unwrap();
    for index in 1..=7 {
        let mut run = new_run(&format!("r{index}"), &format!("run {index}"));
        run.experiment_id = Some(if index == 4 { "other" } else { "main" }.to_owned());
        store.create_run(&run).await.unwrap();
    }
    let mut query = ListQuery { page_size: 2, descending: true, ..Default::default() };
    let expected_pages: [&[&str]; 3] = [&["r7", "r6"], &["r5", "r3"], &["r2", "r1"]];

    for (number, expected) in expected_pages.iter().enumerate() {
        let page = store.list_runs_page(Some("main"), &query, false).await.unwrap();

        assert_eq!(run_ids(&page), *expected, "page {}", number + 1);
        assert_eq!(page.total_size, 6, "page {}", number + 1);
        let last = number == expected_pages.len() - 1;
        assert_eq!(page.next_page_token.is_none(), last, "page {}", number + 1);
        query.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn run_paging_matches_unpaged_order() {
    let (store, _) = run_fixture().await;
    for (field, descending) in [
        ("created_at", false),
        ("display_name", true),
        ("experiment_id", false),
        ("experiment_id", true),
        ("scheduled_at", false),
        ("scheduled_at", true),
        ("finished_at", true),
    ] {
        let unpaged = list_run_ids(&store, &sorted(field, descending)).await;

        let pages = all_pages(&store, sorted(field, descending), 2).await;

        assert_eq!(pages.len(), 3, "sort by {field}, descending {descending}");
        assert_eq!(pages.concat(), unpaged, "sort by {field}, descending {descending}");
    }
}

#[tokio::test]
async fn run_paging_page_size_defaults() {
    let store = SqliteStore::open_in_memory().unwrap();
    for index in 0..25 {
        store.create_run(&new_run(&format!("r{index:02}"), "run")).await.unwrap();
    }

    let page = store.list_runs_page(None, &ListQuery::default(), false).await.unwrap();

    assert_eq!(page.items.len(), 20);
    assert_eq!(page.total_size, 25);
    assert!(page.next_page_token.is_some());
    let next = ListQuery { page_token: page.next_page_token, ..Default::default() };
    let rest = store.list_runs_page(None, &next, false).await.unwrap();
    assert_eq!(run_ids(&rest), ["r20", "r21", "r22", "r23", "r24"]);
    assert_eq!(rest.next_page_token, None);
}

#[test]
fn effective_page_size_limits() {
    for (asked, expected) in [(0, 20), (1, 1), (50, 50), (200, 200), (201, 200), (100_000, 200)] {
        let query = ListQuery { page_size: asked, ..Default::default() };
        assert_eq!(query.effective_page_size(), expected, "page_size {asked}");
    }
}

#[tokio::test]
async fn run_page_token_belongs_to_its_query() {
    let (store, _) = run_fixture().await;
    let first = ListQuery { page_size: 2, ..Default::default() };
    let token = store.list_runs_page(None, &first, false).await.unwrap().next_page_token;
    let with_token = |query: ListQuery| ListQuery { page_token: token.clone(), ..query };

    // Only the page size may change between pages.
    let larger_page = with_token(ListQuery { page_size: 10, ..first.clone() });
    let page = store.list_runs_page(None, &larger_page, false).await.unwrap();
    assert_eq!(run_ids(&page), ["r3", "r4", "r5"]);

    let mismatched = [
        (None, with_token(ListQuery { descending: true, ..first.clone() })),
        (None, with_token(ListQuery { sort_field: Some("display_name".into()), ..first.clone() })),
        (None, with_token(filtered(vec![predicate("state", Op::Equals, text("FAILED"))]))),
        (None, with_token(ListQuery { namespace: Some("team-a".into()), ..first.clone() })),
        (Some("e1"), with_token(first.clone())),
    ];
    for (experiment_id, query) in mismatched {
        let err = store.list_runs_page(experiment_id, &query, false).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "page token does not match this query; repeat the filter and sort order of the \
             previous page, or leave the token out to start from the first page",
            "experiment {experiment_id:?}, query {query:?}"
        );
    }

    let garbage = ListQuery { page_token: Some("not-a-token".to_owned()), ..first };
    let err = store.list_runs_page(None, &garbage, false).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidQuery(_)), "{err:?}");
}

// Run storage state, deletion, active runs.

#[tokio::test]
async fn run_storage_state_and_delete() {
    let (store, _) = run_fixture().await;
    let task = TaskRecord {
        task_id: "t1".to_owned(),
        run_id: "r1".to_owned(),
        parent_task_id: None,
        name: "train".to_owned(),
        display_name: "train".to_owned(),
        path: "train".to_owned(),
        kind: TaskKind::Container,
        component: "comp-train".to_owned(),
        iteration_index: None,
        state: State::Succeeded,
        attempts: 1,
        cached: false,
        inputs: json!({}),
        outputs: json!({}),
        error: None,
        cache_key: None,
        log_path: None,
        created_at: time(1),
        started_at: None,
        finished_at: None,
    };
    store.put_task(&task).await.unwrap();

    store.set_run_storage_state("r1", StorageState::Archived).await.unwrap();
    assert_eq!(store.get_run("r1").await.unwrap().storage_state, StorageState::Archived);
    store.set_run_storage_state("r1", StorageState::Available).await.unwrap();
    assert_eq!(store.get_run("r1").await.unwrap().storage_state, StorageState::Available);

    store.delete_run("r1").await.unwrap();
    assert!(matches!(store.get_run("r1").await, Err(StoreError::NotFound { kind: "run", .. })));
    assert!(matches!(store.get_task("t1").await, Err(StoreError::NotFound { kind: "task", .. })));

    for err in [
        store.delete_run("r1").await.unwrap_err(),
        store.set_run_storage_state("nope", StorageState::Archived).await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound { kind: "run", .. }), "{err:?}");
    }
}

#[tokio::test]
async fn run_spec_rows_follow_runs() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("weir.db");
    let store = SqliteStore::open(&path).unwrap();
    let spec_rows = || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT count(*) FROM run_specs", [], |row| row.get::<_, i64>(0)).unwrap()
    };
    store.create_run(&new_run("r1", "one")).await.unwrap();
    store.create_run(&new_run("r2", "two")).await.unwrap();

    let duplicate = store.create_run(&new_run("r1", "again")).await;

    assert!(matches!(duplicate, Err(StoreError::AlreadyExists { kind: "run", .. })));
    assert_eq!(spec_rows(), 2);
    store.delete_run("r2").await.unwrap();
    assert_eq!(spec_rows(), 1);
    // r3 reuses the seq of the deleted r2 and must not find a spec left behind.
    let mut third = new_run("r3", "three");
    third.pipeline_spec = json!({"pipelineInfo": {"name": "third"}});
    store.create_run(&third).await.unwrap();
    assert_eq!(store.get_run("r3").await.unwrap().pipeline_spec, third.pipeline_spec);
    assert_eq!(store.get_run("r1").await.unwrap().pipeline_spec, new_run("r1", "").pipeline_spec);
}

#[tokio::test]
async fn active_runs_to_resume_and_count() {
    let store = SqliteStore::open_in_memory().unwrap();
    let cases = [
        ("a", Some("rr-1"), State::Pending),
        ("b", Some("rr-1"), State::Running),
        ("c", Some("rr-1"), State::Succeeded),
        ("d", Some("rr-1"), State::Canceling),
        ("e", Some("rr-2"), State::Running),
        ("f", None, State::Failed),
    ];
    for (run_id, recurring_run_id, state) in cases {
        let mut run = new_run(run_id, run_id);
        run.recurring_run_id = recurring_run_id.map(str::to_owned);
        store.create_run(&run).await.unwrap();
        if state != State::Pending {
            store.set_run_state(run_id, state, None).await.unwrap();
        }
    }
    let active = [State::Pending, State::Running, State::Canceling];

    let resumed = store.list_runs_in_states(&active).await.unwrap();
    let ids: Vec<&str> = resumed.iter().map(|run| run.run_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "d", "e"]);
    assert_eq!(resumed[0].pipeline_spec, new_run("a", "a").pipeline_spec);
    assert_eq!(store.list_runs_in_states(&[State::Failed]).await.unwrap()[0].run_id, "f");
    assert_eq!(store.list_runs_in_states(&[]).await.unwrap(), []);

    assert_eq!(store.count_active_runs_of_recurring("rr-1").await.unwrap(), 3);
    assert_eq!(store.count_active_runs_of_recurring("rr-2").await.unwrap(), 1);
    assert_eq!(store.count_active_runs_of_recurring("rr-3").await.unwrap(), 0);
}

// Experiments.

#[tokio::test]
async fn experiment_create_get_delete() {
    let store = SqliteStore::open_in_memory().unwrap();
    let before = weir_store::timestamp_now();

    let created = store.create_experiment(&new_experiment("e1", "team-a", "first")).await.unwrap();

    assert_eq!(created.experiment_id, "e1");
    assert_eq!(created.namespace, "team-a");
    assert_eq!(created.display_name, "first");
    assert_eq!(created.description, "about first");
    assert_eq!(created.storage_state, StorageState::Available);
    assert!(created.created_at >= before, "created_at is before the call");
    assert_eq!(created.last_run_created_at, None);
    assert_eq!(store.get_experiment("e1").await.unwrap(), created);
    assert_eq!(store.get_experiment_by_name("team-a", "first").await.unwrap(), created);

    store.delete_experiment("e1").await.unwrap();

    let cases = [
        store.get_experiment("e1").await.unwrap_err(),
        store.delete_experiment("e1").await.unwrap_err(),
        store.set_experiment_storage_state("e1", StorageState::Archived).await.unwrap_err(),
    ];
    for err in cases {
        assert!(matches!(err, StoreError::NotFound { kind: "experiment", .. }), "{err:?}");
        assert_eq!(err.to_string(), r#"experiment "e1" not found"#);
    }
}

#[tokio::test]
async fn experiment_names_unique_per_namespace() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_experiment(&new_experiment("e1", "team-a", "first")).await.unwrap();

    store.create_experiment(&new_experiment("e2", "team-b", "first")).await.unwrap();
    let same_name = store.create_experiment(&new_experiment("e3", "team-a", "first")).await;
    let same_id = store.create_experiment(&new_experiment("e1", "team-c", "other")).await;

    assert_eq!(same_name.unwrap_err().to_string(), r#"experiment name "first" already exists"#);
    assert_eq!(same_id.unwrap_err().to_string(), r#"experiment "e1" already exists"#);
    assert_eq!(store.get_experiment_by_name("team-b", "first").await.unwrap().experiment_id, "e2");
    let err = store.get_experiment_by_name("team-c", "first").await.unwrap_err();
    assert_eq!(err.to_string(), r#"experiment name "first" not found"#);
}

#[tokio::test]
async fn experiment_last_run_created_at_is_newest_run() {
    let (store, runs) = run_fixture().await;

    let e1 = store.get_experiment("e1").await.unwrap();
    let e2 = store.get_experiment("e2").await.unwrap();

    assert_eq!(e1.last_run_created_at, Some(runs[1].created_at));
    assert_eq!(e2.last_run_created_at, Some(runs[4].created_at));
    store.delete_run("r5").await.unwrap();
    let e2 = store.get_experiment("e2").await.unwrap();
    assert_eq!(e2.last_run_created_at, Some(runs[2].created_at));
}

#[tokio::test]
async fn experiment_archive_cascades_to_runs_and_recurring_runs() {
    let (store, _) = run_fixture().await;
    store.create_recurring_run(&recurring_run("rr-e1", Some("e1"))).await.unwrap();
    store.create_recurring_run(&recurring_run("rr-e2", Some("e2"))).await.unwrap();
    let created = store.get_recurring_run("rr-e1").await.unwrap();
    tick();

    store.set_experiment_storage_state("e1", StorageState::Archived).await.unwrap();

    assert_eq!(store.get_experiment("e1").await.unwrap().storage_state, StorageState::Archived);
    assert_eq!(store.get_experiment("e2").await.unwrap().storage_state, StorageState::Available);
    for (run_id, expected) in [
        ("r1", StorageState::Archived),
        ("r2", StorageState::Archived),
        ("r3", StorageState::Available),
        ("r4", StorageState::Available),
    ] {
        assert_eq!(store.get_run(run_id).await.unwrap().storage_state, expected, "run {run_id}");
    }
    let disabled = store.get_recurring_run("rr-e1").await.unwrap();
    assert_eq!(disabled.mode, RecurringMode::Disable);
    assert!(disabled.updated_at > created.updated_at, "updated_at did not change");
    assert_eq!(store.get_recurring_run("rr-e2").await.unwrap().mode, RecurringMode::Enable);

    // Unarchiving restores only the experiment.
    store.set_experiment_storage_state("e1", StorageState::Available).await.unwrap();

    assert_eq!(store.get_experiment("e1").await.unwrap().storage_state, StorageState::Available);
    assert_eq!(store.get_run("r1").await.unwrap().storage_state, StorageState::Archived);
    assert_eq!(store.get_recurring_run("rr-e1").await.unwrap().mode, RecurringMode::Disable);
}

#[tokio::test]
async fn experiment_delete_keeps_runs() {
    let (store, _) = run_fixture().await;

    store.delete_experiment("e1").await.unwrap();

    assert_eq!(store.get_run("r1").await.unwrap().experiment_id.as_deref(), Some("e1"));
}

#[tokio::test]
async fn experiment_listing() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (id, namespace, name) in [
        ("e1", "team-a", "alpha"),
        ("e2", "team-a", "beta"),
        ("e3", "team-b", "gamma"),
        ("e4", "team-a", "delta"),
    ] {
        store.create_experiment(&new_experiment(id, namespace, name)).await.unwrap();
    }
    store.set_experiment_storage_state("e2", StorageState::Archived).await.unwrap();
    let mut run = new_run("r1", "run");
    run.experiment_id = Some("e4".to_owned());
    store.create_run(&run).await.unwrap();
    let team_a = |query: ListQuery| ListQuery { namespace: Some("team-a".to_owned()), ..query };
    let cases: Vec<(ListQuery, &[&str])> = vec![
        (ListQuery::default(), &["e1", "e2", "e3", "e4"]),
        (team_a(ListQuery::default()), &["e1", "e2", "e4"]),
        (team_a(sorted("display_name", true)), &["e4", "e2", "e1"]),
        (sorted("name", false), &["e1", "e2", "e4", "e3"]),
        (filtered(vec![predicate("storage_state", Op::Equals, text("ARCHIVED"))]), &["e2"]),
        (filtered(vec![predicate("namespace", Op::Equals, text("team-b"))]), &["e3"]),
        (filtered(vec![predicate("display_name", Op::IsSubstring, text("ta"))]), &["e2", "e4"]),
        (filtered(vec![predicate("experiment_id", Op::In, texts(&["e1", "e3"]))]), &["e1", "e3"]),
        // Experiments without runs have no last_run_created_at. NULL comes first in ascending
        // order and last in descending order.
        (sorted("last_run_created_at", true), &["e4", "e3", "e2", "e1"]),
        (sorted("last_run_created_at", false), &["e1", "e2", "e3", "e4"]),
    ];
    for (query, expected) in cases {
        let page = store.list_experiments(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|item| item.experiment_id.as_str()).collect();
        assert_eq!(ids, expected, "query {query:?}");
        assert_eq!(page.total_size, expected.len() as u64, "query {query:?}");
    }

    let mut query = ListQuery { page_size: 3, ..Default::default() };
    let first = store.list_experiments(&query).await.unwrap();
    query.page_token = first.next_page_token;
    let second = store.list_experiments(&query).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].experiment_id, "e4");
    assert_eq!(second.total_size, 4);
    assert_eq!(second.next_page_token, None);

    // Pages sorted on a computed, sometimes NULL value join up in the same order.
    let mut query = ListQuery { page_size: 1, ..sorted("last_run_created_at", true) };
    let mut ids = Vec::new();
    for _ in 0..4 {
        let page = store.list_experiments(&query).await.unwrap();
        ids.extend(page.items.into_iter().map(|item| item.experiment_id));
        query.page_token = page.next_page_token;
    }
    assert_eq!(ids, ["e4", "e3", "e2", "e1"]);
    assert_eq!(query.page_token, None);

    let err = store.list_experiments(&sorted("state", false)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"cannot sort experiments by "state"; sortable fields: experiment_id, display_name, description, namespace, storage_state, created_at, last_run_created_at"#
    );
}

// Pipelines and versions.

#[tokio::test]
async fn pipeline_create_with_and_without_version() {
    let store = SqliteStore::open_in_memory().unwrap();

    let (alone, none) = store.create_pipeline(&new_pipeline("p1", "alone"), None).await.unwrap();
    let version = new_version("v1", "", "first");
    let (pipeline, created) =
        store.create_pipeline(&new_pipeline("p2", "with"), Some(&version)).await.unwrap();

    assert_eq!(none, None);
    assert_eq!(alone.pipeline_id, "p1");
    assert_eq!(alone.name, "alone");
    assert_eq!(alone.display_name, "ALONE");
    assert_eq!(alone.description, "the alone pipeline");
    assert_eq!(store.get_pipeline("p1").await.unwrap(), alone);
    assert_eq!(store.get_pipeline_by_name("", "with").await.unwrap(), pipeline);
    let created = created.unwrap();
    assert_eq!(created.pipeline_id, "p2");
    assert_eq!(created.name, "first");
    assert_eq!(created.display_name, "first (display)");
    assert_eq!(created.pipeline_spec, version.pipeline_spec);
    assert_eq!(created.package_url.as_deref(), Some("https://example.com/first.yaml"));
    assert_eq!(created.code_source_url, None);
    assert_eq!(store.get_pipeline_version("v1").await.unwrap(), created);
}

#[tokio::test]
async fn pipeline_create_rolls_back_when_version_fails() {
    let store = SqliteStore::open_in_memory().unwrap();
    let version = new_version("v1", "p-other", "first");

    let err = store.create_pipeline(&new_pipeline("p1", "main"), Some(&version)).await.unwrap_err();

    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        r#"pipeline version "v1" names pipeline "p-other", but belongs to the new pipeline "p1"; leave its pipeline_id empty or set it to "p1""#
    );
    let missing = store.get_pipeline("p1").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { kind: "pipeline", .. }), "{missing:?}");
}

#[tokio::test]
async fn pipeline_duplicates_and_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_pipeline(&new_pipeline("p1", "main"), None).await.unwrap();
    let mut other_namespace = new_pipeline("p2", "main");
    other_namespace.namespace = "team-b".to_owned();
    store.create_pipeline(&other_namespace, None).await.unwrap();

    let same_name = store.create_pipeline(&new_pipeline("p3", "main"), None).await.unwrap_err();
    let same_id = store.create_pipeline(&new_pipeline("p1", "other"), None).await.unwrap_err();

    assert_eq!(same_name.to_string(), r#"pipeline name "main" already exists"#);
    assert_eq!(same_id.to_string(), r#"pipeline "p1" already exists"#);
    let cases = [
        store.get_pipeline("nope").await.unwrap_err(),
        store.update_pipeline("nope", Some("x"), None).await.unwrap_err(),
        store.delete_pipeline("nope", true).await.unwrap_err(),
        store.list_pipeline_versions("nope", &ListQuery::default()).await.unwrap_err(),
        store.create_pipeline_version(&new_version("v1", "nope", "v")).await.unwrap_err(),
    ];
    for err in cases {
        assert_eq!(err.to_string(), r#"pipeline "nope" not found"#);
    }
    let by_name = store.get_pipeline_by_name("team-c", "main").await.unwrap_err();
    assert_eq!(by_name.to_string(), r#"pipeline name "main" not found"#);
}

#[tokio::test]
async fn pipeline_update_keeps_fields_not_given() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_pipeline(&new_pipeline("p1", "main"), None).await.unwrap();

    let renamed = store.update_pipeline("p1", Some("Main pipeline"), None).await.unwrap();
    let described = store.update_pipeline("p1", None, Some("new text")).await.unwrap();

    assert_eq!(renamed.display_name, "Main pipeline");
    assert_eq!(renamed.description, "the main pipeline");
    assert_eq!(described.display_name, "Main pipeline");
    assert_eq!(described.description, "new text");
    assert_eq!(described.name, "main");
}

#[tokio::test]
async fn pipeline_version_names_unique_per_pipeline() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_pipeline(&new_pipeline("p1", "one"), None).await.unwrap();
    store.create_pipeline(&new_pipeline("p2", "two"), None).await.unwrap();
    store.create_pipeline_version(&new_version("v1", "p1", "v")).await.unwrap();

    store.create_pipeline_version(&new_version("v2", "p2", "v")).await.unwrap();
    let same_name = store.create_pipeline_version(&new_version("v3", "p1", "v")).await;
    let same_id = store.create_pipeline_version(&new_version("v1", "p2", "w")).await;

    assert_eq!(same_name.unwrap_err().to_string(), r#"pipeline version name "v" already exists"#);
    assert_eq!(same_id.unwrap_err().to_string(), r#"pipeline version "v1" already exists"#);
}

#[tokio::test]
async fn pipeline_version_update_and_delete() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_pipeline(&new_pipeline("p1", "one"), None).await.unwrap();
    store.create_pipeline_version(&new_version("v1", "p1", "v")).await.unwrap();

    let updated = store.update_pipeline_version("v1", None, Some("fixed")).await.unwrap();
    assert_eq!(updated.display_name, "v (display)");
    assert_eq!(updated.description, "fixed");

    store.delete_pipeline_version("v1").await.unwrap();

    let cases = [
        store.get_pipeline_version("v1").await.unwrap_err(),
        store.delete_pipeline_version("v1").await.unwrap_err(),
        store.update_pipeline_version("v1", Some("x"), None).await.unwrap_err(),
    ];
    for err in cases {
        assert_eq!(err.to_string(), r#"pipeline version "v1" not found"#);
    }
}

#[tokio::test]
async fn pipeline_delete_needs_cascade_for_versions() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_pipeline(&new_pipeline("p1", "one"), None).await.unwrap();
    store.create_pipeline(&new_pipeline("p2", "two"), None).await.unwrap();
    store.create_pipeline(&new_pipeline("p3", "three"), None).await.unwrap();
    for (version_id, pipeline_id) in [("v1", "p1"), ("v2", "p1"), ("v3", "p2")] {
        store
            .create_pipeline_version(&new_version(version_id, pipeline_id, version_id))
            .await
            .unwrap();
    }

    let two = store.delete_pipeline("p1", false).await.unwrap_err();
    let one = store.delete_pipeline("p2", false).await.unwrap_err();

    assert!(matches!(two, StoreError::FailedPrecondition(_)), "{two:?}");
    assert_eq!(
        two.to_string(),
        r#"pipeline "p1" has 2 versions; delete them first, or delete the pipeline with cascade"#
    );
    assert_eq!(
        one.to_string(),
        r#"pipeline "p2" has 1 version; delete them first, or delete the pipeline with cascade"#
    );
    assert_eq!(store.get_pipeline_version("v1").await.unwrap().pipeline_id, "p1");

    store.delete_pipeline("p1", true).await.unwrap();
    store.delete_pipeline("p3", false).await.unwrap();

    for pipeline_id in ["p1", "p3"] {
        let err = store.get_pipeline(pipeline_id).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { kind: "pipeline", .. }), "{err:?}");
    }
    for version_id in ["v1", "v2"] {
        let err = store.get_pipeline_version(version_id).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { kind: "pipeline version", .. }), "{err:?}");
    }
    assert_eq!(store.get_pipeline_version("v3").await.unwrap().pipeline_id, "p2");
}

#[tokio::test]
async fn pipeline_and_version_listing() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (pipeline_id, name) in [("p1", "train"), ("p2", "evaluate"), ("p3", "train-big")] {
        store.create_pipeline(&new_pipeline(pipeline_id, name), None).await.unwrap();
    }
    for (version_id, pipeline_id, name) in
        [("v1", "p1", "1.0"), ("v2", "p2", "1.0"), ("v3", "p1", "2.0"), ("v4", "p1", "1.5")]
    {
        store.create_pipeline_version(&new_version(version_id, pipeline_id, name)).await.unwrap();
    }
    let pipeline_cases: Vec<(ListQuery, &[&str])> = vec![
        (ListQuery::default(), &["p1", "p2", "p3"]),
        (sorted("name", true), &["p3", "p1", "p2"]),
        (sorted("display_name", false), &["p2", "p1", "p3"]),
        (filtered(vec![predicate("name", Op::IsSubstring, text("train"))]), &["p1", "p3"]),
        (filtered(vec![predicate("pipeline_id", Op::NotEquals, text("p1"))]), &["p2", "p3"]),
    ];
    for (query, expected) in pipeline_cases {
        let page = store.list_pipelines(&query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|item| item.pipeline_id.as_str()).collect();
        assert_eq!(ids, expected, "query {query:?}");
    }

    let version_cases: Vec<(ListQuery, &[&str])> = vec![
        (ListQuery::default(), &["v1", "v3", "v4"]),
        (sorted("name", true), &["v3", "v4", "v1"]),
        (filtered(vec![predicate("name", Op::GreaterThan, text("1.0"))]), &["v3", "v4"]),
    ];
    for (query, expected) in version_cases {
        let page = store.list_pipeline_versions("p1", &query).await.unwrap();
        let ids: Vec<&str> =
            page.items.iter().map(|item| item.pipeline_version_id.as_str()).collect();
        assert_eq!(ids, expected, "query {query:?}");
        assert_eq!(page.total_size, expected.len() as u64, "query {query:?}");
    }
}

// Recurring runs.

#[tokio::test]
async fn recurring_run_round_trip() {
    let store = SqliteStore::open_in_memory().unwrap();
    let before = weir_store::timestamp_now();
    let mut inline = recurring_run("rr-2", None);
    inline.pipeline_version_id = None;
    inline.pipeline_spec = Some(json!({"pipelineInfo": {"name": "inline"}}));

    let created = store.create_recurring_run(&recurring_run("rr-1", Some("e1"))).await.unwrap();
    store.create_recurring_run(&inline).await.unwrap();

    assert!(created.created_at >= before, "created_at is before the call");
    assert_eq!(created.updated_at, created.created_at);
    let expected = RecurringRunRecord {
        created_at: created.created_at,
        updated_at: created.created_at,
        ..recurring_run("rr-1", Some("e1"))
    };
    assert_eq!(created, expected);
    assert_eq!(store.get_recurring_run("rr-1").await.unwrap(), expected);
    let stored_inline = store.get_recurring_run("rr-2").await.unwrap();
    assert_eq!(stored_inline.pipeline_spec, inline.pipeline_spec);
    assert_eq!(stored_inline.pipeline_version_id, None);
}

#[tokio::test]
async fn recurring_run_rejects_invalid_records() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut both = recurring_run("both", None);
    both.pipeline_spec = Some(json!({}));
    let mut neither = recurring_run("neither", None);
    neither.pipeline_version_id = None;
    let mut no_concurrency = recurring_run("zero", None);
    no_concurrency.max_concurrency = 0;
    let cases = [
        (
            both,
            r#"recurring run "both" has both a pipeline version and a pipeline spec; give exactly one of them"#,
        ),
        (
            neither,
            r#"recurring run "neither" has neither a pipeline version nor a pipeline spec; give exactly one of them"#,
        ),
        (no_concurrency, r#"recurring run "zero" has max_concurrency 0; it must be at least 1"#),
    ];
    for (record, expected) in cases {
        let err = store.create_recurring_run(&record).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        assert_eq!(err.to_string(), expected);
    }

    store.create_recurring_run(&recurring_run("rr-1", None)).await.unwrap();
    let duplicate = store.create_recurring_run(&recurring_run("rr-1", None)).await.unwrap_err();
    assert_eq!(duplicate.to_string(), r#"recurring run "rr-1" already exists"#);
}

#[tokio::test]
async fn recurring_run_mode_and_last_scheduled() {
    let store = SqliteStore::open_in_memory().unwrap();
    let created = store.create_recurring_run(&recurring_run("rr-1", None)).await.unwrap();
    tick();

    store.set_recurring_run_mode("rr-1", RecurringMode::Disable).await.unwrap();
    let disabled = store.get_recurring_run("rr-1").await.unwrap();
    store.set_recurring_run_mode("rr-1", RecurringMode::Disable).await.unwrap();
    let again = store.get_recurring_run("rr-1").await.unwrap();
    store.set_recurring_run_last_scheduled("rr-1", time(1_700_000_000_000_001)).await.unwrap();
    let scheduled = store.get_recurring_run("rr-1").await.unwrap();

    assert_eq!(disabled.mode, RecurringMode::Disable);
    assert!(disabled.updated_at > created.updated_at, "updated_at did not change");
    assert_eq!(again.updated_at, disabled.updated_at, "same mode changed updated_at");
    assert_eq!(scheduled.last_scheduled_at, Some(time(1_700_000_000_000_001)));
    assert_eq!(scheduled.updated_at, disabled.updated_at);
}

#[tokio::test]
async fn recurring_run_delete_and_not_found() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.create_recurring_run(&recurring_run("rr-1", None)).await.unwrap();

    store.delete_recurring_run("rr-1").await.unwrap();

    let cases = [
        store.get_recurring_run("rr-1").await.unwrap_err(),
        store.delete_recurring_run("rr-1").await.unwrap_err(),
        store.set_recurring_run_mode("rr-1", RecurringMode::Enable).await.unwrap_err(),
        store.set_recurring_run_last_scheduled("rr-1", time(5)).await.unwrap_err(),
    ];
    for err in cases {
        assert_eq!(err.to_string(), r#"recurring run "rr-1" not found"#);
    }
}

#[tokio::test]
async fn recurring_run_listing() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (id, experiment) in [("rr-1", "e1"), ("rr-2", "e2"), ("rr-3", "e1")] {
        store.create_recurring_run(&recurring_run(id, Some(experiment))).await.unwrap();
        tick();
    }
    store.set_recurring_run_mode("rr-1", RecurringMode::Disable).await.unwrap();
    let cases: Vec<(Option<&str>, ListQuery, &[&str])> = vec![
        (None, ListQuery::default(), &["rr-1", "rr-2", "rr-3"]),
        (Some("e1"), ListQuery::default(), &["rr-1", "rr-3"]),
        (None, filtered(vec![predicate("mode", Op::Equals, text("ENABLE"))]), &["rr-2", "rr-3"]),
        (None, sorted("updated_at", true), &["rr-1", "rr-3", "rr-2"]),
        (Some("e1"), sorted("display_name", true), &["rr-3", "rr-1"]),
    ];
    for (experiment_id, query, expected) in cases {
        let page = store.list_recurring_runs(experiment_id, &query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|item| item.recurring_run_id.as_str()).collect();
        assert_eq!(ids, expected, "experiment {experiment_id:?}, query {query:?}");
        assert_eq!(page.total_size, expected.len() as u64, "query {query:?}");
    }

    let query = filtered(vec![predicate("mode", Op::Equals, text("PAUSED"))]);
    let err = store.list_recurring_runs(None, &query).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#""PAUSED" is not a value of the field "mode" of recurring runs; use one of ENABLE, DISABLE"#
    );
}
