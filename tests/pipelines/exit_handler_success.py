"""dsl.ExitHandler whose body succeeds: the exit task runs and receives SUCCEEDED.

Construct: as in exit_handler_fail.py (body sub-DAG `exit-handler-1`, exit
task with a `PipelineTaskFinalStatus` input), with a body of two tasks that
both succeed.

Expected outcome with default arguments:
  run: SUCCEEDED
  tasks:
    exit-handler-1 (display name "body"): SUCCEEDED
      exit-handler-1/say: SUCCEEDED, Output = "hello"
      exit-handler-1/say-2: SUCCEEDED, Output = "world"
    record-status: SUCCEEDED, Output = "SUCCEEDED"
      it starts only after exit-handler-1 finished
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
def record_status(status: PipelineTaskFinalStatus) -> str:
    print(f"state={status.state} task={status.pipeline_task_name}")
    return status.state


@dsl.pipeline(name="exit-handler-success")
def exit_handler_success(first: str = "hello", second: str = "world"):
    exit_task = record_status().set_caching_options(False)
    with dsl.ExitHandler(exit_task=exit_task, name="body"):
        greeting = say(msg=first).set_caching_options(False)
        say(msg=second).set_caching_options(False).after(greeting)


if __name__ == "__main__":
    compiler.Compiler().compile(
        exit_handler_success, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
