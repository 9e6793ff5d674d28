"""Pipeline parameters of every type, echoed back by a component.

Construct: pipeline inputs of type str, int, float, bool, list and dict
with defaults, passed to one lightweight Python component whose outputs
are the pipeline's outputs. `types` proves the component received real
Python types (an int, not the float 7.0 that the IR stores).

Expected outcome with default arguments:
  run: SUCCEEDED
  tasks:
    echo-params: SUCCEEDED
  pipeline outputs:
    text = 'say "hi"'
    count = 7
    ratio = 2.5
    flag = true
    items = [1, "two", 3.5]
    config = {"name": "weir", "n": 2, "nested": {"on": true}}
    types = "str,int,float,bool,list,dict"

Numbers inside `items` and `config` have no declared type in the IR, so
they compare by numeric value: kfp.local returns 1.0 and 2.0 there.

Arguments {"text": "x", "count": -3, "ratio": 0.0, "flag": false,
"items": [], "config": {}} give back exactly those values and the same
`types`.
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def echo_params(
    text: str, count: int, ratio: float, flag: bool, items: list, config: dict
) -> NamedTuple(
    "Outputs",
    text=str,
    count=int,
    ratio=float,
    flag=bool,
    items=list,
    config=dict,
    types=str,
):
    values = [text, count, ratio, flag, items, config]
    types = ",".join(type(value).__name__ for value in values)
    outputs = NamedTuple(
        "Outputs",
        text=str,
        count=int,
        ratio=float,
        flag=bool,
        items=list,
        config=dict,
        types=str,
    )
    return outputs(text, count, ratio, flag, items, config, types)


@dsl.pipeline(name="params-types")
def params_types(
    text: str = 'say "hi"',
    count: int = 7,
    ratio: float = 2.5,
    flag: bool = True,
    items: list = [1, "two", 3.5],
    config: dict = {"name": "weir", "n": 2, "nested": {"on": True}},
) -> NamedTuple(
    "Outputs",
    text=str,
    count=int,
    ratio=float,
    flag=bool,
    items=list,
    config=dict,
    types=str,
):
    echo = echo_params(
        text=text, count=count, ratio=ratio, flag=flag, items=items, config=config
    ).set_caching_options(False)
    outputs = NamedTuple(
        "Outputs",
        text=str,
        count=int,
        ratio=float,
        flag=bool,
        items=list,
        config=dict,
        types=str,
    )
    return outputs(
        text=echo.outputs["text"],
        count=echo.outputs["count"],
        ratio=echo.outputs["ratio"],
        flag=echo.outputs["flag"],
        items=echo.outputs["items"],
        config=echo.outputs["config"],
        types=echo.outputs["types"],
    )


if __name__ == "__main__":
    compiler.Compiler().compile(
        params_types, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
