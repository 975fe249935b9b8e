"""Translation validation on traced models: the interpreter gives the same outputs before and
after `dce,cse,fold-constants`, and a second run of the pipeline changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from irc.ir.core import Graph
from irc.ir.interpreter import interpret
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.passes import PassManager
from tests.models import traced_tiny

PIPELINE = "dce,cse,fold-constants"
MODELS = [("gpt2", "causal-lm"), ("bert", "default")]


def _trace(model_type: str, task: str) -> tuple[Graph, Any]:
    traced = traced_tiny(model_type, task)
    return traced.graph, traced.make_inputs({"batch": 3, "sequence": 11}, seed=1)


@pytest.fixture(scope="module", params=MODELS, ids=[m for m, _ in MODELS])
def traced(request: pytest.FixtureRequest) -> tuple[Graph, Any]:
    return _trace(*request.param)


def _copy(graph: Graph) -> Graph:
    """A fresh graph through the text form, sharing the weights of `graph`."""
    copy = parse_graph(print_graph(graph))
    for name, param in copy.params.items():
        param.data = graph.params[name].data
    return copy


def test_pipeline_preserves_outputs_and_is_idempotent(traced: tuple[Graph, Any]) -> None:
    original, inputs = traced
    graph = _copy(original)
    expected = interpret(graph, inputs)

    first = PassManager(PIPELINE, debug=True).run(graph)
    assert first.changed
    assert len(graph) < len(original)
    torch.testing.assert_close(interpret(graph, inputs), expected, equal_nan=True)

    text = print_graph(graph)
    second = PassManager(PIPELINE, debug=True, debug_inputs=inputs).run(graph)
    assert [r.changed for r in second.records] == [False, False, False]
    assert print_graph(graph) == text


@pytest.mark.parametrize("name", ["dce", "cse", "fold-constants"])
def test_each_pass_alone_preserves_outputs(traced: tuple[Graph, Any], name: str) -> None:
    original, inputs = traced
    graph = _copy(original)
    PassManager(name, debug=True, debug_inputs=inputs).run(graph)


def test_tied_weights_survive(traced: tuple[Graph, Any]) -> None:
    original, _ = traced
    graph = _copy(original)
    PassManager(PIPELINE).run(graph)
    assert {k: [p.name for p in v] for k, v in graph.tie_groups().items()} == {
        k: [p.name for p in v] for k, v in original.tie_groups().items()
    }


# A causal mask at static sizes: the shape of what GPT-2 builds once pad-static has run, so that
# fold-constants has work to do.
STATIC_MASK = """\
graph @mask {
  input %mask : i64[2, 5]
  input %x : f32[2, 5, 4]
  param %scale : f32[4] constant = dense<[0.5, 1.0, 1.5, 2.0]>
  %n = aten.sym_size.int(%x, 1) : sym<i64: 5>
  %n2 = aten.sym_size.int(%x, 1) : sym<i64: 5>
  %r = aten.arange(%n, device=device("cpu"), pin_memory=false) : i64[5]
  %r2 = aten.arange(%n2, device=device("cpu"), pin_memory=false) : i64[5]
  %q = aten.unsqueeze(%r, 1) : i64[5, 1]
  %k = aten.unsqueeze(%r2, 0) : i64[1, 5]
  %causal = aten.le.Tensor(%k, %q) : bool[5, 5]
  %m = aten.to.dtype(%mask, torch.bool) : bool[2, 5]
  %m2 = aten.unsqueeze(%m, 1) : bool[2, 1, 5]
  %both = aten.__and__.Tensor(%causal, %m2) : bool[2, 5, 5]
  %s2 = aten.mul.Tensor(%scale, %scale) : f32[4]
  %y = aten.mul.Tensor(%x, %s2) : f32[2, 5, 4]
  %unused = aten.neg(%y) : f32[2, 5, 4]
  output %both, %y
}
"""


def test_folding_a_static_mask_preserves_outputs() -> None:
    graph = parse_graph(STATIC_MASK)
    result = PassManager(PIPELINE, debug=True).run(graph)
    assert [r.changed for r in result.records] == [True, True, True]
    text = print_graph(graph)
    assert "aten.arange" not in text and "sym_size" not in text
    assert "param %causal : bool[5, 5] constant = dense<" in text
    assert PassManager(PIPELINE).run(graph).changed is False
