"""A pipeline task that trains with `mlflow` logs to the Weir server that runs it, and its
MLflow run carries tags that lead back to the Weir run and task.

The pipeline is `pipelines/tracked_training.py`, compiled next to it. The test submits it with
`kfp.Client`, so it needs a Weir server: against another server it is skipped.
"""

import json
import pathlib
import time
import urllib.request

import kfp
import pytest

from tracking_helpers import wait_for

PIPELINE = pathlib.Path(__file__).resolve().parent / "pipelines" / "tracked_training.yaml"
TASK_NAME = "train-and-log"
FINAL_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED")
# Starting Python, importing mlflow and logging takes a few seconds; the limit leaves room for
# a busy machine.
RUN_TIMEOUT_SECONDS = 120.0

pytestmark = pytest.mark.weir_only


def wait_for_final_state(client: kfp.Client, run_id: str):
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    run = client.get_run(run_id)
    while run.state not in FINAL_STATES:
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} is {run.state} after {RUN_TIMEOUT_SECONDS} s")
        time.sleep(0.25)
        run = client.get_run(run_id)
    return run


def raw_task(server_url: str, run_id: str, display_name: str) -> dict:
    """Return the `task_details` entry of the run as the server's JSON has it, which keeps the
    `output_parameters` that the kfp client's models drop."""
    with urllib.request.urlopen(f"{server_url}/apis/v2beta1/runs/{run_id}", timeout=30) as r:
        run = json.loads(r.read())
    tasks = run.get("run_details", {}).get("task_details", [])
    matching = [task for task in tasks if task.get("display_name") == display_name]
    assert len(matching) == 1, [task.get("display_name") for task in tasks]
    return matching[0]


def test_task_run_carries_weir_tags(tracking_server, client):
    kfp_client = kfp.Client(host=tracking_server.url)

    submitted = kfp_client.create_run_from_pipeline_package(
        str(PIPELINE), arguments={"learning_rate": 0.05}, run_name="tracked-training"
    )
    kfp_run = wait_for_final_state(kfp_client, submitted.run_id)

    assert kfp_run.state == "SUCCEEDED"
    details = [
        task
        for task in kfp_run.run_details.task_details or []
        if task.display_name == TASK_NAME
    ]
    assert len(details) == 1
    task = details[0]
    assert task.state == "SUCCEEDED"
    output = raw_task(tracking_server.url, submitted.run_id, TASK_NAME)["output_parameters"]
    mlflow_run_id = output["Output"]

    mlflow_run = client.get_run(mlflow_run_id)
    assert mlflow_run.info.experiment_id == "0"
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.params == {"learning_rate": "0.05"}
    assert mlflow_run.data.metrics == {"accuracy": 0.875}
    [accuracy] = client.get_metric_history(mlflow_run_id, "accuracy")
    assert (accuracy.value, accuracy.step) == (0.875, 1)
    tags = mlflow_run.data.tags
    assert tags["weir.run_id"] == submitted.run_id
    assert tags["weir.task_name"] == TASK_NAME
    assert tags["weir.task_id"] == task.task_id

    # The tags make the run searchable by the Weir run that made it.
    found = wait_for(
        lambda: client.search_runs(
            ["0"], filter_string=f"tags.`weir.run_id` = '{submitted.run_id}'"
        ),
        f"an MLflow run tagged with weir.run_id {submitted.run_id}",
    )
    assert [run.info.run_id for run in found] == [mlflow_run_id]
