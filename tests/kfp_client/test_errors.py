"""Rejected requests: unknown ids (404), invalid filters, sort fields and page tokens (400),
invalid pipeline packages, run arguments and cron expressions (400). Each error body is a
`googleRpcStatus` whose message names the offending value."""

import kfp_server_api
import pytest
import yaml

from helpers import assert_api_error, compile_pipeline, filter_json, predicate
from sample_pipelines import add_pipeline, echo_pipeline, needs_marker_pipeline

UNKNOWN_ID = "no-such-id-7f3a"

UNKNOWN_ID_CALLS = {
    "get_run": lambda c: c.get_run(UNKNOWN_ID),
    "delete_run": lambda c: c.delete_run(UNKNOWN_ID),
    "archive_run": lambda c: c.archive_run(UNKNOWN_ID),
    "unarchive_run": lambda c: c.unarchive_run(UNKNOWN_ID),
    "terminate_run": lambda c: c.terminate_run(UNKNOWN_ID),
    "retry_run": lambda c: c.runs.run_service_retry_run(UNKNOWN_ID),
    "get_experiment": lambda c: c.get_experiment(experiment_id=UNKNOWN_ID),
    "archive_experiment": lambda c: c.archive_experiment(UNKNOWN_ID),
    "unarchive_experiment": lambda c: c.unarchive_experiment(UNKNOWN_ID),
    "delete_experiment": lambda c: c.delete_experiment(UNKNOWN_ID),
    "get_pipeline": lambda c: c.get_pipeline(UNKNOWN_ID),
    "delete_pipeline": lambda c: c.delete_pipeline(UNKNOWN_ID),
    "get_pipeline_version": lambda c: c.get_pipeline_version(UNKNOWN_ID, UNKNOWN_ID),
    "delete_pipeline_version": lambda c: c.delete_pipeline_version(UNKNOWN_ID, UNKNOWN_ID),
    "list_pipeline_versions": lambda c: c.list_pipeline_versions(UNKNOWN_ID),
    "get_recurring_run": lambda c: c.get_recurring_run(UNKNOWN_ID),
    "enable_recurring_run": lambda c: c.enable_recurring_run(UNKNOWN_ID),
    "disable_recurring_run": lambda c: c.disable_recurring_run(UNKNOWN_ID),
    "delete_recurring_run": lambda c: c.delete_recurring_run(UNKNOWN_ID),
}

LIST_CALLS = {
    "list_runs": lambda c, **kwargs: c.list_runs(**kwargs),
    "list_experiments": lambda c, **kwargs: c.list_experiments(**kwargs),
    "list_pipelines": lambda c, **kwargs: c.list_pipelines(**kwargs),
    "list_recurring_runs": lambda c, **kwargs: c.list_recurring_runs(**kwargs),
}


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Compiled packages: valid ones, one whose task names a missing component, and a file
    that is not valid YAML."""
    folder = tmp_path_factory.mktemp("packages")
    echo = compile_pipeline(echo_pipeline, folder / "echo.yaml")
    with open(echo) as f:
        spec = yaml.safe_load(f)
    spec["root"]["dag"]["tasks"]["echo"]["componentRef"]["name"] = "comp-missing"
    missing = folder / "missing-component.yaml"
    missing.write_text(yaml.safe_dump(spec))
    broken = folder / "broken.yaml"
    broken.write_text("pipelineInfo:\n  name: [unclosed\n")
    return {
        "echo": echo,
        "add": compile_pipeline(add_pipeline, folder / "add.yaml"),
        "needs-marker": compile_pipeline(needs_marker_pipeline, folder / "needs-marker.yaml"),
        "missing-component": str(missing),
        "broken": str(broken),
    }


@pytest.fixture(scope="module")
def experiment(client):
    return client.create_experiment("errors")


@pytest.mark.parametrize("call", UNKNOWN_ID_CALLS.values(), ids=UNKNOWN_ID_CALLS.keys())
def test_unknown_id(client, call):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        call(client)

    assert_api_error(excinfo, 404, 5, UNKNOWN_ID)


def test_run_unknown_pipeline_version(client, experiment, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="errors-echo")

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.run_pipeline(
            experiment.experiment_id,
            "unknown-version",
            pipeline_id=pipeline.pipeline_id,
            version_id=UNKNOWN_ID,
        )

    assert_api_error(excinfo, 404, 5, UNKNOWN_ID)


def test_run_unknown_experiment(client, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.run_pipeline(UNKNOWN_ID, "no-experiment", packages["echo"])

    assert_api_error(excinfo, 404, 5, UNKNOWN_ID)


@pytest.mark.parametrize("call", LIST_CALLS.values(), ids=LIST_CALLS.keys())
def test_invalid_filter_json(client, call):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        call(client, filter='{"predicates": [')

    assert_api_error(excinfo, 400, 3, "filter")


@pytest.mark.parametrize("call", LIST_CALLS.values(), ids=LIST_CALLS.keys())
def test_unknown_filter_field(client, call):
    unknown = filter_json(predicate("no_such_field", "EQUALS", string_value="x"))

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        call(client, filter=unknown)

    assert_api_error(excinfo, 400, 3, "no_such_field")


def test_unknown_state_in_filter(client):
    misspelled = filter_json(predicate("state", "EQUALS", string_value="SUCEEDED"))

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.list_runs(filter=misspelled)

    assert_api_error(excinfo, 400, 3, "SUCEEDED")


@pytest.mark.parametrize("call", LIST_CALLS.values(), ids=LIST_CALLS.keys())
def test_invalid_page_token(client, call):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        call(client, page_token="not-a-page-token")

    assert_api_error(excinfo, 400, 3, "not-a-page-token")


def test_upload_invalid_yaml(client, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.upload_pipeline(packages["broken"], pipeline_name="broken")

    assert_api_error(excinfo, 400, 3)
    assert client.get_pipeline_id("broken") is None


def test_upload_pipeline_missing_component(client, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.upload_pipeline(packages["missing-component"], pipeline_name="missing-component")

    assert_api_error(excinfo, 400, 3, "comp-missing")
    assert client.get_pipeline_id("missing-component") is None


def test_upload_version_missing_component(client, packages):
    pipeline = client.upload_pipeline(packages["echo"], pipeline_name="errors-versions")

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.upload_pipeline_version(
            packages["missing-component"], "bad", pipeline_id=pipeline.pipeline_id
        )

    assert_api_error(excinfo, 400, 3, "comp-missing")
    versions = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions
    assert [version.display_name for version in versions] == ["errors-versions"]


def test_run_missing_component(client, experiment, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.run_pipeline(experiment.experiment_id, "bad-spec", packages["missing-component"])

    assert_api_error(excinfo, 400, 3, "comp-missing")


def test_run_missing_required_parameter(client, experiment, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.run_pipeline(experiment.experiment_id, "no-log-dir", packages["needs-marker"])

    assert_api_error(excinfo, 400, 3, "log_dir")


def test_run_parameter_of_wrong_type(client, experiment, packages):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.run_pipeline(
            experiment.experiment_id, "bad-int", packages["add"], params={"a": "seven"}
        )

    assert_api_error(excinfo, 400, 3, "seven")


def test_rejected_runs_are_not_listed(client, experiment):
    response = client.list_runs(experiment_id=experiment.experiment_id)

    assert (response.runs or []) == []


@pytest.mark.parametrize("cron", ["not a cron", "*/2 * * *", "61 * * * * *"])
def test_invalid_cron_expression(client, experiment, packages, cron):
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.create_recurring_run(
            experiment.experiment_id,
            "bad-cron",
            cron_expression=cron,
            pipeline_package_path=packages["echo"],
        )

    assert_api_error(excinfo, 400, 3, cron)
    listed = client.list_recurring_runs(experiment_id=experiment.experiment_id)
    assert (listed.recurring_runs or []) == []
