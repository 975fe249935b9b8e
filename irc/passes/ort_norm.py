"""RMSNorm, and the residual add before it, into ONNX Runtime's (Skip)SimplifiedLayerNormalization.

%p = aten.pow.Tensor_Scalar(%x, 2); %m = aten.mean.dim(%p, [-1], true)
%r = aten.rsqrt(aten.add.Tensor(%m, eps)); %y = aten.mul.Tensor(%w, aten.mul.Tensor(%x, %r))
->  %y = irc.simplified_layer_norm(%x, %w, eps=eps)

and when `%x = aten.add.Tensor(%a, %b)` (the residual stream, same shape on both sides):
->  %y, %x = irc.skip_simplified_layer_norm(%a, %b, %w, eps=eps)

The sum stays an output of the fused op, so the next residual add reads it. The weight must be a
param of the normalized width (a learned per-channel scale, as every RMSNorm in transformers has);
Gemma's `1 + w` form is a different graph and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Node, Param, Value
from irc.passes.match import check_type, check_uses, get_arg, producer
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern

FLOAT_DTYPES = ("f32", "f16")


class RmsNorm(RewritePattern):
    """w * (x * rsqrt(mean(x^2, -1) + eps))  ->  irc.(skip_)simplified_layer_norm"""

    ops = ("aten.mul.Tensor",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        found = _scale_and_normed(node)
        if found is None:
            return rewriter.fail("not w * (x * r) with a 1-D param w")
        weight, normed = found
        x_eps = _rms_of(normed)
        if x_eps is None:
            return rewriter.fail("the scaled value is not x * rsqrt(mean(x^2, [-1], true) + eps)")
        x, eps = x_eps
        if (
            str(x.tensor_type.dtype) not in FLOAT_DTYPES
            or x.tensor_type.shape[-1] != weight.tensor_type.shape[0]
        ):
            return rewriter.fail("x is not f32/f16 or its last dim differs from the weight's")
        residual = _residual_add(x)
        if residual is None:
            fused = rewriter.create(
                "irc.simplified_layer_norm", (x, weight), {"eps": eps}, types=[node.output.type]
            )
            return rewriter.replace_node(node, [fused.output])
        graph = rewriter.graph
        nodes = graph.nodes
        after = nodes[next(i for i, n in enumerate(nodes) if n is residual) + 1]  # the sum's readers follow
        fused = rewriter.create(
            "irc.skip_simplified_layer_norm",
            (residual.args[0], residual.args[1], weight),
            {"eps": eps},
            types=[node.output.type, x.type],
            before=after,
        )
        rewriter.replace_value(x, fused.outputs[1])
        rewriter.replace_node(node, [fused.outputs[0]])
        rewriter.erase(residual)


def _scale_and_normed(node: Node) -> tuple[Param, Value] | None:
    if len(node.args) != 2 or node.kwargs:
        return None
    for weight, normed in (node.args, node.args[::-1]):
        if isinstance(weight, Param) and not check_type(weight, rank=1) and isinstance(normed, Value):
            if producer(normed, "aten.mul.Tensor") is not None and not check_uses(normed, 1):
                return weight, normed
    return None


def _rms_of(normed: Value) -> tuple[Value, float] | None:
    """(x, eps) when `normed` is `x * rsqrt(mean(x^2, [-1], true) + eps)`, each step read once."""
    mul = normed.producer
    assert mul is not None
    for x, r in (mul.args, mul.args[::-1]):
        rsqrt = producer(r, "aten.rsqrt")
        add = producer(rsqrt.args[0], "aten.add.Tensor") if rsqrt is not None else None
        mean = producer(add.args[0], "aten.mean.dim") if add is not None else None
        power = producer(mean.args[0], "aten.pow.Tensor_Scalar") if mean is not None else None
        if power is None or power.args[0] is not x or not isinstance(x, Value):
            continue
        assert rsqrt is not None and add is not None and mean is not None
        eps = add.args[1]
        if power.args[1] not in (2, 2.0) or not isinstance(eps, float) or get_arg(add, "alpha", 1) != 1:
            continue
        dims = [int(d) % x.tensor_type.rank for d in mean.args[1]]
        if dims != [x.tensor_type.rank - 1] or get_arg(mean, "keepdim") is not True:
            continue
        if mean.kwargs.get("dtype") is not None:
            continue
        if any(check_uses(v, 1) for v in (r, add.output, mean.output, power.output)):
            continue
        return x, eps
    return None


def _residual_add(x: Value) -> Node | None:
    """The `a + b` that makes `x`, when both sides have x's shape (SkipSimplifiedLayerNormalization
    takes no broadcast)."""
    add = producer(x, "aten.add.Tensor")
    if add is None or len(add.args) != 2 or get_arg(add, "alpha", 1) != 1:
        return None
    a, b = add.args
    if not (isinstance(a, Value) and isinstance(b, Value)):
        return None
    if a.type != x.type or b.type != x.type or x.is_graph_output():
        return None
    return add


@dataclass(frozen=True)
class OrtNorm(RewritePass):
    """Rewrite RMSNorm (and the residual add before it) into irc.simplified_layer_norm and
    irc.skip_simplified_layer_norm (ORT's SimplifiedLayerNormalization kernels)."""

    name = "ort-norm"
    patterns = (RmsNorm(),)
