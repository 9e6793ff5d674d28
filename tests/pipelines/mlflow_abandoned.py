"""A task that starts an MLflow run and dies before it can end it.

Construct: a lightweight Python component with no `packages_to_install`, so
the `python3` that runs it needs kfp and mlflow. It starts an MLflow run on the
tracking server Weir gives it and exits with `os._exit(3)`. That skips the
mlflow client's exit hook, which would otherwise end the run.

Expected outcome:
  run: FAILED
  tasks:
    abandon: FAILED (exit code 3)
  MLflow: one run tagged weir.task_name = "abandon", which Weir ends as FAILED
    when the pipeline run ends, because its task failed.
"""

import os

from kfp import compiler, dsl


@dsl.component(base_image="python:3.11", packages_to_install=[])
def abandon():
    import os

    import mlflow

    mlflow.start_run()
    mlflow.log_param("state", "started")
    os._exit(3)


@dsl.pipeline(name="mlflow-abandoned")
def mlflow_abandoned():
    abandon().set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(
        mlflow_abandoned, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
