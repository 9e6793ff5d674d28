//! Model registry endpoints: registered models, versions, stages, aliases, tags, sources,
//! searches and the model-version file download, with the error code of each failure.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::{json, Value};

/// Sends `method` to `/api/2.0/mlflow/<path>`; GET paths carry their query string.
async fn send(app: &App, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let uri = format!("/api/2.0/mlflow/{path}");
    let body = if method == "GET" { None } else { Some(body) };
    app.call(method, &uri, body).await
}

/// Sends a request that must succeed and returns its body.
async fn ok(app: &App, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = send(app, method, path, body).await;
    assert_eq!(status, StatusCode::OK, "{method} {path} answered {value}");
    value
}

/// Sends a request that must fail; returns the status and the `error_code`.
async fn fails(app: &App, method: &str, path: &str, body: Value) -> (StatusCode, String) {
    let (status, value) = send(app, method, path, body).await;
    assert_ne!(status, StatusCode::OK, "{method} {path} succeeded with {value}");
    let code = value["error_code"].as_str().unwrap_or("<no error_code>").to_owned();
    (status, code)
}

const INVALID: (StatusCode, &str) = (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
const NOT_FOUND: (StatusCode, &str) = (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
const EXISTS: (StatusCode, &str) = (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS");

fn code(pair: (StatusCode, &str)) -> (StatusCode, String) {
    (pair.0, pair.1.to_owned())
}

/// Waits long enough for the next write to get a later millisecond timestamp.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}

async fn create_model(app: &App, name: &str) -> Value {
    ok(app, "POST", "registered-models/create", json!({ "name": name })).await
}

async fn create_version(app: &App, name: &str, source: &str) -> Value {
    let body = json!({ "name": name, "source": source });
    ok(app, "POST", "model-versions/create", body).await["model_version"].clone()
}

async fn transition(app: &App, name: &str, version: &str, stage: &str, archive: bool) -> Value {
    let body = json!({
        "name": name, "version": version, "stage": stage, "archive_existing_versions": archive
    });
    ok(app, "POST", "model-versions/transition-stage", body).await["model_version"].clone()
}

/// Replaces every timestamp with 0, so the rest of a response can be compared exactly.
fn scrub(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| {
                    let item = if key.ends_with("_timestamp") { json!(0) } else { scrub(item) };
                    (key.clone(), item)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(scrub).collect()),
        other => other.clone(),
    }
}

/// The `(version, current_stage)` of each version in a list.
fn stages(versions: &Value) -> Vec<(String, String)> {
    versions
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let version = item["version"].as_str().unwrap_or("?").to_owned();
                    (version, item["current_stage"].as_str().unwrap_or("?").to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn registered_model_is_created_and_read() {
    let app = App::new();
    let body = json!({
        "name": "digits",
        "description": "handwritten digits",
        "tags": [{ "key": "team", "value": "a" }, { "key": "team", "value": "b" }, { "key": "k" }],
    });
    let created = ok(&app, "POST", "registered-models/create", body).await;
    let model = &created["registered_model"];
    assert!(model["creation_timestamp"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(model["creation_timestamp"], model["last_updated_timestamp"]);
    assert_eq!(
        scrub(&created),
        json!({ "registered_model": {
            "name": "digits",
            "creation_timestamp": 0,
            "last_updated_timestamp": 0,
            "description": "handwritten digits",
            "tags": [{ "key": "k", "value": "" }, { "key": "team", "value": "b" }],
        }})
    );
    let read = ok(&app, "GET", "registered-models/get?name=digits", json!({})).await;
    assert_eq!(read, created);

    let plain = create_model(&app, "plain").await;
    assert_eq!(
        scrub(&plain),
        json!({ "registered_model": {
            "name": "plain", "creation_timestamp": 0, "last_updated_timestamp": 0
        }})
    );
}

#[tokio::test]
async fn registered_model_errors_have_mlflow_codes() {
    let app = App::new();
    create_model(&app, "digits").await;
    let create = |name: Value| json!({ "name": name });
    assert_eq!(
        fails(&app, "POST", "registered-models/create", create(json!("digits"))).await,
        code(EXISTS)
    );
    for bad in [json!(""), json!(" "), json!("a/b"), json!("a:b"), json!("."), json!("..x")] {
        assert_eq!(
            fails(&app, "POST", "registered-models/create", create(bad)).await,
            code(INVALID)
        );
    }
    let bad_tag = json!({ "name": "t", "tags": [{ "key": "bad$", "value": "v" }] });
    assert_eq!(fails(&app, "POST", "registered-models/create", bad_tag).await, code(INVALID));
    let long_value = json!({ "name": "t", "tags": [{ "key": "k", "value": "x".repeat(100_001) }] });
    assert_eq!(fails(&app, "POST", "registered-models/create", long_value).await, code(INVALID));
    assert_eq!(
        fails(&app, "GET", "registered-models/get?name=nope", json!({})).await,
        code(NOT_FOUND)
    );
    assert_eq!(fails(&app, "GET", "registered-models/get", json!({})).await, code(INVALID));
    let delete = json!({ "name": "nope" });
    assert_eq!(fails(&app, "DELETE", "registered-models/delete", delete).await, code(NOT_FOUND));
}

#[tokio::test]
async fn prompt_and_model_names_collide() {
    let app = App::new();
    create_model(&app, "shared").await;
    let prompt = json!({
        "name": "shared", "tags": [{ "key": "mlflow.prompt.is_prompt", "value": "true" }]
    });
    assert_eq!(fails(&app, "POST", "registered-models/create", prompt).await, code(EXISTS));
}

#[tokio::test]
async fn version_numbers_are_never_reused() {
    let app = App::new();
    create_model(&app, "a").await;
    create_model(&app, "b").await;
    for expected in ["1", "2", "3"] {
        assert_eq!(create_version(&app, "a", "s3://bucket/a").await["version"], expected);
    }
    assert_eq!(create_version(&app, "b", "s3://bucket/b").await["version"], "1");
    ok(&app, "DELETE", "model-versions/delete", json!({ "name": "a", "version": "3" })).await;
    assert_eq!(create_version(&app, "a", "s3://bucket/a").await["version"], "4");
    let (status, code_name) =
        fails(&app, "GET", "model-versions/get?name=a&version=3", json!({})).await;
    assert_eq!((status, code_name), code(NOT_FOUND));
}

#[tokio::test]
async fn model_version_json_matches_mlflow_fields() {
    let app = App::new();
    create_model(&app, "digits").await;
    let body = json!({
        "name": "digits",
        "source": "s3://bucket/model",
        "run_link": "http://example/run",
        "description": "first",
        "tags": [{ "key": "b", "value": "2" }, { "key": "a", "value": "1" }],
    });
    let created = ok(&app, "POST", "model-versions/create", body).await;
    let version = &created["model_version"];
    assert_eq!(version["creation_timestamp"], version["last_updated_timestamp"]);
    assert_eq!(
        scrub(&created),
        json!({ "model_version": {
            "name": "digits",
            "version": "1",
            "creation_timestamp": 0,
            "last_updated_timestamp": 0,
            "current_stage": "None",
            "description": "first",
            "source": "s3://bucket/model",
            "run_id": "",
            "status": "READY",
            "tags": [{ "key": "a", "value": "1" }, { "key": "b", "value": "2" }],
            "run_link": "http://example/run",
        }})
    );
    let read = ok(&app, "GET", "model-versions/get?name=digits&version=1", json!({})).await;
    assert_eq!(read, created);

    // A bare create stores the proto defaults: empty description, run id and run link.
    let bare = create_version(&app, "digits", "s3://bucket/other").await;
    assert_eq!(bare["description"], "");
    assert_eq!(bare["run_id"], "");
    assert_eq!(bare["run_link"], "");
    assert!(bare.get("tags").is_none());
    assert!(bare.get("aliases").is_none());

    let model = ok(&app, "GET", "registered-models/get?name=digits", json!({})).await;
    assert_eq!(model["registered_model"]["last_updated_timestamp"], bare["creation_timestamp"]);
}

#[tokio::test]
async fn model_version_errors_have_mlflow_codes() {
    let app = App::new();
    create_model(&app, "m").await;
    create_version(&app, "m", "s3://bucket/x").await;
    let create = |name: &str| json!({ "name": name, "source": "s3://bucket/x" });
    assert_eq!(fails(&app, "POST", "model-versions/create", create("nope")).await, code(NOT_FOUND));
    let no_source = json!({ "name": "m" });
    assert_eq!(fails(&app, "POST", "model-versions/create", no_source).await, code(INVALID));
    let cases = [
        ("model-versions/get?name=m&version=7", NOT_FOUND),
        ("model-versions/get?name=m&version=x", INVALID),
        ("model-versions/get?name=m", INVALID),
        ("model-versions/get?name=nope&version=1", NOT_FOUND),
        ("model-versions/get-download-uri?name=m", INVALID),
        ("model-versions/get-download-uri?name=m&version=9", NOT_FOUND),
    ];
    for (path, expected) in cases {
        assert_eq!(fails(&app, "GET", path, json!({})).await, code(expected), "{path}");
    }
    let delete = json!({ "name": "m", "version": "9" });
    assert_eq!(fails(&app, "DELETE", "model-versions/delete", delete).await, code(NOT_FOUND));
    let update = json!({ "name": "m", "version": "9", "description": "d" });
    assert_eq!(fails(&app, "PATCH", "model-versions/update", update).await, code(NOT_FOUND));
}

#[tokio::test]
async fn latest_versions_are_the_newest_per_stage() {
    let app = App::new();
    create_model(&app, "a").await;
    for _ in 0..4 {
        create_version(&app, "a", "s3://bucket/a").await;
    }
    transition(&app, "a", "1", "Archived", false).await;
    transition(&app, "a", "2", "Production", false).await;
    transition(&app, "a", "3", "Archived", false).await;

    // Stages in the order their first version was made, as MLflow's get lists them.
    let by_first = pairs(&[("3", "Archived"), ("2", "Production"), ("4", "None")]);
    let model = ok(&app, "GET", "registered-models/get?name=a", json!({})).await;
    assert_eq!(stages(&model["registered_model"]["latest_versions"]), by_first);
    let latest = ok(&app, "GET", "registered-models/get-latest-versions?name=a", json!({})).await;
    assert_eq!(stages(&latest["model_versions"]), by_first);

    let some = json!({ "name": "a", "stages": ["none", "PRODUCTION"] });
    let latest = ok(&app, "POST", "registered-models/get-latest-versions", some).await;
    assert_eq!(stages(&latest["model_versions"]), pairs(&[("2", "Production"), ("4", "None")]));
    let path = "registered-models/get-latest-versions?name=a&stages=archived";
    let latest = ok(&app, "GET", path, json!({})).await;
    assert_eq!(stages(&latest["model_versions"]), pairs(&[("3", "Archived")]));

    // The search lists stages by name, as MLflow's search does.
    let found = ok(&app, "GET", "registered-models/search", json!({})).await;
    assert_eq!(
        stages(&found["registered_models"][0]["latest_versions"]),
        pairs(&[("3", "Archived"), ("4", "None"), ("2", "Production")])
    );

    let staging = json!({ "name": "a", "stages": ["Staging"] });
    let none = ok(&app, "POST", "registered-models/get-latest-versions", staging).await;
    assert_eq!(none, json!({}));
    let bad = json!({ "name": "a", "stages": ["prod"] });
    assert_eq!(
        fails(&app, "POST", "registered-models/get-latest-versions", bad).await,
        code(INVALID)
    );
    let unknown = json!({ "name": "zz" });
    assert_eq!(
        fails(&app, "POST", "registered-models/get-latest-versions", unknown).await,
        code(NOT_FOUND)
    );
}

#[tokio::test]
async fn stage_transitions_can_archive_other_versions() {
    let app = App::new();
    create_model(&app, "m").await;
    for _ in 0..4 {
        create_version(&app, "m", "s3://bucket/m").await;
    }
    assert_eq!(
        transition(&app, "m", "1", "production", false).await["current_stage"],
        "Production"
    );
    let moved = transition(&app, "m", "2", "Production", true).await;
    assert_eq!(moved["current_stage"], "Production");
    let first = ok(&app, "GET", "model-versions/get?name=m&version=1", json!({})).await;
    assert_eq!(first["model_version"]["current_stage"], "Archived");
    assert_eq!(first["model_version"]["last_updated_timestamp"], moved["last_updated_timestamp"]);

    // Without the flag, two versions share a stage.
    transition(&app, "m", "3", "STAGING", false).await;
    transition(&app, "m", "4", "Staging", false).await;
    let latest = ok(&app, "GET", "registered-models/get-latest-versions?name=m", json!({})).await;
    assert_eq!(
        stages(&latest["model_versions"]),
        pairs(&[("1", "Archived"), ("2", "Production"), ("4", "Staging")])
    );
    let third = ok(&app, "GET", "model-versions/get?name=m&version=3", json!({})).await;
    assert_eq!(third["model_version"]["current_stage"], "Staging");

    let move_to = |stage: &str, archive: bool| json!({ "name": "m", "version": "1", "stage": stage, "archive_existing_versions": archive });
    let path = "model-versions/transition-stage";
    assert_eq!(fails(&app, "POST", path, move_to("None", true)).await, code(INVALID));
    assert_eq!(fails(&app, "POST", path, move_to("Archived", true)).await, code(INVALID));
    assert_eq!(fails(&app, "POST", path, move_to("bogus", false)).await, code(INVALID));
    let no_stage = json!({ "name": "m", "version": "1" });
    assert_eq!(fails(&app, "POST", path, no_stage).await, code(INVALID));
    let unknown = json!({ "name": "m", "version": "9", "stage": "Staging" });
    assert_eq!(fails(&app, "POST", path, unknown).await, code(NOT_FOUND));
}

#[tokio::test]
async fn aliases_resolve_move_and_follow_version_deletes() {
    let app = App::new();
    create_model(&app, "m").await;
    for _ in 0..3 {
        create_version(&app, "m", "s3://bucket/m").await;
    }
    let set =
        |alias: &str, version: &str| json!({ "name": "m", "alias": alias, "version": version });
    assert_eq!(ok(&app, "POST", "registered-models/alias", set("champion", "1")).await, json!({}));
    ok(&app, "POST", "registered-models/alias", set("challenger", "1")).await;

    let found = ok(&app, "GET", "registered-models/alias?name=m&alias=champion", json!({})).await;
    assert_eq!(found["model_version"]["version"], "1");
    assert_eq!(found["model_version"]["aliases"], json!(["challenger", "champion"]));
    let newest = ok(&app, "GET", "registered-models/alias?name=m&alias=LATEST", json!({})).await;
    assert_eq!(newest["model_version"]["version"], "3");

    ok(&app, "POST", "registered-models/alias", set("champion", "2")).await;
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert_eq!(
        model["registered_model"]["aliases"],
        json!([
            { "alias": "challenger", "version": "1" },
            { "alias": "champion", "version": "2" },
        ])
    );

    ok(&app, "DELETE", "model-versions/delete", json!({ "name": "m", "version": "2" })).await;
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert_eq!(
        model["registered_model"]["aliases"],
        json!([{ "alias": "challenger", "version": "1" }])
    );
    let path = "registered-models/alias?name=m&alias=champion";
    assert_eq!(fails(&app, "GET", path, json!({})).await, code(INVALID));

    let remove = json!({ "name": "m", "alias": "challenger" });
    ok(&app, "DELETE", "registered-models/alias", remove.clone()).await;
    ok(&app, "DELETE", "registered-models/alias", remove).await;
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert!(model["registered_model"].get("aliases").is_none());
}

#[tokio::test]
async fn alias_errors_have_mlflow_codes() {
    let app = App::new();
    create_model(&app, "m").await;
    create_version(&app, "m", "s3://bucket/m").await;
    let set = |name: &str, alias: &str, version: &str| json!({ "name": name, "alias": alias, "version": version });
    let path = "registered-models/alias";
    for reserved in ["latest", "LATEST", "v1", "V22", "bad alias", "a.b", ""] {
        assert_eq!(
            fails(&app, "POST", path, set("m", reserved, "1")).await,
            code(INVALID),
            "{reserved}"
        );
    }
    assert_eq!(fails(&app, "POST", path, set("m", "x", "abc")).await, code(INVALID));
    assert_eq!(fails(&app, "POST", path, set("m", "x", "9")).await, code(NOT_FOUND));
    assert_eq!(fails(&app, "POST", path, set("zz", "x", "1")).await, code(NOT_FOUND));
    let cases = [
        ("registered-models/alias?name=m&alias=nope", INVALID),
        ("registered-models/alias?name=m&alias=v1", INVALID),
        ("registered-models/alias?name=zz&alias=x", NOT_FOUND),
        ("registered-models/alias?name=m&alias=bad%20alias", INVALID),
    ];
    for (query, expected) in cases {
        assert_eq!(fails(&app, "GET", query, json!({})).await, code(expected), "{query}");
    }
    let remove = json!({ "name": "zz", "alias": "x" });
    assert_eq!(fails(&app, "DELETE", path, remove).await, code(NOT_FOUND));

    create_model(&app, "empty").await;
    let path = "registered-models/alias?name=empty&alias=latest";
    assert_eq!(fails(&app, "GET", path, json!({})).await, code(NOT_FOUND));
}

#[tokio::test]
async fn rename_moves_versions_tags_and_aliases() {
    let app = App::new();
    create_model(&app, "old").await;
    create_model(&app, "other").await;
    create_version(&app, "old", "s3://bucket/1").await;
    create_version(&app, "old", "s3://bucket/2").await;
    let tag = json!({ "name": "old", "key": "team", "value": "ml" });
    ok(&app, "POST", "registered-models/set-tag", tag).await;
    let version_tag = json!({ "name": "old", "version": "1", "key": "k", "value": "v" });
    ok(&app, "POST", "model-versions/set-tag", version_tag).await;
    let alias = json!({ "name": "old", "alias": "champion", "version": "1" });
    ok(&app, "POST", "registered-models/alias", alias).await;

    let renamed =
        ok(&app, "POST", "registered-models/rename", json!({ "name": "old", "new_name": "new" }))
            .await;
    let model = &renamed["registered_model"];
    assert_eq!(model["name"], "new");
    assert_eq!(model["tags"], json!([{ "key": "team", "value": "ml" }]));
    assert_eq!(model["aliases"], json!([{ "alias": "champion", "version": "1" }]));
    assert_eq!(model["latest_versions"][0]["name"], "new");
    assert_eq!(model["latest_versions"][0]["version"], "2");
    assert_eq!(
        model["latest_versions"][0]["last_updated_timestamp"],
        model["last_updated_timestamp"]
    );

    let first = ok(&app, "GET", "model-versions/get?name=new&version=1", json!({})).await;
    assert_eq!(first["model_version"]["name"], "new");
    assert_eq!(first["model_version"]["tags"], json!([{ "key": "k", "value": "v" }]));
    assert_eq!(first["model_version"]["aliases"], json!(["champion"]));
    let by_alias =
        ok(&app, "GET", "registered-models/alias?name=new&alias=champion", json!({})).await;
    assert_eq!(by_alias["model_version"]["version"], "1");
    assert_eq!(
        fails(&app, "GET", "registered-models/get?name=old", json!({})).await,
        code(NOT_FOUND)
    );
    assert_eq!(create_version(&app, "new", "s3://bucket/3").await["version"], "3");

    let path = "registered-models/rename";
    let taken = json!({ "name": "new", "new_name": "other" });
    assert_eq!(fails(&app, "POST", path, taken).await, code(EXISTS));
    let unknown = json!({ "name": "old", "new_name": "x" });
    assert_eq!(fails(&app, "POST", path, unknown).await, code(NOT_FOUND));
    let bad = json!({ "name": "new", "new_name": "x/y" });
    assert_eq!(fails(&app, "POST", path, bad).await, code(INVALID));
    let empty = json!({ "name": "new", "new_name": "" });
    assert_eq!(fails(&app, "POST", path, empty).await, code(INVALID));
    let same = json!({ "name": "new", "new_name": "new" });
    assert_eq!(ok(&app, "POST", path, same).await["registered_model"]["name"], "new");
}

#[tokio::test]
async fn descriptions_update_and_clear() {
    let app = App::new();
    create_model(&app, "m").await;
    create_version(&app, "m", "s3://bucket/m").await;
    let path = "registered-models/update";
    let updated = ok(&app, "PATCH", path, json!({ "name": "m", "description": "new" })).await;
    assert_eq!(updated["registered_model"]["description"], "new");
    let cleared = ok(&app, "PATCH", path, json!({ "name": "m" })).await;
    assert!(cleared["registered_model"].get("description").is_none());
    assert_eq!(fails(&app, "PATCH", path, json!({ "name": "zz" })).await, code(NOT_FOUND));

    let path = "model-versions/update";
    let body = json!({ "name": "m", "version": "1", "description": "dd" });
    assert_eq!(ok(&app, "PATCH", path, body).await["model_version"]["description"], "dd");
    let cleared = ok(&app, "PATCH", path, json!({ "name": "m", "version": "1" })).await;
    assert!(cleared["model_version"].get("description").is_none());
}

#[tokio::test]
async fn deleting_a_model_deletes_its_versions() {
    let app = App::new();
    create_model(&app, "m").await;
    create_version(&app, "m", "s3://bucket/1").await;
    create_version(&app, "m", "s3://bucket/2").await;
    let alias = json!({ "name": "m", "alias": "champion", "version": "1" });
    ok(&app, "POST", "registered-models/alias", alias).await;
    assert_eq!(
        ok(&app, "DELETE", "registered-models/delete", json!({ "name": "m" })).await,
        json!({})
    );
    assert_eq!(
        fails(&app, "GET", "registered-models/get?name=m", json!({})).await,
        code(NOT_FOUND)
    );
    assert_eq!(
        fails(&app, "GET", "model-versions/get?name=m&version=1", json!({})).await,
        code(NOT_FOUND)
    );

    // The name is free again, and its version numbers start over.
    create_model(&app, "m").await;
    assert_eq!(create_version(&app, "m", "s3://bucket/1").await["version"], "1");
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert!(model["registered_model"].get("aliases").is_none());
}

#[tokio::test]
async fn tags_are_set_replaced_and_deleted() {
    let app = App::new();
    create_model(&app, "m").await;
    create_version(&app, "m", "s3://bucket/m").await;
    for value in ["1", "2"] {
        let tag = json!({ "name": "m", "key": "team", "value": value });
        assert_eq!(ok(&app, "POST", "registered-models/set-tag", tag).await, json!({}));
        let tag = json!({ "name": "m", "version": "1", "key": "stage/env", "value": value });
        assert_eq!(ok(&app, "POST", "model-versions/set-tag", tag).await, json!({}));
    }
    let no_value = json!({ "name": "m", "key": "empty" });
    ok(&app, "POST", "registered-models/set-tag", no_value).await;
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert_eq!(
        model["registered_model"]["tags"],
        json!([{ "key": "empty", "value": "" }, { "key": "team", "value": "2" }])
    );
    let version = ok(&app, "GET", "model-versions/get?name=m&version=1", json!({})).await;
    assert_eq!(version["model_version"]["tags"], json!([{ "key": "stage/env", "value": "2" }]));

    for _ in 0..2 {
        ok(&app, "DELETE", "registered-models/delete-tag", json!({ "name": "m", "key": "team" }))
            .await;
        let body = json!({ "name": "m", "version": "1", "key": "stage/env" });
        ok(&app, "DELETE", "model-versions/delete-tag", body).await;
    }
    let model = ok(&app, "GET", "registered-models/get?name=m", json!({})).await;
    assert_eq!(model["registered_model"]["tags"], json!([{ "key": "empty", "value": "" }]));
    let version = ok(&app, "GET", "model-versions/get?name=m&version=1", json!({})).await;
    assert!(version["model_version"].get("tags").is_none());

    let cases = [
        (
            "POST",
            "registered-models/set-tag",
            json!({ "name": "zz", "key": "k", "value": "v" }),
            NOT_FOUND,
        ),
        (
            "POST",
            "registered-models/set-tag",
            json!({ "name": "m", "key": "../k", "value": "v" }),
            INVALID,
        ),
        ("POST", "registered-models/set-tag", json!({ "name": "m", "value": "v" }), INVALID),
        ("DELETE", "registered-models/delete-tag", json!({ "name": "zz", "key": "k" }), NOT_FOUND),
        (
            "POST",
            "model-versions/set-tag",
            json!({ "name": "m", "version": "9", "key": "k", "value": "v" }),
            NOT_FOUND,
        ),
        (
            "POST",
            "model-versions/set-tag",
            json!({ "name": "m", "version": "1", "key": "a$b", "value": "v" }),
            INVALID,
        ),
        (
            "DELETE",
            "model-versions/delete-tag",
            json!({ "name": "m", "version": "9", "key": "k" }),
            NOT_FOUND,
        ),
    ];
    for (method, path, body, expected) in cases {
        assert_eq!(fails(&app, method, path, body.clone()).await, code(expected), "{body}");
    }
}

/// Creates a run in the Default experiment; returns its id and artifact URI.
async fn create_run(app: &App) -> (String, String) {
    let run = ok(app, "POST", "runs/create", json!({ "experiment_id": "0" })).await;
    let info = &run["run"]["info"];
    let run_id = info["run_id"].as_str().unwrap_or_default().to_owned();
    (run_id, info["artifact_uri"].as_str().unwrap_or_default().to_owned())
}

async fn download_uri(app: &App, name: &str, version: &str) -> Value {
    let path = format!("model-versions/get-download-uri?name={name}&version={version}");
    ok(app, "GET", &path, json!({})).await["artifact_uri"].clone()
}

#[tokio::test]
async fn sources_inside_a_run_need_its_run_id() {
    let app = App::new();
    create_model(&app, "m").await;
    let (run_id, artifact_uri) = create_run(&app).await;
    assert_eq!(artifact_uri, format!("mlflow-artifacts:/0/{run_id}/artifacts"));
    let create = |source: String, run_id: Option<&str>| {
        let mut body = json!({ "name": "m", "source": source });
        if let Some(run_id) = run_id {
            body["run_id"] = json!(run_id);
        }
        body
    };
    let path = "model-versions/create";

    let runs_source = format!("runs:/{run_id}/model");
    let version = ok(&app, "POST", path, create(runs_source.clone(), Some(&run_id))).await;
    assert_eq!(version["model_version"]["run_id"], run_id.as_str());
    assert_eq!(version["model_version"]["source"], runs_source.as_str());
    assert_eq!(download_uri(&app, "m", "1").await, runs_source.as_str());
    assert_eq!(fails(&app, "POST", path, create(runs_source.clone(), None)).await, code(INVALID));
    assert_eq!(fails(&app, "POST", path, create(runs_source, Some("other"))).await, code(INVALID));

    let inside = format!("{artifact_uri}/model");
    ok(&app, "POST", path, create(inside.clone(), Some(&run_id))).await;
    assert_eq!(download_uri(&app, "m", "2").await, inside.as_str());
    assert_eq!(fails(&app, "POST", path, create(inside, None)).await, code(INVALID));
    let outside = "mlflow-artifacts:/0/elsewhere/model".to_owned();
    assert_eq!(fails(&app, "POST", path, create(outside, Some(&run_id))).await, code(INVALID));
    let unknown_run = format!("{artifact_uri}/model");
    assert_eq!(fails(&app, "POST", path, create(unknown_run, Some("nope"))).await, code(INVALID));

    // Object-store sources are taken as they are, with any run id.
    let version = ok(&app, "POST", path, create("s3://b/x".into(), Some("not-a-run"))).await;
    assert_eq!(version["model_version"]["run_id"], "not-a-run");
    assert_eq!(download_uri(&app, "m", "3").await, "s3://b/x");
}

#[tokio::test]
async fn unsafe_sources_are_rejected() {
    let app = App::new();
    create_model(&app, "m").await;
    let (run_id, _) = create_run(&app).await;
    let sources = [
        "/tmp/model",
        "relative/path",
        "file:///tmp/model",
        "s3://b/../x",
        "s3://b/%2E%2E/x",
        "s3://b/./x",
        "s3://bucket",
        "http://host/api/2.0/mlflow-artifacts/artifacts/x",
        "https://host/model",
        "ftp://host/model",
        "mlflow-artifacts://host/0/model",
        "models:/m-abc",
        "models:/a/b/c",
        "models://host/m/1",
    ];
    for source in sources {
        let body = json!({ "name": "m", "source": source, "run_id": run_id });
        assert_eq!(
            fails(&app, "POST", "model-versions/create", body).await,
            code(INVALID),
            "{source}"
        );
    }
    let runs_with_model = json!({ "name": "m", "source": format!("runs:/{run_id}/x"),
        "model_id": "m-abc" });
    assert_eq!(fails(&app, "POST", "model-versions/create", runs_with_model).await, code(INVALID));
}

#[tokio::test]
async fn registered_sources_copy_another_version() {
    let app = App::new();
    create_model(&app, "a").await;
    let (run_id, artifact_uri) = create_run(&app).await;
    let inside = format!("{artifact_uri}/model");
    let body = json!({ "name": "a", "source": inside, "run_id": run_id });
    ok(&app, "POST", "model-versions/create", body).await;
    create_version(&app, "a", "s3://bucket/two").await;
    let alias = json!({ "name": "a", "alias": "champion", "version": "1" });
    ok(&app, "POST", "registered-models/alias", alias).await;
    transition(&app, "a", "2", "Production", false).await;

    create_model(&app, "b").await;
    let cases = [
        ("models:/a/1", "models:/a/1", inside.as_str(), run_id.as_str()),
        ("models:/a@champion", "models:/a/1", inside.as_str(), run_id.as_str()),
        ("models:/a/latest", "models:/a/2", "s3://bucket/two", ""),
        ("models:/a/production", "models:/a/2", "s3://bucket/two", ""),
    ];
    for (number, (source, stored, location, run)) in cases.into_iter().enumerate() {
        let version = create_version(&app, "b", source).await;
        assert_eq!(version["source"], stored, "{source}");
        assert_eq!(version["run_id"], run, "{source}");
        let number = (number + 1).to_string();
        assert_eq!(download_uri(&app, "b", &number).await, location, "{source}");
    }

    let failing = [
        (json!({ "name": "b", "source": "models:/a/9" }), NOT_FOUND),
        (json!({ "name": "b", "source": "models:/zz/1" }), NOT_FOUND),
        (json!({ "name": "b", "source": "models:/a@nope" }), INVALID),
        (json!({ "name": "b", "source": "models:/a/Staging" }), NOT_FOUND),
        (json!({ "name": "b", "source": "models:/a/1", "run_id": "other" }), INVALID),
    ];
    for (body, expected) in failing {
        assert_eq!(
            fails(&app, "POST", "model-versions/create", body.clone()).await,
            code(expected),
            "{body}"
        );
    }
}

#[tokio::test]
async fn logged_model_sources_use_its_artifact_location() {
    let app = App::new();
    create_model(&app, "digits").await;
    let (run_id, _) = create_run(&app).await;
    let body = json!({ "experiment_id": "0", "name": "m", "source_run_id": run_id });
    let logged = ok(&app, "POST", "logged-models", body).await;
    let model_id = logged["model"]["info"]["model_id"].as_str().unwrap_or_default().to_owned();
    let location = format!("mlflow-artifacts:/0/models/{model_id}/artifacts");
    assert_eq!(logged["model"]["info"]["artifact_uri"], location.as_str());

    let source = format!("models:/{model_id}");
    let body = json!({ "name": "digits", "source": source, "model_id": model_id });
    let created = ok(&app, "POST", "model-versions/create", body).await;
    let version = &created["model_version"];
    assert_eq!(version["source"], source.as_str());
    assert_eq!(version["run_id"], run_id.as_str());
    assert_eq!(version["model_id"], model_id.as_str());
    assert_eq!(download_uri(&app, "digits", "1").await, location.as_str());

    // A run id in the request wins over the logged model's source run.
    let body = json!({ "name": "digits", "source": source, "model_id": model_id, "run_id": "r" });
    let created = ok(&app, "POST", "model-versions/create", body).await;
    assert_eq!(created["model_version"]["run_id"], "r");
    let inside = json!({ "name": "digits", "source": format!("{location}/sub"),
        "model_id": model_id });
    ok(&app, "POST", "model-versions/create", inside).await;

    let read = ok(&app, "GET", &format!("logged-models/{model_id}"), json!({})).await;
    let tags = read["model"]["info"]["tags"].as_array().cloned().unwrap_or_default();
    let versions_tag = tags.iter().find(|tag| tag["key"] == "mlflow.modelVersions");
    assert_eq!(
        versions_tag.map(|tag| tag["value"].clone()),
        Some(json!(
            "[{\"name\": \"digits\", \"version\": 1}, {\"name\": \"digits\", \"version\": 2}, \
             {\"name\": \"digits\", \"version\": 3}]"
        ))
    );

    let failing = [
        (json!({ "name": "digits", "source": source }), INVALID),
        (json!({ "name": "digits", "source": source, "model_id": "m-other" }), INVALID),
        (json!({ "name": "digits", "source": "models:/m-nope", "model_id": "m-nope" }), NOT_FOUND),
        (json!({ "name": "digits", "source": "s3://b/x", "model_id": "m-nope" }), NOT_FOUND),
        (
            json!({ "name": "digits", "source": "s3://b/x", "model_id": "m-nope", "run_id": "r" }),
            NOT_FOUND,
        ),
        (
            json!({ "name": "digits", "source": "mlflow-artifacts:/0/other", "model_id": model_id }),
            INVALID,
        ),
    ];
    for (body, expected) in failing {
        assert_eq!(
            fails(&app, "POST", "model-versions/create", body.clone()).await,
            code(expected),
            "{body}"
        );
    }
    let (found, _) = search_versions(&app, "").await;
    assert_eq!(found.len(), 3);
}

#[tokio::test]
async fn prompt_versions_need_a_placeholder_source() {
    let app = App::new();
    let prompt_tag = json!([{ "key": "mlflow.prompt.is_prompt", "value": "true" }]);
    let body = json!({ "name": "greeting", "tags": prompt_tag });
    ok(&app, "POST", "registered-models/create", body).await;
    let version = json!({ "name": "greeting", "source": "dummy-source", "tags": prompt_tag });
    let created = ok(&app, "POST", "model-versions/create", version).await;
    assert_eq!(created["model_version"]["source"], "dummy-source");
    let other = json!({ "name": "greeting", "source": "s3://b/x", "tags": prompt_tag });
    assert_eq!(fails(&app, "POST", "model-versions/create", other).await, code(INVALID));
}

#[tokio::test]
async fn version_files_download_from_the_artifact_store() {
    let app = App::new();
    create_model(&app, "m").await;
    let (run_id, artifact_uri) = create_run(&app).await;
    let folder = app.dir.path().join("artifacts/0").join(&run_id).join("artifacts/model");
    std::fs::create_dir_all(&folder).expect("model folder");
    std::fs::write(folder.join("MLmodel"), b"flavors: {}\n").expect("MLmodel written");

    let body = json!({ "name": "m", "source": format!("{artifact_uri}/model"), "run_id": run_id });
    ok(&app, "POST", "model-versions/create", body).await;
    let body = json!({ "name": "m", "source": format!("runs:/{run_id}/model"), "run_id": run_id });
    ok(&app, "POST", "model-versions/create", body).await;
    for version in ["1", "2"] {
        let uri = format!("/model-versions/get-artifact?name=m&version={version}&path=MLmodel");
        let (status, bytes) = app.call_raw("GET", &uri, None).await;
        assert_eq!(status, StatusCode::OK, "version {version}");
        assert_eq!(bytes, b"flavors: {}\n");
    }

    let traversal = "/model-versions/get-artifact?name=m&version=1&path=../../secret";
    let (status, body) = app.call("GET", traversal, None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let missing = "/model-versions/get-artifact?name=m&version=1&path=nothing";
    let (status, body) = app.call("GET", missing, None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let no_version = "/model-versions/get-artifact?name=m&version=9&path=MLmodel";
    let (status, _) = app.call("GET", no_version, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Names of the registered models a search returns, and its next page token.
async fn search_models(app: &App, query: &str) -> (Vec<String>, Option<String>) {
    let found = ok(app, "GET", &format!("registered-models/search?{query}"), json!({})).await;
    let names = found["registered_models"]
        .as_array()
        .map(|models| models.iter().filter_map(|m| m["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    (names, found["next_page_token"].as_str().map(str::to_owned))
}

/// `(name, version)` of the model versions a search returns, and its next page token.
async fn search_versions(app: &App, query: &str) -> (Vec<(String, String)>, Option<String>) {
    let found = ok(app, "GET", &format!("model-versions/search?{query}"), json!({})).await;
    let versions = found["model_versions"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let name = item["name"].as_str().unwrap_or("?").to_owned();
                    (name, item["version"].as_str().unwrap_or("?").to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    (versions, found["next_page_token"].as_str().map(str::to_owned))
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|name| (*name).to_owned()).collect()
}

fn encode(text: &str) -> String {
    text.replace('%', "%25")
        .replace(' ', "%20")
        .replace('\'', "%27")
        .replace('=', "%3D")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(',', "%2C")
        .replace('`', "%60")
        .replace('>', "%3E")
        .replace('<', "%3C")
}

#[tokio::test]
async fn registered_models_page_in_name_order() {
    let app = App::new();
    for name in ["b", "a", "C", "dd"] {
        create_model(&app, name).await;
    }
    assert_eq!(search_models(&app, "").await, (names(&["C", "a", "b", "dd"]), None));
    let (first, token) = search_models(&app, "max_results=2").await;
    assert_eq!(first, names(&["C", "a"]));
    assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiAyfQ=="));
    let (second, token) =
        search_models(&app, "max_results=2&page_token=eyJvZmZzZXQiOiAyfQ%3D%3D").await;
    assert_eq!((second, token), (names(&["b", "dd"]), None));
    let exact = search_models(&app, "max_results=4").await;
    assert_eq!(exact, (names(&["C", "a", "b", "dd"]), None));

    let empty = App::new();
    assert_eq!(ok(&empty, "GET", "registered-models/search", json!({})).await, json!({}));

    for query in [
        "max_results=1001",
        "max_results=0",
        "max_results=abc",
        "page_token=garbage",
        "page_token=eyJvZmZzZXQiOiAwfQ%3D%3D",
    ] {
        let path = format!("registered-models/search?{query}");
        assert_eq!(fails(&app, "GET", &path, json!({})).await, code(INVALID), "{query}");
    }
}

#[tokio::test]
async fn registered_models_filter_and_order() {
    let app = App::new();
    for name in ["b", "a", "C", "dd"] {
        create_model(&app, name).await;
        tick().await;
    }
    ok(
        &app,
        "POST",
        "registered-models/set-tag",
        json!({ "name": "b", "key": "team", "value": "x" }),
    )
    .await;
    ok(
        &app,
        "POST",
        "registered-models/set-tag",
        json!({ "name": "dd", "key": "team", "value": "y" }),
    )
    .await;
    create_version(&app, "a", "s3://bucket/a").await;

    let cases: [(&str, &[&str]); 14] = [
        ("name LIKE '%d%'", &["dd"]),
        ("name LIKE 'c%'", &[]),
        ("name ILIKE 'c%'", &["C"]),
        ("name = 'a'", &["a"]),
        ("name != 'a'", &["C", "b", "dd"]),
        ("name IN ('a', 'b')", &["a", "b"]),
        ("name NOT IN ('a', 'b')", &["C", "dd"]),
        ("attribute.name = 'dd'", &["dd"]),
        ("tags.team = 'x'", &["b"]),
        ("tags.team != 'x'", &["dd"]),
        ("tags.team LIKE '%'", &["b", "dd"]),
        ("tag.team = 'y'", &["dd"]),
        ("tags.`team` = 'y' AND name = 'dd'", &["dd"]),
        ("name LIKE '_d'", &["dd"]),
    ];
    for (filter, expected) in cases {
        let (found, _) = search_models(&app, &format!("filter={}", encode(filter))).await;
        assert_eq!(found, names(expected), "{filter}");
    }

    let ordered: [(&[&str], &[&str]); 3] = [
        (&["name DESC"], &["dd", "b", "a", "C"]),
        (&["last_updated_timestamp DESC"], &["a", "dd", "C", "b"]),
        (&["timestamp"], &["b", "C", "dd", "a"]),
    ];
    for (order_by, expected) in ordered {
        let query: Vec<String> =
            order_by.iter().map(|clause| format!("order_by={}", encode(clause))).collect();
        let (found, _) = search_models(&app, &query.join("&")).await;
        assert_eq!(found, names(expected), "{order_by:?}");
    }

    let invalid = [
        "filter=creation_timestamp%20%3E%200",
        "filter=name%20%3D%20'a'%20OR%20name%20%3D%20'b'",
        "filter=name%20%3E%20'a'",
        "filter=params.x%20%3D%20'a'",
        "filter=name%20%3D%201",
        "filter=tags.team%20%3D%201",
        "order_by=creation_timestamp%20DESC",
        "order_by=foo",
        "order_by=name%20sideways",
        "order_by=name&order_by=name%20DESC",
    ];
    for query in invalid {
        let path = format!("registered-models/search?{query}");
        assert_eq!(fails(&app, "GET", &path, json!({})).await, code(INVALID), "{query}");
    }
}

#[tokio::test]
async fn prompts_are_searched_only_on_request() {
    let app = App::new();
    create_model(&app, "model").await;
    let prompt_tag = json!([{ "key": "mlflow.prompt.is_prompt", "value": "true" }]);
    ok(&app, "POST", "registered-models/create", json!({ "name": "prompt", "tags": prompt_tag }))
        .await;
    let version = json!({ "name": "prompt", "source": "dummy-source", "tags": prompt_tag });
    ok(&app, "POST", "model-versions/create", version).await;
    create_version(&app, "model", "s3://bucket/m").await;

    assert_eq!(search_models(&app, "").await.0, names(&["model"]));
    let asks = format!("filter={}", encode("tags.`mlflow.prompt.is_prompt` = 'true'"));
    assert_eq!(search_models(&app, &asks).await.0, names(&["prompt"]));
    assert_eq!(search_versions(&app, "").await.0, pairs(&[("model", "1")]));
    assert_eq!(search_versions(&app, &asks).await.0, pairs(&[("prompt", "1")]));
}

#[tokio::test]
async fn model_versions_filter_order_and_page() {
    let app = App::new();
    create_model(&app, "a").await;
    create_model(&app, "b").await;
    for index in 0..4 {
        let body = json!({
            "name": "a",
            "source": format!("s3://b/{index}"),
            "run_id": format!("r{}", index % 2),
            "tags": [{ "key": "k", "value": format!("v{index}") }],
        });
        ok(&app, "POST", "model-versions/create", body).await;
        tick().await;
    }
    create_version(&app, "b", "s3://b/other").await;
    for (version, stage) in [("1", "Archived"), ("2", "Production"), ("3", "Archived")] {
        tick().await;
        transition(&app, "a", version, stage, false).await;
    }

    // Default order: the last update time descending, then name, then version descending.
    let (found, token) = search_versions(&app, "").await;
    assert_eq!(found, pairs(&[("a", "3"), ("a", "2"), ("a", "1"), ("b", "1"), ("a", "4")]));
    assert_eq!(token, None);

    let cases: [(&str, &[(&str, &str)]); 10] = [
        ("name = 'a'", &[("a", "3"), ("a", "2"), ("a", "1"), ("a", "4")]),
        ("run_id = 'r1'", &[("a", "2"), ("a", "4")]),
        ("run_id IN ('r1', 'zz')", &[("a", "2"), ("a", "4")]),
        ("name IN ('b')", &[("b", "1")]),
        ("version_number > 2", &[("a", "3"), ("a", "4")]),
        ("version_number >= '2' AND name = 'a'", &[("a", "3"), ("a", "2"), ("a", "4")]),
        ("source_path LIKE '%/1'", &[("a", "2")]),
        ("tags.k = 'v3'", &[("a", "4")]),
        ("tags.k ILIKE 'V%' and version_number < 3", &[("a", "2"), ("a", "1")]),
        ("run_id != 'r1' AND name = 'a'", &[("a", "3"), ("a", "1")]),
    ];
    for (filter, expected) in cases {
        let (found, _) = search_versions(&app, &format!("filter={}", encode(filter))).await;
        assert_eq!(found, pairs(expected), "{filter}");
    }

    let query = "order_by=name%20ASC&order_by=version_number%20ASC&max_results=3";
    let (first, token) = search_versions(&app, query).await;
    assert_eq!(first, pairs(&[("a", "1"), ("a", "2"), ("a", "3")]));
    assert_eq!(token.as_deref(), Some("eyJvZmZzZXQiOiAzfQ=="));
    let (second, token) =
        search_versions(&app, &format!("{query}&page_token=eyJvZmZzZXQiOiAzfQ%3D%3D")).await;
    assert_eq!((second, token), (pairs(&[("a", "4"), ("b", "1")]), None));
    let (oldest, _) = search_versions(&app, "order_by=creation_timestamp").await;
    assert_eq!(oldest, pairs(&[("a", "1"), ("a", "2"), ("a", "3"), ("a", "4"), ("b", "1")]));

    let invalid = [
        "filter=version_number%20%3D%202.5",
        "filter=version_number%20LIKE%20'2'",
        "filter=source_path%20IN%20('s3%3A%2F%2Fb%2F1')",
        "filter=creation_timestamp%20%3E%200",
        "filter=current_stage%20%3D%20'Production'",
        "order_by=run_id",
        "max_results=0",
        "max_results=200001",
    ];
    for query in invalid {
        let path = format!("model-versions/search?{query}");
        assert_eq!(fails(&app, "GET", &path, json!({})).await, code(INVALID), "{query}");
    }
}
