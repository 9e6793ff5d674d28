"""Container components that report the MLflow variables Weir gives them.

Construct: the tracking environment of a task. `report` writes
`$MLFLOW_TRACKING_URI` and `$MLFLOW_RUN_CONTEXT`, joined by a newline, to
its `env` output. `report-2` is the same component with
`set_env_variable` setting its own MLFLOW_TRACKING_URI and an
MLFLOW_RUN_CONTEXT object with one key, `team`.

Expected outcome when the engine's tracking URI is http://127.0.0.1:9:
  run: SUCCEEDED
  tasks:
    report: SUCCEEDED
      env = "http://127.0.0.1:9\n" followed by a JSON object with exactly
      weir.run_id = the run id, weir.task_id = the task's id,
      weir.task_name = "report", weir.task_path = "report"
    report-2: SUCCEEDED
      env = "http://mlflow.example:5000\n" followed by a JSON object with
      team = "vision" and the four weir.* keys of this task
      (weir.task_name = "report-2")

With no tracking URI configured, both lines of `report` are empty and
`report-2` keeps its two values unchanged.
"""

import os

from kfp import compiler, dsl


@dsl.container_component
def report(env: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3.20",
        command=["sh", "-c", 'printf "%s\\n%s" "$MLFLOW_TRACKING_URI" "$MLFLOW_RUN_CONTEXT" > "$0"'],
        args=[env],
    )


@dsl.pipeline(name="tracking-env")
def tracking_env():
    report()
    own = report()
    own.set_env_variable("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    own.set_env_variable("MLFLOW_RUN_CONTEXT", '{"team": "vision"}')


if __name__ == "__main__":
    compiler.Compiler().compile(
        tracking_env, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
