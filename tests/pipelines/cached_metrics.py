"""Task caching of a task whose only output artifacts are metadata-only.

Construct: `cachingOptions.enableCache: true` on `score`, which has an
`Output[Metrics]` and an `Output[ClassificationMetrics]` and returns a
float. The kfp executor writes no file for these two artifact types, only
their metadata. Each process appends one line to the file `log_path`, so a
test counts the processes that really ran.

Expected outcome, engine caching enabled, two runs with the same log_path
and accuracy = 0.75:
  run 1: run SUCCEEDED
    score: SUCCEEDED (ran), Output = 1.5
      metrics metadata: {"accuracy": 0.75}
      confusion metadata: {"confusionMatrix": {"annotationSpecs":
        [{"displayName": "yes"}, {"displayName": "no"}],
        "rows": [{"row": [3, 1]}, {"row": [0, 4]}]}}
    log file: "scored 0.75\n"
  run 2: run SUCCEEDED
    score: SUCCEEDED from the cache (no process), Output = 1.5, both
      artifacts with run 1's URIs and metadata
    log file unchanged (1 line)
  pipeline output: Output = 1.5 in both runs
"""

import os

from kfp import compiler, dsl
from kfp.dsl import ClassificationMetrics, Metrics, Output

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def score(
    log_path: str,
    accuracy: float,
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
) -> float:
    with open(log_path, "a") as f:
        f.write(f"scored {accuracy}\n")
    metrics.log_metric("accuracy", accuracy)
    confusion.log_confusion_matrix(["yes", "no"], [[3, 1], [0, 4]])
    return accuracy * 2


@dsl.pipeline(name="cached-metrics")
def cached_metrics(log_path: str, accuracy: float = 0.75) -> float:
    scored = score(log_path=log_path, accuracy=accuracy)
    scored.set_caching_options(True)
    return scored.outputs["Output"]


if __name__ == "__main__":
    compiler.Compiler().compile(
        cached_metrics, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
