"""Rewrite ops into ONNX Runtime's contrib kernels (`com.microsoft`), for `--ort-fusions` exports.

%h = aten.linear(%x, %w, %b); %y = aten.gelu(%h, approximate="tanh")
->  %h = aten.linear(%x, %w); %y = irc.fast_gelu(%h, %b)

The `irc.*` ops made here lower to `com.microsoft` nodes, which only ONNX Runtime runs; the ONNX
backend's `ort_fusions` option puts this pass in its pipeline (after `fuse-gelu`, which turns
GPT-2's written-out GELU into the `aten.gelu` matched here). Each rewrite is exact: the fused op
computes what the ops it replaces compute.

Encoder self-attention becomes ORT's Attention over packed QKV weights, and a residual add +
LayerNorm SkipLayerNormalization, in `irc.passes.ort_encoder`; other attention becomes
MultiHeadAttention in `irc.passes.ort_attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

from irc.ir.core import Arg, Node, Value
from irc.passes.match import check_args, check_type, check_uses, get_arg, producer
from irc.passes.ort_attention import MultiHeadAttention
from irc.passes.ort_encoder import PackedAttention, SkipLayerNorm
from irc.passes.rewriter import PROVENANCE, PatternRewriter, RewritePass, RewritePattern

GELU_OPS = {"tanh": "irc.fast_gelu", "none": "irc.bias_gelu"}


class GeluWithBias(RewritePattern):
    """%h = aten.linear(%x, %w, %b); %y = aten.gelu(%h)  ->  %h = aten.linear(%x, %w); %y = irc.bias_gelu(%h, %b)
    (and GPT-2's `aten.addmm(%b, %x, %w)` + `aten.view`, with `irc.fast_gelu` for the tanh form)"""

    ops = ("aten.gelu",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        x = node.args[0]
        approximate = get_arg(node, "approximate", "none")
        if approximate not in GELU_OPS:
            return rewriter.fail(f"approximate is {approximate!r}")
        if why := check_type(x, dtype=node.output.tensor_type.dtype):
            return rewriter.fail(why)
        assert isinstance(x, Value)
        if str(x.tensor_type.dtype) not in ("f32", "f16"):
            return rewriter.fail(f"%{x.name} is {x.tensor_type.dtype}; ORT's kernels take f32 or f16")
        op = GELU_OPS[approximate]
        bias = self._split_bias(x, rewriter)
        gelu = rewriter.create(op, (x,) if bias is None else (x, bias), types=[node.output.type])
        rewriter.replace_node(node, [gelu.output])

    def _split_bias(self, x: Value, rewriter: PatternRewriter) -> Value | None:
        """The bias of the matmul that makes `x`, after taking it out of the matmul; None when
        there is none to take (the gelu then gets no bias)."""
        linear = producer(x, "aten.linear")
        if linear is not None and len(linear.args) == 3 and not linear.kwargs and not check_uses(x, 1):
            bias = linear.args[2]
            if _is_row(bias, x):
                rewriter.set_args(linear, linear.args[:2])
                return bias
            rewriter.fail("the linear's bias is not a vector over the last dim")
        view = producer(x, "aten.view", "aten.reshape", "aten._unsafe_view")
        addmm = producer(view.args[0], "aten.addmm") if view is not None else None
        if addmm is None or check_uses(x, 1) or check_uses(addmm.output, 1):
            return None
        if check_args(addmm, beta=1, alpha=1) and check_args(addmm, beta=1.0, alpha=1.0):
            rewriter.fail("addmm scales its terms (beta or alpha is not 1)")
            return None
        bias, mat1, mat2 = addmm.args[:3]
        if not _is_row(bias, x):
            rewriter.fail("the addmm's bias is not a vector over the last dim")
            return None
        name = addmm.output.name
        mm = Node("aten.mm", (mat1, mat2), {}, [rewriter.graph.new_value(name, addmm.output.type)])
        mm.meta.update({k: addmm.meta[k] for k in PROVENANCE if k in addmm.meta})
        rewriter.insert_before(mm, addmm)
        rewriter.replace_value(addmm.output, mm.output)
        rewriter.erase(addmm)
        rewriter.graph.rename(mm.output, name)
        return bias  # type: ignore[return-value]


def _is_row(bias: Arg, x: Value) -> bool:
    """`bias` is 1-D and as long as `x`'s last dim, so adding it before or after is the same."""
    if check_type(bias, rank=1) or not isinstance(bias, Value):
        return False
    return (
        bias.tensor_type.shape[0] == x.tensor_type.shape[-1] and bias.tensor_type.dtype == x.tensor_type.dtype
    )


@dataclass(frozen=True)
class OrtFusions(RewritePass):
    """Rewrite ops into ONNX Runtime's com.microsoft kernels (irc.fast_gelu, irc.bias_gelu,
    irc.attention, irc.multi_head_attention, irc.skip_layer_norm)."""

    name = "ort-fusions"
    # PackedAttention first: it takes the encoders' self-attention, MultiHeadAttention the rest.
    patterns = (GeluWithBias(), PackedAttention(), MultiHeadAttention(), SkipLayerNorm())
