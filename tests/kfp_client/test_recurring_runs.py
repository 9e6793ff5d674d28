"""Recurring runs through `kfp.Client`: get, list and delete, and a cron schedule every 2
seconds that starts runs one at a time. Disabling it stops new runs and enabling resumes them."""

import time

import kfp_server_api
import pytest

from helpers import (
    FINAL_STATES,
    assert_api_error,
    filter_json,
    pipeline_file,
    predicate,
    wait_for,
)

EVERY_TWO_SECONDS = "*/2 * * * * *"


def runs_of(client, experiment_id: str) -> list:
    """Return the experiment's runs, oldest first."""
    response = client.list_runs(experiment_id=experiment_id, sort_by="created_at", page_size=100)
    return response.runs or []


def wait_for_runs(client, experiment_id: str, condition, description: str, timeout: float):
    """Poll the experiment's runs until `condition(runs)` is true and return them."""

    def check():
        runs = runs_of(client, experiment_id)
        return runs if condition(runs) else None

    return wait_for(check, description, timeout=timeout)


def test_recurring_run_schedules_runs(client):
    experiment = client.create_experiment("cron")
    # Each run of sleep.yaml with seconds=3 takes longer than the 2 s period, so with
    # max_concurrency=1 some scheduled times find a run still active.
    recurring = client.create_recurring_run(
        experiment.experiment_id,
        "every-two-seconds",
        description="sleeps 3 s",
        cron_expression=EVERY_TWO_SECONDS,
        max_concurrency=1,
        no_catchup=True,
        params={"seconds": 3},
        pipeline_package_path=pipeline_file("sleep"),
    )
    try:
        assert recurring.recurring_run_id
        assert recurring.display_name == "every-two-seconds"
        assert recurring.description == "sleeps 3 s"
        assert recurring.experiment_id == experiment.experiment_id
        assert recurring.status == "ENABLED"
        assert recurring.mode == "ENABLE"
        assert recurring.trigger.cron_schedule.cron == EVERY_TWO_SECONDS
        assert int(recurring.max_concurrency) == 1
        assert recurring.no_catchup is True
        assert recurring.runtime_config.parameters == {"seconds": 3}

        started = wait_for_runs(
            client,
            experiment.experiment_id,
            lambda runs: len(runs) >= 2,
            "two scheduled runs",
            timeout=20,
        )
        for run in started:
            assert run.recurring_run_id == recurring.recurring_run_id
            assert run.runtime_config.parameters == {"seconds": 3}
        # max_concurrency=1: a run starts only after the previous one finished.
        assert started[0].state == "SUCCEEDED"
        assert started[0].finished_at <= started[1].created_at

        assert client.disable_recurring_run(recurring.recurring_run_id) == {}
        disabled = client.get_recurring_run(recurring.recurring_run_id)
        assert disabled.status == "DISABLED"
        assert disabled.mode == "DISABLE"
        settled = wait_for_runs(
            client,
            experiment.experiment_id,
            lambda runs: all(run.state in FINAL_STATES for run in runs),
            "the runs started before disabling to finish",
            timeout=20,
        )
        # Three cron periods without a new run.
        time.sleep(6)
        after_pause = runs_of(client, experiment.experiment_id)
        assert [run.run_id for run in after_pause] == [run.run_id for run in settled]

        assert client.enable_recurring_run(recurring.recurring_run_id) == {}
        assert client.get_recurring_run(recurring.recurring_run_id).status == "ENABLED"
        wait_for_runs(
            client,
            experiment.experiment_id,
            lambda runs: len(runs) > len(settled),
            "a run after enabling",
            timeout=10,
        )
    finally:
        client.disable_recurring_run(recurring.recurring_run_id)


def test_get_list_and_delete_recurring_runs(client):
    experiment = client.create_experiment("schedules")
    pipeline = client.upload_pipeline(pipeline_file("sleep"), pipeline_name="scheduled-sleep")
    version = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
    created = {
        # One from a package, one from an uploaded pipeline version.
        "hourly-b": client.create_recurring_run(
            experiment.experiment_id,
            "hourly-b",
            interval_second=3600,
            params={"seconds": 1},
            pipeline_package_path=pipeline_file("sleep"),
            enabled=False,
        ),
        "hourly-a": client.create_recurring_run(
            experiment.experiment_id,
            "hourly-a",
            interval_second=7200,
            params={"seconds": 1},
            pipeline_id=pipeline.pipeline_id,
            version_id=version.pipeline_version_id,
            enabled=False,
        ),
    }

    fetched = client.get_recurring_run(created["hourly-b"].recurring_run_id)
    listed = client.list_recurring_runs(
        experiment_id=experiment.experiment_id, sort_by="display_name"
    )
    first = client.list_recurring_runs(
        experiment_id=experiment.experiment_id, sort_by="created_at", page_size=1
    )
    second = client.list_recurring_runs(
        experiment_id=experiment.experiment_id,
        sort_by="created_at",
        page_size=1,
        page_token=first.next_page_token,
    )
    by_name = client.list_recurring_runs(
        filter=filter_json(predicate("display_name", "EQUALS", string_value="hourly-a"))
    )

    assert fetched.display_name == "hourly-b"
    assert fetched.status == "DISABLED"
    assert int(fetched.trigger.periodic_schedule.interval_second) == 3600
    assert fetched.trigger.cron_schedule is None
    assert fetched.pipeline_spec["pipelineInfo"]["name"] == "sleep"
    assert fetched.pipeline_version_reference is None
    from_version = client.get_recurring_run(created["hourly-a"].recurring_run_id)
    assert from_version.pipeline_version_reference.pipeline_id == pipeline.pipeline_id
    assert (
        from_version.pipeline_version_reference.pipeline_version_id
        == version.pipeline_version_id
    )
    assert int(from_version.trigger.periodic_schedule.interval_second) == 7200
    assert [r.display_name for r in listed.recurring_runs] == ["hourly-a", "hourly-b"]
    assert listed.total_size == 2
    assert [r.display_name for r in first.recurring_runs] == ["hourly-b"]
    assert first.next_page_token
    assert [r.display_name for r in second.recurring_runs] == ["hourly-a"]
    assert not second.next_page_token
    assert [r.recurring_run_id for r in by_name.recurring_runs] == [
        created["hourly-a"].recurring_run_id
    ]
    # A disabled schedule starts no run.
    assert runs_of(client, experiment.experiment_id) == []

    assert client.delete_recurring_run(created["hourly-b"].recurring_run_id) == {}
    with pytest.raises(kfp_server_api.ApiException) as excinfo:
        client.get_recurring_run(created["hourly-b"].recurring_run_id)
    assert_api_error(excinfo, 404, 5, created["hourly-b"].recurring_run_id)
    remaining = client.list_recurring_runs(experiment_id=experiment.experiment_id)
    assert [r.display_name for r in remaining.recurring_runs] == ["hourly-a"]
