"""dsl.ExitHandler whose body fails: the exit task still runs and receives FAILED.

Construct: the body is the sub-DAG task `exit-handler-1`; the exit task
`record-status` depends on it with trigger strategy
ALL_UPSTREAM_TASKS_COMPLETED and receives a `PipelineTaskFinalStatus`
(`taskFinalStatus` input). Inside the body `fail` exits with status 1, so
the task after it never starts.

Expected outcome with default arguments:
  run: FAILED
  tasks:
    exit-handler-1 (display name "body"): FAILED
      exit-handler-1/say: SUCCEEDED, Output = "hello"
      exit-handler-1/fail: FAILED (process exit status 1)
      exit-handler-1/say-2: not run
    record-status: SUCCEEDED, Output = "FAILED"
      its `status` input has state "FAILED" and pipeline task name
      "exit-handler-1"
  pipeline outputs: none
"""

import os

from kfp import compiler, dsl
from kfp.dsl import PipelineTaskFinalStatus

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def say(msg: str) -> str:
    print(msg)
    return msg


@dsl.component(base_image=BASE_IMAGE)
def fail(code: int):
    import sys

    print(f"exiting with status {code}")
    sys.exit(code)


@dsl.component(base_image=BASE_IMAGE)
def record_status(status: PipelineTaskFinalStatus) -> str:
    print(f"state={status.state} task={status.pipeline_task_name}")
    print(f"error_code={status.error_code} error_message={status.error_message}")
    return status.state


@dsl.pipeline(name="exit-handler-fail")
def exit_handler_fail(msg: str = "hello"):
    exit_task = record_status().set_caching_options(False)
    with dsl.ExitHandler(exit_task=exit_task, name="body"):
        greeting = say(msg=msg).set_caching_options(False)
        failed = fail(code=1).set_caching_options(False).after(greeting)
        say(msg="unreachable").set_caching_options(False).after(failed)


if __name__ == "__main__":
    compiler.Compiler().compile(
        exit_handler_fail, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
