"""dsl.ParallelFor over lists whose element type the compiler does not know.

Construct:
  * for-loop over an untyped `list` pipeline input into a `float` input;
  * for-loop over an upstream task's `-> list` output into an `int` input.
The compiler declares both loop items (`pipelinechannel--lrs-loop-item`,
`pipelinechannel--make-list-Output-loop-item`) as STRING, its type for an
unknown element, while the consuming inputs are NUMBER_DOUBLE and
NUMBER_INTEGER. Each component returns the Python type name of the value
it received, so a number passed on as text shows up as `str`.

Expected outcome with default arguments (lrs = [0.1, 0.2]):
  run: SUCCEEDED
  tasks:
    for-loop-1 (items = lrs): SUCCEEDED, 2 iterations
      for-loop-1/<i>/describe-lr: SUCCEEDED,
        Output = "float 0.1", "float 0.2" for i = 0, 1
    make-list: SUCCEEDED, Output = [1, 2, 3]
    for-loop-2 (items = make-list output): SUCCEEDED, 3 iterations
      for-loop-2/<i>/describe-count: SUCCEEDED,
        Output = "int 2", "int 4", "int 6" for i = 0..2
  pipeline outputs: none
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def describe_lr(lr: float) -> str:
    return f"{type(lr).__name__} {lr}"


@dsl.component(base_image=BASE_IMAGE)
def make_list() -> list:
    return [1, 2, 3]


@dsl.component(base_image=BASE_IMAGE)
def describe_count(n: int) -> str:
    return f"{type(n).__name__} {n * 2}"


@dsl.pipeline(name="loop-item-types")
def loop_item_types(lrs: list = [0.1, 0.2]):
    with dsl.ParallelFor(lrs) as lr:
        describe_lr(lr=lr).set_caching_options(False)
    numbers = make_list().set_caching_options(False)
    with dsl.ParallelFor(numbers.output) as n:
        describe_count(n=n).set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(
        loop_item_types, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
