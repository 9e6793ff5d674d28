"""The `kfp` command line of the SDK against the server: `run create` and `run list`."""

import json
import subprocess

import pytest

from helpers import compile_pipeline, task_states, venv_bin_dir
from sample_pipelines import echo_pipeline

CLI_TIMEOUT_SECONDS = 60


def kfp_cli(server, *args: str) -> subprocess.CompletedProcess:
    """Run `kfp --endpoint URL ARGS...` and return the finished process."""
    return subprocess.run(
        [str(venv_bin_dir() / "kfp"), "--endpoint", server.url, *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def cli_run(weir_server, tmp_path_factory):
    """The run that `kfp run create --watch` started, as the JSON the CLI printed."""
    package = compile_pipeline(echo_pipeline, tmp_path_factory.mktemp("cli") / "echo.yaml")
    result = kfp_cli(
        weir_server,
        "--output",
        "json",
        "run",
        "create",
        "--experiment-name",
        "cli-exp",
        "--run-name",
        "cli-run",
        "--package-file",
        package,
        "--watch",
        "text=from the cli",
    )
    assert result.returncode == 0, result.stderr
    # The client prints links to the experiment and the run, then the run as JSON when it was
    # created (with no newline after it), then one line when the run has finished.
    lines = result.stdout.splitlines(keepends=True)
    assert lines[0].startswith("Experiment details: "), result.stdout
    assert lines[1].startswith("Run details: "), result.stdout
    finished = "Run is finished with state SUCCEEDED.\n"
    body = "".join(lines[2:])
    assert body.endswith(finished), result.stdout
    return json.loads(body[: -len(finished)])


def test_cli_run_create(client, cli_run):
    run = client.get_run(cli_run["run_id"])

    assert cli_run["display_name"] == "cli-run"
    assert cli_run["state"] in ("PENDING", "RUNNING", "SUCCEEDED")
    assert run.display_name == "cli-run"
    assert run.state == "SUCCEEDED"
    assert run.experiment_id == client.get_experiment(experiment_name="cli-exp").experiment_id
    assert run.runtime_config.parameters == {"text": "from the cli"}
    assert task_states(run) == {"echo": "SUCCEEDED"}


def test_cli_run_list_table(weir_server, cli_run):
    result = kfp_cli(weir_server, "run", "list")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CREATED", "AT", "STATE", "STORAGE", "STATE"]
    assert len(lines) == 2, result.stdout
    assert lines[1].split() == [
        cli_run["run_id"],
        "cli-run",
        cli_run["created_at"],
        "SUCCEEDED",
        "AVAILABLE",
    ]


def test_cli_run_list_json(client, weir_server, cli_run):
    experiment_id = client.get_experiment(experiment_name="cli-exp").experiment_id

    result = kfp_cli(weir_server, "--output", "json", "run", "list", "-e", experiment_id)

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert len(listed) == 1
    for key in ("run_id", "display_name", "experiment_id", "created_at", "runtime_config"):
        assert listed[0][key] == cli_run[key], key
    assert listed[0]["state"] == "SUCCEEDED"
    assert listed[0]["storage_state"] == "AVAILABLE"


def test_cli_run_get(weir_server, cli_run):
    result = kfp_cli(weir_server, "--output", "json", "run", "get", cli_run["run_id"])

    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["run_id"] == cli_run["run_id"]
    assert run["state"] == "SUCCEEDED"
    assert [task["display_name"] for task in run["run_details"]["task_details"]] == ["echo"]


def test_cli_run_get_unknown_id(weir_server):
    result = kfp_cli(weir_server, "run", "get", "no-such-run")

    assert result.returncode == 1
    assert "(404)" in result.stderr
    assert "no-such-run" in result.stderr
