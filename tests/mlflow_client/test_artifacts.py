"""Run artifacts through the `mlflow` client and the `mlflow-artifacts` proxy: upload with
`log_artifact`, `log_artifacts`, `log_text` and `log_dict`, listing, byte-exact downloads,
`..` in artifact paths, which the server rejects with `INVALID_PARAMETER_VALUE`, and
multipart uploads through the proxy."""

import hashlib
import json
import os
import pathlib
import random

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

from tracking_helpers import assert_http_error, assert_mlflow_error, http_request, unique_name


def listing(files) -> list:
    """Return (path, is_dir, file_size) of each `FileInfo`, in the server's order."""
    return [(f.path, f.is_dir, f.file_size) for f in files]


def tree_bytes(root: pathlib.Path) -> dict:
    """Map each file's path relative to `root` to its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def source_tree(tmp_path) -> pathlib.Path:
    """A folder with a nested file, an empty file and 1 MiB of random bytes."""
    root = tmp_path / "source"
    (root / "sub").mkdir(parents=True)
    (root / "x.txt").write_text("x")
    (root / "empty.txt").write_bytes(b"")
    (root / "sub" / "y.txt").write_text("yy\n")
    (root / "sub" / "noise.bin").write_bytes(random.Random(7).randbytes(1 << 20))
    return root


@pytest.fixture
def artifact_run(client, experiment_id, tmp_path, source_tree):
    """A run with these artifacts: `all-bytes.bin` (each byte value once), the source tree under
    `data/`, `notes/readme.txt` from `log_text` and `config.json` from `log_dict`."""
    all_bytes = tmp_path / "all-bytes.bin"
    all_bytes.write_bytes(bytes(range(256)))
    run_id = client.create_run(experiment_id).info.run_id
    client.log_artifact(run_id, str(all_bytes))
    client.log_artifacts(run_id, str(source_tree), artifact_path="data")
    client.log_text(run_id, "hello\nworld\n", "notes/readme.txt")
    client.log_dict(run_id, {"b": 1, "a": [1, 2]}, "config.json")
    return run_id


def test_list_artifacts(client, artifact_run):
    assert listing(client.list_artifacts(artifact_run)) == [
        ("all-bytes.bin", False, 256),
        ("config.json", False, 39),
        ("data", True, None),
        ("notes", True, None),
    ]
    # MLflow's JSON leaves out a size of 0, so the client reports None for an empty file.
    assert listing(client.list_artifacts(artifact_run, "data")) == [
        ("data/empty.txt", False, None),
        ("data/sub", True, None),
        ("data/x.txt", False, 1),
    ]
    assert listing(client.list_artifacts(artifact_run, "data/sub")) == [
        ("data/sub/noise.bin", False, 1 << 20),
        ("data/sub/y.txt", False, 3),
    ]
    assert listing(client.list_artifacts(artifact_run, "no-such-folder")) == []


def test_download_round_trip(client, artifact_run, tmp_path, source_tree):
    target = tmp_path / "downloads"
    target.mkdir()

    all_bytes = client.download_artifacts(artifact_run, "all-bytes.bin", str(target))
    assert pathlib.Path(all_bytes).read_bytes() == bytes(range(256))

    data = pathlib.Path(client.download_artifacts(artifact_run, "data", str(target)))
    assert data == target / "data"
    assert tree_bytes(data) == tree_bytes(source_tree)
    noise = (data / "sub" / "noise.bin").read_bytes()
    expected = (source_tree / "sub" / "noise.bin").read_bytes()
    assert hashlib.sha256(noise).hexdigest() == hashlib.sha256(expected).hexdigest()


def test_text_and_dict(artifact_run):
    base = f"runs:/{artifact_run}"
    assert mlflow.artifacts.load_text(f"{base}/notes/readme.txt") == "hello\nworld\n"
    assert mlflow.artifacts.load_dict(f"{base}/config.json") == {"b": 1, "a": [1, 2]}
    config = mlflow.artifacts.download_artifacts(f"{base}/config.json")
    # `log_dict` writes JSON with an indent of 2 and the keys in the given order.
    text = pathlib.Path(config).read_text()
    assert text == json.dumps({"b": 1, "a": [1, 2]}, indent=2)


def test_fluent_log_artifacts(client, experiment_id, tmp_path):
    report = tmp_path / "report.md"
    report.write_text("# Report\n")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(report), artifact_path="reports")
        mlflow.log_text("a,b\n1,2\n", "table.csv")

    run_id = run.info.run_id
    assert listing(client.list_artifacts(run_id)) == [
        ("reports", True, None),
        ("table.csv", False, 8),
    ]
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/reports/report.md") == "# Report\n"


def test_missing_artifact(client, artifact_run, tmp_path):
    with pytest.raises(MlflowException) as excinfo:
        client.download_artifacts(artifact_run, "no-such-file.txt", str(tmp_path))
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST")


def test_raw_proxy_round_trip(client, tracking_server, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    path = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/raw/put.bin"
    payload = bytes(range(256)) * 4

    put = http_request(tracking_server.url, "PUT", path, body=payload)
    assert put.status == 200, put.body
    got = http_request(tracking_server.url, "GET", path)
    assert got.status == 200
    assert got.body == payload
    assert listing(client.list_artifacts(run_id, "raw")) == [("raw/put.bin", False, 1024)]

    missing = http_request(tracking_server.url, "GET", path.replace("put.bin", "missing.bin"))
    assert_http_error(missing, 404, "RESOURCE_DOES_NOT_EXIST")


def traversal_requests(experiment_id: str, run_id: str, marker: str) -> list:
    """Requests with `..` in an artifact path, as (method, path, body). `marker` names the file
    a write would create if the server followed the `..`."""
    proxy = "/api/2.0/mlflow-artifacts/artifacts"
    run_root = f"{proxy}/{experiment_id}/{run_id}/artifacts"
    return [
        ("PUT", f"{run_root}/../../../{marker}", b"escaped"),
        ("PUT", f"{proxy}/../{marker}", b"escaped"),
        ("PUT", f"{run_root}/%2E%2E/%2E%2E/{marker}", b"escaped"),
        ("PUT", f"{run_root}/..%2F..%2F{marker}", b"escaped"),
        ("GET", f"{run_root}/../../../../../../etc/passwd", None),
        ("GET", f"{run_root}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd", None),
        ("DELETE", f"{run_root}/../{marker}", None),
        ("GET", f"{proxy}?path=../", None),
        ("GET", f"{proxy}?path={experiment_id}/../..", None),
        ("GET", f"/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=../", None),
        ("GET", f"/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=data/../..", None),
        ("GET", f"/get-artifact?run_id={run_id}&path=../{marker}", None),
    ]


def test_path_traversal_rejected(client, tracking_server, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    marker = unique_name("escaped") + ".txt"

    for method, path, body in traversal_requests(experiment_id, run_id, marker):
        response = http_request(tracking_server.url, method, path, body=body)
        assert response.status == 400, (method, path, response.status, response.body[:300])
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE", (method, path)

    if tracking_server.is_weir:
        # The temporary folder contains the data folder, so a file escaping it by a few levels
        # still lands inside.
        top = tracking_server.weir.data_dir.parent
        escaped = [os.path.join(d, marker) for d, _, files in os.walk(top) if marker in files]
        assert escaped == []


def test_client_list_with_parent_path(client, artifact_run):
    # The client sends the `..` to the proxy's list endpoint, and surfaces the 400 as a
    # `requests` HTTP error.
    with pytest.raises(requests.HTTPError) as excinfo:
        client.list_artifacts(artifact_run, "../")
    response = excinfo.value.response
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# The client splits a file into parts of this size and enforces no minimum of its own for the
# proxy. 5 MiB is S3's smallest part, so the same settings also suit an S3 artifact store.
MULTIPART_CHUNK_BYTES = 5 * 1024 * 1024


@pytest.mark.weir_only
def test_log_artifact_multipart_round_trip(client, experiment_id, tmp_path, monkeypatch):
    # An MLflow server with a local artifact root rejects multipart uploads, and the client
    # then falls back to one PUT. Weir accepts them, so the parts must reach the server.
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(MULTIPART_CHUNK_BYTES))
    sent_parts = []
    upload_part = HttpArtifactRepository._upload_part

    def recording_upload_part(credential, local_file, size, start_byte):
        part = upload_part(credential, local_file, size, start_byte)
        sent_parts.append((part.part_number, start_byte, part.etag.startswith('"')))
        return part

    monkeypatch.setattr(
        HttpArtifactRepository, "_upload_part", staticmethod(recording_upload_part)
    )

    payload = random.Random(11).randbytes(12 * 1024 * 1024 + 123)
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(source), artifact_path="weights")
    run_id = run.info.run_id

    assert sorted(sent_parts) == [
        (1, 0, True),
        (2, MULTIPART_CHUNK_BYTES, True),
        (3, 2 * MULTIPART_CHUNK_BYTES, True),
    ]
    assert listing(client.list_artifacts(run_id, "weights")) == [
        ("weights/big.bin", False, len(payload))
    ]
    out = tmp_path / "out"
    out.mkdir()
    downloaded = pathlib.Path(client.download_artifacts(run_id, "weights/big.bin", str(out)))
    assert downloaded.stat().st_size == len(payload)
    assert hashlib.sha256(downloaded.read_bytes()).digest() == hashlib.sha256(payload).digest()
