//! `weir` given bad input: broken pipeline files, wrong `--param` values and options, unknown
//! runs and tasks, and a task whose command does not exist.
//!
//! Input errors must exit 2 with an `error:` message on stderr that names the offending value.
//! They must leave the store as it was, so no run is created for a rejected file or argument
//! and no run is left RUNNING.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

/// A valid pipeline of three container tasks in a chain, `first` -> `second` -> `third`.
/// The cases below break it with text edits.
const CHAIN: &str = r#"
pipelineInfo: {name: chain}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  dag:
    tasks:
      first:
        componentRef: {name: comp-ok}
        taskInfo: {name: first}
        cachingOptions: {}
      second:
        componentRef: {name: comp-ok}
        dependentTasks: [first]
        taskInfo: {name: second}
        cachingOptions: {}
      third:
        componentRef: {name: comp-ok}
        dependentTasks: [second]
        taskInfo: {name: third}
        cachingOptions: {}
components:
  comp-ok:
    executorLabel: exec-ok
deploymentSpec:
  executors:
    exec-ok:
      container: {image: 'alpine:3.20', command: [sh, -c, 'echo ok']}
"#;

/// The command that `second` runs in [`missing_command_pipeline`], which no machine has.
const MISSING_COMMAND: &str = "weir-test-no-such-command-7f3a";

/// Applies text replacements to [`CHAIN`]. Each `from` must occur in it.
fn chain_with(edits: &[(&str, &str)]) -> String {
    let mut text = CHAIN.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "edit target {from:?} not in the chain pipeline");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Turns `first -> second -> third` into a cycle by making `first` depend on `third`.
const CYCLE_EDIT: (&str, &str) =
    ("taskInfo: {name: first}", "taskInfo: {name: first}\n        dependentTasks: [third]");
/// Points `second` at a component that does not exist.
const UNKNOWN_COMPONENT_EDIT: (&str, &str) = (
    "componentRef: {name: comp-ok}\n        dependentTasks: [first]",
    "componentRef: {name: comp-gone}\n        dependentTasks: [first]",
);

/// The pipeline file a case passes to `weir`.
enum File {
    /// Text written to a temporary file.
    Text(String),
    /// One of the repository's test pipelines.
    Repo(&'static str),
    /// A path that does not exist.
    Missing,
    /// A folder, not a file.
    Folder,
}

impl File {
    fn path(&self, weir: &Weir) -> PathBuf {
        match self {
            File::Text(text) => weir.write("pipeline.yaml", text),
            File::Repo(name) => pipeline(name),
            File::Missing => weir.root().join("no-such-pipeline.yaml"),
            File::Folder => weir.root().to_path_buf(),
        }
    }
}

/// One rejected `weir run` or `weir validate` call: the file, the arguments after it, and
/// words stderr must contain.
struct Case {
    name: &'static str,
    file: File,
    args: &'static [&'static str],
    stderr: Vec<&'static str>,
}

/// Runs `weir <command> FILE <args>` for each case in a fresh data folder and checks exit code
/// 2, the message, empty stdout, and that the store has no run.
fn check_rejected(command: &str, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let weir = Weir::new();
        let file = case.file.path(&weir);
        let mut cmd = weir.command(&[command]);
        cmd.arg(&file).args(case.args);
        let outcome = finish(&mut cmd);

        let mut problems = Vec::new();
        if outcome.code != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", outcome.code));
        }
        if !outcome.stderr.starts_with("error: ") {
            problems.push("stderr does not start with `error: `".to_string());
        }
        for part in case.stderr {
            if !outcome.stderr.contains(part) {
                problems.push(format!("{part:?} not in stderr"));
            }
        }
        if !outcome.stdout.is_empty() {
            problems.push("stdout is not empty".to_string());
        }
        let runs = weir.runs();
        if !runs.is_empty() {
            problems.push(format!("the store has runs: {runs:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr\n{}--- stdout\n{}",
                case.name,
                problems.join("; "),
                outcome.stderr,
                outcome.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n\n{}", failures.len(), failures.join("\n"));
}

/// Load errors shared by `weir run` and `weir validate`.
fn load_error_cases() -> Vec<Case> {
    vec![
        Case {
            name: "malformed YAML",
            file: File::Text(
                "pipelineInfo: {name: broken}\nschemaVersion: 2.1.0\nroot:\n  dag:\n   \
                 tasks: {}\n  bad: : x\n"
                    .to_string(),
            ),
            args: &[],
            stderr: vec!["pipeline.yaml", "malformed YAML at line 6, column 8"],
        },
        Case {
            name: "not a pipeline",
            file: File::Text("hello: world\ncount: 3\n".to_string()),
            args: &[],
            stderr: vec![
                "pipeline.yaml",
                "not a KFP pipeline spec",
                "missing `pipelineInfo` and `root`",
                "hello",
            ],
        },
        Case {
            name: "list document",
            file: File::Text("[1, 2]\n".to_string()),
            args: &[],
            stderr: vec!["not a KFP pipeline spec", "the first document is a list"],
        },
        Case {
            name: "empty file",
            file: File::Text(String::new()),
            args: &[],
            stderr: vec!["pipeline.yaml", "no YAML or JSON document"],
        },
        Case {
            name: "missing file",
            file: File::Missing,
            args: &[],
            stderr: vec!["cannot read pipeline file", "no-such-pipeline.yaml", "No such file"],
        },
        Case {
            name: "folder",
            file: File::Folder,
            args: &[],
            stderr: vec!["cannot read pipeline file", "Is a directory"],
        },
        Case {
            name: "unknown component",
            file: File::Text(chain_with(&[UNKNOWN_COMPONENT_EDIT])),
            args: &[],
            stderr: vec![
                "root.dag.tasks.second.componentRef.name",
                "component 'comp-gone' not found",
                "components: comp-ok",
            ],
        },
        Case {
            name: "dependency cycle",
            file: File::Text(chain_with(&[CYCLE_EDIT])),
            args: &[],
            // The cycle may be printed from any of its tasks, so each name is checked alone.
            stderr: vec!["dependency cycle", "first ->", "second ->", "third ->"],
        },
    ]
}

#[test]
fn run_rejects_bad_files() {
    let mut cases = load_error_cases();
    for case in &mut cases {
        // `weir run` wraps load errors in the action that failed.
        if !matches!(case.file, File::Missing | File::Folder) {
            case.stderr.insert(0, "cannot load pipeline");
        }
    }
    cases.push(Case {
        name: "custom job executor",
        file: File::Text(chain_with(&[(
            "container: {image: 'alpine:3.20', command: [sh, -c, 'echo ok']}",
            "customJob: {customJob: {displayName: trainer}}",
        )])),
        args: &[],
        stderr: vec!["exec-ok", "resolvers or custom jobs"],
    });
    check_rejected("run", cases);
}

#[test]
fn validate_rejects_bad_files() {
    let mut cases = load_error_cases();
    for case in &mut cases {
        case.stderr.insert(0, "is not a valid pipeline");
    }
    check_rejected("validate", cases);
}

#[test]
fn validate_lists_every_problem() {
    let weir = Weir::new();
    let file = weir.write("two-problems.yaml", &chain_with(&[CYCLE_EDIT, UNKNOWN_COMPONENT_EDIT]));
    let outcome = weir.output(&["validate".as_ref(), file.as_os_str()]);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&[
        "two-problems.yaml is not a valid pipeline",
        "invalid pipeline spec (2 problems)",
        "root.dag.tasks.second.componentRef.name: component 'comp-gone' not found",
        "root.dag.tasks: tasks form a dependency cycle",
    ]);
    assert_eq!(outcome.stdout, "");
}

#[test]
fn run_rejects_bad_params() {
    let case = |name, file, args, stderr: &[&'static str]| Case {
        name,
        file: File::Repo(file),
        args,
        stderr: stderr.to_vec(),
    };
    check_rejected(
        "run",
        vec![
            case(
                "missing required parameter",
                "retry.yaml",
                &[],
                &[
                    "missing required pipeline parameter \"marker_dir\" (STRING)",
                    "--param marker_dir=VALUE",
                ],
            ),
            case(
                "int given a word",
                "params_types.yaml",
                &["--param", "count=abc"],
                &["pipeline parameter \"count\"", "expected NUMBER_INTEGER", "\"abc\""],
            ),
            case(
                "int given a fraction",
                "params_types.yaml",
                &["--param", "count=1.5"],
                &["pipeline parameter \"count\"", "expected NUMBER_INTEGER", "\"1.5\""],
            ),
            case(
                "int given nothing",
                "params_types.yaml",
                &["--param", "count="],
                &["pipeline parameter \"count\"", "expected NUMBER_INTEGER", "\"\""],
            ),
            case(
                "float given a word",
                "params_types.yaml",
                &["-p", "ratio=abc"],
                &["pipeline parameter \"ratio\"", "expected NUMBER_DOUBLE", "\"abc\""],
            ),
            case(
                "bool given yes",
                "params_types.yaml",
                &["-p", "flag=yes"],
                &["pipeline parameter \"flag\"", "expected BOOLEAN", "use true or false"],
            ),
            case(
                "list given an object",
                "params_types.yaml",
                &["-p", "items={}"],
                &["pipeline parameter \"items\"", "expected LIST", "not a JSON list"],
            ),
            case(
                "dict given a list",
                "params_types.yaml",
                &["-p", "config=[1]"],
                &["pipeline parameter \"config\"", "expected STRUCT", "not a JSON object"],
            ),
            case(
                "unknown parameter",
                "params_types.yaml",
                &["--param", "colour=red"],
                &[
                    "unknown pipeline parameter \"colour\"",
                    "inputs are: config, count, flag, items, ratio, text",
                ],
            ),
            case(
                "param without =",
                "params_types.yaml",
                &["--param", "count"],
                &["invalid --param \"count\"", "expected NAME=VALUE"],
            ),
            case(
                "param given twice",
                "params_types.yaml",
                &["-p", "count=1", "-p", "count=2"],
                &["pipeline parameter \"count\" is given more than once"],
            ),
            case(
                "every problem at once",
                "params_types.yaml",
                &["-p", "count=abc", "-p", "flag=maybe", "-p", "oops"],
                &["\"count\"", "\"flag\"", "invalid --param \"oops\""],
            ),
        ],
    );
}

#[test]
fn run_rejects_bad_options() {
    let case = |name, args, stderr: &[&'static str]| Case {
        name,
        file: File::Repo("sleep.yaml"),
        args,
        stderr: stderr.to_vec(),
    };
    check_rejected(
        "run",
        vec![
            case(
                "zero task timeout",
                &["--task-timeout", "0"],
                &["--task-timeout must be a positive number of seconds, got 0"],
            ),
            case(
                "negative task timeout",
                &["--task-timeout=-5"],
                &["--task-timeout must be a positive number of seconds, got -5"],
            ),
            case(
                "task timeout not a number",
                &["--task-timeout", "soon"],
                &["invalid value 'soon' for '--task-timeout <SECONDS>'"],
            ),
            case(
                "zero parallelism",
                &["--parallelism", "0"],
                &["--parallelism must be at least 1"],
            ),
            case("unknown option", &["--fast"], &["unexpected argument '--fast'"]),
        ],
    );
}

/// `weir run --python` with a path that does not exist is an input error: it should be
/// rejected before a run is created, naming the path.
#[test]
fn run_rejects_missing_python() {
    let weir = Weir::new();
    let outcome = weir.run(&pipeline("if_elif_else.yaml"), &["--python", "/no/such/python3"]);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&["/no/such/python3"]);
    assert_eq!(weir.runs(), Vec::<Value>::new(), "a run was created");
}

/// Commands other than `run` given a run, task or option value that does not exist.
#[test]
fn commands_reject_unknown_names() {
    let weir = Weir::new();
    let file = weir.write("echo.yaml", ECHO_PIPELINE);
    weir.run(&file, &["-q", "--name", "known-run"]).assert_code(0);

    let cases: [(&[&str], &[&str]); 8] = [
        (&["runs", "get", "no-such-run"], &["run \"no-such-run\" not found"]),
        (&["runs", "get", "no-such-run", "--json"], &["run \"no-such-run\" not found"]),
        (&["runs", "cancel", "no-such-run"], &["run \"no-such-run\" not found"]),
        (&["logs", "no-such-run"], &["run \"no-such-run\" not found"]),
        (&["logs", "known-run", "no-such-task"], &["no task \"no-such-task\"", "first, second"]),
        (
            &["runs", "list", "--state", "DONE"],
            &["invalid --state \"DONE\"", "PENDING, RUNNING, SUCCEEDED"],
        ),
        (&["runs", "list", "--limit", "many"], &["invalid value 'many' for '--limit <LIMIT>'"]),
        (&["launch"], &["unrecognized subcommand 'launch'"]),
    ];
    for (args, stderr) in cases {
        let outcome = weir.output(args);
        assert_eq!(outcome.code, Some(2), "weir {args:?}: stderr {}", outcome.stderr);
        assert!(outcome.stderr.starts_with("error: "), "weir {args:?}: {}", outcome.stderr);
        for part in stderr {
            assert!(
                outcome.stderr.contains(part),
                "weir {args:?}: {part:?} not in stderr:\n{}",
                outcome.stderr
            );
        }
        assert_eq!(outcome.stdout, "", "weir {args:?} printed to stdout");
    }
    assert_eq!(weir.runs().len(), 1, "the store gained or lost runs");
}

/// A data folder that cannot be created is reported with its path.
#[test]
fn data_dir_that_is_a_file() {
    let weir = Weir::new();
    let not_a_folder = weir.write("plain-file", "not a folder");
    let mut command = weir_command();
    command.arg("--data-dir").arg(&not_a_folder).args(["runs", "list"]);
    let outcome = finish(&mut command);
    outcome.assert_code(2);
    outcome.assert_stderr_has(&["cannot open the state store", "plain-file"]);
}

/// Returns [`CHAIN`] with its middle task running a command that does not exist.
fn missing_command_pipeline() -> String {
    chain_with(&[(
        "componentRef: {name: comp-ok}\n        dependentTasks: [first]",
        "componentRef: {name: comp-missing}\n        dependentTasks: [first]",
    )])
    .replace(
        "components:\n",
        "components:\n  comp-missing:\n    executorLabel: exec-missing\n",
    )
    .replace(
        "  executors:\n",
        &format!(
            "  executors:\n    exec-missing:\n      container: {{image: 'alpine:3.20', command: [{MISSING_COMMAND}, --flag]}}\n"
        ),
    )
}

#[test]
fn missing_command_fails_run() {
    let weir = Weir::new();
    let file = weir.write("missing-command.yaml", &missing_command_pipeline());
    let run = weir.run_json(&file, &["--name", "missing-command"], 1);

    assert_eq!(run["state"], "FAILED");
    let error = text(&run, "error");
    assert!(error.contains("task \"second\" failed"), "run error: {error}");
    assert!(error.contains(MISSING_COMMAND), "run error: {error}");

    // The stored run is what `weir run` printed, with every task in a final state.
    let stored = weir.get("missing-command");
    assert_eq!(stored["run_id"], run["run_id"]);
    assert_eq!(stored["state"], "FAILED");
    assert!(stored["finished_at"].is_string(), "finished_at not set: {stored:#}");
    let states: Vec<(&str, &str)> =
        tasks(&stored).iter().map(|t| (text(t, "path"), text(t, "state"))).collect();
    assert_eq!(states.len(), 3, "tasks: {states:?}");
    assert_eq!(text(task(&stored, "first"), "state"), "SUCCEEDED");
    assert_eq!(text(task(&stored, "second"), "state"), "FAILED");
    // `third` never starts: its upstream task failed.
    assert_eq!(text(task(&stored, "third"), "state"), "SKIPPED");
    assert_eq!(task(&stored, "third")["attempts"], 0);
    for task in tasks(&stored) {
        assert!(task["finished_at"].is_string(), "finished_at not set: {task:#}");
    }

    let second_error = text(task(&stored, "second"), "error");
    assert!(
        second_error.contains(&format!("command '{MISSING_COMMAND}' not found")),
        "error of second: {second_error}"
    );

    let runs = weir.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["state"], json!("FAILED"));
}
