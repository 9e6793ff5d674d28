"""`search_runs` through the `mlflow` client: filters on metrics, params, tags and attributes,
`order_by`, page tokens, view types, and the fluent API's DataFrame."""

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType

from tracking_helpers import follow_pages, unique_name

BASE_START_TIME = 1_700_000_000_000

# One row per run: name, params lr and optimizer, metrics acc and loss, tag team, and the end
# status (None: still running). `run-e` has no `acc`, to show where runs without the ordered
# metric go.
SEEDED_RUNS = [
    ("run-a", "0.1", "sgd", 0.5, 0.9, "red", "FINISHED"),
    ("run-b", "0.01", "adam", 0.75, 0.4, "blue", "FINISHED"),
    ("run-c", "0.001", "adam", 0.92, 0.2, "red", "FINISHED"),
    ("run-d", "0.01", "sgd", 0.61, 0.6, "blue", "FAILED"),
    ("run-e", "0.05", "adam", None, 0.3, "green", None),
]


@pytest.fixture(scope="module")
def seeded(client):
    """An experiment containing `SEEDED_RUNS`, started one second apart in the order listed.
    Returns the experiment id and a map of run name to run id."""
    experiment_id = client.create_experiment(unique_name("run-search"))
    run_ids = {}
    for index, (name, lr, optimizer, acc, loss, team, status) in enumerate(SEEDED_RUNS):
        start_time = BASE_START_TIME + index * 1000
        run = client.create_run(experiment_id, start_time=start_time, run_name=name)
        run_id = run.info.run_id
        metrics = [Metric("loss", loss, start_time, 0)]
        if acc is not None:
            metrics.append(Metric("acc", acc, start_time, 0))
        client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param("lr", lr), Param("optimizer", optimizer)],
            tags=[RunTag("team", team)],
        )
        if status is not None:
            client.set_terminated(run_id, status=status, end_time=start_time + 500)
        run_ids[name] = run_id
    return experiment_id, run_ids


def search_names(client, experiment_id, filter_string="", order_by=None, **kwargs) -> list:
    runs = client.search_runs(
        [experiment_id], filter_string=filter_string, order_by=order_by, **kwargs
    )
    return [run.info.run_name for run in runs]


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        # No order_by: newest start time first.
        ("", None, ["run-e", "run-d", "run-c", "run-b", "run-a"]),
        ("metrics.acc > 0.6", ["metrics.acc DESC"], ["run-c", "run-b", "run-d"]),
        ("metrics.acc >= 0.61", ["metrics.acc ASC"], ["run-d", "run-b", "run-c"]),
        ("metrics.loss = 0.4", None, ["run-b"]),
        ("metrics.acc != 0.5", ["metrics.acc ASC"], ["run-d", "run-b", "run-c"]),
        ("params.optimizer = 'adam'", ["attributes.start_time ASC"], ["run-b", "run-c", "run-e"]),
        ("params.optimizer != 'adam'", None, ["run-d", "run-a"]),
        # Ties on lr are broken by start time, newest first.
        ("params.lr LIKE '0.0%'", ["params.lr ASC"], ["run-c", "run-d", "run-b", "run-e"]),
        ("tags.team = 'red'", None, ["run-c", "run-a"]),
        ("tags.team ILIKE 'B%'", ["attributes.run_name DESC"], ["run-d", "run-b"]),
        ("attributes.run_name = 'run-d'", None, ["run-d"]),
        ("run_name LIKE 'run-%'", ["run_name ASC"], ["run-a", "run-b", "run-c", "run-d", "run-e"]),
        ("attributes.status = 'FAILED'", None, ["run-d"]),
        ("attributes.status = 'RUNNING'", None, ["run-e"]),
        (f"attributes.start_time >= {BASE_START_TIME + 2000}", None, ["run-e", "run-d", "run-c"]),
        (f"attributes.end_time < {BASE_START_TIME + 2000}", None, ["run-b", "run-a"]),
        (
            "metrics.loss <= 0.4 and params.optimizer != 'sgd'",
            ["metrics.loss ASC"],
            ["run-c", "run-e", "run-b"],
        ),
        (
            "metrics.acc < 0.8 AND tags.team = 'blue' AND params.lr = '0.01'",
            ["metrics.loss DESC"],
            ["run-d", "run-b"],
        ),
        ("params.lr = '0.2'", None, []),
        ("tags.missing = 'x'", None, []),
    ],
)
def test_filter_and_order(client, seeded, filter_string, order_by, expected):
    experiment_id, _ = seeded
    assert search_names(client, experiment_id, filter_string, order_by) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # Runs without the metric come last in either direction.
        (["metrics.acc ASC"], ["run-a", "run-d", "run-b", "run-c", "run-e"]),
        (["metrics.acc DESC"], ["run-c", "run-b", "run-d", "run-a", "run-e"]),
        (
            ["params.optimizer ASC", "metrics.loss DESC"],
            ["run-b", "run-e", "run-c", "run-a", "run-d"],
        ),
        (
            ["tags.team DESC", "attributes.start_time ASC"],
            ["run-a", "run-c", "run-e", "run-b", "run-d"],
        ),
        (["attributes.end_time DESC"], ["run-d", "run-c", "run-b", "run-a", "run-e"]),
    ],
)
def test_order_by(client, seeded, order_by, expected):
    experiment_id, _ = seeded
    assert search_names(client, experiment_id, order_by=order_by) == expected


def test_filter_run_id_in(client, seeded):
    experiment_id, run_ids = seeded
    id_list = f"('{run_ids['run-a']}', '{run_ids['run-c']}')"

    found = search_names(client, experiment_id, f"attributes.run_id IN {id_list}")
    assert found == ["run-c", "run-a"]


def test_search_returns_run_data(client, seeded):
    experiment_id, run_ids = seeded

    [run] = client.search_runs([experiment_id], filter_string="attributes.run_name = 'run-b'")
    assert run.info.run_id == run_ids["run-b"]
    assert run.info.status == "FINISHED"
    assert run.info.start_time == BASE_START_TIME + 1000
    assert run.info.end_time == BASE_START_TIME + 1500
    assert run.data.params == {"lr": "0.01", "optimizer": "adam"}
    assert run.data.metrics == {"acc": 0.75, "loss": 0.4}
    assert run.data.tags == {"team": "blue", "mlflow.runName": "run-b"}


def test_search_pages(client, seeded):
    experiment_id, _ = seeded

    pages = follow_pages(
        lambda token: client.search_runs(
            [experiment_id],
            order_by=["attributes.start_time ASC"],
            max_results=2,
            page_token=token,
        )
    )
    page_names = [[run.info.run_name for run in page] for page in pages]
    assert page_names == [["run-a", "run-b"], ["run-c", "run-d"], ["run-e"]]

    filtered = follow_pages(
        lambda token: client.search_runs(
            [experiment_id],
            filter_string="params.optimizer = 'adam'",
            order_by=["metrics.loss ASC"],
            max_results=1,
            page_token=token,
        )
    )
    filtered_names = [[run.info.run_name for run in page] for page in filtered]
    assert filtered_names == [["run-c"], ["run-e"], ["run-b"]]


def test_view_types(client, experiment_id):
    active_run = client.create_run(experiment_id, start_time=BASE_START_TIME, run_name="kept")
    deleted_run = client.create_run(
        experiment_id, start_time=BASE_START_TIME + 1, run_name="gone"
    )
    client.delete_run(deleted_run.info.run_id)

    active = search_names(client, experiment_id, run_view_type=ViewType.ACTIVE_ONLY)
    deleted = search_names(client, experiment_id, run_view_type=ViewType.DELETED_ONLY)
    every = search_names(client, experiment_id, run_view_type=ViewType.ALL)
    assert active == ["kept"]
    assert deleted == ["gone"]
    assert every == ["gone", "kept"]
    assert client.get_run(active_run.info.run_id).info.lifecycle_stage == "active"


def test_search_several_experiments(client, seeded, experiment_id):
    seeded_id, _ = seeded
    client.create_run(experiment_id, start_time=BASE_START_TIME + 10_000, run_name="other")

    runs = client.search_runs([seeded_id, experiment_id])
    assert [run.info.run_name for run in runs] == [
        "other",
        "run-e",
        "run-d",
        "run-c",
        "run-b",
        "run-a",
    ]
    assert {run.info.experiment_id for run in runs} == {seeded_id, experiment_id}


def test_fluent_search_dataframe(seeded):
    experiment_id, run_ids = seeded

    frame = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="tags.team = 'red'",
        order_by=["metrics.acc DESC"],
    )
    assert list(frame["run_id"]) == [run_ids["run-c"], run_ids["run-a"]]
    assert list(frame["metrics.acc"]) == [0.92, 0.5]
    assert list(frame["params.lr"]) == ["0.001", "0.1"]
    assert list(frame["tags.mlflow.runName"]) == ["run-c", "run-a"]
    assert list(frame["status"]) == [RunStatus.to_string(RunStatus.FINISHED)] * 2
