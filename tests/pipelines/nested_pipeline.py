"""Pipelines used as components, nested two levels deep, with outputs.

Construct: a `@dsl.pipeline` called inside another compiles to a task whose
component has a `dag` and whose outputs come from `dag.outputs`
(`valueFromParameter` and `artifactSelectors`). `add-and-note` is called
twice, the second time on the first call's output, so the same component
runs under two task keys. Each call contains the nested pipeline `double`.

Expected outcome with default arguments (x = 3):
  run: SUCCEEDED
  tasks:
    add-and-note: SUCCEEDED, outputs value = 7, note = Dataset "value=7"
      add-and-note/double: SUCCEEDED, Output = 6
        add-and-note/double/multiply: SUCCEEDED, Output = 6
      add-and-note/add-one: SUCCEEDED, Output = 7
      add-and-note/write-note: SUCCEEDED, note = Dataset "value=7"
    add-and-note-2: SUCCEEDED, outputs value = 15, note = Dataset "value=15"
      add-and-note-2/double: SUCCEEDED, Output = 14
        add-and-note-2/double/multiply: SUCCEEDED, Output = 14
      add-and-note-2/add-one: SUCCEEDED, Output = 15
      add-and-note-2/write-note: SUCCEEDED, note = Dataset "value=15"
    read-note: SUCCEEDED, Output = "value=15"
  pipeline outputs:
    value = 15
    note_text = "value=15"
    note = the Dataset written by add-and-note-2/write-note, content
      "value=15", metadata {"value": 15}

Arguments {"x": 0}: value = 3, note_text = "value=3".
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def multiply(x: int, factor: int) -> int:
    return x * factor


@dsl.component(base_image=BASE_IMAGE)
def add_one(x: int) -> int:
    return x + 1


@dsl.component(base_image=BASE_IMAGE)
def write_note(value: int, note: Output[Dataset]):
    with open(note.path, "w") as f:
        f.write(f"value={value}")
    note.metadata["value"] = value


@dsl.component(base_image=BASE_IMAGE)
def read_note(note: Input[Dataset]) -> str:
    with open(note.path) as f:
        return f.read()


@dsl.pipeline
def double(x: int) -> int:
    return multiply(x=x, factor=2).set_caching_options(False).output


@dsl.pipeline
def add_and_note(x: int) -> NamedTuple("Outputs", value=int, note=Dataset):
    doubled = double(x=x).set_caching_options(False)
    added = add_one(x=doubled.output).set_caching_options(False)
    written = write_note(value=added.output).set_caching_options(False)
    outputs = NamedTuple("Outputs", value=int, note=Dataset)
    return outputs(value=added.output, note=written.outputs["note"])


@dsl.pipeline(name="nested-pipeline")
def nested_pipeline(x: int = 3) -> NamedTuple("Outputs", value=int, note_text=str, note=Dataset):
    first = add_and_note(x=x).set_caching_options(False)
    second = add_and_note(x=first.outputs["value"]).set_caching_options(False)
    text = read_note(note=second.outputs["note"]).set_caching_options(False)
    outputs = NamedTuple("Outputs", value=int, note_text=str, note=Dataset)
    return outputs(value=second.outputs["value"], note_text=text.output, note=second.outputs["note"])


if __name__ == "__main__":
    compiler.Compiler().compile(
        nested_pipeline, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
