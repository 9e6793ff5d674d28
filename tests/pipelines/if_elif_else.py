"""dsl.If / dsl.Elif / dsl.Else with a dsl.OneOf output.

Construct: a `condition-branches-N` sub-DAG holding one `condition-M` task
per branch (each branch's CEL condition negates the earlier ones), and a
`valueFromOneof` DAG output that takes the output of the branch that ran.
The OneOf value is a pipeline output and also feeds a downstream task.

Expected outcome with default arguments (x = 7):
  run: SUCCEEDED
  tasks:
    get-number: SUCCEEDED, Output = 7
    condition-branches-1: SUCCEEDED
      condition-branches-1/condition-2 (x > 10): SKIPPED
        condition-branches-1/condition-2/label: not run
      condition-branches-1/condition-3 (x > 5): SUCCEEDED
        condition-branches-1/condition-3/label-2: SUCCEEDED, Output = "medium"
      condition-branches-1/condition-4 (else): SKIPPED
        condition-branches-1/condition-4/label-3: not run
    shout: SUCCEEDED, Output = "MEDIUM!"
  pipeline outputs:
    size = "medium"
    shouted = "MEDIUM!"

Other arguments (only the branch that runs changes):
  x = 20: condition-2 runs, size = "big", shouted = "BIG!"
  x = 10: condition-3 runs, size = "medium", shouted = "MEDIUM!"
  x = 1: condition-4 runs, size = "small", shouted = "SMALL!"
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def get_number(n: int) -> int:
    return n


@dsl.component(base_image=BASE_IMAGE)
def label(text: str) -> str:
    return text


@dsl.component(base_image=BASE_IMAGE)
def shout(text: str) -> str:
    return text.upper() + "!"


@dsl.pipeline(name="if-elif-else")
def if_elif_else(x: int = 7) -> NamedTuple("Outputs", size=str, shouted=str):
    number = get_number(n=x).set_caching_options(False)
    with dsl.If(number.output > 10, name="big"):
        big = label(text="big").set_caching_options(False)
    with dsl.Elif(number.output > 5, name="medium"):
        medium = label(text="medium").set_caching_options(False)
    with dsl.Else(name="small"):
        small = label(text="small").set_caching_options(False)
    size = dsl.OneOf(big.output, medium.output, small.output)
    shouted = shout(text=size).set_caching_options(False)
    outputs = NamedTuple("Outputs", size=str, shouted=str)
    return outputs(size=size, shouted=shouted.output)


if __name__ == "__main__":
    compiler.Compiler().compile(
        if_elif_else, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
