"""What the text form does not show: provenance on folded constants, data of large constants,
and edits that must leave the graph's bookkeeping right."""

from __future__ import annotations

import pytest
import torch

from irc.errors import PassError
from irc.ir.core import Param
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.ir.verifier import verify
from irc.passes import Pass
from irc.passes.cse import CommonSubexpressionElimination
from irc.passes.dce import DeadCodeElimination
from irc.passes.fold_constants import FoldConstants

FOLD = """\
graph @g {
  input %x : i64[3, 200]
  %r = aten.arange(200) : i64[200] loc("transformer", "modeling_gpt2.py:573")
  %u = aten.unsqueeze(%r, 0) : i64[1, 200] loc("transformer", "modeling_gpt2.py:574")
  %y = aten.add.Tensor(%x, %u) : i64[3, 200]
  output %y
}
"""


def test_folded_constant_keeps_provenance_and_data() -> None:
    graph = parse_graph(FOLD)
    assert FoldConstants().run(graph)
    verify(graph)
    [param] = graph.params.values()
    assert isinstance(param, Param) and param.name == "u" and param.kind == "constant"
    assert param.meta == {"module": "transformer", "source": "modeling_gpt2.py:574"}
    assert 'param %u : i64[1, 200] constant loc("transformer", "modeling_gpt2.py:574")' in print_graph(graph)
    assert torch.equal(param.tensor(), torch.arange(200).unsqueeze(0))
    assert param.tensor().is_contiguous()
    assert graph.nodes[0].inputs == (graph.inputs[0], param)


def test_max_elements_is_a_bound_on_each_result() -> None:
    graph = parse_graph(FOLD)
    assert not FoldConstants(max_elements=199).run(graph)
    assert print_graph(graph) == FOLD
    assert FoldConstants(max_elements=200).run(graph)


def test_negative_max_elements_is_rejected() -> None:
    with pytest.raises(PassError, match="max_elements must be >= 0"):
        FoldConstants(max_elements=-1)


NOTHING_TO_DO = """\
graph @g {
  input %x : i64[3, sequence]
  param %w : f32[2] parameter
  %n = aten.sym_size.int(%x, 1) : sym<i64: sequence>
  %r = aten.arange(%n) : i64[sequence] loc("transformer", "modeling_gpt2.py:573")
  %y = aten.add.Tensor(%x, %r) : i64[3, sequence]
  %z = aten.mul.Tensor(%w, 2.0) : f32[2]
  output %y, %z
}
"""


@pytest.mark.parametrize(
    "p", [DeadCodeElimination(), CommonSubexpressionElimination(), FoldConstants()], ids=str
)
def test_a_pass_that_changes_nothing_leaves_the_text_alone(p: Pass) -> None:
    graph = parse_graph(NOTHING_TO_DO)
    assert p.run(graph) is False
    assert print_graph(graph) == NOTHING_TO_DO


def test_cse_hands_the_output_name_to_the_kept_value() -> None:
    graph = parse_graph(
        "graph @g {\n  input %x : f32[2]\n  %t = aten.neg(%x) : f32[2]\n  %logits = aten.neg(%x) : f32[2]\n"
        "  %s = aten.relu(%t) : f32[2]\n  output %s, %logits\n}\n"
    )
    assert CommonSubexpressionElimination().run(graph)
    verify(graph)
    assert [v.name for v in graph.outputs] == ["s", "logits"]
    assert graph.outputs[1] is graph.nodes[0].output
    assert graph.unique_name("t") == "t"  # the old name is free again


def test_dce_keeps_params_that_are_outputs() -> None:
    graph = parse_graph("graph @g {\n  input %x : f32[2]\n  param %w : f32[2] parameter\n  output %w\n}\n")
    assert not DeadCodeElimination().run(graph)
    assert list(graph.params) == ["w"]
