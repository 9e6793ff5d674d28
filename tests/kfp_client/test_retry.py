"""Retrying a failed run with `POST /apis/v2beta1/runs/{id}:retry`.

kfp 2.17.3's `Client` has no retry method, so the tests call the generated
`RunServiceApi.run_service_retry_run`, which the client exposes as `client.runs`.
"""

import kfp_server_api
import pytest

from helpers import (
    assert_api_error,
    compile_pipeline,
    pipeline_file,
    task_details,
    task_states,
    wait_for,
    wait_for_state,
)
from sample_pipelines import needs_marker_pipeline


def lines(path) -> list:
    return path.read_text().splitlines()


def test_retry_failed_run(client, work_dir, tmp_path):
    experiment = client.create_experiment("retry")
    package = compile_pipeline(needs_marker_pipeline, tmp_path / "needs-marker.yaml")
    run = client.run_pipeline(
        experiment.experiment_id, "needs-marker", package, params={"log_dir": str(work_dir)}
    )
    failed = wait_for_state(client, run.run_id)
    assert failed.state == "FAILED"
    assert task_states(failed) == {"append-line": "SUCCEEDED", "require-marker": "FAILED"}
    assert lines(work_dir / "append-line.log") == ["run"]
    assert lines(work_dir / "require-marker.log") == ["ok"]

    (work_dir / "marker").write_text("")
    assert client.runs.run_service_retry_run(run.run_id) == {}
    retried = wait_for_state(client, run.run_id)

    assert retried.state == "SUCCEEDED"
    assert retried.run_id == run.run_id
    assert retried.error is None
    assert task_states(retried) == {"append-line": "SUCCEEDED", "require-marker": "SUCCEEDED"}
    # Only the failed task ran again: append-line kept its first result.
    assert lines(work_dir / "append-line.log") == ["run"]
    assert lines(work_dir / "require-marker.log") == ["ok", "ok"]
    listed = client.list_runs(experiment_id=experiment.experiment_id)
    assert [r.run_id for r in listed.runs] == [run.run_id]

    # A run that succeeded cannot be retried.
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.runs.run_service_retry_run(run.run_id)
    assert_api_error(excinfo, 400, 9, run.run_id)


def test_retry_terminated_run(client):
    experiment = client.create_experiment("retry-terminated")
    run = client.run_pipeline(
        experiment.experiment_id, "sleeper", pipeline_file("sleep"), params={"seconds": 4}
    )
    wait_for(
        lambda: task_states(client.get_run(run.run_id)).get("sleep-for") == "RUNNING",
        "task sleep-for to run",
    )
    client.terminate_run(run.run_id)
    canceled = wait_for_state(client, run.run_id, timeout=30)
    assert canceled.state == "CANCELED"
    before = task_details(canceled)["before"]

    assert client.runs.run_service_retry_run(run.run_id) == {}
    retried = wait_for_state(client, run.run_id, timeout=30)

    assert retried.state == "SUCCEEDED"
    assert task_states(retried) == {
        "before": "SUCCEEDED",
        "sleep-for": "SUCCEEDED",
        "after": "SUCCEEDED",
    }
    # "before" succeeded before the cancel, so the retry kept it.
    before_after_retry = task_details(retried)["before"]
    assert before_after_retry.task_id == before.task_id
    assert before_after_retry.start_time == before.start_time
    assert before_after_retry.end_time == before.end_time
