"""The IR parser under the fuzzer of `tests/fuzz_parser.py`, for a few seconds, plus the inputs
the long runs found, kept as regression cases.

`IRC_FUZZ_EXAMPLES` sets how many inputs each fuzz test tries (default 150); the long run is
`python -m tests.fuzz_parser --minutes 5`.
"""

from __future__ import annotations

import os

import pytest

from irc.errors import ParseError
from irc.ir import parse_graph
from tests import fuzz_parser

EXAMPLES = int(os.environ.get("IRC_FUZZ_EXAMPLES", "150"))


def test_fuzz_ir_parser_raises_only_irc_errors() -> None:
    # The pass tests' graphs and the text-form graph: no model tracing in the default suite.
    fuzz_parser.fuzz_ir(fuzz_parser.seed_texts(models=False), EXAMPLES)()


def test_fuzz_pipeline_parser_raises_only_irc_errors() -> None:
    fuzz_parser.fuzz_pipeline(EXAMPLES)()


def _graph(body: str) -> str:
    return "graph @g {\n" + body + "\n}\n"


FOUND = [
    # Nesting past Python's recursion limit was a RecursionError.
    (_graph("  metadata {a = " + "[" * 5000 + "]" * 5000 + "}\n  output"), "nest deeper than 100"),
    (_graph("  input %x : f32[" + "(" * 3000 + "b" + ")" * 3000 + "]\n  output %x"), "nests deeper than 50"),
    (_graph("  input %x : f32[" + "- " * 3000 + "b]\n  output %x"), "nests deeper than 50"),
    # Python refuses int() past 4300 digits: a ValueError.
    (_graph("  metadata {a = " + "9" * 5000 + "}\n  output"), "the longest allowed has 400"),
    (_graph("  input %x : f32[" + "9" * 5000 + "]\n  output %x"), "more than 40 digits"),
    # `// 0` made sympy's complex infinity, which only failed later, without a location.
    (_graph("  input %x : f32[b // (b - b)]\n  output %x"), "2:18: division by zero in dim 'b // (b - b)'"),
    # A product of sums expands exponentially: a hang, not an error.
    (
        _graph("  input %x : f32[" + " * ".join(f"(a{i} + b{i})" for i in range(12)) + "]\n  output %x"),
        "expands to more than 1000 terms",
    ),
    # A negative size parsed and printed as if it were one.
    (
        _graph("  input %x : f32[2, b - b - 1]\n  output %x"),
        "2:21: a size cannot be negative, found 'b - b - 1' = -1",
    ),
]


@pytest.mark.parametrize(("text", "message"), FOUND, ids=[str(i) for i in range(len(FOUND))])
def test_found_inputs_are_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_graph(text)
    assert message in str(info.value)
    assert len(str(info.value)) < 300, "the message quotes too much of the input"


def test_limits_leave_room_for_real_graphs() -> None:
    deep = "[" * 99 + "]" * 99
    parse_graph(_graph(f"  metadata {{a = {deep}, n = {'9' * 400}}}\n  output"))
    parse_graph(_graph("  input %x : f32[" + "(" * 49 + "b" + ")" * 49 + "]\n  output %x"))


@pytest.mark.parametrize(
    "body",
    [
        '  input %x : f32[__import__("os").getpid()]\n  output %x',
        "  input %x : f32[batch.__class__]\n  output %x",
        "  metadata {a = __import__}\n  output",
        "  metadata {a = torch.__class__}\n  output",
        "  metadata {a = torch.load}\n  output",
    ],
)
def test_text_is_never_evaluated(body: str) -> None:
    """Python in a dim or a literal is only text the grammar does not have."""
    with pytest.raises(ParseError, match="expected|unexpected|cannot read"):
        parse_graph(_graph(body))
