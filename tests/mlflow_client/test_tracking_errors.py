"""Bad input to the tracking API and the MLflow error code for each: changed params, batches
over the limits, unknown runs and experiments, bad filter strings, duplicate names, and
writes to a deleted run.

The batch limits are checked with raw requests, because `MlflowClient.log_batch` splits a
batch over the limits into several requests before sending it.
"""

import mlflow
import pytest
from mlflow.entities import Param
from mlflow.exceptions import MlflowException

from tracking_helpers import assert_http_error, assert_mlflow_error, http_request, unique_name

UNKNOWN_RUN_ID = "0" * 32


def test_changed_param_rejected(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "learning_rate", "0.01")

    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run_id, "learning_rate", "0.02")
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "learning_rate", "0.01", "0.02")

    with pytest.raises(MlflowException) as excinfo:
        client.log_batch(run_id, params=[Param("learning_rate", "0.03")])
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "learning_rate")

    assert client.get_run(run_id).data.params == {"learning_rate": "0.01"}


def test_changed_param_through_fluent_api(experiment_id):
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_param("epochs", 10)
        with pytest.raises(MlflowException) as excinfo:
            mlflow.log_param("epochs", 11)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "epochs")


def batch_items(prefix: str, count: int, value) -> list:
    return [{"key": f"{prefix}{index}", "value": value} for index in range(count)]


def metric_items(count: int) -> list:
    return [
        {"key": f"m{index}", "value": 1.0, "timestamp": 1, "step": 0} for index in range(count)
    ]


@pytest.mark.parametrize(
    ("case", "payload"),
    [
        ("1001 metrics", {"metrics": metric_items(1001)}),
        ("101 params", {"params": batch_items("p", 101, "v")}),
        ("101 tags", {"tags": batch_items("t", 101, "v")}),
        ("1001 items in all", {"metrics": metric_items(1000), "params": batch_items("p", 1, "v")}),
    ],
)
def test_log_batch_over_limit(client, tracking_server, experiment_id, case, payload):
    run_id = client.create_run(experiment_id).info.run_id

    response = http_request(
        tracking_server.url,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        json_body={"run_id": run_id, **payload},
    )

    assert_http_error(response, 400, "INVALID_PARAMETER_VALUE")
    # Nothing of a rejected batch is stored.
    run = client.get_run(run_id)
    assert run.data.metrics == {}
    assert run.data.params == {}
    assert set(run.data.tags) == {"mlflow.runName"}


def test_log_batch_at_limit(client, tracking_server, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id

    response = http_request(
        tracking_server.url,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        json_body={"run_id": run_id, "metrics": metric_items(1000)},
    )

    assert response.status == 200, response.body
    assert response.json() == {}
    assert len(client.get_run(run_id).data.metrics) == 1000


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.get_run(UNKNOWN_RUN_ID),
        lambda client: client.log_metric(UNKNOWN_RUN_ID, "loss", 1.0),
        lambda client: client.log_param(UNKNOWN_RUN_ID, "lr", "0.1"),
        lambda client: client.set_tag(UNKNOWN_RUN_ID, "stage", "final"),
        lambda client: client.set_terminated(UNKNOWN_RUN_ID),
        lambda client: client.delete_run(UNKNOWN_RUN_ID),
        lambda client: client.restore_run(UNKNOWN_RUN_ID),
    ],
    ids=["get", "log-metric", "log-param", "set-tag", "update", "delete", "restore"],
)
def test_unknown_run(client, call):
    with pytest.raises(MlflowException) as excinfo:
        call(client)
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", UNKNOWN_RUN_ID)


def test_unknown_run_raw_log_batch(tracking_server):
    response = http_request(
        tracking_server.url,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        json_body={"run_id": UNKNOWN_RUN_ID, "metrics": metric_items(1)},
    )
    body = assert_http_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    assert UNKNOWN_RUN_ID in body["message"]


def test_unknown_experiment(client):
    with pytest.raises(MlflowException) as excinfo:
        client.get_experiment("987654321")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", "987654321")

    with pytest.raises(MlflowException) as excinfo:
        client.create_run("987654321")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", "987654321")


def test_missing_tag_delete(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as excinfo:
        client.delete_tag(run_id, "never-set")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", "never-set")

    with pytest.raises(MlflowException) as excinfo:
        client.delete_experiment_tag(experiment_id, "never-set")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", "never-set")


def test_duplicate_experiment_name(client):
    name = unique_name("duplicate")
    client.create_experiment(name)

    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)
    assert_mlflow_error(excinfo, "RESOURCE_ALREADY_EXISTS", name)


def test_deleted_experiment_keeps_its_name(client):
    name = unique_name("deleted-name")
    client.delete_experiment(client.create_experiment(name))

    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)
    assert_mlflow_error(excinfo, "RESOURCE_ALREADY_EXISTS", name)


def test_write_to_deleted_run(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)

    with pytest.raises(MlflowException) as excinfo:
        client.log_metric(run_id, "loss", 1.0)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", run_id)


def test_invalid_key_name(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run_id, "bad key!", "1")
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "bad key!")


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.acc >> 1",
        "foo.bar = 1",
        "params.lr = 0.1",
        "metrics.acc = 'high'",
        "metrics.acc > 1 or metrics.acc < 0",
        "attributes.nope = 'x'",
        "tags.team = ",
        "tags.team IN ('red', 'blue')",
    ],
)
def test_bad_run_filter(client, experiment_id, filter_string):
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], filter_string=filter_string)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "order_by", ["metrics.acc UP", "nope.acc", "metrics.acc ASC DESC"]
)
def test_bad_run_order_by(client, experiment_id, order_by):
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], order_by=[order_by])
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("filter_string", ["nm = 'x'", "name = x", "tags.team >> 'b'"])
def test_bad_experiment_filter(client, filter_string):
    with pytest.raises(MlflowException) as excinfo:
        client.search_experiments(filter_string=filter_string)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")


def test_delete_twice_and_restore_twice(client):
    experiment_id = client.create_experiment(unique_name("twice"))
    client.delete_experiment(experiment_id)
    with pytest.raises(MlflowException) as excinfo:
        client.delete_experiment(experiment_id)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.restore_experiment(experiment_id)
    with pytest.raises(MlflowException) as excinfo:
        client.restore_experiment(experiment_id)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
