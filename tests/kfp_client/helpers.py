"""Helpers shared by the kfp client tests: waiting for runs, reading API errors and task
details, compiling pipelines, and building filters in the kfp `Filter` JSON form."""

import json
import pathlib
import sys
import time
import urllib.request

import kfp
import kfp_server_api
import pytest
from kfp import compiler

PIPELINES_DIR = pathlib.Path(__file__).resolve().parents[1] / "pipelines"
FINAL_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED")
POLL_SECONDS = 0.25


def venv_bin_dir() -> pathlib.Path:
    """Return the `bin` folder of the Python environment running the tests."""
    return pathlib.Path(sys.prefix) / "bin"


def compile_pipeline(pipeline_func, path: pathlib.Path) -> str:
    """Compile `pipeline_func` to `path` with the kfp SDK and return the path as text."""
    compiler.Compiler().compile(pipeline_func=pipeline_func, package_path=str(path))
    return str(path)


def pipeline_file(name: str) -> str:
    """Return the path of a compiled pipeline from `tests/pipelines`."""
    path = PIPELINES_DIR / f"{name}.yaml"
    assert path.is_file(), f"missing test pipeline {path}"
    return str(path)


def wait_for_state(
    client: kfp.Client, run_id: str, states=FINAL_STATES, timeout: float = 60.0
) -> kfp_server_api.V2beta1Run:
    """Poll `get_run` until the run's state is one of `states`, or fail after `timeout` seconds.

    `Client.wait_for_run_completion` does not count CANCELED as final, and it polls every
    5 s by default, so the tests use this instead where they need either.
    """
    deadline = time.monotonic() + timeout
    run = client.get_run(run_id)
    while run.state not in states:
        if time.monotonic() > deadline:
            pytest.fail(
                f"run {run_id} is {run.state} after {timeout} s, expected one of {states}; "
                f"tasks: {task_states(run)}"
            )
        time.sleep(POLL_SECONDS)
        run = client.get_run(run_id)
    return run


def wait_for(condition, description: str, timeout: float = 30.0):
    """Call `condition` until it returns a truthy value and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {description}")
        time.sleep(POLL_SECONDS)


def task_details(run: kfp_server_api.V2beta1Run) -> dict:
    """Map each task's display name to its `PipelineTaskDetail`, and fail on a duplicate name."""
    details = {}
    for task in (run.run_details.task_details if run.run_details else None) or []:
        assert task.display_name not in details, f"two tasks named {task.display_name!r}"
        details[task.display_name] = task
    return details


def task_states(run: kfp_server_api.V2beta1Run) -> dict:
    """Map each task's display name to its state."""
    return {name: task.state for name, task in task_details(run).items()}


def api_error(error: kfp_server_api.ApiException) -> dict:
    """Return the JSON body of an API error (`{"code": ..., "message": ..., "details": []}`)."""
    assert error.body, f"API error {error.status} has no body"
    return json.loads(error.body)


def assert_api_error(excinfo, status: int, code: int, *message_parts: str) -> dict:
    """Check the HTTP status, gRPC code and message texts of a raised `ApiException`."""
    error = excinfo.value
    body = api_error(error)
    assert error.status == status, body
    assert body["code"] == code, body
    for part in message_parts:
        assert part in body["message"], body
    return body


def predicate(key: str, operation: str, **value) -> dict:
    """One predicate of a kfp `Filter`: `predicate("state", "EQUALS", string_value="FAILED")`."""
    return {"key": key, "operation": operation, **value}


def filter_json(*predicates: dict) -> str:
    return json.dumps({"predicates": list(predicates)})


def list_all_runs(client: kfp.Client, page_size: int, **kwargs) -> list:
    """Follow `next_page_token` through every page of `list_runs` and return the pages."""
    pages = []
    token = ""
    for _ in range(100):
        response = client.list_runs(page_token=token, page_size=page_size, **kwargs)
        pages.append(response)
        token = response.next_page_token
        if not token:
            return pages
    pytest.fail("list_runs returned more than 100 pages")



def api_get(server, path: str) -> dict:
    """GET `/apis/v2beta1/<path>` from the server and return its JSON body.

    The tests use this for Weir's fields that the kfp client's models drop, such as a task's
    `output_parameters`.
    """
    url = f"{server.url}/apis/v2beta1/{path}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def raw_task_details(server, run_id: str) -> dict:
    """Map each task's display name to its `task_details` entry as the server's JSON has it."""
    run = api_get(server, f"runs/{run_id}")
    details = {}
    for task in run.get("run_details", {}).get("task_details", []):
        assert task["display_name"] not in details, f"two tasks named {task['display_name']!r}"
        details[task["display_name"]] = task
    return details


def output_parameters(server, run_id: str) -> dict:
    """Map each task's display name to its output parameter values."""
    tasks = raw_task_details(server, run_id)
    return {name: task.get("output_parameters", {}) for name, task in tasks.items()}
