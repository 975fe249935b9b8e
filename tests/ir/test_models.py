"""Acceptance: traced tiny models print, parse back to the same text, verify, and interpret like
the original model at a shape other than the traced one."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import torch

from irc.ir import interpret, parse_graph, print_graph, verify
from tests.models import traced_tiny

CASES = [
    ("bert", "default"),
    ("bert", "masked-lm"),
    ("bert", "sequence-classification"),
    ("bert", "token-classification"),
    ("bert", "question-answering"),
    ("distilbert", "default"),
    ("roberta", "default"),
    ("gpt2", "causal-lm"),
]


@cache
def _traced(model_type: str, task: str) -> Any:
    return traced_tiny(model_type, task)


@pytest.mark.parametrize(("model_type", "task"), CASES)
def test_traced_graph_round_trips_and_verifies(model_type: str, task: str) -> None:
    graph = _traced(model_type, task).graph
    text = print_graph(graph)
    assert print_graph(parse_graph(text)) == text
    assert f'metadata {{model_type = "{model_type}", task = "{task}"}}' in text
    compact = print_graph(graph, locs=False)
    assert print_graph(parse_graph(compact), locs=False) == compact
    verify(graph)
    verify(parse_graph(text))


@pytest.mark.parametrize(("model_type", "task"), CASES)
def test_interpreter_matches_model_at_new_shape(model_type: str, task: str) -> None:
    traced = _traced(model_type, task)
    inputs = traced.make_inputs({"batch": 3, "sequence": 11}, seed=1)
    expected = traced.reference(inputs)
    actual = interpret(traced.graph, inputs)
    assert list(actual) == list(expected)
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize(("model_type", "task"), [("bert", "default"), ("gpt2", "causal-lm")])
def test_parsed_graph_computes_the_same(model_type: str, task: str) -> None:
    """What the text holds (lists for tuples, literal dtypes and devices) means what the trace did."""
    traced = _traced(model_type, task)
    graph = traced.graph
    parsed = parse_graph(print_graph(graph))
    for name, param in parsed.params.items():
        param.data = graph.params[name].data
    inputs = traced.make_inputs({"batch": 3, "sequence": 11}, seed=2)
    expected = interpret(graph, inputs)
    actual = interpret(parsed, inputs)
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=0, rtol=0, msg=name)
