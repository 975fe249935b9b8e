"""Remove ops that do nothing, as rewrite patterns.

%d = aten.dropout(%x, 0.1, false); %v = aten.view(%d, [2, 3]) : f32[2, 3]   (%x : f32[2, 3])
->  uses of %v read %x
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Node, Value
from irc.ir.types import TensorType
from irc.passes.match import check_args, check_same_type, check_type, get_arg, producer
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern


class EvalDropout(RewritePattern):
    """%y = aten.dropout(%x, p, false)  ->  %x"""

    ops = ("aten.dropout", "aten.feature_dropout", "aten.alpha_dropout")

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if why := check_args(node, train=False):
            return rewriter.fail(why)
        rewriter.replace_node(node, [get_arg(node, "input")])


class SameTypeCopy(RewritePattern):
    """%y = aten.clone(%x) : T  (%x : T)  ->  %x; also views, casts and expands to the same type.

    The IR has value semantics, so a copy or a view whose result type is its input's type
    computes nothing. Symbolic dims compare as expressions: `f32[batch, 4]` equals only
    `f32[batch, 4]`.
    """

    ops = (
        "aten.clone", "aten.contiguous", "aten.alias", "aten.detach", "aten.lift_fresh_copy",
        "aten._to_copy", "aten.to.dtype", "aten.to.dtype_layout", "aten.to.device",
        "aten.view", "aten.reshape", "aten.expand", "aten._unsafe_view",
    )  # fmt: skip

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        x = node.args[0] if node.args else None
        if why := check_type(x):
            return rewriter.fail(why)
        if why := check_same_type(x, node.output):
            return rewriter.fail(why)
        assert isinstance(x, Value)
        if str(get_arg(node, "device", "cpu")) not in ("cpu", "None"):
            return rewriter.fail("moves to another device")
        rewriter.replace_node(node, [x])


class NeutralArithmetic(RewritePattern):
    """%y = aten.mul.Tensor(%x, 1) : T  (%x : T)  ->  %x; likewise `/ 1`, `- 0`, and `+ 0` on
    integers (on floats `-0.0 + 0` is `+0.0`, so that one is not a no-op)."""

    ops = ("aten.mul.Tensor", "aten.div.Tensor", "aten.sub.Tensor", "aten.add.Tensor")
    NEUTRAL = {"aten.mul.Tensor": 1, "aten.div.Tensor": 1, "aten.sub.Tensor": 0, "aten.add.Tensor": 0}

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        if len(node.args) != 2 or node.kwargs:
            return rewriter.fail("not exactly two arguments")
        x, other = node.args
        if type(other) not in (int, float) or other != self.NEUTRAL[node.op]:
            return rewriter.fail(f"{other!r} is not {self.NEUTRAL[node.op]}")
        if why := check_same_type(x, node.output):
            return rewriter.fail(why)
        assert isinstance(x, Value) and isinstance(x.type, TensorType)
        if node.op == "aten.add.Tensor" and x.type.dtype.is_floating:
            return rewriter.fail("x + 0 turns -0.0 into 0.0")
        rewriter.replace_node(node, [x])


class DoubleTranspose(RewritePattern):
    """%t = aten.transpose.int(%x, a, b); %y = aten.transpose.int(%t, a, b)  ->  %x"""

    ops = ("aten.transpose.int",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        inner = producer(node.args[0], "aten.transpose.int")
        if inner is None:
            return rewriter.fail("input is not a transpose")
        x = inner.args[0]
        if why := check_same_type(x, node.output):
            return rewriter.fail(why)
        assert isinstance(x, Value) and isinstance(x.type, TensorType)
        if _axes(node, x.type.rank) != _axes(inner, x.type.rank):
            return rewriter.fail("the transposes swap different axes")
        rewriter.replace_node(node, [x])


def _axes(node: Node, rank: int) -> set[int]:
    return {int(get_arg(node, "dim0")) % rank, int(get_arg(node, "dim1")) % rank}


@dataclass(frozen=True)
class Simplify(RewritePass):
    """Remove ops that compute nothing: eval-mode dropout, same-type copies, x*1, double transposes."""

    name = "simplify"
    # Order does not matter for correctness: each rule removes one node and adds none.
    patterns = (EvalDropout(), SameTypeCopy(), NeutralArithmetic(), DoubleTranspose())
