//! Stopping a foreground `weir run`: Ctrl-C (SIGINT to the `weir` process), `weir runs cancel`
//! from another process, and `--task-timeout`.
//!
//! Each test runs `tests/pipelines/sleep.yaml` (or a variant) with a sleep length no other
//! test uses, so the task's processes can be found in /proc by that number, and checks that
//! none is left once `weir` has exited.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Maximum time to wait for the run to reach the sleep task.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Maximum time `weir run` may take to exit after a cancel when tasks stop on SIGTERM.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// `sleep.yaml` with its sleep in a shell that ignores SIGTERM and SIGINT, so only SIGKILL
/// stops it.
fn stubborn_sleep_pipeline() -> String {
    let source = std::fs::read_to_string(pipeline("sleep.yaml")).unwrap_or_default();
    let from = "- sleep \"$0\"";
    assert!(source.contains(from), "sleep.yaml no longer runs `sleep \"$0\"`");
    source.replacen(from, "- trap '' TERM INT; sleep \"$0\"", 1)
}

/// A `weir run` of a sleep pipeline that has reached its sleep process.
struct SleepRun {
    weir: Weir,
    process: Background,
    run_id: String,
    marker: MarkerGuard,
}

/// Starts `weir run FILE -p seconds=<unique>` and waits until the run is RUNNING, the
/// `sleep-for` task has started and its `sleep` process exists.
fn start_sleep(weir: Weir, file: &std::path::Path) -> SleepRun {
    let seconds = unique_seconds().to_string();
    let marker = MarkerGuard { marker: seconds.clone() };
    let mut command = weir.command(&["run"]);
    command.arg(file).args(["--json", "-p", &format!("seconds={seconds}")]);
    let mut process = Background::start(&mut command);

    let run_id = wait_for(START_TIMEOUT, "a RUNNING run in `runs list`", || {
        assert!(!process.has_exited(), "weir run exited before the run started");
        let runs = weir.runs();
        let running = runs.iter().find(|r| r["state"] == "RUNNING")?;
        Some(text(running, "run_id").to_string())
    });
    wait_for(START_TIMEOUT, "sleep-for RUNNING in `runs get`", || {
        let run = weir.get(&run_id);
        let sleep = tasks(&run).iter().find(|t| t["path"] == "sleep-for")?;
        (sleep["state"] == "RUNNING" && sleep["started_at"].is_string()).then_some(())
    });
    wait_for(START_TIMEOUT, "the `sleep` process", || {
        let pids = processes_with_argument(&seconds);
        (!pids.is_empty()).then_some(())
    });
    SleepRun { weir, process, run_id, marker }
}

impl SleepRun {
    /// Waits for `weir run` to exit within `timeout` and checks the canceled outcome that
    /// sleep.py documents, in the printed JSON and in the store. Returns the data folder for
    /// further checks.
    fn assert_canceled(self, timeout: Duration) -> Weir {
        let outcome = self.process.wait(timeout);
        outcome.assert_code(130);
        let printed = outcome.json();
        let stored = self.weir.get(&self.run_id);
        for run in [&printed, &stored] {
            assert_eq!(run["run_id"], self.run_id.as_str());
            assert_eq!(run["state"], "CANCELED", "{run:#}");
            assert!(run["finished_at"].is_string(), "finished_at not set: {run:#}");
            assert_eq!(task(run, "mark")["state"], "SUCCEEDED");
            assert_eq!(output_parameter(task(run, "mark"), "out"), "before");
            assert_eq!(task(run, "sleep-for")["state"], "CANCELED");
            assert_not_run(run, "mark-2");
            assert_eq!(run["outputs"]["parameters"], serde_json::json!({}));
        }
        let listed = self.weir.runs();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["state"], "CANCELED");
        assert_no_process(&self.marker.marker);
        self.weir
    }
}

/// Asserts that `path` never started: no record, or a record in SKIPPED or CANCELED with no
/// attempt.
fn assert_not_run(run: &Value, path: &str) {
    let Some(record) = tasks(run).iter().find(|t| t["path"] == path) else {
        return;
    };
    let state = text(record, "state");
    assert!(state == "SKIPPED" || state == "CANCELED", "{path} is {state}, expected not run");
    assert_eq!(record["attempts"], 0, "{path} was started: {record:#}");
}

/// Asserts that no process carries `marker`, allowing a moment for killed processes to be
/// reaped by their parent.
fn assert_no_process(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let pids = processes_with_argument(marker);
        if pids.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "task processes with argument {marker} still run after weir exited: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_cancels_run() {
    let run = start_sleep(Weir::new(), &pipeline("sleep.yaml"));
    run.process.signal(libc::SIGINT);
    let run_id = run.run_id.clone();
    let weir = run.assert_canceled(CANCEL_TIMEOUT);

    let log = weir.output(&["logs", &run_id]);
    log.assert_code(0);
    log.assert_stdout_has(&["task sleep-for started (attempt 1)", "run CANCELED"]);
}

#[test]
fn runs_cancel_from_other_process() {
    let run = start_sleep(Weir::new(), &pipeline("sleep.yaml"));
    let cancel = run.weir.output(&["runs", "cancel", &run.run_id[..8]]);
    cancel.assert_code(0);
    // `runs cancel` waits until the process running the run has stopped it.
    assert_eq!(cancel.stdout, format!("Run {} is canceled.\n", run.run_id));

    let run_id = run.run_id.clone();
    let weir = run.assert_canceled(CANCEL_TIMEOUT);

    // Canceling again reports the final state and changes nothing.
    let again = weir.output(&["runs", "cancel", &run_id, "--json"]);
    again.assert_code(0);
    assert_eq!(again.json(), serde_json::json!({"run_id": run_id, "state": "CANCELED"}));
}

/// A task that ignores SIGTERM is killed after the grace period, and the run still ends
/// CANCELED.
#[test]
fn sigint_kills_task_ignoring_sigterm() {
    let weir = Weir::new();
    let file = weir.write("stubborn.yaml", &stubborn_sleep_pipeline());
    let run = start_sleep(weir, &file);
    run.process.signal(libc::SIGINT);
    // The executor waits 2 s between SIGTERM and SIGKILL.
    run.assert_canceled(CANCEL_TIMEOUT + Duration::from_secs(2));
}

/// A second Ctrl-C exits at once. It must still stop the task processes, which run in their
/// own process groups and so get no SIGINT from the terminal, and must not leave the run
/// CANCELING in the store.
#[test]
fn second_sigint_stops_tasks() {
    let weir = Weir::new();
    let file = weir.write("stubborn.yaml", &stubborn_sleep_pipeline());
    let mut run = start_sleep(weir, &file);
    run.process.signal(libc::SIGINT);
    // Wait until the first signal has been handled: the run is CANCELING.
    let run_id = run.run_id.clone();
    wait_for(CANCEL_TIMEOUT, "the run to be CANCELING", || {
        (run.weir.get(&run_id)["state"] == "CANCELING").then_some(())
    });
    assert!(!run.process.has_exited(), "weir exited before the second signal");

    let second = Instant::now();
    run.process.signal(libc::SIGINT);
    let outcome = run.process.wait(CANCEL_TIMEOUT);
    assert_eq!(outcome.code, Some(130), "stderr:\n{}", outcome.stderr);
    assert!(
        second.elapsed() < Duration::from_millis(1500),
        "the second Ctrl-C took {:?}",
        second.elapsed()
    );

    let marker = run.marker.marker.clone();
    let stored = run.weir.get(&run_id);
    assert_no_process(&marker);
    assert_eq!(stored["state"], "CANCELED", "the store still shows the run as {}", stored["state"]);
}

#[test]
fn task_timeout_fails_run() {
    let weir = Weir::new();
    let seconds = unique_seconds().to_string();
    let marker = MarkerGuard { marker: seconds.clone() };
    let started = Instant::now();
    let run = weir.run_json(
        &pipeline("sleep.yaml"),
        &["--task-timeout", "1", "-p", &format!("seconds={seconds}")],
        1,
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "the run took {elapsed:?}");

    assert_eq!(run["state"], "FAILED");
    let error = text(&run, "error");
    assert!(error.contains("task \"sleep-for\" failed"), "run error: {error}");
    assert!(error.contains("timed out after 1.0 s"), "run error: {error}");
    assert_eq!(task(&run, "mark")["state"], "SUCCEEDED");
    let sleep = task(&run, "sleep-for");
    assert_eq!(sleep["state"], "FAILED");
    assert!(text(sleep, "error").contains("timed out after 1.0 s"), "{sleep:#}");
    assert_not_run(&run, "mark-2");
    assert_no_process(&marker.marker);
}

#[test]
fn cancel_finished_run() {
    let weir = Weir::new();
    let run = weir.run_json(&pipeline("sleep.yaml"), &["-p", "seconds=0", "--name", "quick"], 0);
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(run["outputs"]["parameters"], serde_json::json!({"Output": "after"}));

    let outcome = weir.output(&["runs", "cancel", "quick"]);
    outcome.assert_code(0);
    assert_eq!(outcome.stdout, format!("Run {} already ended: SUCCEEDED.\n", text(&run, "run_id")));
    assert_eq!(weir.get("quick")["state"], "SUCCEEDED");
}
