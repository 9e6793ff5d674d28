"""A task that tracks through `MlflowClient` only, which reads no run context.

Construct: a lightweight Python component with no `packages_to_install`, so
the `python3` that runs it needs kfp and mlflow. It creates a run with
`MlflowClient().create_run("0")`, ends it, registers the model name
`client-calls` and creates version 1 from the run's `model` folder. Neither
call reads `MLFLOW_RUN_CONTEXT`; Weir's tracking server tags both from the
task's `MLFLOW_TRACKING_TOKEN`.

Expected outcome:
  run: SUCCEEDED
  tasks:
    make-version: SUCCEEDED, Output = the id of the MLflow run it created
  MLflow: that run FINISHED in experiment 0 with the four weir.* tags of the
    task; model `client-calls` version 1 with tag weir.run_id = the Weir run.
"""

import os

from kfp import compiler, dsl


@dsl.component(base_image="python:3.11", packages_to_install=[])
def make_version() -> str:
    from mlflow import MlflowClient

    client = MlflowClient()
    run = client.create_run("0")
    client.set_terminated(run.info.run_id)
    client.create_registered_model("client-calls")
    client.create_model_version(
        "client-calls", f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    return run.info.run_id


@dsl.pipeline(name="mlflow-client-calls")
def mlflow_client_calls():
    make_version().set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(
        mlflow_client_calls, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
