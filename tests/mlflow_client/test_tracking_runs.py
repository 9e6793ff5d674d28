"""Runs through the `mlflow` client: the run lifecycle, params, metrics with their steps and
timestamps, tags, batches, dataset inputs, and delete and restore."""

import math
import re
import sys

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from tracking_helpers import now_ms

# The form of the names MLflow generates for runs created without one, such as
# `unruly-fowl-378`.
GENERATED_RUN_NAME = re.compile(r"^[a-z]+-[a-z]+-\d+$")


def history(client, run_id: str, key: str) -> list:
    """Return the metric's points as (value, timestamp, step), in the server's order."""
    return [(m.value, m.timestamp, m.step) for m in client.get_metric_history(run_id, key)]


def test_start_and_end_run(client, experiment_id):
    before = now_ms()
    with mlflow.start_run(experiment_id=experiment_id, run_name="lifecycle") as run:
        run_id = run.info.run_id
        live = client.get_run(run_id)
        assert live.info.status == "RUNNING"
        assert live.info.end_time is None
    after = now_ms()

    finished = client.get_run(run_id)
    info = finished.info
    assert info.run_id == run_id
    assert info.run_name == "lifecycle"
    assert info.experiment_id == experiment_id
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert before <= info.start_time <= info.end_time <= after
    tags = finished.data.tags
    assert tags["mlflow.runName"] == "lifecycle"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert info.user_id == tags["mlflow.user"]


def test_run_end_states(client, experiment_id):
    with mlflow.start_run(experiment_id=experiment_id) as failed:
        mlflow.end_run(status="FAILED")
    assert client.get_run(failed.info.run_id).info.status == "FAILED"

    try:
        with mlflow.start_run(experiment_id=experiment_id) as raised:
            raise ValueError("training diverged")
    except ValueError:
        pass
    assert client.get_run(raised.info.run_id).info.status == "FAILED"

    killed = client.create_run(experiment_id, start_time=1_700_000_000_000)
    client.set_terminated(killed.info.run_id, status="KILLED", end_time=1_700_000_123_456)
    info = client.get_run(killed.info.run_id).info
    assert info.status == "KILLED"
    assert info.start_time == 1_700_000_000_000
    assert info.end_time == 1_700_000_123_456


def test_create_run_fields(client, experiment_id):
    created = client.create_run(
        experiment_id,
        start_time=1_700_000_000_000,
        tags={"purpose": "fields"},
        run_name="explicit",
    )

    run = client.get_run(created.info.run_id)
    assert run.info.run_name == "explicit"
    assert run.info.start_time == 1_700_000_000_000
    assert run.info.end_time is None
    assert run.info.status == "RUNNING"
    assert run.info.user_id == "unknown"
    assert run.data.tags == {"purpose": "fields", "mlflow.runName": "explicit"}
    assert run.data.params == {}
    assert run.data.metrics == {}


def test_generated_and_updated_run_name(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id

    generated = client.get_run(run_id)
    assert GENERATED_RUN_NAME.match(generated.info.run_name), generated.info.run_name
    assert generated.data.tags["mlflow.runName"] == generated.info.run_name

    client.update_run(run_id, name="renamed")
    renamed = client.get_run(run_id)
    assert renamed.info.run_name == "renamed"
    assert renamed.data.tags["mlflow.runName"] == "renamed"
    assert renamed.info.status == "RUNNING"


def test_params(client, experiment_id):
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("learning_rate", 0.01)
        mlflow.log_params({"epochs": 32, "shuffle": True, "optimizer": "adam"})
        # Logging the same value again is allowed.
        mlflow.log_param("epochs", 32)

    params = client.get_run(run.info.run_id).data.params
    assert params == {
        "learning_rate": "0.01",
        "epochs": "32",
        "shuffle": "True",
        "optimizer": "adam",
    }


def test_metric_history_order(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    # (value, timestamp, step), logged out of order. The history comes back sorted by
    # timestamp, then step, then value.
    logged = [
        (1.0, 1000, 0),
        (0.5, 3000, 2),
        (0.75, 2000, 1),
        (0.6, 2000, 1),
        (0.4, 1500, 5),
    ]
    for value, timestamp, step in logged:
        client.log_metric(run_id, "loss", value, timestamp=timestamp, step=step)

    assert history(client, run_id, "loss") == [
        (1.0, 1000, 0),
        (0.4, 1500, 5),
        (0.6, 2000, 1),
        (0.75, 2000, 1),
        (0.5, 3000, 2),
    ]
    # The run's value of a metric is the point with the highest step, even when it is not
    # the one logged last or with the latest timestamp.
    assert client.get_run(run_id).data.metrics == {"loss": 0.4}
    assert history(client, run_id, "never-logged") == []


def test_latest_metric_ties(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "acc", 0.1, timestamp=5000, step=3)
    client.log_metric(run_id, "acc", 0.2, timestamp=4000, step=3)
    client.log_metric(run_id, "acc", 0.3, timestamp=4000, step=3)

    # Same step: the latest timestamp wins.
    assert client.get_run(run_id).data.metrics == {"acc": 0.1}


def test_metric_defaults(client, experiment_id):
    with mlflow.start_run(experiment_id=experiment_id) as run:
        before = now_ms()
        mlflow.log_metric("accuracy", 0.875)
        mlflow.log_metrics({"precision": 0.5, "recall": 0.25}, step=7)
        after = now_ms()

    run_id = run.info.run_id
    [accuracy] = client.get_metric_history(run_id, "accuracy")
    assert accuracy.key == "accuracy"
    assert accuracy.value == 0.875
    assert accuracy.step == 0
    assert before <= accuracy.timestamp <= after
    [recall] = client.get_metric_history(run_id, "recall")
    assert (recall.value, recall.step) == (0.25, 7)
    metrics = client.get_run(run_id).data.metrics
    assert metrics == {"accuracy": 0.875, "precision": 0.5, "recall": 0.25}


def test_metric_values_exact(client, experiment_id):
    # Doubles whose shortest decimal form takes 16 or 17 digits, which a parser must round
    # correctly to get the same bits back.
    values = [1 / 11, 1 / 3, 0.1 + 0.2, 2 / 3 * 1e-300, 123456789.12345679, 2.0**53 + 2, -1e308]
    run_id = client.create_run(experiment_id).info.run_id
    for step, value in enumerate(values):
        client.log_metric(run_id, "precise", value, timestamp=1000 + step, step=step)

    points = history(client, run_id, "precise")
    assert [value for value, _, _ in points] == values


def test_metric_non_finite_values(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "edge", float("inf"), timestamp=1, step=0)
    client.log_metric(run_id, "edge", float("-inf"), timestamp=2, step=1)
    client.log_metric(run_id, "edge", float("nan"), timestamp=3, step=2)

    points = history(client, run_id, "edge")
    # MLflow stores an infinite value as the largest finite double of its sign.
    assert points[0] == (sys.float_info.max, 1, 0)
    assert points[1] == (-sys.float_info.max, 2, 1)
    assert math.isnan(points[2][0])
    assert points[2][1:] == (3, 2)
    assert math.isnan(client.get_run(run_id).data.metrics["edge"])


def test_tags(client, experiment_id):
    run_id = client.create_run(experiment_id, run_name="tagged").info.run_id
    client.set_tag(run_id, "stage", "draft")
    client.set_tag(run_id, "stage", "final")
    client.set_tag(run_id, "note", "x" * 5000)
    client.set_tag(run_id, "temporary", "yes")
    client.delete_tag(run_id, "temporary")

    assert client.get_run(run_id).data.tags == {
        "mlflow.runName": "tagged",
        "stage": "final",
        "note": "x" * 5000,
    }


def test_log_batch(client, experiment_id):
    run_id = client.create_run(experiment_id, run_name="batch").info.run_id
    metrics = [Metric("loss", 1.0 / (step + 1), 10_000 + step, step) for step in range(50)]
    metrics.append(Metric("accuracy", 0.9, 20_000, 3))
    params = [Param("layers", "3"), Param("activation", "relu")]
    tags = [RunTag("framework", "sklearn"), RunTag("mlflow.note.content", "batch run")]

    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    run = client.get_run(run_id)
    assert run.data.params == {"layers": "3", "activation": "relu"}
    assert run.data.metrics == {"loss": 1.0 / 50, "accuracy": 0.9}
    assert run.data.tags == {
        "mlflow.runName": "batch",
        "framework": "sklearn",
        "mlflow.note.content": "batch run",
    }
    expected = [(1.0 / (step + 1), 10_000 + step, step) for step in range(50)]
    assert history(client, run_id, "loss") == expected


def test_log_batch_splits_large_histories(client, experiment_id):
    # The client splits a batch over 1,000 metrics into several requests.
    run_id = client.create_run(experiment_id).info.run_id
    metrics = [Metric("ramp", float(step), 1_000_000 + step, step) for step in range(2500)]

    client.log_batch(run_id, metrics=metrics)

    points = history(client, run_id, "ramp")
    assert len(points) == 2500
    assert points == [(float(step), 1_000_000 + step, step) for step in range(2500)]
    assert client.get_run(run_id).data.metrics == {"ramp": 2499.0}


def test_delete_and_restore_run(client, experiment_id):
    run_id = client.create_run(experiment_id, run_name="doomed").info.run_id

    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == []

    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]


def training_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0.0, 1.0, 0.0]})


def test_log_input_dataset(client, experiment_id):
    train = mlflow.data.from_pandas(
        training_frame(), source="file:///data/train.csv", name="train", targets="label"
    )
    evaluation = mlflow.data.from_pandas(
        training_frame().head(2), source="file:///data/eval.csv", name="eval"
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(train, context="training", tags={"split": "train"})
        # The same dataset with the same context again adds no second input.
        mlflow.log_input(train, context="training")
        mlflow.log_input(evaluation, context="evaluation")

    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {dataset_input.dataset.name: dataset_input for dataset_input in inputs}
    assert sorted(by_name) == ["eval", "train"]
    assert len(inputs) == 2
    for logged in (train, evaluation):
        expected = logged._to_mlflow_entity()
        stored = by_name[logged.name].dataset
        assert stored.name == expected.name
        assert stored.digest == expected.digest
        assert stored.source_type == "local"
        assert stored.source == expected.source
        assert stored.schema == expected.schema
        assert stored.profile == expected.profile
    assert by_name["train"].dataset.profile == '{"num_rows": 3, "num_elements": 6}'
    train_tags = {tag.key: tag.value for tag in by_name["train"].tags}
    assert train_tags == {"mlflow.data.context": "training", "split": "train"}
    eval_tags = {tag.key: tag.value for tag in by_name["eval"].tags}
    assert eval_tags == {"mlflow.data.context": "evaluation"}
