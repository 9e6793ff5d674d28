"""A task that fails on its first attempts and is retried.

Construct: `retryPolicy` from `.set_retry(num_retries=2, backoff_duration="0s")`
(maxRetryCount 2, so at most 3 attempts, with no wait between them).
`flaky` appends one line to `<marker_dir>/attempts` per attempt and exits
with status 1 while the file has at most `fail_times` lines. The test
passes a fresh empty directory as `marker_dir` (no default: the argument is
required); the component creates the directory if it is missing.

Expected outcome with {"marker_dir": <empty dir>} (fail_times = 1):
  run: SUCCEEDED
  tasks:
    flaky: SUCCEEDED after 2 attempts (the first exits with status 1),
      Output = 2
  <marker_dir>/attempts: 2 lines
  pipeline outputs:
    Output = 2

Expected outcome with {"marker_dir": <empty dir>, "fail_times": 3}:
  run: FAILED
  tasks:
    flaky: FAILED after 3 attempts (every one exits with status 1)
  <marker_dir>/attempts: 3 lines
  pipeline outputs: none

With {"fail_times": 0}: one attempt, Output = 1.
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def flaky(marker_dir: str, fail_times: int) -> int:
    import os
    import sys

    os.makedirs(marker_dir, exist_ok=True)
    path = os.path.join(marker_dir, "attempts")
    with open(path, "a") as f:
        f.write("attempt\n")
    with open(path) as f:
        attempt = len(f.read().splitlines())
    if attempt <= fail_times:
        print(f"attempt {attempt}: failing on purpose")
        sys.exit(1)
    print(f"attempt {attempt}: succeeding")
    return attempt


@dsl.pipeline(name="retry")
def retry(marker_dir: str, fail_times: int = 1) -> int:
    task = flaky(marker_dir=marker_dir, fail_times=fail_times)
    task.set_caching_options(False)
    task.set_retry(num_retries=2, backoff_duration="0s")
    return task.output


if __name__ == "__main__":
    compiler.Compiler().compile(retry, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
