"""Fixtures that start a real `weir server` and connect the unmodified kfp SDK client to it.

Each test module gets its own server with a fresh data directory, so list contents and
counts in one module do not depend on another. The server binary is `$WEIR_BIN` (default:
`target/debug/weir` in this repository). Its stderr goes to a file in the data directory,
and a failing test shows the lines the server wrote while that test ran.

Run with `scripts/test_kfp_client.sh`, or by hand after `cargo build -p weir-cli`:

    .venv/bin/python -m pytest tests/kfp_client
"""

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import kfp
import pytest

from helpers import venv_bin_dir

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_WEIR_BIN = REPO_ROOT / "target" / "debug" / "weir"
HEALTHZ_PATH = "/apis/v2beta1/healthz"
STARTUP_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
# Bytes of server stderr attached to a failure report, counted back from its end.
MAX_STDERR_REPORT_BYTES = 20_000

# Servers that are running, so a failure report can show their stderr.
_LIVE_SERVERS = []


@dataclasses.dataclass
class WeirServer:
    """A running `weir server` process and where it keeps its state."""

    process: subprocess.Popen
    url: str
    data_dir: pathlib.Path
    stderr_path: pathlib.Path
    binary: pathlib.Path
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


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment() -> dict:
    """Return the server's environment: Python components find the test venv's `python3`."""
    env = dict(os.environ)
    env["PATH"] = f"{venv_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.pop("WEIR_DATA_DIR", None)
    env.setdefault("WEIR_LOG", "info")
    env["NO_COLOR"] = "1"
    return env


def wait_until_healthy(server: WeirServer) -> None:
    """Poll the health endpoint until it returns 200, and fail with the server's stderr if it
    exits or is still not healthy after 30 s."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = "no request sent"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"weir server exited with status {server.process.returncode} during start-up.\n"
                f"stderr:\n{server.stderr_since(0)}"
            )
        try:
            with urllib.request.urlopen(server.url + HEALTHZ_PATH, timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last_error = str(error)
        time.sleep(0.1)
    pytest.fail(
        f"weir server at {server.url} was not healthy after {STARTUP_TIMEOUT_SECONDS} s "
        f"(last error: {last_error}).\nstderr:\n{server.stderr_since(0)}"
    )


def stop_server(server: WeirServer) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it has not exited in 10 s."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def weir_server():
    """Start `weir server` on a free loopback port with a fresh data directory."""
    binary = pathlib.Path(os.environ.get("WEIR_BIN", DEFAULT_WEIR_BIN))
    if not binary.is_file():
        pytest.fail(f"weir binary {binary} not found; build it with `cargo build -p weir-cli`")

    with tempfile.TemporaryDirectory(prefix="weir-kfp-client-") as tmp:
        data_dir = pathlib.Path(tmp) / "data"
        data_dir.mkdir()
        stderr_path = pathlib.Path(tmp) / "server.stderr"
        port = free_loopback_port()
        command = [
            str(binary),
            "--data-dir",
            str(data_dir),
            "server",
            "--bind",
            f"127.0.0.1:{port}",
        ]
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                env=server_environment(),
                cwd=tmp,
            )
        server = WeirServer(
            process=process,
            url=f"http://127.0.0.1:{port}",
            data_dir=data_dir,
            stderr_path=stderr_path,
            binary=binary,
        )
        _LIVE_SERVERS.append(server)
        try:
            wait_until_healthy(server)
            yield server
        finally:
            stop_server(server)
            _LIVE_SERVERS.remove(server)


@pytest.fixture(scope="module")
def client(weir_server):
    """A `kfp.Client` connected to the module's server."""
    return kfp.Client(host=weir_server.url)


@pytest.fixture
def work_dir(tmp_path):
    """A fresh folder that tasks of the test's runs can write to and the test can read."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def pytest_sessionstart(session):
    # A SIGTERM (from `timeout`, for one) interrupts pytest like Ctrl-C, so the fixtures'
    # teardown still stops the servers.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"received signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
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
        report.sections.append(
            (f"weir server stderr ({server.url})", server.stderr_since(offset))
        )
