"""Lowerings of the `ort-fusions` pass's ops to ONNX Runtime's contrib kernels (com.microsoft).

They need the backend's `ort_fusions` option (`Builder.ms` refuses otherwise): the resulting
model runs only in ONNX Runtime, which has CPU kernels for all of them.
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


@lowering("irc.fast_gelu")
def fast_gelu(g: Builder, node: Node, x: Value, bias: Value | None = None) -> str:
    """fast_gelu(Tensor x, Tensor? bias) -> Tensor: gelu(x + bias, approximate='tanh')"""
    return g.ms("FastGelu", g.tensor(x), None if bias is None else g.tensor(bias))


@lowering("irc.bias_gelu")
def bias_gelu(g: Builder, node: Node, x: Value, bias: Value | None = None) -> str:
    """bias_gelu(Tensor x, Tensor? bias) -> Tensor: gelu(x + bias), erf form"""
    if bias is None:
        return g.ms("Gelu", g.tensor(x))
    return g.ms("BiasGelu", g.tensor(x), g.tensor(bias))


@lowering("irc.multi_head_attention")
def multi_head_attention(
    g: Builder,
    node: Node,
    query: Value,
    key: Value,
    value: Value,
    mask: Value | None = None,
    *,
    num_heads: int,
    scale: float,
) -> str:
    """multi_head_attention(Tensor query, Tensor key, Tensor value, Tensor? mask, *, int num_heads,
    float scale) -> Tensor: query [B, S, N*H], key and value [B, N, L, H] (BNSH), mask
    [B or 1, 1, S or 1, L], bool (True attends) or additive"""
    dtype = out_dtype(node)
    if mask is None:
        q, k, v = g.tensor(query), g.tensor(key), g.tensor(value)
        return g.ms("MultiHeadAttention", q, k, v, num_heads=num_heads, scale=float(scale))
    bias = additive_mask(g, mask, query, dtype)
    y = g.ms(
        "MultiHeadAttention", g.tensor(query), g.tensor(key), g.tensor(value), None, None, bias,
        num_heads=num_heads, scale=float(scale),
    )  # fmt: skip
    return zero_empty_rows(g, bias, y, dtype)


def additive_mask(g: Builder, mask: Value, x: Value, dtype: DType) -> str:
    """`mask` as scores to add, [B or 1, 1, S, L]: 0 / -inf for a bool mask, spread over the query
    positions of `x` [B, S, ...] when it has one row for all (ORT's attention_bias broadcasts over
    batch and heads only)."""
    bias = g.tensor(mask)
    if dtype_of(mask) is DType.BOOL:
        bias = g.op("Where", bias, g.const(0.0, dtype), g.const(-math.inf, dtype))
    else:
        bias = g.cast(bias, dtype_of(mask), dtype)
    if mask.tensor_type.shape[2] != x.tensor_type.shape[1]:
        sizes = g.op("Concat", g.shape(mask, 0, 2), g.shape(x, 1, 2), g.shape(mask, 3, 4), axis=0)
        bias = g.op("Expand", bias, sizes)
    return bias


def zero_empty_rows(g: Builder, additive: str, y: str, dtype: DType) -> str:
    """ORT gives NaN for a query whose every key is masked; torch gives zeros."""
    empty = g.op("Equal", g.reduce("ReduceMax", additive, [3], True), g.const(-math.inf, dtype))
    empty = g.op("Squeeze", empty, g.const([1], DType.I64))
    return g.op("Where", empty, g.const(0.0, dtype), y)
