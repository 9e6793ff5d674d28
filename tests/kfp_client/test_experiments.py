"""Experiments through `kfp.Client`: create, get, list, archive, unarchive and delete."""

import kfp_server_api
import pytest

from helpers import (
    assert_api_error,
    compile_pipeline,
    filter_json,
    predicate,
    wait_for_state,
)
from sample_pipelines import echo_pipeline


def names(response) -> list:
    return [experiment.display_name for experiment in response.experiments or []]


def test_create_experiment(client):
    experiment = client.create_experiment("create-exp", description="first experiment")

    assert experiment.experiment_id
    assert experiment.display_name == "create-exp"
    assert experiment.description == "first experiment"
    assert experiment.storage_state == "AVAILABLE"
    assert experiment.created_at is not None
    # The client looks the name up first, so a second call returns the same experiment.
    again = client.create_experiment("create-exp", description="ignored")
    assert again.experiment_id == experiment.experiment_id
    assert again.description == "first experiment"


def test_get_experiment_by_id_and_name(client):
    created = client.create_experiment("get-exp", description="to get")

    by_id = client.get_experiment(experiment_id=created.experiment_id)
    by_name = client.get_experiment(experiment_name="get-exp")

    for experiment in (by_id, by_name):
        assert experiment.experiment_id == created.experiment_id
        assert experiment.display_name == "get-exp"
        assert experiment.description == "to get"
        assert experiment.storage_state == "AVAILABLE"
        assert experiment.created_at == created.created_at
    with pytest.raises(ValueError, match="No experiment is found with name no-such-exp"):
        client.get_experiment(experiment_name="no-such-exp")


def test_list_experiments_filter_sort_and_pages(client):
    created = [client.create_experiment(f"list-exp-{suffix}") for suffix in "bca"]
    substring = filter_json(predicate("display_name", "IS_SUBSTRING", string_value="list-exp-"))

    ascending = client.list_experiments(filter=substring, sort_by="display_name", page_size=10)
    descending = client.list_experiments(
        filter=substring, sort_by="display_name desc", page_size=10
    )
    by_creation = client.list_experiments(filter=substring, sort_by="created_at", page_size=10)

    assert names(ascending) == ["list-exp-a", "list-exp-b", "list-exp-c"]
    assert ascending.total_size == 3
    assert not ascending.next_page_token
    assert names(descending) == ["list-exp-c", "list-exp-b", "list-exp-a"]
    assert names(by_creation) == ["list-exp-b", "list-exp-c", "list-exp-a"]
    assert [e.experiment_id for e in by_creation.experiments] == [
        e.experiment_id for e in created
    ]

    first = client.list_experiments(filter=substring, sort_by="display_name", page_size=2)
    assert names(first) == ["list-exp-a", "list-exp-b"]
    assert first.total_size == 3
    assert first.next_page_token
    second = client.list_experiments(
        filter=substring, sort_by="display_name", page_size=2, page_token=first.next_page_token
    )
    assert names(second) == ["list-exp-c"]
    assert second.total_size == 3
    assert not second.next_page_token


def test_list_experiments_filter_forms(client):
    client.create_experiment("form-exp-one")
    client.create_experiment("form-exp-two")
    # The kfp client itself sends numeric operations and camelCase value names.
    numeric = filter_json({"key": "display_name", "operation": 1, "stringValue": "form-exp-two"})
    in_list = filter_json(
        predicate(
            "display_name",
            "IN",
            string_values={"values": ["form-exp-one", "form-exp-two", "form-exp-none"]},
        )
    )
    not_equal = filter_json(
        predicate("display_name", "IS_SUBSTRING", string_value="form-exp-"),
        predicate("display_name", "NOT_EQUALS", string_value="form-exp-one"),
    )

    assert names(client.list_experiments(filter=numeric)) == ["form-exp-two"]
    assert names(client.list_experiments(filter=in_list, sort_by="display_name")) == [
        "form-exp-one",
        "form-exp-two",
    ]
    assert names(client.list_experiments(filter=not_equal)) == ["form-exp-two"]


def test_archive_and_unarchive_experiment(client, tmp_path):
    experiment = client.create_experiment("archive-exp")
    package = compile_pipeline(echo_pipeline, tmp_path / "echo.yaml")
    run = client.run_pipeline(experiment.experiment_id, "archive-exp-run", package)
    run = wait_for_state(client, run.run_id)
    assert client.get_experiment(experiment.experiment_id).last_run_created_at == run.created_at
    archived_filter = filter_json(
        predicate("storage_state", "EQUALS", string_value="ARCHIVED"),
        predicate("display_name", "EQUALS", string_value="archive-exp"),
    )

    assert client.archive_experiment(experiment.experiment_id) == {}
    assert client.get_experiment(experiment.experiment_id).storage_state == "ARCHIVED"
    assert client.get_run(run.run_id).storage_state == "ARCHIVED"
    assert names(client.list_experiments(filter=archived_filter)) == ["archive-exp"]

    assert client.unarchive_experiment(experiment.experiment_id) == {}
    assert client.get_experiment(experiment.experiment_id).storage_state == "AVAILABLE"
    # Unarchiving an experiment leaves its runs archived.
    assert client.get_run(run.run_id).storage_state == "ARCHIVED"
    assert names(client.list_experiments(filter=archived_filter)) == []


def test_delete_experiment(client):
    experiment = client.create_experiment("delete-exp")

    assert client.delete_experiment(experiment.experiment_id) == {}

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_experiment(experiment_id=experiment.experiment_id)
    assert_api_error(excinfo, 404, 5, experiment.experiment_id)
    by_name = filter_json(predicate("display_name", "EQUALS", string_value="delete-exp"))
    response = client.list_experiments(filter=by_name)
    assert names(response) == []
    # Protobuf JSON leaves a zero out, so the client reads it as None.
    assert response.total_size in (0, None)
