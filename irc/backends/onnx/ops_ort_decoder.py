"""Lowerings of the decoder fusions' ops (`ort-norm`, `ort-rotary`, `ort-gqa`) to ONNX Runtime's
contrib kernels (com.microsoft): SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization,
RotaryEmbedding and GroupQueryAttention. Like `ops_ort`, they need the backend's `ort_fusions`
option. What every layer derives from the same input (the mask as a bias, the sequence lengths,
the rotary tables as a cache) is emitted once per graph and shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irc.backends.onnx.builder import out_dtype
from irc.backends.onnx.registry import lowering
from irc.ir.dtypes import DType

if TYPE_CHECKING:
    from irc.backends.onnx.builder import Builder
    from irc.ir.core import Node, Value


def _shared(g: Builder, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """`make()` once per builder and key: every layer reads the same mask and rotary tables, and
    emitting their conversions per layer would put dozens of small nodes back into the graph."""
    memo = g.__dict__.setdefault("_decoder_shared", {})
    if key not in memo:
        memo[key] = make()
    return memo[key]


@lowering("irc.simplified_layer_norm")
def simplified_layer_norm(g: Builder, node: Node, x: Value, weight: Value, *, eps: float) -> str:
    """simplified_layer_norm(Tensor x, Tensor weight, *, float eps) -> Tensor"""
    # ONNX Runtime registers SimplifiedLayerNormalization in the default domain, where onnx.checker
    # refuses it below opset 23's RMSNormalization; a model has one such norm without a residual
    # add (the first layer's), so its plain form costs little.
    dtype = out_dtype(node)
    if g.opset >= 23:
        return g.op("RMSNormalization", g.tensor(x), g.tensor(weight), axis=-1, epsilon=float(eps))
    data = g.tensor(x)
    mean = g.reduce("ReduceMean", g.op("Mul", data, data), [-1], True)
    root = g.op("Sqrt", g.op("Add", mean, g.const(float(eps), dtype)))
    return g.op("Mul", g.op("Div", data, root), g.tensor(weight))


@lowering("irc.skip_simplified_layer_norm")
def skip_simplified_layer_norm(
    g: Builder, node: Node, x: Value, skip: Value, weight: Value, *, eps: float
) -> list[str]:
    """skip_simplified_layer_norm(Tensor x, Tensor skip, Tensor weight, *, float eps) -> (Tensor, Tensor)"""
    inputs = [g.tensor(x), g.tensor(skip), g.tensor(weight)]
    y, _, _, total = g.ms_nodes("SkipSimplifiedLayerNormalization", inputs, 4, epsilon=float(eps))
    return [y, total]


@lowering("irc.rotary_embedding")
def rotary_embedding(g: Builder, node: Node, x: Value, cos: Value, sin: Value, *, num_heads: int) -> str:
    """rotary_embedding(Tensor x, Tensor cos, Tensor sin, *, int num_heads) -> Tensor: x [B, S, N*H],
    cos and sin [B, S, H] per token"""
    half = cos.tensor_type.shape[2] // 2
    positions = _shared(g, ("positions", g.name(cos)), lambda: _token_positions(g, cos))
    cos_cache = _shared(g, ("cache", g.name(cos)), lambda: _half_table(g, cos, half))
    sin_cache = _shared(g, ("cache", g.name(sin)), lambda: _half_table(g, sin, half))
    return g.ms("RotaryEmbedding", g.tensor(x), positions, cos_cache, sin_cache, num_heads=int(num_heads))


def _token_positions(g: Builder, table: Value) -> str:
    """[[0 .. S-1], [S .. 2S-1], ...]: each token's row in the table flattened to [B*S, H/2]."""
    sizes = g.shape(table, 0, 2)
    count = g.op("ReduceProd", sizes, g.const([0], DType.I64), keepdims=0)
    flat = g.op("Range", g.const(0, DType.I64), count, g.const(1, DType.I64))
    return g.op("Reshape", flat, sizes)


def _half_table(g: Builder, table: Value, half: int) -> str:
    starts, ends, axes = g.const([0], DType.I64), g.const([half], DType.I64), g.const([2], DType.I64)
    first = g.op("Slice", g.tensor(table), starts, ends, axes)
    return g.op("Reshape", first, g.const([-1, half], DType.I64))


@lowering("irc.group_query_attention")
def group_query_attention(
    g: Builder,
    node: Node,
    query: Value,
    key: Value | None,
    value: Value | None,
    past_key: Value,
    past_value: Value,
    mask: Value,
    cos: Value | None = None,
    sin: Value | None = None,
    *,
    num_heads: int,
    kv_num_heads: int,
    scale: float,
) -> list[str]:
    """group_query_attention(Tensor query, Tensor? key, Tensor? value, Tensor past_key, Tensor past_value,
    Tensor mask, Tensor? cos=None, Tensor? sin=None, *, int num_heads, int kv_num_heads, float scale)
    -> (Tensor, Tensor, Tensor)"""
    dtype = out_dtype(node)
    bias = _shared(g, ("bias", g.name(mask), dtype), lambda: _mask_bias(g, mask, dtype))
    # The mask has the query's batch and sequence dims (checked by the pass) unless it broadcasts
    # over the batch; then the lengths come from this layer's query.
    sizes = mask if mask.tensor_type.shape[0] == query.tensor_type.shape[0] else query
    lengths = _shared(g, ("lengths", g.name(mask), g.name(sizes)), lambda: _lengths(g, mask, sizes))
    rotary: list[str | None] = [None, None, None]
    if cos is not None and sin is not None:
        rotary = _rotary_cache(g, cos, sin, lengths[1])
    inputs = [g.tensor(query), *(g.tensor(x) if x is not None else None for x in (key, value))]
    inputs += [g.tensor(past_key), g.tensor(past_value), lengths[0], lengths[1], *rotary, bias]
    inputs += [None, None, None, None, None, lengths[2]]
    # Rows whose every key is masked (left padding) come out as zeros, as torch's do (measured on
    # ORT 1.32's CPU kernel; validation compares those rows too).
    return g.ms_nodes(
        "GroupQueryAttention", inputs, 3,
        num_heads=int(num_heads), kv_num_heads=int(kv_num_heads), scale=float(scale), causal=1,
        **({"do_rotary": 1} if rotary[0] is not None else {}),
    )  # fmt: skip


def _rotary_cache(g: Builder, cos: Value, sin: Value, total: str) -> list[str | None]:
    """cos_cache, sin_cache and position_ids for GroupQueryAttention's own rotary: the model's
    per-token tables flattened to B*S rows and indexed by token, as for RotaryEmbedding, so the
    positions stay the graph's (ORT honours per-token position_ids when query_seqlens is given).
    The kernel wants at least `total` rows, so the tables are padded with zero rows up to it."""
    half = cos.tensor_type.shape[2] // 2
    positions = _shared(g, ("positions", g.name(cos)), lambda: _token_positions(g, cos))
    caches = [
        _shared(g, ("gqa-cache", g.name(t)), lambda t=t: _padded(g, _half_table(g, t, half), total))
        for t in (cos, sin)
    ]
    return [*caches, positions]


def _padded(g: Builder, table: str, total: str) -> str:
    """`table` [R, H/2] with zero rows appended up to `total` rows (none when R >= total)."""

    def pads() -> str:
        rows = g.op("Shape", table, start=0, end=1)
        wanted = g.cast(g.op("Reshape", total, g.const([1], DType.I64)), DType.I32, DType.I64)
        short = g.op("Max", g.op("Sub", wanted, rows), g.const([0], DType.I64))
        return g.op("Concat", g.const([0, 0], DType.I64), short, g.const([0], DType.I64), axis=0)

    # cos and sin have the same rows: one pads tensor for both
    return g.op("Pad", table, _shared(g, ("gqa-pads", total), pads))


def _mask_bias(g: Builder, mask: Value, dtype: DType) -> str:
    """The bool mask as an additive bias [B or 1, 1, S, T]."""
    return g.op("Where", g.tensor(mask), g.const(0.0, dtype), g.const(-math.inf, dtype))


def _lengths(g: Builder, mask: Value, sizes: Value) -> tuple[str, str, str]:
    """seqlens_k (total - 1 for every row: the mask carries the padding), total_sequence_length,
    and query_seqlens (every query row is a token: lets ORT take a batch of multi-token steps).
    `sizes` is [B, S, ...] (the query) or [B, 1, S, T] (the mask)."""
    total = g.cast(g.dim(mask, 3), DType.I64, DType.I32)
    batch = g.shape(sizes, 0, 1)
    steps = g.cast(g.dim(sizes, 1 if sizes is not mask else 2), DType.I64, DType.I32)
    seqlens = g.op("Expand", g.op("Sub", total, g.const(1, DType.I32)), batch)
    return seqlens, total, g.op("Expand", steps, batch)
