"""Benchmark: a ParallelFor over 10,000 trivial container tasks.

Construct: `parameterIterator.items.inputParameter` over the pipeline input
`items` (default: the integers 0 to 9999), with no parallelism limit and no
fan-in. Each iteration runs `echo-item`, a container component that runs
`sh -c 'echo "$0"' <item>` and writes nothing. Caching is off, so every
iteration starts a process.

Expected outcome with default arguments:
  run: SUCCEEDED
  tasks:
    for-loop-1: SUCCEEDED, 10000 iterations
      for-loop-1/<i>/echo-item: SUCCEEDED, log "<i>\n", for i = 0..9999
  pipeline outputs: none

Pass a shorter list as `items` for a quicker run (for example
{"items": [0, 1, 2]} gives 3 iterations). The default list makes the
compiled YAML about 10,000 lines longer; the engine has to load it quickly
too. kfp.local cannot run container components, so this file is only
compiled.
"""

import os
from typing import List

from kfp import compiler, dsl

IMAGE = "alpine:3.20"
DEFAULT_ITEMS = list(range(10_000))


@dsl.container_component
def echo_item(item: int):
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'echo "$0"'], args=[item])


@dsl.pipeline(name="bench-fanout-10k")
def bench_fanout_10k(items: List[int] = DEFAULT_ITEMS):
    with dsl.ParallelFor(items=items) as item:
        echo_item(item=item).set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(
        bench_fanout_10k, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
