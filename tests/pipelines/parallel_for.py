"""dsl.ParallelFor over three kinds of item lists, each with a Collected fan-in.

Construct:
  * for-loop over a raw list in the IR (`parameterIterator.items.raw`);
  * for-loop over a pipeline input that is a list of dicts, reading item
    fields (`parseJson(string_value)["letter"]` selectors) with
    `parallelism=2` (`iteratorPolicy.parallelismLimit`);
  * for-loop over the list output of an upstream task;
  * `dsl.Collected` fan-in after each loop. Collected lists keep iteration
    order, which `join-labels` makes visible.

Expected outcome with default arguments
(rows = [{"letter": "a", "n": 1}, {"letter": "b", "n": 2}, {"letter": "c", "n": 3}],
factor = 10, count = 3):
  run: SUCCEEDED
  tasks:
    for-loop-2 (items [1, 2, 3, 4]): SUCCEEDED, 4 iterations
      for-loop-2/<i>/square: SUCCEEDED, Output = 1, 4, 9, 16 for i = 0..3
    sum-ints: SUCCEEDED, Output = 30
    for-loop-3 (items = rows, at most 2 iterations running at once): SUCCEEDED
      for-loop-3/<i>/scale: SUCCEEDED, Output = "a:10", "b:20", "c:30"
    join-labels: SUCCEEDED, Output = "a:10,b:20,c:30"
    make-range: SUCCEEDED, Output = [0, 1, 2]
    for-loop-4 (items = make-range output): SUCCEEDED, 3 iterations
      for-loop-4/<i>/square-2: SUCCEEDED, Output = 0, 1, 4
    sum-ints-2: SUCCEEDED, Output = 5
  pipeline outputs:
    squares_total = 30
    labels = "a:10,b:20,c:30"
    range_total = 5

Sum inputs arrive as [1.0, 4.0, ...] from kfp.local, so `sum_ints` casts.
Arguments {"count": 0}: for-loop-4 runs zero iterations and the Collected
list is [], so range_total = 0 (kfp.local publishes no output for an empty
loop and fails sum-ints-2 instead).
"""

import os
from typing import Dict, List, NamedTuple

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def square(x: int) -> int:
    return x * x


@dsl.component(base_image=BASE_IMAGE)
def sum_ints(values: List[int]) -> int:
    return int(sum(values))


@dsl.component(base_image=BASE_IMAGE)
def scale(letter: str, n: int, factor: int) -> str:
    return f"{letter}:{n * factor}"


@dsl.component(base_image=BASE_IMAGE)
def join_labels(labels: List[str]) -> str:
    return ",".join(labels)


@dsl.component(base_image=BASE_IMAGE)
def make_range(count: int) -> List[int]:
    return list(range(count))


@dsl.pipeline(name="parallel-for")
def parallel_for(
    rows: List[Dict] = [{"letter": "a", "n": 1}, {"letter": "b", "n": 2}, {"letter": "c", "n": 3}],
    factor: int = 10,
    count: int = 3,
) -> NamedTuple("Outputs", squares_total=int, labels=str, range_total=int):
    with dsl.ParallelFor(items=[1, 2, 3, 4]) as x:
        squared = square(x=x).set_caching_options(False)
    squares_total = sum_ints(values=dsl.Collected(squared.output)).set_caching_options(False)

    with dsl.ParallelFor(items=rows, parallelism=2) as row:
        scaled = scale(letter=row.letter, n=row.n, factor=factor).set_caching_options(False)
    labels = join_labels(labels=dsl.Collected(scaled.output)).set_caching_options(False)

    numbers = make_range(count=count).set_caching_options(False)
    with dsl.ParallelFor(items=numbers.output) as number:
        squared_number = square(x=number).set_caching_options(False)
    range_total = sum_ints(values=dsl.Collected(squared_number.output)).set_caching_options(
        False
    )

    outputs = NamedTuple("Outputs", squares_total=int, labels=str, range_total=int)
    return outputs(
        squares_total=squares_total.output,
        labels=labels.output,
        range_total=range_total.output,
    )


if __name__ == "__main__":
    compiler.Compiler().compile(
        parallel_for, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
