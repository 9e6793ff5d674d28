//! Pipeline parameters: defaults, overrides, type conversion, and the arguments `submit`
//! rejects (wrong type, missing, unknown), using `params_types.yaml` and `retry.yaml`.

mod common;

use common::*;
use serde_json::{json, Value};
use weir_engine::EngineError;
use weir_store::{RunQuery, State};

const TYPES: &str = "str,int,float,bool,list,dict";

/// Submits `file` with `arguments`, expects `InvalidArguments`, checks that the message names
/// each of `names`, and that no run was stored.
async fn assert_rejected(file: &str, arguments: &[(&str, Value)], names: &[&str]) {
    let h = Harness::new();
    let message = match h.submit(file, arguments).await {
        Err(EngineError::InvalidArguments(message)) => message,
        Err(other) => panic!("expected InvalidArguments, got the error {other}"),
        Ok(run) => panic!(
            "expected InvalidArguments for {arguments:?}, but run {} was created",
            run.run_id
        ),
    };
    for name in names {
        assert!(
            message.contains(&format!("{name:?}")),
            "message does not name {name:?}: {message}"
        );
    }
    let runs = h.engine.store().list_runs(&RunQuery::default()).await;
    let runs = runs.unwrap_or_else(|e| panic!("list_runs failed: {e}"));
    assert!(runs.is_empty(), "a rejected submit stored {} runs", runs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_reach_component() {
    let h = Harness::new();
    let (run, tasks) = h.run("params_types.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_state(task(&tasks, "echo-params"), State::Succeeded);
    assert_run_outputs(
        &run,
        &[
            ("text", json!("say \"hi\"")),
            ("count", json!(7)),
            ("ratio", json!(2.5)),
            ("flag", json!(true)),
            ("items", json!([1, "two", 3.5])),
            ("config", json!({"name": "weir", "n": 2, "nested": {"on": true}})),
            ("types", json!(TYPES)),
        ],
    );
    assert_eq!(run.parameters["parameters"]["count"], json!(7), "stored argument count");
    assert_eq!(run.parameters["parameters"]["text"], json!("say \"hi\""), "stored argument text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_reach_component() {
    let h = Harness::new();
    let arguments = [
        ("text", json!("x")),
        ("count", json!(-3)),
        ("ratio", json!(0.0)),
        ("flag", json!(false)),
        ("items", json!([])),
        ("config", json!({})),
    ];
    let (run, tasks) = h.run("params_types.yaml", &arguments).await;

    assert_run_state(&run, State::Succeeded);
    let echo = task(&tasks, "echo-params");
    assert_output_param(echo, "text", json!("x"));
    assert_output_param(echo, "count", json!(-3));
    assert_output_param(echo, "ratio", json!(0.0));
    assert_output_param(echo, "flag", json!(false));
    assert_output_param(echo, "items", json!([]));
    assert_output_param(echo, "config", json!({}));
    for (name, value) in arguments {
        assert_run_output_param(&run, name, value);
    }
}

/// A float argument with no fraction (`0.0`) must reach a `float` parameter as a Python float.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integral_float_stays_float() {
    let h = Harness::new();
    let (run, tasks) = h.run("params_types.yaml", &[("ratio", json!(0.0))]).await;

    assert_run_state(&run, State::Succeeded);
    assert_output_param(task(&tasks, "echo-params"), "types", json!(TYPES));
}

/// The IR writes integer defaults as doubles (`7.0`), so an integral double must bind to an
/// integer parameter and reach the component as a Python int.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integral_double_binds_to_int() {
    let h = Harness::new();
    let (run, tasks) = h.run("params_types.yaml", &[("count", json!(4.0))]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(run.parameters["parameters"]["count"], json!(4), "stored argument count");
    assert_output_param(task(&tasks, "echo-params"), "types", json!(TYPES));
    assert_run_output_param(&run, "count", json!(4));
}

#[tokio::test]
async fn wrong_type_names_parameter() {
    assert_rejected("params_types.yaml", &[("count", json!("many"))], &["count"]).await;
    assert_rejected("params_types.yaml", &[("count", json!(2.5))], &["count"]).await;
    assert_rejected("params_types.yaml", &[("flag", json!(3))], &["flag"]).await;
    assert_rejected("params_types.yaml", &[("items", json!({"a": 1}))], &["items"]).await;
    assert_rejected("params_types.yaml", &[("config", json!([1]))], &["config"]).await;
}

/// A pipeline argument for a STRING parameter must be a string: a list or a struct is a
/// mistake, even though a task input of type STRING takes any value as its text.
#[tokio::test]
async fn list_for_string_rejected() {
    assert_rejected("params_types.yaml", &[("text", json!(["a"]))], &["text"]).await;
    assert_rejected("params_types.yaml", &[("text", json!({"a": 1}))], &["text"]).await;
}

#[tokio::test]
async fn every_problem_reported_at_once() {
    let arguments = [("count", json!("many")), ("flag", json!(3)), ("colour", json!("red"))];
    assert_rejected("params_types.yaml", &arguments, &["count", "flag", "colour"]).await;
}

#[tokio::test]
async fn missing_required_parameter_rejected() {
    assert_rejected("retry.yaml", &[], &["marker_dir"]).await;
    assert_rejected("caching.yaml", &[("value", json!("v1"))], &["log_path"]).await;
}

#[tokio::test]
async fn unknown_parameter_rejected() {
    assert_rejected("params_types.yaml", &[("colour", json!("red"))], &["colour"]).await;
    assert_rejected("condition.yaml", &[("N", json!(3))], &["N"]).await;
}
