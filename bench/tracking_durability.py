#!/usr/bin/env python3
"""Checks that tracking writes weir acknowledged survive `kill -9` of the server.

Starts `weir server` on a fresh data folder, has 8 threads log metric points
(log-metric and 100-point log-batch calls, each thread its own key) as fast as
the server responds, kills the server with SIGKILL after --kill-after seconds,
starts it again on the same folder, and reads every key's history back. Prints
one JSON line: how many points were acknowledged, how many of those are
missing after the restart (must be 0), and how many were stored in all
(requests in flight at the kill may be stored without an acknowledgement).

Standard library only; talks to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

THREADS = 8
MAX_CALLS_PER_THREAD = 20_000


def wait_health(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"weir returned no 200 on /health on port {port} within {timeout} s")


def call(conn: http.client.HTTPConnection, method: str, path: str, body=None) -> dict:
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} returned {response.status}: {data[:200]!r}")
    return json.loads(data) if data else {}


def writer(port: int, run_id: str, key: str, acked: list[int], stop: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    step = 0
    try:
        for call_no in range(MAX_CALLS_PER_THREAD):
            if stop.is_set():
                return
            if call_no % 10 == 9:
                metrics = [
                    {"key": key, "value": float(step + i), "timestamp": 1, "step": step + i}
                    for i in range(100)
                ]
                call(conn, "POST", "/api/2.0/mlflow/runs/log-batch",
                     {"run_id": run_id, "metrics": metrics})
                acked.extend(range(step, step + 100))
                step += 100
            else:
                call(conn, "POST", "/api/2.0/mlflow/runs/log-metric",
                     {"run_id": run_id, "key": key, "value": float(step), "timestamp": 1,
                      "step": step})
                acked.append(step)
                step += 1
    except (OSError, RuntimeError, http.client.HTTPException):
        return  # the server was killed mid-request: that request was never acknowledged


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--weir", required=True, help="path of the weir binary")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--port", type=int, default=5056)
    p.add_argument("--kill-after", type=float, default=2.0, help="seconds of load before kill -9")
    a = p.parse_args()

    def start() -> subprocess.Popen:
        server = subprocess.Popen(
            [a.weir, "--data-dir", a.data_dir, "server", "--bind", f"127.0.0.1:{a.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_health(a.port)
        return server

    server = start()
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    exp = call(conn, "POST", "/api/2.0/mlflow/experiments/create",
               {"name": f"durability-{os.getpid()}"})["experiment_id"]
    run_id = call(conn, "POST", "/api/2.0/mlflow/runs/create",
                  {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]
    conn.close()

    stop = threading.Event()
    acked = {f"k{i}": [] for i in range(THREADS)}
    threads = [threading.Thread(target=writer, args=(a.port, run_id, key, steps, stop))
               for key, steps in acked.items()]
    for t in threads:
        t.start()
    time.sleep(a.kill_after)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    server = start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
        missing = 0
        stored = 0
        for key, steps in acked.items():
            history = call(conn, "GET",
                           f"/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={key}")
            present = {int(m["step"]) for m in history.get("metrics", [])}
            stored += len(present)
            missing += sum(1 for s in steps if s not in present)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    total = sum(len(s) for s in acked.values())
    print(json.dumps({"acknowledged_points": total, "missing_after_kill9": missing,
                      "stored_points": stored, "kill_after_s": a.kill_after,
                      "ok": missing == 0 and total > 0}))
    return 0 if missing == 0 and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
