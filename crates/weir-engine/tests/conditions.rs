//! Conditions: `dsl.If` on upstream outputs with a nested and a skipped branch
//! (`condition.yaml`), `If`/`Elif`/`Else` with a OneOf output (`if_elif_else.yaml`), and the
//! IR sample whose branch depends on a random coin flip.

mod common;

use common::*;
use serde_json::json;
use weir_store::State::{self, Skipped, Succeeded};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_nested_and_skipped_branches() {
    let h = Harness::new();
    let (run, tasks) = h.run("condition.yaml", &[]).await;

    assert_run_state(&run, Succeeded);
    assert_states(
        &tasks,
        &[
            ("get-number", Succeeded),
            ("get-word", Succeeded),
            ("condition-1", Succeeded),
            ("condition-1/say", Succeeded),
            ("condition-1/condition-2", Succeeded),
            ("condition-1/condition-2/say-2", Succeeded),
            ("condition-3", Skipped),
        ],
    );
    assert_output_param(task(&tasks, "get-number"), "Output", json!(7));
    assert_output_param(task(&tasks, "get-word"), "Output", json!("go"));
    assert_output_param(task(&tasks, "condition-1/say"), "Output", json!("above"));
    assert_output_param(
        task(&tasks, "condition-1/condition-2/say-2"),
        "Output",
        json!("above and go"),
    );
    assert_not_run(&tasks, "condition-3/say-3");
    assert_no_run_outputs(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_condition_skips_subtree() {
    let h = Harness::new();
    let (run, tasks) = h.run("condition.yaml", &[("n", json!(3))]).await;

    assert_run_state(&run, Succeeded);
    assert_states(&tasks, &[("condition-1", Skipped), ("condition-3", Skipped)]);
    assert_output_param(task(&tasks, "get-number"), "Output", json!(3));
    assert_not_run(&tasks, "condition-1/say");
    assert_not_run(&tasks, "condition-1/condition-2");
    assert_not_run(&tasks, "condition-1/condition-2/say-2");
    assert_not_run(&tasks, "condition-3/say-3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_condition_selects_branch() {
    let h = Harness::new();
    let (run, tasks) = h.run("condition.yaml", &[("word", json!("stop"))]).await;

    assert_run_state(&run, Succeeded);
    assert_states(
        &tasks,
        &[
            ("condition-1", Succeeded),
            ("condition-1/say", Succeeded),
            ("condition-1/condition-2", Skipped),
            ("condition-3", Succeeded),
            ("condition-3/say-3", Succeeded),
        ],
    );
    assert_not_run(&tasks, "condition-1/condition-2/say-2");
    assert_output_param(task(&tasks, "condition-3/say-3"), "Output", json!("stop"));
}

/// Runs `if_elif_else.yaml` with `x` and checks that only `branch` ran and the OneOf value.
async fn check_branch(x: i64, branch: &str, size: &str) {
    let h = Harness::new();
    let (run, tasks) = h.run("if_elif_else.yaml", &[("x", json!(x))]).await;

    assert_run_state(&run, Succeeded);
    assert_state(task(&tasks, "condition-branches-1"), Succeeded);
    let branches =
        [("condition-2", "label"), ("condition-3", "label-2"), ("condition-4", "label-3")];
    for (condition, label) in branches {
        let condition_path = format!("condition-branches-1/{condition}");
        let label_path = format!("{condition_path}/{label}");
        if condition == branch {
            assert_state(task(&tasks, &condition_path), Succeeded);
            assert_state(task(&tasks, &label_path), Succeeded);
            assert_output_param(task(&tasks, &label_path), "Output", json!(size));
        } else {
            assert_state(task(&tasks, &condition_path), Skipped);
            assert_not_run(&tasks, &label_path);
        }
    }
    let shouted = format!("{}!", size.to_uppercase());
    assert_output_param(task(&tasks, "shout"), "Output", json!(shouted));
    assert_run_outputs(&run, &[("size", json!(size)), ("shouted", json!(shouted))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elif_branch_by_default() {
    check_branch(7, "condition-3", "medium").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_branch_for_big() {
    check_branch(20, "condition-2", "big").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elif_branch_at_boundary() {
    check_branch(10, "condition-3", "medium").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn else_branch_for_small() {
    check_branch(1, "condition-4", "small").await;
}

/// `flip` returns heads, tails or edge at random; `num` returns 5 > threshold 2, so the If
/// branch runs on heads and the Elif branch otherwise, and the Else branch never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coin_flip_picks_one_branch() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/conditions.yaml", &[]).await;

    assert_run_state(&run, Succeeded);
    let flip = task(&tasks, "flip");
    let side = output_param(&flip.outputs, "Output", "flip").clone();
    assert!(
        [json!("heads"), json!("tails"), json!("edge")].contains(&side),
        "flip returned {side}"
    );
    assert_output_param(task(&tasks, "num"), "Output", json!(5));

    let (taken, skipped, message) = if side == json!("heads") {
        ("condition-2", "condition-3", "got heads")
    } else {
        ("condition-3", "condition-2", "n above 2")
    };
    let expected: [(String, State); 3] = [
        (format!("condition-branches-1/{taken}"), Succeeded),
        (format!("condition-branches-1/{skipped}"), Skipped),
        ("condition-branches-1/condition-4".to_string(), Skipped),
    ];
    for (path, state) in &expected {
        assert_state(task(&tasks, path), *state);
    }
    assert_run_outputs(&run, &[("Output", json!(message))]);
}
