"""Tasks marked .ignore_upstream_failure() run after a failed upstream task.

Construct: `.ignore_upstream_failure()` compiles to trigger strategy
ALL_UPSTREAM_TASKS_COMPLETED without a `taskFinalStatus` input. An input
wired to the failed task's output gets no value, so the component default
applies (the SDK requires one). A task without the mark that consumes the
failed output never starts.

Expected outcome with default arguments (code = 1):
  run: FAILED (fail-with failed; marked tasks do not change that)
  tasks:
    produce: SUCCEEDED, Output = "ok"
    fail-with: FAILED (process exit status 1)
    report: SUCCEEDED, Output = "got ok"
      (marked; its upstream produce succeeded)
    report-2: SUCCEEDED, Output = "got after"
      (marked; depends on fail-with through .after() only)
    report-3: SUCCEEDED, Output = "got upstream failed"
      (marked; msg is fail-with's output, so it takes the default)
    report-4: not run (not marked; upstream fail-with failed)
  pipeline outputs: none

Arguments {"code": 0}: every task SUCCEEDED; fail-with Output = "fine",
report-3 and report-4 Output = "got fine"; run SUCCEEDED.

kfp.local (2.17.3) stops the default run with an error when it resolves
report-3's input from the failed task, so it cannot check this case.
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def produce(text: str) -> str:
    return text


@dsl.component(base_image=BASE_IMAGE)
def fail_with(code: int) -> str:
    import sys

    if code != 0:
        print(f"exiting with status {code}")
        sys.exit(code)
    return "fine"


@dsl.component(base_image=BASE_IMAGE)
def report(msg: str = "upstream failed") -> str:
    return f"got {msg}"


@dsl.pipeline(name="ignore-upstream-failure")
def ignore_upstream_failure(code: int = 1):
    produced = produce(text="ok").set_caching_options(False)
    failed = fail_with(code=code).set_caching_options(False)
    report(msg=produced.output).set_caching_options(False).ignore_upstream_failure()
    report(msg="after").set_caching_options(False).after(failed).ignore_upstream_failure()
    report(msg=failed.output).set_caching_options(False).ignore_upstream_failure()
    report(msg=failed.output).set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(
        ignore_upstream_failure, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
