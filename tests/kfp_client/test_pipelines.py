"""Pipelines and pipeline versions through `kfp.Client`: upload, get, list, run a version,
and delete."""

import kfp_server_api
import pytest

from helpers import (
    assert_api_error,
    compile_pipeline,
    filter_json,
    predicate,
    task_states,
    wait_for_state,
)
from sample_pipelines import echo_pipeline, echo_shout_pipeline


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Compiled packages: `echo` (one task) and `echo-shout` (two tasks)."""
    folder = tmp_path_factory.mktemp("packages")
    return {
        "echo": compile_pipeline(echo_pipeline, folder / "echo.yaml"),
        "echo-shout": compile_pipeline(echo_shout_pipeline, folder / "echo-shout.yaml"),
    }


def version_names(response) -> list:
    return [version.display_name for version in response.pipeline_versions or []]


def pipeline_names(response) -> list:
    return [pipeline.display_name for pipeline in response.pipelines or []]


def test_upload_pipeline(client, packages):
    pipeline = client.upload_pipeline(
        packages["echo"], pipeline_name="upload-me", description="echoes its input"
    )

    assert pipeline.pipeline_id
    assert pipeline.name == "upload-me"
    assert pipeline.display_name == "upload-me"
    assert pipeline.description == "echoes its input"
    assert pipeline.created_at is not None
    fetched = client.get_pipeline(pipeline.pipeline_id)
    assert fetched.pipeline_id == pipeline.pipeline_id
    assert fetched.display_name == "upload-me"
    assert fetched.description == "echoes its input"
    assert client.get_pipeline_id("upload-me") == pipeline.pipeline_id
    assert client.get_pipeline_id("no-such-pipeline") is None

    # The upload also creates the first version, named after the pipeline.
    versions = client.list_pipeline_versions(pipeline.pipeline_id)
    assert version_names(versions) == ["upload-me"]
    assert versions.total_size == 1
    version = client.get_pipeline_version(
        pipeline.pipeline_id, versions.pipeline_versions[0].pipeline_version_id
    )
    assert version.pipeline_id == pipeline.pipeline_id
    assert version.pipeline_spec["pipelineInfo"]["name"] == "echo"
    assert sorted(version.pipeline_spec["root"]["dag"]["tasks"]) == ["echo"]


def test_upload_pipeline_name_from_package(client, packages):
    # Without a name the client takes pipelineInfo.name from the package.
    pipeline = client.upload_pipeline(packages["echo-shout"])

    assert pipeline.display_name == "echo-shout"
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.upload_pipeline(packages["echo-shout"])
    assert_api_error(excinfo, 409, 6, "echo-shout")


def test_upload_pipeline_version(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="versioned")

    by_id = client.upload_pipeline_version(
        packages["echo-shout"], "v2", pipeline_id=pipeline.pipeline_id, description="shouts"
    )
    by_name = client.upload_pipeline_version(packages["echo"], "v3", pipeline_name="versioned")

    assert by_id.pipeline_id == pipeline.pipeline_id
    assert by_id.pipeline_version_id
    assert by_id.display_name == "v2"
    assert by_id.description == "shouts"
    assert by_name.pipeline_id == pipeline.pipeline_id
    assert by_name.display_name == "v3"
    fetched = client.get_pipeline_version(pipeline.pipeline_id, by_id.pipeline_version_id)
    assert fetched.display_name == "v2"
    assert sorted(fetched.pipeline_spec["root"]["dag"]["tasks"]) == ["echo", "shout"]
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.upload_pipeline_version(packages["echo"], "v2", pipeline_id=pipeline.pipeline_id)
    assert_api_error(excinfo, 409, 6, "v2")


def test_list_pipeline_versions(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="many-versions")
    pipeline_id = pipeline.pipeline_id
    for name in ("v-b", "v-a"):
        client.upload_pipeline_version(packages["echo"], name, pipeline_id=pipeline_id)

    by_creation = client.list_pipeline_versions(pipeline_id, sort_by="created_at")
    by_name_desc = client.list_pipeline_versions(pipeline_id, sort_by="display_name desc")
    filtered = client.list_pipeline_versions(
        pipeline_id, filter=filter_json(predicate("display_name", "EQUALS", string_value="v-a"))
    )
    first = client.list_pipeline_versions(pipeline_id, sort_by="display_name", page_size=2)
    second = client.list_pipeline_versions(
        pipeline_id, sort_by="display_name", page_size=2, page_token=first.next_page_token
    )

    assert version_names(by_creation) == ["many-versions", "v-b", "v-a"]
    assert by_creation.total_size == 3
    assert version_names(by_name_desc) == ["v-b", "v-a", "many-versions"]
    assert version_names(filtered) == ["v-a"]
    assert filtered.total_size == 1
    assert version_names(first) == ["many-versions", "v-a"]
    assert first.next_page_token
    assert version_names(second) == ["v-b"]
    assert not second.next_page_token
    assert all(version.pipeline_id == pipeline_id for version in by_creation.pipeline_versions)


def test_list_pipelines(client, packages):
    for name in ("listed-b", "listed-c", "listed-a"):
        client.upload_pipeline(packages["echo"], pipeline_name=name)
    substring = filter_json(predicate("display_name", "IS_SUBSTRING", string_value="listed-"))

    ascending = client.list_pipelines(filter=substring, sort_by="display_name")
    by_creation = client.list_pipelines(filter=substring, sort_by="created_at desc")
    first = client.list_pipelines(filter=substring, sort_by="display_name", page_size=2)
    second = client.list_pipelines(
        filter=substring, sort_by="display_name", page_size=2, page_token=first.next_page_token
    )

    assert pipeline_names(ascending) == ["listed-a", "listed-b", "listed-c"]
    assert ascending.total_size == 3
    assert pipeline_names(by_creation) == ["listed-a", "listed-c", "listed-b"]
    assert pipeline_names(first) == ["listed-a", "listed-b"]
    assert first.total_size == 3
    assert first.next_page_token
    assert pipeline_names(second) == ["listed-c"]
    assert not second.next_page_token


def test_run_pipeline_with_version_id(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="run-by-version")
    first_version = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
    second_version = client.upload_pipeline_version(
        packages["echo-shout"], "shouting", pipeline_id=pipeline.pipeline_id
    )
    experiment = client.create_experiment("run-by-version")

    runs = {}
    for version in (first_version, second_version):
        run = client.run_pipeline(
            experiment.experiment_id,
            f"run-{version.display_name}",
            pipeline_id=pipeline.pipeline_id,
            version_id=version.pipeline_version_id,
            params={"text": "hi"},
        )
        runs[version.display_name] = wait_for_state(client, run.run_id)

    for version in (first_version, second_version):
        run = runs[version.display_name]
        assert run.state == "SUCCEEDED"
        assert run.experiment_id == experiment.experiment_id
        assert run.pipeline_version_reference.pipeline_id == pipeline.pipeline_id
        assert run.pipeline_version_reference.pipeline_version_id == version.pipeline_version_id
        assert run.runtime_config.parameters == {"text": "hi"}
    assert task_states(runs["run-by-version"]) == {"echo": "SUCCEEDED"}
    assert task_states(runs["shouting"]) == {"echo": "SUCCEEDED", "shout": "SUCCEEDED"}


def test_delete_pipeline_version_and_pipeline(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="to-delete")
    pipeline_id = pipeline.pipeline_id
    extra = client.upload_pipeline_version(packages["echo"], "extra", pipeline_id=pipeline_id)
    first = client.list_pipeline_versions(pipeline_id, sort_by="created_at").pipeline_versions[0]

    # A pipeline with versions is deleted only with cascade, which the client does not send.
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.delete_pipeline(pipeline_id)
    assert_api_error(excinfo, 400, 9, pipeline_id)

    assert client.delete_pipeline_version(pipeline_id, extra.pipeline_version_id) == {}
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_pipeline_version(pipeline_id, extra.pipeline_version_id)
    assert_api_error(excinfo, 404, 5, extra.pipeline_version_id)
    assert version_names(client.list_pipeline_versions(pipeline_id)) == ["to-delete"]

    assert client.delete_pipeline_version(pipeline_id, first.pipeline_version_id) == {}
    assert client.delete_pipeline(pipeline_id) == {}
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_pipeline(pipeline_id)
    assert_api_error(excinfo, 404, 5, pipeline_id)
    assert client.get_pipeline_id("to-delete") is None


def test_delete_pipeline_cascade(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="cascade")
    version = client.upload_pipeline_version(
        packages["echo"], "cascade-v2", pipeline_id=pipeline.pipeline_id
    )

    client.pipelines.pipeline_service_delete_pipeline(pipeline.pipeline_id, cascade=True)

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id)
    assert excinfo.value.status == 404
    assert client.get_pipeline_id("cascade") is None
