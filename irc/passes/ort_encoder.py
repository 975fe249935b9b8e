"""Encoder fusions into ONNX Runtime's contrib kernels (com.microsoft), part of `ort-fusions`.

Self-attention whose query, key and value are projections of one input (BERT, RoBERTa,
DistilBERT, MiniLM...) becomes one `irc.attention` over packed weights, ORT's `Attention`:

%q = aten.linear(%x, %wq, %bq); %qh = aten.transpose.int(aten.view(%q, [B, S, N, H]), 1, 2)
(the same for %k and %v)
%a = aten.scaled_dot_product_attention(%qh, %kh, %vh, %mask, scale=s)
%y = aten.reshape(aten.transpose.int(%a, 1, 2), [B, S, N*H])
->  %y = irc.attention(%x, %wqkv, %bqkv, %mask, num_heads=N, scale=s)

`%wqkv` is a new param, [D, 3*N*H]: the three weights transposed and side by side, read from the
checkpoint only when the backend writes it. A residual add before a LayerNorm becomes
`irc.skip_layer_norm` (ORT's SkipLayerNormalization), taking the bias of the linear that feeds it:

%h = aten.linear(%x, %w, %b); %s = aten.add.Tensor(%h, %r); %y = aten.layer_norm(%s, [D], %g, %be, eps)
->  %h = aten.linear(%x, %w); %y = irc.skip_layer_norm(%h, %r, %g, %be, %b, epsilon=eps)

ONNX Runtime makes SkipLayerNormalization itself at load from irc's Add + LayerNormalization (all
24 of BERT-base's, measured with ORT 1.32), so this rewrite is for the file's own sake: a runtime
or an optimization level that does not fuse gets the fused kernel too. Attention with a cache,
cross-attention and float16 are left to `MultiHeadAttention` (ORT's CPU `Attention` is float32).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from irc.ir.core import Graph, Node, Param, Value
from irc.ir.types import TensorType
from irc.passes.match import check_type, check_uses, get_arg, producer
from irc.passes.ort_attention import VIEWS, merged_output, transpose_dims
from irc.passes.rewriter import PatternRewriter, RewritePattern


@dataclass(frozen=True)
class PackedWeights:
    """Lazy data of a packed projection param: the parts' tensors, each transposed when `transpose`
    ([out, in] linear weights become [in, out] columns), concatenated along the last dim."""

    parts: tuple[Param, ...]
    transpose: bool

    def load(self) -> Any:
        import torch

        from irc.memory import page_out_tensors

        tensors = [p.tensor() for p in self.parts]
        packed = torch.cat([t.t() if self.transpose else t for t in tensors], dim=-1)
        # The parts are read once, here: hand their checkpoint pages back, as the writer does.
        page_out_tensors(tensors)
        return packed


class PackedAttention(RewritePattern):
    """sdpa over head splits of linear(%x, Wq/Wk/Wv) -> merge  ->  irc.attention(%x, %wqkv, %bqkv, %mask)"""

    ops = ("aten.scaled_dot_product_attention",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        query, key, value = node.args[:3]
        mask = get_arg(node, "attn_mask")
        if why := _check_plain_sdpa(node):
            return rewriter.fail(why)
        linears = [_projection(v) for v in (query, key, value)]
        if any(linear is None for linear in linears):
            return rewriter.fail("query, key and value are not each transpose(view(linear(%x)), 1, 2)")
        if why := _check_projections(linears):  # type: ignore[arg-type]
            return rewriter.fail(why)
        if why := _check_mask(mask):
            return rewriter.fail(why)
        assert isinstance(query, Value)
        _, heads, _, head_size = query.tensor_type.shape
        merged = merged_output(node.output, heads * head_size)
        if merged is None:
            return rewriter.fail("the output is not reshape(transpose(%a, 1, 2), [B, S, N*H])")
        parts = [p for n in linears for p in n.args[1:]]  # type: ignore[union-attr]
        weight, bias = _pack(rewriter.graph, linears)  # type: ignore[arg-type]
        scale = get_arg(node, "scale")
        scale = 1 / math.sqrt(head_size) if scale is None else float(scale)
        x = linears[0].args[0]  # type: ignore[union-attr]
        args = (x, weight, bias) if mask is None else (x, weight, bias, mask)
        fused = rewriter.create(
            "irc.attention", args, {"num_heads": heads, "scale": scale}, types=[merged.output.type]
        )
        rewriter.replace_node(merged, [fused.output])
        rewriter.erase(node)  # sdpa is not `pure` (its dropout is random): erased by hand
        for param in parts:
            if isinstance(param, Param) and not param.is_used():
                rewriter.graph.remove_param(param)


def _check_plain_sdpa(node: Node) -> str | None:
    if get_arg(node, "dropout_p", 0.0):
        return "dropout_p is not 0"
    if get_arg(node, "is_causal", False):
        return "is_causal (a decoder's attention: left to MultiHeadAttention)"
    if get_arg(node, "enable_gqa", False):
        return "grouped-query attention (enable_gqa)"
    if str(node.output.tensor_type.dtype) != "f32":
        return f"dtype {node.output.tensor_type.dtype}: ORT's CPU Attention takes f32 only"
    return None


def _projection(head_split: Any) -> Node | None:
    """The `aten.linear` node when `head_split` is transpose(view(linear(%x), [B, S, N, H]), 1, 2)
    with each step read once and the weight a param."""
    transpose = producer(head_split, "aten.transpose.int")
    if transpose is None or check_uses(head_split, 1) or transpose_dims(transpose) != {1, 2}:
        return None
    view = producer(transpose.args[0], *VIEWS)
    if view is None or check_uses(view.output, 1):
        return None
    linear = producer(view.args[0], "aten.linear")
    if linear is None or check_uses(linear.output, 1) or linear.kwargs:
        return None
    b, s, d = linear.output.tensor_type.shape
    sb, ss, n, h = view.output.tensor_type.shape
    if (b, s) != (sb, ss) or not all(isinstance(i, int) for i in (d, n, h)) or d != n * h:
        return None
    return linear


def _check_projections(linears: list[Node]) -> str | None:
    """One input, three [N*H, D] weight params and 1-D bias params (all or none), none tied."""
    x = linears[0].args[0]
    if any(n.args[0] is not x for n in linears):
        return "query, key and value project different inputs (cross-attention)"
    if why := check_type(x, rank=3, dtype="f32"):
        return why
    if len({len(n.args) for n in linears}) != 1:
        return "some projections have a bias and some do not"
    shapes = set()
    for param in (p for n in linears for p in n.args[1:]):
        if not isinstance(param, Param) or param.tie_group is not None or check_uses(param, 1):
            return "a projection's weight or bias is not a param read only there"
        shapes.add(param.tensor_type.shape[0])
    if len(shapes) != 1:
        return "query, key and value have different widths"
    return None


def _check_mask(mask: Any) -> str | None:
    if mask is None:
        return None
    if why := check_type(mask, rank=4):
        return f"attn_mask: {why}"
    if mask.tensor_type.shape[1] != 1:
        return "attn_mask differs per head"
    return None


def _pack(graph: Graph, linears: list[Node]) -> tuple[Param, Param | None]:
    """New params: the weights as [D, 3*N*H] columns and the biases as one [3*N*H] vector."""
    weights = tuple(n.args[1] for n in linears)
    biases = tuple(n.args[2] for n in linears) if len(linears[0].args) == 3 else ()
    weight = _packed_param(graph, weights, "qkv.weight", transpose=True)  # type: ignore[arg-type]
    bias = _packed_param(graph, biases, "qkv.bias", transpose=False) if biases else None  # type: ignore[arg-type]
    return weight, bias


def _packed_param(graph: Graph, parts: tuple[Param, ...], suffix: str, transpose: bool) -> Param:
    first = parts[0].tensor_type
    width = sum(int(p.tensor_type.shape[0]) for p in parts)
    shape = (first.shape[1], width) if transpose else (width,)
    data = PackedWeights(parts, transpose) if all(p.data is not None for p in parts) else None
    name = graph.unique_name(_common_module(parts) + suffix)
    return graph.add_param(Param(name, TensorType(first.dtype, shape), "parameter", data))


def _common_module(params: tuple[Param, ...]) -> str:
    """`encoder.layer.0.attention.self.` for its query, key and value weights."""
    paths = [p.name.split(".") for p in params]
    common = []
    for pieces in zip(*paths, strict=False):
        if len(set(pieces)) != 1:
            break
        common.append(pieces[0])
    return "".join(f"{piece}." for piece in common)


class SkipLayerNorm(RewritePattern):
    """layer_norm(add(linear(%x, %w, %b), %r))  ->  irc.skip_layer_norm(linear(%x, %w), %r, %g, %be, %b)"""

    ops = ("aten.layer_norm",)

    def match_and_rewrite(self, node: Node, rewriter: PatternRewriter) -> None:
        total, shape, gamma, beta = (
            get_arg(node, n) for n in ("input", "normalized_shape", "weight", "bias")
        )
        add = producer(total, "aten.add.Tensor")
        if add is None or check_uses(add.output, 1):
            return rewriter.fail("the input is not an add read only here")
        if get_arg(add, "alpha", 1) != 1:
            return rewriter.fail("the add scales its second term (alpha)")
        out = node.output.tensor_type
        if str(out.dtype) not in ("f32", "f16"):
            return rewriter.fail(f"dtype {out.dtype}: ORT's kernel takes f32 or f16")
        if out.rank != 3 or list(shape) != [out.shape[-1]]:  # type: ignore[arg-type]
            return rewriter.fail("not a layer norm over the last dim of a rank-3 tensor")
        if any(check_type(v, rank=1, dtype=out.dtype) for v in (gamma, beta)):
            return rewriter.fail("the layer norm has no weight or bias of its dtype")
        a, b = add.args[:2]
        if any(check_type(v, dtype=out.dtype) or v.tensor_type.shape != out.shape for v in (a, b)):  # type: ignore[union-attr]
            return rewriter.fail("the add's terms are not both of the output's shape (a broadcast)")
        a, b = (b, a) if _bias_of(b) is not None and _bias_of(a) is None else (a, b)
        bias = _bias_of(a)
        if bias is not None:
            linear = a.producer  # type: ignore[union-attr]
            rewriter.set_args(linear, linear.args[:2])
        args = (a, b, gamma, beta) if bias is None else (a, b, gamma, beta, bias)
        eps = float(get_arg(node, "eps", 1e-5))
        fused = rewriter.create("irc.skip_layer_norm", args, {"epsilon": eps}, types=[node.output.type])
        rewriter.replace_node(node, [fused.output])


def _bias_of(value: Any) -> Value | None:
    """The bias of the linear that makes `value`, when it can move into the fused op (a vector
    over the last dim, `value` read only by the add)."""
    linear = producer(value, "aten.linear")
    if linear is None or len(linear.args) != 3 or linear.kwargs or check_uses(value, 1):
        return None
    bias = linear.args[2]
    if check_type(bias, rank=1, dtype=value.tensor_type.dtype):
        return None
    return bias if bias.tensor_type.shape[0] == value.tensor_type.shape[-1] else None  # type: ignore[union-attr]
