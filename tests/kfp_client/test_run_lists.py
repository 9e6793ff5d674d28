"""`list_runs` through `kfp.Client`: filters in the kfp `Filter` JSON, sort orders, and
paging through every page, over seven finished runs of one experiment."""

import kfp_server_api
import pytest

from helpers import (
    assert_api_error,
    compile_pipeline,
    filter_json,
    list_all_runs,
    predicate,
    wait_for_state,
)
from sample_pipelines import echo_pipeline, fail_pipeline

# Runs in creation order: five that succeed and two that fail.
SUCCEEDING = ["run-c", "run-a", "run-e", "run-b", "run-d"]
FAILING = ["fail-1", "fail-2"]
CREATION_ORDER = SUCCEEDING + FAILING


@pytest.fixture(scope="module")
def listing(client, tmp_path_factory):
    """Create the seven runs one after another, wait for all, and return them by name."""
    folder = tmp_path_factory.mktemp("listing")
    echo_package = compile_pipeline(echo_pipeline, folder / "echo.yaml")
    fail_package = compile_pipeline(fail_pipeline, folder / "fail.yaml")
    experiment = client.create_experiment("listing")
    created = {}
    for name in CREATION_ORDER:
        package = echo_package if name in SUCCEEDING else fail_package
        params = {"text": name} if name in SUCCEEDING else {}
        created[name] = client.run_pipeline(experiment.experiment_id, name, package, params)
    runs = {name: wait_for_state(client, run.run_id) for name, run in created.items()}
    return experiment, runs


def names(response) -> list:
    return [run.display_name for run in response.runs or []]


def list_names(client, experiment, **kwargs) -> list:
    return names(client.list_runs(experiment_id=experiment.experiment_id, page_size=50, **kwargs))


def test_listing_runs_finished(listing):
    _, runs = listing
    assert {name: run.state for name, run in runs.items()} == {
        **{name: "SUCCEEDED" for name in SUCCEEDING},
        **{name: "FAILED" for name in FAILING},
    }


def test_list_runs_of_experiment(client, listing):
    experiment, runs = listing

    response = client.list_runs(experiment_id=experiment.experiment_id, page_size=50)

    assert sorted(names(response)) == sorted(CREATION_ORDER)
    assert response.total_size == 7
    assert not response.next_page_token
    assert {run.run_id for run in response.runs} == {run.run_id for run in runs.values()}
    for listed in response.runs:
        assert listed.experiment_id == experiment.experiment_id
        assert listed.state == runs[listed.display_name].state
        assert listed.storage_state == "AVAILABLE"


def test_list_runs_sort_orders(client, listing):
    experiment, _ = listing

    assert list_names(client, experiment, sort_by="created_at") == CREATION_ORDER
    assert list_names(client, experiment, sort_by="created_at desc") == CREATION_ORDER[::-1]
    assert list_names(client, experiment, sort_by="display_name") == sorted(CREATION_ORDER)
    assert list_names(client, experiment, sort_by="display_name asc") == sorted(CREATION_ORDER)
    assert list_names(client, experiment, sort_by="display_name desc") == sorted(
        CREATION_ORDER, reverse=True
    )


PAGE_CASES = [
    pytest.param(
        "display_name",
        3,
        [["fail-1", "fail-2", "run-a"], ["run-b", "run-c", "run-d"], ["run-e"]],
        id="by-name-3",
    ),
    pytest.param(
        "created_at desc",
        2,
        [["fail-2", "fail-1"], ["run-d", "run-b"], ["run-e", "run-a"], ["run-c"]],
        id="newest-first-2",
    ),
    pytest.param("display_name", 7, [sorted(CREATION_ORDER)], id="one-full-page"),
]


@pytest.mark.parametrize("sort_by, page_size, expected_pages", PAGE_CASES)
def test_list_runs_pages(client, listing, sort_by, page_size, expected_pages):
    experiment, _ = listing

    pages = list_all_runs(
        client, page_size=page_size, experiment_id=experiment.experiment_id, sort_by=sort_by
    )

    assert [names(page) for page in pages] == expected_pages
    assert [page.total_size for page in pages] == [7] * len(expected_pages)
    assert [bool(page.next_page_token) for page in pages] == [True] * (len(pages) - 1) + [False]


def test_list_runs_page_token_keeps_filter(client, listing):
    experiment, _ = listing
    succeeded = filter_json(predicate("state", "EQUALS", string_value="SUCCEEDED"))

    pages = list_all_runs(
        client,
        page_size=2,
        experiment_id=experiment.experiment_id,
        sort_by="display_name",
        filter=succeeded,
    )

    assert [names(page) for page in pages] == [["run-a", "run-b"], ["run-c", "run-d"], ["run-e"]]
    assert [page.total_size for page in pages] == [5, 5, 5]


FILTER_CASES = [
    pytest.param(
        [predicate("state", "EQUALS", string_value="FAILED")], FAILING, id="state-equals"
    ),
    pytest.param(
        [predicate("state", "NOT_EQUALS", string_value="FAILED")],
        sorted(SUCCEEDING),
        id="state-not-equals",
    ),
    pytest.param(
        [predicate("state", "IN", string_values={"values": ["FAILED", "CANCELED"]})],
        FAILING,
        id="state-in",
    ),
    pytest.param(
        [predicate("display_name", "EQUALS", string_value="run-e")], ["run-e"], id="name-equals"
    ),
    pytest.param(
        [predicate("display_name", "IS_SUBSTRING", string_value="run-")],
        sorted(SUCCEEDING),
        id="name-substring",
    ),
    pytest.param(
        [predicate("display_name", "IN", string_values={"values": ["run-a", "fail-2", "none"]})],
        ["fail-2", "run-a"],
        id="name-in",
    ),
    pytest.param(
        [predicate("display_name", "GREATER_THAN", string_value="run-c")],
        ["run-d", "run-e"],
        id="name-greater-than",
    ),
    pytest.param(
        [predicate("display_name", "LESS_THAN_EQUALS", string_value="fail-2")],
        FAILING,
        id="name-less-than-equals",
    ),
    pytest.param(
        [
            predicate("state", "EQUALS", string_value="SUCCEEDED"),
            predicate("display_name", "NOT_EQUALS", string_value="run-a"),
        ],
        ["run-b", "run-c", "run-d", "run-e"],
        id="two-predicates",
    ),
    # The form the kfp client itself sends: numeric operation, camelCase value name.
    pytest.param(
        [{"key": "display_name", "operation": 1, "stringValue": "run-b"}],
        ["run-b"],
        id="client-form",
    ),
    pytest.param(
        [predicate("storage_state", "EQUALS", string_value="ARCHIVED")],
        [],
        id="storage-state-none",
    ),
]


@pytest.mark.parametrize("predicates, expected", FILTER_CASES)
def test_list_runs_filters(client, listing, predicates, expected):
    experiment, _ = listing

    response = client.list_runs(
        experiment_id=experiment.experiment_id,
        sort_by="display_name",
        page_size=50,
        filter=filter_json(*predicates),
    )

    assert names(response) == expected
    # Protobuf JSON leaves a zero out, so the client reads it as None.
    assert (response.total_size or 0) == len(expected)


def test_list_runs_created_at_filter(client, listing):
    experiment, runs = listing
    pivot = runs["run-e"].created_at.isoformat()

    after = list_names(
        client,
        experiment,
        sort_by="created_at",
        filter=filter_json(predicate("created_at", "GREATER_THAN", timestamp_value=pivot)),
    )
    up_to = list_names(
        client,
        experiment,
        sort_by="created_at",
        filter=filter_json(predicate("created_at", "LESS_THAN_EQUALS", timestamp_value=pivot)),
    )

    assert after == ["run-b", "run-d", "fail-1", "fail-2"]
    assert up_to == ["run-c", "run-a", "run-e"]


def test_list_runs_across_experiments(client, listing):
    experiment, runs = listing
    other = client.create_experiment("listing-other")
    by_name = filter_json(predicate("display_name", "EQUALS", string_value="run-a"))

    everywhere = client.list_runs(filter=by_name, page_size=50)
    in_other = client.list_runs(experiment_id=other.experiment_id, page_size=50)

    assert [run.run_id for run in everywhere.runs] == [runs["run-a"].run_id]
    assert names(in_other) == []


def test_list_runs_unknown_sort_field(client, listing):
    experiment, _ = listing

    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.list_runs(experiment_id=experiment.experiment_id, sort_by="no_such_field")

    assert_api_error(excinfo, 400, 3, "no_such_field")
