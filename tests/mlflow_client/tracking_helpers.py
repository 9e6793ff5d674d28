"""Helpers shared by the mlflow client tests: unique names, checks of MLflow errors, and raw
HTTP requests for calls the `mlflow` client does not make, such as a PUT with `..` in its
artifact path."""

import dataclasses
import http.client
import json
import time
import urllib.parse
import uuid
from typing import Optional

import pytest
from mlflow.exceptions import MlflowException

POLL_SECONDS = 0.25


def unique_name(prefix: str) -> str:
    """Return `prefix` with a random 48-bit suffix, so names do not clash on a shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def assert_mlflow_error(excinfo, error_code: str, *message_parts: str) -> MlflowException:
    """Check the MLflow error code of a raised `MlflowException`, and that its message names
    each of `message_parts`."""
    error = excinfo.value
    assert isinstance(error, MlflowException), repr(error)
    assert error.error_code == error_code, str(error)
    for part in message_parts:
        assert part in error.message, str(error)
    return error


@dataclasses.dataclass
class HttpResponse:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_request(
    base_url: str, method: str, path: str, body: Optional[bytes] = None, json_body=None
) -> HttpResponse:
    """Send one request with `path` exactly as given.

    `requests` (through urllib3) removes `..` segments from a URL before sending it, and
    `http.client` does not, so the tests send such paths with `http.client`.
    """
    url = urllib.parse.urlsplit(base_url)
    headers = {}
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return HttpResponse(status=response.status, body=response.read())
    finally:
        connection.close()


def assert_http_error(response: HttpResponse, status: int, error_code: str) -> dict:
    """Check the HTTP status and the MLflow `error_code` of an error response."""
    assert response.status == status, response.body[:500]
    body = response.json()
    assert body["error_code"] == error_code, body
    assert body["message"], body
    return body


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


def follow_pages(search, page_limit: int = 50) -> list:
    """Call `search(page_token)` until it returns a page without a token, and return every
    page as a list."""
    pages = []
    token = None
    for _ in range(page_limit):
        page = search(token)
        pages.append(list(page))
        token = page.token
        if not token:
            return pages
    pytest.fail(f"search returned more than {page_limit} pages")
