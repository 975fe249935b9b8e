"""The pattern rewriter: edits through the rewriter, provenance, output names, failure reasons,
fixed points, constraints; and `simplify` (a RewritePass) on traced models, differentially."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from irc.errors import PassError
from irc.ir.core import Node
from irc.ir.interpreter import interpret
from irc.ir.parser import parse_graph
from irc.ir.printer import print_graph
from irc.passes import PassManager
from irc.passes.match import check_args, check_type, check_uses, get_arg, producer
from irc.passes.rewriter import Failure, PatternRewriter, RewritePass, RewritePattern, apply_patterns
from tests.models import traced_tiny


class SubToAddNeg(RewritePattern):
    """%z = aten.sub.Tensor(%x, %y)  ->  %n = aten.neg(%y); %z = aten.add.Tensor(%x, %n)"""

    ops = ("aten.sub.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        x, y = node.args[:2]
        if why := check_type(y, rank=2):
            return rewriter.fail(why)
        neg = rewriter.create("aten.neg", (y,), types=[y.type], name="neg")
        add = rewriter.create("aten.add.Tensor", (x, neg.output), types=[node.output.type])
        rewriter.replace_node(node, [add.output])


SUB = """\
graph @g {
  input %x : f32[batch, 3]
  input %y : f32[batch, 3]
  input %v : f32[3]
  %z = aten.sub.Tensor(%x, %y) : f32[batch, 3] loc("blk.1", "model.py:12")
  %w = aten.sub.Tensor(%v, %v) : f32[3] loc("blk.2", "model.py:13")
  %r = aten.relu(%z) : f32[batch, 3]
  output %r, %z, %w
}
"""


def test_created_nodes_take_provenance_and_outputs_keep_names() -> None:
    graph = parse_graph(SUB)
    inputs = {"x": torch.randn(2, 3), "y": torch.randn(2, 3), "v": torch.randn(3)}
    expected = interpret(graph, inputs)
    failures: list[Failure] = []
    assert apply_patterns(graph, [SubToAddNeg()], explain=failures.append)
    assert (
        print_graph(graph)
        == """\
graph @g {
  input %x : f32[batch, 3]
  input %y : f32[batch, 3]
  input %v : f32[3]
  %neg = aten.neg(%y) : f32[batch, 3] loc("blk.1", "model.py:12")
  %z = aten.add.Tensor(%x, %neg) : f32[batch, 3] loc("blk.1", "model.py:12")
  %w = aten.sub.Tensor(%v, %v) : f32[3] loc("blk.2", "model.py:13")
  %r = aten.relu(%z) : f32[batch, 3]
  output %r, %z, %w
}
"""
    )
    torch.testing.assert_close(interpret(graph, inputs), expected)
    # The rank-1 sub did not match, and said why, once per sweep.
    assert {str(f) for f in failures} == {"SubToAddNeg on %w = aten.sub.Tensor: %v has rank 1, not 2"}
    assert not apply_patterns(graph, [SubToAddNeg()])


class AddToSub(RewritePattern):
    """%z = aten.add.Tensor(%x, %n) where %n = aten.neg(%y)  ->  aten.sub.Tensor(%x, %y)"""

    ops = ("aten.add.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        neg = producer(node.args[1], "aten.neg")
        if neg is None:
            return rewriter.fail("the second argument is not a neg")
        sub = rewriter.create("aten.sub.Tensor", (node.args[0], neg.args[0]), types=[node.output.type])
        rewriter.replace_node(node, [sub.output])


def test_rules_that_undo_each_other_are_reported() -> None:
    graph = parse_graph(SUB)
    with pytest.raises(
        PassError, match=r"did not reach a fixed point in 5 sweeps; still firing: AddToSub, SubToAddNeg"
    ):
        apply_patterns(graph, [SubToAddNeg(), AddToSub()], max_sweeps=5)


def test_replaced_producers_left_dead_are_erased() -> None:
    graph = parse_graph(SUB)
    apply_patterns(graph, [SubToAddNeg()])
    # AddToSub turns add(x, neg(y)) back into a sub; the neg has no reader left and goes too.
    apply_patterns(graph, [AddToSub()])
    assert graph.ops() == {"aten.sub.Tensor": 2, "aten.relu": 1}


class Visits(RewritePattern):
    """Never matches; records the nodes the walker tries it on."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        self.seen.append(node.outputs[0].name)


def test_the_worklist_retries_only_what_an_edit_touched() -> None:
    graph = parse_graph(SUB)
    visits = Visits()
    assert apply_patterns(graph, [SubToAddNeg(), visits])
    # Sweep 1 tries every node (%z is rewritten before `visits` sees it; %r reads the replaced
    # %z, after it in order, so it is retried in the same sweep); sweep 2 only the created %neg
    # and %z; nothing fires there, and a last sweep over every node confirms the fixed point.
    assert visits.seen == ["w", "r", "neg", "z", "neg", "z", "w", "r"]


def test_the_worklist_retries_readers_of_replaced_values_in_the_same_sweep() -> None:
    graph = parse_graph(SUB)
    apply_patterns(graph, [SubToAddNeg()])
    visits = Visits()
    # AddToSub turns %z back into a sub and erases the add and its neg (whose operand is an
    # input); %r, which reads %z after it, is retried in sweep 1, so sweep 2 tries only the sub.
    assert apply_patterns(graph, [AddToSub(), visits])
    assert visits.seen == ["neg", "w", "r", "z", "z", "w", "r"]


class MulZeroOfNeg(RewritePattern):
    """%b = aten.mul.Tensor(%n, 0) where %n = aten.neg(%x)  ->  aten.mul.Tensor(%x, 0)"""

    ops = ("aten.mul.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        neg = producer(node.args[0], "aten.neg")
        if neg is None or node.args[1] != 0:
            return rewriter.fail("not neg(x) * 0")
        mul = rewriter.create("aten.mul.Tensor", (neg.args[0], 0), types=[node.output.type])
        rewriter.replace_node(node, [mul.output])


class SingleUseNegToMul(RewritePattern):
    """%n = aten.neg(%x), read once  ->  aten.mul.Tensor(%x, -1)"""

    ops = ("aten.neg",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if why := check_uses(node.output):
            return rewriter.fail(why)
        mul = rewriter.create("aten.mul.Tensor", (node.args[0], -1), types=[node.output.type])
        rewriter.replace_node(node, [mul.output])


def test_the_worklist_retries_the_producers_of_erased_nodes_operands() -> None:
    graph = parse_graph("""\
graph @g {
  input %x : f32[3]
  %n = aten.neg(%x) : f32[3]
  %a = aten.relu(%n) : f32[3]
  %b = aten.mul.Tensor(%n, 0) : f32[3]
  output %a, %b
}
""")
    visits = Visits()
    assert apply_patterns(graph, [MulZeroOfNeg(), SingleUseNegToMul(), visits])
    # Sweep 1: %n has two readers; the rewrite of %b erases one, so the neg is queued and sweep 2
    # rewrites it, then tries %a (its reader, touched) and the new %b; sweep 3 tries the new %n,
    # and a last sweep every node.
    assert visits.seen == ["n", "a", "a", "b", "n", "n", "a", "b"]
    assert graph.ops() == {"aten.mul.Tensor": 2, "aten.relu": 1}


class Boom(RewritePattern):
    ops = ("aten.sub.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        raise ValueError("boom")


def test_an_exception_in_a_pattern_names_the_pattern_and_the_node() -> None:
    graph = parse_graph(SUB)
    with pytest.raises(
        PassError,
        match=r"rewrite pattern Boom failed on %z = aten.sub.Tensor at blk.1 \(model.py:12\): ValueError: boom",
    ):
        apply_patterns(graph, [Boom()])


@dataclass(frozen=True)
class SubToAdd(RewritePass):
    """Rewrite subtractions of rank-2 tensors as additions of negations."""

    name = "sub-to-add"
    patterns = (SubToAddNeg(),)


def test_rewrite_pass_runs_in_the_manager(registered) -> None:  # noqa: ANN001
    registered(SubToAdd)
    graph = parse_graph(SUB)
    result = PassManager("sub-to-add,dce", debug=True).run(graph)
    assert [r.changed for r in result.records] == [True, False]
    assert graph.ops()["aten.neg"] == 1
    assert SubToAdd.summary() == "Rewrite subtractions of rank-2 tensors as additions of negations."


def test_the_manager_passes_explain_to_rewrite_passes(registered) -> None:  # noqa: ANN001
    registered(SubToAdd)
    failures: list[Failure] = []
    PassManager("sub-to-add,dce", explain=failures.append).run(parse_graph(SUB))
    assert {str(f) for f in failures} == {"SubToAddNeg on %w = aten.sub.Tensor: %v has rank 1, not 2"}


CONSTRAINTS = """\
graph @c {
  input %x : f32[batch, past_sequence + sequence, 8]
  %a = aten.add.Tensor(%x, 1) : f32[batch, past_sequence + sequence, 8]
  %t = aten.transpose.int(%a, 0, 1) : f32[past_sequence + sequence, batch, 8]
  %u = aten.transpose.int(%a, dim1=2, dim0=1) : f32[batch, 8, past_sequence + sequence]
  output %t, %u, %a
}
"""


def test_constraints_say_why() -> None:
    graph = parse_graph(CONSTRAINTS)
    x = graph.inputs[0]
    a, t, u = (node.output for node in graph.nodes)
    assert check_type(x, dtype="f32", dims=("batch", "past_sequence + sequence", 8)) is None
    assert (
        check_type(x, dims=(None, "sequence", None))
        == "dim 1 of %x is past_sequence + sequence, not sequence"
    )
    assert check_type(x, dtype="f16") == "%x has dtype f32, not f16"
    assert check_type(x, rank=4) == "%x has rank 3, not 4"
    assert check_type(x, static=True) == "%x is dynamic"
    assert check_type(3) == "3 is not a tensor"
    assert check_uses(a, 3) is None  # two transposes and a graph output
    assert check_uses(t, 1) is None
    assert check_uses(a) == "%a has 3 uses, not 1"
    add = a.producer
    assert check_args(add, other=1) is None
    assert check_args(add, other=1.0) == "other is 1, not 1.0"
    assert check_args(add, other=lambda v: v > 0) is None
    assert check_args(add, alpha=1) is None  # the schema's default
    assert check_args(add, beta=1) == "aten.add.Tensor has no argument beta"
    assert get_arg(u.producer, "dim0") == 1 and get_arg(u.producer, "dim1") == 2
    assert get_arg(t.producer, "dim1") == 1
    assert producer(t, "aten.add.Tensor") is None and producer(t) is t.producer


@pytest.mark.parametrize(("model_type", "task"), [("gpt2", "causal-lm"), ("t5", "seq2seq-lm")])
def test_simplify_preserves_traced_models(model_type: str, task: str) -> None:
    traced = traced_tiny(model_type, task)
    graph = traced.graph
    inputs = traced.make_inputs({"batch": 2, "sequence": 7, "decoder_sequence": 5}, seed=3)
    before = graph.ops()
    expected = interpret(graph, inputs)
    assert PassManager("simplify", debug=True, debug_inputs=inputs).run(graph).changed
    after = graph.ops()
    assert sum(after.values()) < sum(before.values())
    assert "aten.dropout" not in after and "aten.clone" not in after
    torch.testing.assert_close(interpret(graph, inputs), expected)
    assert not PassManager("simplify").run(graph).changed


def test_fuse_gelu_on_gpt2_preserves_outputs() -> None:
    traced = traced_tiny("gpt2", "causal-lm")
    graph = traced.graph
    inputs = traced.make_inputs({"batch": 2, "sequence": 7}, seed=3)
    expected = interpret(graph, inputs)
    assert "aten.gelu" not in graph.ops() and graph.ops()["aten.tanh"] == 2
    assert PassManager("fuse-gelu,dce", debug=True, debug_inputs=inputs).run(graph).changed
    ops = graph.ops()
    assert ops["aten.gelu"] == 2 and "aten.tanh" not in ops and "aten.pow.Tensor_Scalar" not in ops
    gelus = [node for node in graph.nodes if node.op == "aten.gelu"]
    assert [node.meta["module"] for node in gelus] == ["transformer.h.0.mlp.act", "transformer.h.1.mlp.act"]
    torch.testing.assert_close(interpret(graph, inputs), expected)


def test_rewrite_passes_in_an_onnx_export(tmp_path) -> None:  # noqa: ANN001
    from irc.api import export
    from tests.models import tiny_checkpoint

    checkpoint = tiny_checkpoint(tmp_path / "gpt2", "gpt2", "causal-lm")
    pipeline = "fuse-gelu,simplify,dce,cse,fold-constants"
    result = export(checkpoint, "causal-lm", tmp_path / "onnx", passes=pipeline, opset=20)
    assert result.report.passed
    assert result.graph.ops()["aten.gelu"] == 2 and "aten.dropout" not in result.graph.ops()
    assert result.manifest["pipeline"] == pipeline
