"""Benchmark pipeline: a chain of trivial container tasks that run one after another.

Usage: python overhead_chain.py [N ...]   (default: 200 1)
Writes overhead_chain_<N>.yaml next to this file for each N. Every task runs
`sh -c true`, takes no inputs, writes nothing and has caching off; task k+1
waits for task k through `.after()`. Weir's per-task overhead is the run's
wall time minus N times the cost of spawning and waiting for `sh -c true`
directly, divided by N (see run.sh).
"""

import os
import sys

from kfp import compiler, dsl

IMAGE = "alpine:3.20"


@dsl.container_component
def noop():
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", "true"])


def make_pipeline(n_tasks: int):
    """Build a pipeline of `n_tasks` chained `noop` tasks."""

    @dsl.pipeline(name=f"overhead-chain-{n_tasks}")
    def overhead_chain():
        previous = None
        for _ in range(n_tasks):
            task = noop().set_caching_options(False)
            if previous is not None:
                task.after(previous)
            previous = task

    return overhead_chain


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for arg in sys.argv[1:] or ["200", "1"]:
        n = int(arg)
        out = os.path.join(here, f"overhead_chain_{n}.yaml")
        compiler.Compiler().compile(make_pipeline(n), out)
        print(f"compiled {out}")
