//! Runs over HTTP: create from an inline spec or a pipeline version, task details, listing,
//! terminate, retry, archive, delete, artifacts and logs, and the errors of each.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

const RUNS: &str = "/apis/v2beta1/runs";

fn by_path<'a>(run: &'a Value, path: &str) -> &'a Value {
    let found: Vec<&Value> = tasks(run).iter().filter(|t| t["path"] == path).collect();
    match found.as_slice() {
        [task] => task,
        _ => panic!("expected one task at {path}, found {}: {run:#}", found.len()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_inline_spec_succeeds_with_task_details() {
    let server = TestServer::start().await;
    let run_id = server.create_run("echo_loop.yaml", json!({"msg": "hi"})).await;
    let run = server.wait_for_state(&run_id, "SUCCEEDED").await;

    assert_eq!(run["display_name"], "test echo_loop.yaml");
    assert_eq!(run["runtime_config"]["parameters"], json!({"msg": "hi", "epochs": 1}));
    assert_eq!(run["pipeline_spec"]["pipelineInfo"]["name"], "echo-loop");
    assert!(run.get("error").is_none(), "{run:#}");
    let history: Vec<&str> = run["state_history"]
        .as_array()
        .map(|h| h.iter().filter_map(|s| s["state"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(history, ["PENDING", "RUNNING", "SUCCEEDED"]);
    assert!(run["finished_at"].is_string(), "{run:#}");

    // The run went into the experiment named Default.
    let experiment_id = run["experiment_id"].as_str().unwrap_or_default();
    let experiment = server.get(&format!("/apis/v2beta1/experiments/{experiment_id}")).await;
    experiment.assert_status(200);
    assert_eq!(experiment.json()["display_name"], "Default");

    assert_eq!(tasks(&run).len(), 6, "echo, the loop, 2 iterations and 2 echoes: {run:#}");
    let echo = by_path(&run, "echo");
    assert_eq!(echo["state"], "SUCCEEDED");
    assert_eq!(echo["display_name"], "echo");
    assert_eq!(echo["input_parameters"], json!({"msg": "hi"}));
    assert_eq!(echo["output_parameters"], json!({"out": "hi"}));
    assert_eq!(echo["pod_name"], echo["task_id"]);
    assert!(echo["start_time"].is_string(), "{echo:#}");
    assert!(echo["end_time"].is_string(), "{echo:#}");
    assert_eq!(echo["kind"], "container");

    let the_loop = by_path(&run, "for-loop-2");
    assert_eq!(the_loop["kind"], "loop");
    let iterations = the_loop["child_tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(iterations.len(), 2, "{the_loop:#}");
    for index in 0..2 {
        let iteration = by_path(&run, &format!("for-loop-2/iteration-{index}"));
        assert_eq!(iteration["parent_task_id"], the_loop["task_id"]);
        let body = by_path(&run, &format!("for-loop-2/iteration-{index}/echo-2"));
        assert_eq!(body["parent_task_id"], iteration["task_id"]);
        assert_eq!(
            iteration["child_tasks"],
            json!([{"task_id": body["task_id"], "pod_name": body["task_id"]}])
        );
        assert_eq!(body["input_parameters"], json!({"msg": "hi"}));
        assert_eq!(body["state"], "SUCCEEDED");
    }

    let log = server.get(&format!("{RUNS}/{run_id}/tasks/echo/logs")).await;
    log.assert_status(200);
    assert!(log.content_type.starts_with("text/plain"), "{}", log.content_type);
    assert!(log.text().contains("hi\n"), "{}", log.text());
    let run_log = server.get(&format!("{RUNS}/{run_id}/logs")).await;
    run_log.assert_status(200);
    assert!(run_log.text().contains("run SUCCEEDED"), "{}", run_log.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_from_pipeline_version() {
    let server = TestServer::start().await;
    let pipeline_id = server.upload_pipeline("echo", "echo_loop.yaml").await;
    let versions =
        server.get(&format!("/apis/v2beta1/pipelines/{pipeline_id}/versions")).await.json();
    let version_id = versions["pipeline_versions"][0]["pipeline_version_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let body = json!({
        "display_name": "from version",
        "pipeline_version_reference": {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": version_id,
        },
        "runtime_config": {"parameters": {"msg": "versioned"}},
    });
    let created = server.post(RUNS, &body).await;
    created.assert_status(200);
    let run_id = created.text_field("run_id");
    let run = server.wait_for_state(&run_id, "SUCCEEDED").await;
    assert_eq!(
        run["pipeline_version_reference"],
        json!({"pipeline_id": pipeline_id, "pipeline_version_id": version_id})
    );
    assert!(run.get("pipeline_spec").is_none(), "a versioned run refers to its version: {run:#}");
    assert_eq!(by_path(&run, "echo")["output_parameters"], json!({"out": "versioned"}));

    // Only the pipeline id: the newest version runs.
    let body = json!({
        "display_name": "newest",
        "pipeline_version_reference": {"pipeline_id": pipeline_id},
        "runtime_config": {"parameters": {"msg": "x"}},
    });
    let created = server.post(RUNS, &body).await;
    created.assert_status(200);
    assert_eq!(
        created.json()["pipeline_version_reference"]["pipeline_version_id"],
        version_id.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_create_errors() {
    let server = TestServer::start().await;

    let no_pipeline = server.post(RUNS, &json!({"display_name": "r"})).await;
    no_pipeline.assert_error(
        400,
        3,
        "the run needs a pipeline: set pipeline_spec, or pipeline_version_reference with \
         pipeline_id and pipeline_version_id",
    );

    let bad_argument = json!({
        "display_name": "r",
        "pipeline_spec": pipeline_spec("echo_loop.yaml"),
        "runtime_config": {"parameters": {"nope": 1, "epochs": "many"}},
    });
    let response = server.post(RUNS, &bad_argument).await;
    response.assert_status(400);
    let message = response.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("invalid run arguments: "), "{message}");
    assert!(message.contains("unknown pipeline parameter \"nope\""), "{message}");
    assert!(message.contains("\"epochs\""), "{message}");

    let invalid_spec =
        json!({"display_name": "r", "pipeline_spec": {"pipelineInfo": {"name": "x"}}});
    let response = server.post(RUNS, &invalid_spec).await;
    response.assert_error(
        400,
        3,
        "pipeline_spec: not a KFP pipeline spec: missing `root`; found top-level keys pipelineInfo",
    );

    let missing_version = json!({
        "display_name": "r",
        "pipeline_version_reference": {"pipeline_id": "p", "pipeline_version_id": "v-missing"},
    });
    server.post(RUNS, &missing_version).await.assert_status(404);

    let missing_experiment = json!({
        "display_name": "r",
        "experiment_id": "no-such-experiment",
        "pipeline_spec": pipeline_spec("sleepy.yaml"),
    });
    server.post(RUNS, &missing_experiment).await.assert_status(404);

    server.get(&format!("{RUNS}/no-such-run")).await.assert_error(
        404,
        5,
        "run \"no-such-run\" not found",
    );
    server.post(&format!("{RUNS}/no-such-run:terminate"), &json!({})).await.assert_status(404);
    server.delete(&format!("{RUNS}/no-such-run")).await.assert_status(404);

    let bad_filter = server.get(&format!("{RUNS}?filter={}", encode("[1, 2]"))).await;
    bad_filter.assert_error(
        400,
        3,
        "invalid filter \"[1, 2]\": expected a JSON object with `predicates`",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_terminate_sleeping() {
    let server = TestServer::start().await;
    let run_id = server.create_run("sleepy.yaml", json!({"seconds": 60})).await;
    server.wait_for_state(&run_id, "RUNNING").await;
    // Wait until the sleep process has started.
    for _ in 0..200 {
        let run = server.get(&format!("{RUNS}/{run_id}")).await.json();
        if run["run_details"]["task_details"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["state"] == "RUNNING"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let started = std::time::Instant::now();
    let terminated = server.post(&format!("{RUNS}/{run_id}:terminate"), &json!({})).await;
    terminated.assert_status(200);
    let run = server.wait_for_state(&run_id, "CANCELED").await;
    assert!(started.elapsed().as_secs() < 20, "terminate took {:?}", started.elapsed());
    assert_eq!(run["error"]["code"], 1, "{run:#}");
    assert_eq!(by_path(&run, "sleeper")["state"], "CANCELED");

    // A finished run cannot be terminated or retried unless it failed or was canceled.
    let done = server.create_run("echo_loop.yaml", json!({})).await;
    server.wait_for_state(&done, "SUCCEEDED").await;
    server.post(&format!("{RUNS}/{done}:terminate"), &json!({})).await.assert_error(
        400,
        9,
        &format!("run {done:?} cannot be terminated because it is already SUCCEEDED"),
    );
    server.post(&format!("{RUNS}/{done}:retry"), &json!({})).await.assert_error(
        400,
        9,
        &format!("run {done:?} is SUCCEEDED; only FAILED or CANCELED runs can be retried"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_retry_reruns_failed_task() {
    let server = TestServer::start().await;
    let marker = server.data_dir().join("marker.txt");
    let run_id =
        server.create_run("needs_file.yaml", json!({"path": marker.display().to_string()})).await;
    let failed = server.wait_for_state(&run_id, "FAILED").await;
    let first = by_path(&failed, "echo").clone();
    let check = by_path(&failed, "require-file");
    assert_eq!(first["state"], "SUCCEEDED");
    assert_eq!(check["state"], "FAILED");
    assert_eq!(check["error"]["code"], 2, "{check:#}");
    assert_eq!(failed["error"]["code"], 2, "{failed:#}");

    if let Err(e) = std::fs::write(&marker, "ok") {
        panic!("cannot write {}: {e}", marker.display());
    }
    server.post(&format!("{RUNS}/{run_id}:retry"), &json!({})).await.assert_status(200);
    let retried = server.wait_for_state(&run_id, "SUCCEEDED").await;
    let again = by_path(&retried, "echo");
    assert_eq!(again["task_id"], first["task_id"]);
    assert_eq!(again["end_time"], first["end_time"], "the succeeded task did not run again");
    assert_eq!(by_path(&retried, "require-file")["state"], "SUCCEEDED");
    assert!(retried.get("error").is_none(), "{retried:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_output_artifact_read() {
    let server = TestServer::start().await;
    let run_id = server.create_run("dataset.yaml", json!({"text": "hello artifact"})).await;
    let run = server.wait_for_state(&run_id, "SUCCEEDED").await;
    let task = by_path(&run, "write-dataset");
    assert_eq!(task["outputs"]["data"]["artifacts"][0]["type"], "system.Dataset");

    for node in [task["task_id"].as_str().unwrap_or_default(), "write-dataset"] {
        let read = server.get(&format!("{RUNS}/{run_id}/nodes/{node}/artifacts/data:read")).await;
        read.assert_status(200);
        let data = read.json()["data"].as_str().unwrap_or_default().to_string();
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default();
        assert_eq!(bytes, b"hello artifact");
    }

    let missing =
        server.get(&format!("{RUNS}/{run_id}/nodes/write-dataset/artifacts/model:read")).await;
    missing.assert_error(
        404,
        5,
        "task \"write-dataset\" has no output artifact \"model\" (state SUCCEEDED); its output \
         artifacts: data",
    );
    let no_task = server.get(&format!("{RUNS}/{run_id}/nodes/train/artifacts/data:read")).await;
    no_task.assert_error(
        404,
        5,
        "no task \"train\" in this run; name a task by its task_id or path",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_list_filter_sort_pages() {
    let server = TestServer::start().await;
    let experiment =
        server.post("/apis/v2beta1/experiments", &json!({"display_name": "listing"})).await;
    let experiment_id = experiment.text_field("experiment_id");
    let mut ids = Vec::new();
    for index in 0..5 {
        let body = json!({
            "display_name": format!("run-{index}"),
            "experiment_id": if index < 4 { experiment_id.clone() } else { String::new() },
            "pipeline_spec": pipeline_spec("echo_loop.yaml"),
        });
        let created = server.post(RUNS, &body).await;
        created.assert_status(200);
        ids.push(created.text_field("run_id"));
    }
    for id in &ids {
        server.wait_for_state(id, "SUCCEEDED").await;
    }

    let in_experiment = server
        .get(&format!("{RUNS}?experiment_id={experiment_id}&sort_by={}", encode("created_at desc")))
        .await;
    in_experiment.assert_status(200);
    let body = in_experiment.json();
    assert_eq!(body["total_size"], 4);
    let names: Vec<&str> = body["runs"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["display_name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["run-3", "run-2", "run-1", "run-0"]);
    assert!(body["runs"][0].get("run_details").is_none(), "lists leave task details out");
    assert!(body["runs"][0].get("pipeline_spec").is_none(), "lists leave specs out");

    let mut seen = Vec::new();
    let mut path = format!("{RUNS}?page_size=2&sort_by=display_name");
    for _ in 0..5 {
        let page = server.get(&path).await.json();
        assert_eq!(page["total_size"], 5);
        seen.extend(
            page["runs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r["display_name"].as_str().map(str::to_string)),
        );
        match page["next_page_token"].as_str() {
            Some(token) => {
                path =
                    format!("{RUNS}?page_size=2&sort_by=display_name&page_token={}", encode(token))
            }
            None => break,
        }
    }
    assert_eq!(seen, ["run-0", "run-1", "run-2", "run-3", "run-4"]);

    server.post(&format!("{RUNS}/{}:archive", ids[1]), &json!({})).await.assert_status(200);
    let filter = r#"{"predicates":[
        {"key":"storage_state","operation":"EQUALS","string_value":"ARCHIVED"}]}"#;
    let archived = server.get(&format!("{RUNS}?filter={}", encode(filter))).await.json();
    assert_eq!(archived["total_size"], 1);
    assert_eq!(archived["runs"][0]["run_id"], ids[1].as_str());
    assert_eq!(archived["runs"][0]["storage_state"], "ARCHIVED");
    server.post(&format!("{RUNS}/{}:unarchive", ids[1]), &json!({})).await.assert_status(200);

    let states = r#"{"predicates":[
        {"key":"state","operation":"IN","string_values":{"values":["FAILED","CANCELED"]}},
        {"key":"display_name","operation":"IS_SUBSTRING","string_value":"run-"}]}"#;
    let none = server.get(&format!("{RUNS}?filter={}", encode(states))).await.json();
    assert_eq!(none["total_size"], 0, "{none}");

    let deleted = server.delete(&format!("{RUNS}/{}", ids[4])).await;
    deleted.assert_status(200);
    server.get(&format!("{RUNS}/{}", ids[4])).await.assert_status(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_spec_with_platform_spec() {
    let server = TestServer::start().await;
    let platform_spec = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-sleeper": {"activeDeadlineSeconds": "600"}
    }}}}});
    // The kfp client sends this pair when the compiled pipeline has a platform spec.
    let body = json!({
        "display_name": "with platform spec",
        "pipeline_spec": {
            "pipeline_spec": pipeline_spec("sleepy.yaml"),
            "platform_spec": platform_spec,
        },
        "runtime_config": {"parameters": {"seconds": 0}},
    });
    let created = server.post(RUNS, &body).await;
    created.assert_status(200);
    let run_id = created.text_field("run_id");
    let run = server.wait_for_state(&run_id, "SUCCEEDED").await;
    assert_eq!(run["pipeline_spec"]["platform_spec"], platform_spec);
    assert_eq!(run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"], "sleepy");
}
