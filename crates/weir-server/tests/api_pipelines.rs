//! Pipelines and versions over HTTP: multipart upload and upload_version, invalid uploads,
//! create from JSON, get by name, list, update and delete with and without cascade.

mod common;

use common::*;
use serde_json::json;

const PIPELINES: &str = "/apis/v2beta1/pipelines";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_upload_and_versions() {
    let server = TestServer::start().await;
    let uploaded = server
        .upload(
            &format!("{PIPELINES}/upload?name=echo&description=first"),
            "echo_loop.yaml",
            &fixture("echo_loop.yaml"),
        )
        .await;
    uploaded.assert_status(200);
    let pipeline = uploaded.json();
    assert_eq!(pipeline["name"], "echo");
    assert_eq!(pipeline["display_name"], "echo");
    assert_eq!(pipeline["description"], "first");
    let pipeline_id = uploaded.text_field("pipeline_id");

    let by_name = server.get(&format!("{PIPELINES}/names/echo")).await;
    by_name.assert_status(200);
    assert_eq!(by_name.json(), pipeline);

    let version = server
        .upload(
            &format!("{PIPELINES}/upload_version?pipelineid={pipeline_id}&name=v2"),
            "echo_loop.yaml",
            &fixture("echo_loop.yaml"),
        )
        .await;
    version.assert_status(200);
    let version = version.json();
    assert_eq!(version["name"], "v2");
    assert_eq!(version["pipeline_id"], pipeline_id.as_str());
    assert_eq!(version["pipeline_spec"]["pipelineInfo"]["name"], "echo-loop");

    let versions = server.get(&format!("{PIPELINES}/{pipeline_id}/versions?sort_by=name")).await;
    versions.assert_status(200);
    let body = versions.json();
    assert_eq!(body["total_size"], 2);
    assert_eq!(body["pipeline_versions"][0]["name"], "echo");
    assert_eq!(body["pipeline_versions"][1]["name"], "v2");
    assert!(body["pipeline_versions"][0].get("pipeline_spec").is_none(), "lists leave specs out");

    let version_id = version["pipeline_version_id"].as_str().unwrap_or_default();
    let fetched = server.get(&format!("{PIPELINES}/{pipeline_id}/versions/{version_id}")).await;
    fetched.assert_status(200);
    assert_eq!(fetched.json(), version);

    let duplicate = server
        .upload(
            &format!("{PIPELINES}/upload_version?pipelineid={pipeline_id}&name=v2"),
            "echo_loop.yaml",
            &fixture("echo_loop.yaml"),
        )
        .await;
    duplicate.assert_error(
        409,
        6,
        &format!(
            "pipeline {pipeline_id:?} already has a version named \"v2\"; choose another name"
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_upload_invalid() {
    let server = TestServer::start().await;

    let broken_reference = concat!(
        "pipelineInfo:\n  name: x\nroot:\n  dag:\n    tasks:\n      a:\n",
        "        componentRef:\n          name: comp-missing\n",
        "        taskInfo:\n          name: a\n",
    );
    let response =
        server.upload(&format!("{PIPELINES}/upload"), "bad.yaml", broken_reference).await;
    response.assert_error(
        400,
        3,
        "invalid pipeline spec (1 problem):\n  root.dag.tasks.a.componentRef.name: component \
         'comp-missing' not found in components (components: none)",
    );

    let malformed =
        server.upload(&format!("{PIPELINES}/upload"), "broken.yaml", "root: [unclosed\n").await;
    malformed.assert_status(400);
    let message = malformed.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("broken.yaml: malformed YAML at line 2"), "{message}");

    let not_multipart = server.post(&format!("{PIPELINES}/upload"), &json!({})).await;
    not_multipart.assert_status(400);
    let message = not_multipart.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("expected a multipart/form-data upload"), "{message}");

    let no_pipeline = server
        .upload(&format!("{PIPELINES}/upload_version?name=v"), "p.yaml", &fixture("sleepy.yaml"))
        .await;
    no_pipeline.assert_error(
        400,
        3,
        "query parameter pipelineid is required: the pipeline to add the version to",
    );

    let list = server.get(PIPELINES).await.json();
    assert_eq!(list["total_size"], 0, "no pipeline was stored: {list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_create_from_json() {
    let server = TestServer::start().await;
    let body = json!({
        "pipeline": {"display_name": "sleepy", "description": "sleeps"},
        "pipeline_version": {"display_name": "v1", "pipeline_spec": pipeline_spec("sleepy.yaml")},
    });
    let created = server.post(&format!("{PIPELINES}/create"), &body).await;
    created.assert_status(200);
    let created = created.json();
    assert_eq!(created["pipeline"]["name"], "sleepy");
    assert_eq!(created["pipeline_version"]["name"], "v1");
    assert_eq!(created["pipeline_version"]["pipeline_spec"]["pipelineInfo"]["name"], "sleepy");

    let duplicate = server.post(PIPELINES, &json!({"name": "sleepy"})).await;
    duplicate.assert_error(
        409,
        6,
        "a pipeline named \"sleepy\" already exists; upload a new version of it, or choose \
         another name",
    );

    let remote =
        json!({"name": "v2", "package_url": {"pipeline_url": "https://example.com/p.yaml"}});
    let pipeline_id = created["pipeline"]["pipeline_id"].as_str().unwrap_or_default();
    let rejected = server.post(&format!("{PIPELINES}/{pipeline_id}/versions"), &remote).await;
    rejected.assert_error(
        400,
        3,
        "cannot read package_url \"https://example.com/p.yaml\": Weir reads only file:// URLs \
         and absolute local paths; send the spec as pipeline_spec or upload the file",
    );

    let local = json!({
        "name": "v3",
        "package_url": {
            "pipeline_url": format!("file://{}", fixture_path("sleepy.yaml").display()),
        },
    });
    let from_file = server.post(&format!("{PIPELINES}/{pipeline_id}/versions"), &local).await;
    from_file.assert_status(200);
    assert_eq!(from_file.json()["name"], "v3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_update_and_delete() {
    let server = TestServer::start().await;
    let pipeline_id = server.upload_pipeline("to-delete", "sleepy.yaml").await;

    let updated = server
        .patch(
            &format!("{PIPELINES}/{pipeline_id}"),
            &json!({"display_name": "Renamed", "description": "new"}),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.json()["display_name"], "Renamed");
    assert_eq!(updated.json()["description"], "new");
    assert_eq!(updated.json()["name"], "to-delete");

    let refused = server.delete(&format!("{PIPELINES}/{pipeline_id}")).await;
    refused.assert_status(400);
    assert_eq!(refused.json()["code"], 9, "{}", refused.text());

    let bad_cascade = server.delete(&format!("{PIPELINES}/{pipeline_id}?cascade=yes")).await;
    bad_cascade.assert_error(400, 3, "invalid cascade \"yes\": use true or false");
    // The kfp client sends Python's spelling.
    let deleted = server.delete(&format!("{PIPELINES}/{pipeline_id}?cascade=True")).await;
    deleted.assert_status(200);
    server.get(&format!("{PIPELINES}/{pipeline_id}")).await.assert_status(404);

    let missing = server.get(&format!("{PIPELINES}/names/to-delete")).await;
    missing.assert_status(404);
    assert_eq!(missing.json()["code"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_list_by_display_name() {
    let server = TestServer::start().await;
    server.upload_pipeline("one", "sleepy.yaml").await;
    server.upload_pipeline("two", "sleepy.yaml").await;

    // The filter kfp.Client.get_pipeline_id sends.
    let filter = r#"{"predicates":[{"operation":1,"key":"display_name","stringValue":"two"}]}"#;
    let found = server.get(&format!("{PIPELINES}?filter={}", encode(filter))).await;
    found.assert_status(200);
    let body = found.json();
    assert_eq!(body["total_size"], 1);
    assert_eq!(body["pipelines"][0]["name"], "two");
}
