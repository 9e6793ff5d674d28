"""A training task that logs to the MLflow tracking server of the Weir process that runs it.

Construct: a lightweight Python component with no `packages_to_install`, so the `python3`
that runs it must have kfp and mlflow installed. It reads nothing about tracking from its
inputs. Weir sets `MLFLOW_TRACKING_URI` to its own server and `MLFLOW_RUN_CONTEXT` to the
JSON object of the `weir.*` tags, which the `mlflow` client adds to every run it starts.

`train-and-log` starts an MLflow run in the `Default` experiment, logs the param
`learning_rate` and the metric `accuracy` = 0.875 at step 1, and returns the MLflow run id.

Expected outcome with default arguments (learning_rate = 0.05):
  run: SUCCEEDED
  tasks:
    train-and-log: SUCCEEDED, Output = the id of the MLflow run it started
  pipeline outputs:
    Output = the same MLflow run id
  MLflow run: FINISHED, params {"learning_rate": "0.05"}, metric accuracy = 0.875 at step 1,
    tags weir.run_id = the Weir run id, weir.task_name = "train-and-log",
    weir.task_id = the task's id in the run details.
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE, packages_to_install=[])
def train_and_log(learning_rate: float) -> str:
    import mlflow

    with mlflow.start_run() as run:
        mlflow.log_param("learning_rate", learning_rate)
        mlflow.log_metric("accuracy", 0.875, step=1)
    return run.info.run_id


@dsl.pipeline(name="tracked-training")
def tracked_training(learning_rate: float = 0.05) -> str:
    task = train_and_log(learning_rate=learning_rate)
    task.set_caching_options(False)
    return task.output


if __name__ == "__main__":
    compiler.Compiler().compile(
        tracked_training, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
