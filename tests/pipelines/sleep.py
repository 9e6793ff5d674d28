"""A long-running container task between two quick ones, for cancel and timeout tests.

Construct: container components run with `sh -c`. `sleep-for` runs
`sleep <seconds>` (default one hour), so a test can cancel the run or hit a
timeout while it runs. `mark` (display name "before") and `mark-2`
(display name "after") each write their text to an output parameter file.
`sh -c 'sleep "$0"'` may run sleep as a child of sh, so cancelling has to
stop the whole process group.

Expected outcome, default arguments, run cancelled while sleep-for runs:
  run: CANCELED
  tasks:
    mark: SUCCEEDED, out = "before"
    sleep-for: CANCELED (its processes are killed)
    mark-2: not run
  pipeline outputs: none

Expected outcome with {"seconds": 1} (no cancel):
  run: SUCCEEDED, in about 1 s plus task start-up
  tasks:
    mark: SUCCEEDED, out = "before"
    sleep-for: SUCCEEDED
    mark-2: SUCCEEDED, out = "after"
  pipeline outputs:
    Output = "after"

Each `out` file contains the text without a trailing newline. kfp.local cannot
run container components, so this file is only compiled.
"""

import os

from kfp import compiler, dsl
from kfp.dsl import OutputPath

IMAGE = "alpine:3.20"


@dsl.container_component
def sleep_for(seconds: int):
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'sleep "$0"'], args=[seconds])


@dsl.container_component
def mark(text: str, out: OutputPath(str)):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'mkdir -p "$(dirname "$1")" && printf "%s" "$0" > "$1"'],
        args=[text, out],
    )


@dsl.pipeline(name="sleep")
def sleep(seconds: int = 3600) -> str:
    before = mark(text="before").set_caching_options(False).set_display_name("before")
    slept = sleep_for(seconds=seconds).set_caching_options(False).after(before)
    after = mark(text="after").set_caching_options(False).set_display_name("after").after(slept)
    return after.outputs["out"]


if __name__ == "__main__":
    compiler.Compiler().compile(sleep, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
