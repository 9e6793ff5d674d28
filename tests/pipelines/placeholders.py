"""Container components using Concat, IfPresent, optional inputs and OutputPath.

Construct: argv placeholders of `@dsl.container_component`s:
  * `{{$.inputs.parameters['x']}}` for str, int, float and bool inputs;
  * `{"Concat": [...]}` joining constants and parameters into one argument;
  * `{"IfPresent": ...}` on an optional parameter `opt` (no default) and on
    an optional input artifact `extra`;
  * a parameter whose default comes from the component (`suffix`);
  * `{{$.inputs.artifacts['data'].path}}` and
    `{{$.outputs.artifacts['data'].path}}`;
  * `{{$.outputs.parameters['x'].output_file}}` for a string and an int
    output (OutputPath);
  * `{{$.pipeline_task_name}}`.
`render` writes each argument after the first three (output paths and input
path) as one line of `text`, then appends the input Dataset's content, and
writes its number of lines to `lines`.

Text rendering of values: str as is, int without a fraction ("3"), float
in shortest form ("0.5"), bool as "true" / "false". The defaults avoid the
one known difference: a float argument 2.0 renders as "2" on the KFP
backend (Go's FormatFloat) and as "2.0" in kfp.local (json.dumps).

Expected outcome with default arguments (word = "hi", count = 3,
ratio = 0.5, flag = true):
  run: SUCCEEDED
  tasks:
    write-data: SUCCEEDED, output artifact data: file containing "payload"
    render: SUCCEEDED (opt = "given", extra = write-data's data)
      text = "hi\n3\n0.5\ntrue\npre-hi-3\n--opt\ngiven\n--extra\npayload\nsfx\nrender\npayload"
      lines = 12
    render-2: SUCCEEDED (opt and extra absent)
      text = "hi\n3\n0.5\ntrue\npre-hi-3\n--no-opt\nsfx\nrender-2\npayload"
      lines = 9
  pipeline outputs:
    with_opt = the text of render
    without_opt = the text of render-2
    with_opt_lines = 12
    without_opt_lines = 9

The `--extra` line is followed by the content of the `extra` artifact
("payload"), read through its path. Output files end without a newline:
string outputs are the file's raw text.
"""

import os
from typing import NamedTuple, Optional

from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Input, Output, OutputPath

IMAGE = "alpine:3.20"

# $0 = text output file, $1 = lines output file, $2 = input Dataset path,
# then one argument per line, except that the argument after "--extra" (the
# optional artifact's path) is replaced by that file's content.
RENDER_SCRIPT = """
set -eu
text_file=$0; lines_file=$1; data_file=$2; shift 2
mkdir -p "$(dirname "$text_file")" "$(dirname "$lines_file")"
: > "$text_file"
lines=1
previous=
for arg in "$@"; do
  if [ "$previous" = "--extra" ]; then cat "$arg"; else printf '%s' "$arg"; fi >> "$text_file"
  printf '\\n' >> "$text_file"
  previous=$arg
  lines=$((lines + 1))
done
cat "$data_file" >> "$text_file"
printf '%s' "$lines" > "$lines_file"
"""


@dsl.container_component
def write_data(content: str, data: Output[Dataset]):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'mkdir -p "$(dirname "$1")" && printf "%s" "$0" > "$1"'],
        args=[content, data.path],
    )


@dsl.container_component
def render(
    word: str,
    count: int,
    ratio: float,
    flag: bool,
    data: Input[Dataset],
    text: OutputPath(str),
    lines: OutputPath(int),
    opt: Optional[str] = None,
    extra: Optional[Input[Artifact]] = None,
    suffix: str = "sfx",
):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", RENDER_SCRIPT],
        args=[
            text,
            lines,
            data.path,
            word,
            count,
            ratio,
            flag,
            dsl.ConcatPlaceholder(["pre-", word, "-", count]),
            dsl.IfPresentPlaceholder(input_name="opt", then=["--opt", opt], else_=["--no-opt"]),
            dsl.IfPresentPlaceholder(input_name="extra", then=["--extra", extra.path]),
            suffix,
            dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
        ],
    )


@dsl.pipeline(name="placeholders")
def placeholders(
    word: str = "hi", count: int = 3, ratio: float = 0.5, flag: bool = True
) -> NamedTuple(
    "Outputs", with_opt=str, without_opt=str, with_opt_lines=int, without_opt_lines=int
):
    written = write_data(content="payload").set_caching_options(False)
    with_opt = render(
        word=word,
        count=count,
        ratio=ratio,
        flag=flag,
        data=written.outputs["data"],
        opt="given",
        extra=written.outputs["data"],
    ).set_caching_options(False)
    without_opt = render(
        word=word, count=count, ratio=ratio, flag=flag, data=written.outputs["data"]
    ).set_caching_options(False)
    outputs = NamedTuple(
        "Outputs", with_opt=str, without_opt=str, with_opt_lines=int, without_opt_lines=int
    )
    return outputs(
        with_opt=with_opt.outputs["text"],
        without_opt=without_opt.outputs["text"],
        with_opt_lines=with_opt.outputs["lines"],
        without_opt_lines=without_opt.outputs["lines"],
    )


if __name__ == "__main__":
    compiler.Compiler().compile(
        placeholders, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
