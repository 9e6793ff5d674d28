"""Runs through `kfp.Client`: create from a function or a package, wait, read task details,
failures, terminate, and archive, unarchive and delete."""

import base64
import json
import urllib.error

import kfp_server_api
import pytest

from helpers import (
    api_get,
    assert_api_error,
    compile_pipeline,
    filter_json,
    pipeline_file,
    output_parameters,
    predicate,
    raw_task_details,
    task_details,
    task_states,
    wait_for,
    wait_for_state,
)
from sample_pipelines import add_pipeline, echo_pipeline, fail_pipeline


def test_create_run_from_pipeline_func(client, weir_server):
    result = client.create_run_from_pipeline_func(
        add_pipeline, arguments={"a": 5, "b": 7}, run_name="add-run", experiment_name="funcs"
    )

    # RunPipelineResult.wait_for_run_completion polls every 5 s, so this takes at least 5 s.
    run = result.wait_for_run_completion(timeout=60)

    assert run.run_id == result.run_id
    assert run.state == "SUCCEEDED"
    assert run.display_name == "add-run"
    assert run.experiment_id == client.get_experiment(experiment_name="funcs").experiment_id
    assert run.runtime_config.parameters == {"a": 5, "b": 7}
    assert run.created_at <= run.finished_at
    assert task_states(run) == {"add": "SUCCEEDED", "double": "SUCCEEDED"}
    assert output_parameters(weir_server, run.run_id) == {
        "add": {"Output": 12},
        "double": {"Output": 24},
    }
    tasks = raw_task_details(weir_server, run.run_id)
    assert tasks["add"]["input_parameters"] == {"a": 5, "b": 7}
    assert tasks["double"]["input_parameters"] == {"x": 12}


def test_create_run_from_pipeline_package(client, weir_server, tmp_path):
    package = compile_pipeline(echo_pipeline, tmp_path / "echo.yaml")

    result = client.create_run_from_pipeline_package(
        package, arguments={"text": "from package"}, run_name="package-run"
    )
    run = client.wait_for_run_completion(result.run_id, timeout=60, sleep_duration=1)

    assert run.state == "SUCCEEDED"
    assert run.display_name == "package-run"
    # Without an experiment the client puts the run in the experiment named "Default".
    assert run.experiment_id == client.get_experiment(experiment_name="Default").experiment_id
    assert run.runtime_config.parameters == {"text": "from package"}
    assert run.pipeline_spec["pipelineInfo"]["name"] == "echo"
    assert run.pipeline_version_reference is None
    assert task_states(run) == {"echo": "SUCCEEDED"}
    assert output_parameters(weir_server, run.run_id) == {"echo": {"out": "from package"}}


@pytest.fixture(scope="module")
def artifacts_run(client):
    """A finished run of tests/pipelines/artifacts.yaml with count = 3."""
    experiment = client.create_experiment("details")
    run = client.run_pipeline(
        experiment.experiment_id, "artifacts-run", pipeline_file("artifacts"), params={"count": 3}
    )
    return wait_for_state(client, run.run_id)


def test_get_run_task_details(client, artifacts_run):
    run = client.get_run(artifacts_run.run_id)

    assert run.state == "SUCCEEDED"
    assert run.error is None
    assert [status.state for status in run.state_history] == ["PENDING", "RUNNING", "SUCCEEDED"]
    details = task_details(run)
    assert sorted(details) == ["summarize", "write-numbers"]
    writer = details["write-numbers"]
    summarizer = details["summarize"]
    for task in (writer, summarizer):
        assert task.run_id == run.run_id
        assert task.task_id
        assert task.state == "SUCCEEDED"
        assert task.error is None
        assert task.start_time is not None
        assert task.start_time <= task.end_time
    assert writer.task_id != summarizer.task_id
    assert writer.end_time <= summarizer.start_time
    assert sorted(writer.outputs) == ["bundle", "numbers"]
    assert sorted(summarizer.inputs) == ["bundle", "numbers"]


def test_get_run_weir_task_fields(weir_server, artifacts_run):
    tasks = raw_task_details(weir_server, artifacts_run.run_id)

    writer = tasks["write-numbers"]
    summarizer = tasks["summarize"]
    for task, path in ((writer, "write-numbers"), (summarizer, "summarize")):
        assert task["path"] == path
        assert task["kind"] == "container"
        assert task["attempts"] == 1
        assert task["cached"] is False
        assert task["pod_name"] == task["task_id"]
    numbers = writer["outputs"]["numbers"]["artifacts"]
    bundle = writer["outputs"]["bundle"]["artifacts"]
    assert [(a["name"], a["type"], a["metadata"]) for a in numbers] == [
        ("numbers", "system.Dataset", {"rows": 3, "format": "lines"})
    ]
    assert [(a["name"], a["type"]) for a in bundle] == [("bundle", "system.Artifact")]
    # The consumer reads the producer's artifacts: the same URIs.
    assert [a["uri"] for a in summarizer["inputs"]["numbers"]["artifacts"]] == [
        numbers[0]["uri"]
    ]
    assert [a["uri"] for a in summarizer["inputs"]["bundle"]["artifacts"]] == [bundle[0]["uri"]]
    assert writer["input_parameters"] == {"count": 3}
    assert summarizer["output_parameters"] == {"total": 6, "rows": 3, "bundle_files": "a.txt,b.txt"}


def test_read_artifact(weir_server, artifacts_run):
    writer = task_details(artifacts_run)["write-numbers"]
    node = f"runs/{artifacts_run.run_id}/nodes/{writer.pod_name}/artifacts"

    numbers = api_get(weir_server, f"{node}/numbers:read")

    assert base64.b64decode(numbers["data"]) == b"1\n2\n3\n"
    # A directory artifact cannot be returned as one file.
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        api_get(weir_server, f"{node}/bundle:read")
    assert excinfo.value.code == 400
    assert json.loads(excinfo.value.read())["code"] == 9


def test_failed_run(client, tmp_path):
    experiment = client.create_experiment("failures")
    package = compile_pipeline(fail_pipeline, tmp_path / "fail.yaml")
    run = client.run_pipeline(experiment.experiment_id, "fail-run", package, params={"code": 3})

    run = client.wait_for_run_completion(run.run_id, timeout=60, sleep_duration=1)

    assert run.state == "FAILED"
    assert run.error.code == 2
    assert 'task "exit-with" failed' in run.error.message
    assert "exited with code 3" in run.error.message
    assert task_states(run) == {"exit-with": "FAILED", "echo": "SKIPPED"}
    failed = task_details(run)["exit-with"]
    assert "exited with code 3" in failed.error.message


def test_terminate_run(client):
    experiment = client.create_experiment("terminate")
    run = client.run_pipeline(experiment.experiment_id, "sleeper", pipeline_file("sleep"))

    wait_for(
        lambda: task_states(client.get_run(run.run_id)).get("sleep-for") == "RUNNING",
        "task sleep-for to run",
    )
    assert client.terminate_run(run.run_id) == {}
    run = wait_for_state(client, run.run_id, timeout=30)

    assert run.state == "CANCELED"
    assert run.finished_at is not None
    # "after" never starts; the engine records it as CANCELED.
    assert task_states(run) == {"before": "SUCCEEDED", "sleep-for": "CANCELED", "after": "CANCELED"}
    assert run.error.code == 1


def test_archive_unarchive_and_delete_run(client, tmp_path):
    experiment = client.create_experiment("storage")
    package = compile_pipeline(echo_pipeline, tmp_path / "echo.yaml")
    kept_run = client.run_pipeline(experiment.experiment_id, "kept", package)
    deleted_run = client.run_pipeline(experiment.experiment_id, "deleted", package)
    for run in (kept_run, deleted_run):
        wait_for_state(client, run.run_id)
    archived = filter_json(predicate("storage_state", "EQUALS", string_value="ARCHIVED"))

    def listed(**kwargs) -> list:
        response = client.list_runs(
            experiment_id=experiment.experiment_id, sort_by="display_name", **kwargs
        )
        return [run.display_name for run in response.runs or []]

    assert client.archive_run(deleted_run.run_id) == {}
    assert client.get_run(deleted_run.run_id).storage_state == "ARCHIVED"
    assert client.get_run(kept_run.run_id).storage_state == "AVAILABLE"
    assert listed(filter=archived) == ["deleted"]
    assert listed() == ["deleted", "kept"]

    assert client.unarchive_run(deleted_run.run_id) == {}
    assert client.get_run(deleted_run.run_id).storage_state == "AVAILABLE"
    assert listed(filter=archived) == []

    assert client.delete_run(deleted_run.run_id) == {}
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_run(deleted_run.run_id)
    assert_api_error(excinfo, 404, 5, deleted_run.run_id)
    assert listed() == ["kept"]
