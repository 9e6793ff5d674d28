//! `weir run`, `validate`, `runs list|get`, `logs` and the data folder options, checked through
//! the real binary against the outcomes the test pipelines' docstrings give.

mod common;

use common::*;
use serde_json::{json, Value};

/// Returns `value` with every number turned into a float, for LIST and STRUCT values whose
/// numbers have no declared type (the docstrings compare them by numeric value).
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), numbers_as_floats(v))).collect())
        }
        other => other.clone(),
    }
}

/// Asserts a run's pipeline output parameters: `typed` exactly, `untyped` by numeric value.
fn assert_outputs(run: &Value, typed: &[(&str, Value)], untyped: &[(&str, Value)]) {
    let Some(outputs) = run.pointer("/outputs/parameters").and_then(Value::as_object) else {
        panic!("no output parameters in {run:#}");
    };
    let mut names: Vec<&str> = typed.iter().chain(untyped).map(|(name, _)| *name).collect();
    names.sort_unstable();
    let actual: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(actual, names, "output parameter names");
    for (name, expected) in typed {
        assert_eq!(&outputs[*name], expected, "output {name}");
    }
    for (name, expected) in untyped {
        assert_eq!(
            numbers_as_floats(&outputs[*name]),
            numbers_as_floats(expected),
            "output {name}"
        );
    }
}

#[test]
fn validate_prints_pipeline() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    let outcome = weir.output(&["validate".as_ref(), file.as_os_str()]);
    outcome.assert_code(0);
    assert_eq!(
        outcome.stdout,
        "Pipeline: echo\n\
         Inputs:\n  greeting  STRING, default \"hello\"\n\
         Outputs: none\n\
         Tasks: 2 tasks\n  \
         first [comp-echo]; cache off; image alpine:3.20\n  \
         second [comp-echo]; after first; cache off; image alpine:3.20\n"
    );
    assert_eq!(outcome.stderr, "");
    // Validating reads no store.
    assert!(!weir.data_dir().exists(), "validate created the data folder");
}

#[test]
fn validate_prints_inputs_with_defaults() {
    let weir = Weir::new();
    let outcome = weir.output(&["validate".as_ref(), pipeline("params_types.yaml").as_os_str()]);
    outcome.assert_code(0);
    outcome.assert_stdout_has(&[
        "Pipeline: params-types\n",
        "  config  STRUCT, default {\"n\":2,\"name\":\"weir\",\"nested\":{\"on\":true}}\n",
        "  count   NUMBER_INTEGER, default 7\n",
        "  flag    BOOLEAN, default true\n",
        "  items   LIST, default [1,\"two\",3.5]\n",
        "  ratio   NUMBER_DOUBLE, default 2.5\n",
        "  text    STRING, default \"say \\\"hi\\\"\"\n",
        "  types   STRING\n",
        "Tasks: 1 task\n  echo-params [comp-echo-params]; cache off; image python:3.11\n",
    ]);
}

#[test]
fn run_json_params_defaults() {
    let weir = Weir::new();
    let run = weir.run_json(&pipeline("params_types.yaml"), &[], 0);
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(run["pipeline_name"], "params-types");
    assert_eq!(run["error"], Value::Null);
    assert_eq!(task_paths(&run), ["echo-params"]);
    assert_eq!(task(&run, "echo-params")["state"], "SUCCEEDED");
    assert_outputs(
        &run,
        &[
            ("text", json!("say \"hi\"")),
            ("count", json!(7)),
            ("ratio", json!(2.5)),
            ("flag", json!(true)),
            ("types", json!("str,int,float,bool,list,dict")),
        ],
        &[
            ("items", json!([1, "two", 3.5])),
            ("config", json!({"name": "weir", "n": 2, "nested": {"on": true}})),
        ],
    );
}

#[test]
fn run_json_params_overrides() {
    let weir = Weir::new();
    let args = [
        "-p",
        "text=x",
        "-p",
        "count=-3",
        "-p",
        "ratio=0.0",
        "-p",
        "flag=false",
        "-p",
        "items=[]",
        "-p",
        "config={}",
    ];
    let run = weir.run_json(&pipeline("params_types.yaml"), &args, 0);
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(
        run["parameters"],
        json!({"text": "x", "count": -3, "ratio": 0.0, "flag": false, "items": [], "config": {}})
    );
    assert_outputs(
        &run,
        &[
            ("text", json!("x")),
            ("count", json!(-3)),
            ("ratio", json!(0.0)),
            ("flag", json!(false)),
            ("types", json!("str,int,float,bool,list,dict")),
            ("items", json!([])),
            ("config", json!({})),
        ],
        &[],
    );
}

#[test]
fn parallel_for_outputs_and_logs() {
    let weir = Weir::new();
    let run = weir.run_json(&pipeline("parallel_for.yaml"), &[], 0);
    assert_eq!(run["state"], "SUCCEEDED");
    assert_outputs(
        &run,
        &[
            ("squares_total", json!(30)),
            ("labels", json!("a:10,b:20,c:30")),
            ("range_total", json!(5)),
        ],
        &[],
    );
    let loops: [(&str, &str, &[Value]); 3] = [
        ("for-loop-2", "square", &[json!(1), json!(4), json!(9), json!(16)]),
        ("for-loop-3", "scale", &[json!("a:10"), json!("b:20"), json!("c:30")]),
        ("for-loop-4", "square-2", &[json!(0), json!(1), json!(4)]),
    ];
    for (loop_path, name, outputs) in loops {
        for (index, expected) in outputs.iter().enumerate() {
            let path = format!("{loop_path}/iteration-{index}/{name}");
            let inner = task(&run, &path);
            assert_eq!(inner["state"], "SUCCEEDED", "{path}");
            assert_eq!(output_parameter(inner, "Output"), expected, "{path}");
        }
        let iterations = task_paths(&run)
            .iter()
            .filter(|p| p.starts_with(&format!("{loop_path}/")) && p.ends_with(&format!("/{name}")))
            .count();
        assert_eq!(iterations, outputs.len(), "tasks of {loop_path}");
    }
    assert_eq!(output_parameter(task(&run, "make-range"), "Output"), &json!([0, 1, 2]));

    // A task name shared by the iterations of a loop is ambiguous; the paths select one.
    let run_id = text(&run, "run_id");
    let outcome = weir.output(&["logs", run_id, "square"]);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&["4 tasks are named \"square\"; pass one path"]);
    for index in 0..4 {
        outcome.assert_stderr_has(&[&format!("for-loop-2/iteration-{index}/square")]);
    }
    assert!(!outcome.stderr.contains("square-2"), "{}", outcome.stderr);

    let one = weir.output(&["logs", run_id, "for-loop-2/iteration-2/square"]);
    one.assert_code(0);
    one.assert_stdout_has(&["\"x\": 3", "--- attempt 1 succeeded ---"]);

    let not_container = weir.output(&["logs", run_id, "for-loop-2"]);
    not_container.assert_code(2);
    not_container.assert_stderr_has(&["task \"for-loop-2\" has no log", "loop"]);
}

#[test]
fn run_json_if_elif_else() {
    let weir = Weir::new();
    // (argument, branch that runs, size, shouted), from the docstring of if_elif_else.py.
    let cases: [(Option<&str>, &str, &str, &str); 3] = [
        (None, "condition-3", "medium", "MEDIUM!"),
        (Some("x=20"), "condition-2", "big", "BIG!"),
        (Some("x=1"), "condition-4", "small", "SMALL!"),
    ];
    for (argument, branch, size, shouted) in cases {
        let args: Vec<&str> = argument.iter().flat_map(|a| ["--param", a]).collect();
        let run = weir.run_json(&pipeline("if_elif_else.yaml"), &args, 0);
        assert_eq!(run["state"], "SUCCEEDED", "{argument:?}");
        assert_outputs(&run, &[("size", json!(size)), ("shouted", json!(shouted))], &[]);
        for condition in ["condition-2", "condition-3", "condition-4"] {
            let expected = if condition == branch { "SUCCEEDED" } else { "SKIPPED" };
            let path = format!("condition-branches-1/{condition}");
            assert_eq!(task(&run, &path)["state"], expected, "{path} with {argument:?}");
        }
        assert_eq!(output_parameter(task(&run, "shout"), "Output"), &json!(shouted));
    }
}

#[test]
fn failed_run_exits_1() {
    let weir = Weir::new();
    let run = weir.run_json(&pipeline("exit_handler_fail.yaml"), &[], 1);
    assert_eq!(run["state"], "FAILED");
    assert!(text(&run, "error").contains("task \"fail\" failed"), "run error: {}", run["error"]);
    let states = [
        ("exit-handler-1", "FAILED"),
        ("exit-handler-1/say", "SUCCEEDED"),
        ("exit-handler-1/fail", "FAILED"),
        ("record-status", "SUCCEEDED"),
    ];
    for (path, state) in states {
        assert_eq!(task(&run, path)["state"], state, "{path}");
    }
    assert_eq!(output_parameter(task(&run, "exit-handler-1/say"), "Output"), "hello");
    // The exit handler runs after the failure and receives the body's final state.
    assert_eq!(output_parameter(task(&run, "record-status"), "Output"), "FAILED");
    // `say-2` comes after the failed task and never starts.
    if let Some(say_2) = tasks(&run).iter().find(|t| t["path"] == "exit-handler-1/say-2") {
        assert_eq!(say_2["state"], "SKIPPED");
        assert_eq!(say_2["attempts"], 0);
    }
    assert_eq!(run["outputs"]["parameters"], json!({}));

    // The text summary (the one `weir run` prints without --json) names the failure.
    let outcome = weir.output(&["runs", "get", text(&run, "run_id")]);
    outcome.assert_code(0);
    outcome.assert_stdout_has(&[
        "State     FAILED",
        "Error     task \"exit-handler-1\" failed: task \"fail\" failed",
        "  exit-handler-1/fail ",
        "  record-status ",
    ]);
}

#[test]
fn runs_list_and_get() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    let older = weir.run_json(&file, &["--name", "older-run"], 0);
    let newer = weir.run_json(&file, &["--name", "newer-run", "-p", "greeting=hi there"], 0);

    let runs = weir.runs();
    let names: Vec<&str> = runs.iter().map(|r| text(r, "name")).collect();
    assert_eq!(names, ["newer-run", "older-run"], "runs list is newest first");
    for (listed, run) in runs.iter().zip([&newer, &older]) {
        assert_eq!(listed["run_id"], run["run_id"]);
        assert_eq!(listed["pipeline_name"], "echo");
        assert_eq!(listed["state"], "SUCCEEDED");
        assert!(listed["finished_at"].is_string(), "finished_at not set: {listed:#}");
    }

    let filtered = weir.output(&["runs", "list", "--state", "failed", "--json"]);
    filtered.assert_code(0);
    assert_eq!(filtered.json(), json!([]));
    let limited = weir.output(&["runs", "list", "--limit", "1", "--json"]);
    limited.assert_code(0);
    assert_eq!(limited.json()[0]["name"], "newer-run");
    assert_eq!(limited.json().as_array().map(Vec::len), Some(1));

    // By id prefix and by name, `runs get` shows the same run and its parameters.
    let newer_id = text(&newer, "run_id");
    for reference in [&newer_id[..8], newer_id, "newer-run"] {
        let got = weir.get(reference);
        assert_eq!(got["run_id"], newer["run_id"], "runs get {reference}");
        assert_eq!(got["parameters"], json!({"greeting": "hi there"}), "runs get {reference}");
        assert_eq!(got["state"], "SUCCEEDED");
        assert_eq!(task_paths(&got).len(), 2);
    }

    let summary = weir.output(&["runs", "get", "older-run"]);
    summary.assert_code(0);
    summary.assert_stdout_has(&[
        &format!("Run       older-run ({})", text(&older, "run_id")),
        "Pipeline  echo\n",
        "State     SUCCEEDED",
        "\nParameters\n  greeting = hello\n",
    ]);

    let table = weir.output(&["runs", "list"]);
    table.assert_code(0);
    assert!(table.stdout.starts_with("RUN ID "), "{}", table.stdout);
    table.assert_stdout_has(&[newer_id, "older-run", "SUCCEEDED"]);
}

#[test]
fn runs_list_empty_store() {
    let weir = Weir::new();
    assert_eq!(weir.runs(), Vec::<Value>::new());
    let outcome = weir.output(&["runs", "list"]);
    outcome.assert_code(0);
    assert_eq!(outcome.stdout, format!("No runs in {}.\n", weir.data_dir().display()));
}

#[test]
fn logs_print_task_output() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    let run = weir.run_json(&file, &["-p", "greeting=marker-5d1c"], 0);
    let run_id = text(&run, "run_id");

    let first = weir.output(&["logs", run_id, "first"]);
    first.assert_code(0);
    first.assert_stdout_has(&[
        "--- attempt 1 (",
        "said: marker-5d1c\n",
        "--- attempt 1 succeeded ---",
    ]);
    assert!(!first.stdout.contains("said: bye"), "first's log has second's output");

    // A task id and a task path select the task as its name does.
    let second_id = text(task(&run, "second"), "task_id");
    for reference in ["second", second_id] {
        let second = weir.output(&["logs", &run_id[..8], reference]);
        second.assert_code(0);
        second.assert_stdout_has(&["said: bye\n"]);
    }

    // --follow on a finished task prints the log once and returns.
    let followed = weir.output(&["logs", run_id, "first", "--follow"]);
    followed.assert_code(0);
    assert_eq!(followed.stdout, first.stdout);
}

#[test]
fn logs_print_run_log() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    let run = weir.run_json(&file, &["--name", "logged"], 0);
    let run_id = text(&run, "run_id");

    let outcome = weir.output(&["logs", "logged"]);
    outcome.assert_code(0);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    // Each line is `<timestamp> <event>`. These are the events in order.
    let events: Vec<&str> =
        lines.iter().map(|line| line.split_once(' ').map_or(*line, |(_, event)| event)).collect();
    let expected = [
        format!("run logged started ({run_id})"),
        "image alpine:3.20 is not pulled; its tasks run as local processes".to_string(),
        "task first started (attempt 1)".to_string(),
        "task first SUCCEEDED".to_string(),
        "task second started (attempt 1)".to_string(),
        "task second SUCCEEDED".to_string(),
        "run SUCCEEDED".to_string(),
    ];
    assert_eq!(events, expected, "run log:\n{}", outcome.stdout);
}

/// A task whose result came from the cache has no log of its own. The message should state
/// that, and not list reasons that do not apply (it is a container task and it did finish).
#[test]
fn logs_of_cached_task() {
    let weir = Weir::new();
    let cached = ECHO_PIPELINE.replacen(
        "taskInfo: {name: first}\n        cachingOptions: {}",
        "taskInfo: {name: first}\n        cachingOptions: {enableCache: true}",
        1,
    );
    let file = weir.write("cached.yaml", &cached);
    weir.run_json(&file, &["--name", "fills-cache"], 0);
    let run = weir.run_json(&file, &["--name", "uses-cache"], 0);
    assert_eq!(task(&run, "first")["cached"], true);

    let outcome = weir.output(&["logs", "uses-cache", "first"]);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&["\"first\"", "cache"]);
    assert!(
        !outcome.stderr.contains("it is a container task"),
        "the message gives a reason that does not apply: {}",
        outcome.stderr
    );
}

/// A task that is not run because its upstream sub-DAG was skipped should report the sub-DAG
/// as skipped (or not run), not as failed.
#[test]
fn skip_reason_names_upstream_state() {
    let weir = Weir::new();
    let source = std::fs::read_to_string(pipeline("if_elif_else.yaml")).unwrap_or_default();
    // Make `get-number` run a command that does not exist, so it fails at once.
    let start = source.find("    exec-get-number:").unwrap_or(source.len());
    let command = source[start..].find("        - sh\n").map(|offset| start + offset);
    let Some(command) = command else { panic!("exec-get-number has no `- sh` command line") };
    let broken = format!(
        "{}        - weir-test-no-such-command\n{}",
        &source[..command],
        &source[command + "        - sh\n".len()..]
    );
    let file = weir.write("broken.yaml", &broken);

    let run = weir.run_json(&file, &[], 1);
    assert_eq!(task(&run, "get-number")["state"], "FAILED");
    let branches = task(&run, "condition-branches-1");
    assert_eq!(branches["state"], "SKIPPED");
    let shout = task(&run, "shout");
    assert_eq!(shout["state"], "SKIPPED");
    let reason = text(shout, "error");
    assert!(
        !reason.contains("\"condition-branches-1\" failed"),
        "shout's reason calls the SKIPPED sub-DAG failed: {reason}"
    );
}

#[test]
fn data_dir_option_and_variable() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    let chosen = weir.root().join("chosen");
    let other = weir.root().join("other");

    // WEIR_DATA_DIR selects the store when --data-dir is not given.
    let mut command = weir_command();
    command.env("WEIR_DATA_DIR", &chosen).arg("run").arg(&file).arg("--json");
    let outcome = finish(&mut command);
    outcome.assert_code(0);
    let run_id = text(&outcome.json(), "run_id").to_string();
    assert!(chosen.join("weir.db").is_file(), "no weir.db in {}", chosen.display());

    let list = |data_dir_option: Option<&std::path::Path>, variable: &std::path::Path| {
        let mut command = weir_command();
        command.env("WEIR_DATA_DIR", variable);
        if let Some(dir) = data_dir_option {
            command.arg("--data-dir").arg(dir);
        }
        command.args(["runs", "list", "--json"]);
        let outcome = finish(&mut command);
        outcome.assert_code(0);
        let ids: Vec<String> = outcome
            .json()
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| text(r, "run_id").to_string())
            .collect();
        ids
    };
    assert_eq!(list(None, &chosen), [run_id.as_str()]);
    assert_eq!(list(None, &other), Vec::<String>::new());
    // --data-dir wins over WEIR_DATA_DIR.
    assert_eq!(list(Some(&chosen), &other), [run_id.as_str()]);
    assert_eq!(list(Some(&other), &chosen), Vec::<String>::new());

    // A relative --data-dir is taken from the working folder; the Python task, which runs in
    // a folder of its own, still finds its output files.
    let mut command = weir_command();
    command
        .current_dir(weir.root())
        .args(["--data-dir", "relative", "run", "--json"])
        .arg(pipeline("params_types.yaml"));
    let outcome = finish(&mut command);
    outcome.assert_code(0);
    assert_eq!(outcome.json()["outputs"]["parameters"]["count"], 7);
    assert!(weir.root().join("relative/weir.db").is_file());
    assert!(!weir.data_dir().exists(), "the default test data folder was used");
}
