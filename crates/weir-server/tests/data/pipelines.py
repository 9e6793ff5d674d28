"""Compiles the pipelines the weir-server tests submit. Run from this folder:

    ../../../../.venv/bin/python pipelines.py

Every component is a container component whose command is `sh`, so the tests need no Python
packages on the machine that runs the tasks.
"""

from kfp import compiler, dsl


@dsl.container_component
def echo(msg: str, out: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine",
        command=["sh", "-c", 'echo "$0"; mkdir -p "$(dirname "$1")"; printf %s "$0" > "$1"'],
        args=[msg, out],
    )


@dsl.container_component
def sleeper(seconds: int):
    return dsl.ContainerSpec(image="alpine", command=["sh", "-c", 'sleep "$0"'], args=[seconds])


@dsl.container_component
def require_file(path: str, after: str):
    return dsl.ContainerSpec(
        image="alpine",
        command=["sh", "-c", 'echo "checking $0"; test -f "$0"'],
        args=[path, after],
    )


@dsl.container_component
def write_dataset(text: str, data: dsl.Output[dsl.Dataset]):
    return dsl.ContainerSpec(
        image="alpine",
        command=["sh", "-c", 'mkdir -p "$(dirname "$1")"; printf %s "$0" > "$1"'],
        args=[text, data.path],
    )


@dsl.pipeline(name="echo-loop")
def echo_loop(msg: str = "hello", epochs: int = 1):
    first = echo(msg=msg).set_caching_options(False)
    with dsl.ParallelFor(items=[1, 2]):
        echo(msg=first.outputs["out"]).set_caching_options(False)


@dsl.pipeline(name="sleepy")
def sleepy(seconds: int = 30):
    sleeper(seconds=seconds).set_caching_options(False)


@dsl.pipeline(name="needs-file")
def needs_file(path: str):
    first = echo(msg="before").set_caching_options(False)
    require_file(path=path, after=first.outputs["out"]).set_caching_options(False)


@dsl.pipeline(name="dataset")
def dataset(text: str = "hello artifact"):
    write_dataset(text=text).set_caching_options(False)


for function, file in [
    (echo_loop, "echo_loop.yaml"),
    (sleepy, "sleepy.yaml"),
    (needs_file, "needs_file.yaml"),
    (dataset, "dataset.yaml"),
]:
    compiler.Compiler().compile(function, file)
