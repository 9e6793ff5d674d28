"""Artifacts passed between tasks: a file Dataset and a directory Artifact.

Construct: `write-numbers` writes a Dataset file with one integer per line
plus metadata, and an Artifact that is a directory of two files. `summarize`
reads both and computes its output parameters from their content and from
the Dataset's metadata. The Dataset is also a pipeline output.

Expected outcome with default arguments (count = 5):
  run: SUCCEEDED
  tasks:
    write-numbers: SUCCEEDED
      output artifact numbers: file "1\n2\n3\n4\n5\n",
        metadata {"rows": 5, "format": "lines"}
      output artifact bundle: directory holding a.txt ("alpha") and
        b.txt ("beta")
    summarize: SUCCEEDED
      outputs: total = 15, rows = 5, bundle_files = "a.txt,b.txt"
  pipeline outputs:
    total = 15
    rows = 5
    bundle_files = "a.txt,b.txt"
    numbers = the Dataset written by write-numbers (same URI and metadata)

`rows` comes from the metadata, which reaches `summarize` as the number 5
(kfp.local delivers 5.0, hence the int() in the component).
With count = 0: numbers is an empty file, total = 0, rows = 0.
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Input, Output

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def write_numbers(count: int, numbers: Output[Dataset], bundle: Output[Artifact]):
    import os

    with open(numbers.path, "w") as f:
        for n in range(1, count + 1):
            f.write(f"{n}\n")
    numbers.metadata["rows"] = count
    numbers.metadata["format"] = "lines"

    os.makedirs(bundle.path, exist_ok=True)
    for name, text in [("a.txt", "alpha"), ("b.txt", "beta")]:
        with open(os.path.join(bundle.path, name), "w") as f:
            f.write(text)


@dsl.component(base_image=BASE_IMAGE)
def summarize(
    numbers: Input[Dataset], bundle: Input[Artifact]
) -> NamedTuple("Outputs", total=int, rows=int, bundle_files=str):
    import os

    with open(numbers.path) as f:
        total = sum(int(line) for line in f if line.strip())
    rows = int(numbers.metadata["rows"])
    bundle_files = ",".join(sorted(os.listdir(bundle.path)))
    outputs = NamedTuple("Outputs", total=int, rows=int, bundle_files=str)
    return outputs(total, rows, bundle_files)


@dsl.pipeline(name="artifacts")
def artifacts(
    count: int = 5,
) -> NamedTuple("Outputs", total=int, rows=int, bundle_files=str, numbers=Dataset):
    written = write_numbers(count=count).set_caching_options(False)
    summary = summarize(
        numbers=written.outputs["numbers"], bundle=written.outputs["bundle"]
    ).set_caching_options(False)
    outputs = NamedTuple("Outputs", total=int, rows=int, bundle_files=str, numbers=Dataset)
    return outputs(
        total=summary.outputs["total"],
        rows=summary.outputs["rows"],
        bundle_files=summary.outputs["bundle_files"],
        numbers=written.outputs["numbers"],
    )


if __name__ == "__main__":
    compiler.Compiler().compile(artifacts, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
