//! Runs the real `weir` binary on the compiled KFP pipelines of the shared corpus
//! (`<shared>/corpus/kfp-ir`) that Weir runs, and checks each run's final state, the exit
//! code, and for several pipelines exact output values. `docs/compatibility.md` lists every
//! corpus file with its result; this test covers its "runs" and "fails by design" rows except
//! the ones named in [`LEFT_OUT`].
//!
//! The shared folder is `WEIR_SHARED`, or `../shared` beside the repository. Python components
//! need a `python3` with kfp: the interpreter named by `WEIR_TEST_PYTHON`, or else the
//! repository's `.venv`. Its folder goes first on the child's `PATH`, because `weir` runs
//! Python components with the `python3` on `PATH`.
//!
//! Every run gets its own data folder and working folder. Runs go three at a time, and every
//! failure is collected so one test run reports all of them.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Number of `weir run` processes at a time.
const PARALLEL_RUNS: usize = 3;
/// Maximum time one `weir run` may take before the case fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(150);
/// Environment variable that `env-var.yaml` reads back through its `env_var` argument.
const ENV_PROBE: (&str, &str) = ("WEIR_CORPUS_ENV_PROBE", "probe-value");
/// Text of `{tmp}/data.txt`, the file that `input_artifact.yaml` imports.
const DATA_TEXT: &str = "hello data\n";

/// Corpus files that run (or fail by design) but are not in [`CASES`], with the reason.
const LEFT_OUT: &[(&str, &str)] = &[
    ("component_with_pip_install.yaml", "pip-installs yapf into the test's Python environment"),
    ("component_with_pip_index_urls.yaml", "pip-installs yapf into the test's Python environment"),
    ("iris_pipeline_compiled.yaml", "pip-installs pinned pandas and scikit-learn over the venv's"),
    ("notebook_component_mixed.yaml", "pip-installs nbclient and a Jupyter kernel"),
    ("notebook_component_simple.yaml", "pip-installs nbclient and a Jupyter kernel"),
    ("pipeline_with_submit_request.yaml", "pip-installs requests"),
    ("log_streaming_compiled.yaml", "sleeps for a minute"),
    ("long-running.yaml", "sleeps for five minutes"),
    (
        "frontend-test__pipeline_with_loops_and_conditions.yaml",
        "27 tasks; pipeline_with_loops_and_conditions.yaml covers the same graph",
    ),
    (
        "pipeline_with_loops_and_conditions.json",
        "27 tasks; pipeline_with_loops_and_conditions.yaml covers the same graph",
    ),
];

/// One corpus run: the file, its `--param` arguments, the expected run state and the checks
/// on the run's JSON outcome. `{tmp}` in an argument is the case's working folder.
struct Case {
    file: &'static str,
    args: &'static [(&'static str, &'static str)],
    state: &'static str,
    checks: &'static [Check],
}

/// An exact value in the `weir run --json` outcome. Values are JSON text.
enum Check {
    /// A pipeline output parameter.
    Output(&'static str, &'static str),
    /// The final state of the task at a task path.
    TaskState(&'static str, &'static str),
    /// A resolved input parameter of a task.
    TaskInput(&'static str, &'static str, &'static str),
    /// An output parameter of a task.
    TaskOutput(&'static str, &'static str, &'static str),
    /// The text of the file of a task's (first) output artifact.
    ArtifactText(&'static str, &'static str, &'static str),
}

use Check::*;

const SUCCEEDED: &str = "SUCCEEDED";
const FAILED: &str = "FAILED";

/// Shorthand for a case with no arguments and no checks beyond the state.
const fn plain(file: &'static str) -> Case {
    Case { file, args: &[], state: SUCCEEDED, checks: &[] }
}

const CASES: &[Case] = &[
    Case {
        file: "apiserver-template__hello_world.yaml",
        args: &[("y", "hello")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "arguments_parameters.yaml",
        args: &[("param2", "world")],
        state: SUCCEEDED,
        checks: &[],
    },
    plain("artifact_cache.yaml"),
    plain("artifact_crust.yaml"),
    plain("artifacts_complex.yaml"),
    Case {
        file: "artifacts_simple.yaml",
        args: &[],
        state: SUCCEEDED,
        // The doubled loop items 2, 4 and 6 sum to 12. add-container reads them through the
        // whole-list placeholder.
        checks: &[
            ArtifactText("add", "out_dataset", "12"),
            ArtifactText("add-container", "out_dataset", "12"),
        ],
    },
    Case {
        file: "component_with_env_variable.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""env_var_value""#)],
    },
    plain("component_with_optional_inputs.yaml"),
    Case {
        file: "component_with_task_final_status_GH-12033.yaml",
        args: &[(
            "status",
            r#"{"state": "SUCCEEDED", "pipelineJobResourceName": "runs/local", "pipelineTaskName": "exit-handler-1", "error": {}}"#,
        )],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "concat_message.yaml",
        args: &[("message1", "Hello "), ("message2", "World!")],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""Hello World!""#)],
    },
    Case {
        file: "conditional_producer_and_consumers.yaml",
        args: &[],
        state: SUCCEEDED,
        // threshold 2 keeps loop items 2 and 3, doubled to 4 and 6.
        checks: &[TaskOutput("condition-4/add", "Output", "10")],
    },
    plain("config_map_as_env.yaml"),
    plain("container_component_with_no_inputs.yaml"),
    plain("container_no_input.yaml"),
    Case {
        file: "dict_input.yaml",
        args: &[("struct", r#"{"a": 1, "b": "two"}"#)],
        state: SUCCEEDED,
        checks: &[],
    },
    plain("embedded_artifact.yaml"),
    Case {
        file: "env-var.yaml",
        args: &[("env_var", ENV_PROBE.0)],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""probe-value""#)],
    },
    Case { file: "fail_v2.yaml", args: &[], state: FAILED, checks: &[TaskState("fail", FAILED)] },
    plain("fast_artifact.yaml"),
    Case {
        file: "frontend-mock__lightweight_python_functions_v2_pipeline_rev.yaml",
        args: &[("message", "hello")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "frontend-test__lightweight_python_functions_v2_pipeline_rev.yaml",
        args: &[("message", "hello")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "hello-world-with-returning-component.yaml",
        args: &[("message", "hello")],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""hello""#)],
    },
    plain("hello-world.yaml"),
    plain("hello_world.yaml"),
    plain("if_elif_else_complex.yaml"),
    plain("if_elif_else_with_oneof_parameters.yaml"),
    plain("if_else_with_oneof_artifacts.yaml"),
    plain("if_else_with_oneof_parameters.yaml"),
    plain("image_pull_secrets.yaml"),
    plain("init_container.yaml"),
    Case {
        file: "input_artifact.yaml",
        args: &[("data", "{tmp}/data.txt")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "lightweight_python_functions_pipeline.yaml",
        args: &[("message", "hello")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "lightweight_python_functions_with_outputs.yaml",
        args: &[
            ("first_message", "Hello"),
            ("second_message", " World"),
            ("first_number", "10"),
            ("second_number", "20"),
        ],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "local_execution_pipeline_with_ignore_upstream_failure.yaml",
        args: &[("marker_path", "{tmp}/marker.txt")],
        state: FAILED,
        checks: &[
            TaskState("fail-always", FAILED),
            TaskOutput("write-marker", "Output", r#""cleanup_ran""#),
        ],
    },
    Case {
        file: "local_execution_pipeline_with_retry.yaml",
        args: &[("counter_path", "{tmp}/counter.txt")],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""attempt=2""#)],
    },
    plain("loop_consume_upstream.yaml"),
    plain("missing_kubernetes_optional_inputs.yaml"),
    plain("multiple_artifacts_namedtuple.yaml"),
    plain("multiple_parameters_namedtuple.yaml"),
    plain("nested_pipeline_opt_inputs_nil_compiled.yaml"),
    plain("nested_pipeline_opt_inputs_parent_level_compiled.yaml"),
    Case {
        file: "nested_return.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", r#"[{"A_a": "1", "B_b": "2"}, {"A_a": "10", "B_b": "20"}]"#)],
    },
    Case {
        file: "nested_with_parameters.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", "[[4, 6, 8], [6, 8, 10], [8, 10, 12]]")],
    },
    plain("node_selector.yaml"),
    plain("nodeaffinity.yaml"),
    plain("nvidia_gpu_scheduling_check.yaml"),
    plain("output_metrics.yaml"),
    plain("parallel_for_secret.yaml"),
    plain("parameter_cache.yaml"),
    Case {
        file: "parameters_complex.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", "306")],
    },
    Case {
        file: "parameters_simple.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", "[2, 4, 6]"), TaskOutput("add-container", "sum", "12")],
    },
    Case {
        file: "pipeline_as_exit_task.yaml",
        args: &[],
        state: FAILED,
        checks: &[
            TaskState("exit-handler-1/fail-op", FAILED),
            TaskOutput("conditional-notification/get-run-state", "Output", r#""FAILED""#),
            TaskState("conditional-notification/condition-1/print-op", SUCCEEDED),
        ],
    },
    plain("pipeline_in_pipeline.yaml"),
    plain("pipeline_in_pipeline_complex.yaml"),
    plain("pipeline_in_pipeline_loaded_from_yaml.yaml"),
    Case {
        file: "pipeline_producer_consumer.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", "36")],
    },
    plain("pipeline_with_after.yaml"),
    Case {
        file: "pipeline_with_artifact_custom_path.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[
            ArtifactText("component-output-artifact", "out_dataset", "Hello, World!"),
            TaskOutput("validate-input-artifact", "Output", "true"),
        ],
    },
    Case {
        file: "pipeline_with_collected_artifacts.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[Output("Output", r#""0,1,2""#)],
    },
    plain("pipeline_with_condition.yaml"),
    plain("pipeline_with_dynamic_importer_metadata.yaml"),
    Case {
        file: "pipeline_with_exit_handler.yaml",
        args: &[],
        state: FAILED,
        checks: &[TaskState("exit-handler-1/fail-op", FAILED), TaskState("print-op", SUCCEEDED)],
    },
    Case {
        file: "pipeline_with_importer_workspace.yaml",
        args: &[],
        state: SUCCEEDED,
        checks: &[
            Output("dir_result", r#""part-000.txt,part-001.txt""#),
            Output("train_result", r#""123""#),
        ],
    },
    plain("pipeline_with_loops.yaml"),
    Case {
        file: "pipeline_with_loops_and_conditions.yaml",
        args: &[],
        state: SUCCEEDED,
        // A dict loop item reaches a `str` input as its JSON text.
        checks: &[TaskInput(
            "condition-1/for-loop-2/iteration-0/for-loop-9/iteration-0/print-text-5",
            "msg",
            r#""{\"A_a\":\"heads\",\"B_b\":[\"A\",\"B\"]}""#,
        )],
    },
    Case {
        file: "pipeline_with_multiple_exit_handlers.yaml",
        args: &[],
        state: FAILED,
        checks: &[
            TaskState("exit-handler-1", FAILED),
            TaskState("print-op", SUCCEEDED),
            TaskState("print-op-3", SUCCEEDED),
            TaskState("print-op-5", SUCCEEDED),
        ],
    },
    plain("pipeline_with_nested_conditions_yaml.yaml"),
    plain("pipeline_with_nested_loops.yaml"),
    plain("pipeline_with_only_display_name.yaml"),
    plain("pipeline_with_outputs.yaml"),
    plain("pipeline_with_parallelfor_list_artifacts_GH-12033.yaml"),
    Case {
        file: "pipeline_with_parallelfor_parallelism.yaml",
        args: &[("loop_parameter", r#"["a"]"#)],
        state: SUCCEEDED,
        checks: &[],
    },
    plain("pipeline_with_params_containing_format.yaml"),
    plain("pipeline_with_reused_component.yaml"),
    plain("pipeline_with_string_machine_fields_pipeline_input.yaml"),
    Case {
        file: "pipeline_with_task_final_status.yaml",
        args: &[],
        state: FAILED,
        checks: &[TaskState("exit-handler-1/fail-op", FAILED), TaskState("exit-op", SUCCEEDED)],
    },
    plain("pipeline_with_task_final_status_yaml.yaml"),
    Case {
        file: "pipeline_with_task_using_ignore_upstream_failure.yaml",
        args: &[],
        state: FAILED,
        checks: &[TaskState("fail-op", FAILED), TaskInput("print-op", "message", r#""default""#)],
    },
    plain("pipeline_with_utils.yaml"),
    plain("pipelinespec.yaml"),
    Case {
        file: "preprocess.yaml",
        args: &[
            ("message", "hello"),
            ("input_dict_parameter", r#"{"a": 1}"#),
            ("input_list_parameter", "[1, 2]"),
        ],
        state: SUCCEEDED,
        checks: &[
            Output("output_parameter_path", r#""hello""#),
            Output("output_bool_parameter_path", "true"),
            Output("output_dict_parameter_path", r#"{"a": 1}"#),
            Output("output_list_parameter_path", "[1, 2]"),
        ],
    },
    plain("producer_consumer_param_pipeline.yaml"),
    Case {
        file: "protobuf_value_params_v2.json",
        args: &[
            ("bool_param", "true"),
            ("double_param", "3.5"),
            ("int_param", "7"),
            ("list_int_param", "[1, 2, 3]"),
            ("list_string_param", r#"["a", "b"]"#),
            ("string_param", "hello"),
            ("struct_param", r#"{"k": "v"}"#),
        ],
        state: SUCCEEDED,
        checks: &[],
    },
    plain("pythonic_artifacts_with_multiple_returns.yaml"),
    plain("sample_pipeline.yaml"),
    plain("secret_as_env.yaml"),
    plain("secret_as_vol.yaml"),
    plain("security_context.yaml"),
    Case {
        file: "sequential.yaml",
        args: &[("param1", "hello"), ("param2", "world")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "sequential_v1.yaml",
        args: &[("param1", "hello"), ("param2", "world")],
        state: SUCCEEDED,
        checks: &[],
    },
    Case {
        file: "take_nap_compiled.yaml",
        args: &[("naptime_secs", "1")],
        state: SUCCEEDED,
        checks: &[TaskOutput("take-nap", "Output", r#""I'm awake now. Did I snore?""#)],
    },
    Case {
        file: "take_nap_pipeline_root_compiled.yaml",
        args: &[("naptime_secs", "1")],
        state: SUCCEEDED,
        checks: &[],
    },
    plain("timeout.yaml"),
    plain("toleration.yaml"),
    plain("two_step_pipeline_containerized.yaml"),
    Case { file: "v2-hello-world.yaml", args: &[("text", "hello")], state: SUCCEEDED, checks: &[] },
];

#[test]
fn corpus_pipelines_run() {
    let weir = PathBuf::from(env!("CARGO_BIN_EXE_weir"));
    let corpus = shared_folder().join("corpus/kfp-ir");
    assert!(
        corpus.is_dir(),
        "corpus folder {} not found; set WEIR_SHARED to the shared folder",
        corpus.display()
    );
    let python_bin = python_bin_dir();
    let path = child_path(&python_bin);

    let queue = Mutex::new(CASES.iter().collect::<VecDeque<_>>());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_RUNS {
            scope.spawn(|| loop {
                let Some(case) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    break;
                };
                if let Err(problem) = run_case(&weir, &corpus, &path, case) {
                    failures.lock().unwrap_or_else(|e| e.into_inner()).push(problem);
                }
            });
        }
    });

    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(
        failures.is_empty(),
        "{} of {} corpus runs failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_cases_name_existing_files_once() {
    let corpus = shared_folder().join("corpus/kfp-ir");
    let mut seen = std::collections::BTreeSet::new();
    let names = CASES.iter().map(|case| case.file).chain(LEFT_OUT.iter().map(|(file, _)| *file));
    for name in names {
        assert!(seen.insert(name), "{name} is listed twice");
        assert!(corpus.join(name).is_file(), "{name} is not in {}", corpus.display());
    }
}

#[test]
fn corpus_cases_match_compatibility_table() {
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md");
    let text = std::fs::read_to_string(&table)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", table.display()));
    // Rows look like "| `file.yaml` | runs | `args` | note |".
    let mut documented = std::collections::BTreeMap::new();
    for row in text.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let file = cells[0].trim_start_matches("| ").trim_matches('`');
        let state = match cells.get(1) {
            Some(&"runs") => SUCCEEDED,
            Some(&"fails by design") => FAILED,
            _ => continue,
        };
        documented.insert(file, state);
    }

    let left_out: Vec<&str> = LEFT_OUT.iter().map(|(file, _)| *file).collect();
    let untested: Vec<&&str> = documented
        .keys()
        .filter(|file| !left_out.contains(file) && !CASES.iter().any(|case| case.file == **file))
        .collect();
    assert!(
        untested.is_empty(),
        "runnable in the table but in neither CASES nor LEFT_OUT: {untested:?}"
    );
    for case in CASES {
        let state = documented.get(case.file).copied().unwrap_or("<not runnable in the table>");
        assert_eq!(case.state, state, "{}: expected state in CASES and in the table", case.file);
    }
    for file in left_out {
        assert!(
            documented.contains_key(file),
            "{file} is in LEFT_OUT but not runnable in the table"
        );
    }
}

/// Runs one case and returns a description of everything that did not match.
fn run_case(weir: &Path, corpus: &Path, path: &OsString, case: &Case) -> Result<(), String> {
    let work =
        tempfile::tempdir().map_err(|e| format!("{}: cannot create a temp dir: {e}", case.file))?;
    let tmp = work.path().to_string_lossy().into_owned();
    std::fs::write(work.path().join("data.txt"), DATA_TEXT)
        .map_err(|e| format!("{}: cannot write data.txt: {e}", case.file))?;

    let mut command = Command::new(weir);
    command
        .arg("--data-dir")
        .arg(work.path().join("data"))
        .arg("run")
        .arg(corpus.join(case.file))
        .arg("--json")
        .arg("--quiet");
    for (name, value) in case.args {
        command.arg("--param").arg(format!("{name}={}", value.replace("{tmp}", &tmp)));
    }
    for variable in ["WEIR_DATA_DIR", "WEIR_LOG", "WEIR_PYTHON", "WEIR_CACHE", "RUST_LOG"] {
        command.env_remove(variable);
    }
    command.env("PATH", path).env(ENV_PROBE.0, ENV_PROBE.1).current_dir(work.path());

    let started = Instant::now();
    let (status, stdout, stderr) =
        run_with_timeout(&mut command, RUN_TIMEOUT).map_err(|e| format!("{}: {e}", case.file))?;
    let context = || {
        format!(
            "{} ({:.1} s, exit {status}); stderr:\n{}",
            case.file,
            started.elapsed().as_secs_f64(),
            tail(&stderr, 15)
        )
    };

    let outcome: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("{}: stdout is not JSON ({e})", context()))?;
    let mut problems = Vec::new();
    let state = outcome["state"].as_str().unwrap_or("<none>");
    if state != case.state {
        problems.push(format!("run state {state}, expected {}", case.state));
        problems.extend(failed_tasks(&outcome));
    }
    let expected_code = if case.state == SUCCEEDED { 0 } else { 1 };
    if status.code() != Some(expected_code) {
        problems.push(format!("exit code {:?}, expected {expected_code}", status.code()));
    }
    for check in case.checks {
        if let Err(problem) = apply(check, &outcome) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n  {}", context(), problems.join("\n  ")))
    }
}

/// Compares one checked value with the run outcome.
fn apply(check: &Check, outcome: &Value) -> Result<(), String> {
    let (what, actual, expected) = match *check {
        Output(name, expected) => (
            format!("pipeline output {name}"),
            outcome["outputs"]["parameters"][name].clone(),
            expected,
        ),
        TaskState(path, expected) => {
            let task = find_task(outcome, path)?;
            (format!("state of task {path}"), task["state"].clone(), expected)
        }
        TaskInput(path, name, expected) => {
            let task = find_task(outcome, path)?;
            (
                format!("input {name} of task {path}"),
                task["inputs"]["parameters"][name].clone(),
                expected,
            )
        }
        TaskOutput(path, name, expected) => {
            let task = find_task(outcome, path)?;
            (
                format!("output {name} of task {path}"),
                task["outputs"]["parameters"][name].clone(),
                expected,
            )
        }
        ArtifactText(path, name, expected) => {
            let task = find_task(outcome, path)?;
            let uri = task["outputs"]["artifacts"][name][0]["uri"].as_str().unwrap_or_default();
            let text = std::fs::read_to_string(uri)
                .map_err(|e| format!("artifact {name} of task {path}: cannot read {uri:?}: {e}"))?;
            (format!("text of artifact {name} of task {path}"), Value::String(text), expected)
        }
    };
    let expected: Value = match check {
        ArtifactText(..) | TaskState(..) => Value::String(expected.to_string()),
        _ => serde_json::from_str(expected)
            .map_err(|e| format!("{what}: expected value {expected:?} is not JSON: {e}"))?,
    };
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what} is {actual}, expected {expected}"))
    }
}

fn find_task<'a>(outcome: &'a Value, path: &str) -> Result<&'a Value, String> {
    let tasks = outcome["tasks"].as_array().map(Vec::as_slice).unwrap_or_default();
    tasks.iter().find(|task| task["path"] == path).ok_or_else(|| format!("no task at path {path}"))
}

/// Describes the tasks that did not succeed, with the first lines of their errors.
fn failed_tasks(outcome: &Value) -> Vec<String> {
    let tasks = outcome["tasks"].as_array().map(Vec::as_slice).unwrap_or_default();
    tasks
        .iter()
        .filter(|task| task["state"] == "FAILED")
        .map(|task| {
            let error = task["error"].as_str().unwrap_or_default();
            format!("task {} FAILED: {}", task["path"], tail(error, 6))
        })
        .collect()
}

/// Runs `command` to its end or until `timeout`, then kills it. Returns the exit status,
/// stdout and stderr.
fn run_with_timeout(
    command: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("failed to start weir: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let out_reader = std::thread::spawn(move || read_all(&mut stdout));
    let err_reader = std::thread::spawn(move || read_all(&mut stderr));

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("weir run did not finish within {timeout:?}; killed it"));
            }
            Err(e) => return Err(format!("failed to wait for weir: {e}")),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}

fn read_all(reader: &mut impl std::io::Read) -> String {
    let mut text = String::new();
    let _ = reader.read_to_string(&mut text);
    text
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn shared_folder() -> PathBuf {
    match std::env::var_os("WEIR_SHARED") {
        Some(folder) => PathBuf::from(folder),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// Returns the folder of the Python interpreter that runs Python components, checking that
/// it exists and imports kfp.
fn python_bin_dir() -> PathBuf {
    let python = match std::env::var_os("WEIR_TEST_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    };
    assert!(
        python.is_file(),
        "Python interpreter {} not found; create the environment with scripts/python_env.sh \
         or set WEIR_TEST_PYTHON to a python with kfp installed",
        python.display()
    );
    let imports_kfp = Command::new(&python)
        .args(["-c", "import kfp"])
        .env("_KFP_RUNTIME", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        imports_kfp,
        "{} cannot import kfp; install requirements.txt into it",
        python.display()
    );
    python.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `PATH` for the child: the Python folder first, then the caller's `PATH`.
fn child_path(python_bin: &Path) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let folders = std::iter::once(python_bin.to_path_buf()).chain(std::env::split_paths(&rest));
    std::env::join_paths(folders).unwrap_or(rest)
}
