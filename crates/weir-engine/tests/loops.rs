//! ParallelFor: raw, input and upstream item lists with Collected fan-ins
//! (`parallel_for.yaml`), loop items the compiler typed STRING feeding number inputs
//! (`loop_item_types.yaml`), empty lists, `parallelismLimit` and the engine's process limit, loops
//! over artifact lists (`artifact_iterator.yaml`), and the benchmark fan-outs.

mod common;

use chrono::{DateTime, Utc};
use common::*;
use serde_json::{json, Value};
use weir_engine::EngineConfig;
use weir_store::{State, TaskKind, TaskRecord};

/// Hand-written IR: a ParallelFor over `items` whose body runs one container task that appends
/// `start <item>` and, `nap_seconds` later, `end <item>` to the file `log_path`.
/// `ITERATOR_POLICY` is replaced by the loop task's `iteratorPolicy` line or removed.
const NAP_LOOP: &str = r#"
pipelineInfo:
  name: nap-loop
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      items: {parameterType: LIST, defaultValue: [0, 1, 2, 3, 4, 5]}
      log_path: {parameterType: STRING}
      nap_seconds: {parameterType: NUMBER_DOUBLE, defaultValue: 0.3}
  dag:
    tasks:
      for-loop-1:
        taskInfo: {name: for-loop-1}
        componentRef: {name: comp-for-loop-1}
        inputs:
          parameters:
            pipelinechannel--items: {componentInputParameter: items}
            pipelinechannel--log_path: {componentInputParameter: log_path}
            pipelinechannel--nap_seconds: {componentInputParameter: nap_seconds}
        parameterIterator:
          itemInput: pipelinechannel--items-loop-item
          items: {inputParameter: pipelinechannel--items}
        ITERATOR_POLICY
components:
  comp-for-loop-1:
    inputDefinitions:
      parameters:
        pipelinechannel--items: {parameterType: LIST}
        pipelinechannel--items-loop-item: {parameterType: NUMBER_INTEGER}
        pipelinechannel--log_path: {parameterType: STRING}
        pipelinechannel--nap_seconds: {parameterType: NUMBER_DOUBLE}
    dag:
      tasks:
        nap:
          taskInfo: {name: nap}
          cachingOptions: {}
          componentRef: {name: comp-nap}
          inputs:
            parameters:
              item: {componentInputParameter: pipelinechannel--items-loop-item}
              log_path: {componentInputParameter: pipelinechannel--log_path}
              seconds: {componentInputParameter: pipelinechannel--nap_seconds}
  comp-nap:
    executorLabel: exec-nap
    inputDefinitions:
      parameters:
        item: {parameterType: NUMBER_INTEGER}
        log_path: {parameterType: STRING}
        seconds: {parameterType: NUMBER_DOUBLE}
deploymentSpec:
  executors:
    exec-nap:
      container:
        image: alpine:3.20
        command: [sh, -c, 'echo "start $0" >> "$1"; sleep "$2"; echo "end $0" >> "$1"']
        args:
        - "{{$.inputs.parameters['item']}}"
        - "{{$.inputs.parameters['log_path']}}"
        - "{{$.inputs.parameters['seconds']}}"
"#;

fn nap_loop(parallelism_limit: Option<u32>) -> weir_spec::Pipeline {
    let policy = match parallelism_limit {
        Some(limit) => format!("iteratorPolicy: {{parallelismLimit: {limit}}}"),
        None => String::new(),
    };
    load_text(&NAP_LOOP.replace("ITERATOR_POLICY", &policy))
}

/// Runs the nap loop over `items` naps of `seconds` each and returns the maximum number of naps
/// that ran at once, replayed from the `start`/`end` lines they appended (small appends are
/// atomic).
async fn max_concurrent_naps(h: &Harness, limit: Option<u32>, items: usize, seconds: f64) -> usize {
    let log_path = h.scratch("naps.log");
    let items: Vec<usize> = (0..items).collect();
    let arguments = [
        ("items", json!(items)),
        ("log_path", json!(log_path.display().to_string())),
        ("nap_seconds", json!(seconds)),
    ];
    let (run, tasks) = h.run_request(request(nap_loop(limit), &arguments)).await;

    assert_run_state(&run, State::Succeeded);
    let naps = tasks.iter().filter(|t| t.kind == TaskKind::Container).count();
    assert_eq!(naps, items.len(), "one nap task per item");

    let log = read(&log_path);
    let starts = log.lines().filter(|l| l.starts_with("start ")).count();
    let ends = log.lines().filter(|l| l.starts_with("end ")).count();
    assert_eq!((starts, ends), (items.len(), items.len()), "nap log:\n{log}");
    let mut running = 0usize;
    let mut max = 0usize;
    for line in log.lines() {
        if line.starts_with("start ") {
            running += 1;
            max = max.max(running);
        } else {
            running = running.saturating_sub(1);
        }
    }
    max
}

/// Returns the maximum number of the intervals `[start, end)` that overlap at one instant.
fn max_overlap(intervals: &[(DateTime<Utc>, DateTime<Utc>)]) -> usize {
    // Ends sort before starts at the same instant, so touching intervals do not overlap.
    let mut events: Vec<(DateTime<Utc>, i32)> =
        intervals.iter().flat_map(|(start, end)| [(*start, 1), (*end, -1)]).collect();
    events.sort();
    let mut running = 0i32;
    let mut max = 0i32;
    for (_, change) in events {
        running += change;
        max = max.max(running);
    }
    max as usize
}

fn iterations<'a>(tasks: &'a [TaskRecord], loop_path: &str) -> Vec<&'a TaskRecord> {
    let prefix = format!("{loop_path}/");
    tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Iteration && t.path.starts_with(&prefix))
        .filter(|t| !t.path[prefix.len()..].contains('/'))
        .collect()
}

fn intervals(tasks: &[&TaskRecord]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    tasks
        .iter()
        .map(|t| match (t.started_at, t.finished_at) {
            (Some(start), Some(end)) => (start, end),
            _ => panic!("task {:?} lacks a start or finish time", t.path),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_loops_fan_in_in_order() {
    let h = Harness::new();
    let (run, tasks) = h.run("parallel_for.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    for (i, square) in [1, 4, 9, 16].iter().enumerate() {
        let path = format!("for-loop-2/iteration-{i}/square");
        assert_state(task(&tasks, &path), State::Succeeded);
        assert_output_param(task(&tasks, &path), "Output", json!(square));
    }
    for (i, label) in ["a:10", "b:20", "c:30"].iter().enumerate() {
        assert_output_param(
            task(&tasks, &format!("for-loop-3/iteration-{i}/scale")),
            "Output",
            json!(label),
        );
    }
    for (i, square) in [0, 1, 4].iter().enumerate() {
        let path = format!("for-loop-4/iteration-{i}/square-2");
        assert_output_param(task(&tasks, &path), "Output", json!(square));
    }
    assert_eq!(iterations(&tasks, "for-loop-2").len(), 4, "iterations of for-loop-2");
    assert_eq!(iterations(&tasks, "for-loop-3").len(), 3, "iterations of for-loop-3");
    assert_eq!(iterations(&tasks, "for-loop-4").len(), 3, "iterations of for-loop-4");
    assert_states(
        &tasks,
        &[
            ("for-loop-2", State::Succeeded),
            ("for-loop-3", State::Succeeded),
            ("for-loop-4", State::Succeeded),
        ],
    );

    assert_output_param(task(&tasks, "sum-ints"), "Output", json!(30));
    assert_output_param(task(&tasks, "join-labels"), "Output", json!("a:10,b:20,c:30"));
    assert_output_param(task(&tasks, "make-range"), "Output", json!([0, 1, 2]));
    assert_output_param(task(&tasks, "sum-ints-2"), "Output", json!(5));
    assert_run_outputs(
        &run,
        &[
            ("squares_total", json!(30)),
            ("labels", json!("a:10,b:20,c:30")),
            ("range_total", json!(5)),
        ],
    );

    let limited = intervals(&iterations(&tasks, "for-loop-3"));
    let overlap = max_overlap(&limited);
    assert!(overlap <= 2, "for-loop-3 has parallelism 2 but {overlap} iterations overlapped");
}

/// Regression: an untyped `list` input or `-> list` output makes the compiler declare the loop
/// item STRING, which validation used to reject for a `float` or `int` input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untyped_list_items_keep_numbers() {
    let h = Harness::new();
    let (run, tasks) = h.run("loop_item_types.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(iterations(&tasks, "for-loop-1").len(), 2, "iterations of for-loop-1");
    for (i, (lr, described)) in [(0.1, "float 0.1"), (0.2, "float 0.2")].iter().enumerate() {
        let path = format!("for-loop-1/iteration-{i}/describe-lr");
        let describe = task(&tasks, &path);
        assert_state(describe, State::Succeeded);
        assert_eq!(describe.inputs["parameters"]["lr"], json!(lr), "input lr of {path}");
        assert_output_param(describe, "Output", json!(described));
    }

    assert_output_param(task(&tasks, "make-list"), "Output", json!([1, 2, 3]));
    assert_eq!(iterations(&tasks, "for-loop-2").len(), 3, "iterations of for-loop-2");
    for (i, (n, described)) in [(1, "int 2"), (2, "int 4"), (3, "int 6")].iter().enumerate() {
        let path = format!("for-loop-2/iteration-{i}/describe-count");
        let describe = task(&tasks, &path);
        assert_state(describe, State::Succeeded);
        assert_eq!(describe.inputs["parameters"]["n"], json!(n), "input n of {path}");
        assert_output_param(describe, "Output", json!(described));
    }
    assert_states(&tasks, &[("for-loop-1", State::Succeeded), ("for-loop-2", State::Succeeded)]);
    assert_no_run_outputs(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_list_collects_nothing() {
    let h = Harness::new();
    let (run, tasks) = h.run("parallel_for.yaml", &[("count", json!(0))]).await;

    assert_run_state(&run, State::Succeeded);
    assert_output_param(task(&tasks, "make-range"), "Output", json!([]));
    let empty_loop = task(&tasks, "for-loop-4");
    assert_state(empty_loop, State::Succeeded);
    assert!(iterations(&tasks, "for-loop-4").is_empty(), "for-loop-4 ran iterations");
    assert_no_tasks_under(&tasks, "for-loop-4/");
    assert_output_param(empty_loop, "pipelinechannel--square-2-Output", json!([]));

    let fan_in = task(&tasks, "sum-ints-2");
    assert_state(fan_in, State::Succeeded);
    assert_eq!(fan_in.inputs["parameters"]["values"], json!([]), "input of sum-ints-2");
    assert_output_param(fan_in, "Output", json!(0));
    assert_run_output_param(&run, "range_total", json!(0));
    assert_run_output_param(&run, "squares_total", json!(30));
}

#[tokio::test]
async fn empty_container_loop_succeeds() {
    let h = Harness::new();
    let log_path = h.scratch("naps.log");
    let arguments = [("items", json!([])), ("log_path", json!(log_path.display().to_string()))];
    let (run, tasks) = h.run_request(request(nap_loop(Some(2)), &arguments)).await;

    assert_run_state(&run, State::Succeeded);
    assert_state(task(&tasks, "for-loop-1"), State::Succeeded);
    assert_eq!(tasks.len(), 1, "only the loop task is recorded");
    assert!(!log_path.exists(), "a nap ran for an empty list");
}

#[tokio::test]
async fn parallelism_limit_caps_iterations() {
    let h = Harness::new();
    let max = max_concurrent_naps(&h, Some(2), 6, 0.3).await;
    assert_eq!(max, 2, "naps running at once with parallelismLimit 2");
}

#[tokio::test]
async fn unlimited_loop_runs_together() {
    let h = Harness::new();
    // Long naps, so six processes overlap even when starting each one is slow.
    let max = max_concurrent_naps(&h, None, 6, 1.5).await;
    assert!(max >= 3, "only {max} of 6 unlimited naps ran at once");
}

#[tokio::test]
async fn engine_limit_caps_processes() {
    let h = Harness::with_config(EngineConfig { max_parallel_tasks: 1, ..test_config() });
    let max = max_concurrent_naps(&h, None, 4, 0.3).await;
    assert_eq!(max, 1, "naps running at once with max_parallel_tasks 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_list_fan_in_and_loop() {
    let h = Harness::new();
    let (run, tasks) = h.run("artifact_iterator.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(iterations(&tasks, "for-loop-2").len(), 3, "iterations of for-loop-2");
    for (i, letter) in ["a", "b", "c"].iter().enumerate() {
        let maker = task(&tasks, &format!("for-loop-2/iteration-{i}/make-text"));
        assert_state(maker, State::Succeeded);
        let dataset = output_artifact(&maker.outputs, "out", &maker.path);
        assert_eq!(read_artifact(&dataset), *letter);
        assert!(json_equal(&json!(dataset.metadata), &json!({"text": letter})));
    }
    let collected = task(&tasks, "concat-texts");
    let inputs = &collected.inputs["artifacts"]["datasets"];
    assert_eq!(inputs.as_array().map(Vec::len), Some(3), "datasets input of concat-texts");
    assert_output_param(collected, "Output", json!("abc"));

    assert_state(task(&tasks, "read-each"), State::Succeeded);
    assert_state(task(&tasks, "read-each/for-loop-1"), State::Succeeded);
    assert_eq!(iterations(&tasks, "read-each/for-loop-1").len(), 3, "iterations of read-each");
    for (i, letter) in ["a", "b", "c"].iter().enumerate() {
        let path = format!("read-each/for-loop-1/iteration-{i}/read-text");
        assert_output_param(task(&tasks, &path), "Output", json!(letter));
    }
    assert_output_param(task(&tasks, "read-each"), "Output", json!(["a", "b", "c"]));
    assert_output_param(task(&tasks, "join-texts"), "Output", json!("a-b-c"));
    assert_run_outputs(&run, &[("concatenated", json!("abc")), ("joined", json!("a-b-c"))]);
}

/// IR sample: Collected Datasets passed to a nested pipeline that loops over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_artifact_loop_sample() {
    let h = Harness::new();
    let (run, tasks) = h.run("ir-samples/artifact_iterator.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(iterations(&tasks, "per-artifact/for-loop-1").len(), 2, "iterations");
    for (i, text) in ["1", "2"].iter().enumerate() {
        let path = format!("per-artifact/for-loop-1/iteration-{i}/read-ds");
        assert_output_param(task(&tasks, &path), "Output", json!(text));
    }
}

/// Benchmark fan-out: 20 squares gathered by one fan-in task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_squares_sum() {
    let h = Harness::new();
    let (run, tasks) = h.run("bench/fanout.yaml", &[]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(iterations(&tasks, "for-loop-2").len(), 20, "iterations of for-loop-2");
    let squares: Vec<Value> = (0..20).map(|i| json!(i * i)).collect();
    assert_output_param(
        task(&tasks, "for-loop-2"),
        "pipelinechannel--square-Output",
        json!(squares),
    );
    assert_output_param(task(&tasks, "total"), "Output", json!(2470));
    assert_run_outputs(&run, &[("Output", json!(2470))]);
}

/// The 10,000-item benchmark pipeline with a short list; each iteration echoes its item.
#[tokio::test]
async fn fanout_bench_short_list() {
    let h = Harness::new();
    let (run, tasks) = h.run("bench_fanout_10k.yaml", &[("items", json!([0, 1, 2]))]).await;

    assert_run_state(&run, State::Succeeded);
    assert_eq!(iterations(&tasks, "for-loop-1").len(), 3, "iterations of for-loop-1");
    for i in 0..3 {
        let echo = task(&tasks, &format!("for-loop-1/iteration-{i}/echo-item"));
        assert_state(echo, State::Succeeded);
        let Some(log_path) = &echo.log_path else { panic!("echo-item {i} has no log") };
        let log = read(log_path);
        assert!(log.lines().any(|line| line == i.to_string()), "log of item {i}:\n{log}");
    }
    assert_no_run_outputs(&run);
}

/// The compiler writes an f-string over a loop item's field as an input named after no
/// existing parameter. Loading must reject it with that name, before any task runs.
#[test]
fn fstring_over_item_field_rejected() {
    let path = pipeline_path("ir-samples/loops.yaml");
    let error = match weir_spec::load_file(&path) {
        Ok(_) => panic!("loops.yaml loaded, but it references a missing input"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("rows-loop-item-subvar-a"), "error does not name the input: {error}");
}
