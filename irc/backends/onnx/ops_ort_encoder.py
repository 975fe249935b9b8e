"""Lowerings of the encoder fusions (`irc.passes.ort_encoder`) to ONNX Runtime's contrib kernels.

Like the other `ort-fusions` ops they need the backend's `ort_fusions` option.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from irc.backends.onnx.builder import dtype_of, out_dtype
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
    additive = _additive_mask(g, mask, x, out_dtype(node))
    # The mask goes in as `attention_bias` (added to the scores as it is), not as `mask_index`,
    # whose masked scores get `mask_filter_value` (-10000) instead of -inf.
    y = g.ms("Attention", *inputs, None, None, additive, num_heads=num_heads, scale=float(scale))
    return _zero_empty_rows(g, additive, y, out_dtype(node))


def _additive_mask(g: Builder, mask: Value, x: Value, dtype: DType) -> str:
    """`mask` as scores to add, [B or 1, 1, S, L]: 0 / -inf for a bool mask, spread over the query
    positions when it has one row for all (ORT broadcasts over batch and heads only)."""
    bias = g.tensor(mask)
    if dtype_of(mask) is DType.BOOL:
        bias = g.op("Where", bias, g.const(0.0, dtype), g.const(-math.inf, dtype))
    else:
        bias = g.cast(bias, dtype_of(mask), dtype)
    if mask.tensor_type.shape[2] != x.tensor_type.shape[1]:
        sizes = g.op("Concat", g.shape(mask, 0, 2), g.shape(x, 1, 2), g.shape(mask, 3, 4), axis=0)
        bias = g.op("Expand", bias, sizes)
    return bias


def _zero_empty_rows(g: Builder, additive: str, y: str, dtype: DType) -> str:
    """ORT gives NaN for a query whose every key is masked; torch gives zeros."""
    empty = g.op("Equal", g.reduce("ReduceMax", additive, [3], True), g.const(-math.inf, dtype))
    empty = g.op("Squeeze", empty, g.const([1], DType.I64))
    return g.op("Where", empty, g.const(0.0, dtype), y)


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
