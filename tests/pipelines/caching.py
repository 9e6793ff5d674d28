"""Task caching: one cached task and one uncached task that log each process.

Construct: `cachingOptions.enableCache: true` on `count-run` and `{}`
(caching off) on `count-run-2`. Each process appends its label and value as
one line to the file `log_path`, so a test counts the processes that really
ran. `count-run-2` consumes `count-run`'s output, so it always runs second.
The test passes a `log_path` in a fresh temporary directory and keeps it
for the following runs (it is part of the cache key).

Expected outcome, engine caching enabled, three runs with the same log_path:
  run 1 {"value": "v1"}: run SUCCEEDED
    count-run: SUCCEEDED (ran), count-run-2: SUCCEEDED (ran)
    Output = "v1"; log file: "cached v1\nuncached v1\n"
  run 2 {"value": "v1"}: run SUCCEEDED
    count-run: SUCCEEDED from the cache (no process, Output "v1" reused),
    count-run-2: SUCCEEDED (ran)
    Output = "v1"; log file gains "uncached v1\n" (3 lines)
  run 3 {"value": "v2"}: run SUCCEEDED, new inputs so no cache hit
    count-run and count-run-2 both ran
    Output = "v2"; log file gains "cached v2\nuncached v2\n" (5 lines)
With engine caching disabled, every run adds two lines.
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def count_run(log_path: str, label: str, value: str) -> str:
    with open(log_path, "a") as f:
        f.write(f"{label} {value}\n")
    return value


@dsl.pipeline(name="caching")
def caching(log_path: str, value: str = "v1") -> str:
    cached = count_run(log_path=log_path, label="cached", value=value)
    cached.set_caching_options(True)
    uncached = count_run(log_path=log_path, label="uncached", value=cached.output)
    uncached.set_caching_options(False)
    return uncached.output


if __name__ == "__main__":
    compiler.Compiler().compile(caching, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
