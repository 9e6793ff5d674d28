"""dsl.ParallelFor over a list of artifacts inside a nested pipeline.

Construct: a loop that produces one Dataset per item; its outputs gathered
with `dsl.Collected` into a `List[Dataset]` (`isArtifactList: true`) that
  * feeds `concat-texts` directly (an artifact-list fan-in), and
  * is the input of the nested pipeline `read-each`, which iterates over it
    (`artifactIterator`), reads each Dataset and returns the Collected texts
    as its `List[str]` output.

Expected outcome (no arguments):
  run: SUCCEEDED
  tasks:
    for-loop-2 (items ["a", "b", "c"]): SUCCEEDED, 3 iterations
      for-loop-2/<i>/make-text: SUCCEEDED, Dataset with content "a", "b",
        "c" and metadata {"text": "a"} etc. for i = 0..2
    concat-texts: SUCCEEDED, Output = "abc"
    read-each: SUCCEEDED, Output = ["a", "b", "c"]
      read-each/for-loop-1 (over the 3 Datasets): SUCCEEDED, 3 iterations
        read-each/for-loop-1/<i>/read-text: SUCCEEDED, Output = "a", "b", "c"
    join-texts: SUCCEEDED, Output = "a-b-c"
  pipeline outputs:
    concatenated = "abc"
    joined = "a-b-c"

kfp.local (2.17.3) runs zero iterations of read-each/for-loop-1 because it
guesses the iterator's items from input names. It then fails to resolve the
nested pipeline's Collected output, so it cannot check this file.
"""

import os
from typing import List, NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def make_text(text: str, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(text)
    out.metadata["text"] = text


@dsl.component(base_image=BASE_IMAGE)
def read_text(ds: Input[Dataset]) -> str:
    with open(ds.path) as f:
        return f.read()


@dsl.component(base_image=BASE_IMAGE)
def concat_texts(datasets: Input[List[Dataset]]) -> str:
    parts = []
    for dataset in datasets:
        with open(dataset.path) as f:
            parts.append(f.read())
    return "".join(parts)


@dsl.component(base_image=BASE_IMAGE)
def join_texts(texts: List[str]) -> str:
    return "-".join(texts)


@dsl.pipeline
def read_each(datasets: Input[List[Dataset]]) -> List[str]:
    with dsl.ParallelFor(items=datasets) as dataset:
        text = read_text(ds=dataset).set_caching_options(False)
    return dsl.Collected(text.output)


@dsl.pipeline(name="artifact-iterator")
def artifact_iterator() -> NamedTuple("Outputs", concatenated=str, joined=str):
    with dsl.ParallelFor(items=["a", "b", "c"]) as letter:
        made = make_text(text=letter).set_caching_options(False)
    concatenated = concat_texts(datasets=dsl.Collected(made.outputs["out"])).set_caching_options(
        False
    )
    each = read_each(datasets=dsl.Collected(made.outputs["out"])).set_caching_options(False)
    joined = join_texts(texts=each.output).set_caching_options(False)
    outputs = NamedTuple("Outputs", concatenated=str, joined=str)
    return outputs(concatenated=concatenated.output, joined=joined.output)


if __name__ == "__main__":
    compiler.Compiler().compile(
        artifact_iterator, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
