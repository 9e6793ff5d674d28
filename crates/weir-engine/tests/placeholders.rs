//! Command-line placeholders of container components: parameters, Concat, IfPresent,
//! component defaults, artifact paths and OutputPath files (`placeholders.yaml`), every
//! placeholder the SDK emits (IR sample), the workspace path from the platform spec, and the
//! ten-step container chain of the benchmark set.

mod common;

use chrono::SecondsFormat;
use common::*;
use serde_json::{json, Value};
use weir_store::{RunRecord, State, TaskRecord};

const WITH_OPT: &str =
    "hi\n3\n0.5\ntrue\npre-hi-3\n--opt\ngiven\n--extra\npayload\nsfx\nrender\npayload";
const WITHOUT_OPT: &str = "hi\n3\n0.5\ntrue\npre-hi-3\n--no-opt\nsfx\nrender-2\npayload";

#[tokio::test]
async fn arguments_render_exactly() {
    let h = Harness::new();
    let (run, tasks) = h.run("placeholders.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    let data = output_artifact(&task(&tasks, "write-data").outputs, "data", "write-data");
    assert_eq!(read_artifact(&data), "payload");

    let render = task(&tasks, "render");
    assert_output_param(render, "text", json!(WITH_OPT));
    assert_output_param(render, "lines", json!(12));
    let render_2 = task(&tasks, "render-2");
    assert_output_param(render_2, "text", json!(WITHOUT_OPT));
    assert_output_param(render_2, "lines", json!(9));
    assert_run_outputs(
        &run,
        &[
            ("with_opt", json!(WITH_OPT)),
            ("without_opt", json!(WITHOUT_OPT)),
            ("with_opt_lines", json!(12)),
            ("without_opt_lines", json!(9)),
        ],
    );
}

/// Reads the arguments that `all-placeholders` printed with `echo "$@"` from the second line
/// of its log, after the attempt header, and splits them at spaces (no value contains one).
fn echoed_arguments(task: &TaskRecord) -> Vec<String> {
    let Some(log_path) = &task.log_path else { panic!("task {:?} has no log", task.path) };
    let log = read(log_path);
    let Some(line) = log.lines().nth(1) else { panic!("log of {:?} is short:\n{log}", task.path) };
    line.split(' ').map(str::to_string).collect()
}

/// Builds the arguments `all-placeholders` must receive, without the trailing `{{$}}` JSON.
fn expected_arguments(
    h: &Harness,
    run: &RunRecord,
    task: &TaskRecord,
    opt: &[&str],
) -> Vec<String> {
    let artifacts = h.engine.artifacts();
    let data = artifacts.output_uri(&run.run_id, "make-ds", "out");
    let model = artifacts.output_uri(&run.run_id, &task.path, "model");
    let task_root = artifacts.task_root(&run.run_id, &task.path);
    let created = run.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut expected = vec![
        "t".to_string(),
        data.clone(),
        data.clone(),
        r#"{"rows":1}"#.to_string(),
        model.clone(),
        model,
        "{}".to_string(),
        task_root.join("score").display().to_string(),
        format!("prefix-t-{data}"),
    ];
    expected.extend(opt.iter().map(|s| s.to_string()));
    expected.extend([
        run.name.clone(),
        format!("runs/{}", run.run_id),
        run.run_id.clone(),
        task.name.clone(),
        task.task_id.clone(),
        run.pipeline_root.clone(),
        created.clone(),
        created,
        task_root.join("executor_output.json").display().to_string(),
    ]);
    expected
}

fn assert_every_placeholder(h: &Harness, run: &RunRecord, task: &TaskRecord, opt: &[&str]) {
    let mut echoed = echoed_arguments(task);
    let executor_input = echoed.pop().unwrap_or_default();
    assert_eq!(echoed, expected_arguments(h, run, task, opt), "arguments of {:?}", task.path);

    let executor_input: Value = serde_json::from_str(&executor_input).unwrap_or_else(|e| {
        panic!("{{{{$}}}} of {:?} is not JSON ({e}): {executor_input}", task.path)
    });
    let mut parameters = json!({"text": "t"});
    if opt.len() == 2 {
        parameters["opt"] = json!(opt[1]);
    }
    assert_eq!(executor_input["inputs"]["parameterValues"], parameters, "{{{{$}}}} parameters");
    let data = &executor_input["inputs"]["artifacts"]["data"]["artifacts"][0];
    assert_eq!(data["metadata"], json!({"rows": 1}), "{{{{$}}}} data artifact");
    let score = &executor_input["outputs"]["parameters"]["score"]["outputFile"];
    assert!(score.as_str().is_some_and(|s| s.ends_with("/score")), "{{{{$}}}} score file {score}");
}

/// IR sample: `echo` every placeholder kind. The component never writes its `score` output,
/// so each task fails after printing its arguments, as on the KFP backend.
#[tokio::test]
async fn every_placeholder_kind() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/placeholders.yaml", &[]).await;

    assert_run_state(&run, State::Failed);
    assert_state(task(&tasks, "make-ds"), State::Succeeded);
    for path in ["all-placeholders", "all-placeholders-2"] {
        let echo = task(&tasks, path);
        assert_state(echo, State::Failed);
        let error = echo.error.clone().unwrap_or_default();
        assert!(error.contains("'score'"), "error of {path} does not name score: {error}");
    }
    assert_every_placeholder(&h, &run, task(&tasks, "all-placeholders"), &["--no-opt"]);
    assert_every_placeholder(&h, &run, task(&tasks, "all-placeholders-2"), &["--opt", "given"]);
}

/// IR sample: the pipeline declares a workspace in its platform spec, so the folder that
/// `{{$.workspace_path}}` names must exist when the task runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_path_exists() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/k8s_platform.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_output_param(task(&tasks, "use-ws"), "Output", json!("True"));
}

/// Benchmark chain of ten `sh -c` steps, each echoing the previous output with its index.
/// String outputs keep their trailing newline, so each step's text starts a new line.
#[tokio::test]
async fn container_chain_passes_text() {
    let h = Harness::new();
    let (run, tasks) = h.run("bench/container.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(tasks.len(), 10, "one task per step");
    let mut expected = String::from("hello step 0\n");
    for i in 1..10 {
        expected.push_str(&format!(" step {i}\n"));
    }
    assert_run_outputs(&run, &[("Output", json!(expected))]);
}
