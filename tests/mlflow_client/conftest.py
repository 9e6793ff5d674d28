"""Fixtures that connect the unmodified `mlflow` client to a tracking server.

By default the suite starts one `weir server` on a free loopback port with a fresh data
directory, and the client reaches it through `MLFLOW_TRACKING_URI`. The server binary is
`$WEIR_BIN` (default: `target/debug/weir` in this repository). Its stderr goes to a file next
to the data directory, and a failing test shows the lines the server wrote while it ran.

With `MLFLOW_SUITE_URL=http://127.0.0.1:PORT` the suite starts nothing and runs against the
server at that address instead, such as a real `mlflow server`: that is how the expected
values in these tests were checked against MLflow itself. Tests marked `weir_only` are
skipped then.

All tests share one server, so each test names its experiments and registered models with a
unique suffix and searches only inside them. The results are the same on a server that
already contains other data.

Run with `scripts/test_mlflow_client.sh`, or by hand after `cargo build -p weir-cli`:

    .venv/bin/python -m pytest tests/mlflow_client
"""

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Optional

import mlflow
import pytest
from mlflow import MlflowClient

from tracking_helpers import unique_name

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_WEIR_BIN = REPO_ROOT / "target" / "debug" / "weir"
SUITE_URL_VAR = "MLFLOW_SUITE_URL"
HEALTH_PATH = "/health"
# A cold `mlflow server` took about 30 s to pass its health check on a 2-core machine, and
# Weir well under 1 s.
STARTUP_TIMEOUT_SECONDS = 60.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
# Bytes of server stderr attached to a failure report, counted back from its end.
MAX_STDERR_REPORT_BYTES = 20_000
# Variables of the test process that must not reach the server's tasks, because Weir sets
# them itself for each task it runs.
TASK_TRACKING_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_CONTEXT", "MLFLOW_EXPERIMENT_NAME")

# Servers that this suite started and that are running, so a failure report can show their
# stderr.
_LIVE_SERVERS = []


@dataclasses.dataclass
class WeirProcess:
    """A `weir server` process that the suite started, and where it keeps its state."""

    process: subprocess.Popen
    data_dir: pathlib.Path
    stderr_path: pathlib.Path
    # Size of the stderr file when the current test started.
    stderr_offset: int = 0

    def stderr_since(self, offset: int) -> str:
        """Return the server's stderr from byte `offset`, at most the last 20 kB of it."""
        with open(self.stderr_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            start = max(offset, end - MAX_STDERR_REPORT_BYTES)
            f.seek(start)
            text = f.read().decode("utf-8", errors="replace")
        if start > offset:
            text = f"[... {start - offset} bytes left out ...]\n" + text
        return text


@dataclasses.dataclass
class TrackingServer:
    """The server under test: its base URL, and the Weir process when the suite started one."""

    url: str
    weir: Optional[WeirProcess] = None

    @property
    def is_weir(self) -> bool:
        return self.weir is not None


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment() -> dict:
    """Return the server's environment: Python components find the test venv's `python3`,
    which has kfp and mlflow installed."""
    env = dict(os.environ)
    venv_bin = pathlib.Path(sys.prefix) / "bin"
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env.pop("WEIR_DATA_DIR", None)
    for name in TASK_TRACKING_VARS:
        env.pop(name, None)
    env.setdefault("WEIR_LOG", "info")
    env["NO_COLOR"] = "1"
    return env


def wait_until_healthy(url: str, process: Optional[WeirProcess]) -> None:
    """Poll `GET /health` until it returns 200, and fail if the server exits or is still not
    healthy after `STARTUP_TIMEOUT_SECONDS`."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = "no request sent"
    while time.monotonic() < deadline:
        if process is not None and process.process.poll() is not None:
            pytest.fail(
                f"weir server exited with status {process.process.returncode} during "
                f"start-up.\nstderr:\n{process.stderr_since(0)}"
            )
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last_error = str(error)
        time.sleep(0.1)
    stderr = f"\nstderr:\n{process.stderr_since(0)}" if process is not None else ""
    pytest.fail(
        f"tracking server at {url} was not healthy after {STARTUP_TIMEOUT_SECONDS} s "
        f"(last error: {last_error}).{stderr}"
    )


def stop_server(server: WeirProcess) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it has not exited in 10 s."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)


def start_weir_server(tmp: pathlib.Path) -> TrackingServer:
    binary = pathlib.Path(os.environ.get("WEIR_BIN", DEFAULT_WEIR_BIN))
    if not binary.is_file():
        pytest.fail(f"weir binary {binary} not found; build it with `cargo build -p weir-cli`")
    data_dir = tmp / "data"
    data_dir.mkdir()
    stderr_path = tmp / "server.stderr"
    port = free_loopback_port()
    command = [str(binary), "--data-dir", str(data_dir), "server", "--bind", f"127.0.0.1:{port}"]
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env=server_environment(),
            cwd=tmp,
        )
    weir = WeirProcess(process=process, data_dir=data_dir, stderr_path=stderr_path)
    return TrackingServer(url=f"http://127.0.0.1:{port}", weir=weir)


@pytest.fixture(scope="session")
def tracking_server():
    """The server under test: `$MLFLOW_SUITE_URL`, or a `weir server` started for the session."""
    external_url = os.environ.get(SUITE_URL_VAR, "").rstrip("/")
    if external_url:
        wait_until_healthy(external_url, None)
        yield TrackingServer(url=external_url)
        return

    with tempfile.TemporaryDirectory(prefix="weir-mlflow-client-") as tmp:
        server = start_weir_server(pathlib.Path(tmp))
        _LIVE_SERVERS.append(server.weir)
        try:
            wait_until_healthy(server.url, server.weir)
            yield server
        finally:
            stop_server(server.weir)
            _LIVE_SERVERS.remove(server.weir)


@pytest.fixture(scope="session", autouse=True)
def tracking_uri(tracking_server):
    """Point the `mlflow` client at the server under test, the way a user would: through
    `MLFLOW_TRACKING_URI`."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_server.url
    mlflow.set_tracking_uri(tracking_server.url)
    yield tracking_server.url
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="session")
def client(tracking_uri):
    """An `MlflowClient` for the server under test."""
    return MlflowClient(tracking_uri=tracking_uri)


@pytest.fixture
def experiment_id(client, request):
    """A fresh experiment, named after the test, for the test's runs."""
    return client.create_experiment(unique_name(request.node.originalname))


@pytest.fixture(autouse=True)
def no_active_run_left():
    """End any run a failed test left active, so the next test's `start_run` starts fresh."""
    yield
    for _ in range(10):
        if mlflow.active_run() is None:
            break
        mlflow.end_run()


def pytest_sessionstart(session):
    # A SIGTERM (from `timeout`, for one) interrupts pytest like Ctrl-C, so the fixtures'
    # teardown still stops the server.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"received signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def pytest_runtest_setup(item):
    if item.get_closest_marker("weir_only") and os.environ.get(SUITE_URL_VAR):
        pytest.skip(f"needs a weir server; {SUITE_URL_VAR} names another server")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    for server in _LIVE_SERVERS:
        server.stderr_offset = server.stderr_path.stat().st_size


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for server in _LIVE_SERVERS:
        offset = server.stderr_offset if report.when == "call" else 0
        report.sections.append(("weir server stderr", server.stderr_since(offset)))
