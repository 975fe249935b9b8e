"""Lowerings of the encoder fusions (`irc.passes.ort_encoder`) to ONNX Runtime's contrib kernels.

Like the other `ort-fusions` ops they need the backend's `ort_fusions` option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irc.backends.onnx.builder import out_dtype
from irc.backends.onnx.ops_ort import additive_mask, zero_empty_rows
from irc.backends.onnx.registry import lowering
from irc.ir.dtypes import DType

if TYPE_CHECKING:
    from irc.backends.onnx.builder import Builder
    from irc.ir.core import Node, Value


@lowering("irc.attention")
def attention(
    g: Builder,
    node: Node,
    x: Value,
    weight: Value,
    bias: Value | None = None,
    mask: Value | None = None,
    *,
    num_heads: int,
    scale: float,
) -> str:
    """attention(Tensor x, Tensor weight, Tensor? bias, Tensor? mask, *, int num_heads, float scale)
    -> Tensor: x [B, S, D], weight [D, 3*N*H], bias [3*N*H], mask [B or 1, 1, S or 1, S], bool
    (True attends) or additive"""
    inputs = [g.tensor(x), g.tensor(weight), None if bias is None else g.tensor(bias)]
    if mask is None:
        return g.ms("Attention", *inputs, num_heads=num_heads, scale=float(scale))
    additive = additive_mask(g, mask, x, out_dtype(node))
    # The mask goes in as `attention_bias` (added to the scores as it is), not as `mask_index`,
    # whose masked scores get `mask_filter_value` (-10000) instead of -inf.
    y = g.ms("Attention", *inputs, None, None, additive, num_heads=num_heads, scale=float(scale))
    return zero_empty_rows(g, additive, y, out_dtype(node))


@lowering("irc.skip_layer_norm")
def skip_layer_norm(
    g: Builder,
    node: Node,
    x: Value,
    skip: Value,
    gamma: Value,
    beta: Value | None = None,
    bias: Value | None = None,
    *,
    epsilon: float,
) -> str:
    """skip_layer_norm(Tensor x, Tensor skip, Tensor gamma, Tensor? beta, Tensor? bias, *, float
    epsilon) -> Tensor: layer_norm(x + bias + skip) over the last dim"""
    inputs = [g.tensor(v) if v is not None else None for v in (x, skip, gamma, beta, bias)]
    return g.ms("SkipLayerNormalization", *inputs, epsilon=float(epsilon))


@lowering("irc.qkv_attention")
def qkv_attention(
    g: Builder,
    node: Node,
    qkv: Value,
    bias: Value | None = None,
    mask: Value | None = None,
    *,
    num_heads: int,
    scale: float,
) -> str:
    """qkv_attention(Tensor qkv, Tensor? bias, Tensor? mask, *, int num_heads, float scale) -> Tensor:
    Split + MultiHeadAttention (query, key, value as [B, S, N*H], the packed bias added inside)"""
    width = int(qkv.tensor_type.shape[-1]) // 3
    sizes = g.const([width] * 3, DType.I64)
    q, k, v = g.ops("Split", [g.tensor(qkv), sizes], 3, axis=-1)
    inputs = [q, k, v, None if bias is None else g.tensor(bias)]
    if mask is None:
        return g.ms("MultiHeadAttention", *inputs, num_heads=num_heads, scale=float(scale))
    additive = additive_mask(g, mask, qkv, out_dtype(node))
    y = g.ms("MultiHeadAttention", *inputs, None, additive, num_heads=num_heads, scale=float(scale))
    return zero_empty_rows(g, additive, y, out_dtype(node))
