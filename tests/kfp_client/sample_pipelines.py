"""Small pipelines that the client tests compile with the kfp SDK.

Container components run `sh -c` scripts, which start fast and need only POSIX shell tools.
`add_pipeline` uses lightweight Python components, which need the `python3` with kfp that
the server finds first on its PATH. Every task disables caching, so each run executes its
tasks again. The expected outcome of each pipeline is in its docstring; task names are the
display names the server reports.
"""

from kfp import dsl
from kfp.dsl import OutputPath

IMAGE = "alpine:3.20"
PYTHON_IMAGE = "python:3.11"


@dsl.container_component
def echo(text: str, out: OutputPath(str)):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'mkdir -p "$(dirname "$1")" && printf "%s" "$0" > "$1"'],
        args=[text, out],
    )


@dsl.container_component
def shout(text: str, out: OutputPath(str)):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'mkdir -p "$(dirname "$1")" && printf "%s!" "$0" > "$1"'],
        args=[text, out],
    )


@dsl.container_component
def exit_with(code: int):
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'exit "$0"'], args=[code])


@dsl.container_component
def append_line(log_dir: str, out: OutputPath(str)):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=[
            "sh",
            "-c",
            'echo run >> "$0/append-line.log" && mkdir -p "$(dirname "$1")" && printf ok > "$1"',
        ],
        args=[log_dir, out],
    )


@dsl.container_component
def require_marker(log_dir: str, previous: str):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'echo "$1" >> "$0/require-marker.log" && test -f "$0/marker"'],
        args=[log_dir, previous],
    )


@dsl.component(base_image=PYTHON_IMAGE)
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(base_image=PYTHON_IMAGE)
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline(name="echo")
def echo_pipeline(text: str = "hello") -> str:
    """Expected: SUCCEEDED, task `echo` out = text, pipeline Output = text."""
    task = echo(text=text).set_caching_options(False)
    return task.outputs["out"]


@dsl.pipeline(name="echo-shout")
def echo_shout_pipeline(text: str = "hello") -> str:
    """Expected: SUCCEEDED, `echo` out = text, `shout` out and pipeline Output = text + "!"."""
    first = echo(text=text).set_caching_options(False)
    second = shout(text=first.outputs["out"]).set_caching_options(False)
    return second.outputs["out"]


@dsl.pipeline(name="add")
def add_pipeline(a: int = 1, b: int = 2) -> int:
    """Expected: SUCCEEDED, `add` Output = a + b, `double` and pipeline Output = 2 * (a + b)."""
    total = add(a=a, b=b).set_caching_options(False)
    doubled = double(x=total.output).set_caching_options(False)
    return doubled.output


@dsl.pipeline(name="fail")
def fail_pipeline(code: int = 3):
    """Expected: FAILED, `exit-with` FAILED (exit status `code`), `echo` after it not run."""
    failed = exit_with(code=code).set_caching_options(False)
    echo(text="after").set_caching_options(False).after(failed)


@dsl.pipeline(name="needs-marker")
def needs_marker_pipeline(log_dir: str):
    """Fails until the file `<log_dir>/marker` exists.

    `append-line` appends "run" to `<log_dir>/append-line.log` and succeeds. Then
    `require-marker` appends "ok" to `<log_dir>/require-marker.log` and fails (exit status
    1) unless `<log_dir>/marker` exists. Without the marker: FAILED, `append-line`
    SUCCEEDED, `require-marker` FAILED. No task has a retry policy.
    """
    first = append_line(log_dir=log_dir).set_caching_options(False)
    require_marker(log_dir=log_dir, previous=first.outputs["out"]).set_caching_options(False)
