"""dsl.If on upstream outputs: one branch taken, one nested, one not taken.

Construct: `triggerPolicy.condition` (CEL) on sub-DAG tasks, comparing an
upstream int output with an int pipeline input and an upstream string
output with a literal.

Expected outcome with default arguments (n = 7, threshold = 5, word = "go"):
  run: SUCCEEDED
  tasks:
    get-number: SUCCEEDED, Output = 7
    get-word: SUCCEEDED, Output = "go"
    condition-1 (n > threshold): SUCCEEDED
      condition-1/say: SUCCEEDED, Output = "above"
      condition-1/condition-2 (word == "go"): SUCCEEDED
        condition-1/condition-2/say-2: SUCCEEDED, Output = "above and go"
    condition-3 (word == "stop"): SKIPPED
      condition-3/say-3: not run
  pipeline outputs: none

Arguments {"n": 3}: condition-1 SKIPPED (say, condition-2, say-2 not run),
condition-3 SKIPPED; run SUCCEEDED.
Arguments {"word": "stop"}: condition-1 SUCCEEDED with say SUCCEEDED,
condition-2 SKIPPED (say-2 not run), condition-3 SUCCEEDED with say-3
Output = "stop"; run SUCCEEDED.
"""

import os

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def get_number(n: int) -> int:
    return n


@dsl.component(base_image=BASE_IMAGE)
def get_word(word: str) -> str:
    return word


@dsl.component(base_image=BASE_IMAGE)
def say(msg: str) -> str:
    print(msg)
    return msg


@dsl.pipeline(name="condition")
def condition(n: int = 7, threshold: int = 5, word: str = "go"):
    number = get_number(n=n).set_caching_options(False)
    got_word = get_word(word=word).set_caching_options(False)
    with dsl.If(number.output > threshold, name="number-above-threshold"):
        say(msg="above").set_caching_options(False)
        with dsl.If(got_word.output == "go", name="word-is-go"):
            say(msg="above and go").set_caching_options(False)
    with dsl.If(got_word.output == "stop", name="word-is-stop"):
        say(msg="stop").set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(condition, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml")
