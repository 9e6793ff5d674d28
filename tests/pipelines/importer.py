"""An importer task that turns a local file into a Dataset artifact.

Construct: `dsl.importer` compiles to an executor with `importer`, so no
process runs. Its `artifactUri` comes from the task input `uri`, bound to
the pipeline input `uri`. Its metadata contains a constant and a
placeholder for the pipeline input `tag`, resolved from the task's inputs.
`read-imported` reads the imported file and its metadata.

The test writes a file containing "alpha\nbeta\ngamma\n" and passes its
absolute path as `uri` (a plain path: the SDK maps only gs://, s3://,
minio:// and oci:// to local paths, and kfp.local uses other URIs as paths).

Expected outcome with {"uri": <that file>} (tag = "v1"):
  run: SUCCEEDED
  tasks:
    importer: SUCCEEDED, output artifact `artifact`: type system.Dataset,
      uri = the given path, metadata {"source": "weir-test", "tag": "v1"}
    read-imported: SUCCEEDED
  pipeline outputs:
    line_count = 3
    first_line = "alpha"
    origin = "weir-test/v1"

With {"uri": <that file>, "tag": "v2"}: origin = "weir-test/v2".
With a uri naming no file: importer SUCCEEDED (it does not read the file),
read-imported FAILED, run FAILED.
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def read_imported(ds: Input[Dataset]) -> NamedTuple(
    "Outputs", line_count=int, first_line=str, origin=str
):
    with open(ds.path) as f:
        lines = f.read().splitlines()
    origin = f"{ds.metadata['source']}/{ds.metadata['tag']}"
    outputs = NamedTuple("Outputs", line_count=int, first_line=str, origin=str)
    return outputs(len(lines), lines[0] if lines else "", origin)


@dsl.pipeline(name="importer")
def importer(uri: str, tag: str = "v1") -> NamedTuple(
    "Outputs", line_count=int, first_line=str, origin=str
):
    imported = dsl.importer(
        artifact_uri=uri,
        artifact_class=Dataset,
        reimport=False,
        metadata={"source": "weir-test", "tag": tag},
    ).set_caching_options(False)
    read = read_imported(ds=imported.output).set_caching_options(False)
    outputs = NamedTuple("Outputs", line_count=int, first_line=str, origin=str)
    return outputs(
        line_count=read.outputs["line_count"],
        first_line=read.outputs["first_line"],
        origin=read.outputs["origin"],
    )


if __name__ == "__main__":
    compiler.Compiler().compile(importer, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
