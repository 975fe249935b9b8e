"""Fuzzing the IR parser: whatever text it is given, it returns a Graph or raises an IrcError.

    python -m tests.fuzz_parser --minutes 5      # the long run (README, "Tests")
    python -m pytest tests/ir/test_parser_fuzz.py   # a few seconds of the same, in the default suite

Inputs are real IR texts (graphs printed from tiny models, the pass tests' cases, the text-form
test's graph) mutated by hypothesis: characters and tokens deleted, inserted, duplicated, swapped,
replaced by other IR tokens or by random text, lines dropped or repeated, the text cut short; plus
token soup and random text. A text the parser accepts must also print, and its printed form must
parse back to the same text. The pipeline-string parser gets the same treatment. Anything other
than an IrcError (a RecursionError, an IndexError, a sympy exception...) is a failure, reported by
hypothesis with the smallest text it found.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irc.errors import IrcError

TESTS = Path(__file__).parent

VOCABULARY = [
    "graph", "@", "{", "}", "(", ")", "[", "]", "<", ">", ",", ":", "=", "%", "\n", " ",
    "metadata", "input", "param", "output", "parameter", "buffer", "constant", "tie", "dense<",
    "sym<", "sym<i64: ", "loc(", "device(", '"', '\\', "//", "#", "-", "+", "*", "**",
    "f32", "i64", "bool", "bf16", "c64", "f32[", "i64[]", "batch", "sequence", "past_sequence",
    "sequence // 0", "(batch", "0", "-1", "1e999", "-inf", "nan", "99999999999999999999999",
    "1.5", "true", "none", "torch.float32", "torch.nope", "torch.__class__", 'device("cuda:x")',
    "aten.add.Tensor", "aten.linear", "sym.add", "sym.floordiv", "aten.nope", "%x", '%"a b"',
    '"\\u00e9"', '"\\ud800"', "\x00", "\u00e9", "\ufeff",
]  # fmt: skip
"""Tokens a mutation inserts: the IR's own punctuation and words, and values known to be edge cases."""

OPENERS = {"(", "[", "{", "<", ",", "=", ":"}
"""Tokens after which a value, a dim or a type begins."""
RUNS = ["[", "(", "- ", "9", "{a = ", "[1, ", "{", "%x", '"']
"""Tokens a mutation repeats many times in a row."""

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\s+|.', re.S)


def seed_texts(models: bool = True) -> list[str]:
    """Valid IR texts to mutate: the pass tests' graphs, the text-form test's graph and, with
    `models`, graphs printed from tiny transformers models."""
    from tests.ir.test_text import EVERYTHING

    texts = [EVERYTHING]
    for file in sorted((TESTS / "passes").glob("*.irc")):
        for chunk in file.read_text().split("// -----"):
            if "graph" in chunk:
                texts.append(chunk)
    if models:
        texts += model_texts()
    return texts


def model_texts() -> list[str]:
    from irc.ir import print_graph
    from tests.models import traced_tiny

    cases = [("bert", "default"), ("gpt2", "causal-lm-with-past"), ("t5", "seq2seq-lm"), ("vit", "default")]
    return [print_graph(traced_tiny(model_type, task).graph) for model_type, task in cases]


def _mutation(text: str) -> st.SearchStrategy[str]:
    """One edit of `text`; three families weighted alike: characters, tokens, structure."""
    at = st.integers(0, len(text))
    tokens = _TOKEN.findall(text)
    t_at = st.integers(0, max(len(tokens) - 1, 0))
    # Where a literal, a dim or a type starts: an edit there reaches the deepest parser rules.
    openings = [i + 1 for i, t in enumerate(tokens) if t in OPENERS] or [0]
    o_at = st.sampled_from(openings)
    lines = text.split("\n")
    l_at = st.integers(0, max(len(lines) - 1, 0))

    def tok(f: Callable[[list[str]], list[str]]) -> str:
        return "".join(f(list(tokens)))

    def swap(ts: list[str], i: int, j: int) -> list[str]:
        if ts:
            ts[i], ts[j] = ts[j], ts[i]
        return ts

    def put(ts: list[str], i: int, new: str) -> list[str]:
        if ts:
            ts[i] = new
        return ts

    characters = st.one_of(
        st.builds(lambda i: text[:i], at),  # cut short
        st.builds(lambda i, k: text[:i] + text[i + k :], at, st.integers(1, 8)),  # delete a few
        st.builds(lambda i, s: text[:i] + s + text[i:], at, st.text(max_size=6)),
        st.builds(lambda i, s: text[:i] + s + text[i:], at, st.sampled_from(VOCABULARY)),
    )
    token_edits = st.one_of(
        st.builds(lambda i: tok(lambda ts: ts[:i] + ts[i + 1 :]), t_at),  # drop a token
        st.builds(lambda i: tok(lambda ts: ts[: i + 1] + ts[i:]), t_at),  # repeat a token
        st.builds(lambda i, j: tok(lambda ts: swap(ts, i, j)), t_at, t_at),
        st.builds(lambda i, s: tok(lambda ts: put(ts, i, s)), t_at, st.sampled_from(VOCABULARY)),
        st.builds(lambda i, j: tok(lambda ts: put(ts, i, ts[j] if ts else "")), t_at, t_at),
    )
    structure = st.one_of(
        st.builds(lambda i, s: tok(lambda ts: ts[:i] + [s] + ts[i:]), o_at, st.sampled_from(VOCABULARY)),
        _run(text),
        st.builds(lambda i: "\n".join(lines[:i] + lines[i + 1 :]), l_at),  # drop a line
        st.builds(lambda i: "\n".join(lines[: i + 1] + lines[i:]), l_at),  # repeat a line
    )
    return st.one_of(characters, token_edits, structure)


def _run(text: str) -> st.SearchStrategy[str]:
    """A run of one token where a value starts, short or past any nesting or length limit:
    `[[[[`, `((((`, `- - -`, `9999`. Lengths around the limits (and Python's recursion and
    int-digit limits) come up often."""
    tokens = _TOKEN.findall(text)
    openings = [i + 1 for i, t in enumerate(tokens) if t in OPENERS] or [0]
    runs = st.one_of(st.sampled_from([2, 40, 60, 120, 450, 1200, 5000]), st.integers(2, 5000))

    def insert(i: int, run: str, k: int) -> str:
        return "".join(tokens[:i]) + run * k + "".join(tokens[i:])

    return st.builds(insert, st.sampled_from(openings), st.sampled_from(RUNS), runs)


def ir_texts(corpus: list[str]) -> st.SearchStrategy[str]:
    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(corpus))
        for _ in range(draw(st.integers(1, 4))):
            text = draw(_mutation(text))
        return text

    @st.composite
    def deep(draw: st.DrawFn) -> str:
        return draw(_run(draw(st.sampled_from(corpus))))

    soup = st.lists(st.sampled_from(VOCABULARY), max_size=40).map("".join)
    return st.one_of(mutated(), mutated(), mutated(), deep(), soup, st.text(max_size=200))


def check_ir(text: str) -> None:
    """The property: parse raises only IrcError; what it accepts prints and round-trips."""
    from irc.ir import parse_graph, print_graph

    try:
        graph = parse_graph(text)
    except IrcError:
        return
    printed = print_graph(graph)
    assert print_graph(parse_graph(printed)) == printed


PIPELINE_VOCABULARY = [
    "dce", "cse", "fold-constants", "untie-weights", "no-such-pass", ",", "{", "}", "=", " ",
    "max_elements", "1", "-1", "x", "1e9", "99999999999999999999999", '"', "true", "{}",
    "pad-static", "batch=", "sequence=", "sizes=", "a:1|b:2", "|", ":", "simplify", "fuse-gelu",
]  # fmt: skip


def pipeline_texts() -> st.SearchStrategy[str]:
    soup = st.lists(st.sampled_from(PIPELINE_VOCABULARY), max_size=12).map("".join)
    return st.one_of(soup, st.text(max_size=30))


def check_pipeline(text: str) -> None:
    from irc.passes import parse_pipeline

    try:
        parse_pipeline(text)
    except IrcError:
        return


FUZZ_SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def fuzz_ir(corpus: list[str], examples: int) -> Callable[[], None]:
    """A hypothesis test of `check_ir` over `examples` inputs (a fresh random search per call)."""

    @settings(max_examples=examples, **FUZZ_SETTINGS)  # type: ignore[arg-type]
    @given(ir_texts(corpus))
    def run(text: str) -> None:
        check_ir(text)

    return run


def fuzz_pipeline(examples: int) -> Callable[[], None]:
    @settings(max_examples=examples, **FUZZ_SETTINGS)  # type: ignore[arg-type]
    @given(pipeline_texts())
    def run(text: str) -> None:
        check_pipeline(text)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_parser", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to fuzz (default 5)")
    parser.add_argument("--round", type=int, default=500, help="examples per hypothesis run")
    args = parser.parse_args(argv)
    corpus = seed_texts(models=True)
    print(f"fuzzing the IR parser for {args.minutes:g} min from {len(corpus)} seed texts", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    start, rounds = time.monotonic(), 0
    ir_round, pipeline_round = fuzz_ir(corpus, args.round), fuzz_pipeline(args.round)
    while time.monotonic() < deadline:
        ir_round()
        pipeline_round()
        rounds += 1
        elapsed = time.monotonic() - start
        print(
            f"round {rounds}: {rounds * args.round} IR texts and as many pipelines in {elapsed:.0f} s",
            flush=True,
        )
    print(f"no failure: {rounds * args.round} IR texts, {rounds * args.round} pipelines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
